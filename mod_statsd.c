/*
 * mod_statsd.c - httpd glue: configuration, hooks, and the hand-over of
 * each finished request to the name builder, the cardinality guard, the
 * line formatter and the statsd client (statsd_name.c, statsd_guard.c,
 * statsd_lines.c, statsd_batch.c, statsd_client.c).
 *
 * Destinations are read with the configuration, resolved in post_config
 * and get one socket per child in child_init. The request path only
 * formats into stack buffers and queues the lines in a batch (or, with
 * StatsdFlushInterval 0, sends them on a non-blocking socket); a watchdog
 * thread per child flushes idle batches and re-resolves names.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_regex.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_network_io.h"
#include "apr_optional.h"
#include "mod_watchdog.h"

#include "statsd_batch.h"
#include "statsd_client.h"
#include "statsd_guard.h"
#include "statsd_lines.h"
#include "statsd_name.h"

APLOG_USE_MODULE(statsd);

#define UNSET (-1)
#define NOTE_STAT "statsd.stat"
#define NOTE_RESULT "statsd"
#define NOTE_AGGREGATE "statsd.aggregate"
#define ENV_SKIP "no-statsd"
#define DEFAULT_STAT_HEADER "X-Statsd-Stat"
#define ERROR_LOG_INTERVAL apr_time_from_sec(60)
#define DEFAULT_FLUSH_MS 1000
#define MAX_FLUSH_MS 60000
#define WATCHDOG_NAME "_statsd_"
#define TICK_MS 1000                               /* without batching */
#define RESOLVE_RETRY apr_time_from_sec(2)         /* name not found yet */
#define RESOLVE_REFRESH apr_time_from_sec(60)      /* follow DNS changes */

/* One distinct destination with its client; shared by every section that
 * names the same target. last_log limits send-error logging per child. */
typedef struct {
    statsd_client *client;
    statsd_batch *batch;         /* NULL: one datagram per request */
    apr_time_t last_log;
    apr_time_t next_resolve;     /* watchdog thread only */
} statsd_sink;

/* The destination one config section defines (whole, as in the original:
 * StatsdHost alone means port 8125, StatsdPort alone means localhost). */
typedef struct {
    const char *host;        /* as given, NULL: default */
    unsigned port;           /* 0: default */
    statsd_target target;
    statsd_sink *sink;       /* set in post_config */
} statsd_dest;

/* A clean name from the config (suffix, StatsdStat, aggregate). */
typedef struct {
    const char *s;
    size_t len;
} statsd_str;

/* StatsdHTTPVerbs: known methods by number, HEAD (which httpd numbers as
 * GET) by a flag, methods registered later by name. */
typedef struct {
    apr_uint64_t bits;
    int head;
    apr_array_header_t *names;   /* const char *; NULL: none */
} statsd_verbs;

/* A prefix with its service lines, made once when the config is read. */
typedef struct {
    const char *name;
    size_t len;
    statsd_service service;
} statsd_prefix;

/* What this configuration cycle knows: rebuilt in pre_config. */
typedef struct {
    apr_array_header_t *dests;   /* statsd_dest * */
    apr_array_header_t *sinks;   /* statsd_sink * */
    statsd_dest *fallback;       /* localhost:8125 */
    const statsd_prefix *no_prefix;
    apr_array_header_t *prefixed; /* prefixed_section: for reload markers */
    size_t max_names;            /* StatsdMaxNames; 0: no limit */
    statsd_name_set *names;      /* per child: names seen so far */
} statsd_registry;

static statsd_registry *registry;

/* A section that sets StatsdPrefix, and the server it belongs to. */
typedef struct statsd_dir_conf statsd_dir_conf;
typedef struct {
    const statsd_dir_conf *conf;
    server_rec *server;
} prefixed_section;

typedef struct {
    /* main server only (no merging): they start at their defaults */
    long max_packet;             /* bytes */
    long flush_ms;               /* 0: no batching */
    long max_names;              /* 0: no limit */
} statsd_server_conf;

/* NULL or UNSET: inherit. A server's base section gets the defaults at
 * start-up (resolve_defaults), so a request's merged config has them. */
struct statsd_dir_conf {
    int enabled;
    statsd_dest *dest;           /* NULL: inherit */
    const statsd_prefix *prefix; /* NULL: inherit */
    const statsd_str *suffix;    /* NULL: inherit (likewise below) */
    const statsd_str *stat;      /* StatsdStat */
    const statsd_str *aggregate;
    const char *stat_header;     /* "" = Off */
    apr_array_header_t *excludes;  /* ap_regex_t *; NULL: none */
    statsd_verbs *verbs;         /* NULL: every method by its name */
    int unit;
    int legacy;
    int service;
    int max_name_len;
    int collapse_ids;
};

/* ---------------------------------------------------------------------- */
/* configuration                                                          */

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    statsd_dir_conf *c = apr_pcalloc(p, sizeof(*c));
    (void)dir;
    c->enabled = UNSET;
    c->unit = UNSET;
    c->legacy = UNSET;
    c->service = UNSET;
    c->max_name_len = UNSET;
    c->collapse_ids = UNSET;
    return c;
}

