/*
 * mod_statsd_shared.c - what the whole server shares, in one block of
 * anonymous shared memory made in post_config (so every child inherits
 * it) and made anew at each restart (so a graceful restart starts from
 * zero): the name set of StatsdMaxNames, one send-error log stamp per
 * destination, and the self-metrics totals (statsd_selfstats).
 *
 * The request path writes only its thread's own slot in process memory;
 * the child's watchdog adds what changed to the shared totals.
 */
#include "mod_statsd.h"
#include "ap_mpm.h"
#include "apr_shm.h"
#include "statsd_selfstats.h"

APLOG_USE_MODULE(statsd);

/* A destination's part of the shared memory. */
typedef struct {
    apr_time_t last_log;         /* the last STATSD00010, any child */
    int last_errno;              /* of the last failed send reported */
    int pad;
    statsd_selfstats stats;      /* its sends and drops, every child */
} shared_dest;

/* The start of the shared memory. */
typedef struct {
    statsd_selfstats totals;     /* every child's, added by their ticks */
    statsd_selfstats reported;   /* what the self-metric lines have sent */
    apr_time_t report_stamp;     /* when they were last sent */
} shared_head;

struct statsd_shared {
    apr_shm_t *shm;
    shared_head *head;
    statsd_selfstats *totals;    /* in the shared memory */
    shared_dest *dests;          /* one per sink, same order */
    unsigned n_dests;
    apr_array_header_t *groups;  /* statsd_prefix *: one per group */
};

#define ALIGN64(n) (((n) + 63) & ~(apr_size_t)63)

/* ---- prefixes in use and their groups ----------------------------------- */

static void add_group(apr_array_header_t *groups, const statsd_prefix *pf)
{
    int i;

    for (i = 0; i < groups->nelts; i++) {
        const statsd_prefix *g = APR_ARRAY_IDX(groups, i,
                                               const statsd_prefix *);
        if (g->len == pf->len && !memcmp(g->name, pf->name, pf->len))
            return;
    }
    APR_ARRAY_PUSH(groups, const statsd_prefix *) = pf;
}

static unsigned group_of(const apr_array_header_t *groups,
                         const statsd_prefix *pf)
{
    int i;

    for (i = 0; i < groups->nelts; i++) {
        const statsd_prefix *g = APR_ARRAY_IDX(groups, i,
                                               const statsd_prefix *);
        if (g->len == pf->len && !memcmp(g->name, pf->name, pf->len))
            return (unsigned)i;
    }
    return 0;
}

/* The prefixes in use, each a group with an even share of StatsdMaxNames:
 * the prefix (or none) of every server where Statsd is On, and every
 * StatsdPrefix of a section. Any other prefix shares the first group. */
static apr_array_header_t *assign_groups(apr_pool_t *p, server_rec *main_s)
{
    apr_array_header_t *groups = apr_array_make(p, 8,
                                                sizeof(statsd_prefix *));
    server_rec *s;
    int i;

    for (s = main_s; s; s = s->next) {
        const statsd_dir_conf *c =
            ap_get_module_config(s->lookup_defaults, &statsd_module);
        if (c->enabled == 1)
            add_group(groups, c->prefix);
    }
    for (i = 0; i < statsd_reg->prefixed->nelts; i++)
        add_group(groups, APR_ARRAY_IDX(statsd_reg->prefixed, i,
                                        prefixed_section).conf->prefix);
    if (groups->nelts == 0)
        add_group(groups, statsd_reg->no_prefix);
    if (groups->nelts > STATSD_NAMESET_MAX_GROUPS)
        groups->nelts = STATSD_NAMESET_MAX_GROUPS;
    for (i = 0; i < statsd_reg->prefixes->nelts; i++) {
        statsd_prefix *pf = APR_ARRAY_IDX(statsd_reg->prefixes, i,
                                          statsd_prefix *);
        pf->group = group_of(groups, pf);
    }
    return groups;
}

/* ---- start-up ----------------------------------------------------------- */

