/*
 * test_lines.c - Check unit tests of the line formatter (statsd_lines.h):
 * number formatting, the lines of one request, the `statsd` note.
 *
 * Inputs are heap copies of exactly their length (no NUL), outputs heap
 * blocks of exactly the documented size, so AddressSanitizer sees overruns.
 */
#include <check.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_lines.h"
#include "statsd_name.h"

#include "unit_util.h"

/* ---- statsd_lines_format_uint ------------------------------------------------- */

static void check_uint(uint64_t v)
{
    char exp[32];
    int el = snprintf(exp, sizeof exp, "%" PRIu64, v);
    char *dst = malloc(STATSD_NUM_MAX);
    ck_assert_ptr_nonnull(dst);
    size_t r = statsd_lines_format_uint(dst, v);
    ck_assert_msg(r <= STATSD_NUM_MAX, "format_uint: %zu bytes", r);
    ASSERT_BYTES(dst, r, exp, (size_t)el, "format_uint");
    free(dst);
}

START_TEST(uint_cases)
{
    char buf[STATSD_NUM_MAX];
    size_t r = statsd_lines_format_uint(buf, 0);
    ASSERT_BYTES(buf, r, "0", 1, "format_uint(0)");
    r = statsd_lines_format_uint(buf, UINT64_C(18446744073709551615));
    ASSERT_BYTES(buf, r, "18446744073709551615", 20, "format_uint(UINT64_MAX)");
    r = statsd_lines_format_uint(buf, 1);
    ASSERT_BYTES(buf, r, "1", 1, "format_uint(1)");
    r = statsd_lines_format_uint(buf, 404);
    ASSERT_BYTES(buf, r, "404", 3, "format_uint(404)");

    uint64_t p = 1;
    for (int i = 0; i < 20; i++) {
        check_uint(p - 1);
        check_uint(p);
        check_uint(p + 1);
        if (i < 19)
            p *= 10;
    }
    check_uint(UINT32_MAX);
    check_uint((uint64_t)UINT32_MAX + 1);
    check_uint(UINT64_MAX - 1);
    check_uint(UINT64_C(9223372036854775807));
    check_uint(UINT64_C(9223372036854775808));
    uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
    for (int i = 0; i < 2000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        check_uint(x);
        check_uint(x >> (i % 64));
    }
}
END_TEST

/* ---- statsd_lines_format_duration --------------------------------------------- */

/* Reference: integer part, then up to 3 (ms) / 6 (s) fraction digits with
 * trailing zeros removed; 0 counts as 1 us. */
static size_t ref_duration(char *out, size_t cap, uint64_t usec,
                           statsd_time_unit unit)
{
    if (usec == 0)
        usec = 1;
    uint64_t div = unit == STATSD_UNIT_MS ? 1000 : unit == STATSD_UNIT_S ? 1000000 : 1;
    int digits = unit == STATSD_UNIT_MS ? 3 : unit == STATSD_UNIT_S ? 6 : 0;
    int n = snprintf(out, cap, "%" PRIu64, usec / div);
    uint64_t frac = usec % div;
    if (frac) {
        n += snprintf(out + n, cap - (size_t)n, ".%0*" PRIu64, digits, frac);
        while (out[n - 1] == '0')
            out[--n] = '\0';
    }
    return (size_t)n;
}

static const char *unit_name(statsd_time_unit u)
{
    return u == STATSD_UNIT_MS ? "MS" : u == STATSD_UNIT_US ? "US" : "S";
}

static void check_duration(uint64_t usec, statsd_time_unit unit, const char *exp)
{
    char what[96];
    char *dst = malloc(STATSD_NUM_MAX);
    ck_assert_ptr_nonnull(dst);
    size_t r = statsd_lines_format_duration(dst, usec, unit);
    snprintf(what, sizeof what, "format_duration(%" PRIu64 ", %s)", usec,
             unit_name(unit));
    ck_assert_msg(r > 0 && r <= STATSD_NUM_MAX, "%s: length %zu", what, r);
    ASSERT_BYTES(dst, r, exp, strlen(exp), what);
    free(dst);
}

