/*
 * mod_statsd_lifecycle.c - start-up and children: destinations looked up
 * in post_config for a bounded time (and reload markers sent), one socket
 * per destination in each child, each child's resolver threads that follow
 * DNS changes, the per-child watchdog that flushes batches and logs what
 * the resolver found, and what runs when a child exits.
 */
#include <time.h>
#include <unistd.h>

#include "mod_statsd.h"

APLOG_USE_MODULE(statsd);

statsd_registry *statsd_reg;

/* This child's resolver (NULL in the parent): it outlives the child's
 * pools, which may be destroyed from a signal handler. */
static statsd_resolver *child_resolver;
/* The watchdog that calls on_tick, its interval, and (per child) whether
 * the first tick still comes early: children started together would
 * otherwise all flush at the same moment of every interval. */
static ap_watchdog_t *tick_wd;
static apr_interval_time_t tick_interval;
static int tick_jittered;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_set_callback_interval) *wd_set_interval;

/* ---------------------------------------------------------------------- */
/* start-up: resolve destinations, one socket per child                   */

int statsd_lifecycle_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    statsd_reg = apr_pcalloc(pconf, sizeof(*statsd_reg));
    tick_wd = NULL;
    statsd_reg->dests = apr_array_make(pconf, 8, sizeof(statsd_dest *));
    statsd_reg->sinks = apr_array_make(pconf, 8, sizeof(statsd_sink *));
    statsd_reg->prefixed = apr_array_make(pconf, 8, sizeof(prefixed_section));
    statsd_reg->tagged = apr_array_make(pconf, 4, sizeof(tagged_section));
    statsd_reg->prefixes = apr_array_make(pconf, 8, sizeof(statsd_prefix *));
    statsd_reg->no_prefix = statsd_config_make_prefix(pconf, "", 0);
    statsd_reg->fallback = apr_pcalloc(pconf, sizeof(statsd_dest));
    statsd_target_from_host_port(&statsd_reg->fallback->target, NULL, 0);
    return OK;
}

static apr_status_t destroy_sinks(void *data)
{
    apr_array_header_t *sinks = data;
    int i;

    for (i = 0; i < sinks->nelts; i++) {
        statsd_sink *sink = APR_ARRAY_IDX(sinks, i, statsd_sink *);
        statsd_batch_destroy(sink->batch);
        statsd_interval_destroy(sink->interval);
        statsd_client_destroy(sink->client);
    }
    apr_array_clear(sinks);
    return APR_SUCCESS;
}

/* A sink's close work (statsd_gate): what is batched goes out, then the
 * sockets close. Never waits for the batch lock: a request interrupted
 * while adding lines (prefork, in a signal handler) keeps its batch. */
static void close_sink(void *data)
{
    statsd_sink *sink = data;

    if (sink->batch)
        statsd_batch_flush_nowait(sink->batch);
    if (sink->interval)
        statsd_interval_flush_nowait(sink->interval);
    statsd_client_close(sink->client);
}

/* The sink for a target: an existing one for the same target, or a new
 * client, not yet resolved (see resolve_at_start). */
static statsd_sink *sink_for(apr_pool_t *p, server_rec *s,
                             const statsd_target *t, size_t max_packet,
                             int batching, int summing, int packing)
{
    statsd_sink *sink;
    int i, rv;

    for (i = 0; i < statsd_reg->sinks->nelts; i++) {
        sink = APR_ARRAY_IDX(statsd_reg->sinks, i, statsd_sink *);
        if (statsd_target_equal(statsd_client_target(sink->client), t))
            return sink;
    }
    sink = apr_pcalloc(p, sizeof(*sink));
    rv = statsd_client_create(&sink->client, t, max_packet);
    if (rv != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, -rv, s,
                     STATSD_MSG_DEST_SETUP, target_text(p, t));
        return NULL;
    }
    if (summing) {
        rv = statsd_interval_create(&sink->interval, sink->client,
                                    INTERVAL_BYTES);
        if (rv == 0)
            rv = statsd_interval_set_packing(sink->interval,
                                             (statsd_pack_style)packing);
    }
    else if (batching)
        rv = statsd_batch_create(&sink->batch, sink->client);
    if (rv != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, -rv, s,
                     STATSD_MSG_BATCH_SETUP, target_text(p, t));
        statsd_interval_destroy(sink->interval);
        statsd_batch_destroy(sink->batch);
        statsd_client_destroy(sink->client);
        return NULL;
    }
    statsd_gate_init(&sink->gate, close_sink, sink);
    sink->log_stamp = &sink->last_log;
    sink->index = (unsigned)statsd_reg->sinks->nelts;
    APR_ARRAY_PUSH(statsd_reg->sinks, statsd_sink *) = sink;
    return sink;
}