int statsd_shared_post_config(apr_pool_t *pconf, server_rec *s)
{
    statsd_shared *sh = apr_pcalloc(pconf, sizeof(*sh));
    unsigned n_dests = (unsigned)statsd_reg->sinks->nelts, i;
    apr_size_t names_at, size, names_size = 0;
    apr_status_t rv;
    char *base;

    sh->groups = assign_groups(pconf, s);
    names_at = ALIGN64(ALIGN64(sizeof(shared_head))
                       + n_dests * sizeof(shared_dest));
    if (statsd_reg->max_names)
        names_size = statsd_nameset_size(statsd_reg->max_names,
                                         (unsigned)sh->groups->nelts);
    size = names_at + names_size;
    rv = apr_shm_create(&sh->shm, size, NULL, pconf);
    if (rv != APR_SUCCESS) {
        /* everything still works, per child: names limited per child,
         * errors logged per child, no self-metrics */
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, STATSD_MSG_SHM,
                     (unsigned long)size);
        for (i = 0; i < (unsigned)statsd_reg->prefixes->nelts; i++)
            APR_ARRAY_IDX(statsd_reg->prefixes, i, statsd_prefix *)->group = 0;
        return OK;
    }
    base = apr_shm_baseaddr_get(sh->shm);
    memset(base, 0, names_at);
    sh->head = (shared_head *)base;
    sh->totals = &sh->head->totals;
    sh->dests = (shared_dest *)(base + ALIGN64(sizeof(shared_head)));
    sh->n_dests = n_dests;
    for (i = 0; i < n_dests; i++) {
        statsd_sink *sink = APR_ARRAY_IDX(statsd_reg->sinks, i,
                                          statsd_sink *);
        sink->log_stamp = &sh->dests[i].last_log;
    }
    if (names_size)
        statsd_reg->names = statsd_nameset_init(
            base + names_at, names_size, statsd_reg->max_names,
            (unsigned)sh->groups->nelts);
    statsd_reg->shared = sh;
    return OK;
}

/* ---- each child: thread slots, and what it published so far ------------- */

/* The thread slots live as long as the process (a thread's slot pointer
 * never dangles, even where one process runs several generations, as
 * with -X); a slot's counts then carry over, and baseline() starts the
 * deltas from them. The slot pointer is initial-exec thread-local: one
 * instruction to read, from the few bytes of static TLS glibc keeps for
 * modules loaded later. */
static statsd_selfstats_threads *threads;   /* this process's */
static statsd_selfstats published;          /* added to the totals so far */
static statsd_stats *published_dest;        /* per sink, process memory */
static unsigned published_dest_n;           /* its length */
static int publishing;                      /* one publisher at a time */
static int publish_asked;                   /* another call came meanwhile */
static __thread statsd_selfstats_thread *my_slot
    __attribute__((tls_model("initial-exec")));
static __thread int my_claimed __attribute__((tls_model("initial-exec")));

/* A child inherits its clients' counters from the parent (the reload
 * markers): they are not the child's sends, so they are where its deltas
 * start from. */
static void baseline(void)
{
    unsigned i;

    memset(&published, 0, sizeof(published));
    statsd_selfstats_threads_sum(threads, &published);
    for (i = 0; i < statsd_reg->shared->n_dests; i++) {
        statsd_sink *sink = APR_ARRAY_IDX(statsd_reg->sinks, i,
                                          statsd_sink *);
        statsd_client_stats(sink->client, &published_dest[i]);
        statsd_selfstats_add_client(&published, &published_dest[i]);
    }
}