START_TEST(duration_cases)
{
    check_duration(12345, STATSD_UNIT_MS, "12.345");
    check_duration(52, STATSD_UNIT_MS, "0.052");
    check_duration(3000, STATSD_UNIT_MS, "3");
    check_duration(1, STATSD_UNIT_MS, "0.001");
    check_duration(0, STATSD_UNIT_MS, "0.001");
    check_duration(1500000, STATSD_UNIT_S, "1.5");
    check_duration(1, STATSD_UNIT_S, "0.000001");
    check_duration(0, STATSD_UNIT_S, "0.000001");
    check_duration(42, STATSD_UNIT_US, "42");
    check_duration(0, STATSD_UNIT_US, "1");
    check_duration(120000, STATSD_UNIT_MS, "120");
    check_duration(1234567, STATSD_UNIT_MS, "1234.567");
    check_duration(1234567, STATSD_UNIT_S, "1.234567");
    check_duration(1234567, STATSD_UNIT_US, "1234567");
    check_duration(100, STATSD_UNIT_MS, "0.1");
    check_duration(10, STATSD_UNIT_MS, "0.01");
    check_duration(1010, STATSD_UNIT_MS, "1.01");
    check_duration(999, STATSD_UNIT_MS, "0.999");
    check_duration(1000, STATSD_UNIT_MS, "1");
    check_duration(1001, STATSD_UNIT_MS, "1.001");
    check_duration(1000000, STATSD_UNIT_S, "1");
    check_duration(10, STATSD_UNIT_S, "0.00001");
    check_duration(120000000, STATSD_UNIT_S, "120");
    check_duration(86400000000ULL, STATSD_UNIT_MS, "86400000");
    check_duration(1000000000000000000ULL, STATSD_UNIT_MS, "1000000000000000");
    check_duration(1000000000000000001ULL, STATSD_UNIT_MS, "1000000000000000.001");
    check_duration(UINT64_MAX, STATSD_UNIT_US, "18446744073709551615");
    check_duration(UINT64_MAX, STATSD_UNIT_MS, "18446744073709551.615");
    check_duration(UINT64_MAX, STATSD_UNIT_S, "18446744073709.551615");
}
END_TEST

START_TEST(duration_reference)
{
    static const statsd_time_unit units[3] = { STATSD_UNIT_MS, STATSD_UNIT_US,
                                               STATSD_UNIT_S };
    uint64_t x = UINT64_C(0x2545F4914F6CDD1D);
    for (int i = 0; i < 6000; i++) {
        uint64_t v;
        if (i < 3000) {
            v = (uint64_t)i;                    /* every small value */
        } else {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            v = x >> (i % 64);
        }
        for (int u = 0; u < 3; u++) {
            char exp[64];
            ref_duration(exp, sizeof exp, v, units[u]);
            check_duration(v, units[u], exp);
        }
    }
}
END_TEST

/* Never exponent form, never "0", never a trailing zero or dot. */
START_TEST(duration_shape)
{
    static const statsd_time_unit units[3] = { STATSD_UNIT_MS, STATSD_UNIT_US,
                                               STATSD_UNIT_S };
    uint64_t v = 0;
    for (int i = 0; i < 64; i++, v = v * 3 + 7) {
        for (int u = 0; u < 3; u++) {
            char buf[STATSD_NUM_MAX + 1];
            size_t r = statsd_lines_format_duration(buf, v, units[u]);
            ck_assert(r > 0 && r < STATSD_NUM_MAX);
            buf[r] = '\0';
            ck_assert_msg(strspn(buf, "0123456789.") == r, "\"%s\" has odd bytes",
                          buf);
            ck_assert_msg(strchr(buf, '.') == strrchr(buf, '.'), "two dots: %s",
                          buf);
            ck_assert_msg(buf[r - 1] != '.', "trailing dot: %s", buf);
            if (strchr(buf, '.'))
                ck_assert_msg(buf[r - 1] != '0', "trailing zero: %s", buf);
            ck_assert_msg(strspn(buf, "0.") != r, "zero duration: %s", buf);
            ck_assert_msg(!(buf[0] == '0' && r > 1 && buf[1] != '.'),
                          "leading zero: %s", buf);
        }
    }
}
END_TEST

/* ---- statsd_lines_build ------------------------------------------------- */

typedef struct {
    const char *prefix, *suffix, *name, *aggregate, *method;
    int status;
    uint64_t usec;
    statsd_time_unit unit;
    size_t max;
    int legacy, service;
} req_spec;

static const req_spec BASE = {
    .prefix = "svc", .suffix = "", .name = "foo.bar", .aggregate = "",
    .method = "GET", .status = 200, .usec = 12345, .unit = STATSD_UNIT_MS,
    .max = 250, .legacy = 1, .service = 1,
};

/* statsd_lines_size of the last build's request */
static size_t built_size;

/* The heap copies of a spec's settings strings (see spec_settings). */
typedef struct {
    char *prefix, *suffix, *aggregate;
} settings_copy;

/* req zeroed, then the settings of rs (prefix, suffix, aggregate, unit,
 * key limit, legacy, service lines) from exact-size heap copies kept in
 * *set, so a read past one is caught under ASan. */
static void spec_settings(statsd_request *req, const req_spec *rs,
                          settings_copy *set)
{
    static statsd_service svc;
    size_t pl = strlen(rs->prefix), sl = strlen(rs->suffix),
           al = strlen(rs->aggregate);

    memset(req, 0, sizeof *req);
    set->prefix = dup_exact(rs->prefix, pl);
    set->suffix = dup_exact(rs->suffix, sl);
    set->aggregate = dup_exact(rs->aggregate, al);
    req->key.prefix = set->prefix; req->key.prefix_len = pl;
    req->key.suffix = set->suffix; req->key.suffix_len = sl;
    req->aggregate = set->aggregate; req->aggregate_len = al;
    req->unit = rs->unit;
    req->key.max_len = rs->max;
    req->legacy = rs->legacy;
    statsd_lines_service_init(&svc, set->prefix, pl);
    req->service = rs->service ? &svc : NULL;
}

