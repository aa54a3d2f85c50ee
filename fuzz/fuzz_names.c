/*
 * fuzz_names.c - libFuzzer target for the name choice and the line
 * formatter.
 *
 * Each input is one request, run through the core units as the module
 * runs them: prefix, suffix and aggregate cleaned as the config handlers
 * clean them; NAME from statsd_choose_name (StatsdStat, a note or a
 * header, else the URI with an exclude callback; optional id collapsing
 * and name set), then statsd_lines_build and statsd_lines_note. Every
 * output is checked against the metric contract and, where the contract
 * pins the exact result, against a small independent reference written
 * here; the units statsd_choose_name chains are also called one by one on
 * blocks of exactly their size. A failed check prints what it was looking
 * at and aborts.
 *
 * Optional stages on the same input: the lines through statsd_client /
 * statsd_batch with a recording send function (datagram size, splitting
 * at line boundaries, nothing lost or reordered), and the destination
 * parser (statsd_target_parse / _format / _from_host_port round trips).
 * Every input also checks the worker gauge lines of its prefix, with HOST
 * from the host field (statsd_gauges), untagged and, with the tags field,
 * in every dialect with the header's tag mode, and the reload marker;
 * and the breakdown lines of its prefix with a backend name made from
 * the target field (statsd_breakdown). Last, the same bytes drive the
 * flushing side's stage (fuzz_flush.c: summing, packing, sampling).
 *
 * Input layout: HDR_LEN header bytes (missing ones read as 0), then
 * fields separated by NUL, or by 0xff when OPT_SEP_FF is set (so either
 * byte can also appear inside a field):
 *     uri, note, method, prefix, suffix, aggregate, target, host, tags
 * (tags: pairs separated by 0x01, key and value by 0x02; the tag stage
 * builds the same request in the dogstatsd, influx and graphite dialects,
 * with or without tag mode, and checks each line's grammar)
 * Every field is handed over in a heap block of exactly its length and
 * every output buffer is a heap block of exactly the size the contract
 * gives, so AddressSanitizer traps a read or write past either.
 *
 * Build: see mk/fuzz.mk (`make fuzz`, `make fuzz-check`). The same file
 * compiles without libFuzzer; fuzz/standalone.c then supplies main().
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_flush.h"
#include "statsd_batch.h"
#include "statsd_breakdown.h"
#include "statsd_choose.h"
#include "statsd_client.h"
#include "statsd_gauges.h"
#include "statsd_guard.h"
#include "statsd_nameset.h"
#include "statsd_lines.h"
#include "statsd_name.h"
#include "statsd_tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- input layout -------------------------------------------------------- */

/* hdr[0] */
#define OPT_UNIT_MASK   0x03    /* 0 ms, 1 us, 2 s, 3 ms */
#define OPT_LEGACY      0x04
#define OPT_SERVICE     0x08
#define OPT_COLLAPSE    0x10
#define OPT_SEP_FF      0x20
#define OPT_SRC_SHIFT   6       /* NAME from: 0 uri, 1 note, 2 StatsdStat, 3 header */
/* hdr[1] */
#define OPT_EXCL_MASK   0x03    /* 0 none, 1 digit first, 2 odd bytes, 3 all */
#define OPT_INPLACE     0x04    /* clean prefix/suffix with dst == src */
#define OPT_TRANSPORT   0x08    /* send the lines through a client */
#define OPT_BATCH       0x10    /* ... through a batch */
#define OPT_NAMESET     0x20    /* StatsdMaxNames guard */
#define OPT_HOSTNAME    0x40    /* expand {hostname} in prefix/suffix */
#define OPT_AGGREGATE   0x80    /* StatsdAggregateStat from its field */
/* hdr[2..3] max_name_len, hdr[4..5] status, hdr[6..13] usec,
 * hdr[14..15] max packet, hdr[16] small counts */
/* hdr[17] */
#define OPT_METHOD_CLEAN 0x01   /* method known clean (httpd's own): copied */
#define OPT_TAGS        0x02    /* the tag stage: every dialect */
#define OPT_TIMER_SHIFT 2       /* 2 bits: 0 ms, 1 h, 2 d, 3 ms */
#define OPT_TAG_MODE    0x10
#define HDR_LEN 18

enum { F_URI, F_NOTE, F_METHOD, F_PREFIX, F_SUFFIX, F_AGGREGATE, F_TARGET,
       F_HOST, F_TAGS, N_FIELDS };

typedef struct {
    const char *p;
    size_t n;
} span;

/* ---- failure reporting --------------------------------------------------- */

static const char *stage = "";
/* statsd_lines_size of the request being built: its lines buffer */
static size_t lines_size;
static span ctx_fields[N_FIELDS];

/* Shows one field of a failed input (shared with fuzz_flush.c). */
void fuzz_put_escaped(const char *label, const char *s, size_t n)
{
    size_t i, shown = n > 400 ? 400 : n;

    fprintf(stderr, "  %s (%zu bytes): \"", label, n);
    for (i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "\"%s\n", shown < n ? "..." : "");
}

static void check_failed(int line, const char *what)
{
    static const char *const names[N_FIELDS] = {
        "uri", "note", "method", "prefix", "suffix", "aggregate", "target",
        "host", "tags"
    };
    int i;

    fprintf(stderr, "fuzz_names.c:%d: check failed in %s: %s\n", line, stage,
            what);
    for (i = 0; i < N_FIELDS; i++)
        if (ctx_fields[i].n)
            fuzz_put_escaped(names[i], ctx_fields[i].p, ctx_fields[i].n);
    abort();
}

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond))                                                          \
            check_failed(__LINE__, #cond);                                    \
    } while (0)

/* A check that shows the two byte strings it compared. */
#define CHECK_BYTES(got, got_len, expv, exp_len)                               \
    do {                                                                      \
        if ((got_len) != (exp_len) || memcmp((got), (expv), (exp_len)) != 0) { \
            fuzz_put_escaped("got", (got), (got_len));                        \
            fuzz_put_escaped("expected", (expv), (exp_len));                  \
            check_failed(__LINE__, #got " == " #expv);                         \
        }                                                                     \
    } while (0)

/* ---- small helpers ------------------------------------------------------- */

static void *xmalloc(size_t n)
{
    /* malloc(0) is a zero-byte block for ASan: any access to it traps */
    void *p = malloc(n);
    if (p == NULL && n > 0)
        abort();
    return p;
}

/* A heap copy of exactly n bytes, no terminator. */
static char *dup_exact(span s)
{
    char *p = xmalloc(s.n);
    if (s.n)
        memcpy(p, s.p, s.n);
    return p;
}

/* The n bytes, then a NUL: a C string for readers that stop at the first
 * NUL, and the URI statsd_name_from_path takes (NULs inside are bytes). */
static char *dup_cstr(span s)
{
    char *p = xmalloc(s.n + 1);
    if (s.n)
        memcpy(p, s.p, s.n);
    p[s.n] = '\0';
    return p;
}

static unsigned get16(const uint8_t *h)
{
    return (unsigned)h[0] | (unsigned)h[1] << 8;
}

static uint64_t get64(const uint8_t *h)
{
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--)
        v = v << 8 | h[i];
    return v;
}

/* [A-Za-z0-9_-]: the bytes a name segment keeps as they are */
static int keep_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* ^[A-Za-z0-9_.-]+$, no "..", no dot at either end */
static int name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (s[i - 1] == '.')
                return 0;
        } else if (!keep_byte(c)) {
            return 0;
        }
    }
    return 1;
}

/* An empty string is a valid "nothing" for prefix, suffix, aggregate. */
static int name_ok_or_empty(const char *s, size_t n)
{
    return n == 0 || name_ok(s, n);
}

static void sanitize_into(char *dst, const char *src, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        dst[i] = keep_byte((unsigned char)src[i]) ? src[i] : '_';
}

/* ---- references (what the headers say, written plainly) ----------------- */

/* statsd_name_clean: segments split on '.', empty ones dropped, bytes
 * outside [A-Za-z0-9_-] -> '_', joined by '.'; past cap it stops after
 * the last whole segment that fits, or cuts the first one if none does. */
static size_t ref_clean(char *out, size_t cap, const char *src, size_t len)
{
    size_t n = 0, i = 0;

    while (i < len) {
        size_t s = i, sl;
        while (i < len && src[i] != '.')
            i++;
        sl = i - s;
        if (i < len)
            i++;
        if (sl == 0)
            continue;
        if (n + (n ? 1 : 0) + sl > cap) {
            if (n == 0) {
                sanitize_into(out, src + s, cap);
                n = cap;
            }
            break;
        }
        if (n)
            out[n++] = '.';
        sanitize_into(out + n, src + s, sl);
        n += sl;
    }
    return n;
}

static int hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

typedef struct {
    int mode;                   /* OPT_EXCL_MASK value */
    const char *lo, *hi;        /* the scratch buffer, when checking */
    unsigned calls;
} exclude_ctx;

