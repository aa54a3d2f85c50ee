/*
 * mod_statsd.c - the module: hook registration and the request path.
 * Each finished request is handed to the core units: its name is chosen
 * (statsd_choose), its lines built (statsd_lines) and queued or sent
 * (statsd_batch, statsd_client).
 * Directives live in mod_statsd_config.c; start-up, children and the
 * watchdog in mod_statsd_lifecycle.c; the worker gauges in
 * mod_statsd_workers.c; the StatsdStatHeader filter in
 * mod_statsd_header.c.
 */
#include "mod_statsd.h"
#include "statsd_breakdown.h"
#include "statsd_choose.h"

APLOG_USE_MODULE(statsd);

/* ---------------------------------------------------------------------- */
/* the request path                                                       */

/* The excludes of a request, and the request (for the log). */
typedef struct {
    const apr_array_header_t *excludes;    /* statsd_exclude */
    request_rec *r;
} exclude_scan;

/* Log a pattern that gave up at most once a minute per child. */
static void report_exclude_gave_up(request_rec *r, const statsd_exclude *ex)
{
    static apr_time_t last_log;

    if (statsd_log_due(&last_log, r->request_time))
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      STATSD_MSG_EXCLUDE_GAVE_UP, ex->pattern,
                      EXCLUDE_MATCH_LIMIT);
}

static int exclude_segment(const char *seg, size_t len, void *baton)
{
    exclude_scan *scan = baton;
    const statsd_exclude *ex = (const statsd_exclude *)scan->excludes->elts;
    int i, rc;

    for (i = 0; i < scan->excludes->nelts; i++) {
        rc = ap_regexec_len(ex[i].re, seg, len, 0, NULL, 0);
        if (rc == 0)
            return 1;
        /* the match limit (or a PCRE error): not a match, so kept */
        if (rc != AP_REG_NOMATCH)
            report_exclude_gave_up(scan->r, &ex[i]);
    }
    return 0;
}

/* The statsd.stat note of the last request of the internal-redirect
 * chain, or of the one before it, and so on back to the first. */
static const char *stat_note(request_rec *last)
{
    const char *v;

    for (; last; last = last->prev)
        if ((v = apr_table_get(last->notes, NOTE_STAT)) != NULL)
            return v;
    return NULL;
}

/* The same for the StatsdStatHeader value stat_header_out kept. */
static const char *stat_header(request_rec *last)
{
    const char *v;

    for (; last; last = last->prev)
        if ((v = ap_get_module_config(last->request_config, &statsd_module)))
            return v;
    return NULL;
}

static int verb_allowed(const statsd_verbs *v, const request_rec *r)
{
    int i;

    if (r->header_only && r->method_number == M_GET)   /* HEAD */
        return v->head && !strcmp(r->method, "HEAD");
    if (r->method_number < 64 && r->method_number != M_INVALID
        && (v->bits & (AP_METHOD_BIT << r->method_number)))
        return 1;
    if (v->names)
        for (i = 0; i < v->names->nelts; i++)
            if (!strcmp(APR_ARRAY_IDX(v->names, i, const char *), r->method))
                return 1;
    return 0;
}

/* The lines with tags, another timer type or a breakdown line, into the
 * caller's small buffer (m->lines) when their bound (from the plan, or
 * from the tags' length, plus room for the breakdown lines when one is
 * on) fits it, else into one from the request's pool. Out of line: the
 * request path of a configuration without them stays as it is. */
static __attribute__((noinline)) int build_tagged(apr_pool_t *p,
                                                  const statsd_dir_conf *c,
                                                  statsd_request *req,
                                                  statsd_measurement *m)
{
    size_t need;

    if (c->tag_plan) {
        need = c->tag_plan->lines_max
               + (c->breakdown ? STATSD_BREAKDOWN_MAX : 0);
        if (need > STATSD_LINES_SMALL)
            m->lines = apr_palloc(p, need);
        return statsd_lines_build_planned(req, c->tag_plan, m);
    }
    req->timer = (statsd_timer_type)c->timer_type;
    req->tag_format = (statsd_tag_format)c->tag_format;
    req->names = &c->prefix->tag_names;
    req->tags = statsd_tags_text(c->tags, req->tag_format, &req->tags_len);
    req->tag_mode = c->tag_mode;
    need = statsd_lines_size_tagged(req)
           + (c->breakdown ? STATSD_BREAKDOWN_MAX : 0);
    if (need > STATSD_LINES_SMALL)
        m->lines = apr_palloc(p, need);
    return statsd_lines_build_tagged(req, m);
}

