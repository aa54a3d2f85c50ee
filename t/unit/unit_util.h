/*
 * unit_util.h - helpers shared by the Check unit tests: exact-size heap
 * copies (so AddressSanitizer catches a read past the contract) and
 * byte-exact comparisons with readable failure messages; clients, one
 * whose datagrams go to a send seam instead of the network, with seams
 * that count or keep every datagram; adder threads racing a flusher;
 * tables of texts a parser takes or refuses; and the suite runner every
 * test program ends with.
 */
#ifndef UNIT_UTIL_H
#define UNIT_UTIL_H

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_client.h"

/* A heap copy of exactly len bytes, not NUL-terminated. */
static inline char *dup_exact(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(p);
    if (len)
        memcpy(p, s, len);
    return p;
}

/* The same, then a NUL: the terminated URI statsd_name_from_path takes.
 * ASan still reports a read past the NUL. */
static inline char *dup_terminated(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    ck_assert_ptr_nonnull(p);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Printable rendering of bytes for failure messages; rotating buffers so
 * that several renderings can appear in one message. */
static inline const char *esc(const char *s, size_t n)
{
    static char bufs[4][8192];
    static int which;
    char *out = bufs[which++ & 3];
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < sizeof bufs[0]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            snprintf(out + o, 5, "\\x%02x", c);
            o += 4;
        }
    }
    out[o] = '\0';
    return out;
}

#define ASSERT_BYTES(got, got_len, exp, exp_len, what)                        \
    ck_assert_msg((got_len) == (exp_len) && memcmp((got), (exp), (exp_len)) == 0, \
                  "%s: expected \"%s\" (%zu bytes), got \"%s\" (%zu bytes)",   \
                  (what), esc((exp), (exp_len)), (size_t)(exp_len),           \
                  esc((got), (got_len)), (size_t)(got_len))

/* A client for the destination spec with max packet max_packet, not yet
 * resolved or opened. */
static inline statsd_client *client_for(const char *spec, size_t max_packet)
{
    statsd_target t;
    statsd_client *c = NULL;

    ck_assert_int_eq(statsd_target_parse(&t, spec), 0);
    ck_assert_int_eq(statsd_client_create(&c, &t, max_packet), 0);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* A send seam that counts its calls in the uint64_t baton and sends
 * nothing. */
static inline ssize_t count_send(int fd, const void *buf, size_t len,
                                 const struct sockaddr *to, socklen_t tolen,
                                 void *baton)
{
    (void)fd;
    (void)buf;
    (void)to;
    (void)tolen;
    __atomic_add_fetch((uint64_t *)baton, 1, __ATOMIC_SEQ_CST);
    return (ssize_t)len;
}

/* A resolved, opened client for 127.0.0.1:8125 with max packet
 * max_packet whose datagrams go to send_fn(baton): nothing leaves. */
static inline statsd_client *seam_client_with(size_t max_packet,
                                              statsd_send_fn send_fn,
                                              void *baton)
{
    statsd_target t;
    statsd_client *c = NULL;

    ck_assert_int_eq(statsd_target_from_host_port(&t, "127.0.0.1", 8125), 0);
    ck_assert_int_eq(statsd_client_create(&c, &t, max_packet), 0);
    statsd_client_set_send_fn(c, send_fn, baton);
    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_open(c), 0);
    return c;
}

#define MAX_DGRAMS 20000

/* Every datagram a send seam saw, each a NUL-terminated heap copy. */
typedef struct {
    pthread_mutex_t lock;
    size_t n;
    char *dgram[MAX_DGRAMS];
    size_t len[MAX_DGRAMS];
    int fail_with;              /* errno to fail every send with, or 0 */
} dgrams;

static inline ssize_t dgrams_send(int fd, const void *buf, size_t len,
                                   const struct sockaddr *to, socklen_t tolen,
                                   void *baton)
{
    dgrams *cap = baton;
    (void)fd;
    (void)to;
    (void)tolen;
    if (cap->fail_with) {
        errno = cap->fail_with;
        return -1;
    }
    pthread_mutex_lock(&cap->lock);
    ck_assert_uint_lt(cap->n, MAX_DGRAMS);
    cap->dgram[cap->n] = malloc(len + 1);
    ck_assert_ptr_nonnull(cap->dgram[cap->n]);
    memcpy(cap->dgram[cap->n], buf, len);
    cap->dgram[cap->n][len] = '\0';
    cap->len[cap->n] = len;
    cap->n++;
    pthread_mutex_unlock(&cap->lock);
    return (ssize_t)len;
}

static inline dgrams *dgrams_new(void)
{
    dgrams *cap = calloc(1, sizeof(*cap));

    ck_assert_ptr_nonnull(cap);
    pthread_mutex_init(&cap->lock, NULL);
    return cap;
}

