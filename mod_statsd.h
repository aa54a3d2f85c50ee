/*
 * mod_statsd.h - what the httpd glue files share (mod_statsd.c: the
 * request path; mod_statsd_config.c: directives and merging;
 * mod_statsd_defaults.c: start-up checks and defaults;
 * mod_statsd_lifecycle.c: start-up, children, the watchdog;
 * mod_statsd_workers.c: the worker gauges). Private to the module: the
 * core units never include it.
 */
#ifndef MOD_STATSD_H
#define MOD_STATSD_H

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

#include "mod_statsd_msgids.h"

#include "statsd_batch.h"
#include "statsd_client.h"
#include "statsd_gate.h"
#include "statsd_guard.h"
#include "statsd_interval.h"
#include "statsd_sample.h"
#include "statsd_buckets.h"
#include "statsd_nameset.h"
#include "statsd_resolver.h"
#include "statsd_lines.h"
#include "statsd_name.h"
#include "statsd_tags.h"
#include "statsd_gauges.h"
#include "statsd_selfstats.h"

#define UNSET (-1)
#define NOTE_STAT "statsd.stat"
#define NOTE_RESULT "statsd"
#define NOTE_AGGREGATE "statsd.aggregate"
#define ENV_SKIP "no-statsd"
#define ENV_SAMPLE_SEED "STATSD_SAMPLE_SEED"    /* a fixed seed, for tests */
#define DEFAULT_STAT_HEADER "X-Statsd-Stat"
#define ERROR_LOG_INTERVAL apr_time_from_sec(60)
#define DEFAULT_FLUSH_MS 1000
#define MAX_FLUSH_MS 60000
#define INTERVAL_BYTES (64 * 1024)                /* per destination */
#define WATCHDOG_NAME "_statsd_"
#define TICK_MS 1000                               /* without batching */
#define RESOLVE_START_WAIT_MS 500  /* for all names, at (re)start */
#define DEFAULT_SCOREBOARD_S 10                    /* worker gauges */
#define MAX_SCOREBOARD_S 3600

/* One distinct destination with its client; shared by every section that
 * names the same target. log_stamp limits send-error logging for the
 * whole server (it points into the shared memory, or at last_log without
 * it); the gate orders the watchdog's work against the close at child
 * exit. */
typedef struct {
    statsd_client *client;
    statsd_batch *batch;         /* NULL: one datagram per request */
    statsd_interval *interval;   /* counters summed: instead of batch */
    apr_time_t last_log;
    apr_time_t *log_stamp;
    unsigned index;              /* in statsd_registry.sinks */
    statsd_gate gate;
} statsd_sink;

/* The destination one config section defines, as a whole: StatsdHost
 * alone means port 8125, StatsdPort alone means localhost. */
typedef struct {
    const char *host;        /* as given, NULL: default */
    unsigned port;           /* 0: default */
    statsd_target target;
    statsd_sink *sink;       /* set in statsd_lifecycle_post_config */
} statsd_dest;

/* A StatsdExclude pattern: compiled with a match limit, so that no
 * segment can keep PCRE backtracking for long, and kept as written for
 * the log. */
#define EXCLUDE_MATCH_LIMIT 10000
typedef struct {
    ap_regex_t *re;
    const char *pattern;
} statsd_exclude;

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
    statsd_tag_names tag_names;  /* the names of the tagged lines */
    unsigned group;              /* its share of StatsdMaxNames */
} statsd_prefix;

/* What this configuration cycle knows: rebuilt in pre_config. */
typedef struct {
    apr_array_header_t *dests;   /* statsd_dest * */
    apr_array_header_t *sinks;   /* statsd_sink * */
    statsd_dest *fallback;       /* localhost:8125 */
    const statsd_prefix *no_prefix;
    apr_array_header_t *prefixed; /* prefixed_section: for reload markers */
    apr_array_header_t *tagged;  /* tagged_section: checked at start-up */
    int any_tag_format;          /* some section sets a format other than none */
    apr_array_header_t *markers; /* statsd_marker: who gets reload markers
                                  * and worker gauges; NULL: nobody */
    size_t max_names;            /* StatsdMaxNames; 0: no limit */
    long longest_name;           /* largest StatsdMaxNameLength; 0: none */
    statsd_nameset *names;       /* the server's names (shared memory) */
    apr_array_header_t *prefixes; /* statsd_prefix *: every one made */
    struct statsd_shared *shared; /* NULL: none (self-metrics off) */
    int notes;                   /* the statsd notes are made (StatsdNote) */
} statsd_registry;


/* A distinct (prefix, destination) pair of the main configuration with
 * Statsd On: it gets the reload markers and the worker gauges, tagged as
 * the first section that names the pair says (tags.tags lives in pconf). */
