/*
 * test_breakdown.c - Check unit tests of the time-to-first-byte, bytes
 * and aborted lines (statsd_breakdown.h): each line alone and together,
 * time units and timer types, the tags of each dialect, no prefix, and
 * the longest lines within the room the measurement keeps for them; the
 * backend lines (answered, classified, errors; tag mode) and backend names.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_breakdown.h"
#include "statsd_tags.h"

#include "unit_util.h"

#define S(lit) (lit), sizeof(lit) - 1

static void check_lines(const char *prefix, const statsd_breakdown *b,
                        statsd_time_unit unit, statsd_timer_type timer,
                        statsd_tag_format f, const char *tags,
                        const char *exp, unsigned exp_n)
{
    char *dst = malloc(STATSD_BREAKDOWN_MAX);
    char *pre = dup_exact(prefix, strlen(prefix));
    char *tg = dup_exact(tags, strlen(tags));
    unsigned n = 99;
    size_t len;

    ck_assert_ptr_nonnull(dst);
    len = statsd_breakdown_lines(dst, pre, strlen(prefix), b, unit, timer,
                                 f, tg, strlen(tags), &n);
    ASSERT_BYTES(dst, len, exp, strlen(exp), "breakdown lines");
    ck_assert_uint_eq(n, exp_n);
    free(dst);
    free(pre);
    free(tg);
}

START_TEST(each_line)
{
    statsd_breakdown ttfb = {1, 12345, 0, 0, 0};
    statsd_breakdown bytes = {0, 0, 1, 4711, 0};
    statsd_breakdown aborted = {0, 0, 0, 0, 1};
    statsd_breakdown none = {0, 0, 0, 0, 0};
    statsd_breakdown zero = {0, 0, 1, 0, 0};

    check_lines("shop", &ttfb, STATSD_UNIT_MS, STATSD_TIMER_MS,
                STATSD_TAGS_NONE, "", "\nshop.responses.ttfb:12.345|ms", 1);
    check_lines("shop", &bytes, STATSD_UNIT_MS, STATSD_TIMER_MS,
                STATSD_TAGS_NONE, "", "\nshop.responses.bytes:4711|c", 1);
    check_lines("shop", &aborted, STATSD_UNIT_MS, STATSD_TIMER_MS,
                STATSD_TAGS_NONE, "", "\nshop.responses.aborted:1|c", 1);
    check_lines("shop", &none, STATSD_UNIT_MS, STATSD_TIMER_MS,
                STATSD_TAGS_NONE, "", "", 0);
    check_lines("shop", &zero, STATSD_UNIT_MS, STATSD_TIMER_MS,
                STATSD_TAGS_NONE, "", "\nshop.responses.bytes:0|c", 1);
}
END_TEST

START_TEST(all_three_no_prefix)
{
    statsd_breakdown b = {1, 2000, 1, 1234567890123ULL, 1};

    check_lines("", &b, STATSD_UNIT_MS, STATSD_TIMER_MS, STATSD_TAGS_NONE,
                "", "\nresponses.ttfb:2|ms\nresponses.bytes:1234567890123|c"
                "\nresponses.aborted:1|c", 3);
}
END_TEST

START_TEST(units_and_timer_types)
{
    statsd_breakdown b = {1, 1500, 0, 0, 0};
    statsd_breakdown zero = {1, 0, 0, 0, 0};

    check_lines("p", &b, STATSD_UNIT_US, STATSD_TIMER_MS, STATSD_TAGS_NONE,
                "", "\np.responses.ttfb:1500|ms", 1);
    check_lines("p", &b, STATSD_UNIT_S, STATSD_TIMER_H, STATSD_TAGS_NONE,
                "", "\np.responses.ttfb:0.0015|h", 1);
    check_lines("p", &b, STATSD_UNIT_MS, STATSD_TIMER_D, STATSD_TAGS_NONE,
                "", "\np.responses.ttfb:1.5|d", 1);
    /* a timer is never 0 */
    check_lines("p", &zero, STATSD_UNIT_MS, STATSD_TIMER_MS,
                STATSD_TAGS_NONE, "", "\np.responses.ttfb:0.001|ms", 1);
}
END_TEST

