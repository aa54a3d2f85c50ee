/*
 * test_tags.c - Check unit tests of the tags (statsd_tags.h) and of the
 * tagged lines (statsd_lines.h with a tag format, tag mode or a timer
 * type): the three dialects line by line, tag mode, merging by key,
 * sanitising, the caps, and that format none with ms timers writes
 * exactly the untagged lines.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_lines.h"
#include "statsd_name.h"
#include "statsd_tags.h"

#include "unit_util.h"

#define S(lit) (lit), sizeof(lit) - 1
/* ASSERT_BYTES against a literal */
#define ASSERT_LIT(got, got_len, lit, what) \
    ASSERT_BYTES(got, got_len, lit, sizeof(lit) - 1, what)

static statsd_tagset *set_of(const char *const *kv)
{
    statsd_tagset *t = calloc(1, sizeof(*t));
    ck_assert_ptr_nonnull(t);
    for (; kv && kv[0]; kv += 2)
        ck_assert_int_eq(statsd_tags_add(t, kv[0], strlen(kv[0]), kv[1],
                                           strlen(kv[1])), STATSD_TAG_OK);
    return t;
}

static void assert_text(const statsd_tagset *t, statsd_tag_format f,
                        const char *exp)
{
    size_t len;
    const char *s = statsd_tags_text(t, f, &len);
    ASSERT_BYTES(s, len, exp, strlen(exp), "tag text");
}

/* ---- the static tags ---------------------------------------------------- */

START_TEST(texts_per_dialect)
{
    static const char *const kv[] = {"env", "prod", "team", "web", NULL};
    statsd_tagset *t = set_of(kv);

    assert_text(t, STATSD_TAGS_NONE, "");
    assert_text(t, STATSD_TAGS_DOGSTATSD, "|#env:prod,team:web");
    assert_text(t, STATSD_TAGS_INFLUX, ",env=prod,team=web");
    assert_text(t, STATSD_TAGS_GRAPHITE, ";env=prod;team=web");
    assert_text(NULL, STATSD_TAGS_DOGSTATSD, "");
    free(t);
}
END_TEST

START_TEST(replace_by_key)
{
    static const char *const kv[] = {"env", "prod", "team", "web",
                                     "env", "dev", NULL};
    statsd_tagset *t = set_of(kv);

    ck_assert_uint_eq(t->n, 2);
    assert_text(t, STATSD_TAGS_DOGSTATSD, "|#env:dev,team:web");
    free(t);
}
END_TEST

START_TEST(merge_levels)
{
    static const char *const server[] = {"env", "prod", "team", "web", NULL};
    static const char *const vhost[] = {"team", "shop", "dc", "a1", NULL};
    static const char *const dir[] = {"env", "canary", NULL};
    statsd_tagset *a = set_of(server), *b = set_of(vhost), *c = set_of(dir);
    statsd_tagset *ab = calloc(1, sizeof(*ab)), *abc = calloc(1, sizeof(*abc));

    ck_assert_uint_eq(statsd_tags_merge(ab, a, b), 0);
    ck_assert_uint_eq(statsd_tags_merge(abc, ab, c), 0);
    assert_text(ab, STATSD_TAGS_INFLUX, ",env=prod,team=shop,dc=a1");
    assert_text(abc, STATSD_TAGS_GRAPHITE, ";env=canary;team=shop;dc=a1");
    assert_text(abc, STATSD_TAGS_DOGSTATSD, "|#env:canary,team:shop,dc:a1");
    /* the inputs are left as they were */
    assert_text(a, STATSD_TAGS_INFLUX, ",env=prod,team=web");
    free(a); free(b); free(c); free(ab); free(abc);
}
END_TEST

