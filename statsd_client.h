/*
 * statsd_client.h - a small, portable statsd client.
 *
 * C99 + POSIX sockets. No httpd or APR types, no printing, no global state.
 * One client = one destination (UDP over IPv4/IPv6, or a unix datagram
 * socket) with its own non-blocking, unconnected socket.
 *
 * Life cycle: statsd_client_create() takes the target (a unix path or an IP
 * literal has its address from then on); statsd_client_resolve() turns a
 * host name into an address (blocking: never per request; statsd_resolver
 * does it in a thread of its own);
 * statsd_client_open() makes the socket (per process, e.g. in a child);
 * statsd_client_send*() never block; statsd_client_destroy() frees all.
 *
 * Every function returning int returns 0 on success or a negative errno
 * value (-EINVAL, -ENOMEM, -EAGAIN, ...).
 *
 * Thread safety: sends and counters may be used from many threads at once;
 * create/resolve/open/close/destroy must not race with anything else.
 */
#ifndef STATSD_CLIENT_H
#define STATSD_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#include "statsd_target.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STATSD_DEFAULT_MAX_PACKET 1432
#define STATSD_MIN_PACKET 512
#define STATSD_MAX_PACKET 65000

/* Why a datagram (and its lines) were dropped. */
typedef enum {
    STATSD_DROP_WOULDBLOCK = 0, /* EAGAIN/EWOULDBLOCK: socket buffer full */
    STATSD_DROP_REFUSED,        /* ECONNREFUSED: nothing listening */
    STATSD_DROP_NOBUFS,         /* ENOBUFS/ENOMEM in the kernel */
    STATSD_DROP_NOENT,          /* ENOENT/ECONNREFUSED on a unix path */
    STATSD_DROP_UNRESOLVED,     /* no address (yet) or no socket */
    STATSD_DROP_TOOBIG,         /* one line longer than the packet size */
    STATSD_DROP_OTHER,          /* any other send error */
    STATSD_DROP_BADFD,          /* EBADF, or a send after statsd_client_close:
                                 * never expected, a bug if counted */
    STATSD_DROP_REASONS
} statsd_drop_reason;

/* Name of a drop reason, e.g. "refused"; never NULL. */
const char *statsd_client_drop_reason_name(statsd_drop_reason why);

typedef struct {
    uint64_t lines;                        /* lines sent */
    uint64_t datagrams;                    /* datagrams sent */
    uint64_t bytes;                        /* payload bytes sent */
    uint64_t dropped_lines;                /* lines dropped, any reason */
    uint64_t drops[STATSD_DROP_REASONS];   /* datagrams dropped, by reason */
} statsd_stats;

typedef struct statsd_client statsd_client;

/* The seams for tests: how a datagram leaves, and how a name resolves.
 * send_fn returns bytes sent or -1 with errno set, like sendto(2).
 * resolve_fn fills *addr and *len with one address (IPv4 preferred) for
 * host/port and returns 0, or a negative errno (-ENOENT: no such name). */
typedef ssize_t (*statsd_send_fn)(int fd, const void *buf, size_t len,
                                  const struct sockaddr *to, socklen_t tolen,
                                  void *baton);
typedef int (*statsd_resolve_fn)(const char *host, unsigned port,
                                 struct sockaddr_storage *addr,
                                 socklen_t *len, void *baton);

/* Create a client for target t; max_packet in [STATSD_MIN_PACKET,
 * STATSD_MAX_PACKET]. Neither resolves nor opens anything. */
int statsd_client_create(statsd_client **out, const statsd_target *t,
                         size_t max_packet);
void statsd_client_destroy(statsd_client *c);

void statsd_client_set_send_fn(statsd_client *c, statsd_send_fn fn,
                               void *baton);
void statsd_client_set_resolve_fn(statsd_client *c, statsd_resolve_fn fn,
                                  void *baton);