/* The sinks' clients, in the sinks' order (the resolver's indexes). */
static statsd_client *const *sink_clients(apr_pool_t *p)
{
    apr_array_header_t *sinks = statsd_reg->sinks;
    statsd_client **clients = apr_pcalloc(p, sizeof(*clients)
                                             * (sinks->nelts + 1));
    int i;

    for (i = 0; i < sinks->nelts; i++)
        clients[i] = APR_ARRAY_IDX(sinks, i, statsd_sink *)->client;
    return clients;
}

/* Look the destinations' names up in threads of their own, waiting at
 * most RESOLVE_START_WAIT_MS for all of them: a resolver that does not
 * answer delays neither start-up nor a graceful restart. A name without
 * an address starts unresolved (its lines are dropped and counted) and
 * each child's resolver keeps trying. Runs in post_config, in the parent;
 * a lookup still under way is left to end on its own. */
static void resolve_at_start(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *sinks = statsd_reg->sinks;
    statsd_resolver *r = NULL;
    int i, rv;

    rv = statsd_resolver_create(&r, sink_clients(p), (size_t)sinks->nelts,
                                NULL, NULL);
    if (rv == 0 && (rv = statsd_resolver_start(r)) == 0)
        (void)statsd_resolver_wait(r, RESOLVE_START_WAIT_MS);
    for (i = 0; i < sinks->nelts; i++) {
        const statsd_sink *sink = APR_ARRAY_IDX(sinks, i, statsd_sink *);
        const char *dest = target_text(p, statsd_client_target(sink->client));
        int res = rv != 0 ? rv : statsd_resolver_result(r, i);

        if (statsd_client_is_resolved(sink->client))
            continue;
        if (rv != 0)
            ap_log_error(APLOG_MARK, APLOG_ERR, -rv, s,
                         STATSD_MSG_START_LOOKUP, dest);
        else if (res == -EINPROGRESS)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         STATSD_MSG_NO_ANSWER, dest, RESOLVE_START_WAIT_MS);
        else
            ap_log_error(APLOG_MARK, APLOG_WARNING, -res, s,
                         STATSD_MSG_UNRESOLVED, dest);
    }
    statsd_resolver_destroy(r);
}

/* What this child's resolver found since the last tick, for the log. */
static void log_resolved(statsd_sink *sink, size_t i, apr_pool_t *p)
{
    statsd_resolve_event ev = statsd_resolver_take_event(child_resolver, i);

    if (ev == STATSD_RESOLVE_FIRST)
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     STATSD_MSG_RESOLVED,
                     target_text(p, statsd_client_target(sink->client)));
    else if (ev == STATSD_RESOLVE_MOVED)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                     STATSD_MSG_NEW_ADDRESS,
                     target_text(p, statsd_client_target(sink->client)));
}

/* The rule of every watchdog callback that touches sinks: it holds the
 * gates of all of them or of none (statsd_gate). APR_EOF once the child
 * has begun closing them: the callback returns it, mod_watchdog never
 * calls it again, and nothing is sent on a closed socket. */
apr_status_t statsd_lifecycle_hold(const apr_array_header_t *sinks)
{
    int i, j;

    for (i = 0; i < sinks->nelts; i++)
        if (statsd_gate_enter(&APR_ARRAY_IDX(sinks, i, statsd_sink *)->gate)
            != 0) {
            for (j = 0; j < i; j++)
                statsd_gate_leave(&APR_ARRAY_IDX(sinks, j,
                                                 statsd_sink *)->gate);
            return APR_EOF;
        }
    return APR_SUCCESS;
}