static void settings_free(settings_copy *set)
{
    free(set->aggregate);
    free(set->suffix);
    free(set->prefix);
}

/* Build with every string in an exact-size heap block; returns the result of
 * statsd_lines_build; *out is a heap measurement the caller frees, its lines
 * buffer (statsd_lines_size bytes, exactly) at the end of the same block, so
 * a write past the size the settings allow is caught under ASan. */
static int build(const req_spec *rs, statsd_measurement **out)
{
    statsd_request req;
    settings_copy set;
    size_t nl = strlen(rs->name), ml = strlen(rs->method);
    char *n = dup_exact(rs->name, nl), *m = dup_exact(rs->method, ml);

    spec_settings(&req, rs, &set);
    req.key.name = n; req.key.name_len = nl;
    req.key.method = m; req.key.method_len = ml;
    req.key.status = rs->status;
    req.usec = rs->usec;
    built_size = statsd_lines_size(&req);
    ck_assert_uint_le(built_size, STATSD_LINES_CAP);
    statsd_measurement *ms = malloc(sizeof *ms + built_size);
    ck_assert_ptr_nonnull(ms);
    memset(ms, 0x5A, sizeof *ms + built_size);
    ms->lines = (char *)(ms + 1);
    int rc = statsd_lines_build(&req, ms);
    free(m); free(n); settings_free(&set);
    *out = ms;
    return rc;
}

/* A byte the glue's methods may carry as it is ([A-Za-z0-9_-]) */
#define METHOD_BYTE(c) \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') \
     || ((c) >= '0' && (c) <= '9') || (c) == '_' || (c) == '-')

/* The same request through a plan of its settings: -2 if
 * statsd_lines_plain_plan_init refuses them, else what
 * statsd_lines_build_plain returns; *out as for build (its lines buffer
 * STATSD_LINES_SMALL bytes, exactly). The plan is made from heap copies
 * freed before the request is built: it must keep none of them. */
static int build_plain(const req_spec *rs, statsd_measurement **out)
{
    statsd_request req;
    statsd_plain_plan pl;
    settings_copy set;
    size_t nl = strlen(rs->name), ml = strlen(rs->method);

    spec_settings(&req, rs, &set);
    memset(&pl, 0x5A, sizeof pl);
    int init = statsd_lines_plain_plan_init(&pl, &req);
    settings_free(&set);
    *out = NULL;
    if (init != 0) {
        ck_assert_int_eq(init, -1);
        return -2;
    }

    /* only NAME, METHOD and STATUS of the key are read */
    statsd_key_parts key;
    memset(&key, 0x5A, sizeof key);
    char *n = dup_exact(rs->name, nl), *m = dup_exact(rs->method, ml);
    key.name = n; key.name_len = nl;
    key.method = m; key.method_len = ml;
    key.method_clean = 1;
    for (size_t i = 0; i < ml; i++)
        if (!METHOD_BYTE(rs->method[i]))
            key.method_clean = 0;
    key.status = rs->status;
    statsd_measurement *ms = malloc(sizeof *ms + STATSD_LINES_SMALL);
    ck_assert_ptr_nonnull(ms);
    memset(ms, 0x5A, sizeof *ms + STATSD_LINES_SMALL);
    ms->lines = (char *)(ms + 1);
    int rc = statsd_lines_build_plain(&pl, &key, rs->usec, ms);
    ck_assert(rc == 0 || rc == -1);
    free(m); free(n);
    *out = ms;
    return rc;
}

/* When the plan takes rs, its lines, key, duration and counts are those
 * of statsd_lines_build (g); returns whether it took it. */
static int same_as_plain(const req_spec *rs, const statsd_measurement *g)
{
    statsd_measurement *m;
    int rc = build_plain(rs, &m);
    if (rc == 0) {
        ASSERT_BYTES(m->lines, m->lines_len, g->lines, g->lines_len,
                     "plain lines");
        ASSERT_BYTES(m->key, m->key_len, g->key, g->key_len, "plain key");
        ASSERT_BYTES(m->duration, m->duration_len, g->duration,
                     g->duration_len, "plain duration");
        ck_assert_uint_eq(m->n_lines, g->n_lines);
        ck_assert_uint_eq(m->agg_len, 0);
        ck_assert_ptr_eq(m->key, m->lines);
    }
    free(m);
    return rc == 0;
}

static unsigned count_lines(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned c = 1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n')
            c++;
    return c;
}

