/*
 * statsd_bytes.h - the byte helpers of the per-request writers: short
 * copies (statsd_put) and the three-digit table (statsd_digits3).
 *
 * Most parts of a line (prefix, name, method, duration, a whole key) are
 * under 32 bytes. A call to the C library's memcpy for such a copy costs
 * more than the copy itself, so these are copied with at most two
 * overlapping loads and stores; longer ones go to memcpy. Numbers are
 * written three digits at a time from one table. Internal to the core
 * units: not part of any public API.
 */
#ifndef STATSD_BYTES_H
#define STATSD_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* "000".."999": three digits at a time instead of one division each */
extern const char statsd_digits3[1000][3];

/* v < 1000 without leading zeros; returns the length */
static inline size_t statsd_put_uint3(char *dst, unsigned v)
{
    const char *d = statsd_digits3[v];
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

/* Copy n bytes from s to p (no overlap); returns p + n. Reads and writes
 * exactly the n bytes, never around them. */
static inline __attribute__((always_inline))
char *statsd_put(char *p, const char *s, size_t n)
{
    /* the usual sizes first: 8-16, then 4-7 */
    if (n <= 16) {
        if (n >= 8) {
            uint64_t a, b;
            memcpy(&a, s, 8);        /* fixed-size memcpy: one load */
            memcpy(&b, s + n - 8, 8);
            memcpy(p, &a, 8);
            memcpy(p + n - 8, &b, 8);
        } else if (n >= 4) {
            uint32_t a, b;
            memcpy(&a, s, 4);
            memcpy(&b, s + n - 4, 4);
            memcpy(p, &a, 4);
            memcpy(p + n - 4, &b, 4);
        } else if (n) {
            /* 1 to 3 bytes: first, middle and last cover them all */
            char a = s[0], b = s[n / 2], c = s[n - 1];
            p[0] = a;
            p[n / 2] = b;
            p[n - 1] = c;
        }
    } else if (n <= 32) {
        struct { uint64_t w[2]; } a, b;
        memcpy(&a, s, 16);
        memcpy(&b, s + n - 16, 16);
        memcpy(p, &a, 16);
        memcpy(p + n - 16, &b, 16);
    } else {
        memcpy(p, s, n);
    }
    return p + n;
}

#endif /* STATSD_BYTES_H */