/* The gates statsd_lifecycle_hold took; a sink the child closed in the
 * meantime is closed here, by the leaving thread. */
void statsd_lifecycle_release(const apr_array_header_t *sinks)
{
    int i;

    for (i = 0; i < sinks->nelts; i++)
        statsd_gate_leave(&APR_ARRAY_IDX(sinks, i, statsd_sink *)->gate);
}

/* Each child's watchdog thread, off the request path: sends what the
 * batches hold (so an idle child never holds lines back longer than the
 * flush interval) and logs address changes (it never waits on a
 * resolver: lookups run in the resolver's threads). */
static apr_status_t on_tick(int state, void *data, apr_pool_t *pool)
{
    apr_array_header_t *sinks = data;
    int i;

    if (statsd_lifecycle_hold(sinks) != APR_SUCCESS)
        return APR_EOF;      /* the child's memory may be going: no publish */
    if (tick_jittered) {
        /* the early first tick is done: every interval from now on */
        tick_jittered = 0;
        wd_set_interval(tick_wd, tick_interval, sinks, on_tick);
    }
    for (i = 0; i < sinks->nelts; i++) {
        statsd_sink *sink = APR_ARRAY_IDX(sinks, i, statsd_sink *);
        /* not at the thread's start: lines a child batched before its
         * watchdog got going wait for the interval's end like any other */
        if (sink->batch && state != AP_WATCHDOG_STATE_STARTING)
            statsd_batch_flush(sink->batch);
        if (state == AP_WATCHDOG_STATE_RUNNING && child_resolver)
            log_resolved(sink, (size_t)i, pool);
        if (sink->interval)
            statsd_interval_flush(sink->interval);
    }
    statsd_lifecycle_release(sinks);
    statsd_shared_publish();
    return APR_SUCCESS;
}

/* Register cb(data) every interval on each child's watchdog (one per
 * child, not a singleton: WATCHDOG_NAME); *wd (may be NULL) gets it.
 * APR_ENOTIMPL without mod_watchdog. */
apr_status_t statsd_lifecycle_watch(apr_pool_t *pconf,
                                    apr_interval_time_t interval,
                                    const void *data,
                                    ap_watchdog_callback_fn_t *cb,
                                    ap_watchdog_t **wd)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    ap_watchdog_t *w = NULL;
    apr_status_t rv;

    if (!wd_get_instance || !wd_register)
        rv = APR_ENOTIMPL;
    else if ((rv = wd_get_instance(&w, WATCHDOG_NAME, 0, 0, pconf))
             == APR_SUCCESS)
        rv = wd_register(w, interval, data, cb);
    if (wd)
        *wd = rv == APR_SUCCESS ? w : NULL;
    return rv;
}

/* on_tick on each child's watchdog. */
static int start_ticks(apr_pool_t *pconf, server_rec *s, int tick_ms)
{
    apr_status_t rv;

    tick_interval = apr_time_from_msec(tick_ms);
    wd_set_interval = APR_RETRIEVE_OPTIONAL_FN(
        ap_watchdog_set_callback_interval);
    rv = statsd_lifecycle_watch(pconf, tick_interval, statsd_reg->sinks,
                                on_tick, &tick_wd);
    if (rv == APR_ENOTIMPL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, STATSD_MSG_NO_WATCHDOG);
        return !OK;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     STATSD_MSG_WATCHDOG);
        return !OK;
    }
    return OK;
}

/* The marker of section c of a server whose base section is base (already
 * given its defaults), merged as a request there would see it. A pair
 * already there keeps the tags of the section that added it first. */
