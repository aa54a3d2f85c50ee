/*
 * statsd_name.c - metric names from request parts.
 *
 * Runs on every request, so it works in single passes over the input
 * with a byte table instead of ctype calls (which depend on the locale).
 */
#include <string.h>

#include "statsd_bytes.h"
#include "statsd_name.h"

/* 1 for the bytes a name segment may carry as they are: [A-Za-z0-9_-]. */
static const unsigned char seg_ok[256] = { STATSD_SEGMENT_BYTES };

static unsigned char seg_byte(unsigned char c)
{
    return seg_ok[c] ? c : '_';
}

size_t statsd_name_segment(char *dst, const char *src, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++)
        dst[i] = (char)seg_byte((unsigned char)src[i]);
    return len;
}

/* Where the last segment of name[0..n) starts: just after its last dot,
 * or 0. */
static size_t last_segment(const char *name, size_t n)
{
    while (n > 0 && name[n - 1] != '.')
        n--;
    return n;
}

size_t statsd_name_clean(char *dst, size_t cap, const char *src, size_t len)
{
    size_t out = 0, i;
    int pending_dot = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '.') {
            /* a separator only counts once a segment follows it */
            pending_dot = out > 0;
            continue;
        }
        if (out + pending_dot + 1 > cap) {
            /* full: end at the last whole segment, if there is one */
            if (!pending_dot) {
                size_t k = last_segment(dst, out);
                if (k > 0)
                    out = k - 1;
            }
            break;
        }
        if (pending_dot) {
            dst[out++] = '.';
            pending_dot = 0;
        }
        dst[out++] = (char)seg_byte(c);
    }
    return out;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Byte classes of a path: what the segment loop does with each byte;
 * from PB_SLASH on, the byte ends a segment ('?' and '#' the path too).
 * NUL must stay out of PB_KEEP: the URI's terminating NUL ends the scan. */
enum { PB_KEEP = 0, PB_MAP, PB_DOT, PB_PCT, PB_SLASH, PB_STOP };

static const unsigned char path_class[256] = {
#define M8 PB_MAP, PB_MAP, PB_MAP, PB_MAP, PB_MAP, PB_MAP, PB_MAP, PB_MAP
    /* 0x00-0x2f: controls, space, punctuation */
    M8, M8, M8, M8,
    PB_MAP, PB_MAP, PB_MAP, PB_STOP /* # */, PB_MAP, PB_PCT /* % */,
    PB_MAP, PB_MAP, PB_MAP, PB_MAP, PB_MAP, PB_MAP, PB_MAP,
    PB_KEEP /* - */, PB_DOT /* . */, PB_SLASH /* / */,
    /* 0x30-0x3f: digits, then : ; < = > ? */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    PB_MAP, PB_MAP, PB_MAP, PB_MAP, PB_MAP, PB_STOP /* ? */,
    /* 0x40-0x5f: @, A-Z, [ \ ] ^ _ */
    PB_MAP, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    PB_MAP, PB_MAP, PB_MAP, PB_MAP, PB_KEEP /* _ */,
    /* 0x60-0x7f: `, a-z, { | } ~ DEL */
    PB_MAP, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    PB_MAP, PB_MAP, PB_MAP, PB_MAP, PB_MAP,
    /* 0x80-0xff */
    M8, M8, M8, M8, M8, M8, M8, M8, M8, M8, M8, M8, M8, M8, M8, M8,
#undef M8
};

