/*
 * test_client.c - Check unit tests of statsd_client.
 *
 * Real traffic goes to loopback only (127.0.0.1, ::1, unix sockets in a
 * mkdtemp directory). Names other than "localhost" and literals are only
 * ever resolved through fakes, so no DNS query leaves the machine.
 */
#define _GNU_SOURCE

#include <check.h>
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "statsd_client.h"
#include "unit_util.h"

#define DROPS(...) ((const uint64_t[STATSD_DROP_REASONS]){ __VA_ARGS__ })
#define NO_DROPS DROPS(0)

/* ---- helpers ------------------------------------------------------------ */

static void assert_stats(const statsd_client *c, uint64_t lines,
                         uint64_t datagrams, uint64_t bytes,
                         uint64_t dropped_lines, const uint64_t *drops)
{
    statsd_stats s;
    int i;

    statsd_client_stats(c, &s);
    ck_assert_uint_eq(s.lines, lines);
    ck_assert_uint_eq(s.datagrams, datagrams);
    ck_assert_uint_eq(s.bytes, bytes);
    ck_assert_uint_eq(s.dropped_lines, dropped_lines);
    for (i = 0; i < STATSD_DROP_REASONS; i++)
        ck_assert_uint_eq(s.drops[i], drops[i]);
}

/* Records every datagram handed to the send seam; can fail chosen calls. */
#define CAP_MAX 64
#define CAP_BYTES 1024

struct capture {
    int calls;
    int fd;
    struct sockaddr_storage to;
    socklen_t tolen;
    const char *ptr[CAP_MAX];
    size_t len[CAP_MAX];
    char data[CAP_MAX][CAP_BYTES];
    int fail_errno[CAP_MAX];        /* non-zero: that call fails with it */
    int fail_with_errno_0;          /* fail every call leaving errno 0 */
    size_t short_by;                /* report this many bytes fewer */
};

static ssize_t capture_send(int fd, const void *buf, size_t len,
                            const struct sockaddr *to, socklen_t tolen,
                            void *baton)
{
    struct capture *cap = baton;
    int i = cap->calls++;

    ck_assert_int_lt(i, CAP_MAX);
    ck_assert_uint_le(len, CAP_BYTES);
    ck_assert_uint_le(tolen, sizeof(cap->to));
    cap->fd = fd;
    memcpy(&cap->to, to, tolen);
    cap->tolen = tolen;
    cap->ptr[i] = buf;
    cap->len[i] = len;
    memcpy(cap->data[i], buf, len);
    if (cap->fail_with_errno_0) {
        errno = 0;
        return -1;
    }
    if (cap->fail_errno[i] != 0) {
        errno = cap->fail_errno[i];
        return -1;
    }
    return (ssize_t)(len - cap->short_by);
}

static struct capture *capture_new(void)
{
    struct capture *cap = calloc(1, sizeof(*cap));

    ck_assert_ptr_nonnull(cap);
    cap->fd = -1;
    return cap;
}

static void assert_captured(const struct capture *cap, int i, const char *want)
{
    ck_assert_int_lt(i, cap->calls);
    ck_assert_uint_eq(cap->len[i], strlen(want));
    ck_assert_mem_eq(cap->data[i], want, strlen(want));
}

/* A resolved, opened client whose datagrams go to cap instead. */
static statsd_client *seam_client(size_t max_packet, struct capture *cap)
{
    return seam_client_with(max_packet, capture_send, cap);
}

static socklen_t loopback_addr(int family, unsigned port,
                               struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;

        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        return sizeof(*a);
    }
}

static void set_recv_timeout(int fd)
{
    struct timeval tv = { 2, 0 };

    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
                                sizeof(tv)), 0);
}

/* A receiver on the loopback of family; the kernel picks the port. */
static int bind_loopback(int family, unsigned *port)
{
    struct sockaddr_storage ss;
    socklen_t len = loopback_addr(family, 0, &ss);
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
    len = sizeof(ss);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    if (family == AF_INET)
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    set_recv_timeout(fd);
    return fd;
}

static int bind_unix(const char *path)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    ck_assert_uint_lt(strlen(path), sizeof(a.sun_path));
    strcpy(a.sun_path, path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    set_recv_timeout(fd);
    return fd;
}

static void recv_expect(int fd, const char *want)
{
    char buf[2048];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

    ck_assert_int_eq(n, (ssize_t)strlen(want));
    buf[n] = '\0';
    ck_assert_str_eq(buf, want);
}