static int exclude_cb(const char *seg, size_t len, void *baton)
{
    exclude_ctx *x = baton;
    size_t i;

    x->calls++;
    CHECK(len > 0);
    if (x->lo) {
        /* the decoded segment lives in the caller's scratch buffer */
        CHECK(seg >= x->lo && seg <= x->hi && len <= (size_t)(x->hi - seg));
    }
    switch (x->mode) {
    case 1:                     /* numeric-looking: starts with a digit */
        return seg[0] >= '0' && seg[0] <= '9';
    case 2:                     /* anything a name could not carry as is */
        for (i = 0; i < len; i++)
            if (!keep_byte((unsigned char)seg[i]))
                return 1;
        return 0;
    case 3:
        return 1;
    default:
        return 0;
    }
}


/* RFC 3986 scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static int scheme_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(keep_byte(c) && c != '_') && c != '+' && c != '.')
            return 0;
    }
    return 1;
}

/* The length of the name the segments on the stack make, an excluded
 * one (hole) counting as an empty segment behind its separator. */
static size_t ref_built_len(const size_t *sz, size_t depth)
{
    size_t k, n = 0;

    for (k = 0; k < depth; k++)
        n += (n ? 1 : 0) + sz[k];
    return n;
}

/* statsd_name_from_path: the path (up to '?' or '#') of an
 * origin-form or absolute-form target, split on raw '/', each segment
 * percent-decoded; empty and "." segments dropped, ".." drops the one
 * before (kept or excluded), excluded segments dropped, the rest
 * sanitised and joined by '.'; nothing left (or "*"): ROOT. With exclude
 * tests, bounded: the scan ends at the segment that would be the
 * (STATSD_PATH_MAX_SEGMENTS + 1)th tested, or at one to be tested once the
 * name so far (holes as empty segments) is max bytes or more.
 * out must hold len + 4 bytes. Returns the length. */
static size_t ref_from_path(char *out, const char *uri, size_t len,
                            size_t max, exclude_ctx *x)
{
    size_t segs = 0;
    /* a LIFO of segments: their texts sit one after another in arena */
    size_t *off = xmalloc((len + 1) * sizeof(*off));
    size_t *sz = xmalloc((len + 1) * sizeof(*sz));
    unsigned char *hole = xmalloc(len + 1);
    char *arena = xmalloc(len + 1);
    size_t depth = 0, used = 0, n = 0, p = 0, end, k;

    if (len == 1 && uri[0] == '*')
        p = len;
    if (p < len && uri[0] != '/') {
        const char *c = memchr(uri, ':', len);
        if (c && (size_t)(uri + len - c) >= 3 && c[1] == '/' && c[2] == '/'
            && scheme_ok(uri, (size_t)(c - uri))) {
            p = (size_t)(c - uri) + 3;
            while (p < len && uri[p] != '/' && uri[p] != '?' && uri[p] != '#')
                p++;
        }
    }
    end = p;
    while (end < len && uri[end] != '?' && uri[end] != '#')
        end++;

    while (p < end) {
        size_t sl = 0;
        int all_dots = 1;
        char *seg = arena + used;

        if (uri[p] == '/') {
            p++;
            continue;
        }
        while (p < end && uri[p] != '/') {
            unsigned char c = (unsigned char)uri[p++];
            if (c == '%' && end - p >= 2 && hex_digit((unsigned char)uri[p]) >= 0
                && hex_digit((unsigned char)uri[p + 1]) >= 0) {
                c = (unsigned char)(hex_digit((unsigned char)uri[p]) << 4
                                    | hex_digit((unsigned char)uri[p + 1]));
                p += 2;
            }
            seg[sl++] = (char)c;
            if (c != '.')
                all_dots = 0;
        }
        if (all_dots && sl == 1)
            continue;                           /* "." */
        if (all_dots && sl == 2) {              /* ".." */
            if (depth) {
                depth--;
                used = off[depth];
            }
            continue;
        }
        /* with exclude tests: no more than the cap, none once full */
        if (x && (segs == STATSD_PATH_MAX_SEGMENTS
                  || ref_built_len(sz, depth) >= max))
            break;
        segs++;
        off[depth] = used;
        if (x && exclude_cb(seg, sl, x)) {
            hole[depth] = 1;
            sz[depth++] = 0;
            continue;
        }
        sanitize_into(seg, seg, sl);
        hole[depth] = 0;
        sz[depth++] = sl;
        used += sl;
    }
    for (k = 0; k < depth; k++) {
        if (hole[k])
            continue;
        if (n)
            out[n++] = '.';
        memcpy(out + n, arena + off[k], sz[k]);
        n += sz[k];
    }
    if (n == 0) {
        memcpy(out, "ROOT", 4);
        n = 4;
    }
    free(off);
    free(sz);
    free(hole);
    free(arena);
    return n;
}

/* statsd_guard_collapse: every id segment -> "_id_", whole segments
 * while they fit cap. */
static size_t ref_collapse(char *out, size_t cap, const char *src, size_t len)
{
    size_t n = 0, i = 0;

    while (i <= len) {
        size_t s = i, sl;
        const char *seg;
        while (i < len && src[i] != '.')
            i++;
        sl = i - s;
        seg = src + s;
        i++;
        if (statsd_guard_is_id(seg, sl)) {
            seg = STATSD_ID_NAME;
            sl = sizeof(STATSD_ID_NAME) - 1;
        }
        if (n + (n ? 1 : 0) + sl > cap) {
            if (n == 0) {           /* a first segment too long: cut */
                memcpy(out, seg, cap);
                n = cap;
            }
            break;
        }
        if (n)
            out[n++] = '.';
        memcpy(out + n, seg, sl);
        n += sl;
    }
    return n;
}

/* NAME cut to budget inside a key: the longest run of whole segments that
 * fits, or, when even the first does not, its first budget bytes. */
static size_t ref_cut(const char *name, size_t len, size_t budget)
{
    size_t i, best = 0;

    if (len <= budget)
        return len;
    for (i = 1; i <= budget; i++)
        if (name[i] == '.')
            best = i;
    return best ? best : budget;
}

typedef struct {
    char *buf;
    size_t n;
} strbuf;

static void sb_part(strbuf *b, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (b->n)
        b->buf[b->n++] = '.';
    memcpy(b->buf + b->n, s, n);
    b->n += n;
}

/* The duration as statsd prints it: microsecond resolution, no trailing
 * zeros, never 0, never an exponent. out: STATSD_NUM_MAX bytes. */
static size_t ref_duration(char *out, uint64_t usec, statsd_time_unit unit)
{
    uint64_t div = unit == STATSD_UNIT_US ? 1
                 : unit == STATSD_UNIT_S ? 1000000 : 1000;
    int digits = unit == STATSD_UNIT_S ? 6 : 3;
    int n;

    if (usec == 0)
        usec = 1;
    n = snprintf(out, STATSD_NUM_MAX, "%" PRIu64, usec / div);
    if (usec % div) {
        n += snprintf(out + n, STATSD_NUM_MAX - (size_t)n, ".%0*" PRIu64,
                      digits, usec % div);
        while (out[n - 1] == '0')
            n--;
    }
    return (size_t)n;
}

/* ---- the expected key ---------------------------------------------------- */

typedef struct {
    const char *p; size_t p_len;        /* clean prefix */
    const char *s; size_t s_len;        /* clean suffix */
    char m[STATSD_METHOD_MAX]; size_t m_len;    /* sanitised, cut method */
    char st[4]; size_t st_len;          /* status digits */
    size_t max;                         /* effective cap */
} key_frame;

static void frame_init(key_frame *f, const statsd_request *req)
{
    unsigned s;

    f->p = req->key.prefix;
    f->p_len = req->key.prefix_len;
    f->s = req->key.suffix;
    f->s_len = req->key.suffix_len;
    f->m_len = req->key.method_len > STATSD_METHOD_MAX ? STATSD_METHOD_MAX
                                                       : req->key.method_len;
    sanitize_into(f->m, req->key.method, f->m_len);
    s = req->key.status > 999 ? 999u : (unsigned)req->key.status;
    f->st_len = (size_t)snprintf(f->st, sizeof(f->st), "%u", s);
    f->max = req->key.max_len > STATSD_NAME_MAX ? STATSD_NAME_MAX
                                                : req->key.max_len;
}

/* Is needle a run of whole segments of key? */
static int has_segments(const char *key, size_t n, const char *needle,
                        size_t nl)
{
    size_t i;

    for (i = 0; i + nl <= n; i++)
        if (memcmp(key + i, needle, nl) == 0 && (i == 0 || key[i - 1] == '.')
            && (i + nl == n || key[i + nl] == '.'))
            return 1;
    return 0;
}

/* Check a key (request key or aggregate key) built around name. Keys
 * are written in place in the lines: each is followed by the ':' of its
 * timer line. */
