/*
 * mod_statsd_config.c - the directives: parsing and checking each value
 * (configtest reports the mistakes), the per-directory and per-server
 * records and their merging. The checks and defaults of start-up are in
 * mod_statsd_defaults.c.
 */
#include "mod_statsd.h"

APLOG_USE_MODULE(statsd);

/* ---------------------------------------------------------------------- */
/* configuration                                                          */

void *statsd_config_create_dir(apr_pool_t *p, char *dir)
{
    statsd_dir_conf *c = apr_pcalloc(p, sizeof(*c));
    (void)dir;
    c->enabled = UNSET;
    c->unit = UNSET;
    c->legacy = UNSET;
    c->service = UNSET;
    c->max_name_len = UNSET;
    c->collapse_ids = UNSET;
    c->tag_format = UNSET;
    c->tag_mode = UNSET;
    c->timer_type = UNSET;
    statsd_breakdown_init_conf(c);
    return c;
}

#define PICK(field) (add->field != UNSET ? add->field : base->field)

/* Tags of both levels, the inner one's value winning for a key. A
 * <Location> or <Directory> under its server's tags has them merged
 * already (statsd_config_premerge_tags); a set is made per request only
 * under other tags (a section in a section that sets some too). */
static const statsd_tagset *merge_tags(apr_pool_t *p,
                                       const statsd_dir_conf *base,
                                       const statsd_dir_conf *add)
{
    statsd_tagset *t;

    if (!add->tags || !base->tags)
        return add->tags ? add->tags : base->tags;
    if (add->tags_under == base->tags)
        return add->tags_merged;
    t = apr_palloc(p, sizeof(*t));
    statsd_tags_merge(t, base->tags, add->tags);
    return t;
}
#define PICK_PTR(field) (add->field ? add->field : base->field)

/* Runs on every request a <Location> matches: plain copies, no work
 * unless both levels carry exclude lists. */
void *statsd_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
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
    c->tag_format = PICK(tag_format);
    c->tag_mode = PICK(tag_mode);
    c->timer_type = PICK(timer_type);
    c->sample = PICK_PTR(sample);
    c->buckets = PICK_PTR(buckets);
    c->extra = statsd_conf_extra(c);
    c->tags = merge_tags(p, base, add);
    c->tags_under = NULL;
    c->tags_merged = NULL;
    c->tagged = c->tag_format > 0 || c->timer_type > 0;
    /* the server's pieces hold unless this level changes what they are
     * made of; else the request takes the general tagged writer */
    c->tag_plan = add->prefix || add->suffix || add->tags
                  || add->tag_format != UNSET || add->tag_mode != UNSET
                  || add->timer_type != UNSET ? NULL : base->tag_plan;
    /* likewise the untagged lines' pieces */
    c->plain_plan = add->prefix || add->suffix || add->aggregate
                    || add->unit != UNSET || add->legacy != UNSET
                    || add->service != UNSET || add->max_name_len != UNSET
                    ? NULL : base->plain_plan;
    statsd_breakdown_merge_conf(c, base, add);
    return c;
}

void *statsd_config_create_server(apr_pool_t *p, server_rec *s)
{
    statsd_server_conf *sc = apr_pcalloc(p, sizeof(*sc));
    (void)s;
    sc->max_packet = STATSD_DEFAULT_MAX_PACKET;
    sc->flush_ms = DEFAULT_FLUSH_MS;
    sc->max_names = STATSD_DEFAULT_MAX_NAMES;
    sc->scoreboard_s = DEFAULT_SCOREBOARD_S;
    sc->sum_counters = 1;         /* with batching: see StatsdSumCounters */
    sc->note = STATSD_NOTE_AUTO;
    return sc;
}

static const char *bad_value(cmd_parms *cmd, const char *arg, const char *why)
{
    return apr_psprintf(cmd->pool, "%s: invalid value '%s': %s",
                        cmd->cmd->name, arg, why);
}

/* The words a directive takes, and what each stands for. */
typedef struct {
    const char *word;
    int value;
} keyword;

