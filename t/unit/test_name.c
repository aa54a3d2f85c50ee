/*
 * test_name.c - Check unit tests of the name builder (statsd_name.h).
 *
 * Every input is handed over in a heap block of exactly its length (no NUL)
 * and every output buffer is a heap block of exactly the documented size, so
 * that under -fsanitize=address any read or write past the contract traps.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_name.h"

/* ---- helpers ------------------------------------------------------------ */

#include "unit_util.h"

static int allowed_seg_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* ^[A-Za-z0-9_.-]+$, no empty segment, no dot at either end. */
static int is_clean_name(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (s[i + 1] == '.')
                return 0;
        } else if (!allowed_seg_byte(c)) {
            return 0;
        }
    }
    return 1;
}

/* ---- statsd_name_from_path --------------------------------------------- */

/* Run statsd_name_from_path on exactly len bytes (and the NUL after them,
 * which it requires) with the smallest dst the header allows; copy the
 * result into out (NUL-terminated) and return its length. Checks the
 * invariants every result must have. */
static size_t run_path(const char *uri, size_t len, statsd_exclude_fn ex,
                       void *baton, char *out, size_t outcap)
{
    char *in = dup_terminated(uri, len);
    size_t cap = STATSD_PATH_SCRATCH(len);
    if (cap < 5)
        cap = 5;
    char *dst = malloc(cap);
    ck_assert_ptr_nonnull(dst);
    memset(dst, 0xA5, cap);
    size_t r = statsd_name_from_path(dst, cap, in, len, SIZE_MAX, ex, baton);
    ck_assert_msg(r <= cap, "from_path(\"%s\"): returned %zu > cap %zu",
                  esc(uri, len), r, cap);
    ck_assert_msg(r > 0, "from_path(\"%s\"): empty name", esc(uri, len));
    ck_assert_msg(is_clean_name(dst, r),
                  "from_path(\"%s\"): \"%s\" is not a clean name",
                  esc(uri, len), esc(dst, r));
    ck_assert_msg(r < outcap, "test buffer too small");
    memcpy(out, dst, r);
    out[r] = '\0';
    free(dst);
    free(in);
    return r;
}

static void check_path_n(const char *uri, size_t len, const char *exp,
                         statsd_exclude_fn ex, void *baton)
{
    char out[8192];
    char what[512];
    size_t r = run_path(uri, len, ex, baton, out, sizeof out);
    snprintf(what, sizeof what, "from_path(\"%s\")", esc(uri, len));
    ASSERT_BYTES(out, r, exp, strlen(exp), what);
}

#define CHECK_PATH(uri, exp) check_path_n((uri), strlen(uri), (exp), NULL, NULL)
#define CHECK_PATH_X(uri, exp, ex, baton) \
    check_path_n((uri), strlen(uri), (exp), (ex), (baton))

START_TEST(path_spec_examples)
{
    CHECK_PATH("/foo/bar?baz=42", "foo.bar");
    CHECK_PATH("///basic///foo///", "basic.foo");
    CHECK_PATH("/basic/x.y", "basic.x_y");
    CHECK_PATH("/basic/x:y|z", "basic.x_y_z");
}
END_TEST

START_TEST(path_root)
{
    CHECK_PATH("/", "ROOT");
    CHECK_PATH("*", "ROOT");
    CHECK_PATH("", "ROOT");
    CHECK_PATH("//", "ROOT");
    CHECK_PATH("/./", "ROOT");
    CHECK_PATH("/..", "ROOT");
    CHECK_PATH("/a/..", "ROOT");
    CHECK_PATH("/?x=1", "ROOT");
    CHECK_PATH("/#frag", "ROOT");
    CHECK_PATH("?a/b", "ROOT");
}
END_TEST

START_TEST(path_dot_segments)
{
    CHECK_PATH("/a/./b", "a.b");
    CHECK_PATH("/a/b/../c", "a.c");
    CHECK_PATH("/../../a", "a");
    CHECK_PATH("/a/b/c/../../d", "a.d");
    CHECK_PATH("/a/b/..", "a");
    CHECK_PATH("/a/b/../", "a");
    CHECK_PATH("/a/.../b", "a.___.b");   /* "..." is an ordinary segment */
    CHECK_PATH("/a/..b/c", "a.__b.c");
    CHECK_PATH("/a/.b", "a._b");
}
END_TEST

START_TEST(path_percent_decoding)
{
    CHECK_PATH("/a/%2F/b", "a._.b");
    CHECK_PATH("/a/%2f/b", "a._.b");
    CHECK_PATH("/a%2Fb", "a_b");
    CHECK_PATH("/%41bc", "Abc");
    CHECK_PATH("/%61%62%63", "abc");
    CHECK_PATH("/%5f%2D", "_-");
    CHECK_PATH("/a%zz", "a_zz");        /* invalid escape: '%' sanitised */
    CHECK_PATH("/a%", "a_");            /* truncated escape at the end */
    CHECK_PATH("/a%4", "a_4");
    CHECK_PATH("/a%4?x", "a_4");
    CHECK_PATH("/a%4/b", "a_4.b");
    CHECK_PATH("/a%/b", "a_.b");
    CHECK_PATH("/a%g1", "a_g1");
    CHECK_PATH("/%%41", "_A");
    CHECK_PATH("/a%2541", "a_41");      /* decoded once, not twice */
    CHECK_PATH("/a%3Fb?c", "a_b");      /* encoded '?' does not end the path */
    CHECK_PATH("/a%23b", "a_b");        /* encoded '#' does not end the path */
    CHECK_PATH("/a%2Eb", "a_b");
    CHECK_PATH("/a%0Ab", "a_b");
    CHECK_PATH("/a%00b", "a_b");
    CHECK_PATH("/a%0d%0Ab", "a__b");
    CHECK_PATH("/a b", "a_b");
    CHECK_PATH("/a%20b", "a_b");
    CHECK_PATH("/caf%C3%A9", "caf__");
    CHECK_PATH("/caf\xc3\xa9", "caf__");
}
END_TEST

START_TEST(path_decoded_dot_segments)
{
    CHECK_PATH("/a/%2e%2e/x", "x");
    CHECK_PATH("/a/%2E%2E/x", "x");
    CHECK_PATH("/a/.%2e/x", "x");
    CHECK_PATH("/a/%2e./x", "x");
    CHECK_PATH("/a/%2e/x", "a.x");
    CHECK_PATH("/a/b/%2e%2e", "a");
}
END_TEST

