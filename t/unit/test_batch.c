/*
 * Check tests of statsd_batch: lines of many requests in full datagrams.
 * Datagrams are captured through the client's send seam, so every test
 * asserts the exact bytes that would have left.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_batch.h"
#include "statsd_client.h"
#include "unit_util.h"

static dgrams *cap;
static statsd_client *client;
static statsd_batch *batch;

/* A client for 127.0.0.1:8125 (nothing is sent for real) with max packet
 * max, and a batch in front of it. */
static void setup_with(size_t max)
{
    cap = dgrams_new();
    client = seam_client_with(max, dgrams_send, cap);
    ck_assert_int_eq(statsd_batch_create(&batch, client), 0);
}

static void setup(void)
{
    setup_with(512);
}

static void teardown(void)
{
    statsd_batch_destroy(batch);
    statsd_client_destroy(client);
    dgrams_free(cap);
}

static long add(const char *lines, unsigned n)
{
    return statsd_batch_add(batch, lines, strlen(lines), n);
}

START_TEST(lines_wait_for_a_flush)
{
    ck_assert_int_eq(add("a.b:1|c", 1), 7);
    ck_assert_int_eq(add("c.d:2|ms\ne.f:1|c", 2), 16);
    ck_assert_uint_eq(cap->n, 0);
    ck_assert_uint_eq(statsd_batch_pending(batch), 7 + 1 + 16);
    ck_assert_int_eq(statsd_batch_flush(batch), 0);
    ck_assert_uint_eq(cap->n, 1);
    ck_assert_str_eq(cap->dgram[0], "a.b:1|c\nc.d:2|ms\ne.f:1|c");
    ck_assert_uint_eq(statsd_batch_pending(batch), 0);
    /* nothing pending: a flush sends nothing */
    ck_assert_int_eq(statsd_batch_flush(batch), 0);
    ck_assert_int_eq(statsd_batch_flush_nowait(batch), 0);
    ck_assert_uint_eq(cap->n, 1);
}
END_TEST

START_TEST(full_datagram_goes_when_the_next_block_does_not_fit)
{
    char block[101];
    statsd_stats st;
    int i;

    /* 100-byte blocks: 5 fit in 512 (5*100 + 4 separators = 504) */
    memset(block, 'x', 100);
    memcpy(block, "k:", 2);
    memcpy(block + 95, ":1|c", 4);
    block[99] = 'c';
    block[100] = '\0';
    for (i = 0; i < 12; i++)
        ck_assert_int_eq(add(block, 1), 100);
    ck_assert_uint_eq(cap->n, 2);
    ck_assert_uint_eq(cap->len[0], 504);
    ck_assert_uint_eq(cap->len[1], 504);
    ck_assert_int_eq(statsd_batch_flush(batch), 0);
    ck_assert_uint_eq(cap->n, 3);
    ck_assert_uint_eq(cap->len[2], 201);
    for (i = 0; i < 3; i++) {
        ck_assert_uint_le(cap->len[i], 512);
        ck_assert_int_ne(cap->dgram[i][0], '\n');
        ck_assert_int_ne(cap->dgram[i][cap->len[i] - 1], '\n');
    }
    statsd_client_stats(client, &st);
    ck_assert_uint_eq(st.lines, 12);
    ck_assert_uint_eq(st.datagrams, 3);
    ck_assert_uint_eq(st.bytes, 504 + 504 + 201);
    ck_assert_uint_eq(st.dropped_lines, 0);
}
END_TEST

START_TEST(exactly_full_datagram)
{
    char block[513];

    /* one block of exactly the packet size fits alone */
    memset(block, 'y', 512);
    block[512] = '\0';
    ck_assert_int_eq(add("a:1|c", 1), 5);
    ck_assert_int_eq(add(block, 1), 512);
    ck_assert_uint_eq(cap->n, 1);
    ck_assert_str_eq(cap->dgram[0], "a:1|c");
    ck_assert_uint_eq(statsd_batch_pending(batch), 512);
    ck_assert_int_eq(statsd_batch_flush(batch), 0);
    ck_assert_uint_eq(cap->len[1], 512);
}
END_TEST