START_TEST(tags_per_dialect)
{
    statsd_breakdown b = {1, 3000, 1, 10, 1};
    statsd_tagset *t = calloc(1, sizeof(*t));
    static const struct {
        statsd_tag_format format;
        const char *exp;
    } dialects[] = {
        {STATSD_TAGS_DOGSTATSD, "\nshop.responses.ttfb:3|ms|#env:prod"
                                "\nshop.responses.bytes:10|c|#env:prod"
                                "\nshop.responses.aborted:1|c|#env:prod"},
        {STATSD_TAGS_INFLUX, "\nshop.responses.ttfb,env=prod:3|ms"
                             "\nshop.responses.bytes,env=prod:10|c"
                             "\nshop.responses.aborted,env=prod:1|c"},
        {STATSD_TAGS_GRAPHITE, "\nshop.responses.ttfb;env=prod:3|ms"
                               "\nshop.responses.bytes;env=prod:10|c"
                               "\nshop.responses.aborted;env=prod:1|c"},
    };
    size_t i, len;

    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(statsd_tags_add(t, S("env"), S("prod")), STATSD_TAG_OK);
    for (i = 0; i < UNIT_COUNT(dialects); i++)
        check_lines("shop", &b, STATSD_UNIT_MS, STATSD_TIMER_MS,
                    dialects[i].format,
                    statsd_tags_text(t, dialects[i].format, &len),
                    dialects[i].exp, 3);
    /* format none: the tags are not written */
    check_lines("shop", &b, STATSD_UNIT_MS, STATSD_TIMER_MS,
                STATSD_TAGS_NONE, "|#env:prod",
                "\nshop.responses.ttfb:3|ms\nshop.responses.bytes:10|c"
                "\nshop.responses.aborted:1|c", 3);
    free(t);
}
END_TEST

/* The longest prefix, number and tags: within STATSD_BREAKDOWN_MAX (the
 * buffer is exactly that size, so ASan sees any write past it), and a
 * prefix past the cap is cut. */
