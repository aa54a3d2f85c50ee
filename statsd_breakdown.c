/*
 * statsd_breakdown.c - the time-to-first-byte, bytes-sent and aborted
 * lines. Written only for requests whose section asks for them, so the
 * names are put together here rather than kept per prefix.
 */
#include <string.h>

#include "statsd_breakdown.h"
#include "statsd_bytes.h"
#include "statsd_name.h"

static const char *const timer_type[] = {"|ms", "|h", "|d"};
static const size_t timer_type_len[] = {3, 2, 2};

/* What the lines of one call share: the start of their names and their
 * tags. */
typedef struct {
    const char *prefix; size_t prefix_len;
    const char *group; size_t group_len;   /* "responses." or "backend." */
    const char *node; size_t node_len;     /* "N." follows, unless 0 */
    const char *tags; size_t tags_len;
    int at_end;
} line_frame;

/* The prefix cut to STATSD_AFFIX_MAX, no tags unless f is a format and
 * the tags fit. Returns 1 if the lines carry tags. */
static int frame_init(line_frame *fr, const char *prefix, size_t prefix_len,
                      const char *group, size_t group_len,
                      statsd_tag_format f, const char *tags, size_t tags_len)
{
    int tagged = f != STATSD_TAGS_NONE && (unsigned)f < STATSD_TAG_FORMATS
                 && tags_len <= STATSD_TAGS_TEXT_MAX;

    fr->prefix = prefix;
    fr->prefix_len = prefix_len > STATSD_AFFIX_MAX ? STATSD_AFFIX_MAX
                                                   : prefix_len;
    fr->group = group;
    fr->group_len = group_len;
    fr->node = NULL;
    fr->node_len = 0;
    fr->tags = tagged ? tags : "";
    fr->tags_len = tagged ? tags_len : 0;
    fr->at_end = tagged && statsd_tags_at_end(f);
    return tagged;
}

/* '\n', "P.", the group, "N." if any, what, then as every line: tags,
 * ':', value, type. Returns the end. */
static char *line(char *p, const line_frame *fr, const char *what,
                  size_t what_len, const char *value, size_t value_len,
                  const char *type, size_t type_len)
{
    *p++ = '\n';
    if (fr->prefix_len) {
        p = statsd_put(p, fr->prefix, fr->prefix_len);
        *p++ = '.';
    }
    p = statsd_put(p, fr->group, fr->group_len);
    if (fr->node_len) {
        p = statsd_put(p, fr->node, fr->node_len);
        *p++ = '.';
    }
    p = statsd_put(p, what, what_len);
    return statsd_lines_put_rest(p, fr->tags, fr->tags_len, fr->at_end,
                                 value, value_len, type, type_len, NULL);
}

size_t statsd_breakdown_lines(char *dst, const char *prefix,
                              size_t prefix_len,
                              const statsd_breakdown *b,
                              statsd_time_unit unit,
                              statsd_timer_type timer,
                              statsd_tag_format f, const char *tags,
                              size_t tags_len, unsigned *n_lines)
{
    char num[STATSD_NUM_MAX];
    size_t num_len;
    unsigned n = 0;
    char *p = dst;
    line_frame fr;

    frame_init(&fr, prefix, prefix_len, "responses.", 10, f, tags, tags_len);
    if ((unsigned)timer > STATSD_TIMER_D)
        timer = STATSD_TIMER_MS;
    if (b->ttfb) {
        num_len = statsd_lines_format_duration(num, b->ttfb_usec, unit);
        p = line(p, &fr, "ttfb", 4, num, num_len, timer_type[timer],
                 timer_type_len[timer]);
        n++;
    }
    if (b->bytes) {
        num_len = statsd_lines_format_uint(num, b->bytes_sent);
        p = line(p, &fr, "bytes", 5, num, num_len, "|c", 2);
        n++;
    }
    if (b->aborted) {
        p = line(p, &fr, "aborted", 7, "1", 1, "|c", 2);
        n++;
    }
    *n_lines = n;
    return (size_t)(p - dst);
}

/* ---- backends ----------------------------------------------------------- */

size_t statsd_breakdown_backend_name(char *dst, const char *src, size_t len)
{
    const char *scheme = NULL;
    size_t i;

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
    /* a name segment's bytes */
    return statsd_name_segment(dst, src, len < STATSD_BACKEND_NAME_MAX
                                         ? len : STATSD_BACKEND_NAME_MAX);
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
    char all_tags[STATSD_TAGS_TEXT_MAX + STATSD_BACKEND_NAME_MAX + 16];
    char num[STATSD_NUM_MAX];
    size_t num_len, name_len = b->name_len;
    char *p = dst;
    line_frame fr;

    *n_lines = 0;
    if (name_len == 0)
        return 0;
    if (name_len > STATSD_BACKEND_NAME_MAX)
        name_len = STATSD_BACKEND_NAME_MAX;
    if (!frame_init(&fr, prefix, prefix_len, "backend.", 8, f, tags,
                    tags_len))
        tag_mode = 0;
    if ((unsigned)timer > STATSD_TIMER_D)
        timer = STATSD_TIMER_MS;
    if (tag_mode) {
        /* the static tags, then backend:N in the dialect */
        char *t = statsd_tags_put_extra(all_tags, f, tags, tags_len,
                                        "backend", 7, b->name, name_len);
        fr.tags = all_tags;
        fr.tags_len = (size_t)(t - all_tags);
    } else {
        fr.node = b->name;   /* classic names: "P.backend.N.what" */
        fr.node_len = name_len;
    }
    if (!b->answered) {
        p = line(p, &fr, "errors", 6, "1", 1, "|c", 2);
        *n_lines = 1;
        return (size_t)(p - dst);
    }
    num_len = statsd_lines_format_duration(num, b->usec, unit);
    p = line(p, &fr, "time", 4, num, num_len, timer_type[timer],
             timer_type_len[timer]);
    if (b->status < 400) {
        p = line(p, &fr, "good", 4, "1", 1, "|c", 2);
        *n_lines = 2;
    } else {
        p = line(p, &fr, "bad", 3, "1", 1, "|c", 2);
        p = line(p, &fr, b->status < 500 ? "4xx" : "5xx", 3, "1", 1, "|c",
                 2);
        *n_lines = 3;
    }
    return (size_t)(p - dst);
}