#define PICK(field) (add->field != UNSET ? add->field : base->field)
#define PICK_PTR(field) (add->field ? add->field : base->field)

/* Runs on every request a <Location> matches: plain copies, no work
 * unless both levels carry exclude lists. */
static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const statsd_dir_conf *base = basev, *add = addv;
    statsd_dir_conf *c = apr_palloc(p, sizeof(*c));

    c->enabled = PICK(enabled);
    c->dest = PICK_PTR(dest);
    c->prefix = PICK_PTR(prefix);
    c->suffix = PICK_PTR(suffix);
    c->stat = PICK_PTR(stat);
    c->aggregate = PICK_PTR(aggregate);
    c->stat_header = PICK_PTR(stat_header);
    if (add->excludes && base->excludes)
        c->excludes = apr_array_append(p, base->excludes, add->excludes);
    else
        c->excludes = PICK_PTR(excludes);
    c->verbs = PICK_PTR(verbs);
    c->unit = PICK(unit);
    c->legacy = PICK(legacy);
    c->service = PICK(service);
    c->max_name_len = PICK(max_name_len);
    c->collapse_ids = PICK(collapse_ids);
    return c;
}

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    statsd_server_conf *sc = apr_pcalloc(p, sizeof(*sc));
    (void)s;
    sc->max_packet = STATSD_DEFAULT_MAX_PACKET;
    sc->flush_ms = DEFAULT_FLUSH_MS;
    sc->max_names = STATSD_DEFAULT_MAX_NAMES;
    return sc;
}

static const char *bad_value(cmd_parms *cmd, const char *arg, const char *why)
{
    return apr_psprintf(cmd->pool, "%s: invalid value '%s': %s",
                        cmd->cmd->name, arg, why);
}

enum { NAME_PREFIX, NAME_SUFFIX, NAME_STAT, NAME_AGGREGATE };

static const statsd_prefix *make_prefix(apr_pool_t *p, const char *name,
                                        size_t len)
{
    statsd_prefix *pf = apr_palloc(p, sizeof(*pf));
    pf->name = name;
    pf->len = len;
    statsd_service_init(&pf->service, name, len);
    return pf;
}

/* StatsdPrefix, StatsdSuffix, StatsdStat, StatsdAggregateStat */
static const char *set_name(cmd_parms *cmd, void *dconf, const char *arg)
{
    statsd_dir_conf *c = dconf;
    int which = (int)(intptr_t)cmd->info;
    const char *src = arg;
    size_t cap = which == NAME_PREFIX || which == NAME_SUFFIX
                     ? STATSD_AFFIX_MAX : STATSD_NAME_MAX;
    size_t len;
    char *clean;
    statsd_str *str;

    if (which == NAME_PREFIX || which == NAME_SUFFIX) {
        /* {hostname}: the machine's short name, read once at start-up */
        if (ap_strstr_c(arg, "{hostname}")) {
            char host[APRMAXHOSTLEN + 1], shorthost[APRMAXHOSTLEN + 1];
            size_t room = strlen(arg) + sizeof(shorthost);
            char *out = apr_palloc(cmd->pool, room);
            if (apr_gethostname(host, sizeof(host), cmd->pool) != APR_SUCCESS)
                return apr_psprintf(cmd->pool, "%s: cannot read the host "
                                    "name for '%s'", cmd->cmd->name, arg);
            statsd_name_short_host(shorthost, sizeof(shorthost), host);
            if (statsd_name_expand(out, room, arg, shorthost) == (size_t)-1)
                return bad_value(cmd, arg, "too long");
            src = out;
        }
    }
    if (strlen(src) > cap)
        return bad_value(cmd, arg, apr_psprintf(cmd->pool,
                         "longer than %" APR_SIZE_T_FMT " bytes", cap));
    clean = apr_palloc(cmd->pool, strlen(src) + 1);
    len = statsd_name_clean(clean, cap, src, strlen(src));
    clean[len] = '\0';
    if (len == 0 && (which == NAME_STAT || which == NAME_AGGREGATE))
        return bad_value(cmd, arg, "no usable name in it");
    if (which == NAME_PREFIX) {
        c->prefix = make_prefix(cmd->pool, clean, len);
        /* reload markers are sent at start-up: remember the sections of
         * the main config, never a .htaccess read on a request */
        if (cmd->override & (RSRC_CONF | ACCESS_CONF)) {
            prefixed_section *ps = apr_array_push(registry->prefixed);
            ps->conf = c;
            ps->server = cmd->server;
        }
        return NULL;
    }
    str = apr_palloc(cmd->pool, sizeof(*str));
    str->s = clean;
    str->len = len;
    if (which == NAME_SUFFIX)
        c->suffix = str;
    else if (which == NAME_STAT)
        c->stat = str;
    else
        c->aggregate = str;
    return NULL;
}

enum { DEST_HOST, DEST_PORT, DEST_SERVER };

/* The section's own destination, created on its first destination
 * directive and registered so post_config can resolve it. */
