/*
 * statsd_resolver.h - destination names looked up in threads of their own,
 * so that nothing else (start-up, a flush, a request) waits on a resolver.
 *
 * C99 + POSIX threads. No httpd or APR types, no printing.
 *
 * A resolver serves one process's clients. Each client whose target names
 * a host gets a thread that looks the name up when due: at once while the
 * client has no address, then after a failure 2 s later, doubling up to
 * 60 s, and once a minute after a success (so a DNS change is followed).
 * The thread installs answers in its client (statsd_client_set_address);
 * unix targets and IP literals are never looked up. The owner reads what
 * happened with statsd_resolver_result() and statsd_resolver_take_event(),
 * which only take a short lock the threads never hold across a lookup.
 *
 * Every function returning int returns 0 on success or a negative errno.
 */
#ifndef STATSD_RESOLVER_H
#define STATSD_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "statsd_client.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STATSD_RESOLVE_RETRY_MS 2000       /* after a first failure */
#define STATSD_RESOLVE_MAX_RETRY_MS 60000  /* the doubling stops here */
#define STATSD_RESOLVE_REFRESH_MS 60000    /* after a success */

typedef enum {
    STATSD_RESOLVE_NONE = 0,   /* nothing new */
    STATSD_RESOLVE_FIRST,      /* a client without an address has one now */
    STATSD_RESOLVE_MOVED       /* a client's name has a new address */
} statsd_resolve_event;

/* Milliseconds on a clock that never goes back. */
typedef uint64_t (*statsd_clock_fn)(void *baton);

typedef struct statsd_resolver statsd_resolver;

/* How long after a lookup the next one of the same name is due, when the
 * last `failures` lookups in a row failed (0: the last one succeeded). */
unsigned statsd_resolver_delay_ms(unsigned failures);

/* A resolver for clients[0..n-1] (which must outlive it, or its stop).
 * Each client's resolve seam, as set now, is the one its lookups use.
 * A client without an address is due at once, one with an address a
 * refresh interval from now. clock NULL: CLOCK_MONOTONIC. Starts nothing. */
int statsd_resolver_create(statsd_resolver **out,
                           statsd_client *const *clients, size_t n,
                           statsd_clock_fn clock, void *clock_baton);

/* Start one detached thread per client that needs lookups (all signals
 * blocked in it). On failure, threads already started keep running. */
int statsd_resolver_start(statsd_resolver *r);

/* Without threads (tests, single-threaded use): do every lookup that is
 * due now, here, and return when the next one is due (UINT64_MAX: none).
 * Never together with statsd_resolver_start. */
uint64_t statsd_resolver_run_due(statsd_resolver *r);

/* Wait at most timeout_ms for every name to have had its first answer;
 * returns how many still have none. */
size_t statsd_resolver_wait(statsd_resolver *r, unsigned timeout_ms);

/* Client i's state: 0 (it has an address, or the last lookup succeeded),
 * -EINPROGRESS (no answer yet) or the last failed lookup's negative errno
 * (-ENOENT: no such name). */
int statsd_resolver_result(statsd_resolver *r, size_t i);

/* What happened to client i since the last call (then cleared). */
statsd_resolve_event statsd_resolver_take_event(statsd_resolver *r, size_t i);

/* From now on no thread touches any client (an install under way is
 * waited for: it never blocks); a thread in a lookup ends once the lookup
 * returns. Only atomics and write(2): safe in a signal handler. r stays
 * usable by its owner. */
void statsd_resolver_stop(statsd_resolver *r);

/* Stop, and let go of r: freed now, or by the last thread still in a
 * lookup when that returns. Never waits for a lookup. */
void statsd_resolver_destroy(statsd_resolver *r);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_RESOLVER_H */
