/*
 * statsd_client.c - a small, portable statsd client (see statsd_client.h).
 *
 * C99 + POSIX sockets (plus a few Linux socket options, each optional).
 * No httpd/APR, no printing, no global mutable state: everything a client
 * needs lives in its own struct.
 *
 * How lost datagrams are reported (Linux, loopback):
 *  - UDP: an unconnected socket never learns of an ICMP "port unreachable"
 *    unless IP_RECVERR / IPV6_RECVERR is on. With it, the ICMP sets the
 *    socket's pending error and the *next* sendto() fails with ECONNREFUSED
 *    without sending its own datagram. So with nothing listening the sends
 *    alternate ok / ECONNREFUSED: every refused one is a real, counted loss,
 *    and the counters stay a lower bound. The ICMP
 *    reports also pile up in the socket's error queue, which nobody reads;
 *    it is bounded by SO_RCVBUF, so we shrink that (the socket never
 *    receives anything else).
 *  - A full UDP receive buffer on loopback drops silently (no error).
 *  - Unix datagram: a missing path gives ENOENT, a path with no reader
 *    ECONNREFUSED, a receiver whose queue is full EAGAIN.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* SOCK_CLOEXEC, SOCK_NONBLOCK, MSG_NOSIGNAL */
#endif

#include "statsd_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

/* Receive buffer asked for: only ICMP error reports land there (the kernel
 * doubles it and enforces its own minimum). */
#define STATSD_ERRQUEUE_RCVBUF 4096

/* An address senders may be reading while statsd_client_refresh() fills
 * the other slot: refresh only ever writes the slot not in use, then
 * switches `cur` (release/acquire), so a send sees a whole address. */
typedef struct {
    struct sockaddr_storage addr;
    socklen_t len;
} addr_slot;

enum { FD_INET, FD_INET6, FD_UNIX, FD_KINDS };

struct statsd_client {
    statsd_target target;
    size_t max_packet;
    int fds[FD_KINDS];                  /* one socket per family, -1: none;
                                         * never closed while in use */
    int resolved;                       /* slot[cur] is valid (atomic) */
    int cur;                            /* the slot senders use (atomic) */
    addr_slot slot[2];
    statsd_send_fn send_fn;
    void *send_baton;
    statsd_resolve_fn resolve_fn;
    void *resolve_baton;
    /* Updated with relaxed __atomic builtins: sends run in many threads. */
    uint64_t lines;
    uint64_t datagrams;
    uint64_t bytes;
    uint64_t dropped_lines;
    uint64_t drops[STATSD_DROP_REASONS];
    uint64_t error_count;               /* failures since the last take */
    int closed;                         /* closed since the last open */
    int last_errno;
};

/* ---- drop reasons ------------------------------------------------------- */

const char *statsd_client_drop_reason_name(statsd_drop_reason why)
{
    static const char *const names[STATSD_DROP_REASONS] = {
        "wouldblock", "refused", "nobufs", "noent", "unresolved", "toobig",
        "other", "badfd"
    };

    if ((unsigned)why >= STATSD_DROP_REASONS)
        return "unknown";
    return names[why];
}

/* ---- default seams ------------------------------------------------------ */

static ssize_t default_send(int fd, const void *buf, size_t len,
                            const struct sockaddr *to, socklen_t tolen,
                            void *baton)
{
    ssize_t n;

    (void)baton;
    /* Never block, never SIGPIPE; a signal is no reason to lose a line. */
    do {
        n = sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, to, tolen);
    } while (n < 0 && errno == EINTR);
    return n;
}

static int gai_to_errno(int rc)
{
    switch (rc) {
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_FAIL:
        return -EIO;
    case EAI_SYSTEM:
        return errno != 0 ? -errno : -EIO;
    default:                        /* EAI_NONAME, EAI_NODATA, ... */
        return -ENOENT;
    }
}

/* First IPv4 address, else first IPv6: Etsy statsd listens on IPv4 while
 * "localhost" often lists ::1 first. */
static const struct addrinfo *pick_address(const struct addrinfo *list)
{
    const struct addrinfo *ai;
    const struct addrinfo *v6 = NULL;

    for (ai = list; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET)
            return ai;
        if (ai->ai_family == AF_INET6 && v6 == NULL)
            v6 = ai;
    }
    return v6;
}

