/*
 * statsd_batch.c - lines of many requests in full datagrams.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_batch.h"

struct statsd_batch {
    statsd_client *client;
    int locked;          /* a spin lock: held for a memcpy, never a call */
    size_t max;          /* the client's packet size */
    size_t len;          /* bytes buffered */
    unsigned n_lines;    /* lines buffered */
    char *buf;           /* max bytes */
};

/* The lock guards a copy of at most one packet. A mutex costs more than
 * that copy on every request; a spin lock costs an atomic exchange, and a
 * waiter that finds it taken (the holder was preempted) yields the CPU. */
static __attribute__((noinline)) void lock_contended(statsd_batch *b)
{
    unsigned spins = 0;

    while (__atomic_exchange_n(&b->locked, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&b->locked, __ATOMIC_RELAXED)) {
            if (++spins < 100) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
            } else {
                sched_yield();
            }
        }
    }
}

/* the uncontended case is one exchange, inlined into the callers */
static inline void lock(statsd_batch *b)
{
    if (__builtin_expect(__atomic_exchange_n(&b->locked, 1, __ATOMIC_ACQUIRE)
                         != 0, 0))
        lock_contended(b);
}

static int trylock(statsd_batch *b)
{
    return __atomic_exchange_n(&b->locked, 1, __ATOMIC_ACQUIRE) == 0;
}

static void unlock(statsd_batch *b)
{
    __atomic_store_n(&b->locked, 0, __ATOMIC_RELEASE);
}

int statsd_batch_create(statsd_batch **out, statsd_client *c)
{
    statsd_batch *b;

    if (!out || !c)
        return -EINVAL;
    b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->client = c;
    b->max = statsd_client_max_packet(c);
    b->buf = malloc(b->max);
    if (!b->buf) {
        free(b);
        return -ENOMEM;
    }
    *out = b;
    return 0;
}

void statsd_batch_destroy(statsd_batch *b)
{
    if (!b)
        return;
    free(b->buf);
    free(b);
}

/* Under the lock: move the buffered datagram into out, empty the buffer. */
static size_t take(statsd_batch *b, char *out, unsigned *n_lines)
{
    size_t len = b->len;

    memcpy(out, b->buf, len);
    *n_lines = b->n_lines;
    b->len = 0;
    b->n_lines = 0;
    return len;
}

/* Sends the (non-empty) datagram taken out of the buffer, and starts the
 * next one with lines, if any. Called with the lock held; releases it.
 * Kept out of line so its packet-sized stack frame is only paid for when
 * a datagram is full. */
static __attribute__((noinline)) int send_taken(statsd_batch *b,
                                                const char *lines,
                                                size_t len, unsigned n_lines)
{
    char out[STATSD_MAX_PACKET];
    unsigned out_lines = 0;
    size_t out_len = take(b, out, &out_lines);

    if (lines) {
        memcpy(b->buf, lines, len);
        b->len = len;
        b->n_lines = n_lines;
    }
    unlock(b);
    return statsd_client_send(b->client, out, out_len, out_lines);
}

long statsd_batch_add(statsd_batch *b, const char *lines, size_t len,
                      unsigned n_lines)
{
    if (len == 0)
        return 0;
    if (len > b->max) {
        /* a block larger than a packet: flush what is queued first so
         * the order of lines is kept (a failure is counted by the client),
         * then split the block itself */
        (void)statsd_batch_flush(b);
        return statsd_client_send_lines(b->client, lines, len);
    }
    lock(b);
    if (b->len && b->len + 1 + len > b->max) {
        /* full: this block starts the next datagram */
        send_taken(b, lines, len, n_lines);
        return (long)len;
    }
    if (b->len)
        b->buf[b->len++] = '\n';
    memcpy(b->buf + b->len, lines, len);
    b->len += len;
    b->n_lines += n_lines;
    unlock(b);
    return (long)len;
}

/* Called with the lock held; releases it. An empty batch is left
 * without touching send_taken's large frame (the idle watchdog tick). */
static int flush_locked(statsd_batch *b)
{
    if (b->len == 0) {
        unlock(b);
        return 0;
    }
    return send_taken(b, NULL, 0, 0);
}

int statsd_batch_flush(statsd_batch *b)
{
    lock(b);
    return flush_locked(b);
}

int statsd_batch_flush_nowait(statsd_batch *b)
{
    return trylock(b) ? flush_locked(b) : -EBUSY;
}

size_t statsd_batch_pending(statsd_batch *b)
{
    size_t len;

    lock(b);
    len = b->len;
    unlock(b);
    return len;
}