START_TEST(path_query_and_fragment)
{
    CHECK_PATH("/x#frag", "x");
    CHECK_PATH("/x#frag/y", "x");
    CHECK_PATH("/x?q#f", "x");
    CHECK_PATH("/a/b?c/d", "a.b");
    CHECK_PATH("/p?u=http://x/y", "p");
    CHECK_PATH("/a?", "a");
    CHECK_PATH("/a/?", "a");
}
END_TEST

START_TEST(path_absolute_form)
{
    CHECK_PATH("http://example.com/p/q?x", "p.q");
    CHECK_PATH("https://example.com:8443/p/q", "p.q");
    CHECK_PATH("HTTP://Example.COM/a.b/c", "a_b.c");
    CHECK_PATH("http://example.com/", "ROOT");
    CHECK_PATH("http://example.com", "ROOT");
    CHECK_PATH("http://example.com?x/y", "ROOT");
    CHECK_PATH("http://example.com#f/y", "ROOT");
    CHECK_PATH("http://example.com?x=/a/b", "ROOT");
    CHECK_PATH("http://example.com/p#f", "p");
    CHECK_PATH("http://example.com/a/../../b", "b");
    /* "scheme://" only counts at the very start: this is an ordinary path */
    CHECK_PATH("/http://x/y", "http_.x.y");
}
END_TEST

/* Every byte, raw, inside a segment and as a whole segment. */
START_TEST(path_all_raw_bytes)
{
    for (int b = 0; b < 256; b++) {
        char uri[8];
        char exp[8];
        unsigned char c = (unsigned char)b;

        /* "/a" c "b" */
        uri[0] = '/'; uri[1] = 'a'; uri[2] = (char)c; uri[3] = 'b';
        if (c == '/')
            strcpy(exp, "a.b");
        else if (c == '?' || c == '#')
            strcpy(exp, "a");
        else if (allowed_seg_byte(c))
            snprintf(exp, sizeof exp, "a%cb", c);
        else
            strcpy(exp, "a_b");
        check_path_n(uri, 4, exp, NULL, NULL);

        /* "/" c */
        uri[0] = '/'; uri[1] = (char)c;
        if (c == '/' || c == '?' || c == '#' || c == '.')
            strcpy(exp, "ROOT");
        else if (allowed_seg_byte(c))
            snprintf(exp, sizeof exp, "%c", c);
        else
            strcpy(exp, "_");
        check_path_n(uri, 2, exp, NULL, NULL);
    }
}
END_TEST

/* Every byte, percent-encoded (upper and lower case hex). */
START_TEST(path_all_encoded_bytes)
{
    static const char *fmts[2] = { "/a%%%02Xb", "/a%%%02xb" };
    static const char *fmts1[2] = { "/%%%02X", "/%%%02x" };
    for (int f = 0; f < 2; f++) {
        for (int b = 0; b < 256; b++) {
            char uri[16];
            char exp[8];
            unsigned char c = (unsigned char)b;

            snprintf(uri, sizeof uri, fmts[f], b);
            if (allowed_seg_byte(c))
                snprintf(exp, sizeof exp, "a%cb", c);
            else
                strcpy(exp, "a_b");
            check_path_n(uri, strlen(uri), exp, NULL, NULL);

            snprintf(uri, sizeof uri, fmts1[f], b);
            if (c == '.')
                strcpy(exp, "ROOT");     /* decoded "." segment is dropped */
            else if (allowed_seg_byte(c))
                snprintf(exp, sizeof exp, "%c", c);
            else
                strcpy(exp, "_");
            check_path_n(uri, strlen(uri), exp, NULL, NULL);
        }
    }
}
END_TEST

START_TEST(path_embedded_nul)
{
    static const char u1[] = "/a\0b/c";
    check_path_n(u1, sizeof u1 - 1, "a_b.c", NULL, NULL);
    static const char u2[] = "/\0";
    check_path_n(u2, sizeof u2 - 1, "_", NULL, NULL);
    /* the length is what counts, not a NUL */
    check_path_n("/ab/cd", 3, "ab", NULL, NULL);
}
END_TEST

START_TEST(path_long)
{
    /* 20000 one-byte segments: output is as long as the budget allows */
    size_t n = 20000;
    size_t len = 2 * n;
    char *uri = malloc(len);
    char *exp = malloc(len);
    ck_assert_ptr_nonnull(uri);
    ck_assert_ptr_nonnull(exp);
    for (size_t i = 0; i < n; i++) {
        uri[2 * i] = '/';
        uri[2 * i + 1] = 'z';
        exp[2 * i] = 'z';
        exp[2 * i + 1] = '.';
    }
    char *in = dup_terminated(uri, len);
    size_t cap = STATSD_PATH_SCRATCH(len);
    char *dst = malloc(cap);
    ck_assert_ptr_nonnull(dst);
    size_t r = statsd_name_from_path(dst, cap, in, len, SIZE_MAX, NULL, NULL);
    ASSERT_BYTES(dst, r, exp, len - 1, "from_path(20000 x \"/z\")");

    /* one long segment of 5000 bytes, half of them bad */
    for (size_t i = 0; i < len; i++)
        uri[i] = (i & 1) ? ':' : 'q';
    uri[0] = '/';
    for (size_t i = 1; i < len; i++)
        exp[i - 1] = (i & 1) ? '_' : 'q';
    free(in);
    in = dup_terminated(uri, len);
    r = statsd_name_from_path(dst, cap, in, len, SIZE_MAX, NULL, NULL);
    ASSERT_BYTES(dst, r, exp, len - 1, "from_path(long segment)");
    free(in);
    free(dst);
    free(exp);
    free(uri);
}
END_TEST

/* ---- excludes ----------------------------------------------------------- */

typedef struct {
    int calls;
    char seen[64][64];
    size_t seen_len[64];
    int magic;
} exclude_log;

#define BATON_MAGIC 0x5eed

/* Drops segments made only of digits; logs what it is given. */
static int exclude_digits(const char *seg, size_t len, void *baton)
{
    exclude_log *log = baton;
    if (log) {
        ck_assert_int_eq(log->magic, BATON_MAGIC);
        if (log->calls < 64) {
            size_t k = len < 63 ? len : 63;
            memcpy(log->seen[log->calls], seg, k);
            log->seen[log->calls][k] = '\0';
            log->seen_len[log->calls] = len;
        }
        log->calls++;
    }
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (seg[i] < '0' || seg[i] > '9')
            return 0;
    return 1;
}