void statsd_shared_child_init(apr_pool_t *pchild, server_rec *s)
{
    int limit = 0;
    unsigned n;
    void *mem;

    (void)s;
    (void)pchild;
    if (!statsd_reg->shared)
        return;
    /* one slot per worker thread; the watchdog and other threads spill */
    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_THREADS, &limit) != APR_SUCCESS
        || limit < 1)
        limit = 1;
    n = (unsigned)limit;
    if (!threads) {
        mem = calloc(1, statsd_selfstats_threads_size(n) + 64);
        if (!mem)
            return;     /* no self-metrics from this child */
        threads = statsd_selfstats_threads_init(
            (void *)ALIGN64((apr_uintptr_t)mem), n);
    }
    /* process memory like the slots: the watchdog thread outlives pchild
     * (mod_watchdog never stops it before exit) and may still publish
     * while exit() runs; an older, shorter array is left to such a
     * thread of an earlier generation */
    if (published_dest_n < statsd_reg->shared->n_dests + 1) {
        published_dest = calloc(statsd_reg->shared->n_dests + 1,
                                sizeof(statsd_stats));
        published_dest_n = published_dest ? statsd_reg->shared->n_dests + 1
                                          : 0;
        if (!published_dest)
            return;     /* no self-metrics from this child */
    }
    baseline();
}

/* A thread's first request claims its slot. */
static void count_slow(int other)
{
    if (!threads)
        return;
    if (!my_claimed) {
        my_claimed = 1;
        my_slot = statsd_selfstats_threads_claim(threads);
    }
    if (my_slot)
        statsd_selfstats_count(my_slot, other);
    else
        statsd_selfstats_count_spill(threads, other);
}

/* Not inlined: log_transaction stays small enough for the compiler to
 * inline the line building into it. */
__attribute__((noinline)) void statsd_shared_count_request(int other)
{
    statsd_selfstats_thread *slot = my_slot;

    if (slot)
        statsd_selfstats_count(slot, other);
    else
        count_slow(other);
}

/* What this child did since its last publish goes into the shared totals
 * (per destination too). */
static void publish_once(statsd_shared *sh)
{
    statsd_selfstats now, delta;
    unsigned i;

    memset(&now, 0, sizeof(now));
    statsd_selfstats_threads_sum(threads, &now);
    for (i = 0; i < sh->n_dests; i++) {
        statsd_sink *sink = APR_ARRAY_IDX(statsd_reg->sinks, i,
                                          statsd_sink *);
        statsd_selfstats d, cur, prev;
        statsd_stats st;

        statsd_client_stats(sink->client, &st);
        memset(&cur, 0, sizeof(cur));
        memset(&prev, 0, sizeof(prev));
        statsd_selfstats_add_client(&cur, &st);
        statsd_selfstats_add_client(&prev, &published_dest[i]);
        statsd_selfstats_diff(&cur, &prev, &d);
        statsd_selfstats_add(&sh->dests[i].stats, &d);
        published_dest[i] = st;
        statsd_selfstats_add_client(&now, &st);
    }
    statsd_selfstats_diff(&now, &published, &delta);
    statsd_selfstats_add(sh->totals, &delta);
    published = now;
}

/* One thread publishes at a time, and never waits (child exit may run
 * in a signal handler): a call that finds another publishing asks it to
 * go once more, so what the caller saw (the last sends of a child
 * closing its sockets, say) is in the totals when that thread is done. */
void statsd_shared_publish(void)
{
    statsd_shared *sh = statsd_reg ? statsd_reg->shared : NULL;
    int idle;

    if (!sh || !threads || !published_dest)
        return;
    __atomic_store_n(&publish_asked, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        idle = 0;
        if (!__atomic_load_n(&publish_asked, __ATOMIC_SEQ_CST)
            || !__atomic_compare_exchange_n(&publishing, &idle, 1, 0,
                                            __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST))
            return;
        __atomic_store_n(&publish_asked, 0, __ATOMIC_SEQ_CST);
        publish_once(sh);
        __atomic_store_n(&publishing, 0, __ATOMIC_SEQ_CST);
    }
}

/* Every interval, from the child that sends the worker gauges: what the
 * whole server did since the last time, as counters under each prefix and
 * destination of the reload markers. The stamp keeps two children that
 * both think they are the one (while children come and go) from sending
 * the same counts twice. */
