/*
 * statsd_lines.c - the statsd lines of one measured request (SPEC §2).
 *
 * Hand-written number formatting and memcpy only: a printf-family call
 * alone would cost more than this whole file on the request path.
 */
#include <string.h>

#include "statsd_lines.h"

/* "000".."999": three digits at a time instead of one division each */
static const char digits3[1000][3] = {
#define D1(a, b) {a, b, '0'}, {a, b, '1'}, {a, b, '2'}, {a, b, '3'}, \
    {a, b, '4'}, {a, b, '5'}, {a, b, '6'}, {a, b, '7'}, {a, b, '8'}, {a, b, '9'}
#define D2(a) D1(a, '0'), D1(a, '1'), D1(a, '2'), D1(a, '3'), D1(a, '4'), \
    D1(a, '5'), D1(a, '6'), D1(a, '7'), D1(a, '8'), D1(a, '9')
    D2('0'), D2('1'), D2('2'), D2('3'), D2('4'),
    D2('5'), D2('6'), D2('7'), D2('8'), D2('9')
#undef D2
#undef D1
};

/* v < 1000 without leading zeros; returns the length */
static size_t small_uint(char *dst, unsigned v)
{
    const char *d = digits3[v];
    if (v >= 100) {
        dst[0] = d[0];
        dst[1] = d[1];
        dst[2] = d[2];
        return 3;
    }
    if (v >= 10) {
        dst[0] = d[1];
        dst[1] = d[2];
        return 2;
    }
    dst[0] = d[2];
    return 1;
}

size_t statsd_format_uint(char *dst, uint64_t v)
{
    char tmp[24];
    size_t n = 0, lead, i;

    if (v < 1000)
        return small_uint(dst, (unsigned)v);
    /* groups of three from the right, then the leading group trimmed */
    while (v >= 1000) {
        n += 3;
        memcpy(tmp + sizeof(tmp) - n, digits3[v % 1000], 3);
        v /= 1000;
    }
    lead = small_uint(dst, (unsigned)v);
    for (i = 0; i < n; i++)
        dst[lead + i] = tmp[sizeof(tmp) - n + i];
    return lead + n;
}

/* "." and frac (> 0) as `groups` groups of three digits, trailing zeros
 * dropped: ".052", ".5". Returns the length. */
static size_t put_fraction(char *dst, uint32_t frac, unsigned groups)
{
    size_t n = 1 + 3 * (size_t)groups;

    dst[0] = '.';
    if (groups == 2) {
        memcpy(dst + 1, digits3[frac / 1000], 3);
        memcpy(dst + 4, digits3[frac % 1000], 3);
    } else {
        memcpy(dst + 1, digits3[frac], 3);
    }
    while (dst[n - 1] == '0')
        n--;
    return n;
}

