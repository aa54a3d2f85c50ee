/*
 * statsd_target.h - a statsd destination as the configuration writes it
 * (udp://host:port, udp://[v6]:port, unix:/path, or a host and a port),
 * before any name is resolved.
 *
 * C99, no httpd or APR types, no allocation, no printing. Every function
 * returning int returns 0 on success or -EINVAL/-ENOSPC.
 */
#ifndef STATSD_TARGET_H
#define STATSD_TARGET_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STATSD_DEFAULT_HOST "localhost"
#define STATSD_DEFAULT_PORT 8125
#define STATSD_HOST_MAX 255
#define STATSD_PATH_MAX 107   /* sun_path less its NUL */

typedef enum {
    STATSD_TARGET_UDP = 0,
    STATSD_TARGET_UNIX = 1
} statsd_target_kind;

/* A destination as written in the configuration, before resolution. */
typedef struct {
    statsd_target_kind kind;
    char host[STATSD_HOST_MAX + 1];   /* UDP: name or literal, no brackets */
    unsigned port;                    /* UDP: 1..65535 */
    char path[STATSD_PATH_MAX + 1];   /* UNIX: socket path */
} statsd_target;

/* Fill *t from a host (NULL or "" = localhost) and a port (0 = 8125).
 * A host written "[::1]" loses its brackets. -EINVAL for a bad host. */
int statsd_target_from_host_port(statsd_target *t, const char *host,
                                 unsigned port);

/* Fill *t from "udp://host:port", "udp://[v6]:port", "udp://host" (port
 * 8125) or "unix:/absolute/path". -EINVAL for anything else. */
int statsd_target_parse(statsd_target *t, const char *spec);

/* Parse a decimal port 1..65535; -EINVAL otherwise. */
int statsd_target_parse_port(const char *s, unsigned *port);

/* Write "udp://host:port" / "udp://[v6]:port" / "unix:/path" into buf.
 * Returns the length, or -ENOSPC if it does not fit. */
int statsd_target_format(const statsd_target *t, char *buf, size_t cap);

/* Same destination? */
int statsd_target_equal(const statsd_target *a, const statsd_target *b);

/* Is a target built by hand (not by the parsers) still one the parsers
 * would accept? 1 or 0. */
int statsd_target_valid(const statsd_target *t);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_TARGET_H */
