/*
 * statsd_guard.h - the cardinality guard (SPEC §3): keeps a scanner or a
 * URL full of ids from creating an unbounded number of metric names.
 *
 * No httpd types, no printing. statsd_guard_collapse is a pure function;
 * a statsd_name_set is shared by the threads of one process, lock-free.
 */
#ifndef STATSD_GUARD_H
#define STATSD_GUARD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STATSD_ID_NAME "_id_"
#define STATSD_OTHER_NAME "_other"
#define STATSD_DEFAULT_MAX_NAMES 10000
#define STATSD_MAX_NAMES_LIMIT 1000000

/* Is one clean segment an id: decimal digits, a UUID, 8+ hex digits with
 * at least one digit, or a base64-like token of 16+ characters (letters
 * and digits, mixed case or without '-'/'_' separators)? */
int statsd_guard_is_id(const char *seg, size_t len);

/* Copy the clean dotted name src into dst (at most cap bytes; dst and src
 * must not overlap) with every id segment replaced by "_id_". An id
 * shorter than 4 bytes ("7") grows, so the result may be longer than src;
 * it is cut at a segment boundary to fit cap. Returns its length. */
size_t statsd_guard_collapse(char *dst, size_t cap, const char *src,
                             size_t len);

typedef struct statsd_name_set statsd_name_set;

/* A set admitting at most max_names distinct names (1..LIMIT). */
int statsd_name_set_create(statsd_name_set **out, size_t max_names);
void statsd_name_set_destroy(statsd_name_set *s);

/* 1 if the name is in the set or was added now; 0 if the set is full and
 * the name is new (the caller then uses "_other"). Names are kept as
 * 64-bit hashes: two names that collide count as one. Thread-safe; under
 * a race the set may exceed max_names by at most one per thread. */
int statsd_name_set_admit(statsd_name_set *s, const char *name, size_t len);

/* Distinct names admitted so far. */
size_t statsd_name_set_count(const statsd_name_set *s);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_GUARD_H */
