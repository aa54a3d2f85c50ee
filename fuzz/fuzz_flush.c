/*
 * fuzz_flush.c - the flushing side under the fuzzer: counter summing
 * (statsd_sum), timer packing (statsd_pack) and sampling (statsd_sample).
 *
 * Every input also drives this stage: its bytes, read as a small program,
 * make a block of lines of the kinds these units meet (counters, timers of
 * every type, gauges, sample rates, tags, raw bytes; a few keys, so keys
 * repeat; values up to the 64-bit edge). Each unit's output is then read
 * as a receiver reads it, by parsers written here, and must mean exactly
 * what the input meant:
 *   sum     every counter total per key and rest (rate, tags) equal, every
 *           other line passed through as it was and in order, whatever the
 *           table's size, over several folds and one drain;
 *   pack    every timer key's values the same (a packed line read as Etsy
 *           statsd 0.9 or the Datadog Agent reads its style), every other
 *           line in order, no line past the packet size unless it came in
 *           that long;
 *   sample  a bad request's lines all kept as they were (but the response
 *           time line, drawn on its own), a good request's all or none,
 *           each kept line the input line with "|@r" after its type.
 * Output buffers are heap blocks of exactly the size each unit's contract
 * gives, so AddressSanitizer traps a write past one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_flush.h"
#include "statsd_pack.h"
#include "statsd_sample.h"
#include "statsd_sum.h"

#define MAX_LINES 160
#define KEYS 6

static const char *stage_now = "";

static void failed(int line, const char *what, const char *block, size_t len)
{
    fprintf(stderr, "fuzz_flush.c:%d: check failed in %s: %s\n", line,
            stage_now, what);
    fuzz_put_escaped("block", block, len);
    abort();
}

#define FCHECK(cond, block, len)                                              \
    do {                                                                      \
        if (!(cond))                                                          \
            failed(__LINE__, #cond, (block), (len));                          \
    } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* ---- the block of lines -------------------------------------------------- */

typedef struct {
    const uint8_t *p, *end;
} reader;

static unsigned next(reader *r)
{
    return r->p < r->end ? *r->p++ : 0;
}

typedef struct {
    char *buf;
    size_t len, cap;
    unsigned n;
} block;

