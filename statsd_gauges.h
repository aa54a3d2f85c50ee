/*
 * statsd_gauges.h - the worker gauge lines of one look at the scoreboard.
 *
 * "P.httpd.HOST.workers.busy:N|g" and its idle and max twins, plus
 * "P.httpd.HOST.connections.async:N|g" when the MPM keeps connections
 * without a worker. HOST keeps hosts that share a prefix apart: a gauge
 * is last-write-wins, so each host needs a name of its own.
 *
 * With a tag format the lines carry the static tags of the marker's
 * section; in tag mode HOST leaves the name and becomes a `host` tag after
 * them ("P.httpd.workers.busy:N|g|#env:prod,host:web1"), unless the
 * static tags already have a `host` key, which then stands for it.
 *
 * No httpd types, no allocation, no printing. The reload marker of a
 * prefix is made here too: it goes to the same prefixes, tagged alike.
 */
#ifndef STATSD_GAUGES_H
#define STATSD_GAUGES_H

#include <stddef.h>
#include <stdint.h>

#include "statsd_name.h"
#include "statsd_tags.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STATSD_GAUGE_HOST_MAX 255     /* longest HOST kept */
#define STATSD_GAUGE_HOST_UNKNOWN "unknown"

/* The tags of one gauge line at most: the static ones and the host tag. */
#define STATSD_GAUGE_TAGS_MAX (STATSD_TAGS_TEXT_MAX + STATSD_GAUGE_HOST_MAX \
                               + 16)

/* The lines of one prefix: four lines of at most prefix, HOST, the
 * longest fixed part, a number and the tags each. */
#define STATSD_GAUGES_CAP (4 * (STATSD_AFFIX_MAX + STATSD_GAUGE_HOST_MAX + 64 \
                                + STATSD_GAUGE_TAGS_MAX))

/* The reload marker of one prefix: "P.httpd.reloads:1|c" and the tags. */
#define STATSD_RELOAD_CAP (STATSD_AFFIX_MAX + 32 + STATSD_TAGS_TEXT_MAX)

/* How the section of a marker tags its lines. */
typedef struct {
    statsd_tag_format format;    /* STATSD_TAGS_NONE: no tags at all */
    int tag_mode;                /* HOST is a host tag (format set only) */
    const statsd_tagset *tags;   /* static tags; NULL: none */
} statsd_gauge_tags;

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

/* The same lines tagged as t says (NULL t, or format STATSD_TAGS_NONE:
 * exactly statsd_gauges_format's). cap STATSD_GAUGES_CAP always fits. */
size_t statsd_gauges_format_tagged(char *dst, size_t cap, const char *prefix,
                                   size_t prefix_len, const char *host,
                                   size_t host_len,
                                   const statsd_gauge_tags *t,
                                   const statsd_workers *w);

/* The reload marker "P.httpd.reloads:1|c" of prefix with the static tags
 * of t (no host tag: it counts configuration loads, not hosts). Returns
 * the length, or 0 if an argument is unusable or it does not fit cap;
 * cap STATSD_RELOAD_CAP always fits. */
size_t statsd_gauges_reload(char *dst, size_t cap, const char *prefix,
                            size_t prefix_len, const statsd_gauge_tags *t);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_GAUGES_H */