/* NAME from what the request offers (statsd_choose_name decides). The
 * path scratch is the caller's small stack buffer unless the target is
 * long; the scratch for a note, a header or collapsed ids comes from the
 * request's pool, and only when there is one of them: no request thread
 * keeps a name-sized buffer on its stack. */
static void choose_name(statsd_request *req, request_rec *r,
                        request_rec *last, const statsd_dir_conf *c,
                        char *path_buf, size_t path_size)
{
    statsd_choose_scratch *sc = NULL;
    statsd_choose_offer o;
    exclude_scan scan;

    o.stat = c->stat->s;
    o.stat_len = c->stat->len;
    o.note = stat_note(last);
    o.header = stat_header(last);
    o.uri = r->unparsed_uri ? r->unparsed_uri : "";
    o.uri_len = strlen(o.uri);
    o.exclude = NULL;
    o.exclude_baton = NULL;
    o.max_len = 0;
    if (__builtin_expect(c->excludes != NULL, 0)) {
        scan.excludes = c->excludes;
        scan.r = r;
        o.exclude = exclude_segment;
        o.exclude_baton = &scan;
        o.max_len = (size_t)c->max_name_len;
    }
    o.collapse = c->collapse_ids;
    o.names = statsd_reg->names;
    o.group = c->prefix->group;
    if (!o.stat_len && (o.note || o.header || o.collapse))
        sc = apr_palloc(r->pool, sizeof(*sc));
    if (STATSD_PATH_SCRATCH(o.uri_len) > path_size) {
        path_size = STATSD_PATH_SCRATCH(o.uri_len);
        path_buf = apr_palloc(r->pool, path_size);
    }
    req->key.name = statsd_choose_name(&o, sc, path_buf, path_size,
                                       &req->key.name_len);
}

/* The length of httpd's name for each of its own method numbers but
 * M_GET (0: none), read at start-up. httpd gives a request one of these
 * numbers only when its method is exactly that name, so the request path
 * needs no strlen for them. M_GET has two names, GET and HEAD. */
static unsigned char own_method_len[M_INVALID];

static int read_method_names(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    int i;

    (void)pconf;
    (void)plog;
    (void)s;
    for (i = 0; i < M_INVALID; i++) {
        const char *name = i == M_GET ? NULL : ap_method_name_of(ptemp, i);
        size_t len = name && ap_method_number_of(name) == i ? strlen(name)
                                                            : 0;

        own_method_len[i] = len <= STATSD_METHOD_MAX ? (unsigned char)len : 0;
    }
    return OK;
}

/* METHOD: httpd's name for it, or OtherVerbs when StatsdHTTPVerbs does
 * not list it (or there is none). */
static void method_part(statsd_request *req, const request_rec *r,
                        const statsd_dir_conf *c)
{
    if (!r->method || r->method_number == M_INVALID
        || (c->verbs && !verb_allowed(c->verbs, r))) {
        req->key.method = STATSD_OTHER_VERBS;
        req->key.method_len = sizeof(STATSD_OTHER_VERBS) - 1;
        req->key.method_clean = 1;
    } else {
        unsigned len = (unsigned)r->method_number < M_INVALID
                       ? own_method_len[r->method_number] : 0;

        /* as httpd itself tells HEAD from GET: by the first letter */
        if (r->method_number == M_GET)
            len = r->method[0] == 'H' ? sizeof("HEAD") - 1
                                      : sizeof("GET") - 1;
        req->key.method = r->method;
        req->key.method_len = len ? len : strlen(r->method);
        /* httpd's own methods are plain words; registered ones may not be */
        req->key.method_clean = r->method_number < M_INVALID;
    }
}