static void expect_no_datagram(int fd)
{
    char buf[64];

    ck_assert_int_eq(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
    ck_assert_int_eq(errno, EAGAIN);
}

/* The unix socket paths of one test live in a private directory. */
struct tmpdir {
    char dir[64];
    char path[128];
};

static void tmpdir_make(struct tmpdir *d, const char *name)
{
    strcpy(d->dir, "/tmp/statsd-client-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d->dir));
    ck_assert_int_lt(snprintf(d->path, sizeof(d->path), "%s/%s", d->dir,
                              name), (int)sizeof(d->path));
}

static void tmpdir_remove(struct tmpdir *d)
{
    if (unlink(d->path) != 0)
        ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(rmdir(d->dir), 0);
}

static statsd_client *unix_client(const char *path)
{
    char spec[160];

    ck_assert_int_lt(snprintf(spec, sizeof(spec), "unix:%s", path),
                     (int)sizeof(spec));
    return client_for(spec, STATSD_DEFAULT_MAX_PACKET);
}

/* ---- getaddrinfo seam ---------------------------------------------------
 * The default resolver calls getaddrinfo(); this definition takes its place
 * at link time so a test can hand it a list with both families (this
 * machine's "localhost" has only 127.0.0.1). GAI_REAL forwards to libc. */

enum { GAI_REAL, GAI_V6_THEN_V4, GAI_V6_ONLY, GAI_FAIL };
static int gai_mode = GAI_REAL;
static int gai_fail_code;
static char gai_node[256];
static char gai_service[16];
static struct addrinfo gai_hints_seen;
static struct addrinfo gai_list[2];
static struct sockaddr_in gai_v4;
static struct sockaddr_storage gai_v6;   /* holds a sockaddr_in6 */

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
                      struct addrinfo **);
typedef void (*freeai_fn)(struct addrinfo *);

static void *next_symbol(const char *name)
{
    void *sym = dlsym(RTLD_NEXT, name);

    ck_assert_ptr_nonnull(sym);
    return sym;
}

static void fake_list(unsigned port)
{
    memset(gai_list, 0, sizeof(gai_list));
    loopback_addr(AF_INET6, port, &gai_v6);
    memset(&gai_v4, 0, sizeof(gai_v4));
    gai_v4.sin_family = AF_INET;
    gai_v4.sin_port = htons((uint16_t)port);
    gai_v4.sin_addr.s_addr = htonl(0x7f000002);   /* 127.0.0.2 */
    gai_list[0].ai_family = AF_INET6;
    gai_list[0].ai_socktype = SOCK_DGRAM;
    gai_list[0].ai_addrlen = sizeof(struct sockaddr_in6);
    gai_list[0].ai_addr = (struct sockaddr *)&gai_v6;
    gai_list[1].ai_family = AF_INET;
    gai_list[1].ai_socktype = SOCK_DGRAM;
    gai_list[1].ai_addrlen = sizeof(gai_v4);
    gai_list[1].ai_addr = (struct sockaddr *)&gai_v4;
    if (gai_mode == GAI_V6_THEN_V4)
        gai_list[0].ai_next = &gai_list[1];
}

int getaddrinfo(const char *node, const char *service,
                const struct addrinfo *hints, struct addrinfo **res)
{
    gai_fn real;
    void *sym;

    if (gai_mode == GAI_REAL) {
        sym = next_symbol("getaddrinfo");
        memcpy(&real, &sym, sizeof(real));
        return real(node, service, hints, res);
    }
    snprintf(gai_node, sizeof(gai_node), "%s", node ? node : "(null)");
    snprintf(gai_service, sizeof(gai_service), "%s",
             service ? service : "(null)");
    if (hints != NULL)
        gai_hints_seen = *hints;
    if (gai_mode == GAI_FAIL)
        return gai_fail_code;
    fake_list((unsigned)strtoul(service, NULL, 10));
    *res = gai_list;
    return 0;
}

void freeaddrinfo(struct addrinfo *res)
{
    freeai_fn real;
    void *sym;

    if (res == gai_list)
        return;
    sym = next_symbol("freeaddrinfo");
    memcpy(&real, &sym, sizeof(real));
    real(res);
}

static void reset_fakes(void)
{
    gai_mode = GAI_REAL;
}

/* ---- a resolver seam ---------------------------------------------------- */

struct fake_resolver {
    int calls;
    int rc;                         /* returned when non-zero */
    char host[STATSD_HOST_MAX + 1];
    unsigned port;
    struct sockaddr_storage addr;
    socklen_t len;
};

static int fake_resolve(const char *host, unsigned port,
                        struct sockaddr_storage *addr, socklen_t *len,
                        void *baton)
{
    struct fake_resolver *f = baton;

    f->calls++;
    snprintf(f->host, sizeof(f->host), "%s", host);
    f->port = port;
    if (f->rc != 0)
        return f->rc;
    *addr = f->addr;
    *len = f->len;
    return 0;
}

/* ---- target parsing ----------------------------------------------------- */

START_TEST(test_host_port_defaults)
{
    statsd_target t;

    ck_assert_int_eq(statsd_target_from_host_port(&t, NULL, 0), 0);
    ck_assert_int_eq(t.kind, STATSD_TARGET_UDP);
    ck_assert_str_eq(t.host, "localhost");
    ck_assert_uint_eq(t.port, 8125);

    ck_assert_int_eq(statsd_target_from_host_port(&t, "", 9125), 0);
    ck_assert_str_eq(t.host, "localhost");
    ck_assert_uint_eq(t.port, 9125);

    ck_assert_int_eq(statsd_target_from_host_port(&t, "127.0.0.1", 1), 0);
    ck_assert_str_eq(t.host, "127.0.0.1");
    ck_assert_uint_eq(t.port, 1);

    ck_assert_int_eq(statsd_target_from_host_port(&t, "stats-1.example_x",
                                                  65535), 0);
    ck_assert_str_eq(t.host, "stats-1.example_x");
    ck_assert_uint_eq(t.port, 65535);

    ck_assert_int_eq(statsd_target_from_host_port(&t, "[::1]", 0), 0);
    ck_assert_str_eq(t.host, "::1");
    ck_assert_uint_eq(t.port, 8125);

    ck_assert_int_eq(statsd_target_from_host_port(&t, "::1", 8126), 0);
    ck_assert_str_eq(t.host, "::1");

    ck_assert_int_eq(statsd_target_from_host_port(&t, "[fe80::1%lo]", 7), 0);
    ck_assert_str_eq(t.host, "fe80::1%lo");

    ck_assert_int_eq(statsd_target_from_host_port(&t, "FE80::1%eth0.5", 7), 0);
    ck_assert_str_eq(t.host, "FE80::1%eth0.5");
    ck_assert_int_eq(statsd_target_from_host_port(&t, "::ffff:127.0.0.1", 7),
                     0);
    ck_assert_str_eq(t.host, "::ffff:127.0.0.1");
    ck_assert_int_eq(statsd_target_from_host_port(&t, "localhost.", 7), 0);
}
END_TEST

START_TEST(test_host_port_rejects)
{
    static const char *const bad[] = {
        "stats host", "stats\thost", "stats\nhost", "host\r", "a\x7f",
        "a/b", "a@b", "[::1", "::1]", "[]", "[127.0.0.1]", "[::1]x",
        "x[::1]", "h\xc3\xa9",
        /* a port, or a '%' outside an IPv6 zone, is not part of a host */
        "127.0.0.1:8125", "localhost:8125", "%", "h%", "%lo", "1:2",
        "::1%", "::1%a b", "::g", "[1:2]", ".", "-", "_.-"
    };
    char host[STATSD_HOST_MAX + 2];
    statsd_target t, before;
    size_t i;

    memset(&t, 0xab, sizeof(t));
    before = t;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(statsd_target_from_host_port(&t, bad[i], 8125)
                      == -EINVAL, "accepted host #%zu", i);
        ck_assert_mem_eq(&t, &before, sizeof(t));   /* untouched */
    }
    ck_assert_int_eq(statsd_target_from_host_port(&t, "h", 65536), -EINVAL);
    ck_assert_int_eq(statsd_target_from_host_port(NULL, "h", 1), -EINVAL);

    /* 255 bytes fit, 256 do not. */
    memset(host, 'h', STATSD_HOST_MAX);
    host[STATSD_HOST_MAX] = '\0';
    ck_assert_int_eq(statsd_target_from_host_port(&t, host, 1), 0);
    ck_assert_str_eq(t.host, host);
    host[STATSD_HOST_MAX] = 'h';
    host[STATSD_HOST_MAX + 1] = '\0';
    ck_assert_int_eq(statsd_target_from_host_port(&t, host, 1), -EINVAL);
}
END_TEST

START_TEST(test_parse_forms)
{
    statsd_target t;

    ck_assert_int_eq(statsd_target_parse(&t, "udp://127.0.0.1:8125"), 0);
    ck_assert_int_eq(t.kind, STATSD_TARGET_UDP);
    ck_assert_str_eq(t.host, "127.0.0.1");
    ck_assert_uint_eq(t.port, 8125);

    ck_assert_int_eq(statsd_target_parse(&t, "udp://[::1]:9000"), 0);
    ck_assert_str_eq(t.host, "::1");
    ck_assert_uint_eq(t.port, 9000);

    ck_assert_int_eq(statsd_target_parse(&t, "udp://[::1]"), 0);
    ck_assert_str_eq(t.host, "::1");
    ck_assert_uint_eq(t.port, 8125);

    ck_assert_int_eq(statsd_target_parse(&t, "udp://statsd.example.com"), 0);
    ck_assert_str_eq(t.host, "statsd.example.com");
    ck_assert_uint_eq(t.port, 8125);

    ck_assert_int_eq(statsd_target_parse(&t, "UDP://Stats:65535"), 0);
    ck_assert_str_eq(t.host, "Stats");
    ck_assert_uint_eq(t.port, 65535);

    ck_assert_int_eq(statsd_target_parse(&t, "unix:/run/statsd.sock"), 0);
    ck_assert_int_eq(t.kind, STATSD_TARGET_UNIX);
    ck_assert_str_eq(t.path, "/run/statsd.sock");
}
END_TEST

START_TEST(test_parse_rejects)
{
    static const char *const bad[] = {
        "", "tcp://127.0.0.1:8125", "http://127.0.0.1:8125", "127.0.0.1:8125",
        "localhost", "udp:/host", "udp:host:1", "udp://", "udp://:8125",
        "udp://host:", "udp://host:0", "udp://host:65536", "udp://host:abc",
        "udp://host:12a", "udp://host:-1", "udp://host:+1", "udp://host: 1",
        "udp://host:8125/", "udp://host/", "udp://ho st:1", "udp://[::1",
        "udp://[::1]x", "udp://[::1]:", "udp://[]:1", "udp://::1:8125",
        "udp://[::1]:8125:1", "udp://user@host:1", "unix:", "unix:relative",
        "unix:./x", "unix:/a\nb", "unixx:/a", " udp://host:1",
        "udp://%:1", "udp://h%:1", "udp://[1:2]:1", "udp://[::1%]:1"
    };
    char spec[STATSD_PATH_MAX + 16];
    statsd_target t, before;
    size_t i;

    memset(&t, 0xab, sizeof(t));
    before = t;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(statsd_target_parse(&t, bad[i]) == -EINVAL,
                      "accepted '%s'", bad[i]);
        ck_assert_mem_eq(&t, &before, sizeof(t));
    }
    ck_assert_int_eq(statsd_target_parse(&t, NULL), -EINVAL);
    ck_assert_int_eq(statsd_target_parse(NULL, "udp://h:1"), -EINVAL);

    /* sun_path holds 107 bytes and a NUL. */
    strcpy(spec, "unix:/");
    memset(spec + 6, 'p', STATSD_PATH_MAX - 1);
    spec[6 + STATSD_PATH_MAX - 1] = '\0';
    ck_assert_int_eq(statsd_target_parse(&t, spec), 0);
    ck_assert_uint_eq(strlen(t.path), STATSD_PATH_MAX);
    strcat(spec, "p");
    ck_assert_int_eq(statsd_target_parse(&t, spec), -EINVAL);
}
END_TEST

