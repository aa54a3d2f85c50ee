/*
 * statsd_lines.h - the statsd lines of one measured request.
 *
 * Turns what was measured (names, method, status, duration) into the
 * '\n'-joined lines of the Etsy statsd protocol, plus the `statsd` note.
 * No httpd types, no allocation, no printing: numbers are formatted by
 * hand because this runs on every request.
 */
#ifndef STATSD_LINES_H
#define STATSD_LINES_H

#include <stddef.h>
#include <stdint.h>
#include "statsd_bytes.h"
#include "statsd_name.h"
#include "statsd_tags.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    STATSD_UNIT_MS = 0,     /* milliseconds (default) */
    STATSD_UNIT_US = 1,     /* microseconds */
    STATSD_UNIT_S = 2       /* seconds */
} statsd_time_unit;

/* The type of the timer lines: "ms" (every statsd), "h" (a histogram, for
 * receivers that keep one) or "d" (a DogStatsD distribution). */
typedef enum {
    STATSD_TIMER_MS = 0,
    STATSD_TIMER_H = 1,
    STATSD_TIMER_D = 2
} statsd_timer_type;

#define STATSD_NUM_MAX 32   /* room for any formatted number */

/* The longest line a key of at most max_len bytes makes: the key, ':',
 * a number and "|ms". */
#define STATSD_LINE_MAX(max_len) ((max_len) + 1 + STATSD_NUM_MAX + 3)

/* Decimal digits of v; returns the length (no NUL). */
size_t statsd_lines_format_uint(char *dst, uint64_t v);

/* A duration of usec microseconds in unit, with microsecond resolution
 * and no trailing zeros: "12.345", "0.052", "3". 0 is printed as the
 * smallest step (1 us), as a timer is never 0. Returns the length. */
size_t statsd_lines_format_duration(char *dst, uint64_t usec,
                                    statsd_time_unit unit);

/* The rest of a line whose name ends just before p: the tags after the
 * name (influx, graphite), ':', value and type, the tags at the end
 * (dogstatsd, at_end). *value_at (if not NULL) gets where the value
 * went. Returns the end. */
static inline char *statsd_lines_put_rest(char *p, const char *tags,
                                          size_t tags_len, int at_end,
                                          const char *value,
                                          size_t value_len,
                                          const char *type, size_t type_len,
                                          const char **value_at)
{
    if (!at_end)
        p = statsd_put(p, tags, tags_len);
    *p++ = ':';
    if (value_at)
        *value_at = p;
    p = statsd_put(p, value, value_len);
    p = statsd_put(p, type, type_len);
    if (at_end)
        p = statsd_put(p, tags, tags_len);
    return p;
}

/* The service lines of one prefix, made once at start-up so a request
 * only copies them: "P.responses.good:1|c", "P.responses.bad:1|c\n
 * P.responses.4xx:1|c", the 5xx twin, and "P.responses.time:". */
#define STATSD_SERVICE_MAX (2 * (STATSD_AFFIX_MAX + 24))
typedef struct {
    char good[STATSD_SERVICE_MAX];  size_t good_len;
    char bad4[STATSD_SERVICE_MAX];  size_t bad4_len;
    char bad5[STATSD_SERVICE_MAX];  size_t bad5_len;
    char time[STATSD_SERVICE_MAX];  size_t time_len;
} statsd_service;

/* Fill *svc for a clean prefix of at most STATSD_AFFIX_MAX bytes. */
void statsd_lines_service_init(statsd_service *svc, const char *prefix,
                               size_t len);

/* The names the tagged lines use, made once per prefix: the fixed names
 * of tag mode (before any suffix) and the service lines' names. */
#define STATSD_FIXED_NAME_MAX (STATSD_AFFIX_MAX + 24)
typedef struct {
    char s[STATSD_FIXED_NAME_MAX];
    size_t len;
} statsd_fixed_name;
enum {
    STATSD_NAME_REQUEST_TIME, STATSD_NAME_REQUEST_COUNT,
    STATSD_NAME_AGGREGATE_TIME, STATSD_NAME_AGGREGATE_COUNT,
    STATSD_NAME_GOOD, STATSD_NAME_BAD, STATSD_NAME_4XX, STATSD_NAME_5XX,
    STATSD_NAME_TIME, STATSD_FIXED_NAMES
};
typedef struct {
    statsd_fixed_name name[STATSD_FIXED_NAMES];
} statsd_tag_names;

/* One request, as the glue saw it. Strings need not be NUL-terminated.
 * The key parts are filled in place (statsd_name_key reads them as they
 * are); prefix, suffix and NAME must be clean, the method is sanitised
 * unless key.method_clean says it is clean already, key.max_len caps the
 * key. */