START_TEST(merge_past_the_caps)
{
    statsd_tagset *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    statsd_tagset *out = calloc(1, sizeof(*out));
    char k[16];
    int i;

    for (i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "a%d", i);
        ck_assert_int_eq(statsd_tags_add(a, k, strlen(k), S("v")), 0);
        snprintf(k, sizeof k, "b%d", i);
        ck_assert_int_eq(statsd_tags_add(b, k, strlen(k), S("v")), 0);
    }
    /* 20 keys: the first 16 are kept, the last 4 left out */
    ck_assert_uint_eq(statsd_tags_merge(out, a, b), 4);
    ck_assert_uint_eq(out->n, STATSD_TAGS_MAX);
    ck_assert_int_eq(memcmp(out->tag[15].key, "b5", 2), 0);
    free(a); free(b); free(out);
}
END_TEST

START_TEST(sanitised)
{
    statsd_tagset *t = calloc(1, sizeof(*t));
    static const char key[] = "k|#,:;= \n\x80y";
    static const char val[] = "v|#,:;= \n\x80\x00z.-_";

    ck_assert_int_eq(statsd_tags_add(t, key, sizeof key - 1, val,
                                       sizeof val - 1), STATSD_TAG_OK);
    assert_text(t, STATSD_TAGS_DOGSTATSD, "|#k_________y:v__________z.-_");
    assert_text(t, STATSD_TAGS_INFLUX, ",k_________y=v__________z.-_");
    assert_text(t, STATSD_TAGS_GRAPHITE, ";k_________y=v__________z.-_");

    for (int c = 0; c < 256; c++) {
        char in = (char)c, out;
        statsd_tags_clean(&out, &in, 1);
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                 || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        ck_assert_int_eq(out, ok ? in : '_');
    }
    free(t);
}
END_TEST

START_TEST(refused)
{
    statsd_tagset *t = calloc(1, sizeof(*t));
    char big[600];
    char k[16];
    int i;

    memset(big, 'x', sizeof big);
    ck_assert_int_eq(statsd_tags_add(t, S(""), S("v")), STATSD_TAG_EMPTY_KEY);
    ck_assert_int_eq(statsd_tags_add(t, S("1env"), S("v")), STATSD_TAG_KEY_START);
    ck_assert_int_eq(statsd_tags_add(t, S("_env"), S("v")), STATSD_TAG_KEY_START);
    ck_assert_int_eq(statsd_tags_add(t, S(".env"), S("v")), STATSD_TAG_KEY_START);
    ck_assert_int_eq(statsd_tags_add(t, big, 65, S("v")), STATSD_TAG_KEY_LONG);
    ck_assert_int_eq(statsd_tags_add(t, big, 64, S("v")), STATSD_TAG_OK);
    ck_assert_int_eq(statsd_tags_add(t, S("env"), S("")), STATSD_TAG_EMPTY_VALUE);
    ck_assert_int_eq(statsd_tags_add(t, S("env"), big, 129), STATSD_TAG_VALUE_LONG);
    ck_assert_int_eq(statsd_tags_add(t, S("route"), S("v")), STATSD_TAG_RESERVED);
    ck_assert_int_eq(statsd_tags_add(t, S("method"), S("v")), STATSD_TAG_RESERVED);
    ck_assert_int_eq(statsd_tags_add(t, S("status"), S("v")), STATSD_TAG_RESERVED);
    ck_assert_uint_eq(t->n, 1);
    memset(t, 0, sizeof(*t));
    for (i = 0; i < STATSD_TAGS_MAX; i++) {
        snprintf(k, sizeof k, "k%d", i);
        ck_assert_int_eq(statsd_tags_add(t, k, strlen(k), S("v")), 0);
    }
    ck_assert_int_eq(statsd_tags_add(t, S("one"), S("more")), STATSD_TAG_TOO_MANY);
    /* a key already there is replaced, even when the set is full */
    ck_assert_int_eq(statsd_tags_add(t, S("k0"), S("w")), STATSD_TAG_OK);
    memset(t, 0, sizeof(*t));
    /* 3 x (64 + 128 + 2) + 1 = 583 > 512: the third does not fit */
    ck_assert_int_eq(statsd_tags_add(t, S("a"), big, 128), 0);
    ck_assert_int_eq(statsd_tags_add(t, S("b"), big, 128), 0);
    ck_assert_int_eq(statsd_tags_add(t, S("c"), big, 128), 0);
    ck_assert_int_eq(statsd_tags_add(t, big, 64, big, 128), STATSD_TAG_TOO_LONG);
    ck_assert_uint_eq(t->n, 3);
    ck_assert_uint_eq(t->text_len[STATSD_TAGS_DOGSTATSD], 2 + 3 * 130 + 2);
    ck_assert_int_eq(statsd_tags_error_text(STATSD_TAG_TOO_LONG)[0] != 0, 1);
    free(t);
}
END_TEST

