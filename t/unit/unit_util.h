/*
 * unit_util.h - helpers shared by the Check unit tests: exact-size heap
 * copies (so AddressSanitizer catches a read past the contract) and
 * byte-exact comparisons with readable failure messages.
 */
#ifndef UNIT_UTIL_H
#define UNIT_UTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A heap copy of exactly len bytes, not NUL-terminated. */
static inline char *dup_exact(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(p);
    if (len)
        memcpy(p, s, len);
    return p;
}

/* The same, then a NUL: the terminated URI statsd_name_from_path takes.
 * ASan still reports a read past the NUL. */
static inline char *dup_terminated(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    ck_assert_ptr_nonnull(p);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Printable rendering of bytes for failure messages; rotating buffers so
 * that several renderings can appear in one message. */
static inline const char *esc(const char *s, size_t n)
{
    static char bufs[4][8192];
    static int which;
    char *out = bufs[which++ & 3];
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < sizeof bufs[0]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            snprintf(out + o, 5, "\\x%02x", c);
            o += 4;
        }
    }
    out[o] = '\0';
    return out;
}

#define ASSERT_BYTES(got, got_len, exp, exp_len, what)                        \
    ck_assert_msg((got_len) == (exp_len) && memcmp((got), (exp), (exp_len)) == 0, \
                  "%s: expected \"%s\" (%zu bytes), got \"%s\" (%zu bytes)",   \
                  (what), esc((exp), (exp_len)), (size_t)(exp_len),           \
                  esc((got), (got_len)), (size_t)(got_len))

#endif /* UNIT_UTIL_H */