START_TEST(test_port_parse)
{
    static const char *const bad[] = {
        "", "0", "00", "65536", "99999", "99999999999999999999999", " 1",
        "1 ", "+1", "-1", "0x10", "1.5", "8125a"
    };
    unsigned port = 42;
    size_t i;

    ck_assert_int_eq(statsd_target_parse_port("1", &port), 0);
    ck_assert_uint_eq(port, 1);
    ck_assert_int_eq(statsd_target_parse_port("8125", &port), 0);
    ck_assert_uint_eq(port, 8125);
    ck_assert_int_eq(statsd_target_parse_port("65535", &port), 0);
    ck_assert_uint_eq(port, 65535);
    ck_assert_int_eq(statsd_target_parse_port("08125", &port), 0);
    ck_assert_uint_eq(port, 8125);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        port = 42;
        ck_assert_msg(statsd_target_parse_port(bad[i], &port) == -EINVAL,
                      "accepted '%s'", bad[i]);
        ck_assert_uint_eq(port, 42);
    }
    ck_assert_int_eq(statsd_target_parse_port(NULL, &port), -EINVAL);
    ck_assert_int_eq(statsd_target_parse_port("1", NULL), -EINVAL);
}
END_TEST

/* spec -> target -> text, which parses back to the same target. */
static void assert_round_trip(const char *spec, const char *canonical)
{
    statsd_target t, again;
    char buf[400];

    ck_assert_int_eq(statsd_target_parse(&t, spec), 0);
    ck_assert_int_eq(statsd_target_format(&t, buf, sizeof(buf)),
                     (int)strlen(canonical));
    ck_assert_str_eq(buf, canonical);
    ck_assert_int_eq(statsd_target_parse(&again, buf), 0);
    ck_assert_int_eq(statsd_target_equal(&t, &again), 1);
}

START_TEST(test_format_round_trip)
{
    statsd_target t;
    char buf[32];

    assert_round_trip("udp://127.0.0.1:8125", "udp://127.0.0.1:8125");
    assert_round_trip("udp://[::1]:8125", "udp://[::1]:8125");
    assert_round_trip("udp://[::1]", "udp://[::1]:8125");
    assert_round_trip("udp://stats.example", "udp://stats.example:8125");
    assert_round_trip("UDP://Stats:9", "udp://Stats:9");
    assert_round_trip("unix:/run/statsd.sock", "unix:/run/statsd.sock");

    ck_assert_int_eq(statsd_target_from_host_port(&t, NULL, 0), 0);
    ck_assert_int_eq(statsd_target_format(&t, buf, sizeof(buf)), 20);
    ck_assert_str_eq(buf, "udp://localhost:8125");
    ck_assert_int_eq(statsd_target_from_host_port(&t, "::1", 0), 0);
    ck_assert_int_eq(statsd_target_format(&t, buf, sizeof(buf)), 16);
    ck_assert_str_eq(buf, "udp://[::1]:8125");

    /* 16 bytes need a 17-byte buffer. */
    ck_assert_int_eq(statsd_target_format(&t, buf, 16), -ENOSPC);
    ck_assert_int_eq(statsd_target_format(&t, buf, 17), 16);
    ck_assert_int_eq(statsd_target_format(&t, buf, 0), -ENOSPC);
    ck_assert_int_eq(statsd_target_format(NULL, buf, 17), -EINVAL);
}
END_TEST

START_TEST(test_target_equal)
{
    statsd_target a, b;

    ck_assert_int_eq(statsd_target_from_host_port(&a, NULL, 0), 0);
    ck_assert_int_eq(statsd_target_parse(&b, "udp://LocalHost:8125"), 0);
    ck_assert_int_eq(statsd_target_equal(&a, &b), 1);
    ck_assert_int_eq(statsd_target_parse(&b, "udp://localhost:8126"), 0);
    ck_assert_int_eq(statsd_target_equal(&a, &b), 0);
    ck_assert_int_eq(statsd_target_parse(&b, "udp://127.0.0.1:8125"), 0);
    ck_assert_int_eq(statsd_target_equal(&a, &b), 0);
    ck_assert_int_eq(statsd_target_parse(&b, "unix:/localhost"), 0);
    ck_assert_int_eq(statsd_target_equal(&a, &b), 0);
    ck_assert_int_eq(statsd_target_parse(&a, "unix:/localhost"), 0);
    ck_assert_int_eq(statsd_target_equal(&a, &b), 1);
    ck_assert_int_eq(statsd_target_parse(&b, "unix:/Localhost"), 0);
    ck_assert_int_eq(statsd_target_equal(&a, &b), 0);
    ck_assert_int_eq(statsd_target_equal(&a, NULL), 0);
}
END_TEST

/* ---- client basics ------------------------------------------------------ */

START_TEST(test_create_validates)
{
    statsd_target t;
    statsd_client *c = NULL;

    ck_assert_int_eq(statsd_target_parse(&t, "udp://127.0.0.1:8125"), 0);
    ck_assert_int_eq(statsd_client_create(&c, &t, STATSD_MIN_PACKET - 1),
                     -EINVAL);
    ck_assert_int_eq(statsd_client_create(&c, &t, STATSD_MAX_PACKET + 1),
                     -EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(statsd_client_create(&c, NULL, 1432), -EINVAL);
    ck_assert_int_eq(statsd_client_create(NULL, &t, 1432), -EINVAL);

    /* Targets built by hand are checked too. */
    t.port = 0;
    ck_assert_int_eq(statsd_client_create(&c, &t, 1432), -EINVAL);
    t.port = 8125;
    t.host[0] = '\0';
    ck_assert_int_eq(statsd_client_create(&c, &t, 1432), -EINVAL);
    strcpy(t.host, "a b");
    ck_assert_int_eq(statsd_client_create(&c, &t, 1432), -EINVAL);
    memset(&t, 0, sizeof(t));
    t.kind = STATSD_TARGET_UNIX;
    strcpy(t.path, "relative.sock");
    ck_assert_int_eq(statsd_client_create(&c, &t, 1432), -EINVAL);
    t.kind = (statsd_target_kind)7;
    ck_assert_int_eq(statsd_client_create(&c, &t, 1432), -EINVAL);
    ck_assert_ptr_null(c);

    ck_assert_int_eq(statsd_target_parse(&t, "udp://[::1]:9"), 0);
    ck_assert_int_eq(statsd_client_create(&c, &t, STATSD_MIN_PACKET), 0);
    ck_assert_uint_eq(statsd_client_max_packet(c), STATSD_MIN_PACKET);
    ck_assert_int_eq(statsd_target_equal(statsd_client_target(c), &t), 1);
    ck_assert_int_eq(statsd_client_is_resolved(c), 1);  /* a literal */
    statsd_client_destroy(c);
    ck_assert_int_eq(statsd_client_create(&c, &t, STATSD_MAX_PACKET), 0);
    ck_assert_uint_eq(statsd_client_max_packet(c), STATSD_MAX_PACKET);
    statsd_client_destroy(c);
    statsd_client_destroy(NULL);
}
END_TEST

START_TEST(test_drop_reason_names)
{
    ck_assert_str_eq(statsd_client_drop_reason_name(STATSD_DROP_WOULDBLOCK),
                     "wouldblock");
    ck_assert_str_eq(statsd_client_drop_reason_name(STATSD_DROP_REFUSED), "refused");
    ck_assert_str_eq(statsd_client_drop_reason_name(STATSD_DROP_NOBUFS), "nobufs");
    ck_assert_str_eq(statsd_client_drop_reason_name(STATSD_DROP_NOENT), "noent");
    ck_assert_str_eq(statsd_client_drop_reason_name(STATSD_DROP_UNRESOLVED),
                     "unresolved");
    ck_assert_str_eq(statsd_client_drop_reason_name(STATSD_DROP_TOOBIG), "toobig");
    ck_assert_str_eq(statsd_client_drop_reason_name(STATSD_DROP_OTHER), "other");
    ck_assert_str_eq(statsd_client_drop_reason_name(STATSD_DROP_BADFD), "badfd");
    ck_assert_str_eq(statsd_client_drop_reason_name(STATSD_DROP_REASONS), "unknown");
    ck_assert_str_eq(statsd_client_drop_reason_name((statsd_drop_reason)-1),
                     "unknown");
}
END_TEST

START_TEST(test_count_drop_and_take_errors)
{
    statsd_client *c = client_for("udp://statsd.invalid:8125", 1432);
    uint64_t n = 99;

    ck_assert_int_eq(statsd_client_take_errors(c, &n), 0);
    ck_assert_uint_eq(n, 0);
    statsd_client_count_drop(c, STATSD_DROP_NOBUFS, 5);
    statsd_client_count_drop(c, STATSD_DROP_NOBUFS, 2);
    statsd_client_count_drop(c, STATSD_DROP_OTHER, 0);
    statsd_client_count_drop(c, STATSD_DROP_REASONS, 100);  /* ignored */
    assert_stats(c, 0, 0, 0, 7,
                 DROPS([STATSD_DROP_NOBUFS] = 2, [STATSD_DROP_OTHER] = 1));
    /* Drops counted by the caller are not send failures. */
    ck_assert_int_eq(statsd_client_take_errors(c, &n), 0);
    ck_assert_uint_eq(n, 0);

    /* Not resolved: both sends fail; the errno stays after the take. */
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), -EDESTADDRREQ);
    ck_assert_int_eq(statsd_client_send(c, "b:1|c", 5, 1), -EDESTADDRREQ);
    ck_assert_int_eq(statsd_client_take_errors(c, &n), EDESTADDRREQ);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(statsd_client_take_errors(c, &n), EDESTADDRREQ);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(statsd_client_take_errors(c, NULL), EDESTADDRREQ);
    statsd_client_destroy(c);
}
END_TEST