static int exclude_all(const char *seg, size_t len, void *baton)
{
    (void)seg; (void)len; (void)baton;
    return 1;
}

static int exclude_none(const char *seg, size_t len, void *baton)
{
    (void)seg; (void)len; (void)baton;
    return 0;
}

/* Drops the decoded segment "x/y" (contains a raw slash after decoding). */
static int exclude_slashy(const char *seg, size_t len, void *baton)
{
    (void)baton;
    return len == 3 && memcmp(seg, "x/y", 3) == 0;
}

START_TEST(exclude_basic)
{
    exclude_log log = { .magic = BATON_MAGIC };
    CHECK_PATH_X("/user/123/profile", "user.profile", exclude_digits, &log);
    CHECK_PATH_X("/user/123", "user", exclude_digits, &log);
    CHECK_PATH_X("/123/456", "ROOT", exclude_digits, &log);
    CHECK_PATH_X("/user/12a/profile", "user.12a.profile", exclude_digits, &log);
    CHECK_PATH_X("/a/b", "ROOT", exclude_all, NULL);
    CHECK_PATH_X("/a/b", "a.b", exclude_none, NULL);
    CHECK_PATH_X("/user/123/profile?id=7", "user.profile", exclude_digits, NULL);
}
END_TEST

/* The scan with exclude tests and the one without are separate loops: a
 * test that keeps every segment must give the same name as no test. */
START_TEST(exclude_none_same_as_plain)
{
    static const struct { const char *uri; size_t len; } paths[] = {
#define P(s) { s, sizeof(s) - 1 }
        P("/api/v1/users/"), P("/bench.txt"), P("///basic///foo///"),
        P("/a/./b"), P("/a/b/../c"), P("/../../a"), P("/a/b/.."),
        P("/a/b/../"), P("/a/.../b"), P("/a/..b/c"), P("/a/.b"), P("/"),
        P(""), P("*"), P("//"), P("/./"), P("/.."), P("?a/b"), P("/#f"),
        P("/a/%2F/b"), P("/a/%2e%2E/b"), P("/%2e/x"), P("/x/%2e%2e"),
        P("/a%zz/b%"), P("/a%2"), P("/a%00b/c"), P("/a\0b/c"),
        P("http://host:80/x/y?q=1"), P("https://h"), P("a/b"), P("/x y/z~"),
        P("/\xc3\xa9t\xc3\xa9/x"), P("/a//./../b//c/"), P("/./../a/"),
#undef P
    };
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char plain[512], tested[512];
        size_t n = run_path(paths[i].uri, paths[i].len, NULL, NULL, plain,
                            sizeof plain);
        size_t m = run_path(paths[i].uri, paths[i].len, exclude_none, NULL,
                            tested, sizeof tested);
        ASSERT_BYTES(tested, m, plain, n,
                     esc(paths[i].uri, paths[i].len));
    }
}
END_TEST

START_TEST(exclude_decoded)
{
    CHECK_PATH_X("/user/%31%32%33/profile", "user.profile", exclude_digits, NULL);
    CHECK_PATH_X("/user/1%323/profile", "user.profile", exclude_digits, NULL);
    CHECK_PATH_X("/a/x%2Fy/b", "a.b", exclude_slashy, NULL);
    CHECK_PATH_X("/a/x%2fy/b", "a.b", exclude_slashy, NULL);
    /* raw slash splits: "x" and "y" are not "x/y" */
    CHECK_PATH_X("/a/x/y/b", "a.x.y.b", exclude_slashy, NULL);
}
END_TEST

START_TEST(exclude_dotdot)
{
    /* ".." after an excluded segment removes that segment */
    CHECK_PATH_X("/a/123/../b", "a.b", exclude_digits, NULL);
    CHECK_PATH_X("/a/123/..", "a", exclude_digits, NULL);
    CHECK_PATH_X("/a/123/../../b", "b", exclude_digits, NULL);
    CHECK_PATH_X("/a/123/456/../b", "a.b", exclude_digits, NULL);
    CHECK_PATH_X("/a/b/../123/c", "a.c", exclude_digits, NULL);
}
END_TEST

START_TEST(exclude_receives_decoded_bytes)
{
    exclude_log log = { .magic = BATON_MAGIC };
    char out[64];
    run_path("/p/x%2Fy/%41%00z", strlen("/p/x%2Fy/%41%00z"), exclude_digits,
             &log, out, sizeof out);
    int saw_p = 0, saw_xy = 0, saw_anz = 0;
    int n = log.calls < 64 ? log.calls : 64;
    for (int i = 0; i < n; i++) {
        if (log.seen_len[i] == 1 && memcmp(log.seen[i], "p", 1) == 0)
            saw_p = 1;
        if (log.seen_len[i] == 3 && memcmp(log.seen[i], "x/y", 3) == 0)
            saw_xy = 1;
        if (log.seen_len[i] == 3 && memcmp(log.seen[i], "A\0z", 3) == 0)
            saw_anz = 1;
    }
    ck_assert_msg(saw_p, "exclude fn never saw segment \"p\"");
    ck_assert_msg(saw_xy, "exclude fn never saw decoded segment \"x/y\"");
    ck_assert_msg(saw_anz, "exclude fn never saw decoded segment \"A\\0z\"");
    ck_assert_str_eq(out, "p.x_y.A_z");
}
END_TEST

/* ---- bounded work -------------------------------------------------------- */

/* "/seg" n times, NUL-terminated (caller frees). */
static char *repeat_segment(const char *seg, size_t n)
{
    size_t k = strlen(seg), i;
    char *uri = malloc(n * (k + 1) + 1);
    ck_assert_ptr_nonnull(uri);
    for (i = 0; i < n; i++) {
        uri[i * (k + 1)] = '/';
        memcpy(uri + i * (k + 1) + 1, seg, k);
    }
    uri[n * (k + 1)] = '\0';
    return uri;
}

