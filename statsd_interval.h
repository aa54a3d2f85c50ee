/*
 * statsd_interval.h - one flush interval of lines, counters summed.
 *
 * Sits in front of one statsd_client instead of a statsd_batch. Requests
 * append their lines to a buffer that holds an interval (a copy under a
 * spin lock, as the batch does). A full buffer is swapped for a second
 * one and handed to a flusher thread of the interval's own
 * (statsd_interval_start), which sums its counters into a table
 * (statsd_sum) and sends the other lines in full datagrams; at the end of
 * the interval the timer's flush sends what is left and one line per
 * counter key. The request path never folds or sends: it copies, and once
 * a buffer (about 500 requests) wakes the flusher. Without a flusher
 * (not started, or both buffers full because it is behind), the request
 * that finds the buffer full does the flushing work itself.
 *
 * Thread-safe. Functions returning int/long return >= 0 or a negative
 * errno.
 */
#ifndef STATSD_INTERVAL_H
#define STATSD_INTERVAL_H

#include <stddef.h>
#include "statsd_client.h"
#include "statsd_gate.h"
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

/* Start the flusher thread (all signals blocked in it; a small stack).
 * gate (may be NULL): the thread holds it while it folds and sends, and
 * ends once the gate is closing. Call before other threads add lines.
 * Returns 0 or a negative errno (then the requests that fill the buffer
 * flush it, as without a flusher). statsd_interval_destroy stops and
 * joins it; a process that exits without destroying leaves it to die. */
int statsd_interval_start(statsd_interval *iv, statsd_gate *gate);

/* Queue a block of '\n'-joined lines. When it does not fit, the buffer is
 * handed to the flusher (or, without one free, flushed here) first; its
 * counters stay summed until the interval ends.
 * Returns the bytes queued (or sent, for a block larger than the buffer),
 * or a negative errno if the block was dropped. */
long statsd_interval_add(statsd_interval *iv, const char *lines, size_t len);

/* End of an interval: every line held goes out, counters summed. */
int statsd_interval_flush(statsd_interval *iv);

/* The same, but never waits: -EBUSY when another thread is adding or
 * flushing. For exit paths that may run in a signal handler. Holds the
 * lock while it folds and sends: adds wait meanwhile. */
int statsd_interval_flush_nowait(statsd_interval *iv);

/* Bytes waiting in the buffer (a snapshot). */
size_t statsd_interval_pending(statsd_interval *iv);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_INTERVAL_H */
