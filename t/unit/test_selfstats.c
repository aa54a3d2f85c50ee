/*
 * Check tests of statsd_selfstats: per-thread slots summed exactly,
 * deltas published into shared totals, client counters folded in, and
 * the exact status text.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_selfstats.h"
#include "unit_util.h"

static void *aligned_threads(unsigned n, statsd_selfstats_threads **t)
{
    void *mem = NULL;

    ck_assert_int_eq(posix_memalign(&mem, 64,
                                    statsd_selfstats_threads_size(n)), 0);
    *t = statsd_selfstats_threads_init(mem, n);
    return mem;
}

typedef struct {
    statsd_selfstats_threads *t;
    unsigned requests;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    statsd_selfstats_thread *slot = statsd_selfstats_threads_claim(a->t);
    unsigned i;

    for (i = 0; i < a->requests; i++) {
        if (slot)
            statsd_selfstats_count(slot, i % 10 == 0);
        else
            statsd_selfstats_count_spill(a->t, i % 10 == 0);
    }
    return NULL;
}

/* 6 threads, 4 slots: two spill; every request is counted once. */
START_TEST(threads_sum_exactly)
{
    statsd_selfstats_threads *t;
    void *mem = aligned_threads(4, &t);
    pthread_t th[6];
    worker_arg a = {t, 100000};
    statsd_selfstats sum;
    int i;

    ck_assert_uint_eq((uintptr_t)&t->slot[0] % 64, 0);
    for (i = 0; i < 6; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &a), 0);
    for (i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    memset(&sum, 0, sizeof(sum));
    statsd_selfstats_threads_sum(t, &sum);
    ck_assert_uint_eq(sum.requests, 600000);
    ck_assert_uint_eq(sum.names_other, 60000);
    ck_assert_uint_eq(t->used, 4);
    free(mem);
}
END_TEST

START_TEST(deltas_add_up)
{
    statsd_selfstats total, prev, now, delta, out;
    statsd_stats st = {.lines = 40, .datagrams = 10, .bytes = 1000,
                       .drops = {[STATSD_DROP_REFUSED] = 3,
                                 [STATSD_DROP_TOOBIG] = 1}};

    memset(&total, 0, sizeof(total));
    memset(&prev, 0, sizeof(prev));
    memset(&now, 0, sizeof(now));
    now.requests = 10;
    statsd_selfstats_add_client(&now, &st);
    ck_assert_uint_eq(now.dropped, 4);
    statsd_selfstats_diff(&now, &prev, &delta);
    statsd_selfstats_add(&total, &delta);
    prev = now;
    now.requests = 15;
    now.lines = 60;
    statsd_selfstats_diff(&now, &prev, &delta);
    ck_assert_uint_eq(delta.requests, 5);
    ck_assert_uint_eq(delta.lines, 20);
    ck_assert_uint_eq(delta.dropped, 0);
    statsd_selfstats_add(&total, &delta);
    statsd_selfstats_read(&total, &out);
    ck_assert_uint_eq(out.requests, 15);
    ck_assert_uint_eq(out.lines, 60);
    ck_assert_uint_eq(out.datagrams, 10);
    ck_assert_uint_eq(out.bytes, 1000);
    ck_assert_uint_eq(out.dropped, 4);
    ck_assert_uint_eq(out.drops[STATSD_DROP_REFUSED], 3);
}
END_TEST

START_TEST(status_text_is_exact)
{
    static const char want[] =
        "StatsdRequests: 7\n"
        "StatsdLinesSent: 28\n"
        "StatsdDatagramsSent: 7\n"
        "StatsdBytesSent: 900\n"
        "StatsdDatagramsDropped: 2\n"
        "StatsdNamesDistinct: 5\n"
        "StatsdNamesOther: 1\n"
        "StatsdDroppedWouldBlock: 0\n"
        "StatsdDroppedRefused: 2\n"
        "StatsdDroppedNoBufs: 0\n"
        "StatsdDroppedNoSocket: 0\n"
        "StatsdDroppedUnresolved: 0\n"
        "StatsdDroppedTooLarge: 0\n"
        "StatsdDroppedOther: 0\n"
        "StatsdDroppedBadFd: 0\n";
    statsd_selfstats s = {.requests = 7, .lines = 28, .datagrams = 7,
                          .bytes = 900, .dropped = 2,
                          .drops = {[STATSD_DROP_REFUSED] = 2},
                          .names_other = 1};
    char buf[1024], small[20];
    size_t n;

    n = statsd_selfstats_format(&s, 5, buf, sizeof(buf));
    ck_assert_uint_eq(n, sizeof(want) - 1);
    ck_assert_str_eq(buf, want);
    /* too small: truncated, terminated, the full length returned */
    ck_assert_uint_eq(statsd_selfstats_format(&s, 5, small, sizeof(small)), n);
    ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
    ck_assert_int_eq(memcmp(small, want, sizeof(small) - 1), 0);
    ck_assert_uint_eq(statsd_selfstats_format(&s, 5, NULL, 0), n);
}
END_TEST

START_TEST(counter_lines_are_exact)
{
    statsd_selfstats d = {.lines = 400, .datagrams = 100, .dropped = 3,
                          .drops = {[STATSD_DROP_REFUSED] = 2,
                                    [STATSD_DROP_TOOBIG] = 1},
                          .names_other = 7};
    char buf[STATSD_SELFSTATS_LINES_CAP], small[40];
    size_t n;

    n = statsd_selfstats_format_lines(buf, sizeof(buf), "web", 3, &d);
    ck_assert_uint_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf,
        "web.mod_statsd.lines_sent:400|c\n"
        "web.mod_statsd.datagrams_sent:100|c\n"
        "web.mod_statsd.dropped:3|c\n"
        "web.mod_statsd.names_other:7|c\n"
        "web.mod_statsd.dropped.refused:2|c\n"
        "web.mod_statsd.dropped.toobig:1|c");
    memset(&d, 0, sizeof(d));
    n = statsd_selfstats_format_lines(buf, sizeof(buf), "", 0, &d);
    buf[n] = '\0';
    ck_assert_str_eq(buf,
        "mod_statsd.lines_sent:0|c\n"
        "mod_statsd.datagrams_sent:0|c\n"
        "mod_statsd.dropped:0|c\n"
        "mod_statsd.names_other:0|c");
    /* what does not fit is not sent in part */
    ck_assert_uint_eq(statsd_selfstats_format_lines(small, sizeof(small),
                                                    "web", 3, &d), 0);
}
END_TEST

UNIT_MAIN("statsd_selfstats", "selfstats", NULL, NULL, 60,
          UNIT_TEST(threads_sum_exactly),
          UNIT_TEST(deltas_add_up),
          UNIT_TEST(status_text_is_exact),
          UNIT_TEST(counter_lines_are_exact))