/* statsd_name_from_path with a given max into out (NUL-terminated). */
static size_t path_max(const char *uri, size_t max, statsd_exclude_fn ex,
                       void *baton, char *out, size_t outcap)
{
    size_t len = strlen(uri), cap = STATSD_PATH_SCRATCH(len);
    char *dst = malloc(cap);
    size_t r;

    ck_assert_ptr_nonnull(dst);
    r = statsd_name_from_path(dst, cap, uri, len, max, ex, baton);
    ck_assert_msg(r < outcap && is_clean_name(dst, r), "from_path(\"%s\")",
                  esc(uri, len));
    memcpy(out, dst, r);
    out[r] = '\0';
    free(dst);
    return r;
}

static int exclude_count_all(const char *seg, size_t len, void *baton)
{
    (void)seg; (void)len;
    ++*(int *)baton;
    return 1;
}

static int exclude_count_none(const char *seg, size_t len, void *baton)
{
    (void)seg; (void)len;
    ++*(int *)baton;
    return 0;
}

/* From uri with max and a counting exclude test: the name is exp and the
 * test was called exp_calls times. */
static void check_scan(const char *uri, size_t max, statsd_exclude_fn count,
                       const char *exp, int exp_calls)
{
    char out[8192];
    int calls = 0;

    path_max(uri, max, count, &calls, out, sizeof out);
    ck_assert_str_eq(out, exp);
    ck_assert_int_eq(calls, exp_calls);
}

START_TEST(path_segment_cap)
{
    char out[512], exp[512], big[512];
    char *uri = repeat_segment("x", 100);
    int calls = 0;
    size_t i;

    for (i = 0; i < STATSD_PATH_MAX_SEGMENTS; i++) {
        exp[2 * i] = 'x';
        exp[2 * i + 1] = '.';
    }
    exp[2 * STATSD_PATH_MAX_SEGMENTS - 1] = '\0';
    check_scan(uri, SIZE_MAX, exclude_count_none, exp,
               STATSD_PATH_MAX_SEGMENTS);
    /* no exclude test, no bound: all 100 */
    ck_assert_int_eq(path_max(uri, 10, NULL, NULL, out, sizeof out), 199);
    free(uri);

    /* the scan ends at "y", the 65th segment to test: the ".." after it
     * are not looked at */
    uri = repeat_segment("x", STATSD_PATH_MAX_SEGMENTS);
    snprintf(big, sizeof big, "%s/y/../..", uri);
    path_max(big, SIZE_MAX, exclude_count_none, &calls, out, sizeof out);
    ck_assert_str_eq(out, exp);
    path_max(big, SIZE_MAX, NULL, NULL, out, sizeof out);
    ck_assert_int_eq(strlen(out), 2 * STATSD_PATH_MAX_SEGMENTS - 3);
    free(uri);

    /* "." and ".." are not tested, so they do not count */
    uri = repeat_segment(".", 100);
    snprintf(big, sizeof big, "%s/a", uri);
    check_scan(big, SIZE_MAX, exclude_count_none, "a", 1);
    free(uri);

    /* nor do empty segments */
    ck_assert_int_eq(path_max("////////a//////b", SIZE_MAX, exclude_count_none,
                              &calls, out, sizeof out), 3);
    ck_assert_str_eq(out, "a.b");
}
END_TEST

START_TEST(path_stops_when_full)
{
    char out[8192];
    char *uri = repeat_segment("abcd", 290);
    int calls = 0;

    /* 4, 9, 14 bytes: the fourth segment finds the name full */
    check_scan(uri, 10, exclude_count_none, "abcd.abcd.abcd", 3);
    path_max(uri, 9, exclude_count_none, &calls, out, sizeof out);
    ck_assert_str_eq(out, "abcd.abcd");
    /* no exclude test: max is not used */
    ck_assert_int_eq(path_max(uri, 10, NULL, NULL, out, sizeof out),
                     290 * 5 - 1);
    free(uri);

    /* exact fit: a name of max bytes is full */
    ck_assert_int_eq(path_max("/abcd/efgh/ijkl", 9, exclude_count_none, &calls,
                              out, sizeof out), 9);
    ck_assert_str_eq(out, "abcd.efgh");
    /* an excluded segment counts as an empty one: "abcd." is 5 bytes */
    ck_assert_int_eq(path_max("/abcd/1/efgh/2/ijkl", 10, exclude_digits, NULL,
                              out, sizeof out), 9);
    ck_assert_str_eq(out, "abcd.efgh");
}
END_TEST

START_TEST(exclude_calls_bounded)
{
    char *uri = repeat_segment("a", 5000);

    /* excluded segments leave the name empty: the segment cap ends it */
    check_scan(uri, 250, exclude_count_all, "ROOT", STATSD_PATH_MAX_SEGMENTS);
    free(uri);

    /* "/a/.." pairs: the name stays empty, the tests still end at 64 */
    uri = malloc(5000 * 5 + 1);
    ck_assert_ptr_nonnull(uri);
    for (int i = 0; i < 5000; i++)
        memcpy(uri + 5 * i, "/a/..", 5);
    uri[5000 * 5] = '\0';
    check_scan(uri, 250, exclude_count_none, "ROOT", STATSD_PATH_MAX_SEGMENTS);
    free(uri);
}
END_TEST

/* ---- statsd_name_segment ------------------------------------------------ */

START_TEST(segment_all_bytes)
{
    for (int b = 0; b < 256; b++) {
        char src = (char)b;
        char *in = dup_exact(&src, 1);
        char dst[3] = { 'X', 'Y', 'Z' };
        size_t r = statsd_name_segment(dst + 1, in, 1);
        ck_assert_uint_eq(r, 1);
        char exp = allowed_seg_byte((unsigned char)b) ? (char)b : '_';
        ck_assert_msg(dst[1] == exp, "segment(0x%02x): expected '%c' got 0x%02x",
                      b, exp, (unsigned char)dst[1]);
        ck_assert_msg(dst[0] == 'X' && dst[2] == 'Z',
                      "segment(0x%02x) wrote outside its byte", b);
        free(in);
    }
}
END_TEST

START_TEST(segment_strings)
{
    static const char src[] = "ab.c:d|e@f#g h\0i\r\nj-k_L9\xff";
    size_t len = sizeof src - 1;
    static const char exp[] = "ab_c_d_e_f_g_h_i__j-k_L9_";
    char *in = dup_exact(src, len);
    char *dst = malloc(len);
    ck_assert_ptr_nonnull(dst);
    size_t r = statsd_name_segment(dst, in, len);
    ck_assert_uint_eq(r, len);
    ASSERT_BYTES(dst, r, exp, sizeof exp - 1, "segment(mixed)");

    /* len 0 writes nothing */
    char z = 'Q';
    ck_assert_uint_eq(statsd_name_segment(&z, in, 0), 0);
    ck_assert_int_eq(z, 'Q');
    free(dst);
    free(in);
}
END_TEST

