/*
 * mod_statsd_status.c - the status the client received, for the key and
 * the good/bad/4xx/5xx lines.
 *
 * r->status is what a handler left there, not always what went out. The
 * HTTP header filter sends r->status_line when its code matches r->status
 * (a CGI's "Status: 299 X" goes out as 299), else the line
 * ap_get_status_line() gives, which is 500 for any code httpd has no
 * reason phrase for (42, 1234, -5, 299 without a line of its own); it
 * leaves the line it sent in r->status_line.
 */
#include "mod_statsd.h"

/* The code at the start of a status line ("404 Not Found"), or -1 when
 * it does not start with one (100-999). Plain comparisons: this runs on
 * every request. */
static inline int line_code(const char *s)
{
    unsigned d0, d1, d2;

    if (!s || (d0 = (unsigned char)s[0] - '0') - 1 > 8
        || (d1 = (unsigned char)s[1] - '0') > 9
        || (d2 = (unsigned char)s[2] - '0') > 9
        || (s[3] != ' ' && s[3] != '\0'))
        return -1;
    return (int)(d0 * 100 + d1 * 10 + d2);
}

/* No line yet (the header filter has not run: HTTP/0.9, or nothing was
 * sent): the code of the line the header filter would have made. */
static __attribute__((noinline)) int mapped_status(int status)
{
    int code = line_code(ap_get_status_line(status));

    return code > 0 ? code : HTTP_INTERNAL_SERVER_ERROR;
}

int statsd_sent_status(const request_rec *r)
{
    int code = line_code(r->status_line);

    return code > 0 ? code : mapped_status(r->status);
}
