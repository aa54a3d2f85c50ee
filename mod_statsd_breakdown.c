/*
 * mod_statsd_breakdown.c - where a request's time and bytes went: the
 * StatsdBackendName directive, how StatsdFirstByte, StatsdResponseBytes,
 * StatsdAborts and StatsdBackendTimings (plain flags) merge, the output
 * filter that notes the first byte and counts the bytes, the mod_proxy
 * hooks, and the lines added in the log phase (written by
 * statsd_breakdown).
 *
 * The filter sits after httpd's HTTP header and chunk filters and before
 * the connection's filters (TLS, the core output filter): it sees the
 * response as it is handed to the connection, status line, headers and
 * chunk framing included, TLS not. Only a request whose section asks for
 * the first byte or the bytes gets it.
 *
 * Backends: the time a request spends in mod_proxy's handler runs from
 * just before the handlers (insert_filter) to mod_proxy's request_status
 * hook, which is an optional hook: registering it needs no symbol of
 * mod_proxy, so the module loads and runs without it. That hook gets
 * mod_proxy's own verdict (OK: the backend answered) apart from the
 * backend's status (r->status). Its optional fixups hook runs once per
 * attempt, before the connection to the backend: a balancer member tried
 * before another one is a member that failed (failover).
 */
#include "mod_statsd.h"
#include "mod_proxy.h"
#include "statsd_breakdown.h"

APLOG_USE_MODULE(statsd);

static ap_filter_rec_t *breakdown_filter;

typedef struct {
    apr_time_t first;     /* 0: no byte handed on yet */
    apr_off_t bytes;
} breakdown_ctx;

/* One proxied request, kept as userdata of its pool (an internal
 * redirect shares it, so the log phase finds it). */
#define BACKEND_KEY "statsd.backend"
#define BACKEND_FAILED_MAX 2   /* members failed over, counted per request */
typedef struct {
    apr_time_t start;
    int done;             /* request_status ran */
    int answered;         /* mod_proxy returned OK or DONE */
    int status;           /* the backend's, when answered */
    apr_time_t usec;
    char name[STATSD_BACKEND_NAME_MAX];       /* the worker or member */
    size_t name_len;
    char balancer[STATSD_BACKEND_NAME_MAX];   /* 0 length: none */
    size_t balancer_len;
    const char *trying;   /* the member of the attempt under way */
    const char *failed[BACKEND_FAILED_MAX];   /* members failed over */
    unsigned n_failed;
} backend_state;

/* ---------------------------------------------------------------------- */
/* directives                                                             */

/* StatsdBackendName: only in a <Proxy> or <ProxyMatch> section of the
 * server config, where it names that section's backend (or balancer). */
const char *statsd_breakdown_set_name(cmd_parms *cmd, void *dconf,
                                      const char *arg)
{
    statsd_dir_conf *c = dconf;
    const char *err = ap_check_cmd_context(cmd, NOT_IN_HTACCESS);
    const ap_directive_t *in = cmd->directive->parent;
    char clean[STATSD_BACKEND_NAME_MAX];
    size_t len = strlen(arg);

    if (err)
        return err;
    if (!in || strncasecmp(in->directive, "<Proxy", 6) != 0)
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " is only allowed in <Proxy> sections", NULL);
    if (len == 0 || len > STATSD_BACKEND_NAME_MAX)
        return apr_psprintf(cmd->pool, "%s %s: expected a name of 1 to %d "
                            "bytes", cmd->cmd->name, arg,
                            STATSD_BACKEND_NAME_MAX);
    len = statsd_breakdown_backend_name(clean, arg, len);
    c->backend_name = apr_pstrmemdup(cmd->pool, clean, len);
    return NULL;
}

void statsd_breakdown_init_conf(statsd_dir_conf *c)
{
    c->first_byte = UNSET;
    c->response_bytes = UNSET;
    c->aborts = UNSET;
    c->backend_timings = UNSET;
}

/* What the request path tests: one field, 0 unless something is on; when
 * it is not 0 the request goes to the out-of-line writer (tagged). */
static int breakdown_bits(const statsd_dir_conf *c)
{
    return (c->first_byte == 1 ? STATSD_BREAKDOWN_TTFB : 0)
        | (c->response_bytes == 1 ? STATSD_BREAKDOWN_BYTES : 0)
        | (c->aborts == 1 ? STATSD_BREAKDOWN_ABORTS : 0)
        | (c->backend_timings == 1 ? STATSD_BREAKDOWN_BACKEND : 0);
}

void statsd_breakdown_merge_conf(statsd_dir_conf *c,
                                 const statsd_dir_conf *base,
                                 const statsd_dir_conf *add)
{
    c->first_byte = add->first_byte != UNSET ? add->first_byte
                                             : base->first_byte;
    c->response_bytes = add->response_bytes != UNSET ? add->response_bytes
                                                     : base->response_bytes;
    c->aborts = add->aborts != UNSET ? add->aborts : base->aborts;
    c->backend_timings = add->backend_timings != UNSET
        ? add->backend_timings : base->backend_timings;
    c->backend_name = add->backend_name ? add->backend_name
                                        : base->backend_name;
    c->breakdown = breakdown_bits(c);
    c->tagged |= c->breakdown != 0;
}