START_TEST(test_unresolved_and_closed)
{
    struct capture *cap = capture_new();
    struct fake_resolver f;
    statsd_client *c = client_for("udp://statsd.invalid:8125", 1432);

    memset(&f, 0, sizeof(f));
    f.len = loopback_addr(AF_INET, 8125, &f.addr);
    statsd_client_set_resolve_fn(c, fake_resolve, &f);
    statsd_client_set_send_fn(c, capture_send, cap);
    ck_assert_int_eq(statsd_client_open(c), -EDESTADDRREQ);
    ck_assert_int_eq(statsd_client_send(c, "a:1|c\nb:1|c", 11, 2),
                     -EDESTADDRREQ);
    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_is_resolved(c), 1);
    /* Resolved but not opened: still no socket to send with. */
    ck_assert_int_eq(statsd_client_send_lines(c, "a:1|c", 5), -EBADF);
    ck_assert_int_eq(cap->calls, 0);
    assert_stats(c, 0, 0, 0, 3, DROPS([STATSD_DROP_UNRESOLVED] = 2));

    ck_assert_int_eq(statsd_client_open(c), 0);
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), 0);
    ck_assert_int_eq(cap->calls, 1);
    statsd_client_close(c);
    statsd_client_close(c);                     /* harmless twice */
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), -EBADF);
    ck_assert_int_eq(cap->calls, 1);
    ck_assert_int_eq(statsd_client_open(c), 0);  /* and opens again */
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), 0);
    ck_assert_int_eq(cap->calls, 2);
    /* the send after close is a bug of the caller's, counted apart */
    assert_stats(c, 2, 2, 10, 4, DROPS([STATSD_DROP_UNRESOLVED] = 2,
                                       [STATSD_DROP_BADFD] = 1));
    statsd_client_destroy(c);
    free(cap);
}
END_TEST

START_TEST(test_send_edges)
{
    struct capture *cap = capture_new();
    statsd_client *c = seam_client(512, cap);
    char big[513];

    ck_assert_int_eq(statsd_client_send(c, "", 0, 0), 0);
    ck_assert_int_eq(statsd_client_send(c, NULL, 0, 0), 0);
    ck_assert_int_eq(statsd_client_send(c, NULL, 5, 1), -EINVAL);
    ck_assert_int_eq(statsd_client_send(NULL, "a", 1, 1), -EINVAL);
    ck_assert_int_eq(statsd_client_send_lines(c, NULL, 3), -EINVAL);
    ck_assert_int_eq(statsd_client_send_lines(c, NULL, 0), 0);
    ck_assert_int_eq(statsd_client_send_lines(c, "", 0), 0);
    ck_assert_int_eq(statsd_client_send_lines(c, "\n\n\n", 3), 0);
    ck_assert_int_eq(cap->calls, 0);

    memset(big, 'x', sizeof(big));
    ck_assert_int_eq(statsd_client_send(c, big, 513, 3), -EMSGSIZE);
    ck_assert_int_eq(statsd_client_send(c, big, 512, 1), 0);
    ck_assert_int_eq(cap->calls, 1);

    cap->short_by = 1;                          /* a truncated datagram */
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), -EIO);
    cap->short_by = 0;
    cap->fail_with_errno_0 = 1;                 /* a seam that forgot errno */
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), -EIO);
    assert_stats(c, 1, 1, 512, 5,
                 DROPS([STATSD_DROP_TOOBIG] = 1, [STATSD_DROP_OTHER] = 2));
    statsd_client_destroy(c);
    free(cap);
}
END_TEST

/* ---- splitting into datagrams ------------------------------------------- */

/* Line i is (char)('a' + i) repeated len[i] times. */
static size_t build_block(char *buf, const size_t *len, int n, size_t *off)
{
    size_t pos = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (i > 0)
            buf[pos++] = '\n';
        off[i] = pos;
        memset(buf + pos, 'a' + i, len[i]);
        pos += len[i];
    }
    return pos;
}

/* Lines first..last joined by '\n', built independently of the block. */
static const char *expected_run(char *out, const size_t *len, int first,
                                int last)
{
    char *p = out;
    int i;

    for (i = first; i <= last; i++) {
        if (i > first)
            *p++ = '\n';
        memset(p, 'a' + i, len[i]);
        p += len[i];
    }
    *p = '\0';
    return out;
}

START_TEST(test_split_at_packet_size)
{
    /* 5 x 100 + 4 = 504; 255 + 1 + 256 = 512, two lines exactly filling
     * the packet; one line of exactly 512; 1 + 1 + 1. */
    static const size_t len[10] = { 100, 100, 100, 100, 100, 255, 256, 512,
                                    1, 1 };
    struct capture *cap = capture_new();
    statsd_client *c = seam_client(512, cap);
    char block[2048], want[600];
    size_t off[10];
    size_t n = build_block(block, len, 10, off);

    ck_assert_uint_eq(n, 1534);
    ck_assert_int_eq(statsd_client_send_lines(c, block, n), 1531);
    ck_assert_int_eq(cap->calls, 4);
    assert_captured(cap, 0, expected_run(want, len, 0, 4));
    assert_captured(cap, 1, expected_run(want, len, 5, 6));
    assert_captured(cap, 2, expected_run(want, len, 7, 7));
    assert_captured(cap, 3, expected_run(want, len, 8, 9));
    ck_assert_uint_eq(cap->len[0], 504);
    ck_assert_uint_eq(cap->len[1], 512);
    ck_assert_uint_eq(cap->len[2], 512);
    ck_assert_uint_eq(cap->len[3], 3);
    /* Sent in place from the caller's buffer, never copied. */
    ck_assert_ptr_eq(cap->ptr[0], block + off[0]);
    ck_assert_ptr_eq(cap->ptr[1], block + off[5]);
    ck_assert_ptr_eq(cap->ptr[2], block + off[7]);
    ck_assert_ptr_eq(cap->ptr[3], block + off[8]);
    assert_stats(c, 10, 4, 1531, 0, NO_DROPS);
    statsd_client_destroy(c);
    free(cap);
}
END_TEST

START_TEST(test_split_empty_lines)
{
    static const char block[] = "\na:1|c\nb:2|c\n\n\nc:3|ms\n";
    struct capture *cap = capture_new();
    statsd_client *c = seam_client(512, cap);

    /* A trailing '\n' is not sent; an empty line never reaches the wire,
     * so the run before it ends there. */
    ck_assert_int_eq(statsd_client_send_lines(c, block, sizeof(block) - 1),
                     17);
    ck_assert_int_eq(cap->calls, 2);
    assert_captured(cap, 0, "a:1|c\nb:2|c");
    assert_captured(cap, 1, "c:3|ms");
    ck_assert_ptr_eq(cap->ptr[0], block + 1);
    ck_assert_ptr_eq(cap->ptr[1], block + 15);
    assert_stats(c, 3, 2, 17, 0, NO_DROPS);
    statsd_client_destroy(c);
    free(cap);
}
END_TEST

