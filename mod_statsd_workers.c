/*
 * mod_statsd_workers.c - worker gauges: every StatsdScoreboardInterval
 * seconds one child reads the scoreboard and sends how many workers are
 * busy, idle and allowed (and, under event, how many connections wait
 * without a worker) to each prefix and destination that gets the reload
 * markers, tagged as the marker's section says. The lines are made by
 * statsd_gauges. The same child sends the self-metric counters
 * (mod_statsd_shared.c, untagged) on the same tick.
 *
 * Where it runs: a second callback on each child's own watchdog (the one
 * that flushes batches), and only the child in the lowest scoreboard slot
 * of the current generation sends. The parent cannot do it: mod_watchdog
 * has no parent watchdog under the forked MPMs, and the parent's monitor
 * hook runs only once every ten turns of the MPM's one-second maintenance
 * loop. A singleton watchdog would cost every child a thread polling a
 * lock ten times a second; this costs each child one scan of the process
 * slots per interval. The watchdog wakes every 100 ms and the interval is
 * whole seconds, so 1 s is the shortest. The sending child uses its own
 * open, already resolved sockets; nothing here runs on the request path.
 */
#include <unistd.h>

#include "mod_statsd.h"
#include "ap_mpm.h"
#include "scoreboard.h"
#include "statsd_gauges.h"

APLOG_USE_MODULE(statsd);

/* What the gauge callback needs, made once per configuration cycle. */
typedef struct {
    const apr_array_header_t *markers;   /* statsd_marker */
    apr_array_header_t *sinks;           /* statsd_sink *: theirs, once each */
    apr_interval_time_t interval;        /* StatsdScoreboardInterval */
    char host[STATSD_GAUGE_HOST_MAX + 1];
    size_t host_len;
} gauges_ctx;

/* What the MPM says about code; 0 if it does not say (or says less). */
static int mpm_value(int code)
{
    int v = 0;

    if (ap_mpm_query(code, &v) != APR_SUCCESS || v < 0)
        return 0;
    return v;
}

/* Count the workers of the current generation as mod_status counts them:
 * a process going down (quiescing) or of an older generation (lingering
 * after a graceful restart) is left out, so busy + idle <= max. */
static void count_workers(statsd_workers *w)
{
    int server_limit = mpm_value(AP_MPMQ_HARD_LIMIT_DAEMONS);
    int thread_limit = mpm_value(AP_MPMQ_HARD_LIMIT_THREADS);
    int async = mpm_value(AP_MPMQ_IS_ASYNC), i, j;
    ap_generation_t gen = ap_get_scoreboard_global()->running_generation;

    memset(w, 0, sizeof(*w));
    w->max = (uint64_t)mpm_value(AP_MPMQ_MAX_DAEMONS)
             * (uint64_t)mpm_value(AP_MPMQ_MAX_THREADS);
    w->has_async = async != 0;

    for (i = 0; i < server_limit; i++) {
        process_score *ps = ap_get_scoreboard_process(i);

        if (!ps || !ps->pid || ps->quiescing || ps->generation != gen)
            continue;
        /* event refreshes these when it times queued connections out */
        if (async)
            w->async += (uint64_t)ps->keep_alive + ps->write_completion
                        + ps->lingering_close;
        for (j = 0; j < thread_limit; j++) {
            worker_score *ws = ap_get_scoreboard_worker_from_indexes(i, j);
            int st = ws ? ws->status : SERVER_DEAD;

            if (st == SERVER_READY)
                w->idle++;
            else if (st != SERVER_DEAD && st != SERVER_STARTING
                     && st != SERVER_IDLE_KILL && st != SERVER_GRACEFUL)
                w->busy++;
        }
    }
}

/* The gauges of every prefix that shares sink, in as few datagrams as
 * the packet size allows. */
static void send_to_sink(const gauges_ctx *g, statsd_sink *sink,
                         const statsd_workers *w, apr_pool_t *p)
{
    const apr_array_header_t *mk = g->markers;
    char *buf = apr_palloc(p, (apr_size_t)mk->nelts
                              * (STATSD_GAUGES_CAP + 1));
    size_t len = 0, n;
    int i;

    for (i = 0; i < mk->nelts; i++) {
        const statsd_marker *m = &APR_ARRAY_IDX(mk, i, statsd_marker);

        if (m->sink != sink)
            continue;
        if (len > 0)
            buf[len++] = '\n';
        n = statsd_gauges_format_tagged(buf + len, STATSD_GAUGES_CAP,
                                        m->prefix->name, m->prefix->len,
                                        g->host, g->host_len, &m->tags, w);
        if (n == 0 && len > 0)
            len--;
        len += n;
    }
    if (len > 0)
        (void)statsd_client_send_lines(sink->client, buf, len); /* counted */
    if (statsd_client_errors_pending(sink->client))
        statsd_shared_report_drops(sink, apr_time_now(), NULL, p);
}

