/*
 * test_gauges.c - Check unit tests of the worker gauge lines
 * (statsd_gauges.h): HOST from a machine name, the exact lines with and
 * without a prefix and the async line, and what does not fit; the tagged
 * lines in each dialect with and without tag mode, and the reload marker.
 *
 * Outputs are heap blocks of exactly the size given, so AddressSanitizer
 * sees any write past it.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
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

/* A tagset of the (key, value) pairs given, NULL-terminated. */
static statsd_tagset *tagset(const char *k1, ...)
{
    statsd_tagset *set = calloc(1, sizeof(*set));
    const char *k = k1, *v;
    va_list ap;

    ck_assert_ptr_nonnull(set);
    va_start(ap, k1);
    while (k != NULL) {
        v = va_arg(ap, const char *);
        ck_assert_int_eq(statsd_tags_add(set, k, strlen(k), v, strlen(v)),
                         STATSD_TAG_OK);
        k = va_arg(ap, const char *);
    }
    va_end(ap);
    return set;
}

/* One tagged run: its prefix, host, format and tag mode, whether the
 * test's static tags are given, and the exact lines. */
typedef struct {
    const char *prefix, *host;
    statsd_tag_format format;
    int tag_mode, with_tags;
    const char *exp;
} tagged_case;

static void check_tagged(const statsd_tagset *set, const statsd_workers *w,
                         const tagged_case *cases, size_t n)
{
    char *dst = malloc(STATSD_GAUGES_CAP), *got;
    size_t i, len;

    ck_assert_ptr_nonnull(dst);
    for (i = 0; i < n; i++) {
        const tagged_case *c = &cases[i];
        statsd_gauge_tags t = {c->format, c->tag_mode,
                               c->with_tags ? set : NULL};

        len = statsd_gauges_format_tagged(dst, STATSD_GAUGES_CAP, c->prefix,
                                          strlen(c->prefix), c->host,
                                          strlen(c->host), &t, w);
        got = dup_terminated(dst, len);
        ASSERT_BYTES(got, len, c->exp, strlen(c->exp), "tagged gauges");
        free(got);
    }
    free(dst);
}

START_TEST(tag_mode_host_is_a_tag)
{
    statsd_workers w = {3, 13, 16, 1, 5};
    statsd_tagset *set = tagset("env", "prod", "team", "web", NULL);
    static const tagged_case cases[] = {
        {"shop", "web1", STATSD_TAGS_DOGSTATSD, 1, 1,
         "shop.httpd.workers.busy:3|g|#env:prod,team:web,host:web1\n"
         "shop.httpd.workers.idle:13|g|#env:prod,team:web,host:web1\n"
         "shop.httpd.workers.max:16|g|#env:prod,team:web,host:web1\n"
         "shop.httpd.connections.async:5|g"
         "|#env:prod,team:web,host:web1"},
        {"shop", "web1", STATSD_TAGS_INFLUX, 1, 1,
         "shop.httpd.workers.busy,env=prod,team=web,host=web1:3|g\n"
         "shop.httpd.workers.idle,env=prod,team=web,host=web1:13|g\n"
         "shop.httpd.workers.max,env=prod,team=web,host=web1:16|g\n"
         "shop.httpd.connections.async,env=prod,team=web,host=web1"
         ":5|g"},
        {"shop", "web1", STATSD_TAGS_GRAPHITE, 1, 1,
         "shop.httpd.workers.busy;env=prod;team=web;host=web1:3|g\n"
         "shop.httpd.workers.idle;env=prod;team=web;host=web1:13|g\n"
         "shop.httpd.workers.max;env=prod;team=web;host=web1:16|g\n"
         "shop.httpd.connections.async;env=prod;team=web;host=web1"
         ":5|g"},
    };

    check_tagged(set, &w, cases, UNIT_COUNT(cases));
    free(set);
}
END_TEST