START_TEST(format_names)
{
    static const parse_case formats[] = {
        {"none", STATSD_TAGS_NONE}, {"DogStatsD", STATSD_TAGS_DOGSTATSD},
        {"influx", STATSD_TAGS_INFLUX}, {"graphite", STATSD_TAGS_GRAPHITE},
        {"datadog", -1}, {"", -1},
    };

    ASSERT_PARSES(statsd_tags_parse_format, statsd_tag_format, formats);
}
END_TEST

START_TEST(request_tags)
{
    char *dst = malloc(STATSD_REQUEST_TAGS_MAX);
    char route[300];
    size_t n;

    n = statsd_tags_request(dst, STATSD_TAGS_DOGSTATSD, S(""), S("a.b"),
                            S("GET"), 1, 200);
    ASSERT_LIT(dst, n, "|#route:a.b,method:GET,status:200", "dog, no static");
    n = statsd_tags_request(dst, STATSD_TAGS_DOGSTATSD, S("|#env:prod"),
                            S("a.b"), S("GET"), 1, 200);
    ASSERT_LIT(dst, n, "|#env:prod,route:a.b,method:GET,status:200", "dog");
    n = statsd_tags_request(dst, STATSD_TAGS_INFLUX, S(""), S("a.b"),
                            S("M:|#,;= x"), 0, 404);
    ASSERT_LIT(dst, n, ",route=a.b,method=M_______x,status=404", "influx");
    n = statsd_tags_request(dst, STATSD_TAGS_GRAPHITE, S(";env=prod"), S("a"),
                            S("POST"), 1, -1);
    ASSERT_LIT(dst, n, ";env=prod;route=a;method=POST", "graphite, no status");
    /* a long route is cut at a segment boundary, to 128 bytes at most */
    memset(route, 'r', sizeof route);
    route[100] = '.';
    route[200] = '.';
    n = statsd_tags_request(dst, STATSD_TAGS_INFLUX, S(""), route, 250,
                            S("GET"), 1, 200);
    ck_assert_uint_eq(n, sizeof(",route=") - 1 + 100
                         + sizeof(",method=GET,status=200") - 1);
    /* the longest there can be fits */
    {
        statsd_tagset *t = calloc(1, sizeof(*t));
        char big[128];
        size_t len;
        const char *txt;
        memset(big, 'x', sizeof big);
        ck_assert_int_eq(statsd_tags_add(t, S("a"), big, 128), 0);
        ck_assert_int_eq(statsd_tags_add(t, S("b"), big, 128), 0);
        ck_assert_int_eq(statsd_tags_add(t, S("c"), big, 128), 0);
        ck_assert_int_eq(statsd_tags_add(t, big, 64, big, 52), 0);
        txt = statsd_tags_text(t, STATSD_TAGS_DOGSTATSD, &len);
        ck_assert_uint_eq(len, STATSD_TAGS_TEXT_MAX);
        memset(route, 'r', sizeof route);
        n = statsd_tags_request(dst, STATSD_TAGS_DOGSTATSD, txt, len, route,
                                300, big, 100, 0, 999);
        ck_assert_uint_le(n, STATSD_REQUEST_TAGS_MAX);
        free(t);
    }
    free(dst);
}
END_TEST

/* ---- tagged lines ------------------------------------------------------- */

typedef struct {
    const char *prefix, *suffix, *name, *aggregate, *method;
    int status, legacy, service, tag_mode;
    int tagged;                 /* the tagged writer even without tags */
    statsd_tag_format format;
    statsd_timer_type timer;
    const char *const *tags;
    uint64_t usec;
} req_spec;

