/*
 * statsd_lines_tagged.c - a request's lines with tags or another timer
 * type, and tag mode's lines from a plan made at start-up.
 *
 * The same rules as statsd_lines.c: hand-written numbers and short
 * copies, each part written once, as this runs on every request of a
 * section with tags.
 */
#include <string.h>

#include "statsd_bytes.h"
#include "statsd_lines.h"

/* ":1|c" and the like: a fixed few bytes */
#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), \
                         (p) + sizeof(lit) - 1)

void statsd_lines_tag_names_init(statsd_tag_names *n, const char *prefix,
                                 size_t len)
{
    static const char *const what[STATSD_FIXED_NAMES] = {
        "request.time", "request.count", "aggregate.time", "aggregate.count",
        "responses.good", "responses.bad", "responses.4xx", "responses.5xx",
        "responses.time"
    };
    int i;

    if (len > STATSD_AFFIX_MAX)
        len = STATSD_AFFIX_MAX;
    for (i = 0; i < STATSD_FIXED_NAMES; i++) {
        char *p = n->name[i].s;
        if (len) {
            p = statsd_put(p, prefix, len);
            *p++ = '.';
        }
        p = statsd_put(p, what[i], strlen(what[i]));
        n->name[i].len = (size_t)(p - n->name[i].s);
    }
}

/* ---- lines with tags or another timer type ---------------------------- */

static const char *const timer_type[] = {"|ms", "|h", "|d"};
static const size_t timer_type_len[] = {3, 2, 2};

/* A fixed name of the prefix, then ".S" when there is a suffix. */
static inline char *fixed_name(char *p, const statsd_request *req, int which)
{
    const statsd_fixed_name *fn = &req->names->name[which];

    p = statsd_put(p, fn->s, fn->len);
    if (req->key.suffix_len) {
        *p++ = '.';
        p = statsd_put(p, req->key.suffix, req->key.suffix_len);
    }
    return p;
}

/* Where the lines of one key (timer, legacy counter) went. */
typedef struct {
    const char *name;  size_t name_len;   /* the timer's name */
    const char *value;                    /* the timer's value */
} key_written;

/* The timer and (legacy) counter of one key, NAME being route. In tag
 * mode they have fixed names and carry the request tags (written once,
 * in the timer line, then copied); otherwise the classic key and the
 * static tags. Returns the end. */
static char *key_lines(char *p, const statsd_request *req, int tag_mode,
                       const char *route, size_t route_len,
                       int time_name, const char *dur, size_t dur_len,
                       key_written *w, unsigned *n)
{
    statsd_tag_format f = req->tag_format;
    int at_end = statsd_tags_at_end(f);
    const char *type = timer_type[req->timer];
    size_t type_len = timer_type_len[req->timer];
    const char *tags = f == STATSD_TAGS_NONE ? "" : req->tags;
    size_t tags_len = f == STATSD_TAGS_NONE ? 0 : req->tags_len;
    char *name = p, *t;

    if (tag_mode) {
        p = fixed_name(p, req, time_name);
    } else {
        statsd_key_parts parts = req->key;
        parts.name = route;
        parts.name_len = route_len;
        p += statsd_name_key(p, STATSD_NAME_MAX + 1, &parts);
    }
    w->name = name;
    w->name_len = (size_t)(p - name);
    if (tag_mode) {
        /* the request tags, written where they first stand */
        t = at_end ? p + 1 + dur_len + type_len : p;
        tags_len = statsd_tags_request(t, f, req->tags, req->tags_len,
                                       route, route_len, req->key.method,
                                       req->key.method_len,
                                       req->key.method_clean,
                                       req->key.status);
        tags = t;
        if (!at_end)
            p += tags_len;
        *p++ = ':';
        w->value = p;
        p = statsd_put(p, dur, dur_len);
        p = statsd_put(p, type, type_len);
        if (at_end)
            p += tags_len;
    } else {
        p = statsd_lines_put_rest(p, tags, tags_len, at_end, dur, dur_len,
                                  type, type_len, &w->value);
    }
    (*n)++;
    if (req->legacy) {
        *p++ = '\n';
        if (tag_mode)
            p = fixed_name(p, req, time_name + 1);   /* its count */
        else
            p = statsd_put(p, w->name, w->name_len);
        p = statsd_lines_put_rest(p, tags, tags_len, at_end, "1", 1, "|c",
                                  2, NULL);
        (*n)++;
    }
    return p;
}