/* Is this child the one that speaks for the server: the live, not
 * quiescing process of the current generation in the lowest slot? While
 * children come and go two may both answer yes (or none) for a tick; a
 * gauge sent twice only repeats its value. */
static int elected(void)
{
    ap_generation_t gen = ap_get_scoreboard_global()->running_generation;
    pid_t me = getpid();
    int server_limit = mpm_value(AP_MPMQ_HARD_LIMIT_DAEMONS), i;

    for (i = 0; i < server_limit; i++) {
        process_score *ps = ap_get_scoreboard_process(i);

        if (ps && ps->pid && !ps->quiescing && ps->generation == gen)
            return ps->pid == me;
    }
    return 0;
}

/* Each child's watchdog calls this every interval; one child sends. Its
 * sinks' gates are held as on_tick holds them (statsd_lifecycle_hold):
 * once the child closes them, APR_EOF, and no gauge or self-metric line
 * goes out on a closed socket. */
static apr_status_t on_gauge_tick(int state, void *data, apr_pool_t *pool)
{
    const gauges_ctx *g = data;
    statsd_workers w;
    int i;

    if (state != AP_WATCHDOG_STATE_RUNNING)
        return APR_SUCCESS;
    if (statsd_lifecycle_hold(g->sinks) != APR_SUCCESS)
        return APR_EOF;
    if (ap_exists_scoreboard_image() && elected()) {
        count_workers(&w);
        for (i = 0; i < g->sinks->nelts; i++)
            send_to_sink(g, APR_ARRAY_IDX(g->sinks, i, statsd_sink *), &w,
                         pool);
        statsd_shared_send_selfmetrics(g->markers, g->interval, pool);
    }
    statsd_lifecycle_release(g->sinks);
    return APR_SUCCESS;
}

/* The markers' sinks, each once, in the markers' order. */
static apr_array_header_t *marker_sinks(apr_pool_t *p,
                                        const apr_array_header_t *markers)
{
    apr_array_header_t *sinks = apr_array_make(p, markers->nelts,
                                               sizeof(statsd_sink *));
    int i, j;

    for (i = 0; i < markers->nelts; i++) {
        statsd_sink *sink = APR_ARRAY_IDX(markers, i, statsd_marker).sink;

        for (j = 0; j < sinks->nelts; j++)
            if (APR_ARRAY_IDX(sinks, j, statsd_sink *) == sink)
                break;
        if (j == sinks->nelts)
            APR_ARRAY_PUSH(sinks, statsd_sink *) = sink;
    }
    return sinks;
}

/* After the life cycle's post_config (which resolved the destinations,
 * made the marker set and set up the child watchdog), before
 * mod_watchdog's, which starts the watchdogs with the callbacks they have
 * by then. */
static int workers_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    const statsd_server_conf *sc = ap_get_module_config(s->module_config,
                                                        &statsd_module);
    char fqdn[APRMAXHOSTLEN + 1];
    gauges_ctx *g;
    apr_status_t rv;

    (void)plog;
    (void)ptemp;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || sc->scoreboard_s == 0 || !statsd_reg->markers
        || statsd_reg->markers->nelts == 0)
        return OK;
    g = apr_pcalloc(pconf, sizeof(*g));
    g->markers = statsd_reg->markers;
    g->sinks = marker_sinks(pconf, g->markers);
    g->interval = apr_time_from_sec(sc->scoreboard_s);
    if (apr_gethostname(fqdn, sizeof(fqdn), pconf) != APR_SUCCESS)
        fqdn[0] = '\0';
    g->host_len = statsd_gauges_host(g->host, fqdn);
    rv = statsd_lifecycle_watch(pconf, g->interval, g, on_gauge_tick, NULL);
    /* without mod_watchdog the life cycle has said it is needed */
    if (rv != APR_SUCCESS && rv != APR_ENOTIMPL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     STATSD_MSG_GAUGES_WATCHDOG);
        return !OK;
    }
    return OK;
}

void statsd_workers_register_hooks(void)
{
    ap_hook_post_config(workers_post_config, NULL, NULL,
                        APR_HOOK_MIDDLE + 1);
}