/* Resolve the target's host (blocking: start-up or a background task
 * only). A unix target or an IP literal needs no resolution and returns 0. On failure the
 * client keeps its previous address, if any. Prefers IPv4. */
int statsd_client_resolve(statsd_client *c);
/* Has the client an address to send to? */
int statsd_client_is_resolved(const statsd_client *c);

/* The address sends go to now, as text: "192.0.2.1:8125", "[2001:db8::1]:8125"
 * or a unix socket's path. For a named host it is what the last successful
 * lookup gave (sends may run meanwhile: the text is of one whole address).
 * Returns 0, -EINPROGRESS (no address yet), -ENOSPC (buf too small: size
 * STATSD_ADDRESS_TEXT_MAX always fits) or -EINVAL. */
#define STATSD_ADDRESS_TEXT_MAX 128
int statsd_client_address_text(const statsd_client *c, char *buf,
                               size_t size);

/* Does the target name a host to look up (not a unix path, not an IP
 * literal)? 1 or 0. */
int statsd_client_needs_lookup(const statsd_client *c);

/* The resolve seam in use (the getaddrinfo one unless set), for a lookup
 * done elsewhere than in statsd_client_resolve/refresh. */
void statsd_client_get_resolve_fn(const statsd_client *c,
                                  statsd_resolve_fn *fn, void **baton);

/* Install the answer of such a lookup (the host's address for the
 * target's port), under the rules of statsd_client_refresh: one writer at
 * a time, sends may run meanwhile. With open_socket, a socket of the
 * address's family is opened first if there is none. Returns 1 if the
 * address changed, 0 if it did not (or the target needs no lookup), or a
 * negative errno (-EAFNOSUPPORT: no IP address; the old address stays). */
int statsd_client_set_address(statsd_client *c,
                              const struct sockaddr_storage *addr,
                              socklen_t len, int open_socket);

/* Resolve again while other threads may be sending (one refresher at a
 * time; blocking, so never on a request path). A socket for a new address
 * family is opened first; no socket is closed. Returns 1 if the address
 * changed, 0 if it did not, or a negative errno (the old address stays). */
int statsd_client_refresh(statsd_client *c);

/* Open the non-blocking, close-on-exec, unconnected datagram socket of the
 * resolved address family. Idempotent. */
int statsd_client_open(statsd_client *c);
/* Close the sockets (the client can be opened again). Safe to call from a
 * signal handler; must not race with sends. */
void statsd_client_close(statsd_client *c);

size_t statsd_client_max_packet(const statsd_client *c);
const statsd_target *statsd_client_target(const statsd_client *c);

/* Send one datagram holding n_lines lines; len <= max packet. On failure
 * the datagram is dropped, counted, and a negative errno returned. */
int statsd_client_send(statsd_client *c, const char *buf, size_t len,
                       unsigned n_lines);

/* Send a block of lines joined by '\n' (no trailing '\n' needed) in as few
 * datagrams as fit the max packet, splitting only between lines. A single
 * line longer than the packet is dropped and counted. Returns the number
 * of bytes sent (>= 0) when every datagram went out, else the negative
 * errno of the first failure (other datagrams are still tried). */
long statsd_client_send_lines(statsd_client *c, const char *buf, size_t len);

/* Counters since creation (atomically read, each on its own). */
void statsd_client_stats(const statsd_client *c, statsd_stats *out);

/* errno of the most recent failed send (0 if none) and how many failures
 * happened since the last call; for rate-limited logging by the caller. */
int statsd_client_take_errors(statsd_client *c, uint64_t *count);

/* Failures since the last statsd_client_take_errors (a cheap atomic load,
 * for deciding on the request path whether there is anything to log). */
uint64_t statsd_client_errors_pending(const statsd_client *c);

/* Count lines dropped before reaching the client (e.g. by a full buffer). */
void statsd_client_count_drop(statsd_client *c, statsd_drop_reason why,
                              unsigned n_lines);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_CLIENT_H */