/* A service line "P.responses.what" with the static tags. */
static inline char *service_line(char *p, const statsd_request *req,
                                 int which, const char *tags,
                                 size_t tags_len, int at_end,
                                 const char *value, size_t value_len,
                                 const char *type, size_t type_len)
{
    const statsd_fixed_name *fn = &req->names->name[which];

    p = statsd_put(p, fn->s, fn->len);
    return statsd_lines_put_rest(p, tags, tags_len, at_end, value,
                                 value_len, type, type_len, NULL);
}

/* flatten: as the untagged path, one function with no calls */
__attribute__((flatten))
int statsd_lines_build_tagged(const statsd_request *req,
                              statsd_measurement *m)
{
    statsd_tag_format f = req->tag_format;
    int at_end = statsd_tags_at_end(f);
    int tag_mode = f != STATSD_TAGS_NONE && req->tag_mode;
    const char *type, *tags = f == STATSD_TAGS_NONE ? "" : req->tags;
    size_t type_len, tags_len = f == STATSD_TAGS_NONE ? 0 : req->tags_len;
    /* twice the room a duration needs: the compiler cannot tell that the
     * inlined copies from it stay within the first STATSD_NUM_MAX */
    char dur[2 * STATSD_NUM_MAX], *p;
    size_t dur_len;
    key_written w;
    unsigned n = 0;

    statsd_measurement_clear(m);
    if (STATSD_LINES_KEY_UNUSABLE(req) || tags_len > STATSD_TAGS_TEXT_MAX
        || (unsigned)req->timer > 2 || (unsigned)f >= STATSD_TAG_FORMATS
        || !req->names)
        return -1;
    type = timer_type[req->timer];
    type_len = timer_type_len[req->timer];
    dur_len = statsd_lines_format_duration(dur, req->usec, req->unit);
    p = key_lines(m->lines, req, tag_mode, req->key.name, req->key.name_len,
                  STATSD_NAME_REQUEST_TIME, dur, dur_len, &w, &n);
    m->key = w.name;
    m->key_len = w.name_len;
    m->duration = w.value;
    m->duration_len = dur_len;
    if (req->aggregate_len) {
        *p++ = '\n';
        p = key_lines(p, req, tag_mode, req->aggregate, req->aggregate_len,
                      STATSD_NAME_AGGREGATE_TIME, dur, dur_len, &w, &n);
        m->agg = w.name;
        m->agg_len = w.name_len;
    }
    if (req->service) {
        int st = req->key.status;
        *p++ = '\n';
        if (st < 400) {
            p = service_line(p, req, STATSD_NAME_GOOD, tags, tags_len,
                             at_end, "1", 1, "|c", 2);
            n++;
        } else {
            p = service_line(p, req, STATSD_NAME_BAD, tags, tags_len,
                             at_end, "1", 1, "|c", 2);
            *p++ = '\n';
            p = service_line(p, req,
                             st < 500 ? STATSD_NAME_4XX : STATSD_NAME_5XX,
                             tags, tags_len, at_end, "1", 1, "|c", 2);
            n += 2;
        }
        *p++ = '\n';
        p = service_line(p, req, STATSD_NAME_TIME, tags, tags_len, at_end,
                         dur, dur_len, type, type_len);
        n++;
    }
    m->lines_len = (size_t)(p - m->lines);
    m->n_lines = n;
    return 0;
}