typedef struct {
    const statsd_prefix *prefix;
    statsd_sink *sink;
    statsd_gauge_tags tags;
} statsd_marker;

/* A section that sets StatsdPrefix, and the server it belongs to. */
typedef struct statsd_dir_conf statsd_dir_conf;
typedef struct {
    const statsd_dir_conf *conf;
    server_rec *server;
} prefixed_section;

/* A section of the main config that sets StatsdTag. */
typedef struct {
    const statsd_dir_conf *conf;
    server_rec *server;
    const char *where;           /* for the start-up warnings */
    int kind;                    /* TAGGED_MAIN, TAGGED_VHOST, TAGGED_DIR */
} tagged_section;
enum { TAGGED_MAIN, TAGGED_VHOST, TAGGED_DIR };

typedef struct {
    /* main server only (no merging): they start at their defaults */
    long max_packet;             /* bytes */
    long flush_ms;               /* 0: no batching */
    long max_names;              /* 0: no limit */
    long scoreboard_s;           /* worker gauge interval; 0: none */
    int sum_counters;            /* StatsdSumCounters, with batching */
    int packing;                 /* StatsdPacking: statsd_pack_style */
    int note;                    /* StatsdNote: STATSD_NOTE_* */
} statsd_server_conf;

/* StatsdNote: make the statsd notes when something can read them (a
 * directive names them, or a module that reads notes is loaded), always,
 * or never. */
enum { STATSD_NOTE_AUTO = 0, STATSD_NOTE_ON, STATSD_NOTE_OFF };

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
    apr_array_header_t *excludes;  /* statsd_exclude; NULL: none */
    statsd_verbs *verbs;         /* NULL: every method by its name */
    int unit;
    int legacy;
    int service;
    int max_name_len;
    int collapse_ids;
    int tag_format;              /* statsd_tag_format */
    const statsd_tagset *tags;   /* NULL: none (merged by key) */
    const statsd_tagset *tags_under; /* a <Location>'s or <Directory>'s: */
    const statsd_tagset *tags_merged; /* its tags merged with these, once */
    int tag_mode;
    int timer_type;              /* statsd_timer_type */
    int tagged;                  /* a tag format, a timer type other
                                  * than ms or a breakdown line: the
                                  * tagged lines writer */
    const statsd_tag_plan *tag_plan; /* tag mode's pieces, made at start-up;
                                  * NULL: none, or a section below the
                                  * server's changes them */
    int first_byte;              /* StatsdFirstByte */
    int response_bytes;          /* StatsdResponseBytes */
    int aborts;                  /* StatsdAborts */
    int backend_timings;         /* StatsdBackendTimings */
    const char *backend_name;    /* StatsdBackendName, clean; NULL: none */
    int breakdown;               /* STATSD_BREAKDOWN_* of the four above */
    const statsd_rate *sample;   /* StatsdSampleRate; NULL: inherit */
    const statsd_buckets *buckets; /* StatsdLatencyBuckets; NULL: inherit */
    int extra;                   /* a rate below 1 or buckets: see merge */
    const statsd_plain_plan *plain_plan; /* the untagged lines' pieces,
                                  * made at start-up; NULL: none, or a
                                  * section below the server's changes
                                  * them */
};

extern module AP_MODULE_DECLARE_DATA statsd_module;

/* What this configuration cycle knows (made by pre_config). */
extern statsd_registry *statsd_reg;

/* mod_statsd_config.c */
extern const command_rec statsd_config_cmds[];
void *statsd_config_create_dir(apr_pool_t *p, char *dir);
void *statsd_config_merge_dir(apr_pool_t *p, void *basev, void *addv);
void *statsd_config_create_server(apr_pool_t *p, server_rec *s);
const statsd_prefix *statsd_config_make_prefix(apr_pool_t *p,
                                               const char *name, size_t len);

/* Whether requests of c go through hand_over_extra: a sample rate below
 * 1 or latency buckets. */
static inline int statsd_conf_extra(const statsd_dir_conf *c)
{
    return (c->sample && !c->sample->all) || (c->buckets && c->buckets->n);
}

/* The parts of a request's key and lines its configuration gives: every
 * setting has its value here (resolve_defaults gave the unset ones theirs
 * at start-up). */
static inline void statsd_conf_settings(statsd_request *req,
                                        const statsd_dir_conf *c)
{
    req->key.prefix = c->prefix->name;
    req->key.prefix_len = c->prefix->len;
    req->key.suffix = c->suffix->s;
    req->key.suffix_len = c->suffix->len;
    req->aggregate = c->aggregate->s;
    req->aggregate_len = c->aggregate->len;
    req->unit = (statsd_time_unit)c->unit;
    req->key.max_len = (size_t)c->max_name_len;
    req->legacy = c->legacy;
    req->service = c->service ? &c->prefix->service : NULL;
}

