/*
 * test_resolver.c - Check unit tests of statsd_resolver: the schedule of
 * lookups (backoff after failures, refresh after success) on a fake
 * clock, and that nothing but the resolver's own threads ever waits on a
 * resolver, with a resolve seam that blocks until the test lets it go.
 * No DNS query leaves the machine: every name goes through a fake.
 */
#define _GNU_SOURCE

#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statsd_resolver.h"
#include "unit_util.h"

/* ---- fakes -------------------------------------------------------------- */

static uint64_t fake_now;

static uint64_t fake_clock(void *baton)
{
    (void)baton;
    return fake_now;
}

/* Answers with `rc`, or with 127.0.0.<last> when rc is 0; each lookup
 * takes `takes_ms` of the fake clock. Records when it was called. */
struct fake_dns {
    int rc;
    unsigned char last;
    uint64_t takes_ms;
    int calls;
    uint64_t at[32];
};

static socklen_t v4(struct sockaddr_storage *a, unsigned char last,
                    unsigned port)
{
    struct sockaddr_in *s = (struct sockaddr_in *)a;

    memset(a, 0, sizeof(*a));
    s->sin_family = AF_INET;
    s->sin_port = htons((uint16_t)port);
    s->sin_addr.s_addr = htonl(0x7f000000u | last);
    return sizeof(*s);
}

static int fake_resolve(const char *host, unsigned port,
                        struct sockaddr_storage *addr, socklen_t *len,
                        void *baton)
{
    struct fake_dns *f = baton;

    (void)host;
    if (f->calls < 32)
        f->at[f->calls] = fake_now;
    f->calls++;
    fake_now += f->takes_ms;
    if (f->rc != 0)
        return f->rc;
    *len = v4(addr, f->last, port);
    return 0;
}

/* ---- the schedule ------------------------------------------------------- */

START_TEST(test_delay_schedule)
{
    static const unsigned want[] = { 60000, 2000, 4000, 8000, 16000, 32000,
                                     60000, 60000 };
    unsigned i;

    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_uint_eq(statsd_resolver_delay_ms(i), want[i]);
    ck_assert_uint_eq(statsd_resolver_delay_ms(1000), 60000);
    ck_assert_uint_eq(statsd_resolver_delay_ms(UINT32_MAX), 60000);
}
END_TEST

/* A name that never resolves is asked at once, then 2 s later, doubling
 * to once a minute; a slow lookup's wait counts from its end. Once it
 * resolves, it is asked again once a minute. */
START_TEST(test_backoff_then_refresh)
{
    static const uint64_t asked[] = { 0, 2000, 6000, 14000, 30000, 62000,
                                      122000, 182000 };
    struct fake_dns f;
    statsd_client *c = client_for("udp://statsd.invalid:8125", 1432);
    statsd_resolver *r = NULL;
    unsigned i;

    memset(&f, 0, sizeof(f));
    f.rc = -ENOENT;
    fake_now = 1000000;
    statsd_client_set_resolve_fn(c, fake_resolve, &f);
    ck_assert_int_eq(statsd_resolver_create(&r, &c, 1, fake_clock, NULL), 0);
    ck_assert_int_eq(statsd_resolver_result(r, 0), -EINPROGRESS);
    for (i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
        /* nothing is due a millisecond early */
        if (i > 0) {
            fake_now = 1000000 + asked[i] - 1;
            ck_assert_uint_eq(statsd_resolver_run_due(r),
                              1000000 + asked[i]);
            ck_assert_int_eq(f.calls, (int)i);
        }
        fake_now = 1000000 + asked[i];
        ck_assert_uint_eq(statsd_resolver_run_due(r), 1000000 + asked[i]
                          + statsd_resolver_delay_ms(i + 1));
        ck_assert_int_eq(f.calls, (int)i + 1);
        ck_assert_uint_eq(f.at[i], 1000000 + asked[i]);
        ck_assert_int_eq(statsd_resolver_result(r, 0), -ENOENT);
        ck_assert_int_eq(statsd_client_is_resolved(c), 0);
        ck_assert_int_eq(statsd_resolver_take_event(r, 0),
                         STATSD_RESOLVE_NONE);
    }
    /* a resolver that takes 10 s to fail: the next try is 60 s after
     * it gave up, not after it was asked */
    f.takes_ms = 10000;
    fake_now = 1000000 + 242000;
    ck_assert_uint_eq(statsd_resolver_run_due(r), 1000000 + 312000);
    /* now it answers: "resolves now", then a refresh a minute later */
    f.takes_ms = 0;
    f.rc = 0;
    f.last = 7;
    fake_now = 1000000 + 312000;
    ck_assert_uint_eq(statsd_resolver_run_due(r), 1000000 + 372000);
    ck_assert_int_eq(statsd_resolver_result(r, 0), 0);
    ck_assert_int_eq(statsd_client_is_resolved(c), 1);
    ck_assert_int_eq(statsd_resolver_take_event(r, 0), STATSD_RESOLVE_FIRST);
    ck_assert_int_eq(statsd_resolver_take_event(r, 0), STATSD_RESOLVE_NONE);
    /* the same address: nothing to say; a new one: "has a new address" */
    fake_now = 1000000 + 372000;
    ck_assert_uint_eq(statsd_resolver_run_due(r), 1000000 + 432000);
    ck_assert_int_eq(statsd_resolver_take_event(r, 0), STATSD_RESOLVE_NONE);
    f.last = 8;
    fake_now = 1000000 + 432000;
    ck_assert_uint_eq(statsd_resolver_run_due(r), 1000000 + 492000);
    ck_assert_int_eq(statsd_resolver_take_event(r, 0), STATSD_RESOLVE_MOVED);
    /* an outage keeps the address and backs off from 2 s again */
    f.rc = -EAGAIN;
    fake_now = 1000000 + 492000;
    ck_assert_uint_eq(statsd_resolver_run_due(r), 1000000 + 494000);
    ck_assert_int_eq(statsd_resolver_result(r, 0), -EAGAIN);
    ck_assert_int_eq(statsd_client_is_resolved(c), 1);
    ck_assert_int_eq(f.calls, 13);
    statsd_resolver_destroy(r);
    statsd_client_destroy(c);
}
END_TEST

