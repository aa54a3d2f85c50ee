/*
 * Check tests of statsd_buckets: bounds and a request's bucket lines.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_buckets.h"
#include "unit_util.h"

static statsd_buckets five;
static char out[4096];
static unsigned n_out;

static void setup(void)
{
    static const char *const ms[] = {"50", "100", "250", "500", "1000"};
    unsigned i;

    memset(&five, 0, sizeof(five));
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(statsd_buckets_add(&five, ms[i]), 0);
}

static const char *lines(uint64_t usec, const char *prefix,
                         statsd_tag_format f, const char *tags, int tag_mode)
{
    size_t len = statsd_buckets_lines(out, &five, usec, prefix,
                                      strlen(prefix), f, tags, strlen(tags),
                                      tag_mode, &n_out);

    ck_assert_uint_le(len, statsd_buckets_lines_max(&five, strlen(prefix),
                                                    strlen(tags)));
    out[len] = '\0';
    return out;
}

START_TEST(every_bound_at_or_above_the_duration)
{
    ck_assert_str_eq(lines(80000, "p", STATSD_TAGS_NONE, "", 0),
                     "p.responses.latency.le_100ms:1|c\n"
                     "p.responses.latency.le_250ms:1|c\n"
                     "p.responses.latency.le_500ms:1|c\n"
                     "p.responses.latency.le_1000ms:1|c");
    ck_assert_uint_eq(n_out, 4);
    /* a bound is "at most": exactly 100 ms is in le_100ms */
    lines(100000, "p", STATSD_TAGS_NONE, "", 0);
    ck_assert_uint_eq(n_out, 4);
    lines(100001, "p", STATSD_TAGS_NONE, "", 0);
    ck_assert_uint_eq(n_out, 3);
    lines(1, "p", STATSD_TAGS_NONE, "", 0);
    ck_assert_uint_eq(n_out, 5);
    /* slower than every bound: nothing */
    ck_assert_str_eq(lines(1000001, "p", STATSD_TAGS_NONE, "", 0), "");
    ck_assert_uint_eq(n_out, 0);
    /* no prefix */
    ck_assert_str_eq(lines(900000, "", STATSD_TAGS_NONE, "", 0),
                     "responses.latency.le_1000ms:1|c");
}
END_TEST

/* One request's bucket lines: its duration, prefix, format, static tags
 * text and tag mode, and the exact lines. */
typedef struct {
    uint64_t usec;
    const char *prefix;
    statsd_tag_format format;
    const char *tags;
    int tag_mode;
    const char *exp;
} lines_case;

static void check_lines(const lines_case *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        ck_assert_str_eq(lines(cases[i].usec, cases[i].prefix,
                               cases[i].format, cases[i].tags,
                               cases[i].tag_mode),
                         cases[i].exp);
}

START_TEST(static_tags_where_the_format_puts_them)
{
    static const lines_case cases[] = {
        {600000, "p", STATSD_TAGS_DOGSTATSD, "|#env:prod", 0,
         "p.responses.latency.le_1000ms:1|c|#env:prod"},
        {600000, "p", STATSD_TAGS_INFLUX, ",env=prod", 0,
         "p.responses.latency.le_1000ms,env=prod:1|c"},
        {600000, "p", STATSD_TAGS_GRAPHITE, ";env=prod", 0,
         "p.responses.latency.le_1000ms;env=prod:1|c"},
        /* the format none never writes tags */
        {600000, "p", STATSD_TAGS_NONE, "|#x:y", 1,
         "p.responses.latency.le_1000ms:1|c"},
    };

    check_lines(cases, UNIT_COUNT(cases));
}
END_TEST

START_TEST(tag_mode_has_one_name_and_an_le_tag)
{
    static const lines_case cases[] = {
        {300000, "p", STATSD_TAGS_DOGSTATSD, "|#env:prod", 1,
         "p.responses.latency:1|c|#env:prod,le:500ms\n"
         "p.responses.latency:1|c|#env:prod,le:1000ms"},
        {600000, "p", STATSD_TAGS_DOGSTATSD, "", 1,
         "p.responses.latency:1|c|#le:1000ms"},
        {600000, "p", STATSD_TAGS_INFLUX, ",env=prod", 1,
         "p.responses.latency,env=prod,le=1000ms:1|c"},
        {600000, "p", STATSD_TAGS_INFLUX, "", 1,
         "p.responses.latency,le=1000ms:1|c"},
        {600000, "p", STATSD_TAGS_GRAPHITE, "", 1,
         "p.responses.latency;le=1000ms:1|c"},
    };

    check_lines(cases, UNIT_COUNT(cases));
}
END_TEST

START_TEST(bounds_are_checked)
{
    statsd_buckets b;
    static const char *const bad[] = {"0", "-5", "1.5", "abc", "", "3600001",
                                      "99999999", "5ms"};
    unsigned i;

    memset(&b, 0, sizeof(b));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(statsd_buckets_add(&b, bad[i]) == -1, "%s", bad[i]);
    ck_assert_int_eq(statsd_buckets_add(&b, "0100"), 0);
    ck_assert_str_eq(b.label[0], "100ms");
    /* ascending only */
    ck_assert_int_eq(statsd_buckets_add(&b, "100"), -1);
    ck_assert_int_eq(statsd_buckets_add(&b, "50"), -1);
    ck_assert_int_eq(statsd_buckets_add(&b, "3600000"), 0);
    ck_assert_str_eq(b.label[1], "3600000ms");
    memset(&b, 0, sizeof(b));
    for (i = 1; i <= STATSD_BUCKETS_MAX; i++) {
        char v[8];
        snprintf(v, sizeof(v), "%u", i);
        ck_assert_int_eq(statsd_buckets_add(&b, v), 0);
    }
    ck_assert_int_eq(statsd_buckets_add(&b, "100"), -1);   /* too many */
}
END_TEST

UNIT_MAIN("statsd_buckets", "core", setup, NULL, 0,
          UNIT_TEST(every_bound_at_or_above_the_duration),
          UNIT_TEST(static_tags_where_the_format_puts_them),
          UNIT_TEST(tag_mode_has_one_name_and_an_le_tag),
          UNIT_TEST(bounds_are_checked))