/* A measurement with its lines buffer (STATSD_LINES_CAP bytes, as the
 * tagged writer needs) at the end of the same heap block. */
static statsd_measurement *new_measurement(void)
{
    statsd_measurement *ms = malloc(sizeof *ms + STATSD_LINES_CAP);

    ck_assert_ptr_nonnull(ms);
    memset(ms, 0x5A, sizeof *ms + STATSD_LINES_CAP);
    ms->lines = (char *)(ms + 1);
    return ms;
}

/* The tagged writer's lines fit statsd_lines_size_tagged: written again
 * into a buffer just that large at the end of a heap block (ASan catches
 * a longer write), they are the same. */
static void assert_bound_holds(const statsd_request *req,
                               const statsd_measurement *ms)
{
    size_t need = statsd_lines_size_tagged(req);
    statsd_measurement *mx = malloc(sizeof *mx + need);

    ck_assert_uint_le(need, STATSD_LINES_CAP);
    mx->lines = (char *)(mx + 1);
    ck_assert_int_eq(statsd_lines_build_tagged(req, mx), 0);
    ck_assert_uint_le(mx->lines_len, need);
    ck_assert_uint_eq(mx->lines_len, ms->lines_len);
    ck_assert_mem_eq(mx->lines, ms->lines, ms->lines_len);
    free(mx);
}

/* Tag mode from a plan writes what the general writer wrote into *ms:
 * the same bytes, line count, key, aggregate key and duration. */
static void assert_planned_same(const statsd_request *req,
                                const statsd_measurement *ms)
{
    statsd_tag_plan *pl = malloc(sizeof *pl);
    statsd_measurement *mp;

    ck_assert_int_eq(statsd_lines_tag_plan_init(pl, req->names,
                                                req->key.suffix,
                                                req->key.suffix_len,
                                                req->tags, req->tags_len,
                                                req->tag_format,
                                                req->timer), 0);
    /* the lines buffer just as large as the plan says, at the end of the
     * block: a longer write is caught under ASan */
    ck_assert_uint_le(pl->lines_max, STATSD_LINES_CAP);
    mp = malloc(sizeof *mp + pl->lines_max);
    memset(mp, 0x5A, sizeof *mp + pl->lines_max);
    mp->lines = (char *)(mp + 1);
    ck_assert_int_eq(statsd_lines_build_planned(req, pl, mp), 0);
    ck_assert_uint_eq(mp->lines_len, ms->lines_len);
    ck_assert_mem_eq(mp->lines, ms->lines, ms->lines_len);
    ck_assert_uint_eq(mp->n_lines, ms->n_lines);
    ck_assert_uint_eq(mp->key_len, ms->key_len);
    ck_assert_mem_eq(mp->key, ms->key, ms->key_len);
    ck_assert_uint_eq(mp->agg_len, ms->agg_len);
    if (ms->agg_len)
        ck_assert_mem_eq(mp->agg, ms->agg, ms->agg_len);
    ck_assert_uint_eq(mp->duration_len, ms->duration_len);
    ck_assert_mem_eq(mp->duration, ms->duration, ms->duration_len);
    free(mp);
    free(pl);
}

