/*
 * statsd_nameset.h - a bounded set of metric names (StatsdMaxNames): once
 * it holds its limit, a name not in it is sent as "_other", so a scanner
 * or a URL full of ids cannot create an unbounded number of names.
 *
 * The names are split into groups (the module uses one group per
 * StatsdPrefix): each group may hold at most its fair share of the limit,
 * so one prefix's scanner cannot take every other prefix's names.
 *
 * The set lives in memory the caller provides (statsd_nameset_size, then
 * statsd_nameset_init), so a whole server's processes can share one in
 * shared memory; statsd_nameset_create is the same in malloc'd memory.
 *
 * No httpd types, no printing; lock-free: admits may run in many threads
 * and processes at once.
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
#define STATSD_NAMESET_MAX_GROUPS 65536

typedef struct statsd_nameset statsd_nameset;

/* Bytes a set of max_names names (1..LIMIT) in groups groups
 * (1..MAX_GROUPS) needs; 0 if an argument is out of range. */
size_t statsd_nameset_size(size_t max_names, unsigned groups);

/* Make an empty set in mem (size bytes, at least statsd_nameset_size,
 * aligned to 8). The memory must stay valid while the set is used; the
 * set needs no destroy. NULL if the arguments are invalid. */
statsd_nameset *statsd_nameset_init(void *mem, size_t size, size_t max_names,
                                    unsigned groups);

/* The same in memory of its own, one group (statsd_nameset_destroy). */
int statsd_nameset_create(statsd_nameset **out, size_t max_names);
void statsd_nameset_destroy(statsd_nameset *s);

/* Names one group may hold: ceil(max_names / groups). */
size_t statsd_nameset_group_cap(const statsd_nameset *s);

/* 1 if the name is in group's part of the set or was added now; 0 if the
 * set or the group is full and the name is new (the caller then uses
 * "_other"). Names are kept as 64-bit hashes of (group, name): two names
 * that collide count as one. Under a race the set may exceed its limits
 * by at most one per concurrent caller. group >= groups: 0. */
int statsd_nameset_admit_group(statsd_nameset *s, unsigned group,
                               const char *name, size_t len);

/* statsd_nameset_admit_group in group 0. */
int statsd_nameset_admit(statsd_nameset *s, const char *name, size_t len);

/* Distinct names admitted so far, in all groups or in one. */
size_t statsd_nameset_count(const statsd_nameset *s);
size_t statsd_nameset_group_count(const statsd_nameset *s, unsigned group);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_NAMESET_H */
