/*
 * statsd_batch.c - lines of many requests in full datagrams.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_batch.h"
#include "statsd_spin.h"

/* Two packet-sized buffers: requests fill one while the other, full, is
 * being sent. A full buffer is swapped out, not copied, and no request
 * thread needs a packet-sized buffer of its own (on its stack). */
struct statsd_batch {
    statsd_client *client;
    int locked;          /* a spin lock: held for a memcpy, never a call */
    int sending;         /* the same kind of lock: held while out is sent */
    size_t max;          /* the client's packet size */
    size_t len;          /* bytes buffered */
    unsigned n_lines;    /* lines buffered */
    char *buf;           /* max bytes: the datagram being filled */
    char *out;           /* max bytes: the datagram being sent */
};

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
    b->out = malloc(b->max);
    if (!b->buf || !b->out) {
        statsd_batch_destroy(b);
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
    free(b->out);
    free(b);
}

/* Sends the (non-empty) buffered datagram and starts the next one with
 * lines, if any. Called with both locks held; releases them: the batch
 * lock once the buffers are swapped, the send lock once the datagram is
 * out. Lock order is always batch, then send, and the send lock's holder
 * never waits for the batch lock, so neither can deadlock. */
static int send_swapped(statsd_batch *b, const char *lines, size_t len,
                        unsigned n_lines)
{
    char *full = b->buf;
    size_t full_len = b->len;
    unsigned full_lines = b->n_lines;
    int rc;

    b->buf = b->out;
    b->out = full;
    b->len = 0;
    b->n_lines = 0;
    if (lines) {
        memcpy(b->buf, lines, len);
        b->len = len;
        b->n_lines = n_lines;
    }
    statsd_spin_unlock(&b->locked);
    rc = statsd_client_send(b->client, full, full_len, full_lines);
    statsd_spin_unlock(&b->sending);
    return rc;
}

/* Called with the batch lock held; releases it. Waits while the previous
 * datagram is still being sent by another thread: its buffer is the one
 * this datagram's lines go to next. */
static __attribute__((noinline)) int send_taken(statsd_batch *b,
                                                const char *lines,
                                                size_t len, unsigned n_lines)
{
    statsd_spin_lock(&b->sending);
    return send_swapped(b, lines, len, n_lines);
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
    statsd_spin_lock(&b->locked);
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
    statsd_spin_unlock(&b->locked);
    return (long)len;
}

/* Called with the batch lock held; releases it. */
static int flush_locked(statsd_batch *b)
{
    if (b->len == 0) {
        statsd_spin_unlock(&b->locked);
        return 0;
    }
    return send_taken(b, NULL, 0, 0);
}

int statsd_batch_flush(statsd_batch *b)
{
    statsd_spin_lock(&b->locked);
    return flush_locked(b);
}

int statsd_batch_flush_nowait(statsd_batch *b)
{
    if (!statsd_spin_trylock(&b->locked))
        return -EBUSY;
    if (b->len == 0) {
        statsd_spin_unlock(&b->locked);
        return 0;
    }
    if (!statsd_spin_trylock(&b->sending)) {
        statsd_spin_unlock(&b->locked);
        return -EBUSY;
    }
    return send_swapped(b, NULL, 0, 0);
}

size_t statsd_batch_pending(statsd_batch *b)
{
    size_t len;

    statsd_spin_lock(&b->locked);
    len = b->len;
    statsd_spin_unlock(&b->locked);
    return len;
}
