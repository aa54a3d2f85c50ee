/*
 * statsd_interval.h - one flush interval of lines, counters summed.
 *
 * Sits in front of one statsd_client instead of a statsd_batch. Requests
 * append their lines to a buffer that holds an interval (a copy under a
 * spin lock, as the batch does); the work is done by whoever flushes: the
 * timer at the end of each interval, or the request that finds the buffer
 * full. The flusher swaps the buffer for an empty one, sums its counters
 * into a table (statsd_sum), sends the other lines in full datagrams and,
 * at the end of the interval, one line per counter key.
 *
 * Thread-safe. The request path never waits for the flushing work unless
 * the buffer is full. Functions returning int/long return >= 0 or a
 * negative errno.
 */
#ifndef STATSD_INTERVAL_H
#define STATSD_INTERVAL_H

#include <stddef.h>
#include "statsd_client.h"
#include "statsd_pack.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STATSD_INTERVAL_MIN_BYTES 4096
#define STATSD_INTERVAL_MAX_BYTES (16u << 20)
#define STATSD_INTERVAL_KEYS 4096       /* counter keys summed at a time */

typedef struct statsd_interval statsd_interval;

/* An interval of bytes bytes (STATSD_INTERVAL_MIN_BYTES..MAX_BYTES) for
 * client c (which must outlive it). */
int statsd_interval_create(statsd_interval **out, statsd_client *c,
                           size_t bytes);
void statsd_interval_destroy(statsd_interval *iv);

/* Pack timer values per key (statsd_pack) in every flush from now on;
 * call before lines are added. Returns 0 or a negative errno. */
int statsd_interval_set_packing(statsd_interval *iv, statsd_pack_style s);

/* Queue a block of '\n'-joined lines. When it does not fit, the buffer is
 * flushed first (its counters stay summed until the interval ends).
 * Returns the bytes queued (or sent, for a block larger than the buffer),
 * or a negative errno if the block was dropped. */
long statsd_interval_add(statsd_interval *iv, const char *lines, size_t len);

/* End of an interval: every line held goes out, counters summed. */
int statsd_interval_flush(statsd_interval *iv);

/* The same, but never waits: -EBUSY when another thread is adding or
 * flushing. For exit paths that may run in a signal handler. */
int statsd_interval_flush_nowait(statsd_interval *iv);

/* Bytes waiting in the buffer (a snapshot). */
size_t statsd_interval_pending(statsd_interval *iv);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_INTERVAL_H */