/* mod_statsd_defaults.c */
int statsd_config_resolve_defaults(server_rec *s);
int statsd_config_notes_wanted(server_rec *s);
void statsd_config_premerge_tags(apr_pool_t *pconf);
int statsd_config_check(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s);

/* mod_statsd_status.c: the status the client received (last request of
 * the internal-redirect chain), always 100-999 */
int statsd_sent_status(const request_rec *r);
void statsd_status_register_hooks(void);

/* mod_statsd_header.c: the StatsdStatHeader filter and its hooks */
void statsd_header_register_hooks(void);

/* mod_statsd_lifecycle.c */
int statsd_lifecycle_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp);
int statsd_lifecycle_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                 apr_pool_t *ptemp, server_rec *s);
void statsd_lifecycle_child_init(apr_pool_t *pchild, server_rec *s);
apr_status_t statsd_lifecycle_watch(apr_pool_t *pconf,
                                    apr_interval_time_t interval,
                                    const void *data,
                                    ap_watchdog_callback_fn_t *cb,
                                    ap_watchdog_t **wd);
apr_status_t statsd_lifecycle_hold(const apr_array_header_t *sinks);
void statsd_lifecycle_release(const apr_array_header_t *sinks);

/* mod_statsd_workers.c */
void statsd_workers_register_hooks(void);

/* mod_statsd_breakdown.c */
enum {
    STATSD_BREAKDOWN_TTFB = 1,
    STATSD_BREAKDOWN_BYTES = 2,
    STATSD_BREAKDOWN_ABORTS = 4,
    STATSD_BREAKDOWN_BACKEND = 8,
    /* the ones that look at the request before its handler runs */
    STATSD_BREAKDOWN_BEFORE_HANDLER = 1 | 2 | 8
};
const char *statsd_breakdown_set_name(cmd_parms *cmd, void *dconf,
                                      const char *arg);
void statsd_breakdown_init_conf(statsd_dir_conf *c);
void statsd_breakdown_merge_conf(statsd_dir_conf *c,
                                 const statsd_dir_conf *base,
                                 const statsd_dir_conf *add);
void statsd_breakdown_default_conf(statsd_dir_conf *c);
void statsd_breakdown_insert(request_rec *r, const statsd_dir_conf *c);
void statsd_breakdown_add(request_rec *r, request_rec *last,
                          const statsd_dir_conf *c, statsd_measurement *m);
void statsd_breakdown_register(void);

/* mod_statsd_shared.c: what the whole server shares (names, the log
 * limit, self-metrics) in memory every child inherits */
typedef struct statsd_shared statsd_shared;
int statsd_shared_post_config(apr_pool_t *pconf, server_rec *s);
void statsd_shared_child_init(apr_pool_t *pchild, server_rec *s);
/* the calling process's counters into the shared totals (watchdog tick,
 * child exit) */
void statsd_shared_publish(void);
/* one measured request, on the request path */
void statsd_shared_count_request(int other);
/* the self-metric counters, from the worker gauges' child */
void statsd_shared_send_selfmetrics(const apr_array_header_t *markers,
                                    apr_interval_time_t interval,
                                    apr_pool_t *p);
/* a destination's dropped datagrams, logged at most once a minute for
 * the whole server; r: from a request, NULL: from the worker gauges */
void statsd_shared_report_drops(statsd_sink *sink, apr_time_t now,
                                request_rec *r, apr_pool_t *p);
/* readers: the totals (-1: no shared memory), per destination (in the
 * order of statsd_registry.sinks), per prefix group */
int statsd_shared_read(statsd_selfstats *out, apr_uint64_t *distinct);
unsigned statsd_shared_dests(void);
void statsd_shared_read_dest(unsigned i, statsd_selfstats *out,
                             int *last_errno);
unsigned statsd_shared_groups(void);
const statsd_prefix *statsd_shared_group(unsigned g, apr_size_t *names);

/* mod_statsd_modstatus.c */
void statsd_modstatus_register(void);

/* Whether a message limited to once a minute is due now: the first
 * caller past the minute (of any thread or child sharing stamp) wins. */
static inline int statsd_log_due(apr_time_t *stamp, apr_time_t now)
{
    apr_time_t last = __atomic_load_n(stamp, __ATOMIC_RELAXED);

    return now - last >= ERROR_LOG_INTERVAL
        && __atomic_compare_exchange_n(stamp, &last, now, 0,
                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* A destination as text for the error log. */
static inline const char *target_text(apr_pool_t *p, const statsd_target *t)
{
    char buf[STATSD_HOST_MAX + STATSD_PATH_MAX + 32];
    if (statsd_target_format(t, buf, sizeof(buf)) < 0)
        return "(unprintable)";
    return apr_pstrdup(p, buf);
}

#endif /* MOD_STATSD_H */