START_TEST(test_line_too_big)
{
    struct capture *cap = capture_new();
    statsd_client *c = seam_client(512, cap);
    char block[700];
    uint64_t n = 0;
    size_t len;

    /* "a:1|c\n" + 513 x 'x' + "\nb:1|c": the middle line is one too many. */
    strcpy(block, "a:1|c\n");
    memset(block + 6, 'x', 513);
    strcpy(block + 6 + 513, "\nb:1|c");
    len = strlen(block);
    ck_assert_int_eq(statsd_client_send_lines(c, block, len), -EMSGSIZE);
    ck_assert_int_eq(cap->calls, 2);
    assert_captured(cap, 0, "a:1|c");
    assert_captured(cap, 1, "b:1|c");
    assert_stats(c, 2, 2, 10, 1, DROPS([STATSD_DROP_TOOBIG] = 1));
    ck_assert_int_eq(statsd_client_take_errors(c, &n), EMSGSIZE);
    ck_assert_uint_eq(n, 1);

    /* Alone and last, with a trailing newline. */
    strcpy(block + 6 + 513, "\n");
    ck_assert_int_eq(statsd_client_send_lines(c, block + 6, 514), -EMSGSIZE);
    ck_assert_int_eq(cap->calls, 2);
    assert_stats(c, 2, 2, 10, 2, DROPS([STATSD_DROP_TOOBIG] = 2));
    statsd_client_destroy(c);
    free(cap);
}
END_TEST

START_TEST(test_send_lines_failure_continues)
{
    static const size_t len[4] = { 300, 300, 300, 300 };
    struct capture *cap = capture_new();
    statsd_client *c = seam_client(512, cap);
    char block[1300], want[400];
    size_t off[4];
    size_t n = build_block(block, len, 4, off);

    cap->fail_errno[1] = EAGAIN;
    cap->fail_errno[2] = ENOBUFS;
    /* The first failure is reported; every datagram is still tried. */
    ck_assert_int_eq(statsd_client_send_lines(c, block, n), -EAGAIN);
    ck_assert_int_eq(cap->calls, 4);
    assert_captured(cap, 3, expected_run(want, len, 3, 3));
    assert_stats(c, 2, 2, 600, 2,
                 DROPS([STATSD_DROP_WOULDBLOCK] = 1,
                       [STATSD_DROP_NOBUFS] = 1));
    statsd_client_destroy(c);
    free(cap);
}
END_TEST

/* ---- errno mapping ------------------------------------------------------ */

static const struct {
    const char *spec;
    int err;
    statsd_drop_reason why;
} errno_map[] = {
    { "udp://127.0.0.1:8125", EAGAIN, STATSD_DROP_WOULDBLOCK },
    { "udp://127.0.0.1:8125", EWOULDBLOCK, STATSD_DROP_WOULDBLOCK },
    { "udp://127.0.0.1:8125", ECONNREFUSED, STATSD_DROP_REFUSED },
    { "udp://127.0.0.1:8125", ENOBUFS, STATSD_DROP_NOBUFS },
    { "udp://127.0.0.1:8125", ENOMEM, STATSD_DROP_NOBUFS },
    { "udp://127.0.0.1:8125", ENOENT, STATSD_DROP_NOENT },
    { "udp://127.0.0.1:8125", EPERM, STATSD_DROP_OTHER },
    { "udp://127.0.0.1:8125", ENETUNREACH, STATSD_DROP_OTHER },
    { "udp://127.0.0.1:8125", EMSGSIZE, STATSD_DROP_OTHER },
    { "udp://127.0.0.1:8125", EBADF, STATSD_DROP_BADFD },
    { "unix:/nonexistent/statsd.sock", ECONNREFUSED, STATSD_DROP_NOENT },
    { "unix:/nonexistent/statsd.sock", ENOENT, STATSD_DROP_NOENT },
    { "unix:/nonexistent/statsd.sock", EAGAIN, STATSD_DROP_WOULDBLOCK },
    { "unix:/nonexistent/statsd.sock", ENOBUFS, STATSD_DROP_NOBUFS },
    { "unix:/nonexistent/statsd.sock", EPERM, STATSD_DROP_OTHER },
};

START_TEST(test_errno_mapping)
{
    struct capture *cap = capture_new();
    statsd_client *c = client_for(errno_map[_i].spec, 1432);
    uint64_t drops[STATSD_DROP_REASONS] = { 0 };
    uint64_t n = 0;

    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_open(c), 0);
    statsd_client_set_send_fn(c, capture_send, cap);
    cap->fail_errno[0] = errno_map[_i].err;
    ck_assert_int_eq(statsd_client_send(c, "a:1|c\nb:1|c\nc:1|c", 17, 3),
                     -errno_map[_i].err);
    ck_assert_int_eq(cap->calls, 1);
    drops[errno_map[_i].why] = 1;
    assert_stats(c, 0, 0, 0, 3, drops);
    ck_assert_int_eq(statsd_client_take_errors(c, &n), errno_map[_i].err);
    ck_assert_uint_eq(n, 1);
    statsd_client_destroy(c);
    free(cap);
}
END_TEST

/* ---- sockets ------------------------------------------------------------ */

START_TEST(test_socket_flags)
{
    static const char *const specs[] = {
        "udp://127.0.0.1:8125", "udp://[::1]:8125", "unix:/nonexistent/s"
    };
    static const int families[] = { AF_INET, AF_INET6, AF_UNIX };
    struct capture *cap = capture_new();
    statsd_client *c = client_for(specs[_i], 1432);
    struct sockaddr_storage peer;
    socklen_t len = sizeof(peer);
    int v = 0, fd;

    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_open(c), 0);
    statsd_client_set_send_fn(c, capture_send, cap);
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), 0);
    fd = cap->fd;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len), 0);
    ck_assert_int_eq(v, SOCK_DGRAM);
    len = sizeof(v);
    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len), 0);
    ck_assert_int_eq(v, families[_i]);
    /* Unconnected: every datagram names its destination. */
    len = sizeof(peer);
    ck_assert_int_eq(getpeername(fd, (struct sockaddr *)&peer, &len), -1);
    ck_assert_int_eq(errno, ENOTCONN);

    /* Idempotent: a second open keeps the same socket. */
    ck_assert_int_eq(statsd_client_open(c), 0);
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), 0);
    ck_assert_int_eq(cap->fd, fd);

    /* destroy closes it. */
    statsd_client_destroy(c);
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
    ck_assert_int_eq(errno, EBADF);
    free(cap);
}
END_TEST

START_TEST(test_udp_icmp_errors_enabled)
{
    statsd_client *c = client_for(_i == 0 ? "udp://127.0.0.1:8125"
                                          : "udp://[::1]:8125", 1432);
    struct capture *cap = capture_new();
    int v = 0;
    socklen_t len = sizeof(v);

    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_open(c), 0);
    statsd_client_set_send_fn(c, capture_send, cap);
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), 0);
    if (_i == 0)
        ck_assert_int_eq(getsockopt(cap->fd, IPPROTO_IP, IP_RECVERR, &v,
                                    &len), 0);
    else
        ck_assert_int_eq(getsockopt(cap->fd, IPPROTO_IPV6, IPV6_RECVERR, &v,
                                    &len), 0);
    ck_assert_int_eq(v, 1);
    statsd_client_destroy(c);
    free(cap);
}
END_TEST

