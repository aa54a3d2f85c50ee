/*
 * statsd_nameset.c - the set of names one process has sent (see
 * statsd_nameset.h): an open-addressing table of 64-bit hashes, filled
 * with compare-and-swap so request threads never take a lock.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_nameset.h"

struct statsd_nameset {
    size_t max;
    size_t mask;        /* slots - 1, slots a power of two >= 2 * max */
    size_t count;
    uint64_t *slots;    /* 0: empty */
};

int statsd_nameset_create(statsd_nameset **out, size_t max_names)
{
    statsd_nameset *s;
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

void statsd_nameset_destroy(statsd_nameset *s)
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

int statsd_nameset_admit(statsd_nameset *s, const char *name, size_t len)
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

size_t statsd_nameset_count(const statsd_nameset *s)
{
    return __atomic_load_n(&s->count, __ATOMIC_RELAXED);
}
