/*
 * statsd_target.c - destinations as written in the configuration: parsed,
 * checked, printed and compared (see statsd_target.h).
 */
#include "statsd_target.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int alnum(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
        || (ch >= '0' && ch <= '9');
}

static int hex_digit(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a'
                                        && (ch | 0x20) <= 'f');
}

/* A host name or an IPv4 literal: letters, digits, '.', '-' and '_', with
 * at least one letter or digit. */
static int name_ok(const char *h, size_t len)
{
    size_t i;
    int any = 0;

    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (alnum(ch))
            any = 1;
        else if (ch != '.' && ch != '-' && ch != '_')
            return 0;
    }
    return any;
}

/* An IPv6 literal (no brackets): hex digits, ':' (two at least) and '.'
 * (an IPv4 tail), then optionally '%' and a zone name. So a "host:port"
 * (one ':') or a lone '%' is not a host. */
static int ipv6_ok(const char *h, size_t len)
{
    const char *zone = memchr(h, '%', len);
    size_t n = zone ? (size_t)(zone - h) : len, i, colons = 0;

    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (ch == ':')
            colons++;
        else if (!hex_digit(ch) && ch != '.')
            return 0;
    }
    if (colons < 2)
        return 0;
    return !zone || name_ok(zone + 1, len - n - 1);
}

/* Fill t (UDP) from host[0..len) without brackets; port already valid. */
static int fill_udp(statsd_target *t, const char *host, size_t len,
                    unsigned port)
{
    if (len == 0 || len > STATSD_HOST_MAX)
        return -EINVAL;
    if (memchr(host, ':', len) ? !ipv6_ok(host, len) : !name_ok(host, len))
        return -EINVAL;
    memset(t, 0, sizeof(*t));
    t->kind = STATSD_TARGET_UDP;
    memcpy(t->host, host, len);
    t->host[len] = '\0';
    t->port = port;
    return 0;
}

/* "[v6]" -> inner span. Only IPv6 literals are bracketed, so the inside
 * must hold a ':'. */
static int unbracket(const char *s, size_t len, const char **in,
                     size_t *in_len)
{
    if (len < 3 || s[0] != '[' || s[len - 1] != ']')
        return -EINVAL;
    if (memchr(s + 1, ':', len - 2) == NULL)
        return -EINVAL;
    *in = s + 1;
    *in_len = len - 2;
    return 0;
}

/* Host as written by a user: "[v6]" loses its brackets, stray brackets
 * are refused by fill_udp's character check. */
static int fill_udp_host(statsd_target *t, const char *host, size_t len,
                         unsigned port)
{
    const char *in = host;
    size_t in_len = len;

    if (len > 0 && host[0] == '[' && unbracket(host, len, &in, &in_len) != 0)
        return -EINVAL;
    return fill_udp(t, in, in_len, port);
}

int statsd_target_parse_port(const char *s, unsigned *port)
{
    unsigned long v = 0;
    const char *p;

    if (s == NULL || port == NULL || *s == '\0')
        return -EINVAL;
    for (p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535)               /* also stops any overflow */
            return -EINVAL;
    }
    if (v == 0)
        return -EINVAL;
    *port = (unsigned)v;
    return 0;
}

int statsd_target_from_host_port(statsd_target *t, const char *host,
                                 unsigned port)
{
    statsd_target tmp;
    int rc;

    if (t == NULL || port > 65535)
        return -EINVAL;
    if (host == NULL || *host == '\0')
        host = STATSD_DEFAULT_HOST;
    if (port == 0)
        port = STATSD_DEFAULT_PORT;
    rc = fill_udp_host(&tmp, host, strlen(host), port);
    if (rc == 0)
        *t = tmp;
    return rc;
}

/* The part after "udp://": "host", "host:port", "[v6]" or "[v6]:port". */
static int parse_udp_authority(statsd_target *t, const char *s)
{
    const char *host_end;
    const char *colon;
    unsigned port = STATSD_DEFAULT_PORT;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL)
            return -EINVAL;
        host_end = close + 1;
        if (*host_end != '\0' && *host_end != ':')
            return -EINVAL;
        colon = *host_end == ':' ? host_end : NULL;
    } else {
        /* An unbracketed host has no ':', so the first one starts the port
         * ("udp://::1:8125" is refused: its host would be empty). */
        colon = strchr(s, ':');
        host_end = colon != NULL ? colon : s + strlen(s);
    }
    if (colon != NULL && statsd_target_parse_port(colon + 1, &port) != 0)
        return -EINVAL;
    if (host_end == s)
        return -EINVAL;             /* udp:// needs a host */
    return fill_udp_host(t, s, (size_t)(host_end - s), port);
}

/* The part after "unix:": an absolute path that fits sun_path. Control
 * bytes are refused: such a path is a configuration mistake. */
static int parse_unix_path(statsd_target *t, const char *path)
{
    size_t len = strlen(path);
    size_t i;

    if (len == 0 || path[0] != '/' || len > STATSD_PATH_MAX)
        return -EINVAL;
    for (i = 0; i < len; i++)
        if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
            return -EINVAL;
    memset(t, 0, sizeof(*t));
    t->kind = STATSD_TARGET_UNIX;
    memcpy(t->path, path, len + 1);
    return 0;
}

int statsd_target_parse(statsd_target *t, const char *spec)
{
    static const char udp[] = "udp://";
    static const char unx[] = "unix:";
    statsd_target tmp;
    int rc;

    if (t == NULL || spec == NULL)
        return -EINVAL;
    /* URL schemes are case-insensitive. */
    if (strncasecmp(spec, udp, sizeof(udp) - 1) == 0)
        rc = parse_udp_authority(&tmp, spec + sizeof(udp) - 1);
    else if (strncasecmp(spec, unx, sizeof(unx) - 1) == 0)
        rc = parse_unix_path(&tmp, spec + sizeof(unx) - 1);
    else
        rc = -EINVAL;
    if (rc == 0)
        *t = tmp;
    return rc;
}

int statsd_target_format(const statsd_target *t, char *buf, size_t cap)
{
    int n;

    if (t == NULL || buf == NULL)
        return -EINVAL;
    if (t->kind == STATSD_TARGET_UNIX)
        n = snprintf(buf, cap, "unix:%s", t->path);
    else if (t->kind == STATSD_TARGET_UDP && strchr(t->host, ':') != NULL)
        n = snprintf(buf, cap, "udp://[%s]:%u", t->host, t->port);
    else if (t->kind == STATSD_TARGET_UDP)
        n = snprintf(buf, cap, "udp://%s:%u", t->host, t->port);
    else
        return -EINVAL;
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= cap)
        return -ENOSPC;
    return n;
}

int statsd_target_equal(const statsd_target *a, const statsd_target *b)
{
    if (a == NULL || b == NULL || a->kind != b->kind)
        return 0;
    if (a->kind == STATSD_TARGET_UNIX)
        return strcmp(a->path, b->path) == 0;
    /* Host names are case-insensitive (so are IPv6 hex digits). */
    return a->port == b->port && strcasecmp(a->host, b->host) == 0;
}

int statsd_target_valid(const statsd_target *t)
{
    statsd_target tmp;

    if (t->kind == STATSD_TARGET_UDP)
        return t->port >= 1 && t->port <= 65535
            && memchr(t->host, '\0', sizeof(t->host)) != NULL
            && fill_udp(&tmp, t->host, strlen(t->host), t->port) == 0;
    if (t->kind == STATSD_TARGET_UNIX)
        return memchr(t->path, '\0', sizeof(t->path)) != NULL
            && parse_unix_path(&tmp, t->path) == 0;
    return 0;
}