/* The longest key req's settings allow. */
size_t statsd_lines_size_tagged(const statsd_request *req)
{
    size_t key = statsd_lines_key_max(req);
    size_t keys = req->aggregate_len ? 2 : 1;
    size_t lines = keys * (req->legacy ? 2 : 1) + (req->service ? 3 : 0);
    size_t tags = req->tag_format == STATSD_TAGS_NONE ? 0 : req->tags_len;
    /* statsd_lines_size's bound, written out: a second caller would
     * change how the request path's compiler inlines that one */
    size_t n = keys * (key + STATSD_NUM_MAX + 8 + (req->legacy ? key + 8 : 0))
               + 8;

    if (req->service)
        n += req->service->bad5_len + req->service->time_len
             + STATSD_NUM_MAX + 8;

    if (tags > STATSD_TAGS_TEXT_MAX)
        return STATSD_LINES_CAP;   /* refused by the writer anyway */
    n += lines * tags;
    if (req->tag_format != STATSD_TAGS_NONE && req->tag_mode)
        /* per key line: its fixed name and suffix, the route's key,
         * route, method and status */
        n += keys * (req->legacy ? 2 : 1)
             * (STATSD_FIXED_NAME_MAX + 1 + STATSD_AFFIX_MAX + 8
                + STATSD_TAG_VALUE_MAX + 8 + STATSD_METHOD_MAX + 8 + 3);
    return n < STATSD_LINES_CAP ? n : STATSD_LINES_CAP;
}

/* ---- tag mode from a plan --------------------------------------------- */

/* Appends to the pieces of a plan being made; full once one does not fit. */
typedef struct {
    statsd_tag_plan *pl;
    size_t at;
    int full;
} plan_writer;

static void plan_put(plan_writer *w, const char *s, size_t n)
{
    if (w->full || n > sizeof(w->pl->text) - w->at) {
        w->full = 1;
        return;
    }
    memcpy(w->pl->text + w->at, s, n);
    w->at += n;
}

/* A fixed name, then ".S" when there is a suffix */
static void plan_name(plan_writer *w, const statsd_fixed_name *fn,
                      const char *suffix, size_t suffix_len)
{
    plan_put(w, fn->s, fn->len);
    if (suffix_len) {
        plan_put(w, ".", 1);
        plan_put(w, suffix, suffix_len);
    }
}

static void plan_begin(plan_writer *w, int which)
{
    w->pl->piece[which].off = (unsigned)w->at;
}

static void plan_end(plan_writer *w, int which)
{
    w->pl->piece[which].len = (unsigned)(w->at - w->pl->piece[which].off);
}

/* Route, method and status at their longest, with their keys */
#define VALUES_MAX (STATSD_TAG_VALUE_MAX + 8 + STATSD_METHOD_MAX + 8 + 3)

/* The most a plan's lines take: both keys with their counters and the
 * longest service lines, each part at its longest, and the room past the
 * end that the block copies write into. */
static size_t plan_lines_max(const statsd_tag_plan *pl)
{
    size_t n = STATSD_PLAN_SLACK, svc = 0;
    int k, kind;

    for (k = 0; k < 2; k++)
        /* "\n" TIME [values ':'] DURATION MID [values] "\n" COUNT T [":1|c"] */
        n += 2 + pl->piece[STATSD_PIECE_TIME + k].len + STATSD_NUM_MAX
             + pl->piece[STATSD_PIECE_MID].len + VALUES_MAX + 1
             + pl->piece[STATSD_PIECE_COUNT + k].len + pl->head_len
             + VALUES_MAX + 4;
    for (kind = 0; kind < 3; kind++)
        if (pl->piece[STATSD_PIECE_GOOD + kind].len > svc)
            svc = pl->piece[STATSD_PIECE_GOOD + kind].len;
    return n + svc + STATSD_NUM_MAX + pl->piece[STATSD_PIECE_TAIL].len;
}

