/*
 * statsd_sum.c - counters summed per key over a flush interval.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_lines.h"
#include "statsd_sum.h"

/* "|c" plus the widest total: what a key's line adds to its key bytes */
#define LINE_EXTRA (1 + 20 + 1)

typedef struct {
    uint64_t total;
    uint32_t hash;
    uint32_t off;        /* the key in the arena: name, then REST */
    uint32_t name_len;   /* before ':' */
    uint32_t rest_len;   /* from "|c" to the end of the line */
} entry;

struct statsd_sum {
    entry *entries;      /* in the order keys were first seen */
    size_t n, max;
    uint32_t *slots;     /* open addressing: index + 1, 0 = free */
    size_t mask;
    char *arena;
    size_t used, cap;
};

int statsd_sum_create(statsd_sum **out, size_t max_keys, size_t key_bytes)
{
    statsd_sum *s;
    size_t slots = 1;

    if (!out || max_keys == 0 || max_keys > (1u << 24) || key_bytes == 0
        || key_bytes > (1u << 30))
        return -EINVAL;
    while (slots < 2 * max_keys)     /* at most half full: short probes */
        slots <<= 1;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->entries = malloc(max_keys * sizeof(entry));
    s->slots = calloc(slots, sizeof(uint32_t));
    s->arena = malloc(key_bytes);
    if (!s->entries || !s->slots || !s->arena) {
        statsd_sum_destroy(s);
        return -ENOMEM;
    }
    s->max = max_keys;
    s->mask = slots - 1;
    s->cap = key_bytes;
    *out = s;
    return 0;
}

void statsd_sum_destroy(statsd_sum *s)
{
    if (!s)
        return;
    free(s->entries);
    free(s->slots);
    free(s->arena);
    free(s);
}

size_t statsd_sum_keys(const statsd_sum *s)
{
    return s->n;
}

/* A hash of some bytes, eight at a time (the keys are names of tens of
 * bytes: a byte-at-a-time hash would cost most of a fold) */
static uint64_t hash_bytes(uint64_t h, const char *s, size_t n)
{
    uint64_t w;

    while (n >= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    if (n) {
        w = 0;
        memcpy(&w, s, n);
        h = (h ^ w ^ ((uint64_t)n << 56)) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    return h;
}

static uint32_t hash_key(const char *name, size_t nlen, const char *rest,
                         size_t rlen)
{
    uint64_t h = hash_bytes(0x243f6a8885a308d3ULL ^ nlen, name, nlen);

    h = hash_bytes(h, rest, rlen);
    return (uint32_t)(h ^ (h >> 32));
}

/* A counter line split into its key and value; 0 if it is not one we sum:
 * NAME:DIGITS|c then nothing or '|' and more. */
static int parse_counter(const char *ln, size_t len, size_t *name_len,
                         uint64_t *value, size_t *rest_off)
{
    const char *colon;
    size_t i, digits;
    uint64_t v = 0;

    if (len < 5)
        return 0;
    /* the usual lines, told apart by their end: a timer ends in its type,
     * a counter without rate or tags in "|c" (its value just before) */
    if (ln[len - 1] == 's' && ln[len - 2] == 'm' && ln[len - 3] == '|')
        return 0;
    if (ln[len - 1] == 'c' && ln[len - 2] == '|') {
        for (i = len - 2, digits = 0; i > 0 && ln[i - 1] >= '0'
             && ln[i - 1] <= '9'; i--)
            digits++;
        if (digits == 0 || digits > 19 || i < 2 || ln[i - 1] != ':')
            return 0;
        colon = ln + i - 1;
        if (memchr(ln, ':', (size_t)(colon - ln)))
            return 0;             /* "a:b:1|c": not a plain counter */
        for (; i < len - 2; i++)
            v = v * 10 + (uint64_t)(ln[i] - '0');
        *name_len = (size_t)(colon - ln);
        *value = v;
        *rest_off = len - 2;
        return 1;
    }
    colon = memchr(ln, ':', len);

    if (!colon || colon == ln)
        return 0;
    i = (size_t)(colon - ln) + 1;
    for (digits = 0; i < len && ln[i] >= '0' && ln[i] <= '9'; i++, digits++) {
        if (digits == 19)            /* keeps v below 2^64 */
            return 0;
        v = v * 10 + (uint64_t)(ln[i] - '0');
    }
    if (digits == 0 || i + 2 > len || ln[i] != '|' || ln[i + 1] != 'c')
        return 0;
    if (i + 2 < len && ln[i + 2] != '|')
        return 0;
    *name_len = (size_t)(colon - ln);
    *value = v;
    *rest_off = i;
    return 1;
}

/* Add v to the key's total; 0 if the line must be passed through. */
static int add(statsd_sum *s, const char *name, size_t nlen,
               const char *rest, size_t rlen, uint64_t v)
{
    uint32_t h = hash_key(name, nlen, rest, rlen);
    size_t i = h & s->mask;
    entry *e;

    for (;; i = (i + 1) & s->mask) {
        uint32_t slot = s->slots[i];
        if (slot == 0)
            break;
        e = &s->entries[slot - 1];
        if (e->hash == h && e->name_len == nlen && e->rest_len == rlen
            && !memcmp(s->arena + e->off, name, nlen)
            && !memcmp(s->arena + e->off + nlen, rest, rlen)) {
            if (e->total > UINT64_MAX - v)
                return 0;
            e->total += v;
            return 1;
        }
    }
    if (s->n == s->max || s->cap - s->used < nlen + rlen)
        return 0;
    e = &s->entries[s->n];
    e->total = v;
    e->hash = h;
    e->off = (uint32_t)s->used;
    e->name_len = (uint32_t)nlen;
    e->rest_len = (uint32_t)rlen;
    memcpy(s->arena + s->used, name, nlen);
    memcpy(s->arena + s->used + nlen, rest, rlen);
    s->used += nlen + rlen;
    s->slots[i] = (uint32_t)++s->n;
    return 1;
}

size_t statsd_sum_fold(statsd_sum *s, const char *lines, size_t len,
                       char *out, unsigned *n_out)
{
    size_t pos = 0, o = 0;
    unsigned n = 0;

    while (pos < len) {
        const char *ln = lines + pos;
        const char *nl = memchr(ln, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - ln) : len - pos;
        size_t name_len, rest_off;
        uint64_t v;

        pos += llen + 1;
        if (llen == 0)
            continue;
        if (parse_counter(ln, llen, &name_len, &v, &rest_off)
            && add(s, ln, name_len, ln + rest_off, llen - rest_off, v))
            continue;
        if (o)
            out[o++] = '\n';
        memcpy(out + o, ln, llen);
        o += llen;
        n++;
    }
    *n_out = n;
    return o;
}

size_t statsd_sum_drain_size(const statsd_sum *s)
{
    return s->cap + s->max * LINE_EXTRA;
}

size_t statsd_sum_drain(statsd_sum *s, char *out, unsigned *n_out)
{
    size_t i, o = 0;

    for (i = 0; i < s->n; i++) {
        const entry *e = &s->entries[i];

        if (o)
            out[o++] = '\n';
        memcpy(out + o, s->arena + e->off, e->name_len);
        o += e->name_len;
        out[o++] = ':';
        o += statsd_lines_format_uint(out + o, e->total);
        memcpy(out + o, s->arena + e->off + e->name_len, e->rest_len);
        o += e->rest_len;
    }
    *n_out = (unsigned)s->n;
    memset(s->slots, 0, (s->mask + 1) * sizeof(uint32_t));
    s->n = 0;
    s->used = 0;
    return o;
}
