/*
 * statsd_gauges.c - the worker gauge lines (see statsd_gauges.h).
 *
 * Runs once per interval, off the request path: plain copies and the
 * shared number formatter are enough.
 */
#include <string.h>

#include "statsd_gauges.h"
#include "statsd_lines.h"

size_t statsd_gauges_host(char *dst, const char *fqdn)
{
    size_t len = statsd_name_short_host(dst, STATSD_GAUGE_HOST_MAX + 1,
                                        fqdn != NULL ? fqdn : "");

    if (len == 0) {
        len = sizeof(STATSD_GAUGE_HOST_UNKNOWN) - 1;
        memcpy(dst, STATSD_GAUGE_HOST_UNKNOWN, len + 1);
    }
    return len;
}

/* Appends to a buffer of known room; `ok` turns 0 on the first overflow,
 * after which nothing more is written. */
typedef struct {
    char *dst;
    size_t cap, len;
    int ok;
} out_buf;

static void put(out_buf *o, const char *s, size_t n)
{
    if (!o->ok || n > o->cap - o->len) {
        o->ok = 0;
        return;
    }
    memcpy(o->dst + o->len, s, n);
    o->len += n;
}

/* "\n" between lines, then "P.httpd.HOST.", what, ":", v, "|g". */
static void put_gauge(out_buf *o, const char *stem, size_t stem_len,
                      const char *what, uint64_t v)
{
    char num[STATSD_NUM_MAX];

    if (o->len > 0)
        put(o, "\n", 1);
    put(o, stem, stem_len);
    put(o, what, strlen(what));
    put(o, ":", 1);
    put(o, num, statsd_lines_format_uint(num, v));
    put(o, "|g", 2);
}

size_t statsd_gauges_format(char *dst, size_t cap, const char *prefix,
                            size_t prefix_len, const char *host,
                            size_t host_len, const statsd_workers *w)
{
    /* prefix "." "httpd." host "." */
    char stem[STATSD_AFFIX_MAX + STATSD_GAUGE_HOST_MAX + 16];
    out_buf s = {stem, sizeof(stem), 0, 1};
    out_buf o = {dst, cap, 0, 1};

    if (dst == NULL || w == NULL || host == NULL || host_len == 0
        || host_len > STATSD_GAUGE_HOST_MAX || prefix_len > STATSD_AFFIX_MAX
        || (prefix == NULL && prefix_len > 0))
        return 0;
    if (prefix_len > 0) {
        put(&s, prefix, prefix_len);
        put(&s, ".", 1);
    }
    put(&s, "httpd.", 6);
    put(&s, host, host_len);
    put(&s, ".", 1);
    put_gauge(&o, stem, s.len, "workers.busy", w->busy);
    put_gauge(&o, stem, s.len, "workers.idle", w->idle);
    put_gauge(&o, stem, s.len, "workers.max", w->max);
    if (w->has_async)
        put_gauge(&o, stem, s.len, "connections.async", w->async);
    return s.ok && o.ok ? o.len : 0;
}
