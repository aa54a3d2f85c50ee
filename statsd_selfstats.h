/*
 * statsd_selfstats.h - what the module itself did, totalled over a whole
 * server: requests measured, lines/datagrams/bytes sent, datagrams
 * dropped by reason, names sent as "_other".
 *
 * Two levels, so the request path never writes a cache line another CPU
 * writes: each request thread counts in a slot of its own
 * (statsd_selfstats_threads, process memory); now and then (the child's
 * watchdog tick, and at exit) the process adds what changed since its
 * last look to one shared statsd_selfstats (atomic adds, off the request
 * path), which any process reads.
 *
 * Also the text mod_status prints for it. No httpd types.
 */
#ifndef STATSD_SELFSTATS_H
#define STATSD_SELFSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "statsd_client.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t requests;                    /* requests measured */
    uint64_t lines;                       /* lines sent */
    uint64_t datagrams;                   /* datagrams sent */
    uint64_t bytes;                       /* payload bytes sent */
    uint64_t dropped;                     /* datagrams dropped, any reason */
    uint64_t drops[STATSD_DROP_REASONS];  /* datagrams dropped, by reason */
    uint64_t names_other;                 /* requests named "_other" */
} statsd_selfstats;

/* into += delta, each counter atomically (many processes add at once). */
void statsd_selfstats_add(statsd_selfstats *into,
                          const statsd_selfstats *delta);
/* *out = *from, each counter read atomically. */
void statsd_selfstats_read(const statsd_selfstats *from,
                           statsd_selfstats *out);
/* out = cur - prev, counter by counter. */
void statsd_selfstats_diff(const statsd_selfstats *cur,
                           const statsd_selfstats *prev,
                           statsd_selfstats *out);
/* out += a client's counters (lines, datagrams, bytes, drops). */
void statsd_selfstats_add_client(statsd_selfstats *out,
                                 const statsd_stats *st);

/* One request thread's counters, alone on its cache line. */
typedef struct {
    uint64_t requests;
    uint64_t names_other;
    uint64_t pad[6];
} statsd_selfstats_thread;

/* A process's thread slots: a thread claims one on its first request; a
 * thread beyond the last slot shares the spill slot (atomic adds). */
typedef struct {
    unsigned n;                     /* slots */
    unsigned used;                  /* claimed so far (atomic) */
    uint64_t pad[7];                /* the spill slot on its own line */
    statsd_selfstats_thread spill;
    statsd_selfstats_thread slot[];
} statsd_selfstats_threads;

/* Bytes for n thread slots; then statsd_selfstats_threads_init there
 * (zeroed, aligned to 64 for the slots to keep to their lines). */
size_t statsd_selfstats_threads_size(unsigned n);
statsd_selfstats_threads *statsd_selfstats_threads_init(void *mem,
                                                        unsigned n);

/* A slot for the calling thread (call once per thread); NULL when every
 * slot is taken (then count with statsd_selfstats_count_spill). */
statsd_selfstats_thread *
statsd_selfstats_threads_claim(statsd_selfstats_threads *t);

/* One request in a thread's own slot: no atomic read-modify-write, only
 * this thread writes the slot. */
static inline void statsd_selfstats_count(statsd_selfstats_thread *slot,
                                          int other)
{
    __atomic_store_n(&slot->requests,
                     __atomic_load_n(&slot->requests, __ATOMIC_RELAXED) + 1,
                     __ATOMIC_RELAXED);
    if (other)
        __atomic_store_n(&slot->names_other,
                         __atomic_load_n(&slot->names_other,
                                         __ATOMIC_RELAXED) + 1,
                         __ATOMIC_RELAXED);
}

/* The same in the spill slot (shared: atomic adds). */
void statsd_selfstats_count_spill(statsd_selfstats_threads *t, int other);

/* out->requests and out->names_other += the sums over every slot. */
void statsd_selfstats_threads_sum(const statsd_selfstats_threads *t,
                                  statsd_selfstats *out);

/* The lines mod_status prints with ?auto: "StatsdRequests: N\n" and the
 * rest (see the README), distinct names given apart (they live in the
 * name set). Writes at most cap bytes, NUL-terminated; returns the length
 * the whole text needs (like snprintf). */
size_t statsd_selfstats_format(const statsd_selfstats *s,
                               uint64_t names_distinct, char *buf,
                               size_t cap);

/* The self-metrics as statsd counters under prefix (plen 0: none), one
 * per line, '\n' between them: P.mod_statsd.lines_sent,
 * .datagrams_sent, .dropped, .names_other always, .dropped.<reason> for
 * each reason with drops (the reason as statsd_client_drop_reason_name
 * gives it). d holds the counts to send (deltas). Writes at most cap
 * bytes, no NUL; returns the length written, 0 if they do not fit. */
#define STATSD_SELFSTATS_LINES_CAP 1024
size_t statsd_selfstats_format_lines(char *buf, size_t cap,
                                     const char *prefix, size_t plen,
                                     const statsd_selfstats *d);

/* Name of a drop reason for status lines, e.g. "WouldBlock". */
const char *statsd_selfstats_reason_label(statsd_drop_reason why);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_SELFSTATS_H */