void statsd_breakdown_default_conf(statsd_dir_conf *c)
{
    if (c->first_byte == UNSET)
        c->first_byte = 0;
    if (c->response_bytes == UNSET)
        c->response_bytes = 0;
    if (c->aborts == UNSET)
        c->aborts = 0;
    if (c->backend_timings == UNSET)
        c->backend_timings = 0;
    c->breakdown = breakdown_bits(c);
    c->tagged |= c->breakdown != 0;
}

/* ---------------------------------------------------------------------- */
/* the filter                                                             */

static apr_status_t breakdown_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    breakdown_ctx *x = f->ctx;
    apr_off_t n = 0;
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (APR_BUCKET_IS_METADATA(b))
            continue;
        if (b->length == (apr_size_t)-1) {
            /* a pipe or socket: read it as the core would, to count it */
            const char *data;
            apr_size_t len;
            if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ)
                != APR_SUCCESS)
                break;
        }
        n += (apr_off_t)b->length;
    }
    if (n && !x->first)
        x->first = apr_time_now();
    x->bytes += n;
    return ap_pass_brigade(f->next, bb);
}

/* Ours in the chain from f on, or NULL. */
static breakdown_ctx *find_ctx(ap_filter_t *f)
{
    for (; f; f = f->next)
        if (f->frec == breakdown_filter)
            return f->ctx;
    return NULL;
}

static int proxy_handler_set(const request_rec *r)
{
    return r->handler && (!strcmp(r->handler, "proxy-server")
                          || !strncmp(r->handler, "proxy:", 6));
}

/* Just before the handlers. The filter once per response: an error
 * response keeps the protocol filters of the request, and an internal
 * redirect passes them on. A proxied request's start is noted once. Out
 * of line and cold: the request path without these features stays as it
 * is. */
__attribute__((noinline, cold))
void statsd_breakdown_insert(request_rec *r, const statsd_dir_conf *c)
{
    if (r->main)
        return;
    if ((c->breakdown & (STATSD_BREAKDOWN_TTFB | STATSD_BREAKDOWN_BYTES))
        && !find_ctx(r->output_filters)) {
        breakdown_ctx *x = apr_pcalloc(r->pool, sizeof(*x));
        ap_add_output_filter_handle(breakdown_filter, x, r, r->connection);
    }
    if ((c->breakdown & STATSD_BREAKDOWN_BACKEND) && proxy_handler_set(r)) {
        void *st = NULL;
        apr_pool_userdata_get(&st, BACKEND_KEY, r->pool);
        if (!st) {
            backend_state *b = apr_pcalloc(r->pool, sizeof(*b));
            b->start = apr_time_now();
            apr_pool_userdata_setn(b, BACKEND_KEY, NULL, r->pool);
        }
    }
}

/* ---------------------------------------------------------------------- */
/* mod_proxy's verdict                                                    */

/* The part of a URL before its path, clean, into dst; 0 if none. */
static size_t name_from(char *dst, const char *src)
{
    return src ? statsd_breakdown_backend_name(dst, src, strlen(src)) : 0;
}

/* A new attempt (mod_proxy builds the request for a backend): the member
 * of the previous one, if another, failed. */
static int backend_attempt(request_rec *r)
{
    const statsd_dir_conf *c = ap_get_module_config(r->per_dir_config,
                                                    &statsd_module);
    backend_state *b = NULL;
    const char *member;

    if (!(c->breakdown & STATSD_BREAKDOWN_BACKEND))
        return DECLINED;
    apr_pool_userdata_get((void **)&b, BACKEND_KEY, r->pool);
    member = apr_table_get(r->subprocess_env, "BALANCER_WORKER_NAME");
    if (!b || !member)
        return DECLINED;
    if (b->trying && b->trying != member && strcmp(b->trying, member) != 0
        && b->n_failed < BACKEND_FAILED_MAX)
        b->failed[b->n_failed++] = b->trying;
    b->trying = member;
    return DECLINED;
}

/* After mod_proxy is done with a request: *status is its handler's result
 * (OK: a backend answered, with r->status; otherwise mod_proxy's own
 * error: no backend could be reached or none was usable). The worker is
 * the balancer member that answered (BALANCER_WORKER_NAME), else the URL
 * mod_proxy was given (r->filename "proxy:scheme://host:port/..."). */