/* ---- statsd_name_clean -------------------------------------------------- */

static void check_clean_cap(const char *src, size_t len, size_t cap,
                            const char *exp)
{
    char what[256];
    char *in = dup_exact(src, len);
    char *dst = malloc(cap ? cap : 1);
    ck_assert_ptr_nonnull(dst);
    size_t r = statsd_name_clean(dst, cap, in, len);
    snprintf(what, sizeof what, "clean(\"%s\", cap %zu)", esc(src, len), cap);
    ck_assert_msg(r <= cap, "%s: returned %zu > cap", what, r);
    ASSERT_BYTES(dst, r, exp, strlen(exp), what);
    if (r)
        ck_assert_msg(is_clean_name(dst, r), "%s: \"%s\" not clean", what,
                      esc(dst, r));
    free(dst);
    free(in);
}

#define CHECK_CLEAN(src, exp) check_clean_cap((src), strlen(src), 256, (exp))

START_TEST(clean_examples)
{
    CHECK_CLEAN("prefix.", "prefix");
    CHECK_CLEAN("prefix", "prefix");
    CHECK_CLEAN(".a..b.", "a.b");
    CHECK_CLEAN("a b:c|d@e#f", "a_b_c_d_e_f");
    CHECK_CLEAN("....", "");
    CHECK_CLEAN("", "");
    CHECK_CLEAN(".", "");
    CHECK_CLEAN("web.{hostname}", "web._hostname_");
    CHECK_CLEAN("a.b.c", "a.b.c");
    CHECK_CLEAN("..x..", "x");
    CHECK_CLEAN("a\r\nb", "a__b");
    CHECK_CLEAN("a/b", "a_b");
    static const char nul[] = "a\0.b";
    check_clean_cap(nul, sizeof nul - 1, 16, "a_.b");
}
END_TEST

START_TEST(clean_all_bytes)
{
    for (int b = 0; b < 256; b++) {
        char src[3] = { 'a', (char)b, 'b' };
        char exp[4];
        unsigned char c = (unsigned char)b;
        if (c == '.')
            strcpy(exp, "a.b");
        else if (allowed_seg_byte(c))
            snprintf(exp, sizeof exp, "a%cb", c);
        else
            strcpy(exp, "a_b");
        check_clean_cap(src, 3, 3, exp);

        char one = (char)b;
        if (c == '.')
            exp[0] = '\0';
        else
            snprintf(exp, sizeof exp, "%c", allowed_seg_byte(c) ? c : '_');
        check_clean_cap(&one, 1, 1, exp);
    }
}
END_TEST

START_TEST(clean_cap)
{
    /* fits exactly */
    check_clean_cap("abc.defgh", 9, 9, "abc.defgh");
    /* cut at the last segment boundary that fits */
    check_clean_cap("abc.defgh", 9, 8, "abc");
    check_clean_cap("abc.defgh", 9, 5, "abc");
    check_clean_cap("abc.defgh", 9, 4, "abc");
    check_clean_cap("abc.defgh", 9, 3, "abc");
    check_clean_cap("aa.bb.cc.dd", 11, 10, "aa.bb.cc");
    /* no whole segment fits: cut inside the first one */
    check_clean_cap("abc.defgh", 9, 2, "ab");
    check_clean_cap("abcdef", 6, 4, "abcd");
    check_clean_cap("abc", 3, 0, "");
    /* the cap applies to the output, not the input */
    check_clean_cap("a..b", 4, 3, "a.b");
    check_clean_cap("..a..b..", 8, 3, "a.b");
    check_clean_cap(".abc", 4, 3, "abc");
}
END_TEST

START_TEST(clean_cap_properties)
{
    static const char *srcs[] = {
        "aaaaaaaaaa.bbbbbbbbbb.cccccccccc",
        "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o",
        "..x..yy...zzz....wwww.",
        "one two.three:four|five.six@seven",
        "abcdefghijklmnopqrstuvwxyz",
    };
    for (size_t s = 0; s < sizeof srcs / sizeof srcs[0]; s++) {
        size_t len = strlen(srcs[s]);
        char full[128];
        size_t full_len = statsd_name_clean(full, sizeof full, srcs[s], len);
        for (size_t cap = 0; cap <= len + 2; cap++) {
            char *in = dup_exact(srcs[s], len);
            char *dst = malloc(cap ? cap : 1);
            size_t r = statsd_name_clean(dst, cap, in, len);
            ck_assert_msg(r <= cap, "clean(\"%s\", %zu) returned %zu", srcs[s],
                          cap, r);
            if (cap >= full_len) {
                ASSERT_BYTES(dst, r, full, full_len, srcs[s]);
            } else {
                ck_assert_msg(r == 0 || is_clean_name(dst, r),
                              "clean(\"%s\", %zu) = \"%s\" not clean", srcs[s],
                              cap, esc(dst, r));
                ck_assert_msg(memcmp(dst, full, r) == 0,
                              "clean(\"%s\", %zu) = \"%s\" is not a prefix of "
                              "\"%s\"", srcs[s], cap, esc(dst, r), full);
                /* at a segment boundary when one fits */
                size_t best = 0;
                for (size_t i = 1; i <= cap; i++)
                    if (full[i] == '.')
                        best = i;
                size_t exp = best ? best : cap;
                ck_assert_msg(r == exp,
                              "clean(\"%s\", cap %zu) = \"%s\", expected %zu bytes",
                              srcs[s], cap, esc(dst, r), exp);
            }
            free(dst);
            free(in);
        }
    }
}
END_TEST