static void check_key(const char *key, size_t key_len, const key_frame *f,
                      const char *name, size_t name_len)
{
    char *expv = xmalloc(f->p_len + name_len + f->m_len + f->st_len + f->s_len + 8);
    strbuf b = { expv, 0 };
    size_t fixed;

    CHECK(name_ok(key, key_len));
    CHECK(key_len <= f->max);
    CHECK(key[key_len] == ':');

    /* P.M.ST.S alone, then what is left for NAME (and its dot) */
    sb_part(&b, f->p, f->p_len);
    sb_part(&b, f->m, f->m_len);
    sb_part(&b, f->st, f->st_len);
    sb_part(&b, f->s, f->s_len);
    fixed = b.n;
    if (fixed + 2 <= f->max) {
        /* everything but NAME fits whole: NAME is cut, nothing else */
        size_t budget = f->max - fixed - 1;
        size_t cut = ref_cut(name, name_len, budget);
        b.n = 0;
        sb_part(&b, f->p, f->p_len);
        sb_part(&b, name, cut);
        sb_part(&b, f->m, f->m_len);
        sb_part(&b, f->st, f->st_len);
        sb_part(&b, f->s, f->s_len);
        CHECK_BYTES(key, key_len, expv, b.n);
    } else if (f->m_len + 1 + f->st_len <= f->max) {
        /* tiny caps: METHOD.STATUS still whole */
        char ms[STATSD_METHOD_MAX + 8];
        memcpy(ms, f->m, f->m_len);
        ms[f->m_len] = '.';
        memcpy(ms + f->m_len + 1, f->st, f->st_len);
        CHECK(has_segments(key, key_len, ms, f->m_len + 1 + f->st_len));
    } else {
        CHECK(has_segments(key, key_len, f->st, f->st_len));
    }
    free(expv);
}

/* ---- lines --------------------------------------------------------------- */

typedef struct {
    const char *name; size_t name_len;
    int timer;                          /* 1: ms with the duration, 0: 1|c */
} exp_line;

/* Check m->lines line by line against the expected list. */
static void check_lines(const statsd_measurement *m, const exp_line *expv,
                        unsigned n_exp)
{
    const char *p = m->lines, *end = m->lines + m->lines_len;
    unsigned i = 0;

    CHECK(m->lines_len <= lines_size);
    CHECK(m->n_lines == n_exp);
    CHECK(m->lines_len > 0);
    while (p <= end && i < n_exp) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        const char *bar;
        size_t nlen, vlen;

        CHECK(colon != NULL);
        nlen = (size_t)(colon - p);
        CHECK(name_ok(p, nlen));
        CHECK_BYTES(p, nlen, expv[i].name, expv[i].name_len);
        bar = memchr(colon, '|', (size_t)(le - colon));
        CHECK(bar != NULL);
        vlen = (size_t)(bar - colon - 1);
        if (expv[i].timer) {
            size_t k, dots = 0, nonzero = 0;
            CHECK((size_t)(le - bar) == 3 && memcmp(bar, "|ms", 3) == 0);
            CHECK_BYTES(colon + 1, vlen, m->duration, m->duration_len);
            /* digits, at most one '.', not at either end, no exponent */
            CHECK(vlen > 0 && colon[1] != '.' && bar[-1] != '.');
            for (k = 0; k < vlen; k++) {
                char c = colon[1 + k];
                CHECK((c >= '0' && c <= '9') || c == '.');
                dots += c == '.';
                nonzero += c >= '1' && c <= '9';
            }
            CHECK(dots <= 1 && nonzero > 0);
            if (dots)
                CHECK(bar[-1] != '0');
        } else {
            CHECK((size_t)(le - bar) == 2 && memcmp(bar, "|c", 2) == 0);
            CHECK(vlen == 1 && colon[1] == '1');
        }
        i++;
        if (!nl)
            break;
        p = nl + 1;
    }
    CHECK(i == n_exp);
    CHECK(p <= end && memchr(p, '\n', (size_t)(end - p)) == NULL);
}

/* ---- transport ----------------------------------------------------------- */

typedef struct {
    char *buf;                  /* every datagram, back to back */
    size_t len, cap;
    size_t *ends;               /* end offset of each datagram */
    size_t n, ends_cap;
    size_t max;                 /* the client's packet size */
} recorder;

static ssize_t record_send(int fd, const void *buf, size_t len,
                           const struct sockaddr *to, socklen_t tolen,
                           void *baton)
{
    recorder *r = baton;

    (void)fd;
    (void)to;
    (void)tolen;
    CHECK(len > 0 && len <= r->max);
    if (r->len + len > r->cap) {
        r->cap = (r->len + len) * 2;
        r->buf = realloc(r->buf, r->cap);
        CHECK(r->buf != NULL);
    }
    if (r->n == r->ends_cap) {
        r->ends_cap = r->ends_cap ? r->ends_cap * 2 : 16;
        r->ends = realloc(r->ends, r->ends_cap * sizeof(*r->ends));
        CHECK(r->ends != NULL);
    }
    memcpy(r->buf + r->len, buf, len);
    r->len += len;
    r->ends[r->n++] = r->len;
    return (ssize_t)len;
}

/* The lines of one request, `reps` times, through a client (or a batch in
 * front of one) with packet size max: every datagram is whole lines, none
 * empty, none over max; every line that fits a packet arrives once, in
 * order; longer ones are dropped and counted. */
static void run_transport(const statsd_measurement *m, size_t max,
                          unsigned reps, int batched)
{
    statsd_target t;
    statsd_client *c = NULL;
    statsd_batch *b = NULL;
    statsd_stats st;
    recorder rec;
    size_t i, pos, exp_len = 0, line_count = 0, dropped = 0, d;
    unsigned r;
    char *expv;

    stage = batched ? "transport (batch)" : "transport (client)";
    memset(&rec, 0, sizeof(rec));
    rec.max = max;
    CHECK(statsd_target_parse(&t, "unix:/nonexistent/mod_statsd-fuzz") == 0);
    CHECK(statsd_client_create(&c, &t, max) == 0);
    statsd_client_set_send_fn(c, record_send, &rec);
    CHECK(statsd_client_open(c) == 0);
    if (batched)
        CHECK(statsd_batch_create(&b, c) == 0);

    /* what should arrive: the lines that fit a packet, '\n'-joined */
    expv = xmalloc((m->lines_len + 1) * reps + 1);
    for (r = 0; r < reps; r++) {
        for (pos = 0; pos <= m->lines_len;) {
            const char *nl = memchr(m->lines + pos, '\n', m->lines_len - pos);
            size_t l = nl ? (size_t)(nl - m->lines) - pos : m->lines_len - pos;
            if (l > max) {
                dropped++;
            } else {
                if (exp_len)
                    expv[exp_len++] = '\n';
                memcpy(expv + exp_len, m->lines + pos, l);
                exp_len += l;
                line_count++;
            }
            pos += l + 1;
        }
    }

    /* the return value: bytes queued or sent for this block (a block
     * split over datagrams loses its '\n's between them), or a negative
     * errno when a line of it was dropped */
    for (r = 0; r < reps; r++) {
        size_t before = rec.len;
        size_t pending = batched ? statsd_batch_pending(b) : 0;
        long rc;
        if (batched) {
            rc = statsd_batch_add(b, m->lines, m->lines_len, m->n_lines);
            if (m->lines_len <= max)
                CHECK(rc == (long)m->lines_len);
            else if (dropped)
                CHECK(rc < 0);
            else
                CHECK(rc >= 0 && (size_t)rc == rec.len - before - pending);
        } else {
            rc = statsd_client_send_lines(c, m->lines, m->lines_len);
            if (dropped)
                CHECK(rc < 0);
            else
                CHECK(rc >= 0 && (size_t)rc == rec.len - before);
        }
    }
    if (batched) {
        CHECK(statsd_batch_flush(b) == 0);
        CHECK(statsd_batch_pending(b) == 0);
    }

    /* datagrams: whole non-empty lines each; together, expv in order */
    {
        char *got = xmalloc(rec.len + rec.n + 1);
        size_t got_len = 0, start = 0;
        for (d = 0; d < rec.n; d++) {
            const char *dg = rec.buf + start;
            size_t dl = rec.ends[d] - start;
            CHECK(dl > 0 && dl <= max);
            CHECK(dg[0] != '\n' && dg[dl - 1] != '\n');
            for (i = 1; i < dl; i++)
                CHECK(!(dg[i] == '\n' && dg[i - 1] == '\n'));
            if (got_len)
                got[got_len++] = '\n';
            memcpy(got + got_len, dg, dl);
            got_len += dl;
            start = rec.ends[d];
        }
        CHECK_BYTES(got, got_len, expv, exp_len);
        free(got);
    }
    statsd_client_stats(c, &st);
    CHECK(st.datagrams == rec.n);
    CHECK(st.bytes == rec.len);
    CHECK(st.lines == line_count);
    CHECK(st.dropped_lines == dropped);
    CHECK(st.drops[STATSD_DROP_TOOBIG] == dropped);

    free(expv);
    statsd_batch_destroy(b);
    statsd_client_destroy(c);
    free(rec.buf);
    free(rec.ends);
}