START_TEST(block_larger_than_a_packet_keeps_the_order)
{
    char big[700];
    int i;

    /* seven 99-byte lines joined: 699 bytes, more than one packet */
    for (i = 0; i < 7; i++) {
        memset(big + i * 100, 'a' + i, 99);
        big[i * 100 + 99] = '\n';
    }
    big[699] = '\0';
    ck_assert_int_eq(add("first:1|c", 1), 9);
    ck_assert_int_eq(statsd_batch_add(batch, big, 699, 7), 698);
    /* the queued line went first, then the block split at a line end */
    ck_assert_uint_eq(cap->n, 3);
    ck_assert_str_eq(cap->dgram[0], "first:1|c");
    ck_assert_uint_eq(cap->len[1], 5 * 99 + 4);
    ck_assert_uint_eq(cap->len[2], 2 * 99 + 1);
    ck_assert_int_eq(cap->dgram[1][0], 'a');
    ck_assert_int_eq(cap->dgram[2][0], 'f');
    ck_assert_uint_eq(statsd_batch_pending(batch), 0);
}
END_TEST

START_TEST(failed_send_is_counted_not_kept)
{
    statsd_stats st;
    uint64_t errors;

    ck_assert_int_eq(add("a:1|c\nb:1|c", 2), 11);
    cap->fail_with = ENOBUFS;
    ck_assert_int_eq(statsd_batch_flush(batch), -ENOBUFS);
    statsd_client_stats(client, &st);
    ck_assert_uint_eq(st.drops[STATSD_DROP_NOBUFS], 1);
    ck_assert_uint_eq(st.dropped_lines, 2);
    ck_assert_uint_eq(statsd_client_errors_pending(client), 1);
    ck_assert_int_eq(statsd_client_take_errors(client, &errors), ENOBUFS);
    ck_assert_uint_eq(errors, 1);
    /* the lines are gone: a later flush sends nothing */
    cap->fail_with = 0;
    ck_assert_int_eq(statsd_batch_flush(batch), 0);
    ck_assert_uint_eq(cap->n, 0);
}
END_TEST

#define THREADS 4
#define PER_THREAD 5000

static void *adder(void *arg)
{
    char line[64];
    int id = (int)(intptr_t)arg, i;

    for (i = 0; i < PER_THREAD; i++) {
        int n = snprintf(line, sizeof(line), "t%d.line%d:1|c", id, i);
        ck_assert_int_eq(statsd_batch_add(batch, line, (size_t)n, 1), n);
    }
    return NULL;
}

static void flush_batch(void)
{
    statsd_batch_flush(batch);
}