START_TEST(clean_in_place)
{
    char buf1[] = ".a..b.";
    size_t r = statsd_name_clean(buf1, sizeof buf1 - 1, buf1, sizeof buf1 - 1);
    ASSERT_BYTES(buf1, r, "a.b", 3, "clean in place \".a..b.\"");

    char buf2[] = "a b:c|d@e#f";
    r = statsd_name_clean(buf2, sizeof buf2 - 1, buf2, sizeof buf2 - 1);
    ASSERT_BYTES(buf2, r, "a_b_c_d_e_f", 11, "clean in place");

    char buf3[] = "....x....y";
    r = statsd_name_clean(buf3, sizeof buf3 - 1, buf3, sizeof buf3 - 1);
    ASSERT_BYTES(buf3, r, "x.y", 3, "clean in place \"....x....y\"");

    char buf4[] = "abc.def.ghi";
    r = statsd_name_clean(buf4, 8, buf4, sizeof buf4 - 1);
    ASSERT_BYTES(buf4, r, "abc.def", 7, "clean in place, cap 8");
}
END_TEST

/* ---- statsd_name_key ---------------------------------------------------- */

static size_t run_key(const char *prefix, const char *name, const char *method,
                      int status, const char *suffix, size_t max_len,
                      char *out, size_t outcap)
{
    statsd_key_parts p;
    memset(&p, 0, sizeof p);
    char *pp = dup_exact(prefix, strlen(prefix));
    char *np = dup_exact(name, strlen(name));
    char *mp = dup_exact(method, strlen(method));
    char *sp = dup_exact(suffix, strlen(suffix));
    p.prefix = pp; p.prefix_len = strlen(prefix);
    p.name = np; p.name_len = strlen(name);
    p.method = mp; p.method_len = strlen(method);
    p.status = status;
    p.suffix = sp; p.suffix_len = strlen(suffix);
    p.max_len = max_len;
    size_t cap = max_len + 1;
    char *dst = malloc(cap);
    ck_assert_ptr_nonnull(dst);
    memset(dst, 0xA5, cap);
    size_t r = statsd_name_key(dst, cap, &p);
    ck_assert_msg(r <= max_len, "key(%s|%s|%s|%d|%s, max %zu): length %zu > max",
                  prefix, name, method, status, suffix, max_len, r);
    ck_assert_msg(dst[r] == '\0', "key: not NUL-terminated at %zu", r);
    ck_assert_msg(strlen(dst) == r, "key: NUL inside the key");
    ck_assert_msg(is_clean_name(dst, r), "key \"%s\" is not a clean name",
                  esc(dst, r));
    ck_assert_msg(r < outcap, "test buffer too small");
    memcpy(out, dst, r + 1);
    free(dst);
    free(sp); free(mp); free(np); free(pp);
    return r;
}

static void check_key(const char *prefix, const char *name, const char *method,
                      int status, const char *suffix, size_t max_len,
                      const char *exp)
{
    char out[STATSD_NAME_MAX + 1];
    char what[512];
    size_t r = run_key(prefix, name, method, status, suffix, max_len, out,
                       sizeof out);
    snprintf(what, sizeof what, "key(\"%s\",\"%s\",\"%s\",%d,\"%s\",max %zu)",
             prefix, name, esc(method, strlen(method)), status, suffix, max_len);
    ASSERT_BYTES(out, r, exp, strlen(exp), what);
}

START_TEST(key_basic)
{
    check_key("p", "foo.bar", "GET", 200, "s", 250, "p.foo.bar.GET.200.s");
    check_key("", "foo.bar", "GET", 200, "", 250, "foo.bar.GET.200");
    check_key("p", "foo.bar", "GET", 200, "", 250, "p.foo.bar.GET.200");
    check_key("", "foo.bar", "GET", 200, "s", 250, "foo.bar.GET.200.s");
    check_key("p", "foo.bar", "GET", -1, "s", 250, "p.foo.bar.GET.s");
    check_key("", "foo", "POST", -1, "", 250, "foo.POST");
    check_key("a.b", "ROOT", "DELETE", 404, "c.d", 250, "a.b.ROOT.DELETE.404.c.d");
    check_key("p", "x", "GET", 0, "", 250, "p.x.GET.0");
    check_key("p", "x", "GET", 599, "", 250, "p.x.GET.599");
    check_key("p", "foo", "", 200, "s", 250, "p.foo.200.s");
    check_key("p", "foo", "OtherVerbs", 200, "", 250, "p.foo.OtherVerbs.200");
}
END_TEST

/* Every status a response can carry, exactly; beyond three digits the header
 * says nothing, so only the shape is checked. */
START_TEST(key_status_values)
{
    for (int st = 0; st <= 999; st++) {
        char exp[64];
        snprintf(exp, sizeof exp, "p.x.GET.%d.s", st);
        check_key("p", "x", "GET", st, "s", 250, exp);
    }
    static const int big[] = { 1000, 65535, 2147483647 };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        char out[STATSD_NAME_MAX + 1];
        size_t r = run_key("p", "x", "GET", big[i], "", 250, out, sizeof out);
        ck_assert_msg(r > 8 && memcmp(out, "p.x.GET.", 8) == 0 &&
                      strspn(out + 8, "0123456789") == r - 8,
                      "key with status %d: \"%s\"", big[i], out);
    }
    char out[STATSD_NAME_MAX + 1];
    run_key("p", "x", "GET", -1, "", 250, out, sizeof out);
    ck_assert_str_eq(out, "p.x.GET");
    run_key("p", "x", "GET", -404, "", 250, out, sizeof out);
    ck_assert_str_eq(out, "p.x.GET");
}
END_TEST

START_TEST(key_method_sanitised)
{
    check_key("p", "foo.bar", "GE T", 200, "", 250, "p.foo.bar.GE_T.200");
    check_key("", "n", "G.T", 200, "", 250, "n.G_T.200");
    check_key("", "n", "A:b|c@d#e\n", 200, "", 250, "n.A_b_c_d_e_.200");
    static const char m_nul[] = { 'G', '\0', 'T', 0 };
    statsd_key_parts p = { .prefix = "", .prefix_len = 0,
                           .name = "n", .name_len = 1, .method = m_nul,
                           .method_len = 3, .status = 1,
                           .suffix = "", .suffix_len = 0, .max_len = 250 };
    char dst[251];
    size_t r = statsd_name_key(dst, sizeof dst, &p);
    ASSERT_BYTES(dst, r, "n.G_T.1", 7, "key with NUL in method");

    /* the method part is at most STATSD_METHOD_MAX bytes */
    char longm[STATSD_METHOD_MAX + 9];
    memset(longm, 'M', sizeof longm - 1);
    longm[sizeof longm - 1] = '\0';
    char exp[STATSD_METHOD_MAX + 32];
    snprintf(exp, sizeof exp, "n.%.*s.200", STATSD_METHOD_MAX, longm);
    check_key("", "n", longm, 200, "", 250, exp);
}
END_TEST