static statsd_dest *section_dest(cmd_parms *cmd, statsd_dir_conf *c)
{
    if (!c->dest) {
        c->dest = apr_pcalloc(cmd->pool, sizeof(*c->dest));
        APR_ARRAY_PUSH(registry->dests, statsd_dest *) = c->dest;
    }
    return c->dest;
}

/* StatsdHost, StatsdPort, StatsdServer */
static const char *set_dest(cmd_parms *cmd, void *dconf, const char *arg)
{
    statsd_dir_conf *c = dconf;
    statsd_dest *d = section_dest(cmd, c);
    statsd_target t;

    switch ((int)(intptr_t)cmd->info) {
    case DEST_HOST:
        if (statsd_target_from_host_port(&t, arg, d->port) != 0)
            return bad_value(cmd, arg, "not a host name or address");
        d->host = arg;
        break;
    case DEST_PORT:
        if (statsd_port_parse(arg, &d->port) != 0)
            return bad_value(cmd, arg, "not a port number (1-65535)");
        if (statsd_target_from_host_port(&t, d->host, d->port) != 0)
            return bad_value(cmd, arg, "not a valid destination");
        break;
    default:
        if (statsd_target_parse(&t, arg) != 0)
            return bad_value(cmd, arg, "expected udp://host:port, "
                             "udp://[ipv6]:port or unix:/path");
        d->host = NULL;
        d->port = 0;
        break;
    }
    d->target = t;
    return NULL;
}

static const char *set_exclude(cmd_parms *cmd, void *dconf, const char *arg)
{
    statsd_dir_conf *c = dconf;
    ap_regex_t *re = ap_pregcomp(cmd->pool, arg, AP_REG_ICASE | AP_REG_NOSUB);

    if (!re)
        return bad_value(cmd, arg, "not a valid regular expression");
    if (!c->excludes)
        c->excludes = apr_array_make(cmd->pool, 4, sizeof(ap_regex_t *));
    APR_ARRAY_PUSH(c->excludes, ap_regex_t *) = re;
    return NULL;
}

