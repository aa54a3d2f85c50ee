/*
 * statsd_guard.c - which path segments are ids, and names with them
 * collapsed to "_id_" (see statsd_guard.h).
 */
#include <string.h>

#include "statsd_guard.h"

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 8-4-4-4-12 hex digits */
static int is_uuid(const char *s, size_t len)
{
    size_t i;

    if (len != 36)
        return 0;
    for (i = 0; i < len; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

int statsd_guard_is_id(const char *seg, size_t len)
{
    size_t i, digits = 0, lower = 0, upper = 0, hex = 0, seps = 0;

    if (len == 0)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)seg[i];
        digits += is_digit(c);
        lower += is_lower(c);
        upper += is_upper(c);
        hex += is_hex(c);
        seps += c == '-' || c == '_';
    }
    if (digits == len)
        return 1;
    if (is_uuid(seg, len))
        return 1;
    /* hex: a digit is required so that words such as "deadbeef" stay */
    if (len >= 8 && hex == len && digits > 0)
        return 1;
    /* tokens: long, letters and digits, and either mixed case or in one
     * piece, so that slugs like "release-notes-2024" keep their name */
    if (len >= 16 && digits > 0 && lower + upper > 0
        && ((lower > 0 && upper > 0) || seps == 0))
        return 1;
    return 0;
}

size_t statsd_guard_collapse(char *dst, size_t cap, const char *src,
                             size_t len)
{
    static const char id[] = STATSD_ID_NAME;
    size_t start = 0, n = 0, i;

    for (i = 0; i <= len; i++) {
        const char *seg = src + start;
        size_t seg_len = i - start, add;
        if (i < len && src[i] != '.')
            continue;
        start = i + 1;
        if (statsd_guard_is_id(seg, seg_len)) {
            seg = id;
            seg_len = sizeof(id) - 1;
        }
        add = seg_len + (n ? 1 : 0);
        if (n + add > cap) {
            /* whole segments only, but never nothing: a first segment
             * longer than cap is cut, as statsd_name_clean does */
            if (n == 0) {
                memcpy(dst, seg, cap);
                n = cap;
            }
            break;
        }
        if (n)
            dst[n++] = '.';
        memcpy(dst + n, seg, seg_len);
        n += seg_len;
    }
    return n;
}
