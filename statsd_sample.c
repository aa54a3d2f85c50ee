/*
 * statsd_sample.c - sampling: which lines of a request are sent, and
 * their sample rate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statsd_sample.h"

static uint64_t process_seed = 0x853c49e6748fea9bULL;
static unsigned threads_seen;
static __thread uint64_t stream;      /* 0: not started in this thread */

/* splitmix64: spreads a seed and a thread number over a whole state */
static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void statsd_sample_seed(uint64_t seed)
{
    process_seed = seed;
    __atomic_store_n(&threads_seen, 0, __ATOMIC_RELAXED);
}

static __attribute__((noinline)) void start_stream(void)
{
    unsigned k = __atomic_fetch_add(&threads_seen, 1, __ATOMIC_RELAXED);

    stream = mix(process_seed ^ mix(k));
    if (stream == 0)
        stream = 1;            /* xorshift never leaves 0 */
}

uint32_t statsd_sample_draw(void)
{
    uint64_t x;

    if (__builtin_expect(stream == 0, 0))
        start_stream();
    x = stream;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    stream = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

int statsd_sample_parse(const char *arg, statsd_rate *out)
{
    const char *p = arg;
    char *end;
    double r;
    int digits = 0, decimals = -1, n;

    if (!arg || !out)
        return -1;
    /* digits with at most one '.', nothing else */
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            digits++;
            if (decimals >= 0)
                decimals++;
        } else if (*p == '.' && decimals < 0) {
            decimals = 0;
        } else {
            return -1;
        }
    }
    /* at most six decimals: the rate sent is the rate drawn */
    if (digits == 0 || digits > 12 || decimals > 6)
        return -1;
    errno = 0;
    r = strtod(arg, &end);
    if (errno || *end || !(r >= STATSD_RATE_MIN) || r > 1.0)
        return -1;
    memset(out, 0, sizeof(*out));
    if (r == 1.0) {
        out->all = 1;
        return 0;
    }
    out->threshold = (uint32_t)(r * 4294967296.0);   /* r < 1 */
    n = snprintf(out->text, sizeof(out->text), "|@%.6f", r);
    if (n < 0 || (size_t)n >= sizeof(out->text))
        return -1;
    while (n > 3 && out->text[n - 1] == '0')   /* "|@0.100000" -> "|@0.1" */
        out->text[--n] = '\0';
    out->text_len = (size_t)n;
    return 0;
}

/* Where a line's rate goes: after the type, before anything that follows
 * it ("|#tags"). */
static size_t rate_at(const char *ln, size_t len)
{
    const char *colon = memchr(ln, ':', len), *type, *more;

    if (!colon)
        return len;
    type = memchr(colon, '|', len - (size_t)(colon - ln));
    if (!type)
        return len;
    more = memchr(type + 1, '|', len - (size_t)(type + 1 - ln));
    return more ? (size_t)(more - ln) : len;
}

size_t statsd_sample_lines(const statsd_rate *r, const char *lines,
                           size_t len, unsigned n_lines, int bad,
                           long time_line, char *out, unsigned *n_out)
{
    int keep_request = bad || statsd_sample_draw() < r->threshold;
    int keep_time = time_line >= 0 && statsd_sample_draw() < r->threshold;
    size_t pos = 0, o = 0;
    unsigned i, n = 0;

    for (i = 0; i < n_lines && pos < len; i++) {
        const char *ln = lines + pos;
        const char *nl = memchr(ln, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - ln) : len - pos;
        int is_time = (long)i == time_line;
        int keep = is_time ? keep_time : keep_request;
        int rated = is_time || !bad;

        pos += llen + 1;
        if (!keep)
            continue;
        if (o)
            out[o++] = '\n';
        if (rated) {
            size_t at = rate_at(ln, llen);
            memcpy(out + o, ln, at);
            o += at;
            memcpy(out + o, r->text, r->text_len);
            o += r->text_len;
            memcpy(out + o, ln + at, llen - at);
            o += llen - at;
        } else {
            memcpy(out + o, ln, llen);
            o += llen;
        }
        n++;
    }
    *n_out = n;
    return o;
}
