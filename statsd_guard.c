/*
 * statsd_guard.c - the cardinality guard (SPEC §3).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_guard.h"

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 8-4-4-4-12 hex digits */
static int is_uuid(const char *s, size_t len)
{
    size_t i;

    if (len != 36)
        return 0;
    for (i = 0; i < len; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

int statsd_guard_is_id(const char *seg, size_t len)
{
    size_t i, digits = 0, lower = 0, upper = 0, hex = 0, seps = 0;

    if (len == 0)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)seg[i];
        digits += is_digit(c);
        lower += is_lower(c);
        upper += is_upper(c);
        hex += is_hex(c);
        seps += c == '-' || c == '_';
    }
    if (digits == len)
        return 1;
    if (is_uuid(seg, len))
        return 1;
    /* hex: a digit is required so that words such as "deadbeef" stay */
    if (len >= 8 && hex == len && digits > 0)
        return 1;
    /* tokens: long, letters and digits, and either mixed case or in one
     * piece, so that slugs like "release-notes-2024" keep their name */
    if (len >= 16 && digits > 0 && lower + upper > 0
        && ((lower > 0 && upper > 0) || seps == 0))
        return 1;
    return 0;
}

size_t statsd_guard_collapse(char *dst, size_t cap, const char *src,
                             size_t len)
{
    static const char id[] = STATSD_ID_NAME;
    size_t start = 0, n = 0, i;

    for (i = 0; i <= len; i++) {
        const char *seg = src + start;
        size_t seg_len = i - start, add;
        if (i < len && src[i] != '.')
            continue;
        start = i + 1;
        if (statsd_guard_is_id(seg, seg_len)) {
            seg = id;
            seg_len = sizeof(id) - 1;
        }
        add = seg_len + (n ? 1 : 0);
        if (n + add > cap) {
            /* whole segments only, but never nothing: a first segment
             * longer than cap is cut, as statsd_name_clean does */
            if (n == 0) {
                memcpy(dst, seg, cap);
                n = cap;
            }
            break;
        }
        if (n)
            dst[n++] = '.';
        memcpy(dst + n, seg, seg_len);
        n += seg_len;
    }
    return n;
}

struct statsd_name_set {
    size_t max;
    size_t mask;        /* slots - 1, slots a power of two >= 2 * max */
    size_t count;
    uint64_t *slots;    /* 0: empty */
};

int statsd_name_set_create(statsd_name_set **out, size_t max_names)
{
    statsd_name_set *s;
    size_t slots = 16;

    if (!out || max_names == 0 || max_names > STATSD_MAX_NAMES_LIMIT)
        return -EINVAL;
    while (slots < 2 * max_names)
        slots <<= 1;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->slots = calloc(slots, sizeof(*s->slots));
    if (!s->slots) {
        free(s);
        return -ENOMEM;
    }
    s->max = max_names;
    s->mask = slots - 1;
    *out = s;
    return 0;
}

void statsd_name_set_destroy(statsd_name_set *s)
{
    if (!s)
        return;
    free(s->slots);
    free(s);
}

/* A 64-bit hash eight bytes at a time (multiply and xor-shift mixing):
 * names are short, and this runs on every request. */
static uint64_t hash(const char *p, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;

    while (len >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        p += 8;
        len -= 8;
    }
    if (len) {
        w = 0;
        while (len--)
            w = w << 8 | (unsigned char)p[len];
        h = (h ^ w) * 0x94d049bb133111ebULL;
        h ^= h >> 29;
    }
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h ? h : 1;
}

int statsd_name_set_admit(statsd_name_set *s, const char *name, size_t len)
{
    uint64_t h = hash(name, len);
    size_t i = (size_t)h & s->mask, probes;

    /* the table is at most half full, so an empty slot is always near */
    for (probes = 0; probes <= s->mask; probes++, i = (i + 1) & s->mask) {
        uint64_t cur = __atomic_load_n(&s->slots[i], __ATOMIC_ACQUIRE);
        if (cur == h)
            return 1;
        if (cur != 0)
            continue;
        if (__atomic_load_n(&s->count, __ATOMIC_RELAXED) >= s->max)
            return 0;
        if (__atomic_compare_exchange_n(&s->slots[i], &cur, h, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            __atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
            return 1;
        }
        if (cur == h)   /* another thread added the same name */
            return 1;
    }
    return 0;
}

size_t statsd_name_set_count(const statsd_name_set *s)
{
    return __atomic_load_n(&s->count, __ATOMIC_RELAXED);
}
