/*
 * Check tests of statsd_interval: an interval of lines, counters summed.
 * Datagrams are captured through the client's send seam.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statsd_client.h"
#include "statsd_gate.h"
#include "unit_util.h"
#include "statsd_interval.h"

static dgrams *cap;
static statsd_client *client;
static statsd_interval *iv;

static void setup_with(size_t max_packet, size_t bytes)
{
    cap = dgrams_new();
    client = seam_client_with(max_packet, dgrams_send, cap);
    ck_assert_int_eq(statsd_interval_create(&iv, client, bytes), 0);
}

static void setup(void)
{
    setup_with(512, STATSD_INTERVAL_MIN_BYTES);
}

static void teardown(void)
{
    statsd_interval_destroy(iv);
    statsd_client_destroy(client);
    dgrams_free(cap);
}

static long add(const char *lines)
{
    return statsd_interval_add(iv, lines, strlen(lines));
}

/* The sum of the values of the lines of every datagram named k. */
static unsigned long long total(const char *k, const char *type)
{
    unsigned long long t = 0;
    size_t i, klen = strlen(k);

    for (i = 0; i < cap->n; i++) {
        const char *p = cap->dgram[i];
        while (p && *p) {
            const char *nl = strchr(p, '\n');
            if (!strncmp(p, k, klen) && p[klen] == ':') {
                char *end;
                double v = strtod(p + klen + 1, &end);
                if (!strncmp(end, type, strlen(type)))
                    t += (unsigned long long)v;
            }
            p = nl ? nl + 1 : NULL;
        }
    }
    return t;
}

static unsigned count_lines(const char *k)
{
    unsigned n = 0;
    size_t i, klen = strlen(k);

    for (i = 0; i < cap->n; i++) {
        const char *p = cap->dgram[i];
        while (p && *p) {
            if (!strncmp(p, k, klen) && p[klen] == ':')
                n++;
            p = strchr(p, '\n');
            if (p)
                p++;
        }
    }
    return n;
}

START_TEST(one_line_per_counter_key_per_interval)
{
    ck_assert_int_eq(add("p.a.GET.200:1.5|ms\np.a.GET.200:1|c\n"
                         "p.responses.good:1|c\np.responses.time:1.5|ms"),
                     79);
    ck_assert_int_eq(add("p.a.GET.200:2|ms\np.a.GET.200:1|c\n"
                         "p.responses.good:1|c\np.responses.time:2|ms"), 75);
    ck_assert_uint_eq(cap->n, 0);
    ck_assert_uint_eq(statsd_interval_pending(iv), 79 + 1 + 75);
    ck_assert_int_eq(statsd_interval_flush(iv), 0);
    ck_assert_uint_eq(cap->n, 2);
    ck_assert_str_eq(cap->dgram[0], "p.a.GET.200:1.5|ms\n"
                     "p.responses.time:1.5|ms\np.a.GET.200:2|ms\n"
                     "p.responses.time:2|ms");
    ck_assert_str_eq(cap->dgram[1], "p.a.GET.200:2|c\np.responses.good:2|c");
    ck_assert_uint_eq(statsd_interval_pending(iv), 0);
    /* an idle interval sends nothing */
    ck_assert_int_eq(statsd_interval_flush(iv), 0);
    ck_assert_int_eq(statsd_interval_flush_nowait(iv), 0);
    ck_assert_uint_eq(cap->n, 2);
    /* the next interval has its own totals */
    add("p.responses.good:1|c");
    ck_assert_int_eq(statsd_interval_flush_nowait(iv), 0);
    ck_assert_uint_eq(cap->n, 3);
    ck_assert_str_eq(cap->dgram[2], "p.responses.good:1|c");
}
END_TEST

START_TEST(a_full_buffer_sends_timers_and_keeps_counting)
{
    char name[96], block[200];
    int i;

    /* 100-byte timer lines and a counter: the 4096-byte buffer fills */
    memset(name, 'k', 94);
    name[94] = '\0';
    snprintf(block, sizeof(block), "%s:1|ms\nc:1|c", name);
    for (i = 0; i < 100; i++)
        ck_assert_int_eq(add(block), 105);
    ck_assert_uint_gt(cap->n, 0);       /* timers went out on the way */
    ck_assert_int_eq(statsd_interval_flush(iv), 0);
    /* one counter line for the interval, every timer once */
    ck_assert_uint_eq(count_lines("c"), 1);
    ck_assert_uint_eq(total("c", "|c"), 100);
    ck_assert_uint_eq(count_lines(name), 100);
    for (i = 0; i < (int)cap->n; i++)
        ck_assert_uint_le(cap->len[i], 512);
}
END_TEST