typedef struct {
    statsd_key_parts key;                      /* P.NAME.METHOD.STATUS.S */
    const char *aggregate; size_t aggregate_len; /* clean; 0 = none */
    uint64_t usec;                             /* measured duration */
    statsd_time_unit unit;
    int legacy;                                /* K:1|c lines */
    const statsd_service *service;             /* NULL: no service lines */
    /* for statsd_lines_build_tagged only; tags and tag_mode are read
     * only when tag_format is not STATSD_TAGS_NONE */
    statsd_timer_type timer;
    statsd_tag_format tag_format;
    const statsd_tag_names *names;     /* the prefix's */
    const char *tags; size_t tags_len; /* static, written in tag_format */
    int tag_mode;    /* fixed names; route, method, status as tags */
} statsd_request;

/* Two keys with a timer and a counter each, and the service lines, each
 * of the seven with its tags. A key is written in place with its NUL, so
 * there is room for a whole STATSD_NAME_MAX + 1 at the start of either.
 * The most any request's lines take (statsd_lines_build_tagged needs a
 * buffer this large); statsd_lines_size(req) never exceeds it. */
#define STATSD_LINES_CAP (4 * (STATSD_NAME_MAX + STATSD_NUM_MAX + 8) \
                          + 2 * STATSD_SERVICE_MAX + STATSD_NUM_MAX + 8 \
                          + 7 * STATSD_REQUEST_TAGS_MAX)

/* The longest key req's settings allow. */
static inline size_t statsd_lines_key_max(const statsd_request *req)
{
    return req->key.max_len < STATSD_NAME_MAX ? req->key.max_len
                                              : STATSD_NAME_MAX;
}

/* The bytes statsd_lines_build may write for req: from the settings
 * (key.max_len, legacy, aggregate, service) only, not from the request's
 * own parts, so a caller can keep a small buffer for its usual settings
 * and take a larger one for the rest. */
size_t statsd_lines_size(const statsd_request *req);

/* A buffer a caller may keep on its stack: statsd_lines_size is at most
 * this for settings statsd_lines_fit_small accepts (keys of up to the
 * default 250 bytes, no aggregate; any prefix, legacy and service lines),
 * so the common case needs no size computed. */
#define STATSD_LINES_SMALL (2 * (STATSD_NAME_DEFAULT_MAX + STATSD_NUM_MAX + 8) \
                            + 2 * STATSD_SERVICE_MAX + STATSD_NUM_MAX + 16)

static inline int statsd_lines_fit_small(const statsd_request *req)
{
    return req->key.max_len <= STATSD_NAME_DEFAULT_MAX
           && req->aggregate_len == 0;
}

/* The lines are written in one pass; key, aggregate key and duration are
 * where they first appear in them, so nothing is built twice. The caller
 * provides the buffer: lines points to statsd_lines_size(req) bytes. */
typedef struct {
    const char *key;       size_t key_len;       /* the first line's name */
    const char *agg;       size_t agg_len;       /* 0: none */
    const char *duration;  size_t duration_len;  /* the first line's value */
    char *lines;           size_t lines_len;     /* '\n'-joined */
    unsigned n_lines;
} statsd_measurement;

/* No lines, no key: how the builders leave *m when they refuse a request
 * (and how they start). */
static inline void statsd_measurement_clear(statsd_measurement *m)
{
    m->lines_len = 0;
    m->n_lines = 0;
    m->key_len = 0;
    m->agg_len = 0;
    m->duration_len = 0;
}

/* True if req's key parts are unusable for the builders: no NAME, or a
 * prefix or suffix longer than STATSD_AFFIX_MAX (the line sizes allow for
 * no more). A macro, not a function: as a function's value the test
 * makes gcc lay out the request path differently. */
#define STATSD_LINES_KEY_UNUSABLE(req) \
    ((req)->key.prefix_len > STATSD_AFFIX_MAX \
     || (req)->key.suffix_len > STATSD_AFFIX_MAX || (req)->key.name_len == 0)

/* Fill *m from *req, without tags and with ms timers (timer, tag_format,
 * names, tags and tag_mode are not read), writing the lines to m->lines
 * (set by the caller, statsd_lines_size(req) bytes). Returns 0, or -1 if
 * a part is unusable (lines_len is then 0). */
int statsd_lines_build(const statsd_request *req, statsd_measurement *m);

/* The untagged lines of one section's settings, prepared once at start-up
 * (the prefix and suffix with their dots, the key's limit, legacy,
 * service lines, unit), so that a request writes only NAME, METHOD,
 * STATUS and the duration between them. Only for settings with a prefix,
 * no aggregate and keys that fit STATSD_LINES_SMALL. */
typedef struct {
    char head[STATSD_AFFIX_MAX + 1];  size_t head_len;  /* "P." */
    char tail[STATSD_AFFIX_MAX + 1];  size_t tail_len;  /* ".S"; 0: none */
    size_t parts_max;    /* the most name_len + method_len may be: the
                          * key limit less the fixed parts' share */
    statsd_time_unit unit;
    int legacy;
    const statsd_service *service;    /* NULL: no service lines */
} statsd_plain_plan;

/* Fill *pl from the settings of req (key.prefix, key.suffix, key.max_len,
 * aggregate, unit, legacy, service; the rest is not read). Returns 0, or
 * -1 if those settings are not for a plan (no prefix, a prefix or
 * suffix over STATSD_AFFIX_MAX, statsd_lines_fit_small refuses them, or
 * no key could fit the limit). */
