/*
 * statsd_buckets.c - latency buckets: cumulative counters per bound.
 */
#include <string.h>

#include "statsd_buckets.h"
#include "statsd_bytes.h"

#define NAME ".responses.latency"
#define NAME_LEN (sizeof(NAME) - 1)

int statsd_buckets_add(statsd_buckets *b, const char *ms)
{
    uint64_t v = 0;
    const char *p = ms;
    size_t len;

    if (!b || !ms || !*ms || b->n == STATSD_BUCKETS_MAX)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || p - ms >= 7)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v == 0 || v > STATSD_BUCKET_MAX_MS
        || (b->n && v * 1000 <= b->le_usec[b->n - 1]))
        return -1;
    b->le_usec[b->n] = v * 1000;
    /* the label without leading zeros: "050" is "50ms" */
    while (*ms == '0')
        ms++;
    len = strlen(ms);
    memcpy(b->label[b->n], ms, len);
    memcpy(b->label[b->n] + len, "ms", 2);
    b->label_len[b->n] = len + 2;
    b->n++;
    return 0;
}

size_t statsd_buckets_lines_max(const statsd_buckets *b, size_t prefix_len,
                                size_t tags_len)
{
    /* prefix, name, ".le_" or a tag ",le:", label, ":1|c", tags, '\n' */
    return b->n * (prefix_len + NAME_LEN + 8 + STATSD_BUCKET_LABEL_MAX + 4
                   + tags_len + 1);
}

static const char between[STATSD_TAG_FORMATS] = {0, ',', ',', ';'};
static const char key_value[STATSD_TAG_FORMATS] = {0, ':', '=', '='};

size_t statsd_buckets_lines(char *dst, const statsd_buckets *b,
                            uint64_t usec, const char *prefix,
                            size_t prefix_len, statsd_tag_format f,
                            const char *tags, size_t tags_len, int tag_mode,
                            unsigned *n)
{
    char *p = dst;
    int at_end = statsd_tags_at_end(f);
    unsigned i = 0, k = 0;

    if (f == STATSD_TAGS_NONE || (unsigned)f >= STATSD_TAG_FORMATS) {
        f = STATSD_TAGS_NONE;
        tags_len = 0;
        tag_mode = 0;
    }
    while (i < b->n && b->le_usec[i] < usec)
        i++;
    for (; i < b->n; i++, k++) {
        if (k)
            *p++ = '\n';
        if (prefix_len)
            p = statsd_put(p, prefix, prefix_len);
        /* without a prefix the name starts after its leading dot */
        p = statsd_put(p, &NAME[prefix_len ? 0 : 1],
                       NAME_LEN - (prefix_len ? 0 : 1));
        if (!tag_mode) {
            p = statsd_put(p, ".le_", 4);
            p = statsd_put(p, b->label[i], b->label_len[i]);
        }
        if (!at_end)
            p = statsd_put(p, tags, tags_len);
        if (tag_mode && !at_end) {
            *p++ = between[f];
            p = statsd_put(p, "le", 2);
            *p++ = key_value[f];
            p = statsd_put(p, b->label[i], b->label_len[i]);
        }
        p = statsd_put(p, ":1|c", 4);
        if (at_end) {
            p = statsd_put(p, tags, tags_len);
            if (tag_mode) {
                p = tags_len ? statsd_put(p, ",le:", 4)
                             : statsd_put(p, "|#le:", 5);
                p = statsd_put(p, b->label[i], b->label_len[i]);
            }
        }
    }
    *n = k;
    return (size_t)(p - dst);
}