/* Build the lines of *rs; returns a malloc'd NUL-terminated copy. */
static char *lines_of(const req_spec *rs, statsd_measurement *ms)
{
    statsd_request req;
    statsd_service svc;
    static statsd_tag_names names;
    statsd_tagset *t = set_of(rs->tags);
    const char *prefix = rs->prefix ? rs->prefix : "";
    const char *suffix = rs->suffix ? rs->suffix : "";
    char *out;

    memset(&req, 0, sizeof req);
    statsd_lines_service_init(&svc, prefix, strlen(prefix));
    statsd_lines_tag_names_init(&names, prefix, strlen(prefix));
    req.names = &names;
    req.key.prefix = prefix; req.key.prefix_len = strlen(prefix);
    req.key.suffix = suffix; req.key.suffix_len = strlen(suffix);
    req.key.name = rs->name; req.key.name_len = strlen(rs->name);
    req.key.method = rs->method; req.key.method_len = strlen(rs->method);
    req.key.method_clean = 1;
    req.key.status = rs->status;
    req.key.max_len = STATSD_NAME_DEFAULT_MAX;
    if (rs->aggregate) {
        req.aggregate = rs->aggregate;
        req.aggregate_len = strlen(rs->aggregate);
    }
    req.usec = rs->usec ? rs->usec : 12345;
    req.unit = STATSD_UNIT_MS;
    req.legacy = rs->legacy;
    req.service = rs->service ? &svc : NULL;
    req.timer = rs->timer;
    req.tag_format = rs->format;
    req.tags = statsd_tags_text(t, rs->format, &req.tags_len);
    req.tag_mode = rs->tag_mode;
    memset(ms->lines, 0x5A, STATSD_LINES_CAP);
    if (rs->format || rs->timer || rs->tagged)
        ck_assert_int_eq(statsd_lines_build_tagged(&req, ms), 0);
    else
        ck_assert_int_eq(statsd_lines_build(&req, ms), 0);
    out = malloc(ms->lines_len + 1);
    memcpy(out, ms->lines, ms->lines_len);
    out[ms->lines_len] = '\0';
    if (rs->format || rs->timer || rs->tagged)
        assert_bound_holds(&req, ms);
    if (rs->format && rs->tag_mode)
        assert_planned_same(&req, ms);
    free(t);
    return out;
}

static void assert_lines(const req_spec *rs, const char *exp, unsigned n)
{
    statsd_measurement *ms = new_measurement();
    char *got = lines_of(rs, ms);
    ck_assert_msg(!strcmp(got, exp), "expected\n%s\ngot\n%s", exp, got);
    ck_assert_uint_eq(ms->n_lines, n);
    free(got);
    free(ms);
}

/* The lines of *rs are exp, and the note's parts are key, duration and,
 * unless NULL, the aggregate's key. */
static void assert_lines_note(const req_spec *rs, const char *exp,
                              const char *key, const char *duration,
                              const char *agg)
{
    statsd_measurement *ms = new_measurement();
    char *got = lines_of(rs, ms);

    ck_assert_str_eq(got, exp);
    ASSERT_BYTES(ms->key, ms->key_len, key, strlen(key), "key");
    ASSERT_BYTES(ms->duration, ms->duration_len, duration, strlen(duration),
                 "duration");
    if (agg)
        ASSERT_BYTES(ms->agg, ms->agg_len, agg, strlen(agg), "agg");
    free(got);
    free(ms);
}

static const char *const env_prod[] = {"env", "prod", NULL};

START_TEST(tag_mode_dogstatsd)
{
    req_spec rs = {.prefix = "shop", .name = "cart.items", .method = "GET",
                   .status = 200, .service = 1, .tag_mode = 1,
                   .format = STATSD_TAGS_DOGSTATSD, .tags = env_prod};
    assert_lines(&rs,
        "shop.request.time:12.345|ms|#env:prod,route:cart.items,method:GET,status:200\n"
        "shop.responses.good:1|c|#env:prod\n"
        "shop.responses.time:12.345|ms|#env:prod", 3);
    rs.legacy = 1;
    assert_lines(&rs,
        "shop.request.time:12.345|ms|#env:prod,route:cart.items,method:GET,status:200\n"
        "shop.request.count:1|c|#env:prod,route:cart.items,method:GET,status:200\n"
        "shop.responses.good:1|c|#env:prod\n"
        "shop.responses.time:12.345|ms|#env:prod", 4);
    rs.tags = NULL;
    rs.legacy = 0;
    rs.status = 503;
    assert_lines(&rs,
        "shop.request.time:12.345|ms|#route:cart.items,method:GET,status:503\n"
        "shop.responses.bad:1|c\n"
        "shop.responses.5xx:1|c\n"
        "shop.responses.time:12.345|ms", 4);
}
END_TEST