/* Unix targets and literals are never looked up; a name that already has
 * an address is first looked up again a minute later. */
START_TEST(test_what_is_looked_up)
{
    struct fake_dns f;
    struct sockaddr_storage a;
    statsd_client *c[4];
    statsd_resolver *r = NULL;
    int i;

    memset(&f, 0, sizeof(f));
    f.rc = -ENOENT;
    fake_now = 5000;
    c[0] = client_for("unix:/nonexistent/s.sock", 1432);
    c[1] = client_for("udp://127.0.0.1:8125", 1432);
    c[2] = client_for("udp://[::1]:8125", 1432);
    c[3] = client_for("udp://resolved.invalid:8125", 1432);
    ck_assert_int_eq(statsd_client_set_address(c[3], &a, v4(&a, 1, 8125), 0),
                     1);
    for (i = 0; i < 4; i++)
        statsd_client_set_resolve_fn(c[i], fake_resolve, &f);
    ck_assert_int_eq(statsd_resolver_create(&r, c, 4, fake_clock, NULL), 0);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(statsd_resolver_result(r, (size_t)i), 0);
    ck_assert_uint_eq(statsd_resolver_wait(r, 0), 0);
    ck_assert_uint_eq(statsd_resolver_run_due(r), 65000);
    ck_assert_int_eq(f.calls, 0);
    fake_now = 65000;
    ck_assert_uint_eq(statsd_resolver_run_due(r), 67000);
    ck_assert_int_eq(f.calls, 1);
    ck_assert_int_eq(statsd_client_is_resolved(c[3]), 1);  /* kept */
    ck_assert_int_eq(statsd_resolver_result(r, 4), -EINVAL);
    statsd_resolver_destroy(r);
    /* starting it starts no thread: nothing to look up */
    ck_assert_int_eq(statsd_resolver_create(&r, c, 3, NULL, NULL), 0);
    ck_assert_int_eq(statsd_resolver_start(r), 0);
    statsd_resolver_destroy(r);
    for (i = 0; i < 4; i++)
        statsd_client_destroy(c[i]);
}
END_TEST

/* ---- never blocks ------------------------------------------------------- */

/* A resolver that does not answer until the test says so. Static: the
 * resolver's thread may still be in it when the test function returns. */
static struct {
    int fds[2];                 /* the lookup reads one byte from fds[0] */
    int entered;                /* atomic */
    int returned;               /* atomic */
} silent;