void statsd_shared_send_selfmetrics(const apr_array_header_t *markers,
                                    apr_interval_time_t interval,
                                    apr_pool_t *p)
{
    statsd_shared *sh = statsd_reg ? statsd_reg->shared : NULL;
    statsd_selfstats cur, reported, delta;
    apr_time_t now = apr_time_now(), last;
    char *buf;
    int i;

    if (!sh)
        return;
    last = __atomic_load_n(&sh->head->report_stamp, __ATOMIC_RELAXED);
    if (now - last < interval / 2
        || !__atomic_compare_exchange_n(&sh->head->report_stamp, &last, now,
                                        0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
        return;
    statsd_shared_publish();
    statsd_selfstats_read(sh->totals, &cur);
    statsd_selfstats_read(&sh->head->reported, &reported);
    statsd_selfstats_diff(&cur, &reported, &delta);
    statsd_selfstats_add(&sh->head->reported, &delta);
    buf = apr_palloc(p, STATSD_SELFSTATS_LINES_CAP);
    for (i = 0; i < markers->nelts; i++) {
        const statsd_marker *m = &APR_ARRAY_IDX(markers, i, statsd_marker);
        size_t n = statsd_selfstats_format_lines(
            buf, STATSD_SELFSTATS_LINES_CAP, m->prefix->name,
            m->prefix->len, &delta);
        if (n > 0)   /* a failed send is counted by the client */
            (void)statsd_client_send_lines(m->sink->client, buf, n);
    }
}

/* The stamp is shared by every child, and by the request path and the
 * gauges, so one report covers them all; the error is the last send's,
 * kept for mod_status too. */
void statsd_shared_report_drops(statsd_sink *sink, apr_time_t now,
                                request_rec *r, apr_pool_t *p)
{
    statsd_shared *sh = statsd_reg->shared;
    uint64_t count;
    int err;

    if (!statsd_log_due(sink->log_stamp, now))
        return;
    err = statsd_client_take_errors(sink->client, &count);
    if (sh && sink->index < sh->n_dests)
        __atomic_store_n(&sh->dests[sink->index].last_errno, err,
                         __ATOMIC_RELAXED);
    if (count == 0)
        return;
    if (r)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, err, r, STATSD_MSG_DROPPED,
                      count, target_text(p,
                                         statsd_client_target(sink->client)));
    else
        ap_log_error(APLOG_MARK, APLOG_WARNING, err, ap_server_conf,
                     STATSD_MSG_GAUGES_DROPPED, count,
                     target_text(p, statsd_client_target(sink->client)));
}

/* ---- readers (mod_status) ----------------------------------------------- */

int statsd_shared_read(statsd_selfstats *out, apr_uint64_t *distinct)
{
    statsd_shared *sh = statsd_reg ? statsd_reg->shared : NULL;

    if (!sh)
        return -1;
    statsd_shared_publish();     /* this child's latest, for the reader */
    statsd_selfstats_read(sh->totals, out);
    *distinct = statsd_reg->names ? statsd_nameset_count(statsd_reg->names)
                                  : 0;
    return 0;
}

unsigned statsd_shared_dests(void)
{
    return statsd_reg && statsd_reg->shared ? statsd_reg->shared->n_dests
                                            : 0;
}

void statsd_shared_read_dest(unsigned i, statsd_selfstats *out,
                             int *last_errno)
{
    shared_dest *d = &statsd_reg->shared->dests[i];

    statsd_selfstats_read(&d->stats, out);
    *last_errno = __atomic_load_n(&d->last_errno, __ATOMIC_RELAXED);
}

unsigned statsd_shared_groups(void)
{
    return statsd_reg && statsd_reg->shared
               ? (unsigned)statsd_reg->shared->groups->nelts : 0;
}

const statsd_prefix *statsd_shared_group(unsigned g, apr_size_t *names)
{
    *names = statsd_reg->names ? statsd_nameset_group_count(statsd_reg->names,
                                                            g)
                               : 0;
    return APR_ARRAY_IDX(statsd_reg->shared->groups, g,
                         const statsd_prefix *);
}