START_TEST(largest)
{
    statsd_breakdown b = {1, UINT64_MAX, 1, UINT64_MAX, 1};
    char prefix[STATSD_AFFIX_MAX + 10];
    char tags[STATSD_TAGS_TEXT_MAX];
    char *dst = malloc(STATSD_BREAKDOWN_MAX);
    unsigned n;
    size_t len;

    ck_assert_ptr_nonnull(dst);
    memset(prefix, 'p', sizeof(prefix));
    memset(tags, 't', sizeof(tags));
    tags[0] = '|';
    tags[1] = '#';
    len = statsd_breakdown_lines(dst, prefix, sizeof(prefix), &b,
                                 STATSD_UNIT_US, STATSD_TIMER_MS,
                                 STATSD_TAGS_DOGSTATSD, tags, sizeof(tags),
                                 &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_le(len, STATSD_BREAKDOWN_MAX);
    ck_assert_int_eq(dst[0], '\n');
    ck_assert_int_eq(dst[1 + STATSD_AFFIX_MAX], '.');
    ck_assert(memcmp(dst + 2 + STATSD_AFFIX_MAX, "responses.ttfb:"
                     "18446744073709551615|ms|#", 40) == 0);
    free(dst);
}
END_TEST

static void check_name(const char *src, const char *exp)
{
    char dst[STATSD_BACKEND_NAME_MAX];
    char *in = dup_exact(src, strlen(src));
    size_t len = statsd_breakdown_backend_name(dst, in, strlen(src));

    ASSERT_BYTES(dst, len, exp, strlen(exp), "backend name");
    free(in);
}

START_TEST(backend_names)
{
    check_name("http://127.0.0.1:8080", "http___127_0_0_1_8080");
    check_name("http://127.0.0.1:8080/app/x", "http___127_0_0_1_8080");
    check_name("https://[::1]:8443/", "https______1__8443");
    check_name("balancer://pool", "balancer___pool");
    check_name("balancer://pool/x", "balancer___pool");
    check_name("shop-api_2", "shop-api_2");
    check_name("a.b c/d", "a_b_c_d");
    check_name("", "");
    check_name("http://0123456789012345678901234567890123456789012345678901234567890123456789",
               "http___012345678901234567890123456789012345678901234567890123456");
}
END_TEST

static void check_backend(const char *name, int answered, int status,
                          uint64_t usec, statsd_tag_format f,
                          const char *tags, int tag_mode, const char *exp,
                          unsigned exp_n)
{
    char *dst = malloc(4 * (STATSD_BACKEND_LINE_MAX + 1));
    statsd_backend_result b;
    unsigned n = 99;
    size_t len;

    ck_assert_ptr_nonnull(dst);
    b.name = dup_exact(name, strlen(name));
    b.name_len = strlen(name);
    b.answered = answered;
    b.status = status;
    b.usec = usec;
    len = statsd_breakdown_backend_lines(dst, S("shop"), &b, STATSD_UNIT_MS,
                                         STATSD_TIMER_MS, f, tags,
                                         strlen(tags), tag_mode, &n);
    ASSERT_BYTES(dst, len, exp, strlen(exp), "backend lines");
    ck_assert_uint_eq(n, exp_n);
    free((void *)b.name);
    free(dst);
}

START_TEST(backend_lines)
{
    check_backend("api", 1, 200, 250000, STATSD_TAGS_NONE, "", 0,
                  "\nshop.backend.api.time:250|ms\nshop.backend.api.good:1|c",
                  2);
    check_backend("api", 1, 304, 1, STATSD_TAGS_NONE, "", 0,
                  "\nshop.backend.api.time:0.001|ms\nshop.backend.api.good:1|c",
                  2);
    check_backend("api", 1, 404, 1500, STATSD_TAGS_NONE, "", 0,
                  "\nshop.backend.api.time:1.5|ms\nshop.backend.api.bad:1|c"
                  "\nshop.backend.api.4xx:1|c", 3);
    check_backend("api", 1, 503, 1500, STATSD_TAGS_NONE, "", 1,
                  "\nshop.backend.api.time:1.5|ms\nshop.backend.api.bad:1|c"
                  "\nshop.backend.api.5xx:1|c", 3);
    check_backend("api", 0, 503, 1500, STATSD_TAGS_NONE, "", 0,
                  "\nshop.backend.api.errors:1|c", 1);
    check_backend("", 1, 200, 1500, STATSD_TAGS_NONE, "", 0, "", 0);
}
END_TEST

START_TEST(backend_tags)
{
    /* classic names keep the static tags only */
    check_backend("api", 0, 502, 1, STATSD_TAGS_DOGSTATSD, "|#env:prod", 0,
                  "\nshop.backend.api.errors:1|c|#env:prod", 1);
    /* tag mode: fixed names, backend as the last tag */
    check_backend("api", 1, 200, 2000, STATSD_TAGS_DOGSTATSD, "|#env:prod",
                  1, "\nshop.backend.time:2|ms|#env:prod,backend:api"
                  "\nshop.backend.good:1|c|#env:prod,backend:api", 2);
    check_backend("api", 0, 502, 1, STATSD_TAGS_DOGSTATSD, "", 1,
                  "\nshop.backend.errors:1|c|#backend:api", 1);
    check_backend("api", 0, 502, 1, STATSD_TAGS_INFLUX, ",env=prod", 1,
                  "\nshop.backend.errors,env=prod,backend=api:1|c", 1);
    check_backend("api", 0, 502, 1, STATSD_TAGS_GRAPHITE, "", 1,
                  "\nshop.backend.errors;backend=api:1|c", 1);
}
END_TEST

/* The longest backend lines fit what the header promises. */
START_TEST(backend_largest)
{
    char name[STATSD_BACKEND_NAME_MAX + 5];
    char tags[STATSD_TAGS_TEXT_MAX];
    char prefix[STATSD_AFFIX_MAX];
    char *dst = malloc(4 * (STATSD_BACKEND_LINE_MAX + 1));
    statsd_backend_result b;
    unsigned n;
    size_t len;
    int tag_mode;

    ck_assert_ptr_nonnull(dst);
    memset(name, 'n', sizeof(name));
    memset(tags, 't', sizeof(tags));
    memset(prefix, 'p', sizeof(prefix));
    tags[0] = '|';
    tags[1] = '#';
    b.name = name;
    b.name_len = sizeof(name);
    b.answered = 1;
    b.status = 599;
    b.usec = UINT64_MAX;
    /* tag mode, then classic names */
    for (tag_mode = 1; tag_mode >= 0; tag_mode--) {
        len = statsd_breakdown_backend_lines(dst, prefix, sizeof(prefix), &b,
                                             STATSD_UNIT_US, STATSD_TIMER_MS,
                                             STATSD_TAGS_DOGSTATSD, tags,
                                             sizeof(tags), tag_mode, &n);
        ck_assert_uint_eq(n, 3);
        ck_assert_uint_le(len, 4 * (STATSD_BACKEND_LINE_MAX + 1));
    }
    free(dst);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("statsd_breakdown");

    UNIT_TCASE(s, "lines", NULL, NULL, 0,
               UNIT_TEST(each_line),
               UNIT_TEST(all_three_no_prefix),
               UNIT_TEST(units_and_timer_types),
               UNIT_TEST(tags_per_dialect),
               UNIT_TEST(largest));
    UNIT_TCASE(s, "backends", NULL, NULL, 0,
               UNIT_TEST(backend_names),
               UNIT_TEST(backend_lines),
               UNIT_TEST(backend_tags),
               UNIT_TEST(backend_largest));
    return run_suite(s);
}