START_TEST(threads_lose_nothing)
{
    static char seen[THREADS][PER_THREAD];
    size_t i, total = 0;
    statsd_stats st;

    memset(seen, 0, sizeof(seen));
    race_adders_and_flusher(adder, THREADS, flush_batch, 2000);
    ck_assert_int_eq(statsd_batch_flush(batch), 0);

    /* every line arrives exactly once, whole, in datagrams <= 512 */
    for (i = 0; i < cap->n; i++) {
        char *save = NULL, *line;
        ck_assert_uint_le(cap->len[i], 512);
        for (line = strtok_r(cap->dgram[i], "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            int id, n, end = 0;
            ck_assert_int_eq(sscanf(line, "t%d.line%d:1|c%n", &id, &n, &end),
                             2);
            ck_assert_int_eq(line[end], '\0');
            ck_assert(id >= 0 && id < THREADS && n >= 0 && n < PER_THREAD);
            ck_assert_int_eq(seen[id][n], 0);
            seen[id][n] = 1;
            total++;
        }
    }
    ck_assert_uint_eq(total, THREADS * PER_THREAD);
    statsd_client_stats(client, &st);
    ck_assert_uint_eq(st.lines, THREADS * PER_THREAD);
    ck_assert_uint_eq(st.dropped_lines, 0);
}
END_TEST

/* A send seam that holds its first call until released: a datagram
 * "being sent" while other threads go on adding. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int entered, released, calls;
} gate;

static gate the_gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                        0, 0, 0};

static ssize_t gated_send(int fd, const void *buf, size_t len,
                          const struct sockaddr *to, socklen_t tolen,
                          void *baton)
{
    gate *g = &the_gate;
    int first;

    pthread_mutex_lock(&g->lock);
    first = g->calls++ == 0;
    if (first) {
        g->entered = 1;
        pthread_cond_broadcast(&g->cond);
        while (!g->released)
            pthread_cond_wait(&g->cond, &g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    return dgrams_send(fd, buf, len, to, tolen, baton);
}

static void *fill_and_send(void *arg)
{
    (void)arg;
    /* 3 lines of 200 bytes: the third does not fit 512 and sends two */
    static char line[201];
    int i;

    memset(line, 'a', 200);
    memcpy(line + 196, ":1|c", 4);
    line[200] = '\0';
    for (i = 0; i < 3; i++)
        statsd_batch_add(batch, line, 200, 1);
    return NULL;
}

START_TEST(a_datagram_being_sent_keeps_its_buffer)
{
    pthread_t t;
    char expect[512];

    statsd_client_set_send_fn(client, gated_send, cap);
    ck_assert_int_eq(pthread_create(&t, NULL, fill_and_send, NULL), 0);
    pthread_mutex_lock(&the_gate.lock);
    while (!the_gate.entered)
        pthread_cond_wait(&the_gate.cond, &the_gate.lock);
    pthread_mutex_unlock(&the_gate.lock);

    /* the first datagram is in the send seam: adding goes on into the
     * other buffer, and a flush that must not wait gives up */
    ck_assert_int_eq(add("b:1|c", 1), 5);
    ck_assert_int_eq(statsd_batch_flush_nowait(batch), -EBUSY);

    pthread_mutex_lock(&the_gate.lock);
    the_gate.released = 1;
    pthread_cond_broadcast(&the_gate.cond);
    pthread_mutex_unlock(&the_gate.lock);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(statsd_batch_flush(batch), 0);

    ck_assert_uint_eq(cap->n, 2);
    ck_assert_uint_eq(cap->len[0], 401);
    ck_assert_uint_eq(cap->len[1], 206);
    memset(expect, 'a', 200);
    memcpy(expect + 196, ":1|c\n", 5);
    memcpy(expect + 201, expect, 200);
    expect[401] = '\0';
    ck_assert_str_eq(cap->dgram[0], expect);
    memcpy(expect + 200, "\nb:1|c", 7);
    ck_assert_str_eq(cap->dgram[1], expect);
}
END_TEST

START_TEST(create_rejects_nulls)
{
    statsd_batch *b = NULL;
    ck_assert_int_eq(statsd_batch_create(NULL, client), -EINVAL);
    ck_assert_int_eq(statsd_batch_create(&b, NULL), -EINVAL);
    ck_assert_ptr_null(b);
    statsd_batch_destroy(NULL);
}
END_TEST

UNIT_MAIN("statsd_batch", "batch", setup, teardown, 60,
          UNIT_TEST(lines_wait_for_a_flush),
          UNIT_TEST(full_datagram_goes_when_the_next_block_does_not_fit),
          UNIT_TEST(exactly_full_datagram),
          UNIT_TEST(block_larger_than_a_packet_keeps_the_order),
          UNIT_TEST(failed_send_is_counted_not_kept),
          UNIT_TEST(threads_lose_nothing),
          UNIT_TEST(a_datagram_being_sent_keeps_its_buffer),
          UNIT_TEST(create_rejects_nulls))