/* A "%XX" at p (before end) as a byte, or -1. */
static int pct_decode(const char *p, const char *end)
{
    int hi, lo;
    if (end - p < 3)
        return -1;
    hi = hexval((unsigned char)p[1]);
    lo = hexval((unsigned char)p[2]);
    return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

/* Drop the last segment of the name being built: the dst bytes from the
 * last separator on, or all of it for the first (separators only ever
 * sit between segments; an excluded one leaves an empty segment). */
static size_t pop_segment(const char *dst, size_t out)
{
    size_t k = last_segment(dst, out);
    return k > 0 ? k - 1 : 0;
}

/* The name of the path at p (up to end, a '?' or a '#') without exclude
 * tests, in one pass over the bytes: each segment is decoded and
 * sanitised as it is copied, behind the separator that joins it to the
 * name so far; the end of a segment takes it back when the segment turns
 * out empty, "." or "..". The common byte (plain) is a table look-up and
 * a store, with no end check: the NUL at end is not a plain byte, so the
 * run stops on it and the rarer path tells it from a NUL inside the URI.
 * Writes at most as many bytes as it reads. Returns the length (0: none).
 */
static size_t plain_path_name(char *dst, const char *p, const char *end)
{
    char *o = dst;       /* the end of what is written */
    char *seg = dst;     /* where the current segment's separator (if any)
                          * or first byte went */
    char *body = dst;    /* where its first byte went */
    size_t dots = 0;     /* its decoded dots, to tell "." and ".." */

    /* nearly every path starts with one: no empty segment to take back */
    while (p < end && *p == '/')
        p++;
    for (;;) {
        unsigned char c, k;
        size_t i = 0;

        /* one index for both sides: the run of plain bytes */
        while ((k = path_class[c = (unsigned char)p[i]]) == PB_KEEP) {
            o[i] = (char)c;
            i++;
        }
        p += i;
        o += i;
        if (k == PB_SLASH && o != body && !dots) {
            /* the usual end of a segment: a plain one, and the next one's
             * separator (the '/' is before end: uri[len] is NUL) */
            p++;
            seg = o;
            *o++ = '.';
            body = o;
            continue;
        }
        if (k < PB_SLASH && p < end) {
            if (k == PB_PCT) {
                int v = pct_decode(p, end);
                if (v >= 0) {
                    p += 3;
                    dots += v == '.';
                    *o++ = (char)seg_byte((unsigned char)v);
                    continue;
                }
            }
            dots += k == PB_DOT;
            *o++ = '_';
            p++;
            continue;
        }
        /* any other end of a segment: empty, "." and ".." leave nothing
         * of it, and ".." takes the one before it too */
        if (o == body || (dots == (size_t)(o - body) && dots <= 2))
            o = dst + (dots == 2 ? pop_segment(dst, (size_t)(seg - dst))
                                 : (size_t)(seg - dst));
        if (k != PB_SLASH)
            break;
        p++;
        seg = o;
        if (o != dst)
            *o++ = '.';
        body = o;
        dots = 0;
    }
    return (size_t)(o - dst);
}

/* The same, decoding only: excludes match the segment as decoded. */
static size_t raw_segment(char *out, const char **pp, const char *end,
                          size_t *dots)
{
    const char *p = *pp;
    size_t n = 0, d = 0;

    while (p < end && path_class[(unsigned char)*p] < PB_SLASH) {
        int v = *p == '%' ? pct_decode(p, end) : -1;
        unsigned char c = v >= 0 ? (unsigned char)v : (unsigned char)*p;
        p += v >= 0 ? 3 : 1;
        d += c == '.';
        out[n++] = (char)c;
    }
    *pp = p;
    *dots = d;
    return n;
}

/* Remove the empty segments that excluded segments left behind. */
static size_t squeeze(char *dst, size_t out)
{
    size_t r, w = 0;
    for (r = 0; r < out; r++) {
        if (dst[r] == '.' && (w == 0 || dst[w - 1] == '.'))
            continue;
        dst[w++] = dst[r];
    }
    if (w > 0 && dst[w - 1] == '.')
        w--;
    return w;
}

/* The exclude tests of one scan, and how far they may go. */
typedef struct {
    statsd_exclude_fn test;
    void *baton;
    size_t max;
    unsigned looked;
} exclude_run;

/* Test the segment dst[start..start+seglen) that follows a name of out
 * bytes: the new length of the name (the segment kept and sanitised, or
 * left as an empty one), or (size_t)-1 to end the scan here: a request
 * may not make the tests run without end, so they stop past the cap, or
 * once the name is full (the key could not hold more of it). */
static size_t exclude_step(exclude_run *x, char *dst, size_t out,
                           size_t start, size_t seglen, int *holes)
{
    if (x->looked == STATSD_PATH_MAX_SEGMENTS || out >= x->max)
        return (size_t)-1;
    x->looked++;
    if (x->test(dst + start, seglen, x->baton)) {
        /* keep an empty segment so a later ".." removes this one */
        *holes = 1;
        return start;
    }
    statsd_name_segment(dst + start, dst + start, seglen);
    return start + seglen;
}

/* The name of the path at p (up to end, a '?' or a '#') with exclude
 * tests: segment by segment, each decoded, then tested, then sanitised.
 * Out of line: the scan without tests carries nothing of this. Returns
 * the length (0: none). */
static __attribute__((noinline)) size_t
tested_path_name(char *dst, const char *p, const char *end, exclude_run *x)
{
    size_t out = 0;
    int holes = 0;

    while (p < end) {
        size_t start, seglen, dots, next;

        if (*p == '/') {
            p++;
            continue;
        }
        if (*p == '?' || *p == '#')
            break;
        /* one segment: decode into dst behind a separator */
        /* a separator goes in front of every segment but the first; it
         * only counts once the segment is kept */
        if (out)
            dst[out] = '.';
        start = out ? out + 1 : 0;
        seglen = raw_segment(dst + start, &p, end, &dots);
        if (dots == seglen && seglen <= 2) {
            if (seglen == 2)
                out = pop_segment(dst, out);
            continue;
        }
        next = exclude_step(x, dst, out, start, seglen, &holes);
        if (next == (size_t)-1)
            break;
        out = next;
    }
    return holes ? squeeze(dst, out) : out;
}

size_t statsd_name_from_path(char *dst, size_t cap, const char *uri,
                             size_t len, size_t max,
                             statsd_exclude_fn exclude, void *baton)
{
    const char *p = uri, *end = uri + len;
    size_t out;

    (void)cap; /* the contract guarantees room: output <= len + 1 bytes */

    if (len == 1 && *p == '*') /* OPTIONS * */
        p = end;

    /* absolute-form: skip "scheme://authority" (RFC 3986 scheme:
     * a letter, then letters, digits, '+', '-' or '.') */
    if (p < end && *p != '/') {
        const char *s = p;
        if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z')
            while (s < end && (seg_ok[(unsigned char)*s] || *s == '+'
                               || *s == '.') && *s != '_')
                s++;
        if (s > p && s < end && *s == ':' && end - s >= 3 && s[1] == '/'
            && s[2] == '/') {
            /* the authority ends at the path, query or fragment */
            p = s + 3;
            while (p < end && *p != '/' && *p != '?' && *p != '#')
                p++;
        }
    }
    if (__builtin_expect(exclude != NULL, 0)) {
        exclude_run x = { exclude, baton, max, 0 };
        out = tested_path_name(dst, p, end, &x);
    } else {
        out = plain_path_name(dst, p, end);
    }
    if (out == 0) {
        memcpy(dst, STATSD_ROOT_NAME, sizeof(STATSD_ROOT_NAME) - 1);
        return sizeof(STATSD_ROOT_NAME) - 1;
    }
    return out;
}

/* Append a part of n bytes (none: nothing), after a dot unless it is the
 * first. */
static size_t join(char *dst, size_t out, const char *s, size_t n)
{
    if (n == 0)
        return out;
    if (out)
        dst[out++] = '.';
    memcpy(dst + out, s, n);
    return out + n;
}

/* Longest prefix of name[0..len) of at most budget bytes, cut after a whole
 * segment when one fits, never ending in a dot. */
static size_t cut_name(const char *name, size_t len, size_t budget)
{
    size_t n;
    if (len <= budget)
        return len;
    n = budget;
    if (name[n] != '.') {
        size_t k = last_segment(name, n);
        if (k > 1)
            n = k - 1;   /* before the dot that starts the cut segment */
    }
    while (n > 0 && name[n - 1] == '.')
        n--;
    return n;
}

/* The common key, everything present and short enough: plain copies.
 * (P.NAME.METHOD.SSS plus ".S" when there is a suffix.) */
static size_t key_fast(char *dst, const statsd_key_parts *p)
{
    char *o = dst;
    unsigned s = (unsigned)p->status;

    o = statsd_put(o, p->prefix, p->prefix_len);
    *o++ = '.';
    o = statsd_put(o, p->name, p->name_len);
    *o++ = '.';
    o = statsd_put(o, p->method, p->method_len);
    o[0] = '.';
    memcpy(o + 1, statsd_digits3[s], 3);   /* 100..999: always three */
    o += 4;
    if (p->suffix_len) {
        *o++ = '.';
        o = statsd_put(o, p->suffix, p->suffix_len);
    }
    *o = '\0';
    return (size_t)(o - dst);
}

/* Room left for a part once `used` bytes (and a dot) are taken. */
static size_t room(size_t max, size_t used)
{
    return used + 1 >= max ? 0 : max - used - 1;
}

/* Every other key: parts missing, cut or to be sanitised. Kept out of
 * line so the common case above stays small enough to inline. */
static __attribute__((noinline)) size_t
key_general(char *dst, size_t max, const statsd_key_parts *p)
{
    char status[3];
    size_t status_len = 0, method_len, out, core;
    size_t name_len = p->name_len;
    size_t prefix_len = p->prefix_len, suffix_len = p->suffix_len;

    if (p->status >= 0)
        status_len = statsd_put_uint3(status, p->status > 999
                                                  ? 999u
                                                  : (unsigned)p->status);
    /* METHOD.STATUS stay whole: everything else gives way to them */
    method_len = p->method_len > STATSD_METHOD_MAX ? STATSD_METHOD_MAX
                                                   : p->method_len;
    core = status_len;
    if (method_len + status_len + 1 > max)  /* only with absurd caps */
        method_len = max > status_len + 1 ? max - status_len - 1 : 0;
    if (method_len)
        core += method_len + (status_len ? 1 : 0);
    /* then the prefix, then the suffix, then NAME, each cut as needed */
    prefix_len = cut_name(p->prefix, prefix_len, room(max, core));
    if (prefix_len)
        core += prefix_len + 1;
    suffix_len = cut_name(p->suffix, suffix_len, room(max, core));
    if (suffix_len)
        core += suffix_len + 1;
    name_len = cut_name(p->name, name_len, room(max, core));

    out = join(dst, 0, p->prefix, prefix_len);
    out = join(dst, out, p->name, name_len);
    out = join(dst, out, p->method, method_len);
    if (!p->method_clean)   /* sanitised where it now stands */
        statsd_name_segment(dst + out - method_len, dst + out - method_len,
                            method_len);
    out = join(dst, out, status, status_len);
    out = join(dst, out, p->suffix, suffix_len);
    dst[out] = '\0';
    return out;
}

size_t statsd_name_key(char *dst, size_t cap, const statsd_key_parts *p)
{
    size_t max = p->max_len;

    if (cap == 0)
        return 0;
    if (max > cap - 1)
        max = cap - 1;
    if (p->status >= 100 && p->status <= 999 && p->method_clean
        && p->method_len <= STATSD_METHOD_MAX && p->prefix_len
        && p->name_len && p->method_len
        && p->prefix_len + p->name_len + p->method_len + p->suffix_len + 8
               <= max)
        return key_fast(dst, p);
    return key_general(dst, max, p);
}

size_t statsd_name_expand(char *dst, size_t cap, const char *src,
                          const char *host)
{
    static const char tag[] = "{hostname}";
    size_t out = 0, hlen = strlen(host);

    while (*src) {
        if (strncmp(src, tag, sizeof(tag) - 1) == 0) {
            if (out + hlen >= cap)
                return (size_t)-1;
            memcpy(dst + out, host, hlen);
            out += hlen;
            src += sizeof(tag) - 1;
            continue;
        }
        if (out + 1 >= cap)
            return (size_t)-1;
        dst[out++] = *src++;
    }
    if (out >= cap)
        return (size_t)-1;
    dst[out] = '\0';
    return out;
}

size_t statsd_name_short_host(char *dst, size_t cap, const char *fqdn)
{
    const char *dot = strchr(fqdn, '.');
    size_t len = dot ? (size_t)(dot - fqdn) : strlen(fqdn);

    if (cap == 0)
        return 0;
    if (len > cap - 1)
        len = cap - 1;
    statsd_name_segment(dst, fqdn, len);
    dst[len] = '\0';
    return len;
}
