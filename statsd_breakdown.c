/*
 * statsd_breakdown.c - the time-to-first-byte, bytes-sent and aborted
 * lines. Written only for requests whose section asks for them, so the
 * names are put together here rather than kept per prefix.
 */
#include <string.h>

#include "statsd_breakdown.h"
#include "statsd_bytes.h"

/* '\n', "P.responses.what", tags after the name (influx, graphite), ':',
 * value, type, tags at the end (dogstatsd). Returns the end. */
static char *line(char *p, const char *prefix, size_t prefix_len,
                  const char *what, size_t what_len, const char *value,
                  size_t value_len, const char *type, size_t type_len,
                  statsd_tag_format f, const char *tags, size_t tags_len)
{
    int at_end = statsd_tags_at_end(f);

    *p++ = '\n';
    if (prefix_len) {
        p = statsd_put(p, prefix, prefix_len);
        *p++ = '.';
    }
    p = statsd_put(p, "responses.", 10);
    p = statsd_put(p, what, what_len);
    if (!at_end)
        p = statsd_put(p, tags, tags_len);
    *p++ = ':';
    p = statsd_put(p, value, value_len);
    p = statsd_put(p, type, type_len);
    if (at_end)
        p = statsd_put(p, tags, tags_len);
    return p;
}

size_t statsd_breakdown_lines(char *dst, const char *prefix,
                              size_t prefix_len,
                              const statsd_breakdown *b,
                              statsd_time_unit unit,
                              statsd_timer_type timer,
                              statsd_tag_format f, const char *tags,
                              size_t tags_len, unsigned *n_lines)
{
    static const char *const type[] = {"|ms", "|h", "|d"};
    char num[STATSD_NUM_MAX];
    size_t num_len;
    unsigned n = 0;
    char *p = dst;

    if (prefix_len > STATSD_AFFIX_MAX)
        prefix_len = STATSD_AFFIX_MAX;
    if (f == STATSD_TAGS_NONE || (unsigned)f >= STATSD_TAG_FORMATS
        || tags_len > STATSD_TAGS_TEXT_MAX) {
        f = STATSD_TAGS_NONE;
        tags = "";
        tags_len = 0;
    }
    if ((unsigned)timer > STATSD_TIMER_D)
        timer = STATSD_TIMER_MS;
    if (b->ttfb) {
        num_len = statsd_lines_format_duration(num, b->ttfb_usec, unit);
        p = line(p, prefix, prefix_len, "ttfb", 4, num, num_len,
                 type[timer], strlen(type[timer]), f, tags, tags_len);
        n++;
    }
    if (b->bytes) {
        num_len = statsd_lines_format_uint(num, b->bytes_sent);
        p = line(p, prefix, prefix_len, "bytes", 5, num, num_len, "|c", 2,
                 f, tags, tags_len);
        n++;
    }
    if (b->aborted) {
        p = line(p, prefix, prefix_len, "aborted", 7, "1", 1, "|c", 2,
                 f, tags, tags_len);
        n++;
    }
    *n_lines = n;
    return (size_t)(p - dst);
}

/* ---- backends ----------------------------------------------------------- */

size_t statsd_breakdown_backend_name(char *dst, const char *src, size_t len)
{
    const char *scheme = NULL;
    size_t i, n;

    /* "scheme://host:port/path": drop the path */
    for (i = 0; i + 2 < len; i++)
        if (src[i] == ':' && src[i + 1] == '/' && src[i + 2] == '/') {
            scheme = src + i + 3;
            break;
        }
    if (scheme) {
        const char *slash = memchr(scheme, '/', len - (size_t)(scheme - src));
        if (slash)
            len = (size_t)(slash - src);
    }
    n = len < STATSD_BACKEND_NAME_MAX ? len : STATSD_BACKEND_NAME_MAX;
    for (i = 0; i < n; i++) {
        char c = src[i];
        dst[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                  || (c >= '0' && c <= '9') || c == '_' || c == '-')
                 ? c : '_';
    }
    return n;
}

