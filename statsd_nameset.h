/*
 * statsd_nameset.h - a bounded set of metric names (StatsdMaxNames): once
 * it holds its limit, a name not in it is sent as "_other", so a scanner
 * or a URL full of ids cannot create an unbounded number of names.
 *
 * No httpd types, no printing; shared by the threads of one process,
 * lock-free.
 */
#ifndef STATSD_NAMESET_H
#define STATSD_NAMESET_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STATSD_OTHER_NAME "_other"
#define STATSD_DEFAULT_MAX_NAMES 10000
#define STATSD_MAX_NAMES_LIMIT 1000000

typedef struct statsd_nameset statsd_nameset;

/* A set admitting at most max_names distinct names (1..LIMIT). */
int statsd_nameset_create(statsd_nameset **out, size_t max_names);
void statsd_nameset_destroy(statsd_nameset *s);

/* 1 if the name is in the set or was added now; 0 if the set is full and
 * the name is new (the caller then uses "_other"). Names are kept as
 * 64-bit hashes: two names that collide count as one. Thread-safe; under
 * a race the set may exceed max_names by at most one per thread. */
int statsd_nameset_admit(statsd_nameset *s, const char *name, size_t len);

/* Distinct names admitted so far. */
size_t statsd_nameset_count(const statsd_nameset *s);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_NAMESET_H */
