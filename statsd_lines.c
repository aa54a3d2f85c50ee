/*
 * statsd_lines.c - the statsd lines of one measured request (SPEC §2).
 *
 * Hand-written number formatting and memcpy only: a printf-family call
 * alone would cost more than this whole file on the request path.
 */
#include <string.h>

#include "statsd_lines.h"

size_t statsd_format_uint(char *dst, uint64_t v)
{
    char tmp[24];
    size_t n = 0, i;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    return n;
}

/* whole.frac with `digits` fraction digits, trailing zeros dropped */
static size_t format_fixed(char *dst, uint64_t whole, uint64_t frac,
                           unsigned digits)
{
    size_t n = statsd_format_uint(dst, whole);
    unsigned i;

    if (frac == 0)
        return n;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    dst[n++] = '.';
    for (i = digits; i > 0; i--) {
        dst[n + i - 1] = (char)('0' + frac % 10);
        frac /= 10;
    }
    return n + digits;
}

size_t statsd_format_duration(char *dst, uint64_t usec, statsd_time_unit unit)
{
    if (usec == 0)
        usec = 1; /* a timer is never 0: the request did take time */
    switch (unit) {
    case STATSD_UNIT_US:
        return statsd_format_uint(dst, usec);
    case STATSD_UNIT_S:
        return format_fixed(dst, usec / 1000000, usec % 1000000, 6);
    case STATSD_UNIT_MS:
    default:
        return format_fixed(dst, usec / 1000, usec % 1000, 3);
    }
}

/* Appends to a fixed buffer; the cap in statsd_lines.h fits the worst
 * case, so the check only guards against a broken caller. */
typedef struct {
    char *buf;
    size_t len, cap;
    unsigned n;
    int full;
} line_buf;

static void add(line_buf *b, const char *name, size_t name_len,
                const char *value, size_t value_len, const char *type,
                size_t type_len)
{
    size_t need = (b->len ? 1 : 0) + name_len + 1 + value_len + 1 + type_len;
    char *p;

    if (b->len + need > b->cap) {
        b->full = 1;
        return;
    }
    p = b->buf + b->len;
    if (b->len)
        *p++ = '\n';
    memcpy(p, name, name_len);
    p += name_len;
    *p++ = ':';
    memcpy(p, value, value_len);
    p += value_len;
    *p++ = '|';
    memcpy(p, type, type_len);
    b->len += need;
    b->n++;
}

#define LIT(s) s, (sizeof(s) - 1)

static void timer(line_buf *b, const char *name, size_t len,
                  const statsd_measurement *m)
{
    add(b, name, len, m->duration, m->duration_len, LIT("ms"));
}

static void counter(line_buf *b, const char *name, size_t len)
{
    add(b, name, len, LIT("1"), LIT("c"));
}

/* "P.responses.<what>" in dst; the prefix is at most STATSD_AFFIX_MAX. */
static size_t service_name(char *dst, const statsd_request *req,
                           const char *what, size_t what_len)
{
    size_t n = 0;
    if (req->prefix_len) {
        memcpy(dst, req->prefix, req->prefix_len);
        n = req->prefix_len;
        dst[n++] = '.';
    }
    memcpy(dst + n, "responses.", 10);
    n += 10;
    memcpy(dst + n, what, what_len);
    return n + what_len;
}

static void service_lines(line_buf *b, const statsd_request *req,
                          const statsd_measurement *m)
{
    char name[STATSD_AFFIX_MAX + 32];
    size_t n;

    if (req->status < 400) {
        n = service_name(name, req, LIT("good"));
        counter(b, name, n);
    } else {
        n = service_name(name, req, LIT("bad"));
        counter(b, name, n);
        if (req->status < 500)
            n = service_name(name, req, LIT("4xx"));
        else
            n = service_name(name, req, LIT("5xx"));
        counter(b, name, n);
    }
    n = service_name(name, req, LIT("time"));
    timer(b, name, n, m);
}

int statsd_lines_build(const statsd_request *req, statsd_measurement *m)
{
    statsd_key_parts parts;
    line_buf b;

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
    parts.status = req->status;
    parts.suffix = req->suffix;
    parts.suffix_len = req->suffix_len;
    parts.max_len = req->max_name_len > STATSD_NAME_MAX ? STATSD_NAME_MAX
                                                        : req->max_name_len;
    m->key_len = statsd_name_key(m->key, sizeof(m->key), &parts);
    if (req->aggregate_len) {
        parts.name = req->aggregate;
        parts.name_len = req->aggregate_len;
        m->agg_len = statsd_name_key(m->agg, sizeof(m->agg), &parts);
    }
    m->duration_len = statsd_format_duration(m->duration, req->usec,
                                             req->unit);

    b.buf = m->lines;
    b.len = 0;
    b.cap = sizeof(m->lines);
    b.n = 0;
    b.full = 0;
    timer(&b, m->key, m->key_len, m);
    if (req->legacy)
        counter(&b, m->key, m->key_len);
    if (m->agg_len) {
        timer(&b, m->agg, m->agg_len, m);
        if (req->legacy)
            counter(&b, m->agg, m->agg_len);
    }
    if (req->service)
        service_lines(&b, req, m);
    if (b.full)
        return -1;
    m->lines_len = b.len;
    m->n_lines = b.n;
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
