/*
 * statsd_sum.h - counters summed per key over a flush interval.
 *
 * Lines go in as they were queued; every counter line "K:V|c[REST]" with
 * a plain unsigned integer V is added to the total of its key, which is
 * the whole line but its value: the name with any tags before ':', and
 * REST (the sample rate "|@r", tags "|#k:v"). Counters with the same key
 * and rate become one line "K:TOTAL|c[REST]"; totals are exact. Anything
 * else (timers, gauges, counters with other values) is passed through in
 * order, untouched.
 *
 * Not thread-safe: its owner serialises the calls. No allocation after
 * statsd_sum_create.
 */
#ifndef STATSD_SUM_H
#define STATSD_SUM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct statsd_sum statsd_sum;

/* A table for at most max_keys keys of key_bytes bytes in all. Returns 0
 * or -EINVAL / -ENOMEM. */
int statsd_sum_create(statsd_sum **out, size_t max_keys, size_t key_bytes);
void statsd_sum_destroy(statsd_sum *s);

/* Fold the '\n'-joined lines in: counters are added to their key's total,
 * every other line is copied to out ('\n'-joined, in order; out needs len
 * bytes). A counter that finds the table full, or whose total would
 * overflow, is copied too: totals stay exact. Returns the bytes written
 * to out; *n_out gets the number of lines there. */
size_t statsd_sum_fold(statsd_sum *s, const char *lines, size_t len,
                       char *out, unsigned *n_out);

/* The most bytes statsd_sum_drain can write. */
size_t statsd_sum_drain_size(const statsd_sum *s);

/* Write one line per key, "K:TOTAL|c[REST]", '\n'-joined, in the order
 * the keys were first seen, and empty the table. Returns the bytes
 * written; *n_out gets the number of lines. */
size_t statsd_sum_drain(statsd_sum *s, char *out, unsigned *n_out);

/* Keys held now. */
size_t statsd_sum_keys(const statsd_sum *s);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_SUM_H */
