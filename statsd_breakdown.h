/*
 * statsd_breakdown.h - the lines that say where a request's time and
 * bytes went: time to first byte, bytes sent, client aborts.
 *
 * They follow the service lines: "P.responses.ttfb:<duration>|ms",
 * "P.responses.bytes:N|c", "P.responses.aborted:1|c", and for a request
 * mod_proxy handled "P.backend.<name>.time|good|bad|4xx|5xx|errors", each
 * with the static tags of the section when there is a tag format. No
 * httpd types, no allocation.
 */
#ifndef STATSD_BREAKDOWN_H
#define STATSD_BREAKDOWN_H

#include <stddef.h>
#include <stdint.h>
#include "statsd_lines.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the glue saw of one request; a zero field sends no line. */
typedef struct {
    int ttfb;              /* 1: a first byte was handed on */
    uint64_t ttfb_usec;    /* from the start of the request */
    int bytes;             /* 1: the bytes were counted */
    uint64_t bytes_sent;
    int aborted;           /* 1: the connection was aborted */
} statsd_breakdown;

/* The longest a line can be: name, value, type, tags. */
#define STATSD_BREAKDOWN_LINE_MAX (STATSD_AFFIX_MAX + 24 + STATSD_NUM_MAX \
                                   + 4 + STATSD_TAGS_TEXT_MAX)
/* A backend's name in metric names: at most this many bytes. */
#define STATSD_BACKEND_NAME_MAX 64
/* The longest backend line: "P.backend.<name>.errors", the value, the
 * type, the tags with ",backend:<name>". */
#define STATSD_BACKEND_LINE_MAX (STATSD_AFFIX_MAX + 9 \
                                 + 2 * STATSD_BACKEND_NAME_MAX + 24 \
                                 + STATSD_NUM_MAX + 4 + STATSD_TAGS_TEXT_MAX)
/* Room for all three, each after its '\n', and the lines of a backend,
 * its balancer and two members that failed: what the glue adds after a
 * request's lines (at most STATSD_LINES_CAP) in their buffer. */
#define STATSD_BREAKDOWN_MAX (3 * (STATSD_BREAKDOWN_LINE_MAX + 1) \
                              + 10 * (STATSD_BACKEND_LINE_MAX + 1))

/* The lines of *b, each preceded by '\n' (they follow other lines), into
 * dst, which needs STATSD_BREAKDOWN_MAX bytes. prefix is clean, at most
 * STATSD_AFFIX_MAX bytes (longer is cut); the duration is written in unit
 * with the timer type; tags (tags_len <= STATSD_TAGS_TEXT_MAX, longer is
 * left out) are in format f (STATSD_TAGS_NONE: no tags). *n_lines gets the
 * number of lines. Returns the length. */
size_t statsd_breakdown_lines(char *dst, const char *prefix,
                              size_t prefix_len,
                              const statsd_breakdown *b,
                              statsd_time_unit unit,
                              statsd_timer_type timer,
                              statsd_tag_format f, const char *tags,
                              size_t tags_len, unsigned *n_lines);

/* A backend's name from a worker name, a balancer name or a URL: up to
 * the path ("http://127.0.0.1:8080/app" -> "http://127.0.0.1:8080"),
 * every byte outside [A-Za-z0-9_-] made '_' ("http___127_0_0_1_8080"),
 * cut to STATSD_BACKEND_NAME_MAX bytes. dst needs that many. Returns the
 * length (0 for an empty name). */
size_t statsd_breakdown_backend_name(char *dst, const char *src,
                                     size_t len);

/* What mod_proxy made of a request for one backend. */
typedef struct {
    const char *name; size_t name_len;  /* clean, <= STATSD_BACKEND_NAME_MAX */
    int answered;          /* 1: the backend answered (status is its) */
    int status;
    uint64_t usec;         /* time in the proxy handler */
} statsd_backend_result;

/* The lines of one backend, each preceded by '\n', into dst (which needs
 * 4 * (STATSD_BACKEND_LINE_MAX + 1) bytes): answered, "P.backend.N.time"
 * and "P.backend.N.good" (status below 400) or "bad" and "4xx"/"5xx";
 * not answered, "P.backend.N.errors:1|c". In tag mode (tag_mode and a
 * format) the names are "P.backend.time" and so on, and the tags end with
 * backend:N. Arguments otherwise as statsd_breakdown_lines. Returns the
 * length; *n_lines gets the number of lines. */
size_t statsd_breakdown_backend_lines(char *dst, const char *prefix,
                                      size_t prefix_len,
                                      const statsd_backend_result *b,
                                      statsd_time_unit unit,
                                      statsd_timer_type timer,
                                      statsd_tag_format f, const char *tags,
                                      size_t tags_len, int tag_mode,
                                      unsigned *n_lines);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_BREAKDOWN_H */