static int silent_resolve(const char *host, unsigned port,
                          struct sockaddr_storage *addr, socklen_t *len,
                          void *baton)
{
    char b;
    ssize_t n;

    (void)host;
    (void)baton;
    __atomic_store_n(&silent.entered, 1, __ATOMIC_SEQ_CST);
    do {
        n = read(silent.fds[0], &b, 1);
    } while (n < 0 && errno == EINTR);
    *len = v4(addr, 1, port);
    __atomic_store_n(&silent.returned, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static void wait_for(int *flag)
{
    int i;

    for (i = 0; i < 5000 && !__atomic_load_n(flag, __ATOMIC_SEQ_CST); i++)
        usleep(1000);
    ck_assert_int_eq(__atomic_load_n(flag, __ATOMIC_SEQ_CST), 1);
}

/* While the resolver hangs: the owner's calls return, the client counts
 * its lines as dropped (unresolved), another destination sends, and
 * destroying the resolver does not wait; the late answer is not used. */
START_TEST(test_never_blocks)
{
    statsd_client *c[2];
    statsd_resolver *r = NULL;
    statsd_stats st;
    uint64_t sent = 0;

    memset(&silent, 0, sizeof(silent));
    ck_assert_int_eq(pipe(silent.fds), 0);
    c[0] = client_for("udp://silent.invalid:8125", 1432);
    c[1] = client_for("udp://127.0.0.1:8125", 1432);
    statsd_client_set_resolve_fn(c[0], silent_resolve, NULL);
    ck_assert_int_eq(statsd_client_open(c[1]), 0);
    statsd_client_set_send_fn(c[1], count_send, &sent);
    ck_assert_int_eq(statsd_resolver_create(&r, c, 2, NULL, NULL), 0);
    ck_assert_int_eq(statsd_resolver_start(r), 0);
    wait_for(&silent.entered);

    ck_assert_uint_eq(statsd_resolver_wait(r, 20), 1);  /* bounded */
    ck_assert_int_eq(statsd_resolver_result(r, 0), -EINPROGRESS);
    ck_assert_int_eq(statsd_resolver_result(r, 1), 0);
    ck_assert_int_eq(statsd_resolver_take_event(r, 0), STATSD_RESOLVE_NONE);
    ck_assert_int_eq(statsd_client_send_lines(c[0], "a:1|c\nb:1|c", 11),
                     -EDESTADDRREQ);
    statsd_client_stats(c[0], &st);
    ck_assert_uint_eq(st.dropped_lines, 2);
    ck_assert_uint_eq(st.drops[STATSD_DROP_UNRESOLVED], 1);
    ck_assert_int_eq(statsd_client_send_lines(c[1], "a:1|c", 5), 5);
    ck_assert_uint_eq(sent, 1);
    statsd_resolver_destroy(r);         /* returns: the lookup still hangs */
    ck_assert_int_eq(__atomic_load_n(&silent.returned, __ATOMIC_SEQ_CST), 0);

    /* the answer comes after the stop: the client is left alone */
    ck_assert_int_eq(write(silent.fds[1], "x", 1), 1);
    wait_for(&silent.returned);
    usleep(50000);
    ck_assert_int_eq(statsd_client_is_resolved(c[0]), 0);
    statsd_client_destroy(c[0]);
    statsd_client_destroy(c[1]);
    close(silent.fds[0]);
    close(silent.fds[1]);
}
END_TEST

/* With threads: a name that answers is installed (and its socket opened)
 * by the resolver's thread; the owner sees the first answer come. */
START_TEST(test_thread_installs)
{
    struct fake_dns f;
    statsd_client *c = client_for("udp://quick.invalid:8125", 1432);
    statsd_resolver *r = NULL;
    uint64_t sent = 0;

    memset(&f, 0, sizeof(f));
    f.last = 1;
    statsd_client_set_resolve_fn(c, fake_resolve, &f);
    ck_assert_int_eq(statsd_resolver_create(&r, &c, 1, NULL, NULL), 0);
    ck_assert_int_eq(statsd_resolver_start(r), 0);
    ck_assert_uint_eq(statsd_resolver_wait(r, 10000), 0);
    ck_assert_int_eq(statsd_resolver_result(r, 0), 0);
    ck_assert_int_eq(statsd_resolver_take_event(r, 0), STATSD_RESOLVE_FIRST);
    ck_assert_int_eq(statsd_client_is_resolved(c), 1);
    statsd_client_set_send_fn(c, count_send, &sent);
    ck_assert_int_eq(statsd_client_send_lines(c, "a:1|c", 5), 5);
    ck_assert_uint_eq(sent, 1);
    /* stop is quick: the thread sleeps until its refresh, or a stop */
    statsd_resolver_stop(r);
    statsd_resolver_stop(r);            /* harmless twice */
    ck_assert_int_eq(statsd_resolver_result(r, 0), 0);
    statsd_resolver_destroy(r);
    statsd_client_destroy(c);
    ck_assert_int_eq(f.calls, 1);
}
END_TEST

START_TEST(test_bad_arguments)
{
    statsd_resolver *r = NULL;

    ck_assert_int_eq(statsd_resolver_create(NULL, NULL, 0, NULL, NULL),
                     -EINVAL);
    ck_assert_int_eq(statsd_resolver_create(&r, NULL, 1, NULL, NULL),
                     -EINVAL);
    ck_assert_int_eq(statsd_resolver_create(&r, NULL, 0, NULL, NULL), 0);
    ck_assert_uint_eq(statsd_resolver_run_due(r), UINT64_MAX);
    ck_assert_int_eq(statsd_resolver_result(r, 0), -EINVAL);
    ck_assert_int_eq(statsd_resolver_take_event(r, 0), STATSD_RESOLVE_NONE);
    statsd_resolver_destroy(r);
    statsd_resolver_destroy(NULL);
    statsd_resolver_stop(NULL);
    ck_assert_int_eq(statsd_resolver_start(NULL), -EINVAL);
}
END_TEST

/* a 60 s timeout: valgrind is slow */
UNIT_MAIN("statsd_resolver", "resolver", NULL, NULL, 60,
          UNIT_TEST(test_delay_schedule),
          UNIT_TEST(test_backoff_then_refresh),
          UNIT_TEST(test_what_is_looked_up),
          UNIT_TEST(test_never_blocks),
          UNIT_TEST(test_thread_installs),
          UNIT_TEST(test_bad_arguments))