static void add_marker(apr_array_header_t *markers, apr_pool_t *pconf,
                       apr_pool_t *p, const statsd_dir_conf *c,
                       const statsd_dir_conf *base)
{
    const statsd_dir_conf *mc = c == base ? c
        : statsd_config_merge_dir(p, (void *)base, (void *)c);
    const statsd_prefix *pf = mc->prefix;
    statsd_marker *m;
    int i;

    if (mc->enabled != 1 || !mc->dest->sink)
        return;
    for (i = 0; i < markers->nelts; i++) {
        m = &APR_ARRAY_IDX(markers, i, statsd_marker);
        if (m->sink == mc->dest->sink && m->prefix->len == pf->len
            && !memcmp(m->prefix->name, pf->name, pf->len))
            return;
    }
    m = apr_array_push(markers);
    m->prefix = pf;
    m->sink = mc->dest->sink;
    m->tags.format = (statsd_tag_format)mc->tag_format;
    m->tags.tag_mode = mc->tag_mode == 1;
    /* a merged set lives in p; the gauges read it for the whole cycle */
    m->tags.tags = mc->tags ? apr_pmemdup(pconf, mc->tags, sizeof(*mc->tags))
                            : NULL;
}

/* P.httpd.reloads:1|c (with the static tags of the marker's section) once
 * per distinct prefix (and destination) at every start and graceful
 * restart, so dashboards can mark config changes.
 * Runs in the parent, which opens its sockets only for this. The set is
 * kept for the worker gauges. */
static void send_reload_markers(apr_pool_t *pconf, apr_pool_t *ptemp,
                                server_rec *main_s)
{
    apr_array_header_t *markers = apr_array_make(pconf, 8,
                                                 sizeof(statsd_marker));
    server_rec *s;
    int i;

    for (s = main_s; s; s = s->next) {
        const statsd_dir_conf *c =
            ap_get_module_config(s->lookup_defaults, &statsd_module);
        add_marker(markers, pconf, ptemp, c, c);
    }
    for (i = 0; i < statsd_reg->prefixed->nelts; i++) {
        prefixed_section *ps = &APR_ARRAY_IDX(statsd_reg->prefixed, i,
                                              prefixed_section);
        add_marker(markers, pconf, ptemp, ps->conf,
                   ap_get_module_config(ps->server->lookup_defaults,
                                        &statsd_module));
    }
    for (i = 0; i < markers->nelts; i++) {
        statsd_marker *m = &APR_ARRAY_IDX(markers, i, statsd_marker);
        char line[STATSD_RELOAD_CAP];
        size_t len = statsd_gauges_reload(line, sizeof(line), m->prefix->name,
                                          m->prefix->len, &m->tags);

        if (len > 0 && statsd_client_open(m->sink->client) == 0)
            statsd_client_send(m->sink->client, line, len, 1);
    }
    statsd_reg->markers = markers;
    /* children open their own sockets */
    for (i = 0; i < statsd_reg->sinks->nelts; i++)
        statsd_client_close(APR_ARRAY_IDX(statsd_reg->sinks, i,
                                          statsd_sink *)->client);
}

/* Each section that sets StatsdTag, as a request there sees it: tags
 * with no format are never sent (the main server's are fine when any
 * section sets a format: its vhosts inherit them); tags past the caps
 * once merged are left out. One warning each, at every start-up. */
static void check_tags(apr_pool_t *ptemp)
{
    int i;

    for (i = 0; i < statsd_reg->tagged->nelts; i++) {
        const tagged_section *ts = &APR_ARRAY_IDX(statsd_reg->tagged, i,
                                                  tagged_section);
        const statsd_dir_conf *base =
            ap_get_module_config(ts->server->lookup_defaults, &statsd_module);
        const statsd_dir_conf *main_c =
            ap_get_module_config(ap_server_conf->lookup_defaults,
                                 &statsd_module);
        const statsd_dir_conf *mc = ts->kind == TAGGED_DIR
            ? statsd_config_merge_dir(ptemp, (void *)base, (void *)ts->conf)
            : base;
        const statsd_tagset *under = ts->kind == TAGGED_DIR ? base->tags
            : ts->kind == TAGGED_VHOST ? main_c->tags : NULL;
        int no_format = ts->kind == TAGGED_MAIN
            ? !statsd_reg->any_tag_format
            : mc->tag_format == STATSD_TAGS_NONE;

        if (no_format)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ts->server,
                         STATSD_MSG_TAGS_NO_FORMAT, ts->where);
        if (under && under != ts->conf->tags) {
            statsd_tagset *t = apr_palloc(ptemp, sizeof(*t));
            unsigned left = statsd_tags_merge(t, under, ts->conf->tags);
            if (left)
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ts->server,
                             STATSD_MSG_TAGS_LEFT_OUT, left, ts->where);
        }
    }
}