/* Build and compare lines (exactly), n_lines and key. */
static statsd_measurement *check_build(const req_spec *rs, const char *exp_lines,
                                       unsigned exp_n, const char *exp_key)
{
    statsd_measurement *m;
    int rc = build(rs, &m);
    ck_assert_msg(rc == 0, "lines_build(%s %s %d) returned %d", rs->name,
                  rs->method, rs->status, rc);
    ck_assert_msg(m->lines_len <= built_size, "lines_len %zu > size %zu",
                  m->lines_len, built_size);
    ASSERT_BYTES(m->lines, m->lines_len, exp_lines, strlen(exp_lines), "lines");
    ck_assert_msg(m->n_lines == exp_n, "n_lines: expected %u, got %u", exp_n,
                  m->n_lines);
    ck_assert_msg(m->n_lines == count_lines(m->lines, m->lines_len),
                  "n_lines %u but %u lines in the block", m->n_lines,
                  count_lines(m->lines, m->lines_len));
    ck_assert_msg(m->lines[m->lines_len - 1] != '\n', "block ends with \\n");
    ck_assert_msg(m->key_len <= STATSD_NAME_MAX, "key_len %zu", m->key_len);
    ASSERT_BYTES(m->key, m->key_len, exp_key, strlen(exp_key), "key");
    same_as_plain(rs, m);
    return m;
}

#define K200 "svc.foo.bar.GET.200"

START_TEST(build_basic)
{
    statsd_measurement *m = check_build(&BASE,
        K200 ":12.345|ms\n"
        K200 ":1|c\n"
        "svc.responses.good:1|c\n"
        "svc.responses.time:12.345|ms", 4, K200);
    ASSERT_BYTES(m->duration, m->duration_len, "12.345", 6, "duration");
    ck_assert_msg(m->agg_len == 0, "agg_len %zu without an aggregate", m->agg_len);
    free(m);
}
END_TEST

START_TEST(build_aggregate)
{
    req_spec rs = BASE;
    rs.aggregate = "all";
    statsd_measurement *m = check_build(&rs,
        K200 ":12.345|ms\n"
        K200 ":1|c\n"
        "svc.all.GET.200:12.345|ms\n"
        "svc.all.GET.200:1|c\n"
        "svc.responses.good:1|c\n"
        "svc.responses.time:12.345|ms", 6, K200);
    ASSERT_BYTES(m->agg, m->agg_len, "svc.all.GET.200", 15, "agg");
    free(m);

    rs.legacy = 0;
    m = check_build(&rs,
        K200 ":12.345|ms\n"
        "svc.all.GET.200:12.345|ms\n"
        "svc.responses.good:1|c\n"
        "svc.responses.time:12.345|ms", 4, K200);
    free(m);

    rs.legacy = 1;
    rs.service = 0;
    rs.status = 404;
    m = check_build(&rs,
        "svc.foo.bar.GET.404:12.345|ms\n"
        "svc.foo.bar.GET.404:1|c\n"
        "svc.all.GET.404:12.345|ms\n"
        "svc.all.GET.404:1|c", 4, "svc.foo.bar.GET.404");
    ASSERT_BYTES(m->agg, m->agg_len, "svc.all.GET.404", 15, "agg");
    free(m);

    rs.service = 1;
    rs.status = 503;
    rs.aggregate = "x.y";
    m = check_build(&rs,
        "svc.foo.bar.GET.503:12.345|ms\n"
        "svc.foo.bar.GET.503:1|c\n"
        "svc.x.y.GET.503:12.345|ms\n"
        "svc.x.y.GET.503:1|c\n"
        "svc.responses.bad:1|c\n"
        "svc.responses.5xx:1|c\n"
        "svc.responses.time:12.345|ms", 7, "svc.foo.bar.GET.503");
    free(m);
}
END_TEST

static void check_status(int status, const char *cls)
{
    char key[64], exp[512];
    req_spec rs = BASE;
    rs.status = status;
    snprintf(key, sizeof key, "svc.foo.bar.GET.%d", status);
    if (cls == NULL)
        snprintf(exp, sizeof exp,
                 "%s:12.345|ms\n%s:1|c\nsvc.responses.good:1|c\n"
                 "svc.responses.time:12.345|ms", key, key);
    else
        snprintf(exp, sizeof exp,
                 "%s:12.345|ms\n%s:1|c\nsvc.responses.bad:1|c\n"
                 "svc.responses.%s:1|c\nsvc.responses.time:12.345|ms",
                 key, key, cls);
    free(check_build(&rs, exp, cls ? 5 : 4, key));
}

START_TEST(build_status_classes)
{
    check_status(100, NULL);
    check_status(101, NULL);
    check_status(200, NULL);
    check_status(204, NULL);
    check_status(302, NULL);
    check_status(304, NULL);
    check_status(399, NULL);
    check_status(400, "4xx");
    check_status(404, "4xx");
    check_status(499, "4xx");
    check_status(500, "5xx");
    check_status(503, "5xx");
    check_status(599, "5xx");
}
END_TEST

START_TEST(build_legacy_service_off)
{
    req_spec rs = BASE;
    rs.legacy = 0;
    free(check_build(&rs,
        K200 ":12.345|ms\n"
        "svc.responses.good:1|c\n"
        "svc.responses.time:12.345|ms", 3, K200));

    rs.legacy = 1;
    rs.service = 0;
    free(check_build(&rs, K200 ":12.345|ms\n" K200 ":1|c", 2, K200));

    rs.legacy = 0;
    free(check_build(&rs, K200 ":12.345|ms", 1, K200));

    rs.status = 404;
    free(check_build(&rs, "svc.foo.bar.GET.404:12.345|ms", 1,
                     "svc.foo.bar.GET.404"));
}
END_TEST

