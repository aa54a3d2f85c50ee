/*
 * Check tests of statsd_sample: rates, the per-thread random source and
 * which lines of a request are kept, with their "|@r".
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_sample.h"
#include "unit_util.h"

START_TEST(rates_parse_and_print)
{
    statsd_rate r;

    ck_assert_int_eq(statsd_sample_parse("0.1", &r), 0);
    ck_assert_str_eq(r.text, "|@0.1");
    ck_assert_uint_eq(r.text_len, 5);
    ck_assert_int_eq(r.all, 0);
    ck_assert_uint_eq(r.threshold, 429496729u);
    ck_assert_int_eq(statsd_sample_parse(".25", &r), 0);
    ck_assert_str_eq(r.text, "|@0.25");
    ck_assert_uint_eq(r.threshold, 1u << 30);
    ck_assert_int_eq(statsd_sample_parse("0.000001", &r), 0);
    ck_assert_str_eq(r.text, "|@0.000001");
    ck_assert_int_eq(statsd_sample_parse("0.5000", &r), 0);
    ck_assert_str_eq(r.text, "|@0.5");
    ck_assert_int_eq(statsd_sample_parse("1", &r), 0);
    ck_assert_int_eq(r.all, 1);
    ck_assert_int_eq(statsd_sample_parse("1.000", &r), 0);
    ck_assert_int_eq(r.all, 1);
}
END_TEST

START_TEST(bad_rates_are_refused)
{
    static const char *const bad[] = {
        "0", "0.0", "1.5", "-0.1", "+0.1", "abc", "nan", "inf", "1e-2",
        "0.1.2", ".", "", " 0.1", "0.1 ", "0.0000001", "0.0000005",
        "2", "0x1", "0,5"};
    statsd_rate r;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(statsd_sample_parse(bad[i], &r) == -1, "%s", bad[i]);
    ck_assert_int_eq(statsd_sample_parse(NULL, &r), -1);
}
END_TEST

START_TEST(a_seed_gives_one_stream)
{
    uint32_t a[8];
    int i;

    /* each test runs in its own process (CK_FORK): this thread is the
     * first to draw after the seed */
    statsd_sample_seed(42);
    for (i = 0; i < 8; i++)
        a[i] = statsd_sample_draw();
    ck_assert_uint_ne(a[0], a[1]);
    statsd_sample_seed(42);
    /* the thread's stream started already: a new seed reaches threads
     * that have not drawn yet; a fork (a new child) starts over */
    ck_assert_uint_ne(statsd_sample_draw(), a[0]);
}
END_TEST

static void *draw_once(void *arg)
{
    *(uint32_t *)arg = statsd_sample_draw();
    return NULL;
}

START_TEST(threads_get_streams_of_their_own)
{
    pthread_t t[4];
    uint32_t first[4];
    int i, j;

    statsd_sample_seed(7);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_create(&t[i], NULL, draw_once, &first[i]), 0);
        pthread_join(t[i], NULL);
    }
    for (i = 0; i < 4; i++)
        for (j = i + 1; j < 4; j++)
            ck_assert_uint_ne(first[i], first[j]);
}
END_TEST

START_TEST(draws_are_uniform_enough)
{
    statsd_rate r;
    unsigned kept = 0, i, n = 200000;
    double sd;

    statsd_sample_seed(12345);
    ck_assert_int_eq(statsd_sample_parse("0.1", &r), 0);
    for (i = 0; i < n; i++)
        kept += statsd_sample_draw() < r.threshold;
    /* binomial: mean n r, sd sqrt(n r (1-r)); 5 sd either side */
    sd = sqrt(n * 0.1 * 0.9);
    ck_assert_msg(fabs(kept - n * 0.1) < 5 * sd, "kept %u of %u", kept, n);
}
END_TEST

static char out[4096];
static unsigned n_out;

static const char *apply_at(const statsd_rate *r, const char *lines,
                            unsigned n, int bad, long time_line);

static const char *apply(const statsd_rate *r, const char *lines,
                         unsigned n, int bad, int service)
{
    return apply_at(r, lines, n, bad, service ? (long)n - 1 : -1);
}

static const char *apply_at(const statsd_rate *r, const char *lines,
                            unsigned n, int bad, long time_line)
{
    size_t len = strlen(lines);
    char *copy = dup_exact(lines, len);
    size_t o = statsd_sample_lines(r, copy, len, n, bad, time_line, out,
                                   &n_out);
    free(copy);
    ck_assert_uint_le(o, len + n * r->text_len);
    out[o] = '\0';
    return out;
}

#define GOOD "p.a.GET.200:1.5|ms\np.a.GET.200:1|c\np.responses.good:1|c\n" \
             "p.responses.time:1.5|ms"
#define BAD "p.a.GET.503:2|ms\np.a.GET.503:1|c\np.responses.bad:1|c\n" \
            "p.responses.5xx:1|c\np.responses.time:2|ms"

/* The rate text parses, with its threshold set to threshold: the draw
 * below which a request is kept. */
static statsd_rate rate_with(const char *text, uint32_t threshold)
{
    statsd_rate r;

    ck_assert_int_eq(statsd_sample_parse(text, &r), 0);
    r.threshold = threshold;
    return r;
}

