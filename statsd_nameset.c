/*
 * statsd_nameset.c - the set of names a server has sent (see
 * statsd_nameset.h): an open-addressing table of 64-bit hashes, filled
 * with compare-and-swap so request threads never take a lock. It holds
 * no pointers, so it works at any address in any process.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_nameset.h"

/* The header, then groups counts, then the slots (0: empty). */
struct statsd_nameset {
    uint64_t max;
    uint64_t mask;        /* slots - 1, slots a power of two >= 2 * max */
    uint64_t groups;
    uint64_t group_cap;
    uint64_t count;       /* on a cache line of its own: written on adds */
    uint64_t pad[7];
    uint64_t counts[];    /* per group, then the slots */
};

static size_t slot_count(size_t max_names)
{
    size_t slots = 16;

    while (slots < 2 * max_names)
        slots <<= 1;
    return slots;
}

static uint64_t *slots_of(const statsd_nameset *s)
{
    return (uint64_t *)&s->counts[s->groups];
}

size_t statsd_nameset_size(size_t max_names, unsigned groups)
{
    if (max_names == 0 || max_names > STATSD_MAX_NAMES_LIMIT || groups == 0
        || groups > STATSD_NAMESET_MAX_GROUPS)
        return 0;
    return sizeof(statsd_nameset)
           + (groups + slot_count(max_names)) * sizeof(uint64_t);
}

statsd_nameset *statsd_nameset_init(void *mem, size_t size, size_t max_names,
                                    unsigned groups)
{
    size_t need = statsd_nameset_size(max_names, groups);
    statsd_nameset *s = mem;

    if (!mem || need == 0 || size < need || ((uintptr_t)mem & 7) != 0)
        return NULL;
    memset(mem, 0, need);
    s->max = max_names;
    s->mask = slot_count(max_names) - 1;
    s->groups = groups;
    s->group_cap = (max_names + groups - 1) / groups;
    return s;
}

int statsd_nameset_create(statsd_nameset **out, size_t max_names)
{
    size_t size = statsd_nameset_size(max_names, 1);
    void *mem;

    if (!out || size == 0)
        return -EINVAL;
    mem = malloc(size);
    if (!mem)
        return -ENOMEM;
    *out = statsd_nameset_init(mem, size, max_names, 1);
    return 0;
}

void statsd_nameset_destroy(statsd_nameset *s)
{
    free(s);
}

size_t statsd_nameset_group_cap(const statsd_nameset *s)
{
    return (size_t)s->group_cap;
}

/* A 64-bit hash eight bytes at a time (multiply and xor-shift mixing):
 * names are short, and this runs on every request. The group is mixed
 * in first, so the same name in two groups is two entries. The last 1-7
 * bytes are read as one word by loads that may overlap bytes already
 * mixed in (the length is mixed in first, so this loses nothing),
 * instead of a loop over them. */
static uint64_t hash(unsigned group, const char *p, size_t len)
{
    uint64_t h = (0x9e3779b97f4a7c15ULL ^ len) + group * 0xd6e8feb86659fd93ULL;
    const char *end = p + len;
    uint64_t w;

    /* spread the length and group over the word before any bytes are
     * mixed in: else names whose bytes differ as their lengths do (in
     * the low bits) would meet */
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;

    for (; end - p >= 8; p += 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    if (p < end) {
        size_t n = (size_t)(end - p);

        if (len >= 8) {
            memcpy(&w, end - 8, 8);
        } else if (n >= 4) {
            uint32_t lo, hi;
            memcpy(&lo, p, 4);
            memcpy(&hi, end - 4, 4);
            w = (uint64_t)hi << 32 | lo;
        } else {
            w = (uint64_t)(unsigned char)p[0] << 16
                | (uint64_t)(unsigned char)p[n / 2] << 8
                | (unsigned char)p[n - 1];
        }
        h = (h ^ w) * 0x94d049bb133111ebULL;
        h ^= h >> 29;
    }
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h ? h : 1;
}

int statsd_nameset_admit_group(statsd_nameset *s, unsigned group,
                               const char *name, size_t len)
{
    uint64_t h = hash(group, name, len), *slots = slots_of(s);
    size_t i = (size_t)h & s->mask, probes;

    if (group >= s->groups)
        return 0;
    /* the table is at most half full, so an empty slot is always near */
    for (probes = 0; probes <= s->mask; probes++, i = (i + 1) & s->mask) {
        uint64_t cur = __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE);
        if (cur == h)
            return 1;
        if (cur != 0)
            continue;
        if (__atomic_load_n(&s->count, __ATOMIC_RELAXED) >= s->max
            || __atomic_load_n(&s->counts[group], __ATOMIC_RELAXED)
                   >= s->group_cap)
            return 0;
        if (__atomic_compare_exchange_n(&slots[i], &cur, h, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            __atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&s->counts[group], 1, __ATOMIC_RELAXED);
            return 1;
        }
        if (cur == h)   /* another thread added the same name */
            return 1;
    }
    return 0;
}

int statsd_nameset_admit(statsd_nameset *s, const char *name, size_t len)
{
    return statsd_nameset_admit_group(s, 0, name, len);
}

size_t statsd_nameset_count(const statsd_nameset *s)
{
    return (size_t)__atomic_load_n(&s->count, __ATOMIC_RELAXED);
}

size_t statsd_nameset_group_count(const statsd_nameset *s, unsigned group)
{
    if (group >= s->groups)
        return 0;
    return (size_t)__atomic_load_n(&s->counts[group], __ATOMIC_RELAXED);
}
