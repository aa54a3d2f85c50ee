/*
 * statsd_interval.c - one flush interval of lines, counters summed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_interval.h"
#include "statsd_spin.h"
#include "statsd_sum.h"

/* the flusher's stack: a fold and a send need little */
#define FLUSHER_STACK (256u << 10)

struct statsd_interval {
    statsd_client *client;
    int locked;          /* spin lock over buf/len/spare/pending */
    size_t cap;
    size_t len;
    char *buf;           /* what requests append to */
    /* The second buffer is in one of three places: spare (free), pending
     * (full, handed to the flusher) or taken by whoever holds work. */
    char *spare;
    char *pending;
    size_t pending_len;
    /* the flushing side, under work: */
    pthread_mutex_t work;
    char *out;           /* what is sent: max(cap, drain size) bytes */
    statsd_sum *sum;
    statsd_pack_style style;
    statsd_pack *pack;   /* with a style: timers packed per key */
    char *packed;        /* cap bytes */
    /* the flusher thread (statsd_interval_start) */
    int started;
    pthread_t thread;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake_cond;
    int wake, stop;      /* under wake_lock */
    statsd_gate *gate;
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
     * statsd_interval_destroy; each step undoes the ones before it */
    if (pthread_mutex_init(&iv->work, NULL) != 0)
        goto no_work;
    if (pthread_mutex_init(&iv->wake_lock, NULL) != 0)
        goto no_wake_lock;
    if (pthread_cond_init(&iv->wake_cond, NULL) != 0)
        goto no_wake_cond;
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

no_wake_cond:
    pthread_mutex_destroy(&iv->wake_lock);
no_wake_lock:
    pthread_mutex_destroy(&iv->work);
no_work:
    free(iv);
    return -ENOMEM;
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
    if (iv->started) {
        pthread_mutex_lock(&iv->wake_lock);
        iv->stop = 1;
        pthread_cond_signal(&iv->wake_cond);
        pthread_mutex_unlock(&iv->wake_lock);
        pthread_join(iv->thread, NULL);
    }
    statsd_pack_destroy(iv->pack);
    free(iv->packed);
    pthread_cond_destroy(&iv->wake_cond);
    pthread_mutex_destroy(&iv->wake_lock);
    pthread_mutex_destroy(&iv->work);
    statsd_sum_destroy(iv->sum);
    free(iv->buf);
    free(iv->spare);
    free(iv->out);
    free(iv);
}

/* Under work: sum a full buffer's counters into the table, send the
 * other lines (packed, with a style). Returns the first send error or 0. */
static int fold_send(statsd_interval *iv, const char *taken, size_t taken_len)
{
    const char *send = iv->out;
    unsigned n;
    size_t o = statsd_sum_fold(iv->sum, taken, taken_len, iv->out, &n);
    long rv;

    if (o == 0)
        return 0;
    if (iv->pack) {
        o = statsd_pack_lines(iv->pack, iv->style, iv->out, o,
                              statsd_client_max_packet(iv->client),
                              iv->packed, &n);
        send = iv->packed;
    }
    rv = statsd_client_send_lines(iv->client, send, o);
    return rv < 0 ? (int)rv : 0;
}

/* Under work, with a buffer taken out of the lock's reach: fold and send
 * it, then it is the spare. */
static int fold_to_spare(statsd_interval *iv, char *taken, size_t taken_len)
{
    int rv = fold_send(iv, taken, taken_len);

    statsd_spin_lock(&iv->locked);
    iv->spare = taken;
    statsd_spin_unlock(&iv->locked);
    return rv;
}

/* Under work: the buffer handed to the flusher, if any, folded here (by
 * the flusher, or by whoever needs the spare first). */
static int fold_pending(statsd_interval *iv)
{
    char *p;
    size_t plen;

    statsd_spin_lock(&iv->locked);
    p = iv->pending;
    plen = iv->pending_len;
    iv->pending = NULL;
    statsd_spin_unlock(&iv->locked);
    return p ? fold_to_spare(iv, p, plen) : 0;
}

/* Under work: returns holding the lock, with a spare buffer (a buffer
 * handed over meanwhile is folded first). The first send error or 0. */
static int lock_with_spare(statsd_interval *iv)
{
    int rv = 0, r;

    for (;;) {
        r = fold_pending(iv);
        if (r && !rv)
            rv = r;
        statsd_spin_lock(&iv->locked);
        if (iv->spare)
            return rv;
        statsd_spin_unlock(&iv->locked);
    }
}

/* Under work and the lock, with a spare: swap the buffer for it,
 * releasing the lock; the lines taken are folded and the rest sent. With
 * lines, they start the new buffer. Returns the first send error or 0. */
