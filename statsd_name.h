/*
 * statsd_name.h - metric names from request parts.
 *
 * Pure functions over byte strings: no httpd types, no allocation, no
 * printing. Every name they produce matches ^[A-Za-z0-9_.-]*$, has no
 * empty segment and no dot at either end.
 */
#ifndef STATSD_NAME_H
#define STATSD_NAME_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STATSD_NAME_DEFAULT_MAX 250
#define STATSD_NAME_MIN 32
#define STATSD_NAME_MAX 1024      /* largest StatsdMaxNameLength */
#define STATSD_AFFIX_MAX 200      /* longest prefix or suffix */
#define STATSD_METHOD_MAX 32      /* longest method part kept */
#define STATSD_ROOT_NAME "ROOT"
#define STATSD_OTHER_VERBS "OtherVerbs"

/* The bytes a name segment carries as they are, [A-Za-z0-9_-], as the
 * initializer of a table indexed by byte (1: kept). */
#define STATSD_SEGMENT_BYTES \
    ['-'] = 1, ['_'] = 1, \
    ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1

/* Copy one path segment, turning every byte outside [A-Za-z0-9_-] into
 * '_'. Writes exactly len bytes; returns len. */
size_t statsd_name_segment(char *dst, const char *src, size_t len);

/* Clean a dotted name (directive, note, header, prefix, suffix): '.' is a
 * separator, other bytes outside [A-Za-z0-9_-] become '_', empty segments
 * and dots at the ends vanish. Writes at most cap bytes (cutting at a
 * segment boundary when possible, never leaving a dot at the end);
 * returns the length written (0: nothing usable). dst may equal src. */
size_t statsd_name_clean(char *dst, size_t cap, const char *src, size_t len);

/* Decides whether a decoded path segment is excluded (StatsdExclude).
 * Return non-zero to drop the segment. */
typedef int (*statsd_exclude_fn)(const char *seg, size_t len, void *baton);

/* The bytes needed in dst by statsd_name_from_path for a uri of len bytes. */
#define STATSD_PATH_SCRATCH(len) ((len) + 2 < 5 ? 5 : (len) + 2)

/* A scratch a caller may keep on its stack: enough for most request
 * targets; longer ones need STATSD_PATH_SCRATCH(len) from elsewhere. */
#define STATSD_PATH_SMALL 256

/* The most path segments statsd_name_from_path hands to an exclude test. */
#define STATSD_PATH_MAX_SEGMENTS 64

/* Derive NAME from a request URI as the client sent it (path, then
 * optional "?query"; absolute-form "scheme://host/path" accepted; "*" is
 * ROOT). Splits on raw '/', percent-decodes each segment, drops empty and
 * "." segments, lets ".." remove the previous one, drops excluded
 * segments, sanitises each and joins them with '.'. Nothing left: "ROOT".
 * uri[len] must be '\0', as in a C string (NULs before it are bytes of
 * the path): the scan of plain bytes stops on it instead of checking the
 * end at every byte. cap must be at least STATSD_PATH_SCRATCH(len) (and
 * >= 5).
 * With an exclude test, its work is bounded whatever the path: the scan
 * ends at the segment that would be the (STATSD_PATH_MAX_SEGMENTS + 1)th
 * to be tested (empty, "." and ".." segments are not tested), or at a
 * segment to be tested once the name built so far (an excluded segment
 * counting as an empty one) is max bytes or longer; the rest of the path
 * is not part of the name. Without one, max is not used and the full
 * name is built. Either way it is not cut to max here (statsd_name_key
 * does that). Returns the length written. */
size_t statsd_name_from_path(char *dst, size_t cap, const char *uri,
                             size_t len, size_t max,
                             statsd_exclude_fn exclude, void *baton);

/* The parts of a stat key P.NAME.METHOD.STATUS.S. prefix, name and suffix
 * must already be clean (statsd_name_clean / statsd_name_from_path); the
 * method is sanitised here; empty parts are left out. */
typedef struct {
    const char *prefix; size_t prefix_len;
    const char *name;   size_t name_len;
    const char *method; size_t method_len;
    int method_clean;                /* known [A-Za-z0-9_-] only: copy */
    int status;                      /* < 0: no status part */
    const char *suffix; size_t suffix_len;
    size_t max_len;                  /* cap on the whole key */
} statsd_key_parts;

/* Build the key into dst (cap >= max_len + 1 and cap > 0; NUL-terminated).
 * When the key would exceed max_len, NAME is cut (at a segment boundary
 * where possible); METHOD and STATUS are never cut. Returns its length. */
size_t statsd_name_key(char *dst, size_t cap, const statsd_key_parts *p);

/* Replace every "{hostname}" in src by host (already clean), writing a
 * NUL-terminated result into dst. Returns the length, or (size_t)-1 if it
 * does not fit cap. */
size_t statsd_name_expand(char *dst, size_t cap, const char *src,
                          const char *host);

/* The short host name (up to the first '.') of a full host name, cleaned
 * into dst (cap bytes, NUL-terminated). Returns the length. */
size_t statsd_name_short_host(char *dst, size_t cap, const char *fqdn);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_NAME_H */