static int backend_status(int *status, request_rec *r)
{
    const statsd_dir_conf *c = ap_get_module_config(r->per_dir_config,
                                                    &statsd_module);
    backend_state *b = NULL;
    const char *member, *balancer, *url;

    if (!(c->breakdown & STATSD_BREAKDOWN_BACKEND))
        return DECLINED;
    apr_pool_userdata_get((void **)&b, BACKEND_KEY, r->pool);
    if (!b)
        return DECLINED;
    b->done = 1;
    b->usec = apr_time_now() - b->start;
    b->answered = *status == OK || *status == DONE;
    b->status = r->status;
    member = apr_table_get(r->subprocess_env, "BALANCER_WORKER_NAME");
    balancer = apr_table_get(r->subprocess_env, "BALANCER_NAME");
    url = r->filename && !strncmp(r->filename, "proxy:", 6)
        ? r->filename + 6 : NULL;
    if (!balancer && url && !strncmp(url, "balancer://", 11)) {
        balancer = url;                 /* no member was usable */
        member = NULL;
    }
    b->balancer_len = 0;
    if (balancer) {
        if (c->backend_name) {
            b->balancer_len = strlen(c->backend_name);
            memcpy(b->balancer, c->backend_name, b->balancer_len);
        } else {
            b->balancer_len = name_from(b->balancer, balancer);
        }
        b->name_len = name_from(b->name, member);
    } else if (c->backend_name) {
        b->name_len = strlen(c->backend_name);
        memcpy(b->name, c->backend_name, b->name_len);
    } else {
        b->name_len = name_from(b->name, url);
    }
    return DECLINED;
}

/* ---------------------------------------------------------------------- */
/* the log phase                                                          */

/* The lines of the backend that answered (or failed) and of its
 * balancer, both timed and classified alike. */
static void add_backend(request_rec *r, const statsd_dir_conf *c,
                        statsd_measurement *m, statsd_tag_format f,
                        const char *tags, size_t tags_len)
{
    const backend_state *st = NULL;
    statsd_backend_result res;
    int tag_mode = f != STATSD_TAGS_NONE && c->tag_mode;
    char name[STATSD_BACKEND_NAME_MAX];
    unsigned n, i;

    apr_pool_userdata_get((void **)&st, BACKEND_KEY, r->pool);
    if (!st || !st->done)
        return;
    res.answered = st->answered;
    res.status = st->status;
    res.usec = st->usec > 0 ? (uint64_t)st->usec : 1;
    for (i = 0; i < 2; i++) {
        res.name = i ? st->balancer : st->name;
        res.name_len = i ? st->balancer_len : st->name_len;
        m->lines_len += statsd_breakdown_backend_lines(
            m->lines + m->lines_len, c->prefix->name, c->prefix->len, &res,
            (statsd_time_unit)c->unit, (statsd_timer_type)c->timer_type, f,
            tags, tags_len, tag_mode, &n);
        m->n_lines += n;
    }
    /* members tried before the one that answered (or the last one) */
    res.answered = 0;
    res.name = name;
    for (i = 0; i < st->n_failed; i++) {
        res.name_len = name_from(name, st->failed[i]);
        m->lines_len += statsd_breakdown_backend_lines(
            m->lines + m->lines_len, c->prefix->name, c->prefix->len, &res,
            (statsd_time_unit)c->unit, (statsd_timer_type)c->timer_type, f,
            tags, tags_len, tag_mode, &n);
        m->n_lines += n;
    }
}

__attribute__((noinline, cold))
void statsd_breakdown_add(request_rec *r, request_rec *last,
                          const statsd_dir_conf *c, statsd_measurement *m)
{
    const breakdown_ctx *x = NULL;
    statsd_breakdown b = {0, 0, 0, 0, 0};
    statsd_tag_format f = (statsd_tag_format)c->tag_format;
    const char *tags;
    size_t tags_len;
    unsigned n;

    if (c->breakdown & (STATSD_BREAKDOWN_TTFB | STATSD_BREAKDOWN_BYTES))
        x = find_ctx(last->output_filters);
    if (x && (c->breakdown & STATSD_BREAKDOWN_TTFB) && x->first) {
        apr_time_t usec = x->first - r->request_time;
        b.ttfb = 1;
        b.ttfb_usec = usec > 0 ? (uint64_t)usec : 1;
    }
    if (x && (c->breakdown & STATSD_BREAKDOWN_BYTES)) {
        b.bytes = 1;
        b.bytes_sent = (uint64_t)x->bytes;
    }
    b.aborted = (c->breakdown & STATSD_BREAKDOWN_ABORTS)
        && r->connection->aborted;
    tags = statsd_tags_text(c->tags, f, &tags_len);
    m->lines_len += statsd_breakdown_lines(
        m->lines + m->lines_len, c->prefix->name, c->prefix->len, &b,
        (statsd_time_unit)c->unit, (statsd_timer_type)c->timer_type, f,
        tags, tags_len, &n);
    m->n_lines += n;
    if (c->breakdown & STATSD_BREAKDOWN_BACKEND)
        add_backend(r, c, m, f, tags, tags_len);
}

void statsd_breakdown_register(void)
{
    APR_OPTIONAL_HOOK(proxy, request_status, backend_status, NULL, NULL,
                      APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(proxy, fixups, backend_attempt, NULL, NULL,
                      APR_HOOK_MIDDLE);
    breakdown_filter = ap_register_output_filter(
        "STATSD_BREAKDOWN", breakdown_out, NULL, AP_FTYPE_TRANSCODE + 1);
}