START_TEST(tag_mode_influx_graphite)
{
    req_spec rs = {.prefix = "shop", .name = "cart.items", .method = "GET",
                   .status = 200, .service = 1, .tag_mode = 1, .legacy = 1,
                   .format = STATSD_TAGS_INFLUX, .tags = env_prod};
    assert_lines(&rs,
        "shop.request.time,env=prod,route=cart.items,method=GET,status=200:12.345|ms\n"
        "shop.request.count,env=prod,route=cart.items,method=GET,status=200:1|c\n"
        "shop.responses.good,env=prod:1|c\n"
        "shop.responses.time,env=prod:12.345|ms", 4);
    rs.format = STATSD_TAGS_GRAPHITE;
    rs.status = 404;
    assert_lines(&rs,
        "shop.request.time;env=prod;route=cart.items;method=GET;status=404:12.345|ms\n"
        "shop.request.count;env=prod;route=cart.items;method=GET;status=404:1|c\n"
        "shop.responses.bad;env=prod:1|c\n"
        "shop.responses.4xx;env=prod:1|c\n"
        "shop.responses.time;env=prod:12.345|ms", 5);
}
END_TEST

START_TEST(tag_mode_aggregate_suffix)
{
    req_spec rs = {.prefix = "shop", .suffix = "web1", .name = "cart.items",
                   .aggregate = "cart", .method = "GET", .status = 200,
                   .tag_mode = 1, .legacy = 1,
                   .format = STATSD_TAGS_DOGSTATSD, .tags = env_prod};

    assert_lines(&rs,
        "shop.request.time.web1:12.345|ms|#env:prod,route:cart.items,method:GET,status:200\n"
        "shop.request.count.web1:1|c|#env:prod,route:cart.items,method:GET,status:200\n"
        "shop.aggregate.time.web1:12.345|ms|#env:prod,route:cart,method:GET,status:200\n"
        "shop.aggregate.count.web1:1|c|#env:prod,route:cart,method:GET,status:200", 4);
    rs.format = STATSD_TAGS_GRAPHITE;
    rs.prefix = NULL;
    rs.suffix = NULL;
    /* the note's parts: the first line's name and value, the aggregate's */
    assert_lines_note(&rs,
        "request.time;env=prod;route=cart.items;method=GET;status=200:12.345|ms\n"
        "request.count;env=prod;route=cart.items;method=GET;status=200:1|c\n"
        "aggregate.time;env=prod;route=cart;method=GET;status=200:12.345|ms\n"
        "aggregate.count;env=prod;route=cart;method=GET;status=200:1|c",
        "request.time", "12.345", "aggregate.time");
}
END_TEST

START_TEST(classic_names_with_tags)
{
    req_spec rs = {.prefix = "shop", .name = "cart.items", .method = "GET",
                   .status = 200, .service = 1, .legacy = 1,
                   .aggregate = "cart",
                   .format = STATSD_TAGS_DOGSTATSD, .tags = env_prod};

    assert_lines(&rs,
        "shop.cart.items.GET.200:12.345|ms|#env:prod\n"
        "shop.cart.items.GET.200:1|c|#env:prod\n"
        "shop.cart.GET.200:12.345|ms|#env:prod\n"
        "shop.cart.GET.200:1|c|#env:prod\n"
        "shop.responses.good:1|c|#env:prod\n"
        "shop.responses.time:12.345|ms|#env:prod", 6);
    rs.format = STATSD_TAGS_INFLUX;
    rs.aggregate = NULL;
    assert_lines_note(&rs,
        "shop.cart.items.GET.200,env=prod:12.345|ms\n"
        "shop.cart.items.GET.200,env=prod:1|c\n"
        "shop.responses.good,env=prod:1|c\n"
        "shop.responses.time,env=prod:12.345|ms",
        "shop.cart.items.GET.200", "12.345", NULL);
    /* tag mode with format none: the classic lines, untagged */
    rs.format = STATSD_TAGS_NONE;
    rs.tag_mode = 1;
    rs.tagged = 1;
    assert_lines(&rs,
        "shop.cart.items.GET.200:12.345|ms\n"
        "shop.cart.items.GET.200:1|c\n"
        "shop.responses.good:1|c\n"
        "shop.responses.time:12.345|ms", 4);
}
END_TEST