/* Real datagrams to a loopback receiver of each IP family. */
START_TEST(test_udp_real)
{
    int family = _i == 0 ? AF_INET : AF_INET6;
    unsigned port;
    int rx = bind_loopback(family, &port);
    statsd_target t;
    statsd_client *c = NULL;
    static const size_t len[3] = { 300, 300, 300 };
    char block[1000], want[400];
    size_t off[3];
    size_t n = build_block(block, len, 3, off);

    ck_assert_int_eq(statsd_target_from_host_port(&t, family == AF_INET
                                                  ? "127.0.0.1" : "[::1]",
                                                  port), 0);
    ck_assert_int_eq(statsd_client_create(&c, &t, 512), 0);
    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_open(c), 0);
    ck_assert_int_eq(statsd_client_send_lines(c, "a.b:1|c\nrt:12.5|ms\n",
                                              19), 18);
    recv_expect(rx, "a.b:1|c\nrt:12.5|ms");
    ck_assert_int_eq(statsd_client_send_lines(c, block, n), 900);
    recv_expect(rx, expected_run(want, len, 0, 0));
    recv_expect(rx, expected_run(want, len, 1, 1));
    recv_expect(rx, expected_run(want, len, 2, 2));
    ck_assert_int_eq(statsd_client_send(c, "x:1|c", 5, 1), 0);
    recv_expect(rx, "x:1|c");
    expect_no_datagram(rx);
    assert_stats(c, 6, 5, 923, 0, NO_DROPS);
    statsd_client_destroy(c);
    ck_assert_int_eq(close(rx), 0);
}
END_TEST

/* Nothing listening on a UDP port: thanks to IP_RECVERR the ICMP port
 * unreachable of one datagram fails the next sendto() with ECONNREFUSED
 * (on this kernel always the second send; allow for a late ICMP). */
START_TEST(test_udp_refused)
{
    int family = _i == 0 ? AF_INET : AF_INET6;
    unsigned port;
    int rx = bind_loopback(family, &port);
    statsd_target t;
    statsd_client *c = NULL;
    uint64_t n = 0;
    int i, rc = 0;

    ck_assert_int_eq(close(rx), 0);             /* the port is now dead */
    ck_assert_int_eq(statsd_target_from_host_port(&t, family == AF_INET
                                                  ? "127.0.0.1" : "::1",
                                                  port), 0);
    ck_assert_int_eq(statsd_client_create(&c, &t, 1432), 0);
    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_open(c), 0);
    for (i = 0; i < 50 && rc == 0; i++)
        rc = statsd_client_send(c, "a:1|c\nb:1|c", 11, 2);
    ck_assert_int_eq(rc, -ECONNREFUSED);
    ck_assert_int_ge(i, 2);                     /* the first one went out */
    assert_stats(c, (uint64_t)(i - 1) * 2, (uint64_t)(i - 1),
                 (uint64_t)(i - 1) * 11, 2, DROPS([STATSD_DROP_REFUSED] = 1));
    ck_assert_int_eq(statsd_client_take_errors(c, &n), ECONNREFUSED);
    ck_assert_uint_eq(n, 1);
    statsd_client_destroy(c);
}
END_TEST

START_TEST(test_unix_real)
{
    struct tmpdir d;
    statsd_client *c;
    int rx;

    tmpdir_make(&d, "statsd.sock");
    rx = bind_unix(d.path);
    c = unix_client(d.path);
    ck_assert_int_eq(statsd_client_is_resolved(c), 1);  /* at create */
    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_open(c), 0);
    ck_assert_int_eq(statsd_client_send_lines(c, "u:1|c\nv:2|g", 11), 11);
    recv_expect(rx, "u:1|c\nv:2|g");
    expect_no_datagram(rx);
    assert_stats(c, 2, 1, 11, 0, NO_DROPS);
    statsd_client_destroy(c);
    ck_assert_int_eq(close(rx), 0);
    tmpdir_remove(&d);
}
END_TEST

/* The destination address handed to sendto() for a unix target. */
START_TEST(test_unix_address)
{
    struct capture *cap = capture_new();
    statsd_client *c = client_for("unix:/run/statsd/s.sock", 1432);
    const struct sockaddr_un *a = (const struct sockaddr_un *)&cap->to;

    ck_assert_int_eq(statsd_client_open(c), 0);
    statsd_client_set_send_fn(c, capture_send, cap);
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), 0);
    ck_assert_int_eq(a->sun_family, AF_UNIX);
    ck_assert_str_eq(a->sun_path, "/run/statsd/s.sock");
    ck_assert_uint_eq(cap->tolen, offsetof(struct sockaddr_un, sun_path)
                      + sizeof("/run/statsd/s.sock"));
    statsd_client_destroy(c);
    free(cap);
}
END_TEST

START_TEST(test_unix_missing_path)
{
    struct tmpdir d;
    statsd_client *c;

    tmpdir_make(&d, "absent.sock");
    c = unix_client(d.path);
    ck_assert_int_eq(statsd_client_open(c), 0);
    ck_assert_int_eq(statsd_client_send_lines(c, "a:1|c\nb:1|c", 11),
                     -ENOENT);
    assert_stats(c, 0, 0, 0, 2, DROPS([STATSD_DROP_NOENT] = 1));
    /* The receiver appears later: the unconnected socket just works. */
    {
        int rx = bind_unix(d.path);

        ck_assert_int_eq(statsd_client_send_lines(c, "c:1|c", 5), 5);
        recv_expect(rx, "c:1|c");
        ck_assert_int_eq(close(rx), 0);
    }
    assert_stats(c, 1, 1, 5, 2, DROPS([STATSD_DROP_NOENT] = 1));
    statsd_client_destroy(c);
    tmpdir_remove(&d);
}
END_TEST

START_TEST(test_unix_no_reader)
{
    struct tmpdir d;
    statsd_client *c;
    uint64_t n = 0;

    tmpdir_make(&d, "dead.sock");
    ck_assert_int_eq(close(bind_unix(d.path)), 0);  /* the file stays */
    c = unix_client(d.path);
    ck_assert_int_eq(statsd_client_open(c), 0);
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), -ECONNREFUSED);
    assert_stats(c, 0, 0, 0, 1, DROPS([STATSD_DROP_NOENT] = 1));
    ck_assert_int_eq(statsd_client_take_errors(c, &n), ECONNREFUSED);
    ck_assert_uint_eq(n, 1);
    statsd_client_destroy(c);
    tmpdir_remove(&d);
}
END_TEST

/* A receiver that never reads: its queue (net.unix.max_dgram_qlen
 * datagrams) fills and the non-blocking sender gets EAGAIN. */
START_TEST(test_unix_full_receiver)
{
    struct tmpdir d;
    statsd_client *c;
    char line[32];
    int rx, rcvbuf = 1024, sent = 0, rc = 0;

    tmpdir_make(&d, "full.sock");
    rx = bind_unix(d.path);
    ck_assert_int_eq(setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
                                sizeof(rcvbuf)), 0);
    c = unix_client(d.path);
    ck_assert_int_eq(statsd_client_open(c), 0);
    while (sent < 100000) {
        int n = snprintf(line, sizeof(line), "seq:%06d|c", sent);

        rc = statsd_client_send(c, line, (size_t)n, 1);
        if (rc != 0)
            break;
        sent++;
    }
    ck_assert_int_eq(rc, -EAGAIN);
    ck_assert_int_ge(sent, 1);
    ck_assert_int_lt(sent, 100000);
    assert_stats(c, (uint64_t)sent, (uint64_t)sent, (uint64_t)sent * 12, 1,
                 DROPS([STATSD_DROP_WOULDBLOCK] = 1));

    /* Once the receiver reads, sending works again. */
    recv_expect(rx, "seq:000000|c");
    ck_assert_int_eq(statsd_client_send(c, "again:1|c", 9, 1), 0);
    statsd_client_destroy(c);
    ck_assert_int_eq(close(rx), 0);
    tmpdir_remove(&d);
}
END_TEST

/* ---- resolution --------------------------------------------------------- */