int statsd_lines_tag_plan_init(statsd_tag_plan *pl,
                               const statsd_tag_names *names,
                               const char *suffix, size_t suffix_len,
                               const char *tags, size_t tags_len,
                               statsd_tag_format f, statsd_timer_type timer)
{
    char head[STATSD_TAGS_TEXT_MAX + 16];
    size_t head_len;
    plan_writer w = {pl, 0, 0};
    int at_end = statsd_tags_at_end(f), k, kind;

    memset(pl, 0, sizeof(*pl));
    if (!names || suffix_len > STATSD_AFFIX_MAX || tags_len >
        STATSD_TAGS_TEXT_MAX || (unsigned)timer > 2 || f == STATSD_TAGS_NONE
        || (unsigned)f >= STATSD_TAG_FORMATS)
        return -1;
    head_len = (size_t)(statsd_tags_request_head(head, f, tags, tags_len)
                        - head);
    pl->format = f;
    pl->at_end = at_end;
    pl->head_len = head_len;
    for (k = 0; k < 2; k++) {
        int t = k ? STATSD_NAME_AGGREGATE_TIME : STATSD_NAME_REQUEST_TIME;
        /* "P.request.time.S:" or "P.request.time.S;env=prod;route=" */
        plan_begin(&w, STATSD_PIECE_TIME + k);
        plan_name(&w, &names->name[t], suffix, suffix_len);
        pl->name_len[k] = w.at - pl->piece[STATSD_PIECE_TIME + k].off;
        if (at_end)
            plan_put(&w, ":", 1);
        else
            plan_put(&w, head, head_len);
        plan_end(&w, STATSD_PIECE_TIME + k);
        /* "P.request.count.S:1|c" or "P.request.count.S" */
        plan_begin(&w, STATSD_PIECE_COUNT + k);
        plan_name(&w, &names->name[t + 1], suffix, suffix_len);
        if (at_end)
            plan_put(&w, ":1|c", 4);
        plan_end(&w, STATSD_PIECE_COUNT + k);
    }
    /* "|ms|#env:prod,route:" or "|ms" */
    plan_begin(&w, STATSD_PIECE_MID);
    plan_put(&w, timer_type[timer], timer_type_len[timer]);
    if (at_end)
        plan_put(&w, head, head_len);
    plan_end(&w, STATSD_PIECE_MID);
    /* the service lines up to the time line's duration */
    for (kind = 0; kind < 3; kind++) {
        static const int first[3] = {STATSD_NAME_GOOD, STATSD_NAME_BAD,
                                     STATSD_NAME_BAD};
        const statsd_fixed_name *fn;
        plan_begin(&w, STATSD_PIECE_GOOD + kind);
        plan_put(&w, "\n", 1);
        fn = &names->name[first[kind]];
        plan_put(&w, fn->s, fn->len);
        plan_put(&w, tags, at_end ? 0 : tags_len);
        plan_put(&w, ":1|c", 4);
        plan_put(&w, tags, at_end ? tags_len : 0);
        if (kind) {
            fn = &names->name[kind == 1 ? STATSD_NAME_4XX : STATSD_NAME_5XX];
            plan_put(&w, "\n", 1);
            plan_put(&w, fn->s, fn->len);
            plan_put(&w, tags, at_end ? 0 : tags_len);
            plan_put(&w, ":1|c", 4);
            plan_put(&w, tags, at_end ? tags_len : 0);
        }
        plan_put(&w, "\n", 1);
        fn = &names->name[STATSD_NAME_TIME];
        plan_put(&w, fn->s, fn->len);
        plan_put(&w, tags, at_end ? 0 : tags_len);
        plan_put(&w, ":", 1);
        plan_end(&w, STATSD_PIECE_GOOD + kind);
    }
    /* "|ms|#env:prod" or "|ms" */
    plan_begin(&w, STATSD_PIECE_TAIL);
    plan_put(&w, timer_type[timer], timer_type_len[timer]);
    plan_put(&w, tags, at_end ? tags_len : 0);
    plan_end(&w, STATSD_PIECE_TAIL);
    if (w.full || w.at > sizeof(pl->text) - STATSD_PLAN_SLACK)
        return -1;   /* no room for the whole blocks copy_blocks reads */
    pl->lines_max = plan_lines_max(pl);
    return 0;
}

/* Copies of up to 128 bytes as whole 16-byte blocks, which may read and
 * write past the n bytes: only where what follows is the writer's own (a
 * plan's text, which keeps STATSD_PLAN_SLACK bytes after its last piece,
 * or the lines being written, whose cap leaves tag mode far more room
 * than that, as its names are short). What lands past the end is
 * overwritten by the next part or lies past lines_len. */
typedef struct { uint64_t w[2]; } block16;

/* 32 or 64 bytes: all loads, then all stores */
static inline void copy32(char *p, const char *s)
{
    block16 a, b;

    memcpy(&a, s, 16);
    memcpy(&b, s + 16, 16);
    memcpy(p, &a, 16);
    memcpy(p + 16, &b, 16);
}