/* My reading of "NAME is cut (at a segment boundary where possible)": the
 * longest prefix of NAME that ends at a segment boundary and fits the budget;
 * if no whole segment fits, the budget's worth of the first segment. */
static void expected_key(char *exp, size_t expcap, const char *prefix,
                         const char *name, const char *method, int status,
                         const char *suffix, size_t max_len)
{
    char st[16] = "";
    if (status >= 0)
        snprintf(st, sizeof st, "%d", status);
    size_t fixed = 0;
    if (*prefix) fixed += strlen(prefix) + 1;
    if (*method) fixed += strlen(method) + 1;
    if (*st) fixed += strlen(st) + 1;
    if (*suffix) fixed += strlen(suffix) + 1;
    ck_assert_msg(fixed < max_len, "test setup: budget");
    size_t budget = max_len - fixed;
    size_t nl = strlen(name);
    size_t keep = nl;
    if (nl > budget) {
        size_t best = 0;
        for (size_t i = 1; i <= budget; i++)
            if (name[i] == '.')
                best = i;
        keep = best ? best : budget;
    }
    snprintf(exp, expcap, "%s%s%.*s%s%s%s%s%s%s", prefix, *prefix ? "." : "",
             (int)keep, name, *method ? "." : "", method, *st ? "." : "", st,
             *suffix ? "." : "", suffix);
}

START_TEST(key_cap_exact)
{
    /* a single segment that is too long: cut inside it (unambiguous) */
    check_key("", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "GET", 200, "", 32,
              "xxxxxxxxxxxxxxxxxxxxxxxx.GET.200");
    /* the brief's example: budget 20 holds "aaaaaaaaaa" but not "...bbbbbbbbbb" */
    check_key("pre", "aaaaaaaaaa.bbbbbbbbbb.cccccccccc", "GET", 404, "", 32,
              "pre.aaaaaaaaaa.GET.404");
    check_key("pre", "aaaaaaaaaa.bbbbbbbbbb.cccccccccc", "GET", 404, "suf", 40,
              "pre.aaaaaaaaaa.bbbbbbbbbb.GET.404.suf");
    /* exactly max_len: nothing cut; one byte less: cut */
    check_key("pre", "aaaaaaaaaa.bbbbbbbbbb.cccccccccc", "GET", 404, "", 44,
              "pre.aaaaaaaaaa.bbbbbbbbbb.cccccccccc.GET.404");
    check_key("pre", "aaaaaaaaaa.bbbbbbbbbb.cccccccccc", "GET", 404, "", 43,
              "pre.aaaaaaaaaa.bbbbbbbbbb.GET.404");
    /* default cap, very long name */
    char name[600];
    for (size_t i = 0; i < sizeof name - 1; i++)
        name[i] = (i % 10 == 9) ? '.' : 'n';
    name[sizeof name - 1] = '\0';      /* ends with "nnnnnnnnn" */
    char exp[STATSD_NAME_MAX + 1];
    expected_key(exp, sizeof exp, "svc", name, "GET", 200, "",
                 STATSD_NAME_DEFAULT_MAX);
    check_key("svc", name, "GET", 200, "", STATSD_NAME_DEFAULT_MAX, exp);
    /* STATSD_NAME_MAX cap */
    char big[2000];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expected_key(exp, sizeof exp, "", big, "GET", 200, "", STATSD_NAME_MAX);
    check_key("", big, "GET", 200, "", STATSD_NAME_MAX, exp);
}
END_TEST

START_TEST(key_cap_properties)
{
    static const char *names[] = {
        "aaaaaaaaaa.bbbbbbbbbb.cccccccccc",
        "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "abc.defghijklmnopqrstuvwxyz0123456789.z",
        "q.rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr.s",
    };
    static const char *suffixes[] = { "", "suf" };
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        for (size_t s = 0; s < 2; s++) {
            for (size_t max = STATSD_NAME_MIN; max <= 130; max++) {
                char out[STATSD_NAME_MAX + 1];
                size_t r = run_key("pre", names[n], "GET", 404, suffixes[s], max,
                                   out, sizeof out);
                const char *tail = s ? ".GET.404.suf" : ".GET.404";
                size_t tl = strlen(tail);
                ck_assert_msg(r >= 4 + tl && memcmp(out, "pre.", 4) == 0,
                              "key \"%s\" does not start with \"pre.\"", out);
                ck_assert_msg(memcmp(out + r - tl, tail, tl) == 0,
                              "key \"%s\" does not end with \"%s\"", out, tail);
                ck_assert_msg(strstr(out, "..") == NULL, "key \"%s\" has ..", out);
                /* the NAME kept is a non-empty prefix of NAME */
                size_t kept = r - 4 - tl;
                ck_assert_msg(kept > 0 && memcmp(out + 4, names[n], kept) == 0,
                              "key \"%s\": NAME is not a prefix of \"%s\"", out,
                              names[n]);
                /* and as long as it can be */
                char exp[STATSD_NAME_MAX + 1];
                expected_key(exp, sizeof exp, "pre", names[n], "GET", 404,
                             suffixes[s], max);
                ck_assert_msg(strcmp(out, exp) == 0,
                              "key(max %zu): expected \"%s\", got \"%s\"", max,
                              exp, out);
            }
        }
    }
}
END_TEST

START_TEST(key_fixed_parts_too_long)
{
    /* prefix + suffix leave no room at all: whatever comes out must still
     * respect max_len and be a clean name (NUL-terminated, in cap) */
    char pre[STATSD_AFFIX_MAX + 1], suf[STATSD_AFFIX_MAX + 1];
    memset(pre, 'p', STATSD_AFFIX_MAX); pre[STATSD_AFFIX_MAX] = '\0';
    memset(suf, 's', STATSD_AFFIX_MAX); suf[STATSD_AFFIX_MAX] = '\0';
    statsd_key_parts p = {
        .prefix = pre, .prefix_len = STATSD_AFFIX_MAX,
        .name = "foo.bar", .name_len = 7,
        .method = "GET", .method_len = 3, .status = 200,
        .suffix = suf, .suffix_len = STATSD_AFFIX_MAX,
        .max_len = STATSD_NAME_MIN,
    };
    char *dst = malloc(STATSD_NAME_MIN + 1);
    size_t r = statsd_name_key(dst, STATSD_NAME_MIN + 1, &p);
    ck_assert_msg(r <= STATSD_NAME_MIN, "key length %zu > max %d", r,
                  STATSD_NAME_MIN);
    ck_assert_msg(dst[r] == '\0', "not NUL-terminated");
    ck_assert_msg(r == 0 || is_clean_name(dst, r), "\"%s\" not clean",
                  esc(dst, r));
    free(dst);
}
END_TEST

