/*
 * statsd_batch.h - lines of many requests in full datagrams.
 *
 * A batch sits in front of one statsd_client: requests add their lines,
 * and the batch sends a datagram only when the next lines would not fit
 * the client's packet size, or when flushed (by a timer, at exit).
 *
 * Thread-safe: a spin lock guards the buffer, and is never held across a
 * send. A full buffer is swapped with a second one and sent after the
 * lock is released; the next full buffer waits until that send is done.
 * Both buffers are the client's packet size, allocated at creation: the
 * callers' stacks hold no packet.
 * Every function returning int/long returns >= 0 or a negative errno.
 */
#ifndef STATSD_BATCH_H
#define STATSD_BATCH_H

#include <stddef.h>
#include "statsd_client.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct statsd_batch statsd_batch;

/* A batch for client c (which must outlive it). */
int statsd_batch_create(statsd_batch **out, statsd_client *c);
void statsd_batch_destroy(statsd_batch *b);

/* Queue a block of n_lines '\n'-joined lines. Sends the buffered
 * datagram first when they do not fit behind it; a block larger than a
 * packet is sent at once, split at line boundaries. Returns the bytes
 * queued or sent for this block, or a negative errno if it was dropped. */
long statsd_batch_add(statsd_batch *b, const char *lines, size_t len,
                      unsigned n_lines);

/* Send what is buffered. 0 if nothing was pending or it went out. */
int statsd_batch_flush(statsd_batch *b);

/* The same, but never waits for the lock: -EBUSY when another thread
 * holds it. For exit paths that may run in a signal handler. */
int statsd_batch_flush_nowait(statsd_batch *b);

/* Bytes waiting in the buffer (a snapshot). */
size_t statsd_batch_pending(statsd_batch *b);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_BATCH_H */