static inline void copy64(char *p, const char *s)
{
    block16 a, b, c, d;

    memcpy(&a, s, 16);
    memcpy(&b, s + 16, 16);
    memcpy(&c, s + 32, 16);
    memcpy(&d, s + 48, 16);
    memcpy(p, &a, 16);
    memcpy(p + 16, &b, 16);
    memcpy(p + 32, &c, 16);
    memcpy(p + 48, &d, 16);
}

/* Of a copy within the lines, the second half reads only bytes past the
 * source's end where the first half wrote. */
static inline char *copy_blocks(char *p, const char *s, size_t n)
{
    if (n <= 32) {
        copy32(p, s);
    } else if (n <= 64) {
        copy64(p, s);
    } else if (n <= 128) {
        copy64(p, s);
        copy64(p + 64, s + 64);
    } else {
        memcpy(p, s, n);
    }
    return p + n;
}

static inline char *put_piece(char *p, const statsd_tag_plan *pl, int which)
{
    return copy_blocks(p, pl->text + pl->piece[which].off,
                       pl->piece[which].len);
}

/* Route, method and status as statsd_tags_request_values writes them,
 * with a short way for the usual three-digit status. */
static inline char *planned_values(char *p, statsd_tag_format f,
                                   const char *route, size_t route_len,
                                   const statsd_request *req)
{
    int status = req->key.status;

    if (route_len > STATSD_TAG_VALUE_MAX || req->key.method_len
        > STATSD_METHOD_MAX || !req->key.method_clean
        || (unsigned)(status - 100) >= 900)
        return statsd_tags_request_values(p, f, route, route_len,
                                          req->key.method,
                                          req->key.method_len,
                                          req->key.method_clean, status);
    p = statsd_put(p, route, route_len);
    memcpy(p, statsd_tags_method_key[f], 8);
    p = statsd_put(p + 8, req->key.method, req->key.method_len);
    memcpy(p, statsd_tags_status_key[f], 8);
    memcpy(p + 8, statsd_digits3[status], 3);
    return p + 11;
}

/* The timer and (legacy) counter of one key in tag mode, NAME being
 * route; k: 0 the request's, 1 the aggregate's. The duration is written
 * in the request's timer line (dur NULL) and copied from there; the
 * request tags are written once, in the timer line, and copied. Returns
 * the end. */
static inline char *planned_key(char *p, const statsd_request *req,
                                const statsd_tag_plan *pl, int k,
                                const char *route, size_t route_len,
                                const char *dur, size_t *dur_len,
                                key_written *w, unsigned *n)
{
    char *t = p, *t_end = p;   /* set below, in either order */

    w->name = p;
    w->name_len = pl->name_len[k];
    p = put_piece(p, pl, STATSD_PIECE_TIME + k);
    if (!pl->at_end) {
        t = p - pl->head_len;
        p = t_end = planned_values(p, pl->format, route, route_len, req);
        *p++ = ':';
    }
    w->value = p;
    if (dur)
        p = copy_blocks(p, dur, *dur_len);
    else
        p += *dur_len = statsd_lines_format_duration(p, req->usec,
                                                     req->unit);
    p = put_piece(p, pl, STATSD_PIECE_MID);
    if (pl->at_end) {
        t = p - pl->head_len;
        p = t_end = planned_values(p, pl->format, route, route_len, req);
    }
    (*n)++;
    if (req->legacy) {
        *p++ = '\n';
        p = put_piece(p, pl, STATSD_PIECE_COUNT + k);
        /* T lies before p, at least its length away */
        p = copy_blocks(p, t, (size_t)(t_end - t));
        if (!pl->at_end)
            p = PUT_LIT(p, ":1|c");
        (*n)++;
    }
    return p;
}