size_t statsd_format_duration(char *dst, uint64_t usec, statsd_time_unit unit)
{
    uint64_t per_unit;
    unsigned groups;
    size_t n;

    if (usec == 0)
        usec = 1; /* a timer is never 0: the request did take time */
    switch (unit) {
    case STATSD_UNIT_US:
        return statsd_format_uint(dst, usec);
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
    /* most requests take under a thousand units: skip the general loop */
    n = usec / per_unit < 1000 ? small_uint(dst, (unsigned)(usec / per_unit))
                               : statsd_format_uint(dst, usec / per_unit);
    if (usec % per_unit)
        n += put_fraction(dst + n, (uint32_t)(usec % per_unit), groups);
    return n;
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* "name:<duration>|ms" */
static char *timer(char *p, const char *name, size_t len,
                   const statsd_measurement *m)
{
    p = put(p, name, len);
    *p++ = ':';
    p = put(p, m->duration, m->duration_len);
    return put(p, "|ms", 3);
}

/* "name:1|c" */
static char *counter(char *p, const char *name, size_t len)
{
    p = put(p, name, len);
    return put(p, ":1|c", 4);
}

/* "P.responses." then what, into dst; returns the end */
static char *service_name(char *dst, const char *prefix, size_t len,
                          const char *what)
{
    char *p = dst;
    if (len) {
        p = put(p, prefix, len);
        *p++ = '.';
    }
    p = put(p, "responses.", 10);
    return put(p, what, strlen(what));
}

/* "P.responses.bad:1|c\nP.responses.<kind>:1|c"; returns the length */
static size_t bad_lines(char *dst, const char *prefix, size_t len,
                        const char *kind)
{
    char *p = service_name(dst, prefix, len, "bad");
    p = put(p, ":1|c\n", 5);
    p = service_name(p, prefix, len, kind);
    p = put(p, ":1|c", 4);
    return (size_t)(p - dst);
}

void statsd_service_init(statsd_service *svc, const char *prefix, size_t len)
{
    char *p;

    if (len > STATSD_AFFIX_MAX)
        len = STATSD_AFFIX_MAX;
    p = service_name(svc->good, prefix, len, "good");
    p = put(p, ":1|c", 4);
    svc->good_len = (size_t)(p - svc->good);

    svc->bad4_len = bad_lines(svc->bad4, prefix, len, "4xx");
    svc->bad5_len = bad_lines(svc->bad5, prefix, len, "5xx");

    p = service_name(svc->time, prefix, len, "time");
    *p++ = ':';
    svc->time_len = (size_t)(p - svc->time);
}

int statsd_lines_build(const statsd_request *req, statsd_measurement *m)
{
    statsd_key_parts parts;
    char *p;
    unsigned n;

    m->lines_len = 0;
    m->n_lines = 0;
    m->agg_len = 0;
    if (req->prefix_len > STATSD_AFFIX_MAX || req->suffix_len > STATSD_AFFIX_MAX
        || req->name_len == 0)
        return -1;

    parts.prefix = req->prefix;
    parts.prefix_len = req->prefix_len;
    parts.name = req->name;
    parts.name_len = req->name_len;
    parts.method = req->method;
    parts.method_len = req->method_len;
    parts.method_clean = req->method_clean;
    parts.status = req->status;
    parts.suffix = req->suffix;
    parts.suffix_len = req->suffix_len;
    parts.max_len = req->max_name_len;   /* statsd_name_key caps it */
    m->key_len = statsd_name_key(m->key, sizeof(m->key), &parts);
    if (req->aggregate_len) {
        parts.name = req->aggregate;
        parts.name_len = req->aggregate_len;
        m->agg_len = statsd_name_key(m->agg, sizeof(m->agg), &parts);
    }
    m->duration_len = statsd_format_duration(m->duration, req->usec,
                                             req->unit);

    /* STATSD_LINES_CAP holds the longest keys and service lines there can
     * be, so the writes below need no checks of their own */
    p = timer(m->lines, m->key, m->key_len, m);
    n = 1;
    if (req->legacy) {
        *p++ = '\n';
        p = counter(p, m->key, m->key_len);
        n++;
    }
    if (m->agg_len) {
        *p++ = '\n';
        p = timer(p, m->agg, m->agg_len, m);
        n++;
        if (req->legacy) {
            *p++ = '\n';
            p = counter(p, m->agg, m->agg_len);
            n++;
        }
    }
    if (req->service) {
        const statsd_service *svc = req->service;
        *p++ = '\n';
        if (req->status < 400) {
            p = put(p, svc->good, svc->good_len);
            n++;
        } else if (req->status < 500) {
            p = put(p, svc->bad4, svc->bad4_len);
            n += 2;
        } else {
            p = put(p, svc->bad5, svc->bad5_len);
            n += 2;
        }
        *p++ = '\n';
        p = put(p, svc->time, svc->time_len);
        p = put(p, m->duration, m->duration_len);
        p = put(p, "|ms", 3);
        n++;
    }
    m->lines_len = (size_t)(p - m->lines);
    m->n_lines = n;
    return 0;
}

size_t statsd_lines_note(char *dst, const statsd_measurement *m, long bytes,
                         int legacy)
{
    size_t n = 0;

    memcpy(dst, m->key, m->key_len);
    n = m->key_len;
    dst[n++] = ' ';
    memcpy(dst + n, m->duration, m->duration_len);
    n += m->duration_len;
    dst[n++] = ' ';
    if (bytes < 0) {
        dst[n++] = '-';
        n += statsd_format_uint(dst + n, (uint64_t)(-(bytes + 1)) + 1);
    } else {
        n += statsd_format_uint(dst + n, (uint64_t)bytes);
    }
    dst[n++] = ' ';
    dst[n++] = legacy ? '1' : '0';
    dst[n] = '\0';
    return n;
}