START_TEST(test_resolver_seam)
{
    struct fake_resolver f;
    unsigned port4, port6;
    int rx4 = bind_loopback(AF_INET, &port4);
    int rx6 = bind_loopback(AF_INET6, &port6);
    statsd_target t;
    statsd_client *c = NULL;

    memset(&f, 0, sizeof(f));
    ck_assert_int_eq(statsd_target_from_host_port(&t, "statsd.invalid",
                                                  port4), 0);
    ck_assert_int_eq(statsd_client_create(&c, &t, 1432), 0);
    statsd_client_set_resolve_fn(c, fake_resolve, &f);

    /* The name does not resolve: nothing to open, sends are counted. */
    f.rc = -ENOENT;
    ck_assert_int_eq(statsd_client_resolve(c), -ENOENT);
    ck_assert_int_eq(f.calls, 1);
    ck_assert_str_eq(f.host, "statsd.invalid");
    ck_assert_uint_eq(f.port, port4);
    ck_assert_int_eq(statsd_client_is_resolved(c), 0);
    ck_assert_int_eq(statsd_client_open(c), -EDESTADDRREQ);
    ck_assert_int_eq(statsd_client_send_lines(c, "a:1|c\nb:1|c", 11),
                     -EDESTADDRREQ);
    assert_stats(c, 0, 0, 0, 2, DROPS([STATSD_DROP_UNRESOLVED] = 1));

    /* Then it does. */
    f.rc = 0;
    f.len = loopback_addr(AF_INET, port4, &f.addr);
    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_is_resolved(c), 1);
    ck_assert_int_eq(statsd_client_open(c), 0);
    ck_assert_int_eq(statsd_client_send_lines(c, "c:1|c", 5), 5);
    recv_expect(rx4, "c:1|c");

    /* A later failure keeps the address that worked. */
    f.rc = -EAGAIN;
    ck_assert_int_eq(statsd_client_resolve(c), -EAGAIN);
    ck_assert_int_eq(statsd_client_is_resolved(c), 1);
    ck_assert_int_eq(statsd_client_send_lines(c, "d:1|c", 5), 5);
    recv_expect(rx4, "d:1|c");

    /* So does an answer that is no IP address, or a broken resolver. */
    f.rc = 0;
    f.addr.ss_family = AF_UNIX;
    ck_assert_int_eq(statsd_client_resolve(c), -EAFNOSUPPORT);
    f.len = loopback_addr(AF_INET, port4, &f.addr) - 1;
    ck_assert_int_eq(statsd_client_resolve(c), -EAFNOSUPPORT);
    f.rc = 1;
    ck_assert_int_eq(statsd_client_resolve(c), -EIO);
    ck_assert_int_eq(statsd_client_send_lines(c, "e:1|c", 5), 5);
    recv_expect(rx4, "e:1|c");

    /* The name moves to IPv6: the open socket follows the family. */
    f.rc = 0;
    f.len = loopback_addr(AF_INET6, port6, &f.addr);
    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_send_lines(c, "f:1|c", 5), 5);
    recv_expect(rx6, "f:1|c");
    expect_no_datagram(rx4);
    assert_stats(c, 4, 4, 20, 2, DROPS([STATSD_DROP_UNRESOLVED] = 1));
    ck_assert_int_eq(f.calls, 7);
    statsd_client_destroy(c);
    ck_assert_int_eq(close(rx4), 0);
    ck_assert_int_eq(close(rx6), 0);
}
END_TEST

START_TEST(test_resolver_unix_and_default)
{
    struct fake_resolver f;
    statsd_client *c = client_for("unix:/nonexistent/s.sock", 1432);

    memset(&f, 0, sizeof(f));
    f.rc = -ENOENT;
    statsd_client_set_resolve_fn(c, fake_resolve, &f);
    ck_assert_int_eq(statsd_client_resolve(c), 0);  /* no lookup needed */
    ck_assert_int_eq(f.calls, 0);
    statsd_client_destroy(c);

    /* NULL puts the getaddrinfo resolver back. */
    c = client_for("udp://localhost:8125", 1432);
    statsd_client_set_resolve_fn(c, fake_resolve, &f);
    ck_assert_int_eq(statsd_client_resolve(c), -ENOENT);
    statsd_client_set_resolve_fn(c, NULL, NULL);
    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(f.calls, 1);
    statsd_client_destroy(c);
}
END_TEST

/* An IP literal has its address from creation: no resolver is asked,
 * not even one that would fail. */
START_TEST(test_literals_never_resolved)
{
    static const char *const specs[] = { "udp://127.0.0.1:9125",
                                         "udp://[::1]:9125" };
    struct fake_resolver f;
    struct sockaddr_storage want, a;
    struct capture *cap = capture_new();
    statsd_client *c = client_for(specs[_i], 1432);

    memset(&f, 0, sizeof(f));
    f.rc = -ENOENT;
    statsd_client_set_resolve_fn(c, fake_resolve, &f);
    ck_assert_int_eq(statsd_client_is_resolved(c), 1);
    ck_assert_int_eq(statsd_client_needs_lookup(c), 0);
    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_refresh(c), 0);
    /* nor does an address from elsewhere replace it */
    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(statsd_client_set_address(c, &a,
                         loopback_addr(AF_INET, 1, &a), 1), 0);
    ck_assert_int_eq(f.calls, 0);
    ck_assert_int_eq(statsd_client_open(c), 0);
    statsd_client_set_send_fn(c, capture_send, cap);
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), 0);
    ck_assert_uint_eq(cap->tolen, loopback_addr(_i == 0 ? AF_INET : AF_INET6,
                                                9125, &want));
    ck_assert_int_eq(memcmp(&cap->to, &want, cap->tolen), 0);
    statsd_client_destroy(c);
    free(cap);
}
END_TEST

/* An answer found elsewhere (a resolver thread) is installed like one
 * of statsd_client_refresh; with open_socket, its socket comes first. */
START_TEST(test_set_address)
{
    struct sockaddr_storage a;
    socklen_t len;
    unsigned port;
    int rx = bind_loopback(AF_INET, &port);
    statsd_client *c = client_for("udp://statsd.invalid:8125", 1432);
    statsd_client *u = client_for("unix:/nonexistent/s.sock", 1432);

    ck_assert_int_eq(statsd_client_needs_lookup(c), 1);
    ck_assert_int_eq(statsd_client_needs_lookup(u), 0);
    ck_assert_int_eq(statsd_client_is_resolved(c), 0);
    len = loopback_addr(AF_INET, port, &a);
    a.ss_family = AF_UNIX;
    ck_assert_int_eq(statsd_client_set_address(c, &a, len, 1),
                     -EAFNOSUPPORT);
    ck_assert_int_eq(statsd_client_is_resolved(c), 0);
    len = loopback_addr(AF_INET, port, &a);
    ck_assert_int_eq(statsd_client_set_address(c, &a, len, 1), 1);
    ck_assert_int_eq(statsd_client_set_address(c, &a, len, 1), 0);
    ck_assert_int_eq(statsd_client_is_resolved(c), 1);
    /* sent without statsd_client_open: the socket came with the address */
    ck_assert_int_eq(statsd_client_send_lines(c, "a:1|c", 5), 5);
    recv_expect(rx, "a:1|c");
    ck_assert_int_eq(statsd_client_set_address(u, &a, len, 1), 0);
    statsd_client_destroy(c);
    statsd_client_destroy(u);
    ck_assert_int_eq(close(rx), 0);
}
END_TEST

/* The address as mod_status shows it: none before the first answer, then
 * the installed one; literals and unix paths from the start. */