START_TEST(build_empty_prefix)
{
    req_spec rs = BASE;
    rs.prefix = "";
    free(check_build(&rs,
        "foo.bar.GET.200:12.345|ms\n"
        "foo.bar.GET.200:1|c\n"
        "responses.good:1|c\n"
        "responses.time:12.345|ms", 4, "foo.bar.GET.200"));

    rs.status = 500;
    rs.aggregate = "all";
    statsd_measurement *m = check_build(&rs,
        "foo.bar.GET.500:12.345|ms\n"
        "foo.bar.GET.500:1|c\n"
        "all.GET.500:12.345|ms\n"
        "all.GET.500:1|c\n"
        "responses.bad:1|c\n"
        "responses.5xx:1|c\n"
        "responses.time:12.345|ms", 7, "foo.bar.GET.500");
    ASSERT_BYTES(m->agg, m->agg_len, "all.GET.500", 11, "agg");
    free(m);
}
END_TEST

START_TEST(build_suffix)
{
    req_spec rs = BASE;
    rs.suffix = "sfx";
    rs.service = 0;
    rs.aggregate = "all";
    statsd_measurement *m = check_build(&rs,
        K200 ".sfx:12.345|ms\n"
        K200 ".sfx:1|c\n"
        "svc.all.GET.200.sfx:12.345|ms\n"
        "svc.all.GET.200.sfx:1|c", 4, K200 ".sfx");
    ASSERT_BYTES(m->agg, m->agg_len, "svc.all.GET.200.sfx", 19, "agg");
    free(m);
}
END_TEST

START_TEST(build_units)
{
    req_spec rs = BASE;
    rs.unit = STATSD_UNIT_US;
    rs.service = 0;
    statsd_measurement *m = check_build(&rs,
        K200 ":12345|ms\n" K200 ":1|c", 2, K200);
    ASSERT_BYTES(m->duration, m->duration_len, "12345", 5, "duration (us)");
    free(m);

    rs.unit = STATSD_UNIT_S;
    rs.service = 1;
    m = check_build(&rs,
        K200 ":0.012345|ms\n" K200 ":1|c\n"
        "svc.responses.good:1|c\nsvc.responses.time:0.012345|ms", 4, K200);
    ASSERT_BYTES(m->duration, m->duration_len, "0.012345", 8, "duration (s)");
    free(m);

    rs.unit = STATSD_UNIT_MS;
    rs.usec = 0;
    m = check_build(&rs,
        K200 ":0.001|ms\n" K200 ":1|c\n"
        "svc.responses.good:1|c\nsvc.responses.time:0.001|ms", 4, K200);
    ASSERT_BYTES(m->duration, m->duration_len, "0.001", 5, "duration (0)");
    free(m);

    rs.usec = 3000000;
    m = check_build(&rs,
        K200 ":3000|ms\n" K200 ":1|c\n"
        "svc.responses.good:1|c\nsvc.responses.time:3000|ms", 4, K200);
    free(m);
}
END_TEST

START_TEST(build_method_sanitised)
{
    req_spec rs = BASE;
    rs.method = "GE T";
    rs.service = 0;
    rs.aggregate = "all";
    statsd_measurement *m = check_build(&rs,
        "svc.foo.bar.GE_T.200:12.345|ms\n"
        "svc.foo.bar.GE_T.200:1|c\n"
        "svc.all.GE_T.200:12.345|ms\n"
        "svc.all.GE_T.200:1|c", 4, "svc.foo.bar.GE_T.200");
    free(m);

    rs.method = "P:O|S\nT";
    free(check_build(&rs,
        "svc.foo.bar.P_O_S_T.200:12.345|ms\n"
        "svc.foo.bar.P_O_S_T.200:1|c\n"
        "svc.all.P_O_S_T.200:12.345|ms\n"
        "svc.all.P_O_S_T.200:1|c", 4, "svc.foo.bar.P_O_S_T.200"));
}
END_TEST

/* The key in the lines is the one statsd_name_key builds from the same parts
 * and max_name_len (so the cut rules are the name builder's). */
START_TEST(build_key_cap)
{
    req_spec rs = BASE;
    rs.name = "aaaaaaaaaa.bbbbbbbbbb.cccccccccc";
    rs.status = 404;
    rs.aggregate = "aggregate";
    for (size_t max = STATSD_NAME_MIN; max <= 60; max++) {
        rs.max = max;
        statsd_measurement *m;
        ck_assert_int_eq(build(&rs, &m), 0);

        statsd_key_parts kp = {
            .prefix = "svc", .prefix_len = 3,
            .name = rs.name, .name_len = strlen(rs.name),
            .method = "GET", .method_len = 3, .status = 404,
            .suffix = "", .suffix_len = 0, .max_len = max,
        };
        char k[STATSD_NAME_MAX + 1];
        size_t kl = statsd_name_key(k, sizeof k, &kp);
        ASSERT_BYTES(m->key, m->key_len, k, kl, "key vs statsd_name_key");
        ck_assert_msg(m->key_len <= max, "key_len %zu > max %zu", m->key_len, max);

        char exp[1024];
        snprintf(exp, sizeof exp,
                 "%.*s:12.345|ms\n%.*s:1|c\n"
                 "svc.aggregate.GET.404:12.345|ms\nsvc.aggregate.GET.404:1|c\n"
                 "svc.responses.bad:1|c\nsvc.responses.4xx:1|c\n"
                 "svc.responses.time:12.345|ms",
                 (int)kl, k, (int)kl, k);
        ASSERT_BYTES(m->lines, m->lines_len, exp, strlen(exp), "capped lines");
        ck_assert_uint_eq(m->n_lines, 7);
        free(m);
    }
}
END_TEST