static int take_and_fold(statsd_interval *iv, const char *lines, size_t len)
{
    char *taken = iv->buf;
    size_t taken_len = iv->len;

    iv->buf = iv->spare;
    iv->spare = NULL;
    iv->len = 0;
    if (lines) {
        memcpy(iv->buf, lines, len);
        iv->len = len;
    }
    statsd_spin_unlock(&iv->locked);
    return fold_to_spare(iv, taken, taken_len);
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

/* The buffer is full and no flusher can take it: flush it here (unless
 * someone did while we waited) and queue the block. */
static __attribute__((noinline)) long add_full(statsd_interval *iv,
                                               const char *lines, size_t len)
{
    pthread_mutex_lock(&iv->work);
    (void)lock_with_spare(iv);
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

/* Under the lock, with a spare and a flusher: the full buffer becomes
 * pending, the spare takes the block, and the flusher is woken. The
 * request pays for a copy and a wake-up, never for the fold. */
static __attribute__((noinline)) long hand_over(statsd_interval *iv,
                                                const char *lines, size_t len)
{
    iv->pending = iv->buf;
    iv->pending_len = iv->len;
    iv->buf = iv->spare;
    iv->spare = NULL;
    memcpy(iv->buf, lines, len);
    iv->len = len;
    statsd_spin_unlock(&iv->locked);
    pthread_mutex_lock(&iv->wake_lock);
    iv->wake = 1;
    pthread_cond_signal(&iv->wake_cond);
    pthread_mutex_unlock(&iv->wake_lock);
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
        if (iv->started && iv->spare)
            return hand_over(iv, lines, len);
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
    int rv, rv2, rv3;

    pthread_mutex_lock(&iv->work);
    rv = lock_with_spare(iv);
    rv2 = take_and_fold(iv, NULL, 0);
    rv3 = drain(iv);
    pthread_mutex_unlock(&iv->work);
    return rv ? rv : rv2 ? rv2 : rv3;
}

/* Both locks only tried, and the lock then held to the end (requests
 * wait, at exit): a thread interrupted in an add keeps its buffer. */
int statsd_interval_flush_nowait(statsd_interval *iv)
{
    int rv = 0, rv2 = 0, rv3;

    if (pthread_mutex_trylock(&iv->work) != 0)
        return -EBUSY;
    if (!statsd_spin_trylock(&iv->locked)) {
        pthread_mutex_unlock(&iv->work);
        return -EBUSY;
    }
    if (iv->pending) {
        rv = fold_send(iv, iv->pending, iv->pending_len);
        iv->spare = iv->pending;
        iv->pending = NULL;
    }
    if (iv->len) {
        rv2 = fold_send(iv, iv->buf, iv->len);
        iv->len = 0;
    }
    rv3 = drain(iv);
    statsd_spin_unlock(&iv->locked);
    pthread_mutex_unlock(&iv->work);
    return rv ? rv : rv2 ? rv2 : rv3;
}

/* The flusher: folds each buffer handed over, inside the gate. */
static void *flusher(void *arg)
{
    statsd_interval *iv = arg;

    for (;;) {
        int stop;

        pthread_mutex_lock(&iv->wake_lock);
        while (!iv->wake && !iv->stop)
            pthread_cond_wait(&iv->wake_cond, &iv->wake_lock);
        stop = iv->stop;
        iv->wake = 0;
        pthread_mutex_unlock(&iv->wake_lock);
        if (stop)
            break;
        if (iv->gate && statsd_gate_enter(iv->gate) != 0)
            break;          /* closing: the close work sends what is left */
        pthread_mutex_lock(&iv->work);
        (void)fold_pending(iv);  /* send errors are counted by the client */
        pthread_mutex_unlock(&iv->work);
        if (iv->gate)
            statsd_gate_leave(iv->gate);
    }
    return NULL;
}

int statsd_interval_start(statsd_interval *iv, statsd_gate *gate)
{
    pthread_attr_t attr;
    sigset_t all, old;
    int rc;

    if (!iv)
        return -EINVAL;
    if (iv->started)
        return 0;
    if ((rc = pthread_attr_init(&attr)) != 0)
        return -rc;
    (void)pthread_attr_setstacksize(&attr, FLUSHER_STACK);
    iv->gate = gate;
    /* the thread inherits this mask: signals stay with httpd's threads */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&iv->thread, &attr, flusher, iv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -rc;
    statsd_spin_lock(&iv->locked);
    iv->started = 1;
    statsd_spin_unlock(&iv->locked);
    return 0;
}

size_t statsd_interval_pending(statsd_interval *iv)
{
    size_t len;

    statsd_spin_lock(&iv->locked);
    len = iv->len;
    statsd_spin_unlock(&iv->locked);
    return len;
}
