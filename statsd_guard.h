/*
 * statsd_guard.h - StatsdCollapseIds: path segments that look like ids
 * (numbers, UUIDs, hex, tokens) become "_id_", so a URL full of ids does
 * not create a metric name per id.
 *
 * Pure functions: no httpd types, no allocation, no printing.
 */
#ifndef STATSD_GUARD_H
#define STATSD_GUARD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STATSD_ID_NAME "_id_"

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

#ifdef __cplusplus
}
#endif
#endif /* STATSD_GUARD_H */
