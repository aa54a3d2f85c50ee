/*
 * statsd_selfstats.c - the module's own counters, per thread and for the
 * whole server (see statsd_selfstats.h).
 */
#include <stdio.h>
#include <string.h>

#include "statsd_selfstats.h"

#define N_COUNTERS (sizeof(statsd_selfstats) / sizeof(uint64_t))

void statsd_selfstats_add(statsd_selfstats *into,
                          const statsd_selfstats *delta)
{
    uint64_t *to = (uint64_t *)into;
    const uint64_t *d = (const uint64_t *)delta;
    size_t i;

    for (i = 0; i < N_COUNTERS; i++)
        if (d[i])
            __atomic_add_fetch(&to[i], d[i], __ATOMIC_RELAXED);
}

void statsd_selfstats_read(const statsd_selfstats *from,
                           statsd_selfstats *out)
{
    const uint64_t *f = (const uint64_t *)from;
    uint64_t *o = (uint64_t *)out;
    size_t i;

    for (i = 0; i < N_COUNTERS; i++)
        o[i] = __atomic_load_n(&f[i], __ATOMIC_RELAXED);
}

void statsd_selfstats_diff(const statsd_selfstats *cur,
                           const statsd_selfstats *prev,
                           statsd_selfstats *out)
{
    const uint64_t *c = (const uint64_t *)cur, *p = (const uint64_t *)prev;
    uint64_t *o = (uint64_t *)out;
    size_t i;

    for (i = 0; i < N_COUNTERS; i++)
        o[i] = c[i] - p[i];
}

void statsd_selfstats_add_client(statsd_selfstats *out,
                                 const statsd_stats *st)
{
    int i;

    out->lines += st->lines;
    out->datagrams += st->datagrams;
    out->bytes += st->bytes;
    for (i = 0; i < STATSD_DROP_REASONS; i++) {
        out->drops[i] += st->drops[i];
        out->dropped += st->drops[i];
    }
}

/* ---- per-thread slots --------------------------------------------------- */

size_t statsd_selfstats_threads_size(unsigned n)
{
    return sizeof(statsd_selfstats_threads)
           + (size_t)n * sizeof(statsd_selfstats_thread);
}

statsd_selfstats_threads *statsd_selfstats_threads_init(void *mem,
                                                        unsigned n)
{
    statsd_selfstats_threads *t = mem;

    if (!mem)
        return NULL;
    memset(mem, 0, statsd_selfstats_threads_size(n));
    t->n = n;
    return t;
}

statsd_selfstats_thread *
statsd_selfstats_threads_claim(statsd_selfstats_threads *t)
{
    unsigned i = __atomic_fetch_add(&t->used, 1, __ATOMIC_RELAXED);

    if (i >= t->n) {
        __atomic_store_n(&t->used, t->n, __ATOMIC_RELAXED);
        return NULL;
    }
    return &t->slot[i];
}

void statsd_selfstats_count_spill(statsd_selfstats_threads *t, int other)
{
    __atomic_add_fetch(&t->spill.requests, 1, __ATOMIC_RELAXED);
    if (other)
        __atomic_add_fetch(&t->spill.names_other, 1, __ATOMIC_RELAXED);
}

void statsd_selfstats_threads_sum(const statsd_selfstats_threads *t,
                                  statsd_selfstats *out)
{
    unsigned i, n = __atomic_load_n(&t->used, __ATOMIC_RELAXED);

    if (n > t->n)
        n = t->n;
    out->requests += __atomic_load_n(&t->spill.requests, __ATOMIC_RELAXED);
    out->names_other += __atomic_load_n(&t->spill.names_other,
                                        __ATOMIC_RELAXED);
    for (i = 0; i < n; i++) {
        out->requests += __atomic_load_n(&t->slot[i].requests,
                                         __ATOMIC_RELAXED);
        out->names_other += __atomic_load_n(&t->slot[i].names_other,
                                            __ATOMIC_RELAXED);
    }
}

/* ---- status text -------------------------------------------------------- */

const char *statsd_selfstats_reason_label(statsd_drop_reason why)
{
    static const char *const labels[STATSD_DROP_REASONS] = {
        "WouldBlock", "Refused", "NoBufs", "NoSocket", "Unresolved",
        "TooLarge", "Other", "BadFd"
    };

    if ((unsigned)why >= STATSD_DROP_REASONS)
        return "Unknown";
    return labels[why];
}

/* Appends like snprintf at *len, never past cap. */
static void put(char *buf, size_t cap, size_t *len, const char *label,
                uint64_t v)
{
    char line[96];
    int n = snprintf(line, sizeof(line), "%s: %llu\n", label,
                     (unsigned long long)v);

    if (n < 0)
        return;
    if (*len < cap)
        memcpy(buf + *len, line,
               (size_t)n < cap - *len ? (size_t)n : cap - *len);
    *len += (size_t)n;
}

size_t statsd_selfstats_format(const statsd_selfstats *s,
                               uint64_t names_distinct, char *buf,
                               size_t cap)
{
    char label[64];
    size_t len = 0;
    int i;

    put(buf, cap, &len, "StatsdRequests", s->requests);
    put(buf, cap, &len, "StatsdLinesSent", s->lines);
    put(buf, cap, &len, "StatsdDatagramsSent", s->datagrams);
    put(buf, cap, &len, "StatsdBytesSent", s->bytes);
    put(buf, cap, &len, "StatsdDatagramsDropped", s->dropped);
    put(buf, cap, &len, "StatsdNamesDistinct", names_distinct);
    put(buf, cap, &len, "StatsdNamesOther", s->names_other);
    for (i = 0; i < STATSD_DROP_REASONS; i++) {
        snprintf(label, sizeof(label), "StatsdDropped%s",
                 statsd_selfstats_reason_label((statsd_drop_reason)i));
        put(buf, cap, &len, label, s->drops[i]);
    }
    if (cap)
        buf[len < cap ? len : cap - 1] = '\0';
    return len;
}

/* ---- self-metrics as counter lines -------------------------------------- */

static int counter_line(char *buf, size_t cap, size_t *len, const char *prefix,
                        size_t plen, const char *what, uint64_t v)
{
    int n = snprintf(buf + *len, cap - *len, "%s%.*s%smod_statsd.%s:%llu|c",
                     *len ? "\n" : "", (int)plen, prefix, plen ? "." : "",
                     what, (unsigned long long)v);

    if (n < 0 || (size_t)n >= cap - *len)
        return -1;
    *len += (size_t)n;
    return 0;
}

size_t statsd_selfstats_format_lines(char *buf, size_t cap,
                                     const char *prefix, size_t plen,
                                     const statsd_selfstats *d)
{
    char what[48];
    size_t len = 0;
    int i;

    if (!buf || cap == 0 || plen > 255)
        return 0;
    if (counter_line(buf, cap, &len, prefix, plen, "lines_sent", d->lines)
        || counter_line(buf, cap, &len, prefix, plen, "datagrams_sent",
                        d->datagrams)
        || counter_line(buf, cap, &len, prefix, plen, "dropped", d->dropped)
        || counter_line(buf, cap, &len, prefix, plen, "names_other",
                        d->names_other))
        return 0;
    for (i = 0; i < STATSD_DROP_REASONS; i++) {
        if (!d->drops[i])
            continue;
        snprintf(what, sizeof(what), "dropped.%s",
                 statsd_client_drop_reason_name((statsd_drop_reason)i));
        if (counter_line(buf, cap, &len, prefix, plen, what, d->drops[i]))
            return 0;
    }
    return len;
}
