/*
 * Check tests of statsd_gate: the watchdog's flushes against the close at
 * child exit. A client with a recording send seam stands for a
 * destination, a batch in front of it, and the gate's close work is what
 * the module's is: flush the batch without waiting, close the client.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_batch.h"
#include "statsd_client.h"
#include "statsd_gate.h"
#include "unit_util.h"

/* What the send seam saw. */
typedef struct {
    unsigned sends;
    unsigned bad_fd;        /* sends handed a descriptor below 0 */
    size_t bytes;
    char last[1500];
} capture;

static ssize_t capture_send(int fd, const void *buf, size_t len,
                            const struct sockaddr *to, socklen_t tolen,
                            void *baton)
{
    capture *cap = baton;
    (void)to;
    (void)tolen;
    __atomic_add_fetch(&cap->sends, 1, __ATOMIC_RELAXED);
    if (fd < 0)
        __atomic_add_fetch(&cap->bad_fd, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&cap->bytes, len, __ATOMIC_RELAXED);
    if (len < sizeof(cap->last)) {
        memcpy(cap->last, buf, len);
        cap->last[len] = '\0';
    }
    return (ssize_t)len;
}

typedef struct {
    statsd_client *client;
    statsd_batch *batch;
    statsd_gate gate;
    unsigned closes;        /* times the close work ran */
} sink;

static capture cap;
static sink sk;

static void close_sink(void *baton)
{
    sink *s = baton;

    s->closes++;
    statsd_batch_flush_nowait(s->batch);
    statsd_client_close(s->client);
}

static void setup(void)
{
    memset(&cap, 0, sizeof(cap));
    memset(&sk, 0, sizeof(sk));
    sk.client = seam_client_with(1432, capture_send, &cap);
    ck_assert_int_eq(statsd_batch_create(&sk.batch, sk.client), 0);
    statsd_gate_init(&sk.gate, close_sink, &sk);
}

static void teardown(void)
{
    statsd_batch_destroy(sk.batch);
    statsd_client_destroy(sk.client);
}

static uint64_t drops(statsd_drop_reason why)
{
    statsd_stats st;

    statsd_client_stats(sk.client, &st);
    return st.drops[why];
}

/* One watchdog tick, as the module's on_tick does it. */
static int tick(void)
{
    int rc = statsd_gate_enter(&sk.gate);

    if (rc != 0)
        return rc;
    statsd_batch_flush(sk.batch);
    statsd_gate_leave(&sk.gate);
    return 0;
}

START_TEST(close_sends_the_batch_then_nothing)
{
    ck_assert_int_eq(statsd_batch_add(sk.batch, "a:1|c", 5, 1), 5);
    ck_assert_int_eq(statsd_gate_close(&sk.gate), 1);
    ck_assert_uint_eq(sk.closes, 1);
    ck_assert_int_eq(statsd_gate_closed(&sk.gate), 1);
    /* the exit flush sent what was batched */
    ck_assert_uint_eq(cap.sends, 1);
    ck_assert_str_eq(cap.last, "a:1|c");

    /* lines that still arrive, and a tick after the close */
    ck_assert_int_eq(statsd_batch_add(sk.batch, "b:1|c", 5, 1), 5);
    ck_assert_int_eq(tick(), -EPIPE);
    ck_assert_uint_eq(cap.sends, 1);          /* no descriptor touched */
    ck_assert_uint_eq(cap.bad_fd, 0);
    ck_assert_uint_eq(drops(STATSD_DROP_BADFD), 0);

    /* closing twice runs the close work once */
    ck_assert_int_eq(statsd_gate_close(&sk.gate), 0);
    ck_assert_uint_eq(sk.closes, 1);
}
END_TEST

START_TEST(close_during_a_tick_is_done_by_the_tick)
{
    ck_assert_int_eq(statsd_batch_add(sk.batch, "a:1|c", 5, 1), 5);
    ck_assert_int_eq(statsd_gate_enter(&sk.gate), 0);
    /* the exit cleanup finds the gate held and does not wait */
    ck_assert_int_eq(statsd_gate_close(&sk.gate), 0);
    ck_assert_uint_eq(sk.closes, 0);
    /* the tick still owns the sockets: its flush goes out */
    ck_assert_int_eq(statsd_batch_flush(sk.batch), 0);
    ck_assert_uint_eq(cap.sends, 1);
    ck_assert_int_eq(statsd_batch_add(sk.batch, "b:1|c", 5, 1), 5);
    statsd_gate_leave(&sk.gate);
    /* leaving ran the close work: the rest was sent, then closed */
    ck_assert_uint_eq(sk.closes, 1);
    ck_assert_uint_eq(cap.sends, 2);
    ck_assert_str_eq(cap.last, "b:1|c");
    ck_assert_int_eq(tick(), -EPIPE);
    ck_assert_uint_eq(cap.sends, 2);
    ck_assert_uint_eq(drops(STATSD_DROP_BADFD), 0);
}
END_TEST

START_TEST(ungated_flush_after_close_is_counted_badfd)
{
    /* what the gate prevents: the client refuses without a send and
     * counts it apart, so a broken order shows in the stats */
    ck_assert_int_eq(statsd_gate_close(&sk.gate), 1);
    ck_assert_int_eq(statsd_batch_add(sk.batch, "a:1|c", 5, 1), 5);
    ck_assert_int_eq(statsd_batch_flush(sk.batch), -EBADF);
    ck_assert_uint_eq(cap.sends, 0);
    ck_assert_uint_eq(drops(STATSD_DROP_BADFD), 1);
}
END_TEST

static int stop_ticking;

static void *ticker(void *arg)
{
    unsigned long *ticks = arg;

    while (!__atomic_load_n(&stop_ticking, __ATOMIC_ACQUIRE)) {
        if (tick() != 0)
            break;
        (*ticks)++;
    }
    return NULL;
}

START_TEST(racing_ticks_never_send_after_the_close)
{
    pthread_t th;
    unsigned long ticks = 0, i;
    statsd_stats st;

    stop_ticking = 0;
    ck_assert_int_eq(pthread_create(&th, NULL, ticker, &ticks), 0);
    for (i = 0; i < 20000; i++)
        ck_assert_int_eq(statsd_batch_add(sk.batch, "a:1|c", 5, 1), 5);
    statsd_gate_close(&sk.gate);
    /* the ticker stops by itself once the gate refuses; bounded anyway */
    for (i = 0; i < 2000 && !statsd_gate_closed(&sk.gate); i++)
        sched_yield();
    __atomic_store_n(&stop_ticking, 1, __ATOMIC_RELEASE);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(statsd_gate_closed(&sk.gate), 1);
    ck_assert_uint_eq(sk.closes, 1);
    ck_assert_uint_eq(cap.bad_fd, 0);
    statsd_client_stats(sk.client, &st);
    ck_assert_uint_eq(st.drops[STATSD_DROP_BADFD], 0);
    /* every line was sent: by a tick or by the close */
    ck_assert_uint_eq(st.lines, 20000);
    ck_assert_uint_eq(st.dropped_lines, 0);
}
END_TEST

UNIT_MAIN("statsd_gate", "gate", setup, teardown, 60,
          UNIT_TEST(close_sends_the_batch_then_nothing),
          UNIT_TEST(close_during_a_tick_is_done_by_the_tick),
          UNIT_TEST(ungated_flush_after_close_is_counted_badfd),
          UNIT_LOOP(racing_ticks_never_send_after_the_close, 20))
