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

/* The tags of a line: the text written after the name (influx,
 * graphite) or after the type (dogstatsd). */
typedef struct {
    const char *text;
    size_t len;
    int at_end;
} line_tags;

/* "\n" between lines, then stem, what, the tags, ":", v, "|g". */
static void put_gauge(out_buf *o, const char *stem, size_t stem_len,
                      const line_tags *lt, const char *what, uint64_t v)
{
    char num[STATSD_NUM_MAX];

    if (o->len > 0)
        put(o, "\n", 1);
    put(o, stem, stem_len);
    put(o, what, strlen(what));
    if (!lt->at_end)
        put(o, lt->text, lt->len);
    put(o, ":", 1);
    put(o, num, statsd_lines_format_uint(num, v));
    put(o, "|g", 2);
    if (lt->at_end)
        put(o, lt->text, lt->len);
}

static int usable(const char *prefix, size_t prefix_len)
{
    return prefix_len <= STATSD_AFFIX_MAX
           && (prefix != NULL || prefix_len == 0);
}

static int tagging(const statsd_gauge_tags *t)
{
    return t != NULL && t->format > STATSD_TAGS_NONE
           && t->format < STATSD_TAG_FORMATS;
}

/* Does the static set already carry a host tag? */
static int has_host_tag(const statsd_tagset *set)
{
    unsigned i;

    for (i = 0; set != NULL && i < set->n; i++)
        if (set->tag[i].key_len == 4 && !memcmp(set->tag[i].key, "host", 4))
            return 1;
    return 0;
}

size_t statsd_gauges_format(char *dst, size_t cap, const char *prefix,
                            size_t prefix_len, const char *host,
                            size_t host_len, const statsd_workers *w)
{
    return statsd_gauges_format_tagged(dst, cap, prefix, prefix_len, host,
                                       host_len, NULL, w);
}

size_t statsd_gauges_format_tagged(char *dst, size_t cap, const char *prefix,
                                   size_t prefix_len, const char *host,
                                   size_t host_len,
                                   const statsd_gauge_tags *t,
                                   const statsd_workers *w)
{
    /* prefix "." "httpd." host "." */
    char stem[STATSD_AFFIX_MAX + STATSD_GAUGE_HOST_MAX + 16];
    char tags[STATSD_GAUGE_TAGS_MAX];
    out_buf s = {stem, sizeof(stem), 0, 1};
    out_buf o = {dst, cap, 0, 1};
    int tagged = tagging(t);
    int host_tag = tagged && t->tag_mode;
    line_tags lt = {"", 0, tagged && statsd_tags_at_end(t->format)};

    if (dst == NULL || w == NULL || host == NULL || host_len == 0
        || host_len > STATSD_GAUGE_HOST_MAX || !usable(prefix, prefix_len))
        return 0;
    if (prefix_len > 0) {
        put(&s, prefix, prefix_len);
        put(&s, ".", 1);
    }
    put(&s, "httpd.", 6);
    if (!host_tag) {
        put(&s, host, host_len);
        put(&s, ".", 1);
    }
    if (tagged) {
        /* the static tags, then (unless they have one) the host tag:
         * at most STATSD_GAUGE_TAGS_MAX bytes */
        lt.text = statsd_tags_text(t->tags, t->format, &lt.len);
        if (host_tag && !has_host_tag(t->tags)) {
            lt.len = (size_t)(statsd_tags_put_extra(tags, t->format,
                                                    lt.text, lt.len, "host",
                                                    4, host, host_len)
                              - tags);
            lt.text = tags;
        }
    }
    put_gauge(&o, stem, s.len, &lt, "workers.busy", w->busy);
    put_gauge(&o, stem, s.len, &lt, "workers.idle", w->idle);
    put_gauge(&o, stem, s.len, &lt, "workers.max", w->max);
    if (w->has_async)
        put_gauge(&o, stem, s.len, &lt, "connections.async", w->async);
    return s.ok && o.ok ? o.len : 0;
}

size_t statsd_gauges_reload(char *dst, size_t cap, const char *prefix,
                            size_t prefix_len, const statsd_gauge_tags *t)
{
    out_buf o = {dst, cap, 0, 1};
    int tagged = tagging(t), at_end = tagged && statsd_tags_at_end(t->format);
    size_t tags_len = 0;
    const char *tags = tagged ? statsd_tags_text(t->tags, t->format,
                                                 &tags_len) : "";

    if (dst == NULL || !usable(prefix, prefix_len))
        return 0;
    if (prefix_len > 0) {
        put(&o, prefix, prefix_len);
        put(&o, ".", 1);
    }
    put(&o, "httpd.reloads", 13);
    if (!at_end)
        put(&o, tags, tags_len);
    put(&o, ":1|c", 4);
    if (at_end)
        put(&o, tags, tags_len);
    return o.ok ? o.len : 0;
}