static const char *set_verb(cmd_parms *cmd, void *dconf, const char *arg)
{
    statsd_dir_conf *c = dconf;
    statsd_verbs *v = c->verbs;
    int m = ap_method_number_of(arg);

    if (!*arg)
        return bad_value(cmd, arg, "empty method");
    if (!v)   /* the section's own list: it replaces the inherited one */
        c->verbs = v = apr_pcalloc(cmd->pool, sizeof(*v));
    if (!strcmp(arg, "HEAD")) {
        v->head = 1;
        return NULL;
    }
    if (m != M_INVALID && m < 64) {
        v->bits |= AP_METHOD_BIT << m;
        return NULL;
    }
    /* not known yet (maybe registered later by another module) */
    if (!v->names)
        v->names = apr_array_make(cmd->pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(v->names, const char *) = arg;
    return NULL;
}

static const char *set_unit(cmd_parms *cmd, void *dconf, const char *arg)
{
    statsd_dir_conf *c = dconf;

    if (!strcasecmp(arg, "milliseconds") || !strcasecmp(arg, "ms"))
        c->unit = STATSD_UNIT_MS;
    else if (!strcasecmp(arg, "microseconds") || !strcasecmp(arg, "us"))
        c->unit = STATSD_UNIT_US;
    else if (!strcasecmp(arg, "seconds") || !strcasecmp(arg, "s"))
        c->unit = STATSD_UNIT_S;
    else
        return bad_value(cmd, arg,
                         "expected milliseconds, microseconds or seconds");
    return NULL;
}

static const char *set_stat_header(cmd_parms *cmd, void *dconf,
                                   const char *arg)
{
    statsd_dir_conf *c = dconf;
    const char *p;

    if (!strcasecmp(arg, "Off")) {
        c->stat_header = "";
        return NULL;
    }
    for (p = arg; *p; p++)
        if (!apr_isalnum(*p) && *p != '-' && *p != '_')
            return bad_value(cmd, arg, "not a header name");
    if (!*arg)
        return bad_value(cmd, arg, "not a header name");
    c->stat_header = arg;
    return NULL;
}

/* Parse a decimal in [lo, hi]; strict, for configuration values. */
/* A decimal number from lo to hi into *out, or the configtest message
 * ("expected WHAT from LO to HI"). */
static const char *parse_range(cmd_parms *cmd, const char *arg, long lo,
                               long hi, const char *what, long *out)
{
    char *end = NULL;   /* stays NULL unless arg starts with a digit */
    long v = 0;

    errno = 0;
    if (apr_isdigit(*arg))
        v = strtol(arg, &end, 10);
    if (!end || errno || *end || v < lo || v > hi)
        return bad_value(cmd, arg, apr_psprintf(cmd->pool,
                         "expected %s from %ld to %ld", what, lo, hi));
    *out = v;
    return NULL;
}

static const char *set_max_name_len(cmd_parms *cmd, void *dconf,
                                    const char *arg)
{
    statsd_dir_conf *c = dconf;
    long v;
    const char *err = parse_range(cmd, arg, STATSD_NAME_MIN, STATSD_NAME_MAX,
                                  "a length", &v);

    if (!err)
        c->max_name_len = (int)v;
    return err;
}

/* A number of the main server config: where it goes and its range. */
typedef struct {
    size_t offset;               /* a long in statsd_server_conf */
    long lo, hi;
    const char *what;
} server_number;

static const server_number max_packet_number = {
    APR_OFFSETOF(statsd_server_conf, max_packet),
    STATSD_MIN_PACKET, STATSD_MAX_PACKET, "a size in bytes"};
static const server_number flush_number = {
    APR_OFFSETOF(statsd_server_conf, flush_ms),
    0, MAX_FLUSH_MS, "milliseconds (0: no batching)"};
static const server_number max_names_number = {
    APR_OFFSETOF(statsd_server_conf, max_names),
    0, STATSD_MAX_NAMES_LIMIT, "a count (0: no limit)"};

/* StatsdMaxPacketSize, StatsdFlushInterval, StatsdMaxNames: cmd->info
 * says which; main server only, as they size per-process state. */
static const char *set_server_number(cmd_parms *cmd, void *dconf,
                                     const char *arg)
{
    const server_number *n = cmd->info;
    statsd_server_conf *sc = ap_get_module_config(cmd->server->module_config,
                                                  &statsd_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    long v;

    (void)dconf;
    if (err)
        return err;
    if ((err = parse_range(cmd, arg, n->lo, n->hi, n->what, &v)) != NULL)
        return err;
    *(long *)((char *)sc + n->offset) = v;
    return NULL;
}

#define DIR_CONF (RSRC_CONF | ACCESS_CONF | OR_FILEINFO)
/* Never in .htaccess: a user's file must not choose where metrics go. */
#define DEST_CONF (RSRC_CONF | ACCESS_CONF)
#define OFFSET(f) ((void *)APR_OFFSETOF(statsd_dir_conf, f))

static const command_rec statsd_cmds[] = {
    AP_INIT_FLAG("Statsd", ap_set_flag_slot, OFFSET(enabled), DIR_CONF,
                 "On to measure requests here (default Off)"),
    AP_INIT_TAKE1("StatsdHost", set_dest, (void *)DEST_HOST, DEST_CONF,
                  "statsd host name or address (default localhost)"),
    AP_INIT_TAKE1("StatsdPort", set_dest, (void *)DEST_PORT, DEST_CONF,
                  "statsd UDP port (default 8125)"),
    AP_INIT_TAKE1("StatsdServer", set_dest, (void *)DEST_SERVER, DEST_CONF,
                  "udp://host:port, udp://[ipv6]:port or unix:/path"),
    AP_INIT_TAKE1("StatsdPrefix", set_name, (void *)NAME_PREFIX, DIR_CONF,
                  "prefix of every metric name ({hostname} allowed)"),
    AP_INIT_TAKE1("StatsdSuffix", set_name, (void *)NAME_SUFFIX, DIR_CONF,
                  "suffix of every request metric name"),
    AP_INIT_TAKE1("StatsdStat", set_name, (void *)NAME_STAT, DIR_CONF,
                  "fixed name for requests here instead of the path"),
    AP_INIT_TAKE1("StatsdAggregateStat", set_name, (void *)NAME_AGGREGATE,
                  DIR_CONF, "extra name every request here is counted under"),
    AP_INIT_TAKE1("StatsdStatHeader", set_stat_header, NULL, DIR_CONF,
                  "response header that may name a request, or Off"),
    AP_INIT_ITERATE("StatsdExclude", set_exclude, NULL, DIR_CONF,
                    "regexes of path segments left out of names"),
    AP_INIT_ITERATE("StatsdHTTPVerbs", set_verb, NULL, DIR_CONF,
                    "methods named as such; others become OtherVerbs"),
    AP_INIT_TAKE1("StatsdTimeUnit", set_unit, NULL, DIR_CONF,
                  "milliseconds (default), microseconds or seconds"),
    AP_INIT_FLAG("StatsdLegacyMode", ap_set_flag_slot, OFFSET(legacy), DIR_CONF,
                 "also send a counter line per request (default On)"),
    AP_INIT_FLAG("StatsdServiceStats", ap_set_flag_slot, OFFSET(service), DIR_CONF,
                 "send PREFIX.responses.* lines (default On)"),
    AP_INIT_TAKE1("StatsdMaxNameLength", set_max_name_len, NULL, DIR_CONF,
                  "longest metric name in bytes (default 250)"),
    AP_INIT_FLAG("StatsdCollapseIds", ap_set_flag_slot, OFFSET(collapse_ids),
                 DIR_CONF, "name numbers, UUIDs, hex and token path "
                 "segments _id_ (default Off)"),
    AP_INIT_TAKE1("StatsdMaxNames", set_server_number,
                  (void *)&max_names_number, RSRC_CONF,
                  "distinct names per child before new ones become _other "
                  "(default 10000; 0: no limit)"),
    AP_INIT_TAKE1("StatsdMaxPacketSize", set_server_number,
                  (void *)&max_packet_number, RSRC_CONF,
                  "largest datagram in bytes (default 1432)"),
    AP_INIT_TAKE1("StatsdFlushInterval", set_server_number,
                  (void *)&flush_number, RSRC_CONF,
                  "longest wait in ms before batched lines are sent "
                  "(default 1000; 0 sends each request's lines at once)"),
    {NULL}
};

/* ---------------------------------------------------------------------- */
/* start-up: resolve destinations, one socket per child                   */

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    registry = apr_pcalloc(pconf, sizeof(*registry));
    registry->dests = apr_array_make(pconf, 8, sizeof(statsd_dest *));
    registry->sinks = apr_array_make(pconf, 8, sizeof(statsd_sink *));
    registry->prefixed = apr_array_make(pconf, 8, sizeof(prefixed_section));
    registry->no_prefix = make_prefix(pconf, "", 0);
    registry->fallback = apr_pcalloc(pconf, sizeof(statsd_dest));
    statsd_target_from_host_port(&registry->fallback->target, NULL, 0);
    return OK;
}

static apr_status_t destroy_sinks(void *data)
{
    apr_array_header_t *sinks = data;
    int i;

    for (i = 0; i < sinks->nelts; i++) {
        statsd_sink *sink = APR_ARRAY_IDX(sinks, i, statsd_sink *);
        statsd_batch_destroy(sink->batch);
        statsd_client_destroy(sink->client);
    }
    apr_array_clear(sinks);
    return APR_SUCCESS;
}

static const char *target_text(apr_pool_t *p, const statsd_target *t)
{
    char buf[STATSD_HOST_MAX + STATSD_PATH_MAX + 32];
    if (statsd_target_format(t, buf, sizeof(buf)) < 0)
        return "(unprintable)";
    return apr_pstrdup(p, buf);
}

/* The sink for a target: an existing one for the same target, or a new
 * client resolved now. A name that does not resolve is not fatal: its
 * lines are dropped and counted until it does. */
static statsd_sink *sink_for(apr_pool_t *p, server_rec *s,
                             const statsd_target *t, size_t max_packet,
                             int batching)
{
    statsd_sink *sink;
    int i, rv;

    for (i = 0; i < registry->sinks->nelts; i++) {
        sink = APR_ARRAY_IDX(registry->sinks, i, statsd_sink *);
        if (statsd_target_equal(statsd_client_target(sink->client), t))
            return sink;
    }
    sink = apr_pcalloc(p, sizeof(*sink));
    rv = statsd_client_create(&sink->client, t, max_packet);
    if (rv != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, -rv, s,
                     "statsd: cannot set up destination %s",
                     target_text(p, t));
        return NULL;
    }
    if (batching && (rv = statsd_batch_create(&sink->batch,
                                              sink->client)) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, -rv, s,
                     "statsd: cannot set up batching for %s",
                     target_text(p, t));
        statsd_client_destroy(sink->client);
        return NULL;
    }
    rv = statsd_client_resolve(sink->client);
    sink->next_resolve = apr_time_now()
                         + (rv != 0 ? RESOLVE_RETRY : RESOLVE_REFRESH);
    if (rv != 0)
        ap_log_error(APLOG_MARK, APLOG_WARNING, -rv, s,
                     "statsd: destination %s does not resolve; its "
                     "metrics are dropped and counted", target_text(p, t));
    APR_ARRAY_PUSH(registry->sinks, statsd_sink *) = sink;
    return sink;
}

