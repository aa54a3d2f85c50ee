/*
 * statsd_gauges.h - the worker gauge lines of one look at the scoreboard.
 *
 * "P.httpd.HOST.workers.busy:N|g" and its idle and max twins, plus
 * "P.httpd.HOST.connections.async:N|g" when the MPM keeps connections
 * without a worker. HOST keeps hosts that share a prefix apart: a gauge
 * is last-write-wins, so each host needs a name of its own.
 *
 * No httpd types, no allocation, no printing.
 */
#ifndef STATSD_GAUGES_H
#define STATSD_GAUGES_H

#include <stddef.h>
#include <stdint.h>

#include "statsd_name.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STATSD_GAUGE_HOST_MAX 255     /* longest HOST kept */
#define STATSD_GAUGE_HOST_UNKNOWN "unknown"

/* The lines of one prefix: four lines of at most prefix, HOST, the
 * longest fixed part and a number each. */
#define STATSD_GAUGES_CAP (4 * (STATSD_AFFIX_MAX + STATSD_GAUGE_HOST_MAX + 64))

/* What one look at the scoreboard counted. */
typedef struct {
    uint64_t busy;        /* workers serving a connection */
    uint64_t idle;        /* workers waiting for one */
    uint64_t max;         /* MaxRequestWorkers */
    int has_async;        /* the MPM counts the connections below */
    uint64_t async;       /* keep-alive, write completion, lingering close */
} statsd_workers;

/* HOST from the machine's full name: the part before the first '.',
 * cleaned to [A-Za-z0-9_-] and cut to STATSD_GAUGE_HOST_MAX bytes;
 * "unknown" when nothing is left. dst needs STATSD_GAUGE_HOST_MAX + 1
 * bytes; it is NUL-terminated. Returns the length. */
size_t statsd_gauges_host(char *dst, const char *fqdn);

/* The '\n'-joined gauge lines (no trailing '\n') of *w under prefix (clean,
 * at most STATSD_AFFIX_MAX bytes; empty: none) and host (from
 * statsd_gauges_host). Returns the length written, or 0 if an argument
 * is unusable or the lines do not fit cap. */
size_t statsd_gauges_format(char *dst, size_t cap, const char *prefix,
                            size_t prefix_len, const char *host,
                            size_t host_len, const statsd_workers *w);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_GAUGES_H */
