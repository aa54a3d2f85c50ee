/*
 * statsd_lines.c - the statsd lines of one measured request.
 *
 * Hand-written number formatting and short copies only: a printf-family
 * call alone would cost more than this whole file on the request path.
 * The lines are written in one pass, each part once; the note copies the
 * key and duration from them.
 */
#include <string.h>

#include "statsd_bytes.h"
#include "statsd_lines.h"

/* Any value: groups of three from the right, then the leading group
 * without zeros. Out of line: the values of a request are nearly all
 * under 1000 (put_uint). */
static __attribute__((noinline)) size_t format_uint_long(char *dst,
                                                         uint64_t v)
{
    char tmp[24];
    size_t n = 0, lead;

    while (v >= 1000) {
        n += 3;
        memcpy(tmp + sizeof(tmp) - n, statsd_digits3[v % 1000], 3);
        v /= 1000;
    }
    lead = statsd_put_uint3(dst, (unsigned)v);
    memcpy(dst + lead, tmp + sizeof(tmp) - n, n);
    return lead + n;
}

static inline size_t put_uint(char *dst, uint64_t v)
{
    return v < 1000 ? statsd_put_uint3(dst, (unsigned)v)
                    : format_uint_long(dst, v);
}

size_t statsd_lines_format_uint(char *dst, uint64_t v)
{
    return put_uint(dst, v);
}

/* "." and frac (> 0) as `groups` groups of three digits, trailing zeros
 * dropped: ".052", ".5". Returns the length. */
static size_t put_fraction(char *dst, uint32_t frac, unsigned groups)
{
    size_t n = 1 + 3 * (size_t)groups;

    dst[0] = '.';
    if (groups == 2) {
        memcpy(dst + 1, statsd_digits3[frac / 1000], 3);
        memcpy(dst + 4, statsd_digits3[frac % 1000], 3);
    } else {
        memcpy(dst + 1, statsd_digits3[frac], 3);
    }
    while (dst[n - 1] == '0')
        n--;
    return n;
}

size_t statsd_lines_format_duration(char *dst, uint64_t usec,
                                    statsd_time_unit unit)
{
    uint64_t per_unit;
    unsigned groups;
    size_t n;

    if (usec == 0)
        usec = 1; /* a timer is never 0: the request did take time */
    switch (unit) {
    case STATSD_UNIT_US:
        return put_uint(dst, usec);
    case STATSD_UNIT_S:
        per_unit = 1000000;
        groups = 2;
        break;
    case STATSD_UNIT_MS:
    default:
        per_unit = 1000;
        groups = 1;
        break;
    }
    n = put_uint(dst, usec / per_unit);
    if (usec % per_unit)
        n += put_fraction(dst + n, (uint32_t)(usec % per_unit), groups);
    return n;
}

/* ":1|c" or "|ms" and the like: a fixed few bytes */
#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), \
                         (p) + sizeof(lit) - 1)

/* "name:1|c" */
static char *counter(char *p, const char *name, size_t len)
{
    p = statsd_put(p, name, len);
    return PUT_LIT(p, ":1|c");
}

/* "P.responses." then what, into dst; returns the end */
static char *service_name(char *dst, const char *prefix, size_t len,
                          const char *what)
{
    char *p = dst;
    if (len) {
        p = statsd_put(p, prefix, len);
        *p++ = '.';
    }
    p = PUT_LIT(p, "responses.");
    return statsd_put(p, what, strlen(what));
}

/* "P.responses.bad:1|c\nP.responses.<kind>:1|c"; returns the length */
static size_t bad_lines(char *dst, const char *prefix, size_t len,
                        const char *kind)
{
    char *p = service_name(dst, prefix, len, "bad");
    p = PUT_LIT(p, ":1|c\n");
    p = service_name(p, prefix, len, kind);
    p = PUT_LIT(p, ":1|c");
    return (size_t)(p - dst);
}