/* Queue or send the lines; the bytes taken, or -1 when they were lost.
 * Inlined: on the request path its call costs as much as queueing. */
static inline __attribute__((always_inline)) long
hand_over(request_rec *r, const statsd_dest *dest, const char *lines,
          size_t len, unsigned n_lines)
{
    statsd_sink *sink = dest->sink;
    long sent;

    if (!sink)
        return -1;
    if (sink->interval)
        sent = statsd_interval_add(sink->interval, lines, len);
    else if (sink->batch)
        sent = statsd_batch_add(sink->batch, lines, len, n_lines);
    else
        sent = statsd_client_send_lines(sink->client, lines, len);
    /* batched sends fail later, or in the watchdog: look at the count */
    if (statsd_client_errors_pending(sink->client))
        statsd_shared_report_drops(sink, r->request_time, r, r->pool);
    return sent < 0 ? -1 : sent;
}

/* StatsdSampleRate below 1 and StatsdLatencyBuckets: the lines sampling
 * keeps (statsd_sample_lines), then the bucket lines (never sampled), go
 * out together. Out of line: a configuration without either pays one
 * test. */
static __attribute__((noinline)) long hand_over_extra(
    request_rec *r, const statsd_dir_conf *c, const statsd_measurement *m,
    int status, uint64_t usec, long time_line)
{
    const statsd_rate *rate = c->sample && !c->sample->all ? c->sample : NULL;
    const statsd_buckets *b = c->buckets && c->buckets->n ? c->buckets
                                                           : NULL;
    statsd_tag_format f = (statsd_tag_format)c->tag_format;
    size_t tags_len = 0, len;
    const char *tags = statsd_tags_text(c->tags, f, &tags_len);
    char *out = apr_palloc(r->pool, m->lines_len + 1
                           + (rate ? m->n_lines * rate->text_len : 0)
                           + (b ? 1 + statsd_buckets_lines_max(
                                  b, c->prefix->len, tags_len) : 0));
    unsigned n = m->n_lines, nb;

    if (rate) {
        len = statsd_sample_lines(rate, m->lines, m->lines_len, m->n_lines,
                                  status >= 400, time_line, out, &n);
    } else {
        memcpy(out, m->lines, m->lines_len);
        len = m->lines_len;
    }
    if (b) {
        size_t at = len ? len + 1 : 0;
        size_t blen = statsd_buckets_lines(out + at, b, usec,
                                           c->prefix->name, c->prefix->len,
                                           f, tags, tags_len, c->tag_mode,
                                           &nb);
        if (blen) {
            if (len)
                out[len] = '\n';
            len = at + blen;
            n += nb;
        }
    }
    return len ? hand_over(r, c->dest, out, len, n) : 0;
}

/* The statsd and statsd.aggregate notes, for %{...}n in the access log. */
static void set_notes(request_rec *r, request_rec *last,
                      const statsd_measurement *m, long sent, int legacy)
{
    char *note = apr_palloc(r->pool, m->key_len + 64);
    char *agg;

    statsd_lines_note(note, m, sent, legacy);
    agg = m->agg_len ? apr_pstrmemdup(r->pool, m->agg, m->agg_len) : NULL;
    /* addn: nothing else sets these notes, and setn would scan them */
    apr_table_addn(r->notes, NOTE_RESULT, note);
    if (agg)
        apr_table_addn(r->notes, NOTE_AGGREGATE, agg);
    if (last != r) {
        /* mod_log_config reads %{...}n from the final request */
        apr_table_setn(last->notes, NOTE_RESULT, note);
        if (agg)
            apr_table_setn(last->notes, NOTE_AGGREGATE, agg);
    }
}