/* Give what no one set its default, once, in each server's base section:
 * every request's config is merged on top of its server's, so the
 * request path reads settings as they are. Returns whether any server
 * uses the default destination (localhost:8125). */
static int resolve_defaults(server_rec *s)
{
    static const statsd_str none = {"", 0};
    int fallback = 0;

    for (; s; s = s->next) {
        statsd_dir_conf *c = ap_get_module_config(s->lookup_defaults,
                                                  &statsd_module);
        if (!c->dest) {
            c->dest = registry->fallback;
            fallback = 1;
        }
        if (!c->prefix)
            c->prefix = registry->no_prefix;
        if (!c->suffix)
            c->suffix = &none;
        if (!c->aggregate)
            c->aggregate = &none;
        if (!c->stat_header)
            c->stat_header = DEFAULT_STAT_HEADER;
        if (c->unit == UNSET)
            c->unit = STATSD_UNIT_MS;
        if (c->legacy == UNSET)
            c->legacy = 1;
        if (c->service == UNSET)
            c->service = 1;
        if (c->max_name_len == UNSET)
            c->max_name_len = STATSD_NAME_DEFAULT_MAX;
    }
    return fallback;
}

/* Look a destination's name up again: soon while it does not resolve,
 * then once a minute so a DNS change is followed without a restart. */
static void refresh_sink(statsd_sink *sink, apr_time_t now, apr_pool_t *p)
{
    int was = statsd_client_is_resolved(sink->client), rv;

    if (now < sink->next_resolve)
        return;
    rv = statsd_client_refresh(sink->client);
    sink->next_resolve = now + (rv < 0 ? RESOLVE_RETRY : RESOLVE_REFRESH);
    if (rv > 0)
        ap_log_error(APLOG_MARK, was ? APLOG_INFO : APLOG_NOTICE, 0,
                     ap_server_conf, "statsd: destination %s %s",
                     target_text(p, statsd_client_target(sink->client)),
                     was ? "has a new address" : "resolves now");
}

