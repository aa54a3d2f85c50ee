/*
 * mod_statsd_defaults.c - the configuration at start-up: what no single
 * directive can check (configtest reports it), and the defaults each
 * server's base section gets once, so the request path reads settings
 * as they are.
 */
#include "mod_statsd.h"
#include "util_cfgtree.h"

APLOG_USE_MODULE(statsd);

/* check_config: what no single directive can check, so configtest
 * reports it. A line is never split across datagrams, and one that does
 * not fit is dropped: the longest line a name may make must fit. */
int statsd_config_check(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s)
{
    const statsd_server_conf *sc = ap_get_module_config(s->module_config,
                                                        &statsd_module);
    long name = statsd_reg->longest_name ? statsd_reg->longest_name
                                         : STATSD_NAME_DEFAULT_MAX;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (STATSD_LINE_MAX(name) <= sc->max_packet)
        return OK;
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                 STATSD_MSG_PACKET_TOO_SMALL, sc->max_packet, name,
                 (long)STATSD_LINE_MAX(name), (long)STATSD_LINE_MAX(name),
                 sc->max_packet - (long)STATSD_LINE_MAX(0));
    return HTTP_INTERNAL_SERVER_ERROR;
}

/* Tag mode's pieces for a server's base section (NULL: not in tag mode,
 * or the parts do not fit one). */
static const statsd_tag_plan *make_tag_plan(apr_pool_t *p,
                                            const statsd_dir_conf *c)
{
    statsd_tag_format f = (statsd_tag_format)c->tag_format;
    statsd_tag_plan *pl;
    const char *tags;
    size_t tags_len;

    if (f == STATSD_TAGS_NONE || !c->tag_mode)
        return NULL;
    pl = apr_palloc(p, sizeof(*pl));
    tags = statsd_tags_text(c->tags, f, &tags_len);
    if (statsd_lines_tag_plan_init(pl, &c->prefix->tag_names, c->suffix->s,
                                   c->suffix->len, tags, tags_len, f,
                                   (statsd_timer_type)c->timer_type) != 0)
        return NULL;
    return pl;
}

/* The untagged lines' pieces for a server's base section (NULL: its
 * settings are not for a plan). */
static const statsd_plain_plan *make_plain_plan(apr_pool_t *p,
                                                const statsd_dir_conf *c)
{
    statsd_plain_plan *pl = apr_palloc(p, sizeof(*pl));
    statsd_request req;

    statsd_conf_settings(&req, c);
    return statsd_lines_plain_plan_init(pl, &req) == 0 ? pl : NULL;
}

/* Give what no one set its default, once, in each server's base section:
 * every request's config is merged on top of its server's, so the
 * request path reads settings as they are. Returns whether any server
 * uses the default destination (localhost:8125). */
int statsd_config_resolve_defaults(server_rec *s)
{
    static const statsd_str none = {"", 0};
    int fallback = 0;

    for (; s; s = s->next) {
        statsd_dir_conf *c = ap_get_module_config(s->lookup_defaults,
                                                  &statsd_module);
        if (!c->dest) {
            c->dest = statsd_reg->fallback;
            fallback = 1;
        }
        if (!c->prefix)
            c->prefix = statsd_reg->no_prefix;
        if (!c->suffix)
            c->suffix = &none;
        if (!c->aggregate)
            c->aggregate = &none;
        if (!c->stat)
            c->stat = &none;
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
        if (c->collapse_ids == UNSET)
            c->collapse_ids = 0;
        if (c->tag_format == UNSET)
            c->tag_format = STATSD_TAGS_NONE;
        if (c->tag_mode == UNSET)
            c->tag_mode = 0;
        if (c->timer_type == UNSET)
            c->timer_type = STATSD_TIMER_MS;
        c->tagged = c->tag_format > 0 || c->timer_type > 0;
        c->tag_plan = make_tag_plan(s->process->pconf, c);
        c->plain_plan = make_plain_plan(s->process->pconf, c);
        statsd_breakdown_default_conf(c);
        c->extra = statsd_conf_extra(c);
    }
    return fallback;
}

/* Each <Location> or <Directory> that sets StatsdTag, merged once with
 * its server's tags (resolved by now): merge_dir, which runs on every
 * request there, takes the result instead of making a set of its own. */
void statsd_config_premerge_tags(apr_pool_t *pconf)
{
    int i;

    for (i = 0; i < statsd_reg->tagged->nelts; i++) {
        const tagged_section *ts = &APR_ARRAY_IDX(statsd_reg->tagged, i,
                                                  tagged_section);
        const statsd_dir_conf *base =
            ap_get_module_config(ts->server->lookup_defaults, &statsd_module);
        statsd_dir_conf *c = (statsd_dir_conf *)ts->conf;
        statsd_tagset *t;

        if (ts->kind != TAGGED_DIR || !base->tags || !c->tags)
            continue;
        t = apr_palloc(pconf, sizeof(*t));
        statsd_tags_merge(t, base->tags, c->tags);
        c->tags_under = base->tags;
        c->tags_merged = t;
    }
}

/* Does a directive's argument text name one of the notes, as a log
 * format does ("%{statsd}n", "%>{statsd.aggregate}n", any case: notes
 * are looked up without it)? */
static int names_a_note(const char *args)
{
    static const char *const forms[] = {"{" NOTE_RESULT "}n",
                                        "{" NOTE_AGGREGATE "}n"};
    const char *p;
    size_t i;

    for (p = args; p && (p = strchr(p, '{')) != NULL; p++)
        for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
            if (!strncasecmp(p, forms[i], strlen(forms[i])))
                return 1;
    return 0;
}

static int tree_names_a_note(const ap_directive_t *d)
{
    for (; d; d = d->next)
        if (names_a_note(d->args) || tree_names_a_note(d->first_child))
            return 1;
    return 0;
}

/* StatsdNote: whether requests get the statsd notes. Making them is a
 * good share of the request path's work (a table that mod_dir left full
 * grows), so by default (Auto) they are made only when something can
 * read them: a directive anywhere in the configuration names them (a
 * LogFormat, CustomLog or ErrorLogFormat, or another module's format),
 * or a module that lets scripts read notes is loaded. */
int statsd_config_notes_wanted(server_rec *s)
{
    const statsd_server_conf *sc = ap_get_module_config(s->module_config,
                                                        &statsd_module);

    if (sc->note != STATSD_NOTE_AUTO)
        return sc->note == STATSD_NOTE_ON;
    return ap_find_linked_module("mod_lua.c") != NULL
           || ap_find_linked_module("mod_perl.c") != NULL
           || ap_find_linked_module("mod_python.c") != NULL
           || tree_names_a_note(ap_conftree);
}
