/*
 * test_gauges.c - Check unit tests of the worker gauge lines
 * (statsd_gauges.h): HOST from a machine name, the exact lines with and
 * without a prefix and the async line, and what does not fit.
 *
 * Outputs are heap blocks of exactly the size given, so AddressSanitizer
 * sees any write past it.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_gauges.h"

#include "unit_util.h"

/* Format into a heap block of exactly cap bytes; returns a NUL-terminated
 * copy of the result (empty when 0 came back). */
static char *format(size_t cap, const char *prefix, const char *host,
                    const statsd_workers *w, size_t *len)
{
    char *dst = malloc(cap ? cap : 1);
    char *out;

    ck_assert_ptr_nonnull(dst);
    *len = statsd_gauges_format(dst, cap, prefix, prefix ? strlen(prefix) : 0,
                                host, strlen(host), w);
    out = dup_terminated(dst, *len);
    free(dst);
    return out;
}

static void check_lines(const char *prefix, const char *host,
                        const statsd_workers *w, const char *exp)
{
    size_t len;
    char *got = format(STATSD_GAUGES_CAP, prefix, host, w, &len);

    ASSERT_BYTES(got, len, exp, strlen(exp), "gauges");
    free(got);
}

START_TEST(lines_with_prefix)
{
    statsd_workers w = {3, 13, 16, 0, 0};

    check_lines("www", "web1", &w,
                "www.httpd.web1.workers.busy:3|g\n"
                "www.httpd.web1.workers.idle:13|g\n"
                "www.httpd.web1.workers.max:16|g");
}
END_TEST

START_TEST(lines_without_prefix)
{
    statsd_workers w = {0, 0, 150, 0, 0};

    check_lines(NULL, "web1", &w,
                "httpd.web1.workers.busy:0|g\n"
                "httpd.web1.workers.idle:0|g\n"
                "httpd.web1.workers.max:150|g");
    check_lines("", "web1", &w,
                "httpd.web1.workers.busy:0|g\n"
                "httpd.web1.workers.idle:0|g\n"
                "httpd.web1.workers.max:150|g");
}
END_TEST

START_TEST(async_line_when_counted)
{
    statsd_workers w = {1, 24, 25, 1, 0};

    check_lines("a.b", "h", &w,
                "a.b.httpd.h.workers.busy:1|g\n"
                "a.b.httpd.h.workers.idle:24|g\n"
                "a.b.httpd.h.workers.max:25|g\n"
                "a.b.httpd.h.connections.async:0|g");
    w.async = UINT64_C(18446744073709551615);
    check_lines("a.b", "h", &w,
                "a.b.httpd.h.workers.busy:1|g\n"
                "a.b.httpd.h.workers.idle:24|g\n"
                "a.b.httpd.h.workers.max:25|g\n"
                "a.b.httpd.h.connections.async:18446744073709551615|g");
}
END_TEST

START_TEST(exact_fit_and_one_byte_short)
{
    statsd_workers w = {1, 2, 3, 1, 4};
    const char *exp = "p.httpd.h.workers.busy:1|g\n"
                      "p.httpd.h.workers.idle:2|g\n"
                      "p.httpd.h.workers.max:3|g\n"
                      "p.httpd.h.connections.async:4|g";
    size_t len;
    char *got = format(strlen(exp), "p", "h", &w, &len);

    ASSERT_BYTES(got, len, exp, strlen(exp), "exact fit");
    free(got);
    got = format(strlen(exp) - 1, "p", "h", &w, &len);
    ck_assert_uint_eq(len, 0);
    free(got);
}
END_TEST

START_TEST(longest_parts_fit_the_cap)
{
    statsd_workers w = {UINT64_MAX, UINT64_MAX, UINT64_MAX, 1, UINT64_MAX};
    char prefix[STATSD_AFFIX_MAX + 1], host[STATSD_GAUGE_HOST_MAX + 1];
    size_t len;
    char *got;

    memset(prefix, 'p', STATSD_AFFIX_MAX);
    prefix[STATSD_AFFIX_MAX] = '\0';
    memset(host, 'h', STATSD_GAUGE_HOST_MAX);
    host[STATSD_GAUGE_HOST_MAX] = '\0';
    got = format(STATSD_GAUGES_CAP, prefix, host, &w, &len);
    ck_assert_uint_gt(len, 0);
    ck_assert_uint_le(len, STATSD_GAUGES_CAP);
    free(got);
}
END_TEST

START_TEST(unusable_arguments)
{
    statsd_workers w = {1, 2, 3, 0, 0};
    char buf[STATSD_GAUGES_CAP];
    char long_host[STATSD_GAUGE_HOST_MAX + 2];

    ck_assert_uint_eq(statsd_gauges_format(buf, sizeof buf, "p", 1, "", 0,
                                           &w), 0);
    ck_assert_uint_eq(statsd_gauges_format(buf, sizeof buf, "p", 1, "h", 1,
                                           NULL), 0);
    ck_assert_uint_eq(statsd_gauges_format(NULL, sizeof buf, "p", 1, "h", 1,
                                           &w), 0);
    ck_assert_uint_eq(statsd_gauges_format(buf, sizeof buf, NULL, 1, "h", 1,
                                           &w), 0);
    ck_assert_uint_eq(statsd_gauges_format(buf, sizeof buf, "p",
                                           STATSD_AFFIX_MAX + 1, "h", 1, &w),
                      0);
    memset(long_host, 'h', sizeof long_host);
    ck_assert_uint_eq(statsd_gauges_format(buf, sizeof buf, "p", 1, long_host,
                                           STATSD_GAUGE_HOST_MAX + 1, &w), 0);
    ck_assert_uint_eq(statsd_gauges_format(buf, 0, "p", 1, "h", 1, &w), 0);
}
END_TEST

static void check_host(const char *fqdn, const char *exp)
{
    char *dst = malloc(STATSD_GAUGE_HOST_MAX + 1);
    size_t len;

    ck_assert_ptr_nonnull(dst);
    len = statsd_gauges_host(dst, fqdn);
    ASSERT_BYTES(dst, len, exp, strlen(exp), fqdn ? fqdn : "(null)");
    ck_assert_int_eq(dst[len], '\0');
    free(dst);
}

START_TEST(host_names)
{
    char long_name[400], exp[STATSD_GAUGE_HOST_MAX + 1];

    check_host("web1.example.com", "web1");
    check_host("web1", "web1");
    check_host("we+b 1.example.com", "we_b_1");
    check_host("web-1_a", "web-1_a");
    check_host(".example.com", "unknown");
    check_host("", "unknown");
    check_host(NULL, "unknown");
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    memset(exp, 'x', STATSD_GAUGE_HOST_MAX);
    exp[STATSD_GAUGE_HOST_MAX] = '\0';
    check_host(long_name, exp);
}
END_TEST

static Suite *gauges_suite(void)
{
    Suite *s = suite_create("statsd_gauges");
    TCase *tc = tcase_create("gauges");

    tcase_add_test(tc, lines_with_prefix);
    tcase_add_test(tc, lines_without_prefix);
    tcase_add_test(tc, async_line_when_counted);
    tcase_add_test(tc, exact_fit_and_one_byte_short);
    tcase_add_test(tc, longest_parts_fit_the_cap);
    tcase_add_test(tc, unusable_arguments);
    tcase_add_test(tc, host_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gauges_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