/* Each child's watchdog thread, off the request path: sends what the
 * batches hold (so an idle child never holds lines back longer than the
 * flush interval) and keeps destination addresses fresh. */
static apr_status_t on_tick(int state, void *data, apr_pool_t *pool)
{
    apr_array_header_t *sinks = data;
    apr_time_t now = apr_time_now();
    int i;

    for (i = 0; i < sinks->nelts; i++) {
        statsd_sink *sink = APR_ARRAY_IDX(sinks, i, statsd_sink *);
        if (sink->batch)
            statsd_batch_flush(sink->batch);
        if (state == AP_WATCHDOG_STATE_RUNNING)
            refresh_sink(sink, now, pool);
    }
    return APR_SUCCESS;
}

/* A watchdog in every child (not a singleton) calls on_tick. */
static int start_ticks(apr_pool_t *pconf, server_rec *s, int tick_ms)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    ap_watchdog_t *wd;
    apr_status_t rv;

    if (!wd_get_instance || !wd_register) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "statsd: mod_watchdog "
                     "is needed (for batching and re-resolution)");
        return !OK;
    }
    rv = wd_get_instance(&wd, WATCHDOG_NAME, 0, 0, pconf);
    if (rv == APR_SUCCESS)
        rv = wd_register(wd, apr_time_from_msec(tick_ms), registry->sinks,
                         on_tick);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "statsd: cannot start the child watchdog");
        return !OK;
    }
    return OK;
}

/* A (prefix, destination) pair that gets a reload marker. */
typedef struct {
    const statsd_prefix *prefix;
    statsd_sink *sink;
} marker;

/* The marker of section c of a server whose base section is base (already
 * given its defaults), merged as a request there would see it. */
static void add_marker(apr_array_header_t *markers, apr_pool_t *p,
                       const statsd_dir_conf *c, const statsd_dir_conf *base)
{
    const statsd_dir_conf *mc = c == base ? c
        : merge_dir_conf(p, (void *)base, (void *)c);
    const statsd_prefix *pf = mc->prefix;
    marker *m;
    int i;

    if (mc->enabled != 1 || !mc->dest->sink)
        return;
    for (i = 0; i < markers->nelts; i++) {
        m = &APR_ARRAY_IDX(markers, i, marker);
        if (m->sink == mc->dest->sink && m->prefix->len == pf->len
            && !memcmp(m->prefix->name, pf->name, pf->len))
            return;
    }
    m = apr_array_push(markers);
    m->prefix = pf;
    m->sink = mc->dest->sink;
}

/* P.httpd.reloads:1|c once per distinct prefix (and destination) at every
 * start and graceful restart, so dashboards can mark config changes.
 * Runs in the parent, which opens its sockets only for this. */
static void send_reload_markers(apr_pool_t *ptemp, server_rec *main_s)
{
    apr_array_header_t *markers = apr_array_make(ptemp, 8, sizeof(marker));
    server_rec *s;
    int i;

    for (s = main_s; s; s = s->next) {
        const statsd_dir_conf *c =
            ap_get_module_config(s->lookup_defaults, &statsd_module);
        add_marker(markers, ptemp, c, c);
    }
    for (i = 0; i < registry->prefixed->nelts; i++) {
        prefixed_section *ps = &APR_ARRAY_IDX(registry->prefixed, i,
                                              prefixed_section);
        add_marker(markers, ptemp, ps->conf,
                   ap_get_module_config(ps->server->lookup_defaults,
                                        &statsd_module));
    }
    for (i = 0; i < markers->nelts; i++) {
        marker *m = &APR_ARRAY_IDX(markers, i, marker);
        char *line = apr_psprintf(ptemp, "%.*s%shttpd.reloads:1|c",
                                  (int)m->prefix->len, m->prefix->name,
                                  m->prefix->len ? "." : "");
        if (statsd_client_open(m->sink->client) == 0)
            statsd_client_send(m->sink->client, line, strlen(line), 1);
    }
    /* children open their own sockets */
    for (i = 0; i < registry->sinks->nelts; i++)
        statsd_client_close(APR_ARRAY_IDX(registry->sinks, i,
                                          statsd_sink *)->client);
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog,
                       apr_pool_t *ptemp, server_rec *s)
{
    const statsd_server_conf *sc = ap_get_module_config(s->module_config,
                                                        &statsd_module);
    size_t max_packet = (size_t)sc->max_packet;
    int flush_ms = (int)sc->flush_ms;
    int i;

    registry->max_names = (size_t)sc->max_names;

    (void)plog;
    /* the first of the two start-up passes only checks the config */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    apr_pool_cleanup_register(pconf, registry->sinks, destroy_sinks,
                              apr_pool_cleanup_null);
    for (i = 0; i < registry->dests->nelts; i++) {
        statsd_dest *d = APR_ARRAY_IDX(registry->dests, i, statsd_dest *);
        d->sink = sink_for(pconf, s, &d->target, max_packet, flush_ms > 0);
    }
    if (resolve_defaults(s))
        registry->fallback->sink = sink_for(pconf, s,
                                            &registry->fallback->target,
                                            max_packet, flush_ms > 0);
    if (registry->sinks->nelts == 0)
        return OK;
    send_reload_markers(ptemp, s);
    return start_ticks(pconf, s, flush_ms > 0 ? flush_ms : TICK_MS);
}

