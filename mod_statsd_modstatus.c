/*
 * mod_statsd_modstatus.c - the module's section of mod_status's
 * /server-status: the self-metrics of the whole server (lines with
 * ?auto, tables otherwise). Registered through mod_status's optional
 * hook, so the module loads and works without mod_status.
 */
#include "mod_statsd.h"
#include "mod_status.h"
#include "apr_optional_hooks.h"

APLOG_USE_MODULE(statsd);

static void html_row(request_rec *r, const char *what, apr_uint64_t v)
{
    ap_rprintf(r, "<tr><th align=\"left\">%s</th><td align=\"right\">%"
               APR_UINT64_T_FMT "</td></tr>\n", what, v);
}

static void html(request_rec *r, const statsd_selfstats *t,
                 apr_uint64_t distinct)
{
    char err[128];
    unsigned i, n;
    int k;

    ap_rputs("<hr /><h2>mod_statsd</h2>\n<table border=\"0\">\n", r);
    html_row(r, "Requests measured", t->requests);
    html_row(r, "Lines sent", t->lines);
    html_row(r, "Datagrams sent", t->datagrams);
    html_row(r, "Bytes sent", t->bytes);
    html_row(r, "Datagrams dropped", t->dropped);
    for (k = 0; k < STATSD_DROP_REASONS; k++)
        html_row(r, apr_psprintf(r->pool, "&nbsp;&nbsp;%s",
                                 statsd_client_drop_reason_name(
                                     (statsd_drop_reason)k)),
                 t->drops[k]);
    html_row(r, "Distinct names", distinct);
    html_row(r, "Requests named _other", t->names_other);
    ap_rputs("</table>\n", r);

    /* the address is this child's: each child follows DNS on its own */
    ap_rputs("<table border=\"1\"><tr><th>Destination</th><th>Address</th>"
             "<th>Lines sent</th><th>Datagrams dropped</th><th>Last error"
             "</th></tr>\n", r);
    n = statsd_shared_dests();
    for (i = 0; i < n; i++) {
        const statsd_sink *sink = APR_ARRAY_IDX(statsd_reg->sinks, i,
                                                statsd_sink *);
        statsd_selfstats d;
        char addr[STATSD_ADDRESS_TEXT_MAX];
        int e;

        statsd_shared_read_dest(i, &d, &e);
        if (statsd_client_address_text(sink->client, addr, sizeof(addr)))
            apr_cpystrn(addr, "(none yet)", sizeof(addr));
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%" APR_UINT64_T_FMT
                   "</td><td>%" APR_UINT64_T_FMT "</td><td>%s</td></tr>\n",
                   ap_escape_html(r->pool, target_text(
                       r->pool, statsd_client_target(sink->client))),
                   ap_escape_html(r->pool, addr),
                   d.lines, d.dropped,
                   e ? ap_escape_html(r->pool,
                                      apr_strerror(e, err, sizeof(err)))
                     : "none");
    }
    ap_rputs("</table>\n", r);

    if (statsd_reg->names) {
        ap_rputs("<table border=\"1\"><tr><th>Prefix</th><th>Names</th>"
                 "<th>Share</th></tr>\n", r);
        n = statsd_shared_groups();
        for (i = 0; i < n; i++) {
            apr_size_t names;
            const statsd_prefix *pf = statsd_shared_group(i, &names);
            ap_rprintf(r, "<tr><td>%s</td><td>%" APR_SIZE_T_FMT "</td><td>%"
                       APR_SIZE_T_FMT "</td></tr>\n",
                       pf->len ? ap_escape_html(r->pool, apr_pstrmemdup(
                                     r->pool, pf->name, pf->len))
                               : "(none)",
                       names, statsd_nameset_group_cap(statsd_reg->names));
        }
        ap_rputs("</table>\n", r);
    }
}

static int status_hook(request_rec *r, int flags)
{
    statsd_selfstats t;
    apr_uint64_t distinct;
    apr_size_t need;
    char *buf;

    if (statsd_shared_read(&t, &distinct) != 0)
        return OK;
    if (!(flags & AP_STATUS_SHORT)) {
        html(r, &t, distinct);
        return OK;
    }
    need = statsd_selfstats_format(&t, distinct, NULL, 0) + 1;
    buf = apr_palloc(r->pool, need);
    statsd_selfstats_format(&t, distinct, buf, need);
    ap_rputs(buf, r);
    return OK;
}

void statsd_modstatus_register(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