/* ---- destinations -------------------------------------------------------- */

static void check_target_sane(const statsd_target *t)
{
    size_t i, n;

    if (t->kind == STATSD_TARGET_UDP) {
        n = strnlen(t->host, sizeof(t->host));
        CHECK(n > 0 && n <= STATSD_HOST_MAX);
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)t->host[i];
            CHECK(keep_byte(c) || c == '.' || c == ':' || c == '%');
        }
        CHECK(t->port >= 1 && t->port <= 65535);
    } else {
        CHECK(t->kind == STATSD_TARGET_UNIX);
        n = strnlen(t->path, sizeof(t->path));
        CHECK(n > 0 && n <= STATSD_PATH_MAX && t->path[0] == '/');
        for (i = 0; i < n; i++)
            CHECK((unsigned char)t->path[i] >= 0x20 && t->path[i] != 0x7f);
    }
}

/* format then parse gives the same target back */
static void round_trip(const statsd_target *t)
{
    char text[8 + STATSD_HOST_MAX + 8 + STATSD_PATH_MAX + 8];
    statsd_target back;
    int n;

    check_target_sane(t);
    n = statsd_target_format(t, text, sizeof(text));
    CHECK(n > 0 && (size_t)n < sizeof(text) && strlen(text) == (size_t)n);
    memset(&back, 0x5a, sizeof(back));
    CHECK(statsd_target_parse(&back, text) == 0);
    CHECK(statsd_target_equal(t, &back));
    CHECK(back.kind == t->kind);
    if (t->kind == STATSD_TARGET_UDP)
        CHECK(strcmp(back.host, t->host) == 0 && back.port == t->port);
    else
        CHECK(strcmp(back.path, t->path) == 0);
    /* a buffer one byte short is refused, not overrun */
    {
        char *small = xmalloc((size_t)n);
        CHECK(statsd_target_format(t, small, (size_t)n) == -ENOSPC);
        free(small);
    }
}

static void run_targets(span target, span host, unsigned port)
{
    char *spec = dup_cstr(target), *h = dup_cstr(host);
    statsd_target t;
    unsigned v;

    stage = "statsd_target_parse";
    memset(&t, 0, sizeof(t));
    if (statsd_target_parse(&t, spec) == 0)
        round_trip(&t);
    stage = "statsd_target_from_host_port";
    memset(&t, 0, sizeof(t));
    if (statsd_target_from_host_port(&t, h, port) == 0)
        round_trip(&t);
    stage = "statsd_target_parse_port";
    if (statsd_target_parse_port(h, &v) == 0) {
        /* only plain digits, 1..65535, and the number they spell */
        size_t i, n = strlen(h);
        unsigned long want = 0;
        for (i = 0; i < n; i++) {
            CHECK(h[i] >= '0' && h[i] <= '9');
            want = want * 10 + (unsigned long)(h[i] - '0');
            CHECK(want <= 65535);
        }
        CHECK(n > 0 && want >= 1 && want == v);
    }
    free(spec);
    free(h);
}

/* ---- service lines ------------------------------------------------------- */

/* statsd_lines_service_init for a clean prefix: the ready-made service lines
 * "P.responses.good:1|c", "P.responses.bad:1|c\nP.responses.4xx:1|c",
 * the 5xx twin, and the timer's "P.responses.time:". */
static void check_service(statsd_service *svc, const char *prefix,
                          size_t len)
{
    char want[STATSD_SERVICE_MAX + 1];
    const char *dot = len ? "." : "";
    int p = (int)len, n;

    stage = "statsd_lines_service_init";
    statsd_lines_service_init(svc, prefix, len);
    CHECK(svc->good_len <= sizeof(svc->good) && svc->bad4_len <= sizeof(svc->bad4)
          && svc->bad5_len <= sizeof(svc->bad5) && svc->time_len <= sizeof(svc->time));
    n = snprintf(want, sizeof(want), "%.*s%sresponses.good:1|c", p, prefix, dot);
    CHECK_BYTES(svc->good, svc->good_len, want, (size_t)n);
    n = snprintf(want, sizeof(want),
                 "%.*s%sresponses.bad:1|c\n%.*s%sresponses.4xx:1|c",
                 p, prefix, dot, p, prefix, dot);
    CHECK_BYTES(svc->bad4, svc->bad4_len, want, (size_t)n);
    n = snprintf(want, sizeof(want),
                 "%.*s%sresponses.bad:1|c\n%.*s%sresponses.5xx:1|c",
                 p, prefix, dot, p, prefix, dot);
    CHECK_BYTES(svc->bad5, svc->bad5_len, want, (size_t)n);
    n = snprintf(want, sizeof(want), "%.*s%sresponses.time:", p, prefix, dot);
    CHECK_BYTES(svc->time, svc->time_len, want, (size_t)n);
}

/* ---- worker gauges ------------------------------------------------------- */

/* HOST from the host field, and the gauge lines of the clean prefix with
 * it, against a snprintf reference. */
static void check_gauges(const char *prefix, size_t prefix_len, span host)
{
    char *h = dup_cstr(host), *hb = xmalloc(STATSD_GAUGE_HOST_MAX + 1);
    char *out = xmalloc(STATSD_GAUGES_CAP), *want = xmalloc(STATSD_GAUGES_CAP);
    statsd_workers w = {host.n, prefix_len, UINT64_MAX, (int)(host.n & 1),
                        (uint64_t)host.n * 1000003u};
    const char *dot = prefix_len ? "." : "";
    int pl = (int)prefix_len;
    size_t hl, n, x;
    int k;

    stage = "statsd_gauges_host";
    hl = statsd_gauges_host(hb, h);
    CHECK(hl >= 1 && hl <= STATSD_GAUGE_HOST_MAX && hb[hl] == '\0');
    for (x = 0; x < hl; x++)
        CHECK(keep_byte((unsigned char)hb[x]));
    stage = "statsd_gauges_format";
    n = statsd_gauges_format(out, STATSD_GAUGES_CAP, prefix, prefix_len, hb,
                             hl, &w);
    k = snprintf(want, STATSD_GAUGES_CAP,
                 "%.*s%shttpd.%s.workers.busy:%" PRIu64 "|g\n"
                 "%.*s%shttpd.%s.workers.idle:%" PRIu64 "|g\n"
                 "%.*s%shttpd.%s.workers.max:%" PRIu64 "|g",
                 pl, prefix, dot, hb, w.busy, pl, prefix, dot, hb, w.idle,
                 pl, prefix, dot, hb, w.max);
    if (w.has_async && k > 0 && k < STATSD_GAUGES_CAP)
        k += snprintf(want + k, STATSD_GAUGES_CAP - (size_t)k,
                      "\n%.*s%shttpd.%s.connections.async:%" PRIu64 "|g",
                      pl, prefix, dot, hb, w.async);
    CHECK(k > 0 && k < STATSD_GAUGES_CAP);
    CHECK_BYTES(out, n, want, (size_t)k);
    free(h);
    free(hb);
    free(out);
    free(want);
}

/* ---- breakdown lines ------------------------------------------------------ */

/* A backend name from the target field; the first-byte, bytes and aborted
 * lines and the backend lines (untagged) of the clean prefix, numbers from
 * the field lengths, against a snprintf reference. */
