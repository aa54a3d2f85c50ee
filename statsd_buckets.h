/*
 * statsd_buckets.h - latency buckets: cumulative counters of requests that
 * took at most each of a few bounds.
 *
 * StatsdLatencyBuckets 50 100 250 gives a request of 80 ms the lines
 * P.responses.latency.le_100ms:1|c and P.responses.latency.le_250ms:1|c
 * (every bound at or above its duration); summed per flush interval they
 * become one line per bound. In tag mode the name stays
 * P.responses.latency and the bound is an `le` tag. No allocation, no
 * httpd types.
 */
#ifndef STATSD_BUCKETS_H
#define STATSD_BUCKETS_H

#include <stddef.h>
#include <stdint.h>
#include "statsd_tags.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STATSD_BUCKETS_MAX 16
#define STATSD_BUCKET_MAX_MS 3600000u        /* one hour */
#define STATSD_BUCKET_LABEL_MAX 16           /* "3600000ms" */

typedef struct {
    unsigned n;
    uint64_t le_usec[STATSD_BUCKETS_MAX];     /* ascending */
    char label[STATSD_BUCKETS_MAX][STATSD_BUCKET_LABEL_MAX];   /* "100ms" */
    size_t label_len[STATSD_BUCKETS_MAX];
} statsd_buckets;

/* Add one bound, a whole number of milliseconds from 1 to
 * STATSD_BUCKET_MAX_MS, above the bounds added so far. Returns 0, or -1
 * (not a number, out of range, not ascending, too many). */
int statsd_buckets_add(statsd_buckets *b, const char *ms);

/* The most bytes statsd_buckets_lines writes for these buckets, a prefix
 * of prefix_len bytes and static tags of tags_len bytes. */
size_t statsd_buckets_lines_max(const statsd_buckets *b, size_t prefix_len,
                                size_t tags_len);

/* The bucket lines of a request of usec microseconds, '\n'-joined, into
 * dst: "P.responses.latency.le_<bound>ms:1|c" for every bound at or
 * above usec, ascending, with the static tags (already written in format
 * f) where f puts them; with tag_mode (and a format) the name is
 * "P.responses.latency" and the bound an `le` tag after the static ones.
 * prefix must be clean (it may be empty). Returns the bytes written;
 * *n gets the lines (0: slower than every bound). */
size_t statsd_buckets_lines(char *dst, const statsd_buckets *b,
                            uint64_t usec, const char *prefix,
                            size_t prefix_len, statsd_tag_format f,
                            const char *tags, size_t tags_len, int tag_mode,
                            unsigned *n);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_BUCKETS_H */