START_TEST(a_block_larger_than_the_buffer_goes_at_once)
{
    char *big = malloc(STATSD_INTERVAL_MIN_BYTES + 200);
    size_t pos = 0;

    ck_assert_ptr_nonnull(big);
    while (pos < STATSD_INTERVAL_MIN_BYTES + 100) {
        memcpy(big + pos, "t:1|ms\n", 7);
        pos += 7;
    }
    big[pos - 1] = '\0';
    ck_assert_int_gt(add(big), 0);
    ck_assert_uint_gt(cap->n, 0);
    free(big);
}
END_TEST

START_TEST(failed_sends_are_counted_not_kept)
{
    statsd_stats st;

    cap->fail_with = ECONNREFUSED;
    add("a:1|c\nb:2|ms");
    ck_assert_int_eq(statsd_interval_flush(iv), -ECONNREFUSED);
    statsd_client_stats(client, &st);
    ck_assert_uint_eq(st.dropped_lines, 2);
    cap->fail_with = 0;
    ck_assert_int_eq(statsd_interval_flush(iv), 0);
    ck_assert_uint_eq(cap->n, 0);
}
END_TEST

#define THREADS 4
#define PER_THREAD 20000

static void *adder(void *arg)
{
    int i;
    (void)arg;
    for (i = 0; i < PER_THREAD; i++)
        ck_assert_int_gt(add("p.x.GET.200:1.25|ms\np.x.GET.200:1|c\n"
                             "p.responses.good:1|c"), 0);
    return NULL;
}

static void flush_interval(void)
{
    statsd_interval_flush(iv);
}

START_TEST(threads_lose_nothing)
{
    race_adders_and_flusher(adder, THREADS, flush_interval, 200);
    ck_assert_int_eq(statsd_interval_flush(iv), 0);
    /* every timer line, every counted request */
    ck_assert_uint_eq(total("p.x.GET.200", "|ms"), THREADS * PER_THREAD);
    ck_assert_uint_eq(total("p.x.GET.200", "|c"), THREADS * PER_THREAD);
    ck_assert_uint_eq(total("p.responses.good", "|c"), THREADS * PER_THREAD);
}
END_TEST

START_TEST(packing_groups_each_flush)
{
    ck_assert_int_eq(statsd_interval_set_packing(iv, STATSD_PACK_ETSY), 0);
    add("p.a.GET.200:1.5|ms\np.a.GET.200:1|c\np.responses.time:1.5|ms");
    add("p.a.GET.200:2|ms\np.a.GET.200:1|c\np.responses.time:2|ms");
    ck_assert_int_eq(statsd_interval_flush(iv), 0);
    ck_assert_uint_eq(cap->n, 2);
    ck_assert_str_eq(cap->dgram[0], "p.a.GET.200:1.5|ms:2|ms\n"
                     "p.responses.time:1.5|ms:2|ms");
    ck_assert_str_eq(cap->dgram[1], "p.a.GET.200:2|c");
}
END_TEST

/* ---- with a flusher thread ---------------------------------------------- */

static pthread_t test_thread;
static int sends_elsewhere;             /* sends not on the test's thread */

static ssize_t send_noting_thread(int fd, const void *buf, size_t len,
                                  const struct sockaddr *to, socklen_t tolen,
                                  void *baton)
{
    if (!pthread_equal(pthread_self(), test_thread))
        __atomic_add_fetch(&sends_elsewhere, 1, __ATOMIC_SEQ_CST);
    return dgrams_send(fd, buf, len, to, tolen, baton);
}

static void setup_flusher(void)
{
    test_thread = pthread_self();
    sends_elsewhere = 0;
    cap = dgrams_new();
    client = seam_client_with(512, send_noting_thread, cap);
    ck_assert_int_eq(statsd_interval_create(&iv, client,
                                            STATSD_INTERVAL_MIN_BYTES), 0);
    ck_assert_int_eq(statsd_interval_start(iv, NULL), 0);
}

static size_t dgram_count(void)
{
    size_t n;

    pthread_mutex_lock(&cap->lock);
    n = cap->n;
    pthread_mutex_unlock(&cap->lock);
    return n;
}

/* 100 requests of 3 lines (the 4 KiB buffer fills once): the request
 * side only copies; the flusher, on its own thread, sends the full
 * buffer's timers; the counters wait for the interval's end, exact. (A
 * request that finds both buffers full folds itself: adding in a tight
 * loop, the test would race the flusher.) */