static void check_breakdown(const char *prefix, size_t prefix_len,
                            span target, span host)
{
    char *src = dup_exact(target), name[STATSD_BACKEND_NAME_MAX];
    char *out = xmalloc(STATSD_BREAKDOWN_MAX);
    char *want = xmalloc(STATSD_BREAKDOWN_MAX);
    statsd_breakdown b = {1, (uint64_t)host.n * 7919u, 1,
                          (uint64_t)target.n * 1000003u,
                          (int)(target.n & 1)};
    statsd_backend_result r;
    const char *dot = prefix_len ? "." : "";
    int pl = (int)prefix_len, k, nl;
    char dur[STATSD_NUM_MAX];
    size_t n, x, dl, len;
    unsigned lines;

    stage = "statsd_breakdown_backend_name";
    len = statsd_breakdown_backend_name(name, src, target.n);
    CHECK(len <= STATSD_BACKEND_NAME_MAX && len <= target.n);
    for (x = 0; x < len; x++)
        CHECK(keep_byte((unsigned char)name[x]));
    nl = (int)len;

    stage = "statsd_breakdown_lines";
    n = statsd_breakdown_lines(out, prefix, prefix_len, &b, STATSD_UNIT_MS,
                               STATSD_TIMER_MS, STATSD_TAGS_NONE, "", 0,
                               &lines);
    dl = ref_duration(dur, b.ttfb_usec, STATSD_UNIT_MS);
    k = snprintf(want, STATSD_BREAKDOWN_MAX,
                 "\n%.*s%sresponses.ttfb:%.*s|ms"
                 "\n%.*s%sresponses.bytes:%" PRIu64 "|c%s%.*s%s%s",
                 pl, prefix, dot, (int)dl, dur, pl, prefix, dot,
                 b.bytes_sent, b.aborted ? "\n" : "",
                 b.aborted ? pl : 0, prefix, b.aborted ? dot : "",
                 b.aborted ? "responses.aborted:1|c" : "");
    CHECK(k > 0 && k < STATSD_BREAKDOWN_MAX);
    CHECK_BYTES(out, n, want, (size_t)k);
    CHECK(lines == (unsigned)(2 + b.aborted));

    stage = "statsd_breakdown_backend_lines";
    r.name = name;
    r.name_len = len;
    r.answered = (int)(host.n & 2) != 0;
    r.status = 100 + (int)(host.n % 500);
    r.usec = (uint64_t)target.n * 131u;
    n = statsd_breakdown_backend_lines(out, prefix, prefix_len, &r,
                                       STATSD_UNIT_MS, STATSD_TIMER_MS,
                                       STATSD_TAGS_NONE, "", 0, 0, &lines);
    dl = ref_duration(dur, r.usec, STATSD_UNIT_MS);
    if (len == 0)
        k = 0;
    else if (!r.answered)
        k = snprintf(want, STATSD_BREAKDOWN_MAX,
                     "\n%.*s%sbackend.%.*s.errors:1|c",
                     pl, prefix, dot, nl, name);
    else if (r.status < 400)
        k = snprintf(want, STATSD_BREAKDOWN_MAX,
                     "\n%.*s%sbackend.%.*s.time:%.*s|ms"
                     "\n%.*s%sbackend.%.*s.good:1|c",
                     pl, prefix, dot, nl, name, (int)dl, dur,
                     pl, prefix, dot, nl, name);
    else
        k = snprintf(want, STATSD_BREAKDOWN_MAX,
                     "\n%.*s%sbackend.%.*s.time:%.*s|ms"
                     "\n%.*s%sbackend.%.*s.bad:1|c"
                     "\n%.*s%sbackend.%.*s.%cxx:1|c",
                     pl, prefix, dot, nl, name, (int)dl, dur,
                     pl, prefix, dot, nl, name,
                     pl, prefix, dot, nl, name, r.status < 500 ? '4' : '5');
    CHECK(k >= 0 && k < STATSD_BREAKDOWN_MAX);
    CHECK_BYTES(out, n, want, (size_t)k);
    free(src);
    free(out);
    free(want);
}

/* The gauge lines and reload marker of the clean prefix tagged with set in
 * format f (tag mode or not), against a reference that writes the tags
 * from set's pairs: in tag mode HOST leaves the name for a host tag after
 * the static ones, unless they have a host key already. */
static void check_gauges_tagged(const char *prefix, size_t prefix_len,
                                span host, const statsd_tagset *set,
                                statsd_tag_format f, int mode)
{
    static const char *const first[STATSD_TAG_FORMATS] = {"", "|#", ",", ";"};
    const char sep = f == STATSD_TAGS_GRAPHITE ? ';' : ',';
    const char kv = f == STATSD_TAGS_DOGSTATSD ? ':' : '=';
    char *h = dup_cstr(host), *hb = xmalloc(STATSD_GAUGE_HOST_MAX + 1);
    char *out = xmalloc(STATSD_GAUGES_CAP), *want = xmalloc(STATSD_GAUGES_CAP);
    char *tags = xmalloc(STATSD_GAUGE_TAGS_MAX), *stem;
    statsd_workers w = {prefix_len, host.n, 7, (int)(prefix_len & 1), 0};
    statsd_gauge_tags t = {f, mode, set};
    const char *what[4] = {"workers.busy", "workers.idle", "workers.max",
                           "connections.async"};
    uint64_t val[4];
    size_t hl, n, tl = 0, k = 0;
    unsigned i;
    int has_host = 0, end = f == STATSD_TAGS_DOGSTATSD;

    val[0] = w.busy; val[1] = w.idle; val[2] = w.max; val[3] = w.async;
    tags[0] = '\0';
    stage = "statsd_gauges_format_tagged";
    hl = statsd_gauges_host(hb, h);
    for (i = 0; i < set->n; i++) {
        const statsd_tag *tg = &set->tag[i];
        tl += (size_t)sprintf(tags + tl, "%s%.*s%c%.*s",
                              i ? (f == STATSD_TAGS_GRAPHITE ? ";" : ",")
                                : first[f],
                              (int)tg->key_len, tg->key, kv,
                              (int)tg->value_len, tg->value);
        if (tg->key_len == 4 && !memcmp(tg->key, "host", 4))
            has_host = 1;
    }
    if (mode && !has_host)
        tl += (size_t)sprintf(tags + tl, "%shost%c%s",
                              set->n ? (sep == ';' ? ";" : ",") : first[f],
                              kv, hb);
    CHECK(tl < STATSD_GAUGE_TAGS_MAX);
    stem = xmalloc(prefix_len + hl + 16);
    (void)sprintf(stem, "%.*s%shttpd.%s%s", (int)prefix_len, prefix,
                  prefix_len ? "." : "", mode ? "" : hb, mode ? "" : ".");
    for (i = 0; i < (w.has_async ? 4u : 3u); i++)
        k += (size_t)sprintf(want + k, "%s%s%s%s:%" PRIu64 "|g%s",
                             i ? "\n" : "", stem, what[i], end ? "" : tags,
                             val[i], end ? tags : "");
    CHECK(k < STATSD_GAUGES_CAP);
    n = statsd_gauges_format_tagged(out, STATSD_GAUGES_CAP, prefix,
                                    prefix_len, hb, hl, &t, &w);
    CHECK_BYTES(out, n, want, k);

    stage = "statsd_gauges_reload";
    /* the marker: static tags only */
    tl = set->n ? set->text_len[f] : 0;
    k = (size_t)sprintf(want, "%.*s%shttpd.reloads%.*s:1|c%.*s",
                        (int)prefix_len, prefix, prefix_len ? "." : "",
                        end ? 0 : (int)tl, set->text[f],
                        end ? (int)tl : 0, set->text[f]);
    n = statsd_gauges_reload(out, STATSD_RELOAD_CAP, prefix, prefix_len, &t);
    CHECK_BYTES(out, n, want, k);
    free(stem);
    free(tags);
    free(h);
    free(hb);
    free(out);
    free(want);
}

/* ---- the request chain --------------------------------------------------- */

/* A prefix or suffix as set_name() stores it: {hostname} expanded (when
 * asked), then cleaned to at most STATSD_AFFIX_MAX bytes. Returns a heap
 * block (caller frees) and its clean length in *len. */
static char *config_affix(span raw, int inplace, int hostname, span host,
                          size_t *len)
{
    char *src = dup_exact(raw), *dst;
    size_t src_len = raw.n, n, ref_n;
    char ref[STATSD_AFFIX_MAX];

    if (hostname) {
        char *c = dup_cstr(raw), *h = dup_cstr(host), *out;
        char shorthost[256 + 1];
        size_t sh, room, x;
        stage = "statsd_name_short_host";
        sh = statsd_name_short_host(shorthost, sizeof(shorthost), h);
        CHECK(sh < sizeof(shorthost) && shorthost[sh] == '\0');
        for (x = 0; x < sh; x++)
            CHECK(keep_byte((unsigned char)shorthost[x]));
        {
            /* the host up to its first '.', cut to fit */
            size_t hl = strcspn(h, ".");
            CHECK(sh == (hl < sizeof(shorthost) - 1 ? hl : sizeof(shorthost) - 1));
        }
        stage = "statsd_name_expand";
        room = strlen(c) + sizeof(shorthost);
        out = xmalloc(room);
        x = statsd_name_expand(out, room, c, shorthost);
        if (x != (size_t)-1) {
            /* every "{hostname}" replaced, left to right, nothing else */
            char *want = xmalloc(room), *q = c;
            size_t w = 0;
            CHECK(x < room && out[x] == '\0');
            while (*q) {
                if (strncmp(q, "{hostname}", 10) == 0) {
                    memcpy(want + w, shorthost, sh);
                    w += sh;
                    q += 10;
                } else {
                    want[w++] = *q++;
                }
            }
            CHECK_BYTES(out, x, want, w);
            free(want);
            free(src);
            src_len = x;
            src = xmalloc(src_len);
            memcpy(src, out, src_len);
        }
        free(out);
        free(c);
        free(h);
    }

    stage = "statsd_name_clean (prefix/suffix)";
    if (inplace) {
        dst = src;
        ref_n = ref_clean(ref, STATSD_AFFIX_MAX, src, src_len);
        n = statsd_name_clean(dst, STATSD_AFFIX_MAX, src, src_len);
    } else {
        dst = xmalloc(STATSD_AFFIX_MAX);
        ref_n = ref_clean(ref, STATSD_AFFIX_MAX, src, src_len);
        n = statsd_name_clean(dst, STATSD_AFFIX_MAX, src, src_len);
        free(src);
    }
    CHECK(n <= STATSD_AFFIX_MAX);
    CHECK(name_ok_or_empty(dst, n));
    CHECK_BYTES(dst, n, ref, ref_n);
    *len = n;
    return dst;
}

