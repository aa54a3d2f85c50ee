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
 *
 * So a code httpd has its own line for always goes out as it is: those
 * are looked up in a table made from httpd's at start-up, and only the
 * other codes need their status line read.
 */
#include "mod_statsd.h"

#define CODES 1000

/* sendable[c]: httpd has a status line of its own for code c */
static unsigned char sendable[CODES];

/* The code at the start of a status line ("404 Not Found"), or -1 when
 * it does not start with one (100-999). */
static int line_code(const char *s)
{
    unsigned d0, d1, d2;

    if (!s || (d0 = (unsigned char)s[0] - '0') - 1 > 8
        || (d1 = (unsigned char)s[1] - '0') > 9
        || (d2 = (unsigned char)s[2] - '0') > 9
        || (s[3] != ' ' && s[3] != '\0'))
        return -1;
    return (int)(d0 * 100 + d1 * 10 + d2);
}

/* A code without a line of httpd's own: the code of the line sent, which
 * a handler gave with it; without a line (nothing was sent, or a line
 * with another code) the 500 the header filter makes of it. */
static __attribute__((noinline)) int unusual_status(const request_rec *r)
{
    int code = line_code(r->status_line);

    return code == r->status ? code : HTTP_INTERNAL_SERVER_ERROR;
}

int statsd_sent_status(const request_rec *r)
{
    unsigned st = (unsigned)r->status;

    if (st < CODES && sendable[st])
        return (int)st;
    return unusual_status(r);
}

/* ap_index_of_response() gives the index of 500's line for every code
 * httpd has no line for. */
static int make_table(apr_pool_t *pconf, apr_pool_t *plog,
                      apr_pool_t *ptemp, server_rec *s)
{
    int other = ap_index_of_response(HTTP_INTERNAL_SERVER_ERROR), c;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    (void)s;
    for (c = 0; c < CODES; c++)
        sendable[c] = c >= 100 && (c == HTTP_INTERNAL_SERVER_ERROR
                                   || ap_index_of_response(c) != other);
    return OK;
}

void statsd_status_register_hooks(void)
{
    ap_hook_post_config(make_table, NULL, NULL, APR_HOOK_MIDDLE);
}