START_TEST(a_flusher_folds_full_buffers_off_the_adding_thread)
{
    int i, waited;

    for (i = 0; i < 100; i++)
        ck_assert_int_gt(add("p.x.GET.200:1.25|ms\np.x.GET.200:1|c\n"
                             "p.responses.good:1|c"), 0);
    for (waited = 0; dgram_count() == 0 && waited < 5000; waited++)
        usleep(1000);
    ck_assert_uint_gt(dgram_count(), 0);
    ck_assert_int_eq(__atomic_load_n(&sends_elsewhere, __ATOMIC_SEQ_CST),
                     (int)dgram_count());
    ck_assert_uint_eq(total("p.x.GET.200", "|c"), 0);   /* not yet */
    ck_assert_uint_gt(total("p.x.GET.200", "|ms"), 0);
    ck_assert_int_eq(statsd_interval_flush(iv), 0);
    ck_assert_uint_eq(total("p.x.GET.200", "|ms"), 100);
    ck_assert_uint_eq(total("p.x.GET.200", "|c"), 100);
    ck_assert_uint_eq(total("p.responses.good", "|c"), 100);
    ck_assert_uint_eq(count_lines("p.responses.good"), 1);
}
END_TEST

/* The exit path: what the flusher was handed and what is buffered go
 * out in one call that never waits, with the counters' totals. */
START_TEST(flush_nowait_takes_a_pending_buffer_too)
{
    int i;

    for (i = 0; i < 1000; i++)
        add("p.x.GET.200:1|c\np.x.GET.200:2|ms");
    ck_assert_int_eq(statsd_interval_flush_nowait(iv), 0);
    /* the flusher may have folded some buffers, never twice */
    ck_assert_int_eq(statsd_interval_flush(iv), 0);
    ck_assert_uint_eq(total("p.x.GET.200", "|c"), 1000);
    ck_assert_uint_eq(total("p.x.GET.200", "|ms"), 2000);
}
END_TEST

static statsd_gate gate;
static int closed_runs;

static void close_work(void *baton)
{
    (void)baton;
    statsd_interval_flush_nowait(iv);
    closed_runs++;
}

/* A closing gate ends the flusher: later full buffers are flushed by the
 * request that fills them, and nothing is lost. */
START_TEST(a_closing_gate_ends_the_flusher)
{
    statsd_interval *g;
    int i;

    statsd_gate_init(&gate, close_work, NULL);
    closed_runs = 0;
    ck_assert_int_eq(statsd_interval_create(&g, client,
                                            STATSD_INTERVAL_MIN_BYTES), 0);
    statsd_interval_destroy(iv);        /* the fixture's, started */
    iv = g;
    ck_assert_int_eq(statsd_interval_start(iv, &gate), 0);
    for (i = 0; i < 500; i++)
        add("p.x.GET.200:1|c\np.x.GET.200:2|ms");
    statsd_gate_close(&gate);
    for (i = 0; i < 500; i++)
        add("p.x.GET.200:1|c\np.x.GET.200:2|ms");
    ck_assert_int_eq(statsd_interval_flush(iv), 0);
    ck_assert_uint_eq(total("p.x.GET.200", "|c"), 1000);
    ck_assert_uint_eq(total("p.x.GET.200", "|ms"), 2000);
    ck_assert_int_le(closed_runs, 1);
}
END_TEST

START_TEST(create_rejects_bad_sizes)
{
    statsd_interval *x;

    ck_assert_int_eq(statsd_interval_create(NULL, client, 65536), -EINVAL);
    ck_assert_int_eq(statsd_interval_create(&x, NULL, 65536), -EINVAL);
    ck_assert_int_eq(statsd_interval_create(&x, client,
                                            STATSD_INTERVAL_MIN_BYTES - 1),
                     -EINVAL);
    statsd_interval_destroy(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("statsd_interval");

    UNIT_TCASE(s, "core", setup, teardown, 60,
               UNIT_TEST(one_line_per_counter_key_per_interval),
               UNIT_TEST(a_full_buffer_sends_timers_and_keeps_counting),
               UNIT_TEST(a_block_larger_than_the_buffer_goes_at_once),
               UNIT_TEST(failed_sends_are_counted_not_kept),
               UNIT_TEST(threads_lose_nothing),
               UNIT_TEST(packing_groups_each_flush),
               UNIT_TEST(create_rejects_bad_sizes));
    UNIT_TCASE(s, "flusher", setup_flusher, teardown, 60,
               UNIT_TEST(a_flusher_folds_full_buffers_off_the_adding_thread),
               UNIT_TEST(threads_lose_nothing),    /* now with the flusher */
               UNIT_TEST(flush_nowait_takes_a_pending_buffer_too),
               UNIT_TEST(a_closing_gate_ends_the_flusher));
    return run_suite(s);
}