void statsd_lines_service_init(statsd_service *svc, const char *prefix,
                               size_t len)
{
    char *p;

    if (len > STATSD_AFFIX_MAX)
        len = STATSD_AFFIX_MAX;
    p = service_name(svc->good, prefix, len, "good");
    p = PUT_LIT(p, ":1|c");
    svc->good_len = (size_t)(p - svc->good);

    svc->bad4_len = bad_lines(svc->bad4, prefix, len, "4xx");
    svc->bad5_len = bad_lines(svc->bad5, prefix, len, "5xx");

    p = service_name(svc->time, prefix, len, "time");
    *p++ = ':';
    svc->time_len = (size_t)(p - svc->time);
}


size_t statsd_lines_size(const statsd_request *req)
{
    size_t key = statsd_lines_key_max(req);
    /* "K:DURATION|ms\n" (the key written with its NUL first), and
     * "K:1|c\n" in legacy mode */
    size_t per_key = key + STATSD_NUM_MAX + 8 + (req->legacy ? key + 8 : 0);
    size_t n = per_key + 8;

    if (req->aggregate_len)
        n += per_key;
    /* the bad lines are the longest of the three kinds */
    if (req->service)
        n += req->service->bad5_len + req->service->time_len
             + STATSD_NUM_MAX + 8;
    return n;
}


/* "\n", the good or bad lines of status, "\n" and the time line with
 * the duration; n counts them. Returns the end. */
static inline char *service_lines(char *p, const statsd_service *svc,
                                  int status, const char *dur,
                                  size_t dur_len, unsigned *n)
{
    *p++ = '\n';
    if (status < 400) {
        p = statsd_put(p, svc->good, svc->good_len);
        *n += 1;
    } else if (status < 500) {
        p = statsd_put(p, svc->bad4, svc->bad4_len);
        *n += 2;
    } else {
        p = statsd_put(p, svc->bad5, svc->bad5_len);
        *n += 2;
    }
    *p++ = '\n';
    p = statsd_put(p, svc->time, svc->time_len);
    p = statsd_put(p, dur, dur_len);
    *n += 1;
    return PUT_LIT(p, "|ms");
}

/* ":DURATION|ms" after the key at m->key (p is its end), then, with
 * legacy, the key's counter line; sets m's duration and counts the lines
 * in *n. Returns the end. Shared by the general and the planned writer. */
static inline char *timer_lines(char *p, statsd_measurement *m,
                                uint64_t usec, statsd_time_unit unit,
                                int legacy, unsigned *n)
{
    const char *dur;
    size_t dur_len;

    *p++ = ':';
    dur = p;
    dur_len = statsd_lines_format_duration(p, usec, unit);
    p = PUT_LIT(p + dur_len, "|ms");
    m->duration = dur;
    m->duration_len = dur_len;
    *n = 1;
    if (legacy) {
        *p++ = '\n';
        p = counter(p, m->key, m->key_len);
        *n += 1;
    }
    return p;
}

/* flatten: the key, number and copy helpers are inlined here, so the
 * common request is written by one function with no calls */
__attribute__((flatten))
int statsd_lines_build(const statsd_request *req, statsd_measurement *m)
{
    const char *dur;
    size_t dur_len;
    char *p;
    unsigned n;

    statsd_measurement_clear(m);
    if (STATSD_LINES_KEY_UNUSABLE(req))
        return -1;

    /* statsd_lines_size(req) bytes hold the longest keys and service
     * lines these settings allow, so the writes below need no checks of
     * their own */
    p = m->lines;
    m->key = p;
    m->key_len = statsd_name_key(p, statsd_lines_key_max(req) + 1,
                                 &req->key);
    p = timer_lines(p + m->key_len, m, req->usec, req->unit, req->legacy,
                    &n);
    dur = m->duration;
    dur_len = m->duration_len;
    if (req->aggregate_len) {
        *p++ = '\n';
        statsd_key_parts parts = req->key;   /* the same key, NAME swapped */
        parts.name = req->aggregate;
        parts.name_len = req->aggregate_len;
        m->agg = p;
        m->agg_len = statsd_name_key(p, statsd_lines_key_max(req) + 1,
                                     &parts);
        p += m->agg_len;
        *p++ = ':';
        p = statsd_put(p, dur, dur_len);
        p = PUT_LIT(p, "|ms");
        n++;
        if (req->legacy) {
            *p++ = '\n';
            p = counter(p, m->agg, m->agg_len);
            n++;
        }
    }
    if (req->service)
        p = service_lines(p, req->service, req->key.status, dur, dur_len, &n);
    m->lines_len = (size_t)(p - m->lines);
    m->n_lines = n;
    return 0;
}