/* Any request in tag mode from a plan. */
static __attribute__((noinline, flatten))
int build_planned_any(const statsd_request *req, const statsd_tag_plan *pl,
                      statsd_measurement *m)
{
    const char *dur;
    size_t dur_len;
    char *p;
    key_written w;
    unsigned n = 0;

    m->agg_len = 0;
    if (req->key.name_len == 0) {
        m->lines_len = 0;
        m->n_lines = 0;
        m->key_len = 0;
        m->duration_len = 0;
        return -1;
    }
    p = planned_key(m->lines, req, pl, 0, req->key.name, req->key.name_len,
                    NULL, &dur_len, &w, &n);
    dur = w.value;
    m->key = w.name;
    m->key_len = w.name_len;
    m->duration = dur;
    m->duration_len = dur_len;
    if (req->aggregate_len) {
        *p++ = '\n';
        p = planned_key(p, req, pl, 1, req->aggregate, req->aggregate_len,
                        dur, &dur_len, &w, &n);
        m->agg = w.name;
        m->agg_len = w.name_len;
    }
    if (req->service) {
        int st = req->key.status;
        int kind = st < 400 ? 0 : st < 500 ? 1 : 2;
        p = put_piece(p, pl, STATSD_PIECE_GOOD + kind);
        p = copy_blocks(p, dur, dur_len);
        p = put_piece(p, pl, STATSD_PIECE_TAIL);
        n += kind ? 3 : 2;
    }
    m->lines_len = (size_t)(p - m->lines);
    m->n_lines = n;
    return 0;
}

/* A method or route of at most 32 bytes: 2 or 3 bytes as two overlapping
 * pairs (the usual "GET"), the rest as statsd_put does. Exact. */
static inline char *put_short(char *p, const char *s, size_t n)
{
    if (n < 4 && n >= 2) {
        uint16_t a, b;
        memcpy(&a, s, 2);
        memcpy(&b, s + n - 2, 2);
        memcpy(p, &a, 2);
        memcpy(p + n - 2, &b, 2);
        return p + n;
    }
    return statsd_put(p, s, n);
}

/* The usual request has its own straight way: DogStatsD, no aggregate,
 * a route that needs no cut, a clean method, a three-digit status. Every
 * other goes to build_planned_any, so this one keeps its values in
 * registers. flatten: one function with no calls, as the untagged path. */
__attribute__((flatten))
int statsd_lines_build_planned(const statsd_request *req,
                               const statsd_tag_plan *pl,
                               statsd_measurement *m)
{
    size_t route_len = req->key.name_len, method_len = req->key.method_len;
    size_t dur_len;
    int status = req->key.status, kind;
    char *p, *dur, *t;
    unsigned n = 1;

    if (!pl->at_end || req->aggregate_len || route_len - 1
        >= STATSD_TAG_VALUE_MAX || method_len > STATSD_METHOD_MAX
        || !req->key.method_clean || (unsigned)(status - 100) >= 900)
        return build_planned_any(req, pl, m);
    p = put_piece(m->lines, pl, STATSD_PIECE_TIME);
    dur = p;
    dur_len = statsd_lines_format_duration(p, req->usec, req->unit);
    p = put_piece(p + dur_len, pl, STATSD_PIECE_MID);
    t = p - pl->head_len;
    p = statsd_put(p, req->key.name, route_len);
    memcpy(p, statsd_tags_method_key[STATSD_TAGS_DOGSTATSD], 8);
    p = put_short(p + 8, req->key.method, method_len);
    memcpy(p, statsd_tags_status_key[STATSD_TAGS_DOGSTATSD], 8);
    memcpy(p + 8, statsd_digits3[status], 3);
    p += 11;
    if (req->legacy) {
        size_t tl = (size_t)(p - t);
        *p++ = '\n';
        p = put_piece(p, pl, STATSD_PIECE_COUNT);
        p = copy_blocks(p, t, tl);   /* T lies before p, tl away at least */
        n = 2;
    }
    if (req->service) {
        kind = status < 400 ? 0 : status < 500 ? 1 : 2;
        p = put_piece(p, pl, STATSD_PIECE_GOOD + kind);
        p = copy_blocks(p, dur, dur_len);
        p = put_piece(p, pl, STATSD_PIECE_TAIL);
        n += kind ? 3 : 2;
    }
    m->key = m->lines;
    m->key_len = pl->name_len[0];
    m->duration = dur;
    m->duration_len = dur_len;
    m->agg_len = 0;
    m->lines_len = (size_t)(p - m->lines);
    m->n_lines = n;
    return 0;
}