/* ---- statsd_name_expand ------------------------------------------------- */

static void check_expand(const char *src, const char *host, size_t cap,
                         const char *exp)
{
    char *dst = malloc(cap ? cap : 1);
    ck_assert_ptr_nonnull(dst);
    size_t r = statsd_name_expand(dst, cap, src, host);
    if (exp == NULL) {
        ck_assert_msg(r == (size_t)-1,
                      "expand(\"%s\",\"%s\",cap %zu): expected (size_t)-1, got %zu",
                      src, host, cap, r);
    } else {
        ck_assert_msg(r != (size_t)-1,
                      "expand(\"%s\",\"%s\",cap %zu): got (size_t)-1", src, host,
                      cap);
        ck_assert_msg(r < cap && dst[r] == '\0', "expand: not NUL-terminated");
        ASSERT_BYTES(dst, r, exp, strlen(exp), src);
    }
    free(dst);
}

START_TEST(expand_cases)
{
    check_expand("web.{hostname}", "box1", 64, "web.box1");
    check_expand("{hostname}.web", "box1", 64, "box1.web");
    check_expand("a.{hostname}.{hostname}", "h", 64, "a.h.h");
    check_expand("{hostname}", "box1", 64, "box1");
    check_expand("plain.prefix", "box1", 64, "plain.prefix");
    check_expand("", "box1", 64, "");
    check_expand("{host}.{hostname", "box1", 64, "{host}.{hostname");
    check_expand("{{hostname}}", "x", 64, "{x}");
    check_expand("web.{hostname}", "", 64, "web.");
    /* exact fit (8 bytes + NUL) and one short */
    check_expand("web.{hostname}", "box1", 9, "web.box1");
    check_expand("web.{hostname}", "box1", 8, NULL);
    check_expand("web.{hostname}", "box1", 4, NULL);
    check_expand("plain", "box1", 6, "plain");
    check_expand("plain", "box1", 5, NULL);
    check_expand("x", "box1", 0, NULL);
}
END_TEST

/* ---- statsd_name_short_host --------------------------------------------- */

static void check_short(const char *fqdn, size_t cap, const char *exp)
{
    char *dst = malloc(cap);
    ck_assert_ptr_nonnull(dst);
    size_t r = statsd_name_short_host(dst, cap, fqdn);
    ck_assert_msg(r < cap && dst[r] == '\0', "short_host(\"%s\"): bad length/NUL",
                  fqdn);
    ASSERT_BYTES(dst, r, exp, strlen(exp), fqdn);
    free(dst);
}

START_TEST(short_host_cases)
{
    check_short("web-01.example.com", 64, "web-01");
    check_short("a_b", 64, "a_b");
    check_short("h@x", 64, "h_x");
    check_short("plain", 64, "plain");
    check_short("a b:c|d.e", 64, "a_b_c_d");
    check_short("web-01.example.com", 7, "web-01");
}
END_TEST

START_TEST(short_host_small_cap)
{
    /* the result always fits the buffer, NUL included */
    for (size_t cap = 1; cap <= 8; cap++) {
        char *dst = malloc(cap);
        size_t r = statsd_name_short_host(dst, cap, "abcdef.example.com");
        ck_assert_msg(r < cap, "short_host cap %zu: length %zu", cap, r);
        ck_assert_msg(dst[r] == '\0', "short_host cap %zu: no NUL", cap);
        ck_assert_msg(memcmp(dst, "abcdef", r) == 0,
                      "short_host cap %zu: \"%s\"", cap, esc(dst, r));
        free(dst);
    }
}
END_TEST

/* ---- runner ------------------------------------------------------------- */

int main(void)
{
    Suite *s = suite_create("statsd_name");

    UNIT_TCASE(s, "from_path", NULL, NULL, 60,
               UNIT_TEST(path_spec_examples),
               UNIT_TEST(path_root),
               UNIT_TEST(path_dot_segments),
               UNIT_TEST(path_percent_decoding),
               UNIT_TEST(path_decoded_dot_segments),
               UNIT_TEST(path_query_and_fragment),
               UNIT_TEST(path_absolute_form),
               UNIT_TEST(path_all_raw_bytes),
               UNIT_TEST(path_all_encoded_bytes),
               UNIT_TEST(path_embedded_nul),
               UNIT_TEST(path_long),
               UNIT_TEST(path_segment_cap),
               UNIT_TEST(path_stops_when_full));
    UNIT_TCASE(s, "exclude", NULL, NULL, 0,
               UNIT_TEST(exclude_basic),
               UNIT_TEST(exclude_none_same_as_plain),
               UNIT_TEST(exclude_decoded),
               UNIT_TEST(exclude_dotdot),
               UNIT_TEST(exclude_receives_decoded_bytes),
               UNIT_TEST(exclude_calls_bounded));
    UNIT_TCASE(s, "segment", NULL, NULL, 0,
               UNIT_TEST(segment_all_bytes),
               UNIT_TEST(segment_strings));
    UNIT_TCASE(s, "clean", NULL, NULL, 0,
               UNIT_TEST(clean_examples),
               UNIT_TEST(clean_all_bytes),
               UNIT_TEST(clean_cap),
               UNIT_TEST(clean_cap_properties),
               UNIT_TEST(clean_in_place));
    UNIT_TCASE(s, "key", NULL, NULL, 60,
               UNIT_TEST(key_basic),
               UNIT_TEST(key_status_values),
               UNIT_TEST(key_method_sanitised),
               UNIT_TEST(key_cap_exact),
               UNIT_TEST(key_cap_properties),
               UNIT_TEST(key_fixed_parts_too_long));
    UNIT_TCASE(s, "host", NULL, NULL, 0,
               UNIT_TEST(expand_cases),
               UNIT_TEST(short_host_cases),
               UNIT_TEST(short_host_small_cap));
    return run_suite(s);
}