static int log_transaction(request_rec *r)
{
    const statsd_dir_conf *c = ap_get_module_config(r->per_dir_config,
                                                    &statsd_module);
    statsd_measurement m;
    statsd_request req;
    request_rec *last;
    char path_buf[STATSD_PATH_SMALL], lines_buf[STATSD_LINES_SMALL];
    apr_time_t usec;
    long time_line, sent;

    /* most requests have no environment at all: skip the lookup then */
    if (c->enabled != 1
        || (apr_table_elts(r->subprocess_env)->nelts
            && apr_table_get(r->subprocess_env, ENV_SKIP)))
        return DECLINED;
    usec = apr_time_now() - r->request_time;
    if (usec <= 0)
        usec = 1; /* the clock stepped back: still a real request */
    for (last = r; last->next; last = last->next)
        ;
    method_part(&req, r, c);
    choose_name(&req, r, last, c, path_buf, sizeof(path_buf));
    req.key.status = statsd_sent_status(last);
    req.usec = (uint64_t)usec;
    m.lines = lines_buf;
    if (__builtin_expect(c->tagged, 0)) {
        statsd_conf_settings(&req, c);
        if (build_tagged(r->pool, c, &req, &m) != 0)
            return DECLINED;
        /* responses.time ends the service lines, before any breakdown */
        time_line = c->service ? (long)m.n_lines - 1 : -1;
        /* tagged is also set when a breakdown line is on */
        if (c->breakdown)
            statsd_breakdown_add(r, last, c, &m);
    } else {
        /* the plan's pieces make the usual request's lines; the rest take
         * the general writer */
        if (!c->plain_plan
            || statsd_lines_build_plain(c->plain_plan, &req.key, req.usec,
                                        &m) != 0) {
            statsd_conf_settings(&req, c);
            /* the lines of the usual settings fit the small stack buffer */
            if (!statsd_lines_fit_small(&req))
                m.lines = apr_palloc(r->pool, statsd_lines_size(&req));
            if (statsd_lines_build(&req, &m) != 0)
                return DECLINED;
        }
        time_line = c->service ? (long)m.n_lines - 1 : -1;
    }
    sent = __builtin_expect(c->extra, 0)
               ? hand_over_extra(r, c, &m, req.key.status, req.usec,
                                 time_line)
               : hand_over(r, c->dest, m.lines, m.lines_len, m.n_lines);
    /* only when something can read them (StatsdNote) */
    if (statsd_reg->notes)
        set_notes(r, last, &m, sent, c->legacy);
    statsd_shared_count_request(req.key.name == statsd_choose_other);
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    /* before mod_log_config, so %{statsd}n sees our note */
    static const char *const log_after[] = {"mod_log_config.c", NULL};
    /* post_config: before mod_watchdog's, which starts a child watchdog
     * only for instances that have callbacks registered by then.
     * child_init: before mod_watchdog's, which starts the thread, so the
     * sockets are open before its first tick. Stopping is not ordered by
     * hooks: mod_watchdog stops the thread from a cleanup of a process
     * pool, after the child's own cleanups (close_sockets) have run; the
     * gate of each sink keeps the thread from sending after the close. */
    static const char *const before_watchdog[] = {"mod_watchdog.c", NULL};

    (void)p;
    ap_hook_pre_config(statsd_lifecycle_pre_config, NULL, NULL,
                       APR_HOOK_MIDDLE);
    ap_hook_check_config(statsd_config_check, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(read_method_names, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(statsd_lifecycle_post_config, NULL, before_watchdog,
                        APR_HOOK_MIDDLE);
    ap_hook_child_init(statsd_lifecycle_child_init, NULL, before_watchdog,
                       APR_HOOK_MIDDLE);
    ap_hook_log_transaction(log_transaction, NULL, log_after,
                            APR_HOOK_FIRST);
    statsd_workers_register_hooks();
    statsd_header_register_hooks();
    statsd_status_register_hooks();
    statsd_breakdown_register();
    statsd_modstatus_register();
}

/* the one symbol httpd looks up: everything else is built hidden, so no
 * symbol of ours clashes with another module's, and link-time optimisation
 * may inline across our files freely */
__attribute__((visibility("default")))
module AP_MODULE_DECLARE_DATA statsd_module = {
    STANDARD20_MODULE_STUFF,
    statsd_config_create_dir,
    statsd_config_merge_dir,
    statsd_config_create_server,
    NULL,
    statsd_config_cmds,
    register_hooks
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    , AP_MODULE_FLAG_NONE
#endif
};