static void put(block *b, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->buf = realloc(b->buf, b->cap);
        if (!b->buf)
            abort();
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

/* One more line: '\n' before all but the first. */
static void put_line(block *b, const char *s, size_t n)
{
    if (b->n++)
        put(b, "\n", 1);
    put(b, s, n);
}

static void puts_(block *b, const char *s)
{
    put(b, s, strlen(s));
}

static const char *const rests[] = {
    "", "|@0.5", "|#env:prod,route:a.b", "|@0.1|#e:x", "|#k=v;z", "",
    "|@1", ""
};

/* One line from the reader. sampled >= 0: the sampled-th line of one
 * request as the module writes it (its own key, no rate yet). */
static void make_line(reader *r, block *b, int sampled)
{
    unsigned kind = next(r), key = next(r), val = next(r), rest = next(r);
    char tmp[64];

    if (b->n++)
        put(b, "\n", 1);
    if (sampled >= 0) {
        kind = kind % 7;
        key = (unsigned)sampled;
    }
    if ((kind & 7) == 7) {
        /* raw bytes, any but '\n' */
        unsigned i, n = val % 24;
        for (i = 0; i < n; i++) {
            char c = (char)next(r);
            put(b, c == '\n' ? " " : &c, 1);
        }
        return;
    }
    puts_(b, "p.");
    if (key & 0x80) {
        /* a long key: packing and the table's key bytes meet their ends */
        unsigned i;
        for (i = 0; i < 10 + (key & 0x3f); i++)
            puts_(b, "seg.");
    }
    snprintf(tmp, sizeof(tmp), "k%u:", sampled >= 0 ? key : key % KEYS);
    puts_(b, tmp);
    switch (kind & 7) {
    case 0: case 1: case 6:     /* counters (a few near 2^64), gauges */
        if (val == 255)
            puts_(b, "18446744073709551615");
        else if (val == 254)
            puts_(b, "9999999999999999999");
        else if (val == 253)
            puts_(b, "00042");
        else {
            snprintf(tmp, sizeof(tmp), "%u", val);
            puts_(b, tmp);
        }
        puts_(b, (kind & 7) == 6 ? "|g" : "|c");
        break;
    default: {                  /* timers */
        static const char *const types[] = {"|ms", "|ms", "|h", "|d", "|ms"};
        snprintf(tmp, sizeof(tmp), "%u.%03u", val, next(r));
        puts_(b, tmp);
        puts_(b, types[(kind & 7) - 2 < 5 ? (kind & 7) - 2 : 0]);
        break;
    }
    }
    if (sampled < 0)
        puts_(b, rests[rest & 7]);
    else if (rest & 1)
        puts_(b, "|#env:prod");
}

/* The i-th '\n'-separated line of s[0..len): its start and length, or -1
 * when there is none; lines counted from *pos on. */
static int next_line(const char *s, size_t len, size_t *pos,
                     const char **ln, size_t *n)
{
    const char *nl;

    if (len == 0 || *pos > len)
        return -1;
    *ln = s + *pos;
    nl = memchr(*ln, '\n', len - *pos);
    *n = nl ? (size_t)(nl - *ln) : len - *pos;
    *pos += *n + 1;
    return 0;
}

/* ---- what a receiver reads ------------------------------------------------ */

/* What a receiver makes of a block of lines: per key, a counter's total
 * (exact, 128 bits) or a timer's values; and every other line, in
 * order. */
typedef struct {
    char *key;                /* the bytes that tell keys apart */
    size_t klen;
    unsigned __int128 total;  /* counters */
    block vals;               /* timers: '\n'-joined, sorted at the end */
} entry;

typedef struct {
    entry e[4 * MAX_LINES];
    size_t n;
    block others;
} view;

static void view_free(view *v)
{
    size_t i;
    for (i = 0; i < v->n; i++) {
        free(v->e[i].key);
        free(v->e[i].vals.buf);
    }
    free(v->others.buf);
}

/* The entry of key[0..klen) (a heap block the view takes), made if new. */
static entry *view_entry(view *v, char *key, size_t klen)
{
    size_t i;

    for (i = 0; i < v->n; i++)
        if (v->e[i].klen == klen && !memcmp(v->e[i].key, key, klen)) {
            free(key);
            return &v->e[i];
        }
    if (v->n == sizeof(v->e) / sizeof(v->e[0]))
        abort();                  /* more keys than lines: cannot be */
    memset(&v->e[i], 0, sizeof(v->e[i]));
    v->e[i].key = key;
    v->e[i].klen = klen;
    v->n++;
    return &v->e[i];
}

static void view_other(view *v, const char *ln, size_t n)
{
    put_line(&v->others, ln, n);
}

static int same_block(const block *a, const block *b)
{
    return a->len == b->len && (!a->len || !memcmp(a->buf, b->buf, a->len));
}

static int views_equal(const view *a, const view *b)
{
    size_t i, j;

    if (a->n != b->n || !same_block(&a->others, &b->others))
        return 0;
    for (i = 0; i < a->n; i++) {
        for (j = 0; j < b->n; j++)
            if (a->e[i].klen == b->e[j].klen
                && !memcmp(a->e[i].key, b->e[j].key, a->e[i].klen))
                break;
        if (j == b->n || a->e[i].total != b->e[j].total
            || !same_block(&a->e[i].vals, &b->e[j].vals))
            return 0;
    }
    return 1;
}

/* "NAME:DIGITS|c" then nothing or '|' and more; NAME without ':'. */
static int read_counter(const char *ln, size_t n, size_t *name_len,
                        unsigned __int128 *value, size_t *rest)
{
    const char *colon = memchr(ln, ':', n);
    size_t i, d = 0;
    unsigned __int128 v = 0;

    if (!colon || colon == ln)
        return 0;
    for (i = (size_t)(colon - ln) + 1; i < n && ln[i] >= '0' && ln[i] <= '9';
         i++, d++)
        v = v * 10 + (unsigned)(ln[i] - '0');
    if (d == 0 || d > 30 || i + 2 > n || ln[i] != '|' || ln[i + 1] != 'c'
        || (i + 2 < n && ln[i + 2] != '|'))
        return 0;
    *name_len = (size_t)(colon - ln);
    *value = v;
    *rest = i + 2;
    return 1;
}

static void view_add(view *v, const char *ln, size_t n)
{
    size_t nl, rest, klen;
    unsigned __int128 val;
    char *key;

    if (n == 0)
        return;
    if (!read_counter(ln, n, &nl, &val, &rest)) {
        view_other(v, ln, n);
        return;
    }
    klen = nl + 1 + (n - rest);
    key = xmalloc(klen);
    memcpy(key, ln, nl);
    key[nl] = '\0';
    memcpy(key + nl + 1, ln + rest, n - rest);
    view_entry(v, key, klen)->total += val;
}

static void view_block(view *v, const char *s, size_t len)
{
    size_t pos = 0, n;
    const char *ln;

    while (next_line(s, len, &pos, &ln, &n) == 0)
        view_add(v, ln, n);
}

/* ---- sum ------------------------------------------------------------------ */

static void check_sum(const block *in, unsigned table_keys, unsigned folds)
{
    statsd_sum *s;
    view want, got;
    size_t part, done = 0, o, drain_cap;
    unsigned n, i;
    char *out;

    stage_now = "statsd_sum";
    memset(&want, 0, sizeof(want));
    memset(&got, 0, sizeof(got));
    view_block(&want, in->buf, in->len);
    FCHECK(statsd_sum_create(&s, table_keys, 1 + table_keys * 40) == 0,
           in->buf, in->len);
    /* folds of whole lines: each takes half of what is left, to the next
     * '\n', and the last all of it */
    for (i = 0; i < folds && done < in->len; i++) {
        const char *cut = i + 1 == folds ? NULL
                          : memchr(in->buf + done + (in->len - done) / 2,
                                   '\n', in->len - done - (in->len - done) / 2);
        part = cut ? (size_t)(cut - in->buf) - done : in->len - done;
        out = xmalloc(part);
        o = statsd_sum_fold(s, in->buf + done, part, out, &n);
        FCHECK(o <= part, in->buf, in->len);
        view_block(&got, out, o);
        free(out);
        done += part + 1;
    }
    drain_cap = statsd_sum_drain_size(s);
    out = xmalloc(drain_cap);
    o = statsd_sum_drain(s, out, &n);
    FCHECK(o <= drain_cap, in->buf, in->len);
    FCHECK(n <= table_keys, in->buf, in->len);
    /* a drained line is a counter of a key of its own */
    {
        view d;
        memset(&d, 0, sizeof(d));
        view_block(&d, out, o);
        FCHECK(d.others.len == 0 && d.n == n, out, o);
        view_free(&d);
    }
    view_block(&got, out, o);
    FCHECK(statsd_sum_keys(s) == 0, in->buf, in->len);
    FCHECK(views_equal(&want, &got), in->buf, in->len);
    free(out);
    statsd_sum_destroy(s);
    view_free(&want);
    view_free(&got);
}

/* ---- pack ----------------------------------------------------------------- */

static int is_timer_type(const char *t, size_t n)
{
    return (n == 2 && t[0] == 'm' && t[1] == 's') || (n == 1 && (*t == 'h'
                                                                || *t == 'd'));
}

/* One timer value under "KEY\0TYPE\0REST". */
static void view_value(view *v, const char *key, size_t kn, const char *type,
                       size_t tn, const char *rest, size_t rn,
                       const char *val, size_t vn)
{
    size_t klen = kn + 1 + tn + 1 + rn;
    char *k = xmalloc(klen);
    entry *e;

    memcpy(k, key, kn);
    k[kn] = '\0';
    memcpy(k + kn + 1, type, tn);
    k[kn + 1 + tn] = '\0';
    memcpy(k + kn + 2 + tn, rest, rn);
    e = view_entry(v, k, klen);
    put_line(&e->vals, val, vn);
}

/* "V|TYPE[REST]" at s[0..n): the value, the type and the rest; 0 if it is
 * not a timer value. */
static int split_value(const char *s, size_t n, size_t *vn, const char **t,
                       size_t *tn, const char **rest, size_t *rn)
{
    const char *bar = memchr(s, '|', n), *end = s + n, *te;

    if (!bar || bar == s)
        return 0;
    *vn = (size_t)(bar - s);
    *t = bar + 1;
    te = memchr(*t, '|', (size_t)(end - *t));
    if (!te)
        te = end;
    *tn = (size_t)(te - *t);
    *rest = te;
    *rn = (size_t)(end - te);
    return is_timer_type(*t, *tn) && memchr(s, ':', *vn) == NULL;
}

/* One line as Etsy statsd 0.9 reads it (tags after "|#" first, then the
 * rest split on ':') or as the Agent reads a DogStatsD line (values
 * before the first '|', split on ':'). A line that is not all timer
 * values is an "other" line. */
static void view_timer_line(view *v, statsd_pack_style style, const char *ln,
                       size_t n)
{
    const char *colon = memchr(ln, ':', n), *end = ln + n;
    const char *t, *rest;
    size_t vn, tn, rn;

    if (n == 0)
        return;
    if (colon && colon != ln && style == STATSD_PACK_ETSY) {
        const char *tags = NULL, *p;
        size_t hn = n, i;
        int ok = 1, segs = 0;

        for (i = 0; i + 1 < n; i++)
            if (ln[i] == '|' && ln[i + 1] == '#') {
                tags = ln + i;
                hn = i;
                break;
            }
        /* every ':'-separated segment of the head must be a timer value */
        for (p = colon + 1; ok && p <= ln + hn; segs++) {
            const char *q = memchr(p, ':', (size_t)(ln + hn - p));
            const char *e = q ? q : ln + hn;
            ok = split_value(p, (size_t)(e - p), &vn, &t, &tn, &rest, &rn);
            p = e + 1;
        }
        if (ok && segs) {
            for (p = colon + 1; p <= ln + hn;) {
                const char *q = memchr(p, ':', (size_t)(ln + hn - p));
                const char *e = q ? q : ln + hn;
                size_t rest_all;
                char *r2;

                split_value(p, (size_t)(e - p), &vn, &t, &tn, &rest, &rn);
                /* the rest of this value, then the line's tags */
                rest_all = rn + (tags ? (size_t)(end - tags) : 0);
                r2 = xmalloc(rest_all);
                memcpy(r2, rest, rn);
                if (tags)
                    memcpy(r2 + rn, tags, (size_t)(end - tags));
                view_value(v, ln, (size_t)(colon - ln), t, tn, r2, rest_all,
                            p, vn);
                free(r2);
                p = e + 1;
            }
            return;
        }
    } else if (colon && colon != ln) {
        const char *bar = memchr(colon, '|', (size_t)(end - colon));
        if (bar && split_value(bar - 1, (size_t)(end - bar + 1), &vn, &t, &tn,
                               &rest, &rn)) {
            const char *p = colon + 1;
            int ok = bar > p;
            for (; ok && p < bar;) {
                const char *q = memchr(p, ':', (size_t)(bar - p));
                const char *e = q ? q : bar;
                ok = e > p;
                p = e + 1;
            }
            if (ok) {
                for (p = colon + 1; p < bar;) {
                    const char *q = memchr(p, ':', (size_t)(bar - p));
                    const char *e = q ? q : bar;
                    view_value(v, ln, (size_t)(colon - ln), t, tn, rest, rn,
                                p, (size_t)(e - p));
                    p = e + 1;
                }
                return;
            }
        }
    }
    view_other(v, ln, n);
}

typedef struct {
    const char *p;
    size_t n;
} val;

static int cmp_val(const void *a, const void *b)
{
    const val *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The values of each key in order (a receiver keeps none): values are
 * any bytes but '\n', NUL too. */
static void view_sort_values(view *v)
{
    size_t i, m;

    for (i = 0; i < v->n; i++) {
        block *b = &v->e[i].vals, sorted = {0};
        val *vals = xmalloc(b->n * sizeof(val));
        size_t pos = 0;

        for (m = 0; m < b->n; m++) {
            FCHECK(next_line(b->buf, b->len, &pos, &vals[m].p, &vals[m].n)
                   == 0, b->buf, b->len);
        }
        qsort(vals, b->n, sizeof(val), cmp_val);
        for (m = 0; m < b->n; m++)
            put_line(&sorted, vals[m].p, vals[m].n);
        free(vals);
        free(b->buf);
        *b = sorted;
    }
}

static void check_pack(const block *in, statsd_pack_style style,
                       size_t max_line)
{
    statsd_pack *p;
    view want, got;
    char *out = xmalloc(in->len + 1);
    size_t o, pos = 0, n;
    unsigned lines;
    const char *ln;

    stage_now = style == STATSD_PACK_ETSY ? "statsd_pack (etsy)"
                                          : "statsd_pack (dogstatsd)";
    memset(&want, 0, sizeof(want));
    memset(&got, 0, sizeof(got));
    FCHECK(statsd_pack_create(&p, in->n) == 0, in->buf, in->len);
    o = statsd_pack_lines(p, style, in->buf, in->len, max_line, out, &lines);
    FCHECK(o <= in->len + 1, in->buf, in->len);
    /* no line past the packet size but one that came in that long */
    while (next_line(out, o, &pos, &ln, &n) == 0) {
        if (n > max_line) {
            size_t ip = 0, m;
            const char *il;
            int found = 0;
            while (!found && next_line(in->buf, in->len, &ip, &il, &m) == 0)
                found = m == n && !memcmp(il, ln, n);
            FCHECK(found, out, o);
        }
        view_timer_line(&got, style, ln, n);
    }
    pos = 0;
    while (next_line(in->buf, in->len, &pos, &ln, &n) == 0)
        view_timer_line(&want, style, ln, n);
    view_sort_values(&want);
    view_sort_values(&got);
    if (!views_equal(&want, &got)) {
        fprintf(stderr, "packed at most %zu bytes a line, from:\n", max_line);
        fuzz_put_escaped("block", in->buf, in->len);
        FCHECK(views_equal(&want, &got), out, o);
    }
    free(out);
    statsd_pack_destroy(p);
    view_free(&want);
    view_free(&got);
}

/* ---- sample --------------------------------------------------------------- */

static void check_sample(const block *in, unsigned rate_pick, int bad,
                         long time_line)
{
    /* below 1: at 1 the module does not sample at all */
    static const char *const rates[] = {"0.75", "0.5", "0.1", "0.000001",
                                        "0.999999", ".25"};
    statsd_rate r;
    char *out;
    size_t o, cap, ipos = 0, opos = 0, in_n, out_n;
    unsigned n, i, kept_other = 0, others = 0;
    const char *il, *ol;

    stage_now = "statsd_sample_lines";
    FCHECK(statsd_sample_parse(rates[rate_pick % 6], &r) == 0 && !r.all,
           in->buf, in->len);
    cap = in->len + in->n * r.text_len;
    out = xmalloc(cap);
    o = statsd_sample_lines(&r, in->buf, in->len, in->n, bad, time_line, out,
                            &n);
    FCHECK(o <= cap, in->buf, in->len);
    /* each kept line, in order: its input line with the rate after the
     * type, before the tags */
    for (i = 0; next_line(in->buf, in->len, &ipos, &il, &in_n) == 0; i++) {
        const char *bar = memchr(il, '|', in_n), *tags;
        size_t head, want_n;
        char *want;
        int is_time = (long)i == time_line, keep;

        FCHECK(bar != NULL, in->buf, in->len);
        tags = memchr(bar + 1, '|', in_n - (size_t)(bar + 1 - il));
        head = tags ? (size_t)(tags - il) : in_n;
        if (!is_time)
            others++;
        if (bad && !is_time) {
            want = xmalloc(in_n);
            memcpy(want, il, in_n);
            want_n = in_n;
        } else {
            want_n = in_n + r.text_len;
            want = xmalloc(want_n);
            memcpy(want, il, head);
            memcpy(want + head, r.text, r.text_len);
            memcpy(want + head + r.text_len, il + head, in_n - head);
        }
        /* the next line out is this one, or this one was left out (the
         * keys of a request's lines differ: no other line looks alike) */
        {
            size_t save = opos;

            keep = next_line(out, o, &opos, &ol, &out_n) == 0
                   && out_n == want_n && !memcmp(ol, want, want_n);
            if (keep)
                kept_other += !is_time;
            else
                opos = save;
        }
        /* kept for sure: a bad request's other lines */
        if (bad && !is_time)
            FCHECK(keep, out, o);
        free(want);
    }
    /* nothing else came out */
    FCHECK(next_line(out, o, &opos, &ol, &out_n) != 0, out, o);
    /* a good request's other lines go together or not at all */
    FCHECK(kept_other == 0 || kept_other == others, out, o);
    free(out);
}

/* ---- the stage ------------------------------------------------------------ */

void fuzz_flush(const uint8_t *data, size_t size)
{
    reader r = { data, data + size };
    block in = {0}, req = {0};
    unsigned n_lines, i, table_keys, folds, max_line;

    if (size < 4)
        return;
    n_lines = 1 + next(&r) % MAX_LINES;
    table_keys = 1 + next(&r) % (2 * KEYS + 4);
    folds = 1 + next(&r) % 4;
    max_line = 24 + next(&r) * 6;
    for (i = 0; i < n_lines && r.p < r.end; i++)
        make_line(&r, &in, -1);
    if (in.n == 0) {
        free(in.buf);
        return;
    }
    check_sum(&in, table_keys, folds);
    check_pack(&in, STATSD_PACK_ETSY, max_line);
    check_pack(&in, STATSD_PACK_DOGSTATSD, max_line);

    /* one request's lines (up to eight), sampled with a fixed seed */
    statsd_sample_seed(0x5eed0000u ^ (uint64_t)size);
    n_lines = 1 + (unsigned)(size % 8);
    r.p = data;
    for (i = 0; i < n_lines; i++)
        make_line(&r, &req, (int)i);
    for (i = 0; i < 4; i++)
        check_sample(&req, data[i % size] + i, (data[0] >> i) & 1,
                     (long)(data[1] % (n_lines + 1)) - 1);
    free(in.buf);
    free(req.buf);
}