START_TEST(timer_types)
{
    req_spec rs = {.prefix = "shop", .name = "a", .method = "GET",
                   .status = 200, .service = 1, .legacy = 1,
                   .timer = STATSD_TIMER_H};
    assert_lines(&rs,
        "shop.a.GET.200:12.345|h\n"
        "shop.a.GET.200:1|c\n"
        "shop.responses.good:1|c\n"
        "shop.responses.time:12.345|h", 4);
    rs.timer = STATSD_TIMER_D;
    rs.format = STATSD_TAGS_DOGSTATSD;
    rs.tag_mode = 1;
    rs.tags = env_prod;
    rs.legacy = 0;
    assert_lines(&rs,
        "shop.request.time:12.345|d|#env:prod,route:a,method:GET,status:200\n"
        "shop.responses.good:1|c|#env:prod\n"
        "shop.responses.time:12.345|d|#env:prod", 3);
}
END_TEST

/* Format none and ms through the tagged writer give the untagged lines:
 * compare both writers over many shapes of request. */
START_TEST(untagged_same_as_fast_path)
{
    static const char *const prefixes[] = {"", "shop", "a.b"};
    static const char *const suffixes[] = {"", "web1"};
    static const char *const aggs[] = {NULL, "agg"};
    static const int statuses[] = {101, 200, 302, 404, 500, 599};
    statsd_measurement *a = new_measurement(), *b = new_measurement();
    unsigned i;

    for (i = 0; i < 3 * 2 * 2 * 6 * 4; i++) {
        req_spec rs = {.prefix = prefixes[i % 3], .suffix = suffixes[i / 3 % 2],
                       .aggregate = aggs[i / 6 % 2], .status = statuses[i / 12 % 6],
                       .legacy = i / 72 % 2, .service = i / 144 % 2,
                       .name = "x.y", .method = "GET", .usec = 1000 + i};
        char *fast = lines_of(&rs, a), *slow;
        /* the tagged writer, with no tags and ms timers */
        rs.tagged = 1;
        slow = lines_of(&rs, b);
        ck_assert_str_eq(fast, slow);
        free(slow);
        /* and an empty tag text in a dialect whose text would come after
         * the name writes nothing there */
        rs.format = STATSD_TAGS_INFLUX;
        slow = lines_of(&rs, b);
        ck_assert_str_eq(fast, slow);
        ck_assert_uint_eq(a->n_lines, b->n_lines);
        ASSERT_BYTES(b->key, b->key_len, a->key, a->key_len, "key");
        ASSERT_BYTES(b->duration, b->duration_len, a->duration,
                     a->duration_len, "duration");
        ck_assert_uint_eq(a->agg_len, b->agg_len);
        free(fast);
        free(slow);
    }
    free(a);
    free(b);
}
END_TEST

/* Tag mode from a plan against the general writer, for methods, routes
 * and statuses of every length class, in every dialect. */
START_TEST(planned_lengths)
{
    static const char *const methods[] = {"", "G", "GE", "GET", "POST",
        "OPTIONS", "PROPFIND", "VERSION-CONTROL-AND-A-LONG-EXTENSION", NULL};
    static const char *const names[] = {"a", "ab", "abc", "abcd", "x.y.z.w",
        "abcdefgh", "cart.items.per.page.and.more", NULL};
    static const int statuses[] = {-1, 0, 99, 100, 200, 404, 503, 999, 1000};
    statsd_measurement *ms = new_measurement();
    req_spec rs = {0};
    int f, i, j, k;

    rs.prefix = "shop";
    rs.tag_mode = 1;
    rs.legacy = 1;
    rs.service = 1;
    rs.tags = env_prod;
    for (f = 1; f < STATSD_TAG_FORMATS; f++)
        for (i = 0; methods[i]; i++)
            for (j = 0; names[j]; j++)
                for (k = 0; k < (int)(sizeof statuses / sizeof *statuses); k++) {
                    rs.format = (statsd_tag_format)f;
                    rs.method = methods[i];
                    rs.name = names[j];
                    rs.status = statuses[k];
                    rs.aggregate = k % 2 ? "all" : NULL;
                    free(lines_of(&rs, ms));   /* compares both writers */
                }
    free(ms);
}
END_TEST