static int default_resolve(const char *host, unsigned port,
                           struct sockaddr_storage *addr, socklen_t *len,
                           void *baton)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    const struct addrinfo *ai;
    char serv[8];
    int rc;

    (void)baton;
    rc = snprintf(serv, sizeof(serv), "%u", port);
    if (rc < 0 || (size_t)rc >= sizeof(serv))
        return -EINVAL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    /* No AI_ADDRCONFIG: on a host with only loopback it hides localhost. */
    hints.ai_flags = AI_NUMERICSERV;
    errno = 0;
    rc = getaddrinfo(host, serv, &hints, &res);
    if (rc != 0)
        return gai_to_errno(rc);
    ai = pick_address(res);
    rc = -ENOENT;
    if (ai != NULL && ai->ai_addrlen <= sizeof(*addr)) {
        memcpy(addr, ai->ai_addr, ai->ai_addrlen);
        *len = ai->ai_addrlen;
        rc = 0;
    }
    freeaddrinfo(res);
    return rc;
}

/* ---- life cycle --------------------------------------------------------- */

/* An IP literal's address is known without any lookup: it never reaches
 * the resolver. Returns 1 and fills *a and *len, or 0 for a name. */
static int literal_address(const statsd_target *t,
                           struct sockaddr_storage *a, socklen_t *len)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)a;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)a;

    if (t->kind != STATSD_TARGET_UDP)
        return 0;
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, t->host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)t->port);
        *len = sizeof(*s4);
        return 1;
    }
    if (inet_pton(AF_INET6, t->host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)t->port);
        *len = sizeof(*s6);
        return 1;
    }
    return 0;
}

/* A unix target's address is known without any lookup. */
static void set_unix_address(statsd_client *c)
{
    struct sockaddr_un *su = (struct sockaddr_un *)&c->slot[0].addr;
    size_t len = strlen(c->target.path);

    memset(&c->slot[0].addr, 0, sizeof(c->slot[0].addr));
    su->sun_family = AF_UNIX;
    memcpy(su->sun_path, c->target.path, len + 1);
    c->slot[0].len = (socklen_t)(offsetof(struct sockaddr_un, sun_path)
                                 + len + 1);
    c->cur = 0;
    c->resolved = 1;
}

int statsd_client_create(statsd_client **out, const statsd_target *t,
                         size_t max_packet)
{
    statsd_client *c;

    if (out == NULL || t == NULL || !statsd_target_valid(t)
        || max_packet < STATSD_MIN_PACKET || max_packet > STATSD_MAX_PACKET)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->target = *t;
    c->max_packet = max_packet;
    c->fds[FD_INET] = c->fds[FD_INET6] = c->fds[FD_UNIX] = -1;
    c->send_fn = default_send;
    c->resolve_fn = default_resolve;
    if (t->kind == STATSD_TARGET_UNIX)
        set_unix_address(c);
    else if (literal_address(t, &c->slot[0].addr, &c->slot[0].len))
        c->resolved = 1;
    *out = c;
    return 0;
}

void statsd_client_destroy(statsd_client *c)
{
    if (c == NULL)
        return;
    statsd_client_close(c);
    free(c);
}

void statsd_client_set_send_fn(statsd_client *c, statsd_send_fn fn,
                               void *baton)
{
    if (c == NULL)
        return;
    c->send_fn = fn != NULL ? fn : default_send;
    c->send_baton = fn != NULL ? baton : NULL;
}

void statsd_client_set_resolve_fn(statsd_client *c, statsd_resolve_fn fn,
                                  void *baton)
{
    if (c == NULL)
        return;
    c->resolve_fn = fn != NULL ? fn : default_resolve;
    c->resolve_baton = fn != NULL ? baton : NULL;
}

/* Ask for ICMP errors (see the top of the file) and keep their queue
 * small. Both are optional: without them the socket still sends, it only
 * reports fewer losses, so a failure here is deliberately ignored. */
static void enable_error_reports(int fd, int family)
{
    int on = 1;
    int rcvbuf = STATSD_ERRQUEUE_RCVBUF;

    if (family == AF_INET)
        (void)setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
    else if (family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
    else
        return;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
}

/* A fresh unconnected datagram socket: sendto() each datagram, so a unix
 * socket created late or a receiver that restarts just works. */
static int open_socket(int family)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return errno != 0 ? -errno : -EIO;
    enable_error_reports(fd, family);
    return fd;
}

/* The resolver's answer must be an IP address that fits. */
static int check_resolved(const struct sockaddr_storage *a, socklen_t len)
{
    if (a->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)
        && len <= sizeof(*a))
        return 0;
    if (a->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)
        && len <= sizeof(*a))
        return 0;
    return -EAFNOSUPPORT;
}

