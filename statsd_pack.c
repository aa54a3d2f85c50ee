/*
 * statsd_pack.c - timer values packed per key.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_pack.h"

typedef struct {
    const char *line;        /* the whole line */
    uint32_t name_len;       /* K */
    uint32_t value_len;      /* V */
    uint32_t rest_off;       /* from '|' (TYPE and REST) to the end */
    uint32_t len;
    int32_t next;            /* next line of the same key, -1: last */
    int32_t key;             /* the group's first line, or -1: not a timer */
    uint32_t hash;
} pline;

struct statsd_pack {
    pline *lines;
    size_t max;
    int32_t *slots;          /* open addressing: first line index + 1 */
    int32_t *last;           /* per first line: the group's last line */
    int32_t *order, *tmp;    /* one group's lines, while sorted */
    size_t mask;
};

int statsd_pack_create(statsd_pack **out, size_t max_lines)
{
    statsd_pack *p;
    size_t slots = 1;

    if (!out || max_lines == 0 || max_lines > (1u << 24))
        return -EINVAL;
    while (slots < 2 * max_lines)
        slots <<= 1;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->lines = malloc(max_lines * sizeof(pline));
    p->last = malloc(max_lines * sizeof(int32_t));
    p->slots = calloc(slots, sizeof(int32_t));
    p->order = malloc(max_lines * sizeof(int32_t));
    p->tmp = malloc(max_lines * sizeof(int32_t));
    if (!p->lines || !p->last || !p->slots || !p->order || !p->tmp) {
        statsd_pack_destroy(p);
        return -ENOMEM;
    }
    p->max = max_lines;
    p->mask = slots - 1;
    *out = p;
    return 0;
}

void statsd_pack_destroy(statsd_pack *p)
{
    if (!p)
        return;
    free(p->lines);
    free(p->last);
    free(p->slots);
    free(p->order);
    free(p->tmp);
    free(p);
}

int statsd_pack_parse(const char *s, statsd_pack_style *out)
{
    if (!s || !out)
        return -1;
    if (!strcmp(s, "off"))
        *out = STATSD_PACK_OFF;
    else if (!strcmp(s, "etsy"))
        *out = STATSD_PACK_ETSY;
    else if (!strcmp(s, "dogstatsd"))
        *out = STATSD_PACK_DOGSTATSD;
    else
        return -1;
    return 0;
}

/* A timer line split up; 0 if it is not one we pack. */
static int parse_timer(pline *l, statsd_pack_style style)
{
    const char *ln = l->line;
    const char *colon = memchr(ln, ':', l->len), *bar, *rest_end;
    size_t i;

    if (!colon || colon == ln)
        return 0;
    bar = memchr(colon, '|', l->len - (size_t)(colon - ln));
    if (!bar || bar == colon + 1)
        return 0;
    /* the value: digits and '.', nothing else (no ':' of a packed line) */
    for (i = (size_t)(colon - ln) + 1; ln + i < bar; i++)
        if ((ln[i] < '0' || ln[i] > '9') && ln[i] != '.')
            return 0;
    rest_end = ln + l->len;
    /* the type: ms, h or d, then the end or '|' */
    i = (size_t)(bar - ln) + 1;
    if (i + 2 <= l->len && ln[i] == 'm' && ln[i + 1] == 's')
        i += 2;
    else if (i + 1 <= l->len && (ln[i] == 'h' || ln[i] == 'd'))
        i += 1;
    else
        return 0;
    if (i < l->len && ln[i] != '|')
        return 0;
    /* Etsy statsd cuts a line at its first "|#" before it splits values
     * on ':': tags can only end a line there */
    if (style == STATSD_PACK_ETSY
        && (memchr(bar, ':', (size_t)(rest_end - bar))
            || memchr(bar, '#', (size_t)(rest_end - bar))))
        return 0;
    l->name_len = (uint32_t)(colon - ln);
    l->value_len = (uint32_t)(bar - colon - 1);
    l->rest_off = (uint32_t)(bar - ln);
    return 1;
}

static uint32_t hash_key(const pline *l)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < l->name_len; i++)
        h = (h ^ (unsigned char)l->line[i]) * 16777619u;
    for (i = l->rest_off; i < l->len; i++)
        h = (h ^ (unsigned char)l->line[i]) * 16777619u;
    return h;
}

static int same_key(const pline *a, const pline *b)
{
    return a->hash == b->hash && a->name_len == b->name_len
           && a->len - a->rest_off == b->len - b->rest_off
           && !memcmp(a->line, b->line, a->name_len)
           && !memcmp(a->line + a->rest_off, b->line + b->rest_off,
                      a->len - a->rest_off);
}

/* Two values (digits and '.') in numeric order: integer parts by their
 * length without leading zeros ("0" has none), then digit by digit; then
 * the fractions digit by digit, a missing digit read as '0'. */
static int value_cmp(const pline *a, const pline *b)
{
    const char *x = a->line + a->name_len + 1, *y = b->line + b->name_len + 1;
    size_t xn = a->value_len, yn = b->value_len, xi, yi, xf, yf, i;
    const char *xd, *yd;
    int c;

    while (xn && x[0] == '0')
        x++, xn--;
    while (yn && y[0] == '0')
        y++, yn--;
    xd = memchr(x, '.', xn);
    yd = memchr(y, '.', yn);
    xi = xd ? (size_t)(xd - x) : xn;
    yi = yd ? (size_t)(yd - y) : yn;
    if (xi != yi)
        return xi < yi ? -1 : 1;
    c = memcmp(x, y, xi);
    if (c)
        return c;
    /* the fractions, after the '.' */
    xf = xd ? xn - xi - 1 : 0;
    yf = yd ? yn - yi - 1 : 0;
    for (i = 0; i < xf || i < yf; i++) {
        char cx = i < xf ? xd[1 + i] : '0';
        char cy = i < yf ? yd[1 + i] : '0';
        if (cx != cy)
            return cx < cy ? -1 : 1;
    }
    return 0;
}

