/*
 * statsd_interval.c - one flush interval of lines, counters summed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_interval.h"
#include "statsd_spin.h"
#include "statsd_sum.h"

struct statsd_interval {
    statsd_client *client;
    int locked;          /* spin lock over buf/len: held for a memcpy */
    size_t cap;
    size_t len;
    char *buf;           /* what requests append to */
    /* the flushing side, under work: */
    pthread_mutex_t work;
    char *spare;         /* the buffer swapped out, cap bytes */
    char *out;           /* what is sent: max(cap, drain size) bytes */
    statsd_sum *sum;
    statsd_pack_style style;
    statsd_pack *pack;   /* with a style: timers packed per key */
    char *packed;        /* cap bytes */
};

int statsd_interval_create(statsd_interval **out, statsd_client *c,
                           size_t bytes)
{
    statsd_interval *iv;
    size_t out_size;
    int rv;

    if (!out || !c || bytes < STATSD_INTERVAL_MIN_BYTES
        || bytes > STATSD_INTERVAL_MAX_BYTES)
        return -EINVAL;
    iv = calloc(1, sizeof(*iv));
    if (!iv)
        return -ENOMEM;
    /* first, so that from here on a failure unwinds with
     * statsd_interval_destroy */
    if (pthread_mutex_init(&iv->work, NULL) != 0) {
        free(iv);
        return -ENOMEM;
    }
    iv->client = c;
    iv->cap = bytes;
    /* keys are taken from lines of the buffer: a buffer's worth of key
     * bytes is as much as one fold can add */
    rv = statsd_sum_create(&iv->sum, STATSD_INTERVAL_KEYS, bytes);
    if (rv != 0) {
        statsd_interval_destroy(iv);
        return rv;
    }
    out_size = statsd_sum_drain_size(iv->sum);
    if (out_size < bytes)
        out_size = bytes;
    iv->buf = malloc(bytes);
    iv->spare = malloc(bytes);
    iv->out = malloc(out_size);
    if (!iv->buf || !iv->spare || !iv->out) {
        statsd_interval_destroy(iv);
        return -ENOMEM;
    }
    *out = iv;
    return 0;
}

int statsd_interval_set_packing(statsd_interval *iv, statsd_pack_style s)
{
    int rv;

    if (s == STATSD_PACK_OFF)
        return 0;
    /* the shortest line, "k:1|h", and its '\n' */
    rv = statsd_pack_create(&iv->pack, iv->cap / 6 + 1);
    if (rv != 0)
        return rv;
    iv->packed = malloc(iv->cap + 1);
    if (!iv->packed) {
        statsd_pack_destroy(iv->pack);
        iv->pack = NULL;
        return -ENOMEM;
    }
    iv->style = s;
    return 0;
}

void statsd_interval_destroy(statsd_interval *iv)
{
    if (!iv)
        return;
    statsd_pack_destroy(iv->pack);
    free(iv->packed);
    pthread_mutex_destroy(&iv->work);
    statsd_sum_destroy(iv->sum);
    free(iv->buf);
    free(iv->spare);
    free(iv->out);
    free(iv);
}

/* Under work and the lock: swap the buffer for the spare, releasing the
 * lock; the lines taken are folded and the rest sent. With lines, they
 * start the new buffer. Returns the first send error or 0. */
static int take_and_fold(statsd_interval *iv, const char *lines, size_t len)
{
    char *taken = iv->buf;
    size_t taken_len = iv->len;
    unsigned n;
    size_t o;

    iv->buf = iv->spare;
    iv->spare = taken;
    iv->len = 0;
    if (lines) {
        memcpy(iv->buf, lines, len);
        iv->len = len;
    }
    statsd_spin_unlock(&iv->locked);
    o = statsd_sum_fold(iv->sum, taken, taken_len, iv->out, &n);
    if (o == 0)
        return 0;
    {
        const char *send = iv->out;
        long rv;

        if (iv->pack) {
            o = statsd_pack_lines(iv->pack, iv->style, iv->out, o,
                                  statsd_client_max_packet(iv->client),
                                  iv->packed, &n);
            send = iv->packed;
        }
        rv = statsd_client_send_lines(iv->client, send, o);
        return rv < 0 ? (int)rv : 0;
    }
}

/* Under work: the table's lines go out. */
static int drain(statsd_interval *iv)
{
    unsigned n;
    size_t o = statsd_sum_drain(iv->sum, iv->out, &n);
    long rv;

    if (o == 0)
        return 0;
    rv = statsd_client_send_lines(iv->client, iv->out, o);
    return rv < 0 ? (int)rv : 0;
}

/* The buffer is full: flush it (unless someone did while we waited) and
 * queue the block. */
static __attribute__((noinline)) long add_full(statsd_interval *iv,
                                               const char *lines, size_t len)
{
    pthread_mutex_lock(&iv->work);
    statsd_spin_lock(&iv->locked);
    if (iv->len && iv->len + 1 + len > iv->cap) {
        take_and_fold(iv, lines, len);
    } else {
        if (iv->len)
            iv->buf[iv->len++] = '\n';
        memcpy(iv->buf + iv->len, lines, len);
        iv->len += len;
        statsd_spin_unlock(&iv->locked);
    }
    pthread_mutex_unlock(&iv->work);
    return (long)len;
}

long statsd_interval_add(statsd_interval *iv, const char *lines, size_t len)
{
    if (len == 0)
        return 0;
    if (len > iv->cap)      /* never from a request: its lines are small */
        return statsd_client_send_lines(iv->client, lines, len);
    statsd_spin_lock(&iv->locked);
    if (__builtin_expect(iv->len && iv->len + 1 + len > iv->cap, 0)) {
        statsd_spin_unlock(&iv->locked);
        return add_full(iv, lines, len);
    }
    if (iv->len)
        iv->buf[iv->len++] = '\n';
    memcpy(iv->buf + iv->len, lines, len);
    iv->len += len;
    statsd_spin_unlock(&iv->locked);
    return (long)len;
}

int statsd_interval_flush(statsd_interval *iv)
{
    int rv, rv2;

    pthread_mutex_lock(&iv->work);
    statsd_spin_lock(&iv->locked);
    rv = take_and_fold(iv, NULL, 0);
    rv2 = drain(iv);
    pthread_mutex_unlock(&iv->work);
    return rv ? rv : rv2;
}

int statsd_interval_flush_nowait(statsd_interval *iv)
{
    int rv, rv2;

    if (pthread_mutex_trylock(&iv->work) != 0)
        return -EBUSY;
    if (!statsd_spin_trylock(&iv->locked)) {
        pthread_mutex_unlock(&iv->work);
        return -EBUSY;
    }
    rv = take_and_fold(iv, NULL, 0);
    rv2 = drain(iv);
    pthread_mutex_unlock(&iv->work);
    return rv ? rv : rv2;
}

size_t statsd_interval_pending(statsd_interval *iv)
{
    size_t len;

    statsd_spin_lock(&iv->locked);
    len = iv->len;
    statsd_spin_unlock(&iv->locked);
    return len;
}