static inline void dgrams_free(dgrams *cap)
{
    size_t i;

    for (i = 0; i < cap->n; i++)
        free(cap->dgram[i]);
    pthread_mutex_destroy(&cap->lock);
    free(cap);
}

#define UNIT_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define UNIT_ADDERS_MAX 16

typedef struct {
    void (*flush)(void);
    unsigned times;
} unit_flusher;

static inline void *unit_flusher_run(void *arg)
{
    const unit_flusher *f = arg;
    unsigned i;

    for (i = 0; i < f->times; i++)
        f->flush();
    return NULL;
}

/* Starts adders threads of add, the i-th given (void *)(intptr_t)i, and
 * one thread calling flush flushes times, then waits for them all. */
static inline void race_adders_and_flusher(void *(*add)(void *),
                                           unsigned adders,
                                           void (*flush)(void),
                                           unsigned flushes)
{
    pthread_t th[UNIT_ADDERS_MAX + 1];
    unit_flusher f = {flush, flushes};
    unsigned i;

    ck_assert_uint_le(adders, UNIT_ADDERS_MAX);
    for (i = 0; i < adders; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, add,
                                        (void *)(intptr_t)i), 0);
    ck_assert_int_eq(pthread_create(&th[adders], NULL, unit_flusher_run, &f),
                     0);
    for (i = 0; i <= adders; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
}

/* A text a parser takes, giving value want, or refuses with -1 (want < 0). */
typedef struct {
    const char *text;
    int want;
} parse_case;

static inline void assert_parsed(const parse_case *c, int rc, int value)
{
    const char *text = c->text ? c->text : "(null)";

    if (c->want < 0) {
        ck_assert_msg(rc == -1, "\"%s\": %d, not refused", text, rc);
    } else {
        ck_assert_msg(rc == 0, "\"%s\": %d, not taken", text, rc);
        ck_assert_msg(value == c->want, "\"%s\": %d, not %d", text, value,
                      c->want);
    }
}

/* Every parse_case of the array cases through int parse(text, type *). */
#define ASSERT_PARSES(parse, type, cases)                                    \
    do {                                                                     \
        size_t i_;                                                           \
                                                                             \
        for (i_ = 0; i_ < UNIT_COUNT(cases); i_++) {                         \
            type v_ = (type)-1;                                              \
            int rc_ = parse((cases)[i_].text, &v_);                          \
                                                                             \
            assert_parsed(&(cases)[i_], rc_, (int)v_);                       \
        }                                                                    \
    } while (0)

/* One test of a test case: run once, or loops times (_i = 0..loops-1). */
typedef struct {
    const TTest *test;
    int loops;                  /* 0: once */
} unit_test;

#define UNIT_TEST(t) {(t), 0}
#define UNIT_LOOP(t, n) {(t), (n)}

/* What the tests of one test case share. */
typedef struct {
    const char *name;
    SFun setup, teardown;       /* the checked fixture, either may be NULL */
    double timeout;             /* seconds; 0 keeps Check's default */
} unit_case;

/* Adds the test case uc with its n tests, in order, to s. */
static inline TCase *unit_tcase(Suite *s, const unit_case *uc,
                                const unit_test *tests, size_t n)
{
    TCase *tc = tcase_create(uc->name);
    size_t i;

    if (uc->setup || uc->teardown)
        tcase_add_checked_fixture(tc, uc->setup, uc->teardown);
    if (uc->timeout > 0)
        tcase_set_timeout(tc, uc->timeout);
    for (i = 0; i < n; i++) {
        if (tests[i].loops)
            tcase_add_loop_test(tc, tests[i].test, 0, tests[i].loops);
        else
            tcase_add_test(tc, tests[i].test);
    }
    suite_add_tcase(s, tc);
    return tc;
}

/* Runs one suite; the exit status says whether every test passed. */
static inline int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Adds to suite s a test case: its name, fixture and timeout (as in
 * unit_case), then its tests (UNIT_TEST, UNIT_LOOP) in the order they run. */
#define UNIT_TCASE(s, case_name, setup, teardown, timeout, ...)              \
    do {                                                                     \
        static const unit_case uc_ = {case_name, setup, teardown, timeout};  \
        const unit_test tests_[] = {__VA_ARGS__};                            \
                                                                             \
        unit_tcase((s), &uc_, tests_, UNIT_COUNT(tests_));                   \
    } while (0)

/* main() of a program whose suite has one test case (as UNIT_TCASE). */
#define UNIT_MAIN(suite_name, case_name, setup, teardown, timeout, ...)      \
    int main(void)                                                           \
    {                                                                        \
        Suite *s_ = suite_create(suite_name);                                \
                                                                             \
        UNIT_TCASE(s_, case_name, setup, teardown, timeout, __VA_ARGS__);    \
        return run_suite(s_);                                                \
    }

#endif /* UNIT_UTIL_H */
