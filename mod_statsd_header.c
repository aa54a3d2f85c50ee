/*
 * mod_statsd_header.c - StatsdStatHeader: a response header names the
 * request, and the client never sees it.
 *
 * The header is set by a handler (CGI, proxy, FastCGI, mod_lua, PHP...)
 * or by mod_headers (`Header set`, `Header always set`) in any section,
 * for static files and error pages too. mod_headers sets it from its own
 * output filters, so ours runs just in front of the HTTP header filter
 * (AP_FTYPE_PROTOCOL - 1: after every content and mod_headers filter,
 * whatever the order they were inserted in), keeps the value for the log
 * hook and removes the header.
 *
 * The filter is inserted only where the header can be set: a handler
 * makes the response, or mod_headers inserted one of its filters. A
 * static file without either is spared it.
 */
#include "mod_statsd.h"

/* mod_headers' response filters (it registers both or neither) */
#define HEADERS_OUT_FILTER "FIXUP_HEADERS_OUT"
#define HEADERS_ERR_FILTER "FIXUP_HEADERS_ERR"

static ap_filter_rec_t *stat_header_filter;
static ap_filter_rec_t *headers_out_filter;
static ap_filter_rec_t *headers_err_filter;

static apr_status_t stat_header_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const char *name = f->ctx;
    const char *v = apr_table_get(r->err_headers_out, name);

    if (!v)
        v = apr_table_get(r->headers_out, name);
    if (v) {
        /* the log hook reads it from here: cheaper than a table */
        ap_set_module_config(r->request_config, &statsd_module, (void *)v);
        apr_table_unset(r->headers_out, name);
        apr_table_unset(r->err_headers_out, name);
    }
    /* the headers go out with the first brigade: one look is enough */
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* Did mod_headers put a filter on this response? Its filters are content
 * filters: the walk stops at the first protocol one. */
static int headers_may_set(const request_rec *r)
{
    const ap_filter_t *f;

    for (f = r->output_filters; f && f->frec->ftype < AP_FTYPE_PROTOCOL;
         f = f->next)
        if (f->frec == headers_out_filter || f->frec == headers_err_filter)
            return 1;
    return 0;
}

static inline __attribute__((always_inline)) int stat_header_wanted(
    const request_rec *r, const statsd_dir_conf *c)
{
    return *c->stat_header
        && (r->handler || (headers_out_filter && headers_may_set(r)));
}

/* The same, and what StatsdFirstByte, StatsdResponseBytes and
 * StatsdBackendTimings need before the handler (mod_statsd_breakdown.c):
 * out of line, so the request path without them stays as it is. */
static __attribute__((noinline, cold)) void insert_with_breakdown(
    request_rec *r, const statsd_dir_conf *c)
{
    if (stat_header_wanted(r, c))
        ap_add_output_filter_handle(stat_header_filter,
                                    (void *)c->stat_header, r, r->connection);
    statsd_breakdown_insert(r, c);
}

/* For a response and for an error response (whose filters httpd sets up
 * anew): both hooks run after mod_headers' own. */
static void insert_stat_header_filter(request_rec *r)
{
    const statsd_dir_conf *c = ap_get_module_config(r->per_dir_config,
                                                    &statsd_module);

    if (c->enabled != 1)
        return;
    if (__builtin_expect(c->breakdown & STATSD_BREAKDOWN_BEFORE_HANDLER, 0))
        insert_with_breakdown(r, c);
    else if (stat_header_wanted(r, c))
        ap_add_output_filter_handle(stat_header_filter,
                                    (void *)c->stat_header, r, r->connection);
}

/* mod_headers registers its filters when it is loaded, before any
 * post_config: look them up once per configuration. */
static int find_headers_filters(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    (void)s;
    headers_out_filter = ap_get_output_filter_handle(HEADERS_OUT_FILTER);
    headers_err_filter = ap_get_output_filter_handle(HEADERS_ERR_FILTER);
    return OK;
}

void statsd_header_register_hooks(void)
{
    static const char *const after_headers[] = {"mod_headers.c", NULL};

    ap_hook_post_config(find_headers_filters, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(insert_stat_header_filter, after_headers, NULL,
                          APR_HOOK_LAST);
    ap_hook_insert_error_filter(insert_stat_header_filter, after_headers,
                                NULL, APR_HOOK_LAST);
    stat_header_filter = ap_register_output_filter(
        "STATSD_STAT_HEADER", stat_header_out, NULL,
        (ap_filter_type)(AP_FTYPE_PROTOCOL - 1));
}