/* The value of arg among the words (ended by a NULL word), compared
 * without case when nocase; -1 if it is none of them. */
static int keyword_value(const keyword *k, const char *arg, int nocase)
{
    for (; k->word; k++)
        if (!(nocase ? strcasecmp(arg, k->word) : strcmp(arg, k->word)))
            return k->value;
    return -1;
}

/* The server config a main-server-only directive sets; *err: the refusal
 * when it stands in a section (else NULL). */
static statsd_server_conf *main_server_conf(cmd_parms *cmd, const char **err)
{
    *err = ap_check_cmd_context(cmd, GLOBAL_ONLY | NOT_IN_HTACCESS);
    return ap_get_module_config(cmd->server->module_config, &statsd_module);
}

/* A directive a .htaccess file may not hold. The command table leaves
 * OR_* out of its override bits, which AllowOverride honours; this check
 * also stops what AllowOverrideList lets past those bits. */
static const char *not_in_htaccess(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, NOT_IN_HTACCESS);
}

/* On|Off directives that are not for .htaccess. */
static const char *set_flag_no_htaccess(cmd_parms *cmd, void *dconf, int on)
{
    const char *err = not_in_htaccess(cmd);

    return err ? err : ap_set_flag_slot(cmd, dconf, on);
}

enum { NAME_PREFIX, NAME_SUFFIX, NAME_STAT, NAME_AGGREGATE };

/* arg with every {hostname} replaced by the machine's short name, read
 * once at start-up, into *out; returns NULL or the configtest message. */
static const char *expand_hostname(cmd_parms *cmd, const char *arg,
                                   const char **out)
{
    char host[APRMAXHOSTLEN + 1], shorthost[APRMAXHOSTLEN + 1];
    size_t room;
    char *buf;

    *out = arg;
    if (!ap_strstr_c(arg, "{hostname}"))
        return NULL;
    room = strlen(arg) + sizeof(shorthost);
    buf = apr_palloc(cmd->pool, room);
    if (apr_gethostname(host, sizeof(host), cmd->pool) != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s: cannot read the host name for "
                            "'%s'", cmd->cmd->name, arg);
    statsd_name_short_host(shorthost, sizeof(shorthost), host);
    if (statsd_name_expand(buf, room, arg, shorthost) == (size_t)-1)
        return bad_value(cmd, arg, "too long");
    *out = buf;
    return NULL;
}

const statsd_prefix *statsd_config_make_prefix(apr_pool_t *p,
                                               const char *name, size_t len)
{
    statsd_prefix *pf = apr_palloc(p, sizeof(*pf));
    pf->name = name;
    pf->len = len;
    pf->group = 0;    /* given at start-up, once the prefixes in use are known */
    statsd_lines_service_init(&pf->service, name, len);
    statsd_lines_tag_names_init(&pf->tag_names, name, len);
    if (statsd_reg && statsd_reg->prefixes)
        APR_ARRAY_PUSH(statsd_reg->prefixes, statsd_prefix *) = pf;
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
        /* the prefix and suffix say whose metrics these are: not a
         * tenant's to choose */
        const char *err = not_in_htaccess(cmd);
        if (err)
            return err;
        if ((err = expand_hostname(cmd, arg, &src)) != NULL)
            return err;
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
        prefixed_section *ps;
        c->prefix = statsd_config_make_prefix(cmd->pool, clean, len);
        /* reload markers are sent at start-up, for every prefix */
        ps = apr_array_push(statsd_reg->prefixed);
        ps->conf = c;
        ps->server = cmd->server;
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
        APR_ARRAY_PUSH(statsd_reg->dests, statsd_dest *) = c->dest;
    }
    return c->dest;
}