int statsd_lifecycle_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                 apr_pool_t *ptemp, server_rec *s)
{
    const statsd_server_conf *sc = ap_get_module_config(s->module_config,
                                                        &statsd_module);
    size_t max_packet = (size_t)sc->max_packet;
    int flush_ms = (int)sc->flush_ms;
    int summing = flush_ms > 0 && sc->sum_counters;
    int i;

    statsd_reg->max_names = (size_t)sc->max_names;
    statsd_reg->notes = statsd_config_notes_wanted(s);

    (void)plog;
    /* the first of the two start-up passes only checks the config */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    apr_pool_cleanup_register(pconf, statsd_reg->sinks, destroy_sinks,
                              apr_pool_cleanup_null);
    for (i = 0; i < statsd_reg->dests->nelts; i++) {
        statsd_dest *d = APR_ARRAY_IDX(statsd_reg->dests, i, statsd_dest *);
        d->sink = sink_for(pconf, s, &d->target, max_packet, flush_ms > 0,
                           summing, (int)sc->packing);
    }
    if (statsd_config_resolve_defaults(s))
        statsd_reg->fallback->sink = sink_for(pconf, s,
                                              &statsd_reg->fallback->target,
                                              max_packet, flush_ms > 0,
                                              summing, (int)sc->packing);
    /* merged first, so check_tags' merges take the merged sets */
    statsd_config_premerge_tags(pconf);
    check_tags(ptemp);
    if (statsd_reg->sinks->nelts == 0)
        return OK;
    resolve_at_start(ptemp, s);
    send_reload_markers(pconf, ptemp, s);
    statsd_shared_post_config(pconf, s);
    return start_ticks(pconf, s, flush_ms > 0 ? flush_ms : TICK_MS);
}

/* Sends on a closed socket since the child started; 0 unless the order
 * of the close and the watchdog's flushes is broken. */
static uint64_t badfd_sends(const apr_array_header_t *sinks)
{
    uint64_t n = 0;
    statsd_stats st;
    int i;

    for (i = 0; i < sinks->nelts; i++) {
        statsd_client_stats(APR_ARRAY_IDX(sinks, i, statsd_sink *)->client,
                            &st);
        n += st.drops[STATSD_DROP_BADFD];
    }
    return n;
}

/* Child exit (prefork may run it from a signal handler: no lock is
 * waited for). The watchdog and flusher threads are still running: a sink
 * whose gate one of them holds is closed by that thread as it leaves.
 * The watchdog's thread is joined after these cleanups, a flusher's is
 * not: wait a little (sleeps only, signal-safe) for such a close, or the
 * process could exit before the last lines go out. */
#define CLOSE_WAIT_MS 200
static apr_status_t close_sockets(void *data)
{
    apr_array_header_t *sinks = data;
    uint64_t badfd;
    int i, waited, open;

    /* signal-safe, and no socket opens after it: before the close */
    statsd_resolver_stop(child_resolver);
    for (i = 0; i < sinks->nelts; i++)
        statsd_gate_close(&APR_ARRAY_IDX(sinks, i, statsd_sink *)->gate);
    for (waited = 0; waited < CLOSE_WAIT_MS; waited++) {
        struct timespec ms = {0, 1000000};

        for (i = 0, open = 0; i < sinks->nelts; i++)
            open += !statsd_gate_closed(&APR_ARRAY_IDX(sinks, i,
                                                       statsd_sink *)->gate);
        if (!open)
            break;
        nanosleep(&ms, NULL);
    }
    /* a sink the watchdog held is closed, and published, by that thread */
    statsd_shared_publish();
    if ((badfd = badfd_sends(sinks)) != 0)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     STATSD_MSG_BADFD, badfd);
    return APR_SUCCESS;
}

static apr_status_t destroy_names(void *data)
{
    (void)data;
    statsd_nameset_destroy(statsd_reg->names);
    statsd_reg->names = NULL;
    return APR_SUCCESS;
}

/* This child's resolver threads: names without an address are looked up
 * at once, the others in a minute (see statsd_resolver.h). */