START_TEST(test_address_text)
{
    struct sockaddr_storage a;
    socklen_t len;
    char buf[STATSD_ADDRESS_TEXT_MAX];
    statsd_client *c = client_for("udp://statsd.invalid:8125", 1432);
    statsd_client *v6 = client_for("udp://[::1]:8126", 1432);
    statsd_client *u = client_for("unix:/run/statsd/s.sock", 1432);

    ck_assert_int_eq(statsd_client_address_text(c, buf, sizeof(buf)),
                     -EINPROGRESS);
    len = loopback_addr(AF_INET, 8125, &a);
    ck_assert_int_eq(statsd_client_set_address(c, &a, len, 0), 1);
    ck_assert_int_eq(statsd_client_address_text(c, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "127.0.0.1:8125");
    ck_assert_int_eq(statsd_client_address_text(v6, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "[::1]:8126");
    ck_assert_int_eq(statsd_client_address_text(u, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "/run/statsd/s.sock");
    ck_assert_int_eq(statsd_client_address_text(c, buf, 14), -ENOSPC);
    ck_assert_int_eq(statsd_client_address_text(c, buf, 0), -EINVAL);
    ck_assert_int_eq(statsd_client_address_text(NULL, buf, sizeof(buf)),
                     -EINVAL);
    statsd_client_destroy(c);
    statsd_client_destroy(v6);
    statsd_client_destroy(u);
}
END_TEST

/* Resolve spec with the default resolver; return where a send would go. */
static void resolved_to(const char *spec, struct sockaddr_storage *to,
                        socklen_t *tolen)
{
    struct capture *cap = capture_new();
    statsd_client *c = client_for(spec, 1432);

    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_open(c), 0);
    statsd_client_set_send_fn(c, capture_send, cap);
    ck_assert_int_eq(statsd_client_send(c, "a:1|c", 5, 1), 0);
    *to = cap->to;
    *tolen = cap->tolen;
    statsd_client_destroy(c);
    free(cap);
}

START_TEST(test_localhost_is_ipv4)
{
    struct sockaddr_storage to;
    socklen_t tolen;
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)&to;
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&to;

    resolved_to("udp://localhost:8125", &to, &tolen);
    ck_assert_int_eq(to.ss_family, AF_INET);
    ck_assert_uint_eq(tolen, sizeof(struct sockaddr_in));
    ck_assert_uint_eq(ntohl(a4->sin_addr.s_addr), INADDR_LOOPBACK);
    ck_assert_uint_eq(ntohs(a4->sin_port), 8125);

    resolved_to("udp://[::1]:9125", &to, &tolen);
    ck_assert_int_eq(to.ss_family, AF_INET6);
    ck_assert_uint_eq(tolen, sizeof(struct sockaddr_in6));
    ck_assert_mem_eq(&a6->sin6_addr, &in6addr_loopback,
                     sizeof(in6addr_loopback));
    ck_assert_uint_eq(ntohs(a6->sin6_port), 9125);
}
END_TEST

START_TEST(test_getaddrinfo_prefers_ipv4)
{
    struct sockaddr_storage to;
    socklen_t tolen;
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)&to;
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&to;

    /* ::1 is listed first, 127.0.0.2 second: IPv4 wins. */
    gai_mode = GAI_V6_THEN_V4;
    resolved_to("udp://statsd.invalid:9125", &to, &tolen);
    ck_assert_str_eq(gai_node, "statsd.invalid");
    ck_assert_str_eq(gai_service, "9125");
    ck_assert_int_eq(gai_hints_seen.ai_family, AF_UNSPEC);
    ck_assert_int_eq(gai_hints_seen.ai_socktype, SOCK_DGRAM);
    ck_assert_int_eq(to.ss_family, AF_INET);
    ck_assert_uint_eq(tolen, sizeof(struct sockaddr_in));
    ck_assert_uint_eq(ntohl(a4->sin_addr.s_addr), 0x7f000002);
    ck_assert_uint_eq(ntohs(a4->sin_port), 9125);

    /* No IPv4 at all: the IPv6 address is used. */
    gai_mode = GAI_V6_ONLY;
    resolved_to("udp://statsd.invalid", &to, &tolen);
    ck_assert_str_eq(gai_service, "8125");
    ck_assert_int_eq(to.ss_family, AF_INET6);
    ck_assert_uint_eq(tolen, sizeof(struct sockaddr_in6));
    ck_assert_mem_eq(&a6->sin6_addr, &in6addr_loopback,
                     sizeof(in6addr_loopback));
    ck_assert_uint_eq(ntohs(a6->sin6_port), 8125);
}
END_TEST

static const struct {
    int gai;
    int rc;
} gai_errors[] = {
    { EAI_NONAME, -ENOENT },
    { EAI_NODATA, -ENOENT },
    { EAI_AGAIN, -EAGAIN },
    { EAI_MEMORY, -ENOMEM },
    { EAI_FAIL, -EIO },
};

START_TEST(test_getaddrinfo_errors)
{
    statsd_client *c = client_for("udp://statsd.invalid:8125", 1432);

    gai_mode = GAI_FAIL;
    gai_fail_code = gai_errors[_i].gai;
    ck_assert_int_eq(statsd_client_resolve(c), gai_errors[_i].rc);
    ck_assert_int_eq(statsd_client_is_resolved(c), 0);
    statsd_client_destroy(c);
}
END_TEST

/* ---- many threads at once ----------------------------------------------- */

#define THREADS 8
#define SENDS_PER_THREAD 20000

/* Datagrams starting with 'f' fail with EAGAIN, the others go out. */
static ssize_t counting_send(int fd, const void *buf, size_t len,
                             const struct sockaddr *to, socklen_t tolen,
                             void *baton)
{
    ssize_t sent = count_send(fd, buf, len, to, tolen, baton);

    if (((const char *)buf)[0] == 'f') {
        errno = EAGAIN;
        return -1;
    }
    return sent;
}

static void *send_many(void *arg)
{
    statsd_client *c = arg;
    int i;

    for (i = 0; i < SENDS_PER_THREAD; i++) {
        if (i % 2 == 0)
            (void)statsd_client_send(c, "ok:1|c\nok:2|c\nok:3|c", 20, 3);
        else
            (void)statsd_client_send(c, "f:1|c", 5, 1);
    }
    return NULL;
}

START_TEST(test_threads_count_exactly)
{
    statsd_client *c = client_for("udp://127.0.0.1:8125", 1432);
    pthread_t th[THREADS];
    uint64_t calls = 0, n = 0;
    const uint64_t half = (uint64_t)THREADS * SENDS_PER_THREAD / 2;
    int i;

    ck_assert_int_eq(statsd_client_resolve(c), 0);
    ck_assert_int_eq(statsd_client_open(c), 0);
    statsd_client_set_send_fn(c, counting_send, &calls);
    for (i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, send_many, c), 0);
    for (i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    ck_assert_uint_eq(calls, 2 * half);
    assert_stats(c, 3 * half, half, 20 * half, half,
                 DROPS([STATSD_DROP_WOULDBLOCK] = half));
    ck_assert_int_eq(statsd_client_take_errors(c, &n), EAGAIN);
    ck_assert_uint_eq(n, half);
    statsd_client_destroy(c);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

/* Every case resets the fakes after each test; 60 s: valgrind is slow. */
int main(void)
{
    Suite *s = suite_create("statsd_client");

    UNIT_TCASE(s, "target", NULL, reset_fakes, 60,
               UNIT_TEST(test_host_port_defaults),
               UNIT_TEST(test_host_port_rejects),
               UNIT_TEST(test_parse_forms),
               UNIT_TEST(test_parse_rejects),
               UNIT_TEST(test_port_parse),
               UNIT_TEST(test_format_round_trip),
               UNIT_TEST(test_target_equal));
    UNIT_TCASE(s, "client", NULL, reset_fakes, 60,
               UNIT_TEST(test_create_validates),
               UNIT_TEST(test_drop_reason_names),
               UNIT_TEST(test_count_drop_and_take_errors),
               UNIT_TEST(test_unresolved_and_closed),
               UNIT_TEST(test_send_edges),
               UNIT_LOOP(test_errno_mapping, (int)UNIT_COUNT(errno_map)),
               UNIT_TEST(test_threads_count_exactly));
    UNIT_TCASE(s, "split", NULL, reset_fakes, 60,
               UNIT_TEST(test_split_at_packet_size),
               UNIT_TEST(test_split_empty_lines),
               UNIT_TEST(test_line_too_big),
               UNIT_TEST(test_send_lines_failure_continues));
    UNIT_TCASE(s, "socket", NULL, reset_fakes, 60,
               UNIT_LOOP(test_socket_flags, 3),
               UNIT_LOOP(test_udp_icmp_errors_enabled, 2),
               UNIT_LOOP(test_udp_real, 2),
               UNIT_LOOP(test_udp_refused, 2),
               UNIT_TEST(test_unix_real),
               UNIT_TEST(test_unix_address),
               UNIT_TEST(test_unix_missing_path),
               UNIT_TEST(test_unix_no_reader),
               UNIT_TEST(test_unix_full_receiver));
    UNIT_TCASE(s, "resolve", NULL, reset_fakes, 60,
               UNIT_TEST(test_resolver_seam),
               UNIT_TEST(test_resolver_unix_and_default),
               UNIT_LOOP(test_literals_never_resolved, 2),
               UNIT_TEST(test_set_address),
               UNIT_TEST(test_address_text),
               UNIT_TEST(test_localhost_is_ipv4),
               UNIT_TEST(test_getaddrinfo_prefers_ipv4),
               UNIT_LOOP(test_getaddrinfo_errors, (int)UNIT_COUNT(gai_errors)));
    return run_suite(s);
}