/* A dotted name (note, header, StatsdStat, StatsdAggregateStat) cleaned
 * to at most STATSD_NAME_MAX bytes into a block of exactly that size. */
static char *clean_name(span raw, size_t *len)
{
    char *src = dup_exact(raw), *dst = xmalloc(STATSD_NAME_MAX);
    char *ref = xmalloc(STATSD_NAME_MAX);
    size_t n, ref_n;

    stage = "statsd_name_clean (name)";
    n = statsd_name_clean(dst, STATSD_NAME_MAX, src, raw.n);
    ref_n = ref_clean(ref, STATSD_NAME_MAX, src, raw.n);
    CHECK(n <= STATSD_NAME_MAX);
    CHECK(name_ok_or_empty(dst, n));
    CHECK_BYTES(dst, n, ref, ref_n);
    free(src);
    free(ref);
    *len = n;
    return dst;
}

/* NAME from the URI as the client sent it, in a scratch block of exactly
 * STATSD_PATH_SCRATCH(len) bytes. */
static char *name_from_uri(span raw, int excl_mode, size_t max, size_t *len)
{
    char *uri = dup_cstr(raw);
    size_t cap = STATSD_PATH_SCRATCH(raw.n), n, ref_n;
    char *dst = xmalloc(cap), *ref = xmalloc(raw.n + 4);
    exclude_ctx x = { excl_mode, dst, dst + cap, 0 };
    exclude_ctx rx = { excl_mode, NULL, NULL, 0 };

    stage = "statsd_name_from_path";
    n = statsd_name_from_path(dst, cap, uri, raw.n, max,
                              excl_mode ? exclude_cb : NULL, &x);
    CHECK(n <= cap);
    CHECK(name_ok(dst, n));
    ref_n = ref_from_path(ref, uri, raw.n, max, excl_mode ? &rx : NULL);
    CHECK_BYTES(dst, n, ref, ref_n);
    free(uri);
    free(ref);
    *len = n;
    return dst;
}

/* The name set of one input: max_names from hdr[16], and as many other
 * requests' names admitted before ours as hdr[16] asks, so that ours may
 * find it full. */
static statsd_nameset *make_nameset(const uint8_t *hdr, size_t *max_names)
{
    statsd_nameset *set = NULL;
    size_t k;
    char other[2];

    *max_names = 1 + (hdr[16] & 7);
    stage = "statsd_nameset";
    CHECK(statsd_nameset_create(&set, *max_names) == 0);
    for (k = 0; k < (size_t)((hdr[16] >> 3) & 7); k++) {
        other[0] = 'n';
        other[1] = (char)('0' + k);
        CHECK(statsd_nameset_admit(set, other, 2) == (k < *max_names));
    }
    CHECK(statsd_nameset_count(set) <= *max_names);
    return set;
}

/* NAME by statsd_choose_name, checked against the references: StatsdStat
 * as it is; else the cleaned note or header; else the URI's name; then
 * ids collapsed and the name set applied, when asked. Returns a heap copy
 * (caller frees) of the name. */
static char *choose_name(const span *f, int src_mode, int excl,
                         const uint8_t *hdr, size_t max, size_t *len)
{
    statsd_choose_offer o;
    statsd_choose_scratch *sc = xmalloc(sizeof(*sc));
    exclude_ctx x = { excl, NULL, NULL, 0 }, rx = { excl, NULL, NULL, 0 };
    char *stat = NULL, *given = NULL, *uri = dup_cstr(f[F_URI]);
    char *exp = xmalloc(f[F_URI].n + 4 > STATSD_NAME_MAX
                        ? f[F_URI].n + 4 : STATSD_NAME_MAX);
    char *ref = xmalloc(STATSD_NAME_MAX);
    size_t stat_len = 0, exp_len = 0, max_names = 0, before = 0, n, unused;
    size_t path_cap;
    const char *name;
    char *out, *path;

    /* each unit on its own, on blocks of exactly its size */
    free(name_from_uri(f[F_URI], excl, max, &unused));
    if (src_mode != 0)
        free(clean_name(f[F_NOTE], &unused));

    memset(&o, 0, sizeof(o));
    if (src_mode == 2) {
        /* StatsdStat is cleaned when the config is read; an empty one is
         * refused there, so the request then has none */
        stat = clean_name(f[F_NOTE], &stat_len);
        o.stat = stat;
        o.stat_len = stat_len;
    } else if (src_mode == 1 || src_mode == 3) {
        /* the note and the header are C strings in httpd's tables */
        given = dup_cstr(f[F_NOTE]);
        if (src_mode == 1)
            o.note = given;
        else
            o.header = given;
    }
    o.uri = uri;
    o.uri_len = f[F_URI].n;
    o.exclude = excl ? exclude_cb : NULL;
    o.exclude_baton = &x;
    o.max_len = max;
    o.collapse = (hdr[0] & OPT_COLLAPSE) != 0;
    if (hdr[1] & OPT_NAMESET) {
        o.names = make_nameset(hdr, &max_names);
        before = statsd_nameset_count(o.names);
    }
    path_cap = STATSD_PATH_SCRATCH(f[F_URI].n);
    path = xmalloc(path_cap);
    x.lo = path;
    x.hi = path + path_cap;

    stage = "statsd_choose_name";
    name = statsd_choose_name(&o, sc, path, path_cap, &n);
    CHECK(n > 0);
    CHECK(name_ok(name, n));

    if (stat_len) {
        CHECK(name == stat);
        CHECK_BYTES(name, n, stat, stat_len);
    } else {
        if (given)
            exp_len = ref_clean(exp, STATSD_NAME_MAX, given, strlen(given));
        if (exp_len == 0)
            exp_len = ref_from_path(exp, uri, f[F_URI].n, max,
                                    excl ? &rx : NULL);
        if (o.collapse) {
            /* every request is measured: a name is cut, never dropped */
            exp_len = ref_collapse(ref, STATSD_NAME_MAX, exp, exp_len);
            memcpy(exp, ref, exp_len);
            CHECK(exp_len > 0);
        }
        if (o.names && !statsd_nameset_admit(o.names, exp, exp_len)) {
            /* refused: only when full, and then for good */
            CHECK(before == max_names);
            exp_len = sizeof(STATSD_OTHER_NAME) - 1;
            memcpy(exp, STATSD_OTHER_NAME, exp_len);
        }
        CHECK_BYTES(name, n, exp, exp_len);
    }
    if (o.names) {
        CHECK(statsd_nameset_count(o.names) <= max_names);
        statsd_nameset_destroy(o.names);
    }
    out = xmalloc(n);
    memcpy(out, name, n);
    *len = n;
    free(path);
    free(sc);
    free(stat);
    free(given);
    free(uri);
    free(exp);
    free(ref);
    return out;
}

/* ---- tags: every dialect --------------------------------------------------- */

/* [A-Za-z0-9_.-]+ of at most max bytes */
static int tag_part_ok(const char *s, size_t n, size_t max)
{
    size_t i;

    if (n == 0 || n > max)
        return 0;
    for (i = 0; i < n; i++)
        if (!keep_byte((unsigned char)s[i]) && s[i] != '.')
            return 0;
    return 1;
}

/* "k<kv>v" items joined by sep over [s, s+n): every key starts with a
 * letter, keys and values keep to the tag bytes and caps. Returns the
 * count, or -1. */