static int fd_kind(int family)
{
    return family == AF_INET ? FD_INET
         : family == AF_INET6 ? FD_INET6 : FD_UNIX;
}

/* The socket for addresses of this family, opened if need be. */
static int ensure_socket(statsd_client *c, int family)
{
    int k = fd_kind(family), fd;

    if (__atomic_load_n(&c->fds[k], __ATOMIC_ACQUIRE) >= 0)
        return 0;
    fd = open_socket(family);
    if (fd < 0)
        return fd;
    __atomic_store_n(&c->fds[k], fd, __ATOMIC_RELEASE);
    return 0;
}

static int same_address(const addr_slot *a, const struct sockaddr_storage *b,
                        socklen_t len)
{
    return a->len == len && memcmp(&a->addr, b, len) == 0;
}

/* Use addr from now on: it goes in the spare slot, then senders switch
 * to it. With open_too, a socket of a new family is opened first (a name
 * that moved from IPv4 to IPv6), so a send never meets an address
 * without one. Returns 1 if the address changed, 0 if not, or a negative
 * errno (the previous address stays). */
static int install(statsd_client *c, const struct sockaddr_storage *addr,
                   socklen_t len, int open_too)
{
    int rc, cur, next;

    if ((rc = check_resolved(addr, len)) != 0)
        return rc;
    cur = __atomic_load_n(&c->cur, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&c->resolved, __ATOMIC_ACQUIRE)
        && same_address(&c->slot[cur], addr, len))
        return 0;
    if (open_too && (rc = ensure_socket(c, addr->ss_family)) != 0)
        return rc;
    next = !cur;
    memcpy(&c->slot[next].addr, addr, len);
    c->slot[next].len = len;
    __atomic_store_n(&c->cur, next, __ATOMIC_RELEASE);
    __atomic_store_n(&c->resolved, 1, __ATOMIC_RELEASE);
    return 1;
}

/* Look the name up and install the answer (see install). Unix targets
 * and IP literals have had their address since creation. */
static int lookup(statsd_client *c, int open_too)
{
    struct sockaddr_storage addr;
    socklen_t len = 0;
    int rc;

    if (c == NULL)
        return -EINVAL;
    if (!statsd_client_needs_lookup(c))
        return 0;
    memset(&addr, 0, sizeof(addr));
    rc = c->resolve_fn(c->target.host, c->target.port, &addr, &len,
                       c->resolve_baton);
    if (rc > 0)
        rc = -EIO;                  /* a resolver that broke its contract */
    if (rc != 0)
        return rc;                  /* the previous address stays */
    return install(c, &addr, len, open_too);
}