/* '\n', "P.backend.", in classic names "N." then what; in tag mode what
 * alone; then as line(). */
static char *backend_line(char *p, const char *prefix, size_t prefix_len,
                          const statsd_backend_result *b, int tag_mode,
                          const char *what, size_t what_len,
                          const char *value, size_t value_len,
                          const char *type, size_t type_len,
                          statsd_tag_format f, const char *tags,
                          size_t tags_len)
{
    int at_end = statsd_tags_at_end(f);

    *p++ = '\n';
    if (prefix_len) {
        p = statsd_put(p, prefix, prefix_len);
        *p++ = '.';
    }
    p = statsd_put(p, "backend.", 8);
    if (!tag_mode) {
        p = statsd_put(p, b->name, b->name_len);
        *p++ = '.';
    }
    p = statsd_put(p, what, what_len);
    if (!at_end)
        p = statsd_put(p, tags, tags_len);
    *p++ = ':';
    p = statsd_put(p, value, value_len);
    p = statsd_put(p, type, type_len);
    if (at_end)
        p = statsd_put(p, tags, tags_len);
    return p;
}

size_t statsd_breakdown_backend_lines(char *dst, const char *prefix,
                                      size_t prefix_len,
                                      const statsd_backend_result *b,
                                      statsd_time_unit unit,
                                      statsd_timer_type timer,
                                      statsd_tag_format f, const char *tags,
                                      size_t tags_len, int tag_mode,
                                      unsigned *n_lines)
{
    static const char *const type[] = {"|ms", "|h", "|d"};
    char all_tags[STATSD_TAGS_TEXT_MAX + STATSD_BACKEND_NAME_MAX + 16];
    char num[STATSD_NUM_MAX];
    size_t num_len, name_len = b->name_len;
    statsd_backend_result clean = *b;
    char *p = dst;

    *n_lines = 0;
    if (name_len == 0)
        return 0;
    if (name_len > STATSD_BACKEND_NAME_MAX)
        clean.name_len = name_len = STATSD_BACKEND_NAME_MAX;
    if (prefix_len > STATSD_AFFIX_MAX)
        prefix_len = STATSD_AFFIX_MAX;
    if (f == STATSD_TAGS_NONE || (unsigned)f >= STATSD_TAG_FORMATS
        || tags_len > STATSD_TAGS_TEXT_MAX) {
        f = STATSD_TAGS_NONE;
        tags = "";
        tags_len = 0;
        tag_mode = 0;
    }
    if ((unsigned)timer > STATSD_TIMER_D)
        timer = STATSD_TIMER_MS;
    if (tag_mode) {
        /* the static tags, then backend:N in the dialect */
        char *t = statsd_tags_put_extra(all_tags, f, tags, tags_len,
                                        "backend", 7, b->name, name_len);
        tags = all_tags;
        tags_len = (size_t)(t - all_tags);
    }
    if (!b->answered) {
        p = backend_line(p, prefix, prefix_len, &clean, tag_mode, "errors",
                         6, "1", 1, "|c", 2, f, tags, tags_len);
        *n_lines = 1;
        return (size_t)(p - dst);
    }
    num_len = statsd_lines_format_duration(num, b->usec, unit);
    p = backend_line(p, prefix, prefix_len, &clean, tag_mode, "time", 4,
                     num, num_len, type[timer], strlen(type[timer]), f,
                     tags, tags_len);
    if (b->status < 400) {
        p = backend_line(p, prefix, prefix_len, &clean, tag_mode, "good", 4,
                         "1", 1, "|c", 2, f, tags, tags_len);
        *n_lines = 2;
    } else {
        p = backend_line(p, prefix, prefix_len, &clean, tag_mode, "bad", 3,
                         "1", 1, "|c", 2, f, tags, tags_len);
        p = backend_line(p, prefix, prefix_len, &clean, tag_mode,
                         b->status < 500 ? "4xx" : "5xx", 3, "1", 1, "|c",
                         2, f, tags, tags_len);
        *n_lines = 3;
    }
    return (size_t)(p - dst);
}