static void start_child_resolver(apr_pool_t *pchild, server_rec *s)
{
    int rv;

    statsd_resolver_destroy(child_resolver);    /* one-process restarts */
    child_resolver = NULL;
    rv = statsd_resolver_create(&child_resolver, sink_clients(pchild),
                                (size_t)statsd_reg->sinks->nelts, NULL, NULL);
    if (rv == 0)
        rv = statsd_resolver_start(child_resolver);
    if (rv != 0)
        ap_log_error(APLOG_MARK, APLOG_ERR, -rv, s,
                     STATSD_MSG_CHILD_RESOLVER);
}

/* With counters summed, this child's first flush comes after a random
 * part of the interval (seeded by its pid and start time: no two children
 * alike), so the children of a server spread their flushes over half the
 * interval. Batches without summing are flushed as they always were. */
static void jitter_first_tick(void)
{
    apr_uint64_t seed;
    apr_interval_time_t first;

    if (!tick_wd || !wd_set_interval || statsd_reg->sinks->nelts == 0
        || tick_interval <= 0
        || !APR_ARRAY_IDX(statsd_reg->sinks, 0, statsd_sink *)->interval)
        return;
    seed = ((apr_uint64_t)getpid() * 0x9E3779B97F4A7C15ULL)
           ^ (apr_uint64_t)apr_time_now();
    seed ^= seed >> 29;
    /* in the second half: lines never wait less long than half an
     * interval, so a long interval still means few datagrams */
    first = tick_interval - tick_interval / 2
            + (apr_interval_time_t)(seed % (apr_uint64_t)(tick_interval / 2 + 1));
    if (wd_set_interval(tick_wd, first, statsd_reg->sinks, on_tick)
        == APR_SUCCESS)
        tick_jittered = 1;
}

/* The seed of this child's sampling: STATSD_SAMPLE_SEED from the
 * environment when set (tests fix it), else the pid and start time. */
static apr_uint64_t sample_seed(void)
{
    const char *env = getenv(ENV_SAMPLE_SEED);
    char *end;
    apr_uint64_t seed;

    if (env && *env) {
        seed = (apr_uint64_t)apr_strtoi64(env, &end, 10);
        if (!*end)
            return seed;
    }
    return ((apr_uint64_t)getpid() << 32) ^ (apr_uint64_t)apr_time_now();
}

void statsd_lifecycle_child_init(apr_pool_t *pchild, server_rec *s)
{
    int i;

    statsd_shared_child_init(pchild, s);
    /* without shared memory, each child limits its own names */
    if (statsd_reg->max_names && !statsd_reg->names) {
        int rv = statsd_nameset_create(&statsd_reg->names,
                                       statsd_reg->max_names);
        if (rv != 0)
            ap_log_error(APLOG_MARK, APLOG_ERR, -rv, s, STATSD_MSG_NAMESET);
        else
            apr_pool_cleanup_register(pchild, NULL, destroy_names,
                                      apr_pool_cleanup_null);
    }

    for (i = 0; i < statsd_reg->sinks->nelts; i++) {
        statsd_sink *sink = APR_ARRAY_IDX(statsd_reg->sinks, i, statsd_sink *);
        int rv = statsd_client_open(sink->client);
        if (rv != 0 && statsd_client_is_resolved(sink->client))
            ap_log_error(APLOG_MARK, APLOG_ERR, -rv, s, STATSD_MSG_SOCKET,
                         target_text(pchild,
                                     statsd_client_target(sink->client)));
        /* summing: full buffers are folded and sent off the request
         * path, inside the sink's gate like the watchdog's flushes */
        if (sink->interval
            && (rv = statsd_interval_start(sink->interval, &sink->gate)) != 0)
            ap_log_error(APLOG_MARK, APLOG_ERR, -rv, s, STATSD_MSG_FLUSHER,
                         target_text(pchild,
                                     statsd_client_target(sink->client)));
    }
    start_child_resolver(pchild, s);
    apr_pool_cleanup_register(pchild, statsd_reg->sinks, close_sockets,
                              apr_pool_cleanup_null);
    jitter_first_tick();
    statsd_sample_seed(sample_seed());
}