int statsd_lines_plain_plan_init(statsd_plain_plan *pl,
                                 const statsd_request *req);

/* The lines statsd_lines_build writes for key's NAME, METHOD and STATUS
 * (nothing else of key is read) and usec, with the settings of *pl, into
 * m->lines of STATSD_LINES_SMALL bytes. Returns 0, or -1 when this
 * request needs statsd_lines_build instead (a method to sanitise or cut,
 * a status outside 100-999, no NAME, or a key over the limit); *m is
 * then not usable. */
int statsd_lines_build_plain(const statsd_plain_plan *pl,
                             const statsd_key_parts *key, uint64_t usec,
                             statsd_measurement *m);

/* The `statsd` request note: "KEY DURATION BYTES LEGACY" (BYTES may be
 * negative: -1 = dropped). dst needs m->key_len + 64 bytes. Returns the
 * length; dst is NUL-terminated. */
size_t statsd_lines_note(char *dst, const statsd_measurement *m, long bytes,
                         int legacy);

/* ---- statsd_lines_tagged.c: tags, timer types, tag mode ------------- */

/* Fill *n for a clean prefix of at most STATSD_AFFIX_MAX bytes:
 * "P.request.time" ... "P.responses.time". */
void statsd_lines_tag_names_init(statsd_tag_names *n, const char *prefix,
                                 size_t len);

/* statsd_lines_build with req's timer type and tags. In tag mode the
 * request lines are named P.request.time and P.request.count
 * (P.aggregate.* for the aggregate; the suffix, if any, ends them) and
 * carry the static tags then route, method and status; every other line
 * carries the static tags. key is then the first line's name (without its
 * tags). With tag_format
 * STATSD_TAGS_NONE and timer STATSD_TIMER_MS the lines are exactly those
 * of statsd_lines_build. m->lines must point to
 * statsd_lines_size_tagged(req) bytes. Returns 0, or -1. */
int statsd_lines_build_tagged(const statsd_request *req,
                              statsd_measurement *m);

/* The bytes statsd_lines_build_tagged may write for req: those of
 * statsd_lines_size, the static tags on every line, and in tag mode the
 * fixed names and the request tags. At most STATSD_LINES_CAP. */
size_t statsd_lines_size_tagged(const statsd_request *req);

/* Tag mode's lines for one section, as pieces made once at start-up
 * (the fixed names with the suffix, the static tags, the route's key, the
 * timer type, the service lines), so that a request copies a few whole
 * pieces and writes only what it measured: duration, route, method and
 * status. Plain data with no pointers: copy it with memcpy. */
enum {
    STATSD_PIECE_TIME, STATSD_PIECE_AGG_TIME,   /* up to the duration or
                                                 * the route's value */
    STATSD_PIECE_COUNT, STATSD_PIECE_AGG_COUNT, /* up to the request tags */
    STATSD_PIECE_MID,       /* between the duration and the route's value
                             * (dogstatsd), or after the duration */
    STATSD_PIECE_GOOD, STATSD_PIECE_BAD4, STATSD_PIECE_BAD5, /* the '\n'
                             * before the service lines up to the time
                             * line's duration */
    STATSD_PIECE_TAIL,      /* after the time line's duration */
    STATSD_PIECES
};
#define STATSD_PLAN_TEXT_MAX (8 * (2 * STATSD_FIXED_NAME_MAX + STATSD_AFFIX_MAX \
                                   + STATSD_TAGS_TEXT_MAX + 16))
#define STATSD_PLAN_SLACK 128
typedef struct {
    statsd_tag_format format;
    int at_end;                     /* statsd_tags_at_end(format) */
    size_t name_len[2];             /* the request's and aggregate's name */
    size_t head_len;                /* static tags and the route's key */
    size_t lines_max;               /* the most statsd_lines_build_planned
                                     * writes (room past the end included),
                                     * whatever legacy, aggregate, service */
    struct { unsigned off, len; } piece[STATSD_PIECES];
    char text[STATSD_PLAN_TEXT_MAX];
} statsd_tag_plan;

/* Fill *pl for tag mode in format f (not STATSD_TAGS_NONE) with the names
 * of a prefix, a clean suffix, the static tags as written in f and the
 * timer type. Returns 0, or -1 if a part is unusable. */
int statsd_lines_tag_plan_init(statsd_tag_plan *pl,
                               const statsd_tag_names *names,
                               const char *suffix, size_t suffix_len,
                               const char *tags, size_t tags_len,
                               statsd_tag_format f, statsd_timer_type timer);

/* The lines of statsd_lines_build_tagged in tag mode, with the format,
 * suffix, static tags and timer type of *pl (those of req are not read):
 * the same bytes, from the plan's pieces, into m->lines of pl->lines_max
 * bytes. Returns 0, or -1. */
int statsd_lines_build_planned(const statsd_request *req,
                               const statsd_tag_plan *pl,
                               statsd_measurement *m);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_LINES_H */