/* A group's lines in ascending order of value, relinked; returns the new
 * head. Order does not change what a receiver computes from a timer's
 * values, but Etsy statsd sorts each timer's values at every flush, and
 * its sort is close to linear on runs that come sorted. Merge sort:
 * stable, n log n, on the scratch arrays made at creation. */
static int32_t sort_group(statsd_pack *p, int32_t first)
{
    int32_t *a = p->order, *b = p->tmp, *t;
    size_t n = 0, w, lo, i;
    int32_t k;

    for (k = first; k >= 0; k = p->lines[k].next)
        a[n++] = k;
    for (w = 1; w < n; w *= 2) {
        for (lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n;
            size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t x = lo, y = mid, o = lo;

            while (x < mid && y < hi)
                b[o++] = value_cmp(&p->lines[a[y]], &p->lines[a[x]]) < 0
                         ? a[y++] : a[x++];
            while (x < mid)
                b[o++] = a[x++];
            while (y < hi)
                b[o++] = a[y++];
        }
        t = a, a = b, b = t;
    }
    for (i = 0; i + 1 < n; i++)
        p->lines[a[i]].next = a[i + 1];
    p->lines[a[n - 1]].next = -1;
    return a[0];
}

static size_t put(char *out, size_t o, const char *s, size_t n)
{
    memcpy(out + o, s, n);
    return o + n;
}

/* One group's packed lines, its values in ascending order; first is its
 * first line. Returns the new end. */
static size_t emit_group(statsd_pack *p, statsd_pack_style style,
                         int32_t first, size_t max_line, char *out,
                         size_t o, unsigned *n)
{
    const pline *f = &p->lines[first];
    const char *rest = f->line + f->rest_off;
    size_t rest_len = f->len - f->rest_off;
    size_t start = 0;     /* where the current line began */
    int open = 0;
    int32_t i;

    for (i = sort_group(p, first); i >= 0; i = p->lines[i].next) {
        const pline *l = &p->lines[i];
        const char *v = l->line + l->name_len + 1;
        /* what this value adds: ":V" and, for etsy, its TYPE/REST */
        size_t add = 1 + l->value_len
                     + (style == STATSD_PACK_ETSY ? rest_len : 0);
        size_t tail = style == STATSD_PACK_DOGSTATSD ? rest_len : 0;

        if (open && (o - start) + add + tail > max_line) {
            if (tail)
                o = put(out, o, rest, rest_len);
            open = 0;
        }
        if (!open) {
            if (o)
                out[o++] = '\n';
            start = o;
            o = put(out, o, f->line, f->name_len);
            open = 1;
            (*n)++;
        }
        out[o++] = ':';
        o = put(out, o, v, l->value_len);
        if (style == STATSD_PACK_ETSY)
            o = put(out, o, rest, rest_len);
    }
    if (open && style == STATSD_PACK_DOGSTATSD)
        o = put(out, o, rest, rest_len);
    return o;
}

size_t statsd_pack_lines(statsd_pack *p, statsd_pack_style style,
                         const char *lines, size_t len, size_t max_line,
                         char *out, unsigned *n_out)
{
    size_t pos = 0, o = 0, count = 0, i;
    unsigned n = 0;

    /* index the lines; timers join the group of their key */
    while (pos < len && count < p->max) {
        const char *ln = lines + pos;
        const char *nl = memchr(ln, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - ln) : len - pos;
        pline *l = &p->lines[count];

        pos += llen + 1;
        if (llen == 0)
            continue;
        l->line = ln;
        l->len = (uint32_t)llen;
        l->next = -1;
        l->key = -1;
        if (style != STATSD_PACK_OFF && llen <= max_line
            && parse_timer(l, style)) {
            size_t s;
            l->hash = hash_key(l);
            for (s = l->hash & p->mask; p->slots[s]; s = (s + 1) & p->mask)
                if (same_key(&p->lines[p->slots[s] - 1], l))
                    break;
            if (p->slots[s]) {
                int32_t first = p->slots[s] - 1;
                p->lines[p->last[first]].next = (int32_t)count;
                p->last[first] = (int32_t)count;
                l->key = first;
            } else {
                p->slots[s] = (int32_t)count + 1;
                p->last[count] = (int32_t)count;
                l->key = (int32_t)count;
            }
        }
        count++;
    }
    /* other lines first, in order; then each group where it began */
    for (i = 0; i < count; i++) {
        const pline *l = &p->lines[i];
        if (l->key >= 0)
            continue;
        if (o)
            out[o++] = '\n';
        o = put(out, o, l->line, l->len);
        n++;
    }
    for (i = 0; i < count; i++)
        if (p->lines[i].key == (int32_t)i)
            o = emit_group(p, style, (int32_t)i, max_line, out, o, &n);
    /* what did not fit the index, as it is */
    if (pos < len) {
        if (o)
            out[o++] = '\n';
        o = put(out, o, lines + pos, len - pos);
        for (i = pos; i < len; i++)
            n += lines[i] == '\n';
        n++;
    }
    /* clear the slots used */
    for (i = 0; i < count; i++)
        if (p->lines[i].key == (int32_t)i) {
            size_t s = p->lines[i].hash & p->mask;
            while (p->slots[s] != (int32_t)i + 1)
                s = (s + 1) & p->mask;
            p->slots[s] = 0;
        }
    *n_out = n;
    return o;
}