static apr_status_t close_sockets(void *data)
{
    apr_array_header_t *sinks = data;
    int i;

    /* prefork may run this from a signal handler: never wait for a lock
     * (a request interrupted while adding lines keeps its batch) */
    for (i = 0; i < sinks->nelts; i++) {
        statsd_sink *sink = APR_ARRAY_IDX(sinks, i, statsd_sink *);
        if (sink->batch)
            statsd_batch_flush_nowait(sink->batch);
        statsd_client_close(sink->client);
    }
    return APR_SUCCESS;
}

static apr_status_t destroy_names(void *data)
{
    (void)data;
    statsd_name_set_destroy(registry->names);
    registry->names = NULL;
    return APR_SUCCESS;
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    int i;

    if (registry->max_names) {
        int rv = statsd_name_set_create(&registry->names,
                                        registry->max_names);
        if (rv != 0)
            ap_log_error(APLOG_MARK, APLOG_ERR, -rv, s, "statsd: no memory "
                         "for StatsdMaxNames; names are not limited");
        else
            apr_pool_cleanup_register(pchild, NULL, destroy_names,
                                      apr_pool_cleanup_null);
    }

    for (i = 0; i < registry->sinks->nelts; i++) {
        statsd_sink *sink = APR_ARRAY_IDX(registry->sinks, i, statsd_sink *);
        int rv = statsd_client_open(sink->client);
        if (rv != 0 && statsd_client_is_resolved(sink->client))
            ap_log_error(APLOG_MARK, APLOG_ERR, -rv, s,
                         "statsd: cannot open a socket for %s",
                         target_text(pchild,
                                     statsd_client_target(sink->client)));
    }
    apr_pool_cleanup_register(pchild, registry->sinks, close_sockets,
                              apr_pool_cleanup_null);
}

/* ---------------------------------------------------------------------- */
/* StatsdStatHeader: the header names the request, the client never sees */

static ap_filter_rec_t *stat_header_filter;

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
    /* headers go out with the first brigade: one look is enough */
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* Only responses made by a handler (CGI, proxy, FastCGI, mod_lua, PHP...)
 * can carry the header: httpd's static file delivery (no handler set)
 * never does, and it is spared the filter. */
static void insert_stat_header_filter(request_rec *r)
{
    const statsd_dir_conf *c = ap_get_module_config(r->per_dir_config,
                                                    &statsd_module);
    if (c->enabled == 1 && *c->stat_header && r->handler)
        ap_add_output_filter_handle(stat_header_filter,
                                    (void *)c->stat_header, r, r->connection);
}

/* ---------------------------------------------------------------------- */
/* the request path                                                       */

static int exclude_segment(const char *seg, size_t len, void *baton)
{
    const apr_array_header_t *ex = baton;
    int i;

    for (i = 0; i < ex->nelts; i++)
        if (ap_regexec_len(APR_ARRAY_IDX(ex, i, ap_regex_t *), seg, len,
                           0, NULL, 0) == 0)
            return 1;
    return 0;
}

/* The name a note or header gives, looked for from the last request of
 * the internal-redirect chain back to the first. The header was taken out
 * of the response by stat_header_out, which kept its value. */
