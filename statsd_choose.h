/*
 * statsd_choose.h - the NAME part of a request's metric key, chosen from
 * what the request offers: the StatsdStat directive, the statsd.stat
 * note, the StatsdStatHeader response header, or else the request path;
 * then sanitised, with excluded segments left out, ids collapsed
 * (StatsdCollapseIds) and, once the name set is full, a new name replaced
 * by "_other" (StatsdMaxNames).
 *
 * No httpd types, no allocation, no printing: the module, the fuzz target
 * and the microbenchmark all call this one function.
 */
#ifndef STATSD_CHOOSE_H
#define STATSD_CHOOSE_H

#include <stddef.h>

#include "statsd_name.h"
#include "statsd_nameset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What one request offers, looked at in this order. */
typedef struct {
    /* StatsdStat, already clean: used as it is, never collapsed or
     * limited (the administrator chose it). stat_len 0: none. */
    const char *stat;
    size_t stat_len;
    /* The statsd.stat note, then the header (looked at only without a
     * note), NUL-terminated; NULL: none. One that cleans to nothing
     * leaves the path to name the request. */
    const char *note;
    const char *header;
    /* The request target as the client sent it; uri[uri_len] == '\0'. */
    const char *uri;
    size_t uri_len;
    /* StatsdExclude: NULL, or a test of each decoded path segment. */
    statsd_exclude_fn exclude;
    void *exclude_baton;
    /* With exclude: StatsdMaxNameLength, past which the path is not
     * looked at (statsd_name_from_path's max). */
    size_t max_len;
    int collapse;              /* StatsdCollapseIds On */
    statsd_nameset *names;     /* StatsdMaxNames; NULL: no limit */
    unsigned group;            /* the request's part of names (its prefix) */
} statsd_choose_offer;

/* Where a cleaned note or header and a collapsed name are written. Only
 * used with a note or a header or collapse on, and no StatsdStat: may be
 * NULL otherwise. */
typedef struct {
    char clean[STATSD_NAME_MAX];
    char collapsed[STATSD_NAME_MAX];
} statsd_choose_scratch;

/* The request's NAME: never empty, clean, pointing into o->stat, into s,
 * into path (where the name from the target is built: path_cap must be at
 * least STATSD_PATH_SCRATCH(o->uri_len)), or at statsd_choose_other
 * when the name set is full (so the caller can tell by the pointer).
 * Its length goes to *len. */
/* "_other", as statsd_choose_name returns it for a name past the limit. */
extern const char statsd_choose_other[];

const char *statsd_choose_name(const statsd_choose_offer *o,
                               statsd_choose_scratch *s, char *path,
                               size_t path_cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_CHOOSE_H */