START_TEST(kept_good_lines_carry_the_rate)
{
    /* keep (unless a draw is 2^32 - 1) */
    statsd_rate r = rate_with("0.1", UINT32_MAX);

    statsd_sample_seed(1);
    ck_assert_str_eq(apply(&r, GOOD, 4, 0, 1),
                     "p.a.GET.200:1.5|ms|@0.1\np.a.GET.200:1|c|@0.1\n"
                     "p.responses.good:1|c|@0.1\np.responses.time:1.5|ms|@0.1");
    ck_assert_uint_eq(n_out, 4);
    /* without service lines the last line is a request line */
    ck_assert_str_eq(apply(&r, "k:1|ms\nk:1|c", 2, 0, 0),
                     "k:1|ms|@0.1\nk:1|c|@0.1");
}
END_TEST

START_TEST(dropped_good_request_sends_nothing)
{
    /* never kept */
    statsd_rate r = rate_with("0.1", 0);

    ck_assert_str_eq(apply(&r, GOOD, 4, 0, 1), "");
    ck_assert_uint_eq(n_out, 0);
}
END_TEST

START_TEST(bad_lines_are_exact_but_the_time_is_sampled)
{
    /* responses.time not drawn */
    statsd_rate r = rate_with("0.25", 0);

    ck_assert_str_eq(apply(&r, BAD, 5, 1, 1),
                     "p.a.GET.503:2|ms\np.a.GET.503:1|c\np.responses.bad:1|c\n"
                     "p.responses.5xx:1|c");
    ck_assert_uint_eq(n_out, 4);
    r.threshold = UINT32_MAX;
    ck_assert_str_eq(apply(&r, BAD, 5, 1, 1),
                     "p.a.GET.503:2|ms\np.a.GET.503:1|c\np.responses.bad:1|c\n"
                     "p.responses.5xx:1|c\np.responses.time:2|ms|@0.25");
}
END_TEST

START_TEST(rate_goes_before_tags_at_the_end)
{
    statsd_rate r = rate_with("0.5", UINT32_MAX);

    ck_assert_str_eq(apply(&r, "k:1|ms|#a:b,c:d\nk:1|c|#a:b", 2, 0, 0),
                     "k:1|ms|@0.5|#a:b,c:d\nk:1|c|@0.5|#a:b");
    ck_assert_str_eq(apply(&r, "k,a=b:1|ms\nk;a=b:1|c", 2, 0, 0),
                     "k,a=b:1|ms|@0.5\nk;a=b:1|c|@0.5");
}
END_TEST

START_TEST(lines_after_the_time_follow_the_request)
{
    /* breakdown lines come after responses.time */
    statsd_rate r = rate_with("0.5", 0);

    ck_assert_str_eq(apply_at(&r, BAD "\np.responses.bytes:512|c", 6, 1, 4),
                     "p.a.GET.503:2|ms\np.a.GET.503:1|c\np.responses.bad:1|c\n"
                     "p.responses.5xx:1|c\np.responses.bytes:512|c");
    ck_assert_str_eq(apply_at(&r, GOOD "\np.responses.bytes:512|c", 5, 0, 3), "");
    r.threshold = UINT32_MAX;
    ck_assert_str_eq(apply_at(&r, GOOD "\np.responses.bytes:512|c", 5, 0, 3),
                     "p.a.GET.200:1.5|ms|@0.5\np.a.GET.200:1|c|@0.5\n"
                     "p.responses.good:1|c|@0.5\np.responses.time:1.5|ms|@0.5\n"
                     "p.responses.bytes:512|c|@0.5");
}
END_TEST

START_TEST(good_fraction_and_time_fraction)
{
    statsd_rate r;
    unsigned i, n = 20000, good = 0, time = 0, bad_lines = 0;
    double sd = sqrt(n * 0.2 * 0.8);

    ck_assert_int_eq(statsd_sample_parse("0.2", &r), 0);
    statsd_sample_seed(99);
    for (i = 0; i < n; i++) {
        apply(&r, GOOD, 4, 0, 1);
        good += strstr(out, "good:1|c|@0.2") != NULL;
        time += strstr(out, "time:1.5|ms|@0.2") != NULL;
        apply(&r, BAD, 5, 1, 1);
        bad_lines += strstr(out, "p.responses.bad:1|c\n") != NULL;
    }
    ck_assert_uint_eq(bad_lines, n);
    ck_assert_msg(fabs(good - n * 0.2) < 5 * sd, "good %u", good);
    ck_assert_msg(fabs(time - n * 0.2) < 5 * sd, "time %u", time);
}
END_TEST

UNIT_MAIN("statsd_sample", "core", NULL, NULL, 0,
          UNIT_TEST(rates_parse_and_print),
          UNIT_TEST(bad_rates_are_refused),
          UNIT_TEST(a_seed_gives_one_stream),
          UNIT_TEST(threads_get_streams_of_their_own),
          UNIT_TEST(draws_are_uniform_enough),
          UNIT_TEST(kept_good_lines_carry_the_rate),
          UNIT_TEST(dropped_good_request_sends_nothing),
          UNIT_TEST(bad_lines_are_exact_but_the_time_is_sampled),
          UNIT_TEST(rate_goes_before_tags_at_the_end),
          UNIT_TEST(lines_after_the_time_follow_the_request),
          UNIT_TEST(good_fraction_and_time_fraction))