int statsd_lines_plain_plan_init(statsd_plain_plan *pl,
                                 const statsd_request *req)
{
    size_t key_max = statsd_lines_key_max(req);
    size_t fixed = req->key.prefix_len + req->key.suffix_len + 8;

    if (!req->key.prefix_len || req->key.prefix_len > STATSD_AFFIX_MAX
        || req->key.suffix_len > STATSD_AFFIX_MAX
        || !statsd_lines_fit_small(req) || fixed > key_max)
        return -1;
    memcpy(pl->head, req->key.prefix, req->key.prefix_len);
    pl->head[req->key.prefix_len] = '.';
    pl->head_len = req->key.prefix_len + 1;
    pl->tail_len = 0;
    if (req->key.suffix_len) {
        pl->tail[0] = '.';
        memcpy(pl->tail + 1, req->key.suffix, req->key.suffix_len);
        pl->tail_len = req->key.suffix_len + 1;
    }
    /* statsd_name_key writes the key without cuts within these bounds */
    pl->parts_max = key_max - fixed;
    pl->unit = req->unit;
    pl->legacy = req->legacy;
    pl->service = req->service;
    return 0;
}

/* flatten, as statsd_lines_build: one function with no calls */
__attribute__((flatten))
int statsd_lines_build_plain(const statsd_plain_plan *pl,
                             const statsd_key_parts *key, uint64_t usec,
                             statsd_measurement *m)
{
    unsigned status = (unsigned)key->status;
    char *p;
    unsigned n;

    /* what statsd_name_key's plain copies need; the rest is cut or
     * sanitised by statsd_lines_build */
    if (status - 100 > 899 || !key->method_clean || !key->name_len
        || key->method_len - 1 >= STATSD_METHOD_MAX
        || key->name_len + key->method_len > pl->parts_max)
        return -1;
    /* P.NAME.METHOD.SSS.S, within STATSD_LINES_SMALL as the plan's
     * settings fit it */
    p = m->lines;
    m->key = p;
    p = statsd_put(p, pl->head, pl->head_len);
    p = statsd_put(p, key->name, key->name_len);
    *p++ = '.';
    p = statsd_put(p, key->method, key->method_len);
    p[0] = '.';
    memcpy(p + 1, statsd_digits3[status], 3);
    p = statsd_put(p + 4, pl->tail, pl->tail_len);
    m->key_len = (size_t)(p - m->key);
    m->agg_len = 0;
    p = timer_lines(p, m, usec, pl->unit, pl->legacy, &n);
    if (pl->service)
        p = service_lines(p, pl->service, (int)status, m->duration,
                          m->duration_len, &n);
    m->lines_len = (size_t)(p - m->lines);
    m->n_lines = n;
    return 0;
}

size_t statsd_lines_note(char *dst, const statsd_measurement *m, long bytes,
                         int legacy)
{
    char *p = dst;

    p = statsd_put(p, m->key, m->key_len);
    *p++ = ' ';
    p = statsd_put(p, m->duration, m->duration_len);
    *p++ = ' ';
    if (bytes < 0) {
        *p++ = '-';
        p += put_uint(p, (uint64_t)(-(bytes + 1)) + 1);
    } else {
        p += put_uint(p, (uint64_t)bytes);
    }
    *p++ = ' ';
    *p++ = legacy ? '1' : '0';
    *p = '\0';
    return (size_t)(p - dst);
}
