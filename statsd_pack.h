/*
 * statsd_pack.h - timer values packed per key.
 *
 * Lines that go out together (one flush of an interval) are grouped by
 * key: every timer line "K:V|TYPE[REST]" (TYPE ms, h or d; REST the
 * sample rate and tags) with the same K, TYPE and REST becomes one line
 * holding all the values, in ascending order (what a receiver computes
 * from a timer's values does not depend on their order; Etsy statsd
 * sorts them at every flush, and sorted runs cost it less):
 *   etsy       K:4.5|ms:7|ms:12.3|ms   (Etsy statsd splits a line on ':')
 *   dogstatsd  K:4.5:7:12.3|ms         (DogStatsD 1.1 multi-value)
 * A packed line never exceeds the packet size: a key's values continue
 * on a new line. Other lines pass through in order, before the packed
 * ones. In etsy style a key whose REST holds tags ('#', or ':' as
 * DogStatsD tags do) is not packed: Etsy statsd takes the tags off a line
 * first (from its first "|#" to the end) and would split inside them.
 *
 * Not thread-safe: its owner serialises the calls. No allocation after
 * statsd_pack_create.
 */
#ifndef STATSD_PACK_H
#define STATSD_PACK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    STATSD_PACK_OFF = 0,
    STATSD_PACK_ETSY = 1,
    STATSD_PACK_DOGSTATSD = 2
} statsd_pack_style;

typedef struct statsd_pack statsd_pack;

/* A packer for blocks of at most max_lines lines. Returns 0 or a
 * negative errno. */
int statsd_pack_create(statsd_pack **out, size_t max_lines);
void statsd_pack_destroy(statsd_pack *p);

/* "off", "etsy", "dogstatsd": 0, or -1. */
int statsd_pack_parse(const char *s, statsd_pack_style *out);

/* Pack the '\n'-joined lines into out (which needs len + 1 bytes: packed
 * lines are never longer than the lines they replace), lines longer than
 * max_line passed as they are. Returns the bytes written; *n_out gets the
 * lines. Past max_lines lines the rest is copied as it is. */
size_t statsd_pack_lines(statsd_pack *p, statsd_pack_style style,
                         const char *lines, size_t len, size_t max_line,
                         char *out, unsigned *n_out);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_PACK_H */