START_TEST(tag_mode_without_static_tags)
{
    statsd_workers w = {0, 8, 8, 0, 0};
    static const tagged_case cases[] = {
        {"", "h", STATSD_TAGS_DOGSTATSD, 1, 0,
         "httpd.workers.busy:0|g|#host:h\n"
         "httpd.workers.idle:8|g|#host:h\n"
         "httpd.workers.max:8|g|#host:h"},
        {"p", "h", STATSD_TAGS_INFLUX, 1, 0,
         "p.httpd.workers.busy,host=h:0|g\n"
         "p.httpd.workers.idle,host=h:8|g\n"
         "p.httpd.workers.max,host=h:8|g"},
        {"p", "h", STATSD_TAGS_GRAPHITE, 1, 0,
         "p.httpd.workers.busy;host=h:0|g\n"
         "p.httpd.workers.idle;host=h:8|g\n"
         "p.httpd.workers.max;host=h:8|g"},
    };

    check_tagged(NULL, &w, cases, UNIT_COUNT(cases));
}
END_TEST

START_TEST(static_host_tag_stands_for_host)
{
    statsd_workers w = {1, 1, 2, 0, 0};
    statsd_tagset *set = tagset("host", "edge-a", "env", "prod", NULL);
    static const tagged_case cases[] = {
        {"p", "web1", STATSD_TAGS_DOGSTATSD, 1, 1,
         "p.httpd.workers.busy:1|g|#host:edge-a,env:prod\n"
         "p.httpd.workers.idle:1|g|#host:edge-a,env:prod\n"
         "p.httpd.workers.max:2|g|#host:edge-a,env:prod"},
    };

    check_tagged(set, &w, cases, UNIT_COUNT(cases));
    free(set);
}
END_TEST

START_TEST(classic_names_carry_static_tags)
{
    statsd_workers w = {2, 6, 8, 0, 0};
    statsd_tagset *set = tagset("env", "prod", NULL);
    static const tagged_case cases[] = {
        {"p", "web1", STATSD_TAGS_DOGSTATSD, 0, 1,
         "p.httpd.web1.workers.busy:2|g|#env:prod\n"
         "p.httpd.web1.workers.idle:6|g|#env:prod\n"
         "p.httpd.web1.workers.max:8|g|#env:prod"},
        {"p", "web1", STATSD_TAGS_INFLUX, 0, 1,
         "p.httpd.web1.workers.busy,env=prod:2|g\n"
         "p.httpd.web1.workers.idle,env=prod:6|g\n"
         "p.httpd.web1.workers.max,env=prod:8|g"},
        {"p", "web1", STATSD_TAGS_GRAPHITE, 0, 1,
         "p.httpd.web1.workers.busy;env=prod:2|g\n"
         "p.httpd.web1.workers.idle;env=prod:6|g\n"
         "p.httpd.web1.workers.max;env=prod:8|g"},
        /* a format without static tags: the classic lines */
        {"p", "web1", STATSD_TAGS_GRAPHITE, 0, 0,
         "p.httpd.web1.workers.busy:2|g\n"
         "p.httpd.web1.workers.idle:6|g\n"
         "p.httpd.web1.workers.max:8|g"},
        /* no format: tag mode and tags change nothing */
        {"p", "web1", STATSD_TAGS_NONE, 1, 1,
         "p.httpd.web1.workers.busy:2|g\n"
         "p.httpd.web1.workers.idle:6|g\n"
         "p.httpd.web1.workers.max:8|g"},
    };

    check_tagged(set, &w, cases, UNIT_COUNT(cases));
    free(set);
}
END_TEST