/* StatsdHost, StatsdPort, StatsdServer */
static const char *set_dest(cmd_parms *cmd, void *dconf, const char *arg)
{
    statsd_dir_conf *c = dconf;
    statsd_dest *d;
    statsd_target t;
    const char *err = not_in_htaccess(cmd);

    /* before section_dest: a .htaccess is read on a request, and must not
     * add to the configuration's list of destinations */
    if (err)
        return err;
    d = section_dest(cmd, c);

    switch ((int)(intptr_t)cmd->info) {
    case DEST_HOST:
        if (statsd_target_from_host_port(&t, arg, d->port) != 0)
            return bad_value(cmd, arg, "not a host name or address (for a "
                             "host and a port in one directive, write "
                             "StatsdServer udp://host:port)");
        d->host = arg;
        break;
    case DEST_PORT:
        if (statsd_target_parse_port(arg, &d->port) != 0)
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

/* Each pattern gets PCRE's in-pattern match limit in front: a match
 * that would backtrack past it fails at once (ap_regexec_len returns
 * AP_REG_ESPACE) instead of holding a worker for seconds. */
static const char *set_exclude(cmd_parms *cmd, void *dconf, const char *arg)
{
    statsd_dir_conf *c = dconf;
    statsd_exclude *ex;
    ap_regex_t *re;
    const char *err = not_in_htaccess(cmd);

    if (err)
        return err;
    re = ap_pregcomp(cmd->pool, apr_psprintf(cmd->pool, "(*LIMIT_MATCH=%d)%s",
                                             EXCLUDE_MATCH_LIMIT, arg),
                     AP_REG_ICASE | AP_REG_NOSUB);
    if (!re)
        return bad_value(cmd, arg, "not a valid regular expression");
    if (!c->excludes)
        c->excludes = apr_array_make(cmd->pool, 4, sizeof(statsd_exclude));
    ex = apr_array_push(c->excludes);
    ex->re = re;
    ex->pattern = arg;
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
    const char *err = not_in_htaccess(cmd);
    static const keyword units[] = {
        {"milliseconds", STATSD_UNIT_MS}, {"ms", STATSD_UNIT_MS},
        {"microseconds", STATSD_UNIT_US}, {"us", STATSD_UNIT_US},
        {"seconds", STATSD_UNIT_S}, {"s", STATSD_UNIT_S}, {NULL, 0}};
    int v;

    if (err)
        return err;
    if ((v = keyword_value(units, arg, 1)) < 0)
        return bad_value(cmd, arg,
                         "expected milliseconds, microseconds or seconds");
    c->unit = v;
    return NULL;
}

static const char *set_stat_header(cmd_parms *cmd, void *dconf,
                                   const char *arg)
{
    statsd_dir_conf *c = dconf;
    const char *p, *err = not_in_htaccess(cmd);

    if (err)
        return err;
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
    const char *err = not_in_htaccess(cmd);

    if (!err)
        err = parse_range(cmd, arg, STATSD_NAME_MIN, STATSD_NAME_MAX,
                          "a length", &v);
    if (err)
        return err;
    c->max_name_len = (int)v;
    if (v > statsd_reg->longest_name)
        statsd_reg->longest_name = v;
    return NULL;
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
static const server_number scoreboard_number = {
    APR_OFFSETOF(statsd_server_conf, scoreboard_s),
    0, MAX_SCOREBOARD_S, "seconds (0: no worker gauges)"};

/* StatsdMaxPacketSize, StatsdFlushInterval, StatsdMaxNames: cmd->info
 * says which; main server only, as they size per-process state. */
static const char *set_server_number(cmd_parms *cmd, void *dconf,
                                     const char *arg)
{
    const server_number *n = cmd->info;
    const char *err;
    statsd_server_conf *sc = main_server_conf(cmd, &err);
    long v;

    (void)dconf;
    if (err)
        return err;
    if ((err = parse_range(cmd, arg, n->lo, n->hi, n->what, &v)) != NULL)
        return err;
    *(long *)((char *)sc + n->offset) = v;
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* tags and timer type: never from .htaccess, AllowOverrideList included */

static const char *set_tag_format(cmd_parms *cmd, void *dconf,
                                  const char *arg)
{
    statsd_dir_conf *c = dconf;
    statsd_tag_format f;
    const char *err = ap_check_cmd_context(cmd, NOT_IN_HTACCESS);

    if (err)
        return err;
    if (statsd_tags_parse_format(arg, &f) != 0)
        return bad_value(cmd, arg,
                         "expected none, dogstatsd, influx or graphite");
    c->tag_format = (int)f;
    if (f != STATSD_TAGS_NONE)
        statsd_reg->any_tag_format = 1;
    return NULL;
}

/* StatsdTag key value: added to the section's own set (a key set again
 * gets the new value); the levels are merged by merge_tags. */
static const char *set_tag(cmd_parms *cmd, void *dconf, const char *key,
                           const char *value)
{
    statsd_dir_conf *c = dconf;
    statsd_tagset *t;
    statsd_tag_error te;
    const char *err = ap_check_cmd_context(cmd, NOT_IN_HTACCESS);

    if (err)
        return err;
    if ((err = expand_hostname(cmd, value, &value)) != NULL)
        return err;
    /* the section's own set is written only while its config is read */
    t = (statsd_tagset *)c->tags;
    if (!t)
        t = apr_pcalloc(cmd->pool, sizeof(*t));
    te = statsd_tags_add(t, key, strlen(key), value, strlen(value));
    if (te != STATSD_TAG_OK)
        return apr_psprintf(cmd->pool, "%s: invalid tag '%s' '%s': %s",
                            cmd->cmd->name, key, value,
                            statsd_tags_error_text(te));
    if (!c->tags) {
        tagged_section *ts = apr_array_push(statsd_reg->tagged);
        ts->conf = c;
        ts->server = cmd->server;
        ts->where = cmd->path ? cmd->path : cmd->server->is_virtual
                    ? apr_psprintf(cmd->pool, "<VirtualHost> of %s",
                                   cmd->server->server_hostname
                                       ? cmd->server->server_hostname : "?")
                    : "the main server config";
        ts->kind = cmd->path ? TAGGED_DIR
                   : cmd->server->is_virtual ? TAGGED_VHOST : TAGGED_MAIN;
        c->tags = t;
    }
    return NULL;
}

static const char *set_timer_type(cmd_parms *cmd, void *dconf,
                                  const char *arg)
{
    statsd_dir_conf *c = dconf;
    const char *err = ap_check_cmd_context(cmd, NOT_IN_HTACCESS);
    static const keyword types[] = {
        {"ms", STATSD_TIMER_MS}, {"h", STATSD_TIMER_H}, {"d", STATSD_TIMER_D},
        {NULL, 0}};
    int v;

    if (err)
        return err;
    if ((v = keyword_value(types, arg, 0)) < 0)
        return bad_value(cmd, arg, "expected ms, h or d");
    c->timer_type = v;
    return NULL;
}

/* StatsdSampleRate r: kept parsed; rate 1 too, so it overrides an outer
 * section's rate. */
static const char *set_sample_rate(cmd_parms *cmd, void *dconf,
                                   const char *arg)
{
    statsd_dir_conf *c = dconf;
    statsd_rate *rate = apr_pcalloc(cmd->pool, sizeof(*rate));
    const char *err = ap_check_cmd_context(cmd, NOT_IN_HTACCESS);

    if (err)
        return err;
    if (statsd_sample_parse(arg, rate) != 0)
        return bad_value(cmd, arg, "expected a rate above 0 and at most 1, "
                         "with at most six decimals (0.1, 0.25, 1)");
    c->sample = rate;
    return NULL;
}

/* StatsdLatencyBuckets ms ...: a section's list replaces the inherited
 * one; "none" clears it. */
static const char *set_latency_bucket(cmd_parms *cmd, void *dconf,
                                      const char *arg)
{
    statsd_dir_conf *c = dconf;
    statsd_buckets *b = (statsd_buckets *)c->buckets;
    const char *err = ap_check_cmd_context(cmd, NOT_IN_HTACCESS);

    if (err)
        return err;
    if (!b)
        c->buckets = b = apr_pcalloc(cmd->pool, sizeof(*b));
    if (!strcasecmp(arg, "none") && b->n == 0)
        return NULL;
    if (statsd_buckets_add(b, arg) != 0)
        return bad_value(cmd, arg, apr_psprintf(cmd->pool,
                         "expected whole milliseconds from 1 to %u, "
                         "ascending, at most %d bounds (or none)",
                         STATSD_BUCKET_MAX_MS, STATSD_BUCKETS_MAX));
    return NULL;
}

/* StatsdPacking off|etsy|dogstatsd: main server only. */
static const char *set_packing(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    statsd_server_conf *sc = main_server_conf(cmd, &err);
    statsd_pack_style s;

    (void)dconf;
    if (err)
        return err;
    if (statsd_pack_parse(arg, &s) != 0)
        return bad_value(cmd, arg, "expected off, etsy or dogstatsd");
    sc->packing = (int)s;
    return NULL;
}

/* StatsdSumCounters: main server only, as it shapes per-process state. */
static const char *set_sum_counters(cmd_parms *cmd, void *dconf, int on)
{
    const char *err;
    statsd_server_conf *sc = main_server_conf(cmd, &err);

    (void)dconf;
    if (err)
        return err;
    sc->sum_counters = on;
    return NULL;
}

/* StatsdNote: main server only, as it holds for every request. */
static const char *set_note(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    statsd_server_conf *sc = main_server_conf(cmd, &err);
    static const keyword notes[] = {
        {"auto", STATSD_NOTE_AUTO}, {"on", STATSD_NOTE_ON},
        {"off", STATSD_NOTE_OFF}, {NULL, 0}};
    int v;

    (void)dconf;
    if (err)
        return err;
    if ((v = keyword_value(notes, arg, 1)) < 0)
        return bad_value(cmd, arg, "expected Auto, On or Off");
    sc->note = v;
    return NULL;
}

/* Naming inside the section's own prefix: the only directives a
 * .htaccess file may hold (AllowOverride FileInfo). */
#define NAMING_CONF (RSRC_CONF | ACCESS_CONF | OR_FILEINFO)
/* Everything else: never in .htaccess (the handlers check it too). */
#define DIR_CONF (RSRC_CONF | ACCESS_CONF)
#define OFFSET(f) ((void *)APR_OFFSETOF(statsd_dir_conf, f))

const command_rec statsd_config_cmds[] = {
    AP_INIT_FLAG("Statsd", ap_set_flag_slot, OFFSET(enabled), NAMING_CONF,
                 "On to measure requests here (default Off)"),
    AP_INIT_TAKE1("StatsdHost", set_dest, (void *)DEST_HOST, DIR_CONF,
                  "statsd host name or address (default localhost)"),
    AP_INIT_TAKE1("StatsdPort", set_dest, (void *)DEST_PORT, DIR_CONF,
                  "statsd UDP port (default 8125)"),
    AP_INIT_TAKE1("StatsdServer", set_dest, (void *)DEST_SERVER, DIR_CONF,
                  "udp://host:port, udp://[ipv6]:port or unix:/path"),
    AP_INIT_TAKE1("StatsdPrefix", set_name, (void *)NAME_PREFIX, DIR_CONF,
                  "prefix of every metric name ({hostname} allowed)"),
    AP_INIT_TAKE1("StatsdSuffix", set_name, (void *)NAME_SUFFIX, DIR_CONF,
                  "suffix of every request metric name"),
    AP_INIT_TAKE1("StatsdStat", set_name, (void *)NAME_STAT, NAMING_CONF,
                  "fixed name for requests here instead of the path"),
    AP_INIT_TAKE1("StatsdAggregateStat", set_name, (void *)NAME_AGGREGATE,
                  NAMING_CONF, "extra name every request here is counted "
                  "under"),
    AP_INIT_TAKE1("StatsdStatHeader", set_stat_header, NULL, DIR_CONF,
                  "response header that may name a request, or Off"),
    AP_INIT_ITERATE("StatsdExclude", set_exclude, NULL, DIR_CONF,
                    "regexes of path segments left out of names"),
    AP_INIT_ITERATE("StatsdHTTPVerbs", set_verb, NULL, NAMING_CONF,
                    "methods named as such; others become OtherVerbs"),
    AP_INIT_TAKE1("StatsdTimeUnit", set_unit, NULL, DIR_CONF,
                  "milliseconds (default), microseconds or seconds"),
    AP_INIT_FLAG("StatsdLegacyMode", set_flag_no_htaccess, OFFSET(legacy),
                 DIR_CONF, "also send a counter line per request "
                 "(default On)"),
    AP_INIT_FLAG("StatsdServiceStats", set_flag_no_htaccess,
                 OFFSET(service), DIR_CONF,
                 "send PREFIX.responses.* lines (default On)"),
    AP_INIT_TAKE1("StatsdMaxNameLength", set_max_name_len, NULL, DIR_CONF,
                  "longest metric name in bytes (default 250)"),
    AP_INIT_FLAG("StatsdCollapseIds", set_flag_no_htaccess,
                 OFFSET(collapse_ids), DIR_CONF, "name numbers, UUIDs, hex "
                 "and token path segments _id_ (default Off)"),
    AP_INIT_TAKE1("StatsdTagFormat", set_tag_format, NULL, DIR_CONF,
                  "none (default), dogstatsd, influx or graphite"),
    AP_INIT_TAKE2("StatsdTag", set_tag, NULL, DIR_CONF,
                  "a tag key and value on every line ({hostname} allowed "
                  "in the value)"),
    AP_INIT_FLAG("StatsdTagMode", set_flag_no_htaccess, OFFSET(tag_mode),
                 DIR_CONF,
                 "On: request lines get fixed names and route, method and "
                 "status tags (default Off)"),
    AP_INIT_TAKE1("StatsdTimerType", set_timer_type, NULL, DIR_CONF,
                  "type of the timer lines: ms (default), h or d"),
    AP_INIT_FLAG("StatsdFirstByte", set_flag_no_htaccess,
                 OFFSET(first_byte), DIR_CONF,
                 "On: send the time to the first byte of the response "
                 "(default Off)"),
    AP_INIT_FLAG("StatsdResponseBytes", set_flag_no_htaccess,
                 OFFSET(response_bytes), DIR_CONF,
                 "On: count the bytes sent for the response (default Off)"),
    AP_INIT_FLAG("StatsdAborts", set_flag_no_htaccess,
                 OFFSET(aborts), DIR_CONF,
                 "On: count requests whose client went away (default Off)"),
    AP_INIT_FLAG("StatsdBackendTimings", set_flag_no_htaccess,
                 OFFSET(backend_timings), DIR_CONF,
                 "On: time and classify each mod_proxy backend "
                 "(default Off)"),
    AP_INIT_TAKE1("StatsdBackendName", statsd_breakdown_set_name, NULL,
                  ACCESS_CONF, "the name of the backend of this <Proxy> "
                  "section in metric names"),
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
    AP_INIT_TAKE1("StatsdScoreboardInterval", set_server_number,
                  (void *)&scoreboard_number, RSRC_CONF,
                  "seconds between worker gauges (default 10; 0: none)"),
    AP_INIT_TAKE1("StatsdSampleRate", set_sample_rate, NULL, DIR_CONF,
                  "send a good request's lines with this probability, "
                  "marked |@rate (default 1); bad ones are always sent"),
    AP_INIT_ITERATE("StatsdLatencyBuckets", set_latency_bucket, NULL,
                    DIR_CONF, "bounds in ms of the cumulative "
                    "P.responses.latency.le_<ms>ms counters (default none)"),
    AP_INIT_TAKE1("StatsdPacking", set_packing, NULL, RSRC_CONF,
                  "timer values of a key packed into one line per flush: "
                  "off (default), etsy or dogstatsd"),
    AP_INIT_FLAG("StatsdSumCounters", set_sum_counters, NULL, RSRC_CONF,
                 "sum counters with the same key over each flush interval "
                 "(default On; needs StatsdFlushInterval > 0)"),
    AP_INIT_TAKE1("StatsdNote", set_note, NULL, RSRC_CONF,
                  "the statsd and statsd.aggregate request notes: Auto "
                  "(default: when a directive names them or mod_lua, "
                  "mod_perl or mod_python is loaded), On or Off"),
    {NULL}
};