/* The longest lines there can be fit STATSD_LINES_CAP. */
START_TEST(largest_tagged)
{
    statsd_request req;
    statsd_service svc;
    statsd_measurement *ms = new_measurement();
    statsd_tagset *t = calloc(1, sizeof(*t));
    static char pre[STATSD_AFFIX_MAX], suf[STATSD_AFFIX_MAX];
    static char name[STATSD_NAME_MAX], method[64], big[128];
    static statsd_tag_names names;
    int f;

    memset(pre, 'p', sizeof pre);
    memset(suf, 's', sizeof suf);
    memset(name, 'n', sizeof name);
    memset(method, 'M', sizeof method);
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(statsd_tags_add(t, S("a"), big, 128), 0);
    ck_assert_int_eq(statsd_tags_add(t, S("b"), big, 128), 0);
    ck_assert_int_eq(statsd_tags_add(t, S("c"), big, 128), 0);
    ck_assert_int_eq(statsd_tags_add(t, big, 64, big, 52), 0);
    statsd_lines_service_init(&svc, pre, sizeof pre);
    statsd_lines_tag_names_init(&names, pre, sizeof pre);
    for (f = 1; f < STATSD_TAG_FORMATS; f++) {
        for (int mode = 0; mode < 2; mode++) {
            memset(&req, 0, sizeof req);
            req.key.prefix = pre; req.key.prefix_len = sizeof pre;
            req.key.suffix = suf; req.key.suffix_len = sizeof suf;
            req.key.name = name; req.key.name_len = sizeof name;
            req.key.method = method; req.key.method_len = sizeof method;
            req.key.status = 503;
            req.key.max_len = STATSD_NAME_MAX;
            req.aggregate = name; req.aggregate_len = sizeof name;
            req.usec = UINT64_MAX;
            req.unit = STATSD_UNIT_MS;
            req.legacy = 1;
            req.service = &svc;
            req.names = &names;
            req.timer = STATSD_TIMER_MS;
            req.tag_format = (statsd_tag_format)f;
            req.tags = statsd_tags_text(t, req.tag_format, &req.tags_len);
            req.tag_mode = mode;
            ck_assert_int_eq(statsd_lines_build_tagged(&req, ms), 0);
            ck_assert_uint_le(ms->lines_len, STATSD_LINES_CAP);
            ck_assert_uint_eq(ms->n_lines, 7);
            assert_bound_holds(&req, ms);
            if (mode) {
                /* the room past the end the plan's block copies use */
                ck_assert_uint_le(ms->lines_len + STATSD_PLAN_SLACK,
                                  STATSD_LINES_CAP);
                assert_planned_same(&req, ms);
            }
        }
    }
    free(t);
    free(ms);
}
END_TEST

/* ---- runner ------------------------------------------------------------- */

int main(void)
{
    Suite *s = suite_create("statsd_tags");

    UNIT_TCASE(s, "tags", NULL, NULL, 0,
               UNIT_TEST(texts_per_dialect),
               UNIT_TEST(replace_by_key),
               UNIT_TEST(merge_levels),
               UNIT_TEST(merge_past_the_caps),
               UNIT_TEST(sanitised),
               UNIT_TEST(refused),
               UNIT_TEST(format_names),
               UNIT_TEST(request_tags));
    UNIT_TCASE(s, "lines", NULL, NULL, 60,
               UNIT_TEST(tag_mode_dogstatsd),
               UNIT_TEST(tag_mode_influx_graphite),
               UNIT_TEST(tag_mode_aggregate_suffix),
               UNIT_TEST(classic_names_with_tags),
               UNIT_TEST(timer_types),
               UNIT_TEST(untagged_same_as_fast_path),
               UNIT_TEST(planned_lengths),
               UNIT_TEST(largest_tagged));
    return run_suite(s);
}