int statsd_client_address_text(const statsd_client *c, char *buf,
                               size_t size)
{
    char host[INET6_ADDRSTRLEN];
    const struct sockaddr_storage *a;
    const void *in;
    unsigned port;
    int n;

    if (c == NULL || buf == NULL || size == 0)
        return -EINVAL;
    if (!__atomic_load_n(&c->resolved, __ATOMIC_ACQUIRE))
        return -EINPROGRESS;
    if (c->target.kind != STATSD_TARGET_UDP) {
        n = snprintf(buf, size, "%s", c->target.path);
        return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
    }
    a = &c->slot[__atomic_load_n(&c->cur, __ATOMIC_ACQUIRE)].addr;
    if (a->ss_family == AF_INET6) {
        in = &((const struct sockaddr_in6 *)a)->sin6_addr;
        port = ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
    } else {
        in = &((const struct sockaddr_in *)a)->sin_addr;
        port = ntohs(((const struct sockaddr_in *)a)->sin_port);
    }
    if (inet_ntop(a->ss_family, in, host, sizeof(host)) == NULL)
        return -EINVAL;
    n = snprintf(buf, size, a->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
                 host, port);
    return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

int statsd_client_needs_lookup(const statsd_client *c)
{
    struct sockaddr_storage a;
    socklen_t len;

    return c != NULL && c->target.kind == STATSD_TARGET_UDP
           && !literal_address(&c->target, &a, &len);
}

void statsd_client_get_resolve_fn(const statsd_client *c,
                                  statsd_resolve_fn *fn, void **baton)
{
    *fn = c != NULL ? c->resolve_fn : default_resolve;
    *baton = c != NULL ? c->resolve_baton : NULL;
}

int statsd_client_set_address(statsd_client *c,
                              const struct sockaddr_storage *addr,
                              socklen_t len, int open_socket)
{
    if (c == NULL || addr == NULL)
        return -EINVAL;
    if (!statsd_client_needs_lookup(c))
        return 0;
    return install(c, addr, len, open_socket);
}

/* Has the client a socket? */
static int statsd_client_is_open(const statsd_client *c)
{
    int k;

    if (c == NULL)
        return 0;
    for (k = 0; k < FD_KINDS; k++)
        if (__atomic_load_n(&c->fds[k], __ATOMIC_ACQUIRE) >= 0)
            return 1;
    return 0;
}

int statsd_client_resolve(statsd_client *c)
{
    int rc = lookup(c, c != NULL && statsd_client_is_open(c));
    return rc < 0 ? rc : 0;
}

int statsd_client_refresh(statsd_client *c)
{
    return lookup(c, 1);
}

int statsd_client_is_resolved(const statsd_client *c)
{
    return c != NULL && __atomic_load_n(&c->resolved, __ATOMIC_ACQUIRE);
}

int statsd_client_open(statsd_client *c)
{
    if (c == NULL)
        return -EINVAL;
    if (!statsd_client_is_resolved(c))
        return -EDESTADDRREQ;
    __atomic_store_n(&c->closed, 0, __ATOMIC_RELAXED);
    return ensure_socket(c, c->slot[__atomic_load_n(&c->cur,
                                                    __ATOMIC_ACQUIRE)]
                                .addr.ss_family);
}

void statsd_client_close(statsd_client *c)
{
    int k;

    if (c == NULL)
        return;
    /* Only close(): this runs in signal handlers. Its result is ignored on
     * purpose: Linux frees the descriptor even when close() fails, so a
     * retry could close someone else's. */
    for (k = 0; k < FD_KINDS; k++) {
        if (c->fds[k] >= 0)
            (void)close(c->fds[k]);
        c->fds[k] = -1;
    }
    __atomic_store_n(&c->closed, 1, __ATOMIC_RELAXED);
}

size_t statsd_client_max_packet(const statsd_client *c)
{
    return c != NULL ? c->max_packet : 0;
}

const statsd_target *statsd_client_target(const statsd_client *c)
{
    return c != NULL ? &c->target : NULL;
}

/* ---- sending ------------------------------------------------------------ */

static void count_add(uint64_t *counter, uint64_t n)
{
    __atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static uint64_t count_get(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* Map a send error to why its datagram was lost. A unix socket says
 * ECONNREFUSED when the path exists but nobody reads it: that is the
 * same "no receiver" as a missing path. */
static statsd_drop_reason classify(const statsd_client *c, int err)
{
    if (err == EAGAIN)
        return STATSD_DROP_WOULDBLOCK;
#if EWOULDBLOCK != EAGAIN
    if (err == EWOULDBLOCK)
        return STATSD_DROP_WOULDBLOCK;
#endif
    if (err == ENOBUFS || err == ENOMEM)
        return STATSD_DROP_NOBUFS;
    if (err == ENOENT)
        return STATSD_DROP_NOENT;
    if (err == EBADF)
        return STATSD_DROP_BADFD;
    if (err == ECONNREFUSED)
        return c->target.kind == STATSD_TARGET_UNIX ? STATSD_DROP_NOENT
                                                    : STATSD_DROP_REFUSED;
    return STATSD_DROP_OTHER;
}

/* Count a lost datagram, remember err for take_errors, return -err. */
static int fail(statsd_client *c, statsd_drop_reason why, int err,
                unsigned n_lines)
{
    statsd_client_count_drop(c, why, n_lines);
    __atomic_store_n(&c->last_errno, err, __ATOMIC_RELAXED);
    count_add(&c->error_count, 1);
    return -err;
}

int statsd_client_send(statsd_client *c, const char *buf, size_t len,
                       unsigned n_lines)
{
    const addr_slot *to;
    ssize_t n;
    int err, fd;

    if (c == NULL || (buf == NULL && len > 0))
        return -EINVAL;
    if (len == 0)
        return 0;                   /* nothing to say, nothing lost */
    if (len > c->max_packet)
        return fail(c, STATSD_DROP_TOOBIG, EMSGSIZE, n_lines);
    if (!__atomic_load_n(&c->resolved, __ATOMIC_ACQUIRE))
        return fail(c, STATSD_DROP_UNRESOLVED, EDESTADDRREQ, n_lines);
    to = &c->slot[__atomic_load_n(&c->cur, __ATOMIC_ACQUIRE)];
    fd = __atomic_load_n(&c->fds[fd_kind(to->addr.ss_family)],
                         __ATOMIC_ACQUIRE);
    if (fd < 0)   /* never opened, or closed: the latter is a bug */
        return fail(c, __atomic_load_n(&c->closed, __ATOMIC_RELAXED)
                           ? STATSD_DROP_BADFD : STATSD_DROP_UNRESOLVED,
                    EBADF, n_lines);
    errno = 0;
    n = c->send_fn(fd, buf, len, (const struct sockaddr *)&to->addr,
                   to->len, c->send_baton);
    if (n < 0) {
        err = errno != 0 ? errno : EIO;
        return fail(c, classify(c, err), err, n_lines);
    }
    if ((size_t)n != len)           /* a datagram goes whole or not at all */
        return fail(c, STATSD_DROP_OTHER, EIO, n_lines);
    count_add(&c->lines, n_lines);
    count_add(&c->datagrams, 1);
    count_add(&c->bytes, len);
    return 0;
}

/* Length of the line starting at buf[pos], without its '\n'. */
static size_t line_length(const char *buf, size_t len, size_t pos)
{
    const char *nl = memchr(buf + pos, '\n', len - pos);

    return nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;
}

/* From a non-empty line at start that fits, extend over the following
 * lines while the run still fits max. An empty line ends the run: it must
 * not reach the wire. Returns the run's end (exclusive, no '\n'). */
static size_t run_end(const char *buf, size_t len, size_t start, size_t max,
                      unsigned *n_lines)
{
    size_t end = start + line_length(buf, len, start);

    *n_lines = 1;
    /* Here buf[end] is '\n' whenever end < len. */
    while (end + 1 < len && buf[end + 1] != '\n') {
        size_t next = end + 1 + line_length(buf, len, end + 1);

        if (next - start > max)
            break;
        end = next;
        (*n_lines)++;
    }
    return end;
}

long statsd_client_send_lines(statsd_client *c, const char *buf, size_t len)
{
    long sent = 0;
    int first_err = 0;
    size_t pos = 0;

    if (c == NULL || (buf == NULL && len > 0))
        return -EINVAL;
    while (pos < len) {
        size_t line = line_length(buf, len, pos);
        size_t end;
        unsigned n;
        int rc;

        if (line == 0) {            /* empty line or trailing '\n' */
            pos++;
            continue;
        }
        if (line > c->max_packet) {
            rc = fail(c, STATSD_DROP_TOOBIG, EMSGSIZE, 1);
            end = pos + line;
        } else {
            /* Whole lines are contiguous in buf: send them in place. */
            end = run_end(buf, len, pos, c->max_packet, &n);
            rc = statsd_client_send(c, buf + pos, end - pos, n);
            if (rc == 0)
                sent += (long)(end - pos);
        }
        if (rc != 0 && first_err == 0)
            first_err = rc;
        pos = end;
    }
    return first_err != 0 ? first_err : sent;
}

/* ---- counters ----------------------------------------------------------- */

void statsd_client_stats(const statsd_client *c, statsd_stats *out)
{
    int i;

    if (out == NULL)
        return;
    memset(out, 0, sizeof(*out));
    if (c == NULL)
        return;
    out->lines = count_get(&c->lines);
    out->datagrams = count_get(&c->datagrams);
    out->bytes = count_get(&c->bytes);
    out->dropped_lines = count_get(&c->dropped_lines);
    for (i = 0; i < STATSD_DROP_REASONS; i++)
        out->drops[i] = count_get(&c->drops[i]);
}

/* The errno returned is the most recent failure ever (0 if none), so a
 * caller logging "n failures, last: ..." always has a reason to print. */
int statsd_client_take_errors(statsd_client *c, uint64_t *count)
{
    uint64_t n = 0;

    if (c != NULL)
        n = __atomic_exchange_n(&c->error_count, 0, __ATOMIC_RELAXED);
    if (count != NULL)
        *count = n;
    return c != NULL ? __atomic_load_n(&c->last_errno, __ATOMIC_RELAXED) : 0;
}

uint64_t statsd_client_errors_pending(const statsd_client *c)
{
    return c != NULL ? __atomic_load_n(&c->error_count, __ATOMIC_RELAXED) : 0;
}

void statsd_client_count_drop(statsd_client *c, statsd_drop_reason why,
                              unsigned n_lines)
{
    if (c == NULL || (unsigned)why >= STATSD_DROP_REASONS)
        return;
    count_add(&c->drops[why], 1);
    count_add(&c->dropped_lines, n_lines);
}