/* BASE at its largest: the longest prefix and suffix ("ppp...", "sss..."),
 * PROPFIND, 503 and the longest duration, with name, aggregate and max. */
static req_spec largest_spec(const char *name, const char *aggregate,
                             size_t max)
{
    static char pre[STATSD_AFFIX_MAX + 1], suf[STATSD_AFFIX_MAX + 1];
    req_spec rs = BASE;

    memset(pre, 'p', STATSD_AFFIX_MAX);
    memset(suf, 's', STATSD_AFFIX_MAX);
    rs.prefix = pre;
    rs.suffix = suf;
    rs.name = name;
    rs.aggregate = aggregate;
    rs.method = "PROPFIND";
    rs.status = 503;
    rs.usec = UINT64_MAX;
    rs.max = max;
    return rs;
}

/* Largest parts allowed: everything must fit statsd_lines_size (at most
 * STATSD_LINES_CAP) and each line's name must respect max_name_len. */
START_TEST(build_largest)
{
    static char name[4000], agg[4000];
    for (size_t i = 0; i < sizeof name - 1; i++) {
        name[i] = (i % 7 == 6) ? '.' : 'n';
        agg[i] = (i % 5 == 4) ? '.' : 'a';
    }
    name[sizeof name - 2] = 'n';
    agg[sizeof agg - 2] = 'a';
    req_spec rs = largest_spec(name, agg, STATSD_NAME_MAX);
    statsd_measurement *m;
    ck_assert_int_eq(build(&rs, &m), 0);
    ck_assert_uint_eq(m->n_lines, 7);
    ck_assert(m->lines_len > 0 && m->lines_len <= built_size);
    ck_assert(m->key_len <= STATSD_NAME_MAX);
    ck_assert(m->agg_len > 0 && m->agg_len <= STATSD_NAME_MAX);
    ck_assert_msg(m->lines[m->lines_len - 1] != '\n', "block ends with \\n");
    /* every line is NAME:VALUE|TYPE with a clean NAME no longer than max */
    size_t start = 0;
    for (size_t i = 0; i <= m->lines_len; i++) {
        if (i == m->lines_len || m->lines[i] == '\n') {
            const char *line = m->lines + start;
            size_t len = i - start;
            const char *colon = memchr(line, ':', len);
            ck_assert_msg(colon != NULL, "line without ':'");
            size_t nlen = (size_t)(colon - line);
            ck_assert_msg(nlen > 0 && nlen <= STATSD_NAME_MAX,
                          "line name length %zu", nlen);
            ck_assert_msg(line[0] != '.' && line[nlen - 1] != '.', "dot at end");
            for (size_t j = 0; j < nlen; j++) {
                char c = line[j];
                ck_assert_msg((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                              (c == '.' && line[j + 1] != '.'),
                              "bad byte 0x%02x in line name", (unsigned char)c);
            }
            ck_assert_msg(memchr(line, '|', len) != NULL, "line without '|'");
            /* what configtest holds StatsdMaxPacketSize to */
            ck_assert_msg(len <= STATSD_LINE_MAX(rs.max), "line of %zu bytes "
                          "> STATSD_LINE_MAX(%zu)", len, rs.max);
            start = i + 1;
        }
    }
    ASSERT_BYTES(m->duration, m->duration_len, "18446744073709551.615", 21,
                 "duration (max)");
    ck_assert_msg(m->key_len >= STATSD_AFFIX_MAX + 14 &&
                  memcmp(m->key, rs.prefix, STATSD_AFFIX_MAX) == 0 &&
                  memcmp(m->key + m->key_len - (STATSD_AFFIX_MAX + 14),
                         ".PROPFIND.503.", 14) == 0 &&
                  memcmp(m->key + m->key_len - STATSD_AFFIX_MAX, rs.suffix,
                         STATSD_AFFIX_MAX) == 0,
                  "key does not end with .PROPFIND.503.S: %s",
                  esc(m->key, m->key_len));
    free(m);
}
END_TEST

/* The settings statsd_lines_fit_small accepts, at their largest: the
 * lines fit STATSD_LINES_SMALL, the buffer a caller keeps on its stack. */
START_TEST(small_buffer_holds_default_settings)
{
    static char name[4000];
    memset(name, 'n', sizeof name - 1);
    req_spec rs = largest_spec(name, BASE.aggregate, STATSD_NAME_DEFAULT_MAX);
    statsd_measurement *m;
    ck_assert_int_eq(build(&rs, &m), 0);
    ck_assert_uint_le(built_size, STATSD_LINES_SMALL);
    ck_assert_uint_le(m->lines_len, built_size);
    ck_assert_uint_eq(m->n_lines, 5);
    free(m);

    statsd_request req;
    memset(&req, 0, sizeof req);
    req.key.max_len = STATSD_NAME_DEFAULT_MAX;
    ck_assert(statsd_lines_fit_small(&req));
    req.aggregate_len = 1;
    ck_assert(!statsd_lines_fit_small(&req));
    req.aggregate_len = 0;
    req.key.max_len = STATSD_NAME_DEFAULT_MAX + 1;
    ck_assert(!statsd_lines_fit_small(&req));
}
END_TEST

START_TEST(build_unusable)
{
    /* NAME must be non-empty: an empty one is unusable */
    req_spec rs = BASE;
    rs.name = "";
    statsd_measurement *m;
    int rc = build(&rs, &m);
    ck_assert_msg(rc == -1, "lines_build with an empty name returned %d", rc);
    ck_assert_msg(m->lines_len == 0, "lines_len %zu after -1", m->lines_len);
    free(m);
}
END_TEST

/* ---- statsd_lines_build_plain ------------------------------------------- */

/* Which settings get a plan and which requests it takes. */
START_TEST(plain_takes_usual)
{
    statsd_measurement *m;
    req_spec rs = BASE;
    static const char exp[] = K200 ":12.345|ms\n" K200 ":1|c\n"
        "svc.responses.good:1|c\nsvc.responses.time:12.345|ms";
    ck_assert_int_eq(build_plain(&rs, &m), 0);
    ASSERT_BYTES(m->lines, m->lines_len, exp, sizeof exp - 1, "plain lines");
    free(m);

    /* settings without a plan */
    rs.prefix = "";
    ck_assert_int_eq(build_plain(&rs, &m), -2);
    rs = BASE;
    rs.aggregate = "all";
    ck_assert_int_eq(build_plain(&rs, &m), -2);
    rs = BASE;
    rs.max = STATSD_NAME_DEFAULT_MAX + 1;
    ck_assert_int_eq(build_plain(&rs, &m), -2);
    rs = BASE;
    rs.max = 3 + 8 - 1;     /* not even the prefix's share fits */
    ck_assert_int_eq(build_plain(&rs, &m), -2);

    /* requests the general writer takes */
    static const struct { const char *name, *method; int status; } refuse[] = {
        {"", "GET", 200}, {"foo", "", 200}, {"foo", "GE T", 200},
        {"foo", "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG", 200},
        {"foo", "GET", 99}, {"foo", "GET", 1000}, {"foo", "GET", -1},
    };
    for (size_t i = 0; i < sizeof refuse / sizeof refuse[0]; i++) {
        rs = BASE;
        rs.name = refuse[i].name;
        rs.method = refuse[i].method;
        rs.status = refuse[i].status;
        ck_assert_msg(build_plain(&rs, &m) == -1, "plain took %s %s %d",
                      rs.name, rs.method, rs.status);
        free(m);
    }
    /* a 32-byte method is still copied as it is */
    rs = BASE;
    rs.method = "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF";
    ck_assert_int_eq(build_plain(&rs, &m), 0);
    free(m);
}
END_TEST

/* Every combination of the settings and parts a plan may see gives the
 * lines statsd_lines_build gives, up to the key limit and past it. */
START_TEST(plain_matches_build)
{
    static const char *const prefixes[] = {"svc", "a", "web.front-1_x"};
    static const char *const suffixes[] = {"", "s", "host-1.dc"};
    static const char *const methods[] = {"GET", "PROPFIND", "M", "PATCH"};
    static const int statuses[] = {100, 200, 302, 399, 400, 404, 499, 500,
                                   503, 999};
    static const statsd_time_unit units[] = {STATSD_UNIT_MS, STATSD_UNIT_US,
                                             STATSD_UNIT_S};
    static const uint64_t usecs[] = {0, 1, 999, 12345, 1000000, 123456789};
    static char name[STATSD_NAME_DEFAULT_MAX + 2];
    unsigned taken = 0, refused = 0;

    memset(name, 'n', sizeof name - 1);
    for (size_t i = 5; i < sizeof name - 1; i += 6)
        name[i] = '.';
    for (size_t pi = 0; pi < 3; pi++)
    for (size_t si = 0; si < 3; si++)
    for (size_t mi = 0; mi < 4; mi++)
    for (int flags = 0; flags < 4; flags++)
    for (size_t k = 0; k < 10; k++) {
        req_spec rs = BASE;
        rs.prefix = prefixes[pi];
        rs.suffix = suffixes[si];
        rs.method = methods[mi];
        rs.legacy = flags & 1;
        rs.service = (flags >> 1) & 1;
        rs.status = statuses[k];
        rs.unit = units[k % 3];
        rs.usec = usecs[k % 6];
        rs.max = k & 1 ? STATSD_NAME_DEFAULT_MAX : STATSD_NAME_MIN + 20;
        /* names around the limit: some fit, some are cut */
        size_t len = 1 + (k * 29 + pi * 7 + si * 3) % (rs.max - 5);
        if (name[len - 1] == '.')
            len--;
        char save = name[len];
        name[len] = '\0';
        rs.name = name;
        statsd_measurement *g;
        ck_assert_int_eq(build(&rs, &g), 0);
        if (same_as_plain(&rs, g))
            taken++;
        else
            refused++;
        name[len] = save;
        free(g);
    }
    ck_assert_uint_gt(taken, 100);
    ck_assert_uint_gt(refused, 100);
}
END_TEST

/* ---- statsd_lines_note -------------------------------------------------- */

static void check_note(const char *key, const char *dur, long bytes, int legacy,
                       const char *exp)
{
    statsd_measurement *m = malloc(sizeof *m + STATSD_LINES_CAP);
    ck_assert_ptr_nonnull(m);
    memset(m, 0x5A, sizeof *m + STATSD_LINES_CAP);
    m->lines = (char *)(m + 1);
    /* key and duration as in lines: not NUL-terminated */
    m->key_len = strlen(key);
    memcpy(m->lines, key, m->key_len);
    m->key = m->lines;
    m->duration_len = strlen(dur);
    memcpy(m->lines + m->key_len, dur, m->duration_len);
    m->duration = m->lines + m->key_len;
    m->agg_len = 0;
    m->lines_len = 0;
    m->n_lines = 0;
    size_t cap = m->key_len + 64;
    char *dst = malloc(cap);
    ck_assert_ptr_nonnull(dst);
    size_t r = statsd_lines_note(dst, m, bytes, legacy);
    ck_assert_msg(r < cap && dst[r] == '\0', "note: length %zu / no NUL", r);
    ASSERT_BYTES(dst, r, exp, strlen(exp), "note");
    free(dst);
    free(m);
}

START_TEST(note_cases)
{
    check_note("svc.foo.GET.200", "12.345", 120, 1, "svc.foo.GET.200 12.345 120 1");
    check_note("svc.foo.GET.200", "12.345", -1, 0, "svc.foo.GET.200 12.345 -1 0");
    check_note("svc.foo.GET.200", "12.345", 0, 1, "svc.foo.GET.200 12.345 0 1");
    check_note("k", "3", 1432, 0, "k 3 1432 0");
    check_note("k", "0.001", 65000, 1, "k 0.001 65000 1");
    char exp[128];
    snprintf(exp, sizeof exp, "k 1 %ld 1", LONG_MAX);
    check_note("k", "1", LONG_MAX, 1, exp);
    snprintf(exp, sizeof exp, "k 1 %ld 0", LONG_MIN);
    check_note("k", "1", LONG_MIN, 0, exp);
}
END_TEST

START_TEST(note_from_build)
{
    statsd_measurement *m;
    ck_assert_int_eq(build(&BASE, &m), 0);
    char *dst = malloc(m->key_len + 64);
    size_t r = statsd_lines_note(dst, m, 120, 1);
    ASSERT_BYTES(dst, r, K200 " 12.345 120 1", strlen(K200 " 12.345 120 1"),
                 "note after build");
    free(dst);
    free(m);

    /* longest key */
    static char name[2000];
    memset(name, 'n', sizeof name - 1);
    req_spec rs = BASE;
    rs.name = name;
    rs.max = STATSD_NAME_MAX;
    ck_assert_int_eq(build(&rs, &m), 0);
    ck_assert_uint_eq(m->key_len, STATSD_NAME_MAX);
    dst = malloc(m->key_len + 64);
    r = statsd_lines_note(dst, m, LONG_MIN, 0);
    ck_assert(r < m->key_len + 64 && dst[r] == '\0');
    free(dst);
    free(m);
}
END_TEST

/* ---- runner ------------------------------------------------------------- */

int main(void)
{
    Suite *s = suite_create("statsd_lines");

    UNIT_TCASE(s, "format", NULL, NULL, 60,
               UNIT_TEST(uint_cases),
               UNIT_TEST(duration_cases),
               UNIT_TEST(duration_reference),
               UNIT_TEST(duration_shape));
    UNIT_TCASE(s, "build", NULL, NULL, 60,
               UNIT_TEST(build_basic),
               UNIT_TEST(build_aggregate),
               UNIT_TEST(build_status_classes),
               UNIT_TEST(build_legacy_service_off),
               UNIT_TEST(build_empty_prefix),
               UNIT_TEST(build_suffix),
               UNIT_TEST(build_units),
               UNIT_TEST(build_method_sanitised),
               UNIT_TEST(build_key_cap),
               UNIT_TEST(build_largest),
               UNIT_TEST(small_buffer_holds_default_settings),
               UNIT_TEST(build_unusable));
    UNIT_TCASE(s, "plain", NULL, NULL, 60,
               UNIT_TEST(plain_takes_usual),
               UNIT_TEST(plain_matches_build));
    UNIT_TCASE(s, "note", NULL, NULL, 0,
               UNIT_TEST(note_cases),
               UNIT_TEST(note_from_build));
    return run_suite(s);
}