static const char *chosen_name(request_rec *last)
{
    request_rec *rr;
    const char *v;

    for (rr = last; rr; rr = rr->prev)
        if ((v = apr_table_get(rr->notes, NOTE_STAT)) != NULL)
            return v;
    for (rr = last; rr; rr = rr->prev)
        if ((v = ap_get_module_config(rr->request_config, &statsd_module)))
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

/* Log a destination's send errors at most once a minute per child. */
static void report_send_errors(request_rec *r, statsd_sink *sink)
{
    apr_time_t now = r->request_time, last = sink->last_log;
    uint64_t count;
    int err;

    if (now - last < ERROR_LOG_INTERVAL
        || !__atomic_compare_exchange_n(&sink->last_log, &last, now, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return;
    err = statsd_client_take_errors(sink->client, &count);
    if (count == 0)
        return;
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, err, r,
                  "statsd: %" APR_UINT64_T_FMT " datagram(s) to %s dropped "
                  "since the last report (this is logged once a minute)",
                  count, target_text(r->pool,
                                     statsd_client_target(sink->client)));
}

static int log_transaction(request_rec *r)
{
    const statsd_dir_conf *c = ap_get_module_config(r->per_dir_config,
                                                    &statsd_module);
    const statsd_dest *dest;
    statsd_measurement m;
    statsd_request req;
    request_rec *last;
    char path_buf[1024], name_buf[STATSD_NAME_MAX + 1], *note, *agg;
    char guard_buf[STATSD_NAME_MAX + 1];
    apr_time_t usec;
    long sent;

    if (c->enabled != 1 || apr_table_get(r->subprocess_env, ENV_SKIP))
        return DECLINED;
    usec = apr_time_now() - r->request_time;
    if (usec <= 0)
        usec = 1; /* the clock stepped back: still a real request */
    for (last = r; last->next; last = last->next)
        ;

    /* every setting has its value here: resolve_defaults gave the unset
     * ones theirs at start-up */
    req.key.prefix = c->prefix->name;
    req.key.prefix_len = c->prefix->len;
    req.key.suffix = c->suffix->s;
    req.key.suffix_len = c->suffix->len;
    req.aggregate = c->aggregate->s;
    req.aggregate_len = c->aggregate->len;
    req.key.name_len = 0;
    if (c->stat) {
        req.key.name = c->stat->s;
        req.key.name_len = c->stat->len;
    } else {
        const char *v = chosen_name(last);
        if (v) {
            req.key.name = name_buf;
            req.key.name_len = statsd_name_clean(name_buf, STATSD_NAME_MAX,
                                                 v, strlen(v));
        }
        if (req.key.name_len == 0) {
            const char *uri = r->unparsed_uri ? r->unparsed_uri : "";
            size_t len = strlen(uri);
            char *buf = path_buf;
            if (STATSD_PATH_SCRATCH(len) > sizeof(path_buf))
                buf = apr_palloc(r->pool, STATSD_PATH_SCRATCH(len));
            req.key.name = buf;
            req.key.name_len = statsd_name_from_path(
                buf, STATSD_PATH_SCRATCH(len), uri, len,
                c->excludes ? exclude_segment : NULL, c->excludes);
        }
        /* names from requests are guarded; StatsdStat is the admin's */
        if (c->collapse_ids == 1) {
            req.key.name_len = statsd_guard_collapse(
                guard_buf, STATSD_NAME_MAX, req.key.name, req.key.name_len);
            req.key.name = guard_buf;
        }
        if (registry->names
            && !statsd_name_set_admit(registry->names, req.key.name,
                                      req.key.name_len)) {
            req.key.name = STATSD_OTHER_NAME;
            req.key.name_len = sizeof(STATSD_OTHER_NAME) - 1;
        }
    }
    if (!r->method || r->method_number == M_INVALID
        || (c->verbs && !verb_allowed(c->verbs, r))) {
        req.key.method = STATSD_OTHER_VERBS;
        req.key.method_len = sizeof(STATSD_OTHER_VERBS) - 1;
        req.key.method_clean = 1;
    } else {
        req.key.method = r->method;
        req.key.method_len = strlen(r->method);
        /* httpd's own methods are plain words; registered ones may not be */
        req.key.method_clean = r->method_number < M_INVALID;
    }
    req.key.status = last->status;
    req.usec = (uint64_t)usec;
    req.unit = (statsd_time_unit)c->unit;
    req.key.max_len = (size_t)c->max_name_len;
    req.legacy = c->legacy;
    req.service = c->service ? &c->prefix->service : NULL;
    if (statsd_lines_build(&req, &m) != 0)
        return DECLINED;

    dest = c->dest;
    if (dest->sink) {
        if (dest->sink->batch)
            sent = statsd_batch_add(dest->sink->batch, m.lines, m.lines_len,
                                    m.n_lines);
        else
            sent = statsd_client_send_lines(dest->sink->client, m.lines,
                                            m.lines_len);
        /* batched sends fail later, or in the watchdog: look at the count */
        if (statsd_client_errors_pending(dest->sink->client))
            report_send_errors(r, dest->sink);
    } else {
        sent = -1;
    }

    note = apr_palloc(r->pool, m.key_len + 64);
    statsd_lines_note(note, &m, sent < 0 ? -1 : sent, req.legacy);
    agg = m.agg_len ? apr_pstrmemdup(r->pool, m.agg, m.agg_len) : NULL;
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
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    /* before mod_log_config, so %{statsd}n sees our note */
    static const char *const log_after[] = {"mod_log_config.c", NULL};

    (void)p;
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* before mod_watchdog's child_init, which starts the watchdog thread:
     * the sockets are open before its first tick flushes, and (cleanups
     * run in reverse order) the thread, which may be sending a batch, is
     * stopped before close_sockets runs */
    static const char *const before_watchdog[] = {"mod_watchdog.c", NULL};

    ap_hook_child_init(child_init, NULL, before_watchdog, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(insert_stat_header_filter, NULL, NULL,
                          APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(insert_stat_header_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_log_transaction(log_transaction, NULL, log_after,
                            APR_HOOK_FIRST);
    stat_header_filter = ap_register_output_filter(
        "STATSD_STAT_HEADER", stat_header_out, NULL, AP_FTYPE_CONTENT_SET);
}

/* the one symbol httpd looks up: everything else is built hidden, so no
 * symbol of ours clashes with another module's, and link-time optimisation
 * may inline across our files freely */
__attribute__((visibility("default")))
module AP_MODULE_DECLARE_DATA statsd_module = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_server_conf,
    NULL,
    statsd_cmds,
    register_hooks
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    , AP_MODULE_FLAG_NONE
#endif
};