static int tag_list_ok(const char *s, size_t n, char sep, char kv)
{
    int count = 0;
    const char *e = s + n;

    while (s < e) {
        const char *item_end = memchr(s, sep, (size_t)(e - s));
        const char *mid;
        if (!item_end)
            item_end = e;
        mid = memchr(s, kv, (size_t)(item_end - s));
        if (!mid || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
            return -1;
        if (!tag_part_ok(s, (size_t)(mid - s), STATSD_TAG_KEY_MAX)
            || !tag_part_ok(mid + 1, (size_t)(item_end - mid - 1),
                            STATSD_TAG_VALUE_MAX))
            return -1;
        count++;
        s = item_end < e ? item_end + 1 : e;
    }
    return count;
}

/* One line in dialect f: NAME[tags]:VALUE|TYPE[tags], nothing else. */
static void check_tagged_line(const char *l, size_t n, statsd_tag_format f,
                              unsigned max_tags)
{
    const char *colon, *bar, *name_end, *tags = NULL, *type;
    size_t tags_len = 0, type_len, i;
    int count = 0;

    colon = memchr(l, ':', n);
    CHECK(colon != NULL);
    name_end = colon;
    if (f == STATSD_TAGS_INFLUX || f == STATSD_TAGS_GRAPHITE) {
        const char *t = memchr(l, f == STATSD_TAGS_INFLUX ? ',' : ';',
                               (size_t)(colon - l));
        if (t) {
            name_end = t;
            tags = t + 1;
            tags_len = (size_t)(colon - t - 1);
        }
    }
    CHECK(name_ok(l, (size_t)(name_end - l)));
    bar = memchr(colon, '|', (size_t)(l + n - colon));
    CHECK(bar != NULL && bar > colon + 1);
    for (i = 1; colon + i < bar; i++)
        CHECK((colon[i] >= '0' && colon[i] <= '9') || colon[i] == '.');
    type = bar + 1;
    type_len = (size_t)(l + n - type);
    if (f == STATSD_TAGS_DOGSTATSD) {
        const char *h = memchr(type, '|', type_len);
        if (h) {
            CHECK(h + 1 < l + n && h[1] == '#');
            tags = h + 2;
            tags_len = (size_t)(l + n - tags);
            type_len = (size_t)(h - type);
        }
    }
    CHECK((type_len == 2 && !memcmp(type, "ms", 2))
          || (type_len == 1 && (type[0] == 'c' || type[0] == 'h'
                                || type[0] == 'd')));
    if (tags) {
        count = tag_list_ok(tags, tags_len,
                            f == STATSD_TAGS_GRAPHITE ? ';' : ',',
                            f == STATSD_TAGS_DOGSTATSD ? ':' : '=');
        CHECK(count > 0 && (unsigned)count <= max_tags);
    }
}

/* Tag mode from the section's plan: the very lines of the general
 * writer, with the same key, aggregate key and duration. */
static void check_planned(const statsd_request *req,
                          const statsd_measurement *m)
{
    statsd_tag_plan *pl = xmalloc(sizeof(*pl));
    statsd_measurement *mp;

    stage = "tagged lines (plan)";
    CHECK(statsd_lines_tag_plan_init(pl, req->names, req->key.suffix,
                                     req->key.suffix_len, req->tags,
                                     req->tags_len, req->tag_format,
                                     req->timer) == 0);
    /* the lines buffer just as large as the plan says, at the end of the
     * block: a longer write is caught by ASan */
    CHECK(pl->lines_max <= STATSD_LINES_CAP);
    mp = xmalloc(sizeof(*mp) + pl->lines_max);
    memset(mp, 0x5a, sizeof(*mp) + pl->lines_max);
    mp->lines = (char *)(mp + 1);
    CHECK(statsd_lines_build_planned(req, pl, mp) == 0);
    CHECK_BYTES(mp->lines, mp->lines_len, m->lines, m->lines_len);
    CHECK(mp->n_lines == m->n_lines);
    CHECK_BYTES(mp->key, mp->key_len, m->key, m->key_len);
    CHECK(mp->agg_len == m->agg_len);
    if (m->agg_len)
        CHECK_BYTES(mp->agg, mp->agg_len, m->agg, m->agg_len);
    CHECK_BYTES(mp->duration, mp->duration_len, m->duration,
                m->duration_len);
    free(mp);
    free(pl);
}

/* The request of the untagged stage, built again with the static tags of
 * the tags field in every dialect, with tag mode and timer type from the
 * header: each line has its dialect's grammar, and the same number of
 * lines as without tags. */
static void run_tags(statsd_request req, const statsd_measurement *plain,
                     span raw, span host, const uint8_t *hdr)
{
    statsd_tagset *set = xmalloc(sizeof(*set));
    /* the tagged writer's buffer: STATSD_LINES_CAP bytes, at the end of
     * the block */
    statsd_measurement *m = xmalloc(sizeof(*m) + STATSD_LINES_CAP);
    char *lines_buf = (char *)(m + 1);
    statsd_tag_names *names = xmalloc(sizeof(*names));
    const char *p = raw.p, *e = raw.p + raw.n;
    int f;

    stage = "statsd_tags_add";
    memset(set, 0, sizeof(*set));
    while (p < e) {
        const char *pair_end = memchr(p, 0x01, (size_t)(e - p));
        const char *mid;
        char *k, *v;
        span ks, vs;
        if (!pair_end)
            pair_end = e;
        mid = memchr(p, 0x02, (size_t)(pair_end - p));
        if (!mid)
            mid = pair_end;
        ks.p = p; ks.n = (size_t)(mid - p);
        vs.p = mid < pair_end ? mid + 1 : pair_end;
        vs.n = (size_t)(pair_end - vs.p);
        k = dup_exact(ks);
        v = dup_exact(vs);
        (void)statsd_tags_add(set, k, ks.n, v, vs.n);
        free(k);
        free(v);
        p = pair_end < e ? pair_end + 1 : e;
    }
    CHECK(set->n <= STATSD_TAGS_MAX);
    for (f = 0; f < STATSD_TAG_FORMATS; f++)
        CHECK(set->text_len[f] <= STATSD_TAGS_TEXT_MAX);

    statsd_lines_tag_names_init(names, req.key.prefix, req.key.prefix_len);
    req.names = names;
    /* no tags, ms timers: the tagged writer writes the untagged lines */
    stage = "tagged lines (none)";
    req.tag_format = STATSD_TAGS_NONE;
    req.timer = STATSD_TIMER_MS;
    memset(m, 0x5a, sizeof(*m));
    m->lines = lines_buf;
    CHECK(statsd_lines_build_tagged(&req, m) == 0);
    CHECK_BYTES(m->lines, m->lines_len, plain->lines, plain->lines_len);
    CHECK(m->n_lines == plain->n_lines);

    req.timer = (statsd_timer_type)((hdr[17] >> OPT_TIMER_SHIFT) & 3);
    if (req.timer > STATSD_TIMER_D)
        req.timer = STATSD_TIMER_MS;
    req.tag_mode = (hdr[17] & OPT_TAG_MODE) != 0;
    for (f = STATSD_TAGS_DOGSTATSD; f < STATSD_TAG_FORMATS; f++) {
        size_t at = 0;
        unsigned lines = 0;
        stage = f == STATSD_TAGS_DOGSTATSD ? "tagged lines (dogstatsd)"
              : f == STATSD_TAGS_INFLUX ? "tagged lines (influx)"
              : "tagged lines (graphite)";
        req.tag_format = (statsd_tag_format)f;
        req.tags = statsd_tags_text(set, req.tag_format, &req.tags_len);
        /* a buffer just as large as the tags' bound, at the end of a heap
         * block: a longer write is caught by ASan */
        size_t need = statsd_lines_size_tagged(&req);
        char *exact;
        CHECK(need <= STATSD_LINES_CAP);
        exact = xmalloc(need);
        memset(m, 0x5a, sizeof(*m));
        m->lines = exact;
        CHECK(statsd_lines_build_tagged(&req, m) == 0);
        CHECK(m->lines_len <= need);
        CHECK(m->n_lines == plain->n_lines);
        while (at < m->lines_len) {
            const char *nl = memchr(m->lines + at, '\n', m->lines_len - at);
            size_t len = nl ? (size_t)(nl - m->lines - at) : m->lines_len - at;
            check_tagged_line(m->lines + at, len, (statsd_tag_format)f,
                              set->n + 3);
            lines++;
            at += len + 1;
        }
        CHECK(lines == m->n_lines);
        CHECK_BYTES(m->duration, m->duration_len, plain->duration,
                    plain->duration_len);
        if (req.tag_mode)
            check_planned(&req, m);
        free(exact);
        check_gauges_tagged(req.key.prefix, req.key.prefix_len, host, set,
                            (statsd_tag_format)f, req.tag_mode);
    }
    free(names);
    free(m);
    free(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t hdr[HDR_LEN];
    span f[N_FIELDS];
    const uint8_t *p, *end = data + size;
    uint8_t sep;
    int i, src_mode, excl;
    statsd_request req;
    statsd_service *svc;
    statsd_measurement *m;
    key_frame frame;
    char *prefix, *suffix, *agg = NULL, *name;
    char *method, *note;
    size_t prefix_len, suffix_len, agg_len = 0, name_len = 0, note_len;
    size_t max_len;
    long bytes;
    exp_line expv[8];
    unsigned n_exp = 0;
    char svc_names[4][STATSD_AFFIX_MAX + 32];

    memset(&req, 0, sizeof(req));
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, data, size < HDR_LEN ? size : HDR_LEN);
    p = size < HDR_LEN ? end : data + HDR_LEN;
    sep = (hdr[0] & OPT_SEP_FF) ? 0xff : 0x00;
    for (i = 0; i < N_FIELDS; i++) {
        const uint8_t *e = p < end ? memchr(p, sep, (size_t)(end - p)) : NULL;
        if (e == NULL)
            e = end;
        f[i].p = (const char *)p;
        f[i].n = (size_t)(e - p);
        ctx_fields[i] = f[i];
        p = e < end ? e + 1 : end;
    }
    src_mode = hdr[0] >> OPT_SRC_SHIFT;
    excl = hdr[1] & OPT_EXCL_MASK;
    max_len = STATSD_NAME_MIN
              + get16(hdr + 2) % (STATSD_NAME_MAX - STATSD_NAME_MIN + 1);

    /* ---- config time: prefix, suffix, aggregate ---- */
    prefix = config_affix(f[F_PREFIX], hdr[1] & OPT_INPLACE,
                          hdr[1] & OPT_HOSTNAME, f[F_HOST], &prefix_len);
    suffix = config_affix(f[F_SUFFIX], hdr[1] & OPT_INPLACE,
                          hdr[1] & OPT_HOSTNAME, f[F_HOST], &suffix_len);
    /* the prefix's service lines, made once with the prefix */
    svc = xmalloc(sizeof(*svc));
    memset(svc, 0x5a, sizeof(*svc));
    check_service(svc, prefix, prefix_len);
    check_gauges(prefix, prefix_len, f[F_HOST]);
    check_breakdown(prefix, prefix_len, f[F_TARGET], f[F_HOST]);
    if (hdr[1] & OPT_AGGREGATE) {
        agg = clean_name(f[F_AGGREGATE], &agg_len);
        /* an empty StatsdAggregateStat is refused at config time */
    }

    /* ---- request time: NAME ---- */
    name = choose_name(f, src_mode, excl, hdr, max_len, &name_len);

    /* ---- the method: httpd always has one, else OtherVerbs; one of
     * httpd's own (or OtherVerbs) is known clean and copied as it is ---- */
    if (f[F_METHOD].n) {
        method = dup_exact(f[F_METHOD]);
        req.key.method_len = f[F_METHOD].n;
        if (hdr[17] & OPT_METHOD_CLEAN) {
            sanitize_into(method, method, req.key.method_len);
            req.key.method_clean = 1;
        }
    } else {
        span ov = { STATSD_OTHER_VERBS, sizeof(STATSD_OTHER_VERBS) - 1 };
        method = dup_exact(ov);
        req.key.method_len = ov.n;
        req.key.method_clean = (hdr[17] & OPT_METHOD_CLEAN) != 0;
    }

    /* ---- statsd_lines_build ---- */
    stage = "statsd_lines_build";
    req.key.prefix = prefix;
    req.key.prefix_len = prefix_len;
    req.key.suffix = suffix;
    req.key.suffix_len = suffix_len;
    req.key.name = name;
    req.key.name_len = name_len;
    req.aggregate = agg;
    req.aggregate_len = agg_len;
    req.key.method = method;
    req.key.status = (int)(get16(hdr + 4) % 1100);
    req.usec = get64(hdr + 6);
    req.unit = (hdr[0] & OPT_UNIT_MASK) == 3 ? STATSD_UNIT_MS
                                             : (statsd_time_unit)(hdr[0] & OPT_UNIT_MASK);
    req.key.max_len = max_len;
    req.legacy = (hdr[0] & OPT_LEGACY) != 0;
    req.service = (hdr[0] & OPT_SERVICE) ? svc : NULL;
    /* the lines buffer just as large as the settings say, at the end of
     * the block: a longer write is caught by ASan */
    lines_size = statsd_lines_size(&req);
    CHECK(lines_size <= STATSD_LINES_CAP);
    m = xmalloc(sizeof(*m) + lines_size);
    memset(m, 0x5a, sizeof(*m) + lines_size);
    m->lines = (char *)(m + 1);

    CHECK(statsd_lines_build(&req, m) == 0);

    /* the plan of these settings, when they have one, writes the same
     * lines for every request it takes (into the small buffer) */
    stage = "statsd_lines_build_plain";
    {
        statsd_plain_plan pl;
        statsd_measurement *pm;

        if (statsd_lines_plain_plan_init(&pl, &req) == 0) {
            pm = xmalloc(sizeof(*pm) + STATSD_LINES_SMALL);
            pm->lines = (char *)(pm + 1);
            if (statsd_lines_build_plain(&pl, &req.key, req.usec, pm) == 0) {
                CHECK_BYTES(pm->lines, pm->lines_len, m->lines, m->lines_len);
                CHECK_BYTES(pm->key, pm->key_len, m->key, m->key_len);
                CHECK_BYTES(pm->duration, pm->duration_len, m->duration,
                            m->duration_len);
                CHECK(pm->n_lines == m->n_lines && pm->agg_len == 0);
            }
            free(pm);
        }
    }

    /* key and aggregate key */
    frame_init(&frame, &req);
    stage = "statsd_name_key (key)";
    CHECK(m->key_len <= STATSD_NAME_MAX);
    CHECK(m->key == m->lines);              /* the first line starts with it */
    check_key(m->key, m->key_len, &frame, name, name_len);
    stage = "statsd_name_key (aggregate)";
    if (agg_len) {
        CHECK(m->agg_len > 0 && m->agg_len <= STATSD_NAME_MAX);
        CHECK(m->agg > m->lines && m->agg < m->lines + m->lines_len);
        check_key(m->agg, m->agg_len, &frame, agg, agg_len);
    } else {
        CHECK(m->agg_len == 0);
    }

    /* duration */
    stage = "statsd_lines_format_duration";
    {
        char want[STATSD_NUM_MAX];
        size_t wl = ref_duration(want, req.usec, req.unit);
        CHECK(m->duration_len > 0 && m->duration_len < STATSD_NUM_MAX);
        CHECK_BYTES(m->duration, m->duration_len, want, wl);
    }

    /* the lines, in their order */
    stage = "statsd_lines_build (lines)";
    expv[n_exp].name = m->key; expv[n_exp].name_len = m->key_len; expv[n_exp++].timer = 1;
    if (req.legacy) {
        expv[n_exp].name = m->key; expv[n_exp].name_len = m->key_len; expv[n_exp++].timer = 0;
    }
    if (agg_len) {
        expv[n_exp].name = m->agg; expv[n_exp].name_len = m->agg_len; expv[n_exp++].timer = 1;
        if (req.legacy) {
            expv[n_exp].name = m->agg; expv[n_exp].name_len = m->agg_len; expv[n_exp++].timer = 0;
        }
    }
    if (req.service) {
        const char *what[3];
        int nw = 0, w;
        if (req.key.status < 400) {
            what[nw++] = "good";
        } else {
            what[nw++] = "bad";
            what[nw++] = req.key.status < 500 ? "4xx" : "5xx";
        }
        what[nw++] = "time";
        for (w = 0; w < nw; w++) {
            int n = snprintf(svc_names[w], sizeof(svc_names[w]), "%.*s%sresponses.%s",
                             (int)prefix_len, prefix, prefix_len ? "." : "",
                             what[w]);
            expv[n_exp].name = svc_names[w];
            expv[n_exp].name_len = (size_t)n;
            expv[n_exp++].timer = w == nw - 1;
        }
    }
    check_lines(m, expv, n_exp);

    /* the `statsd` note: "KEY DURATION BYTES LEGACY" */
    stage = "statsd_lines_note";
    switch (hdr[16] >> 5) {
    case 0: bytes = -1; break;
    case 1: bytes = 0; break;
    case 2: bytes = LONG_MIN; break;
    case 3: bytes = LONG_MAX; break;
    default: bytes = (long)(req.usec & 0xffff); break;
    }
    note = xmalloc(m->key_len + 64);
    note_len = statsd_lines_note(note, m, bytes, req.legacy);
    {
        char *want = xmalloc(m->key_len + 64);
        int wl = snprintf(want, m->key_len + 64, "%.*s %.*s %ld %d",
                          (int)m->key_len, m->key, (int)m->duration_len,
                          m->duration, bytes, req.legacy ? 1 : 0);
        CHECK(wl > 0 && (size_t)wl < m->key_len + 64);
        CHECK(note_len < m->key_len + 64 && note[note_len] == '\0');
        CHECK_BYTES(note, note_len, want, (size_t)wl);
        free(want);
    }
    free(note);

    /* the same lines on the wire */
    if (hdr[1] & OPT_TRANSPORT) {
        size_t max = STATSD_MIN_PACKET
                   + get16(hdr + 14) % (STATSD_MAX_PACKET - STATSD_MIN_PACKET + 1);
        run_transport(m, max, 1 + ((hdr[16] >> 3) & 3),
                      (hdr[1] & OPT_BATCH) != 0);
    }

    if (hdr[17] & OPT_TAGS)
        run_tags(req, m, f[F_TAGS], f[F_HOST], hdr);

    /* destinations, from their own fields */
    run_targets(f[F_TARGET], f[F_HOST], get16(hdr + 14));

    /* the flushing side, from the same bytes read another way */
    stage = "fuzz_flush";
    fuzz_flush(data, size);

    free(m);
    free(svc);
    free(method);
    free(prefix);
    free(suffix);
    free(agg);
    free(name);
    stage = "";
    return 0;
}