START_TEST(longest_tagged_fit_the_cap)
{
    statsd_workers w = {UINT64_MAX, UINT64_MAX, UINT64_MAX, 1, UINT64_MAX};
    char prefix[STATSD_AFFIX_MAX], host[STATSD_GAUGE_HOST_MAX];
    char key[12], value[STATSD_TAG_VALUE_MAX];
    statsd_tagset *set = calloc(1, sizeof(*set));
    statsd_gauge_tags t = {STATSD_TAGS_DOGSTATSD, 1, set};
    char *dst = malloc(STATSD_GAUGES_CAP);
    unsigned i;
    int f;

    ck_assert_ptr_nonnull(set);
    ck_assert_ptr_nonnull(dst);
    memset(prefix, 'p', sizeof prefix);
    memset(host, 'h', sizeof host);
    memset(value, 'v', sizeof value);
    /* fill the static text up to its cap */
    for (i = 0; i < STATSD_TAGS_MAX; i++) {
        int n = snprintf(key, sizeof key, "k%u", i);
        if (statsd_tags_add(set, key, (size_t)n, value, sizeof value)
            != STATSD_TAG_OK)
            (void)statsd_tags_add(set, key, (size_t)n, value, 8);
    }
    ck_assert_uint_gt(set->n, 1);
    for (f = STATSD_TAGS_DOGSTATSD; f < STATSD_TAG_FORMATS; f++) {
        for (t.tag_mode = 0; t.tag_mode < 2; t.tag_mode++) {
            t.format = (statsd_tag_format)f;
            ck_assert_uint_gt(statsd_gauges_format_tagged(
                dst, STATSD_GAUGES_CAP, prefix, sizeof prefix, host,
                sizeof host, &t, &w), 0);
            ck_assert_uint_gt(statsd_gauges_reload(
                dst, STATSD_RELOAD_CAP, prefix, sizeof prefix, &t), 0);
        }
    }
    free(dst);
    free(set);
}
END_TEST

static void check_reload(const char *prefix, statsd_tag_format f, int mode,
                         const statsd_tagset *set, const char *exp)
{
    statsd_gauge_tags t = {f, mode, set};
    char *dst = malloc(strlen(exp)), *got;
    size_t len;

    ck_assert_ptr_nonnull(dst);
    len = statsd_gauges_reload(dst, strlen(exp), prefix, strlen(prefix), &t);
    got = dup_terminated(dst, len);
    ASSERT_BYTES(got, len, exp, strlen(exp), "reload marker");
    free(got);
    /* one byte short: nothing */
    ck_assert_uint_eq(statsd_gauges_reload(dst, strlen(exp) - 1, prefix,
                                           strlen(prefix), &t), 0);
    free(dst);
}

START_TEST(reload_marker_lines)
{
    statsd_tagset *set = tagset("env", "prod", NULL);
    static const struct {
        const char *prefix;
        statsd_tag_format format;
        int tag_mode, with_tags;
        const char *exp;
    } cases[] = {
        {"shop", STATSD_TAGS_NONE, 0, 0, "shop.httpd.reloads:1|c"},
        {"", STATSD_TAGS_NONE, 1, 1, "httpd.reloads:1|c"},
        {"shop", STATSD_TAGS_DOGSTATSD, 1, 1,
         "shop.httpd.reloads:1|c|#env:prod"},
        {"shop", STATSD_TAGS_DOGSTATSD, 0, 1,
         "shop.httpd.reloads:1|c|#env:prod"},
        {"shop", STATSD_TAGS_INFLUX, 1, 1, "shop.httpd.reloads,env=prod:1|c"},
        {"shop", STATSD_TAGS_GRAPHITE, 0, 1, "shop.httpd.reloads;env=prod:1|c"},
        {"shop", STATSD_TAGS_GRAPHITE, 1, 0, "shop.httpd.reloads:1|c"},
    };
    size_t i;

    for (i = 0; i < UNIT_COUNT(cases); i++)
        check_reload(cases[i].prefix, cases[i].format, cases[i].tag_mode,
                     cases[i].with_tags ? set : NULL, cases[i].exp);
    ck_assert_uint_eq(statsd_gauges_reload(NULL, 64, "p", 1, NULL), 0);
    free(set);
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

UNIT_MAIN("statsd_gauges", "gauges", NULL, NULL, 0,
          UNIT_TEST(lines_with_prefix),
          UNIT_TEST(lines_without_prefix),
          UNIT_TEST(async_line_when_counted),
          UNIT_TEST(exact_fit_and_one_byte_short),
          UNIT_TEST(longest_parts_fit_the_cap),
          UNIT_TEST(unusable_arguments),
          UNIT_TEST(host_names),
          UNIT_TEST(tag_mode_host_is_a_tag),
          UNIT_TEST(tag_mode_without_static_tags),
          UNIT_TEST(static_host_tag_stands_for_host),
          UNIT_TEST(classic_names_carry_static_tags),
          UNIT_TEST(longest_tagged_fit_the_cap),
          UNIT_TEST(reload_marker_lines))
