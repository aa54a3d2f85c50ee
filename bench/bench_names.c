/*
 * bench_names.c - microbenchmark of the per-request name choice and line
 * formatting of mod_statsd (no heap use allowed).
 *
 * For every request of a realistic mix (static files, REST paths with ids,
 * query strings, percent-encoded bytes, dot segments, long paths, several
 * prefixes/suffixes, methods and statuses) it does what log_transaction()
 * in mod_statsd.c does between "the request is done" and "hand the lines to
 * the client", with the default configuration: statsd_choose_name() (the
 * path into a small stack buffer, r->pool for longer targets, and the
 * StatsdMaxNames set), statsd_lines_build() (into a small stack buffer,
 * r->pool for larger settings), statsd_lines_note() into r->pool. r->pool is modelled by a bump arena (apr_palloc is not a heap
 * allocation either). What it leaves out: the apr_table lookups
 * (no-statsd, note), apr_time_now(), the send or batch add, apr_table_addn
 * of the note - httpd/APR costs counted by the cachegrind part of
 * `make bench`.
 *
 * Heap use is counted by a malloc/calloc/realloc/free/memalign interposer
 * (defined here, forwarding to glibc's __libc_* entry points), so any
 * allocation made anywhere in the process during the timed region counts.
 *
 * Output: "key value" lines for bench/bench.py, then a human summary on
 * stderr. Built with -O2 like apxs (see mk/bench.mk).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statsd_choose.h"
#include "statsd_lines.h"
#include "statsd_nameset.h"
/* StatsdMaxNames is on by default: its check is on the same path */
static statsd_nameset *names;

/* ---- counting allocator ------------------------------------------------ */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static volatile int counting;
static unsigned long n_alloc, n_free;

void *malloc(size_t n)
{
    if (counting)
        n_alloc++;
    return __libc_malloc(n);
}

void *calloc(size_t k, size_t n)
{
    if (counting)
        n_alloc++;
    return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
    if (counting)
        n_alloc++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    if (counting && p)
        n_free++;
    __libc_free(p);
}

void *memalign(size_t a, size_t n)
{
    if (counting)
        n_alloc++;
    return __libc_memalign(a, n);
}

int posix_memalign(void **out, size_t a, size_t n)
{
    void *p;
    if (counting)
        n_alloc++;
    p = __libc_memalign(a, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t a, size_t n)
{
    if (counting)
        n_alloc++;
    return __libc_memalign(a, n);
}

/* ---- r->pool stand-in --------------------------------------------------- */

static char arena[1 << 20];
static size_t arena_used;

static void *pool_alloc(size_t n)
{
    void *p;
    n = (n + 7) & ~(size_t)7;
    if (arena_used + n > sizeof(arena))
        arena_used = 0;
    p = arena + arena_used;
    arena_used += n;
    return p;
}

/* ---- the request mix ---------------------------------------------------- */

typedef struct {
    const char *cls;          /* class, for the per-class figures */
    int weight;               /* occurrences in one round of the mix */
    const char *method;
    const char *uri;          /* r->unparsed_uri */
    int status;
    unsigned long usec;
    int affix;                /* index into the prefix/suffix table */
} mix_entry;

typedef struct {
    const char *prefix, *suffix;     /* as written in the config */
    char pclean[STATSD_AFFIX_MAX + 1], sclean[STATSD_AFFIX_MAX + 1];
    size_t plen, slen;
    statsd_service svc;              /* made once, as at start-up */
} affix_entry;

static affix_entry affixes[] = {
    {.prefix = "bench", .suffix = ""},          /* the default config */
    {.prefix = "", .suffix = ""},
    {.prefix = "prod.web-01.shop.", .suffix = ""},
    {.prefix = "mycompany.frontend.www_example_com", .suffix = "canary"},
};

static char long_path_1[400], long_path_2[900], long_path_3[1600];

static mix_entry mix[] = {
    /* static files */
    {"static", 6, "GET", "/index.html", 200, 412, 0},
    {"static", 5, "GET", "/static/css/app.3f9a2c1b.min.css", 200, 230, 0},
    {"static", 5, "GET", "/static/js/vendor/jquery-3.7.1.min.js", 200, 310, 2},
    {"static", 4, "GET", "/images/products/2024/spring/hero-banner@2x.png", 200, 1890, 1},
    {"static", 3, "GET", "/favicon.ico", 200, 95, 0},
    {"static", 3, "GET", "/", 200, 640, 3},
    {"static", 2, "HEAD", "/robots.txt", 200, 52, 0},
    {"static", 2, "GET", "/fonts/roboto-v30-latin-regular.woff2", 304, 120, 2},
    {"static", 1, "GET", "/docs/", 200, 733, 1},
    /* REST API */
    {"api", 6, "GET", "/api/v1/users/12345/orders", 200, 18345, 0},
    {"api", 3, "GET", "/api/v1/users/12345/orders/998877", 200, 9120, 2},
    {"api", 3, "GET", "/api/v2/orders/550e8400-e29b-41d4-a716-446655440000/items", 200, 25003, 3},
    {"api", 3, "POST", "/api/v1/login", 200, 120456, 0},
    {"api", 2, "PUT", "/api/v1/carts/8f14e45fceea167a5a36dedd4bea2543", 204, 40021, 1},
    {"api", 1, "DELETE", "/api/v1/sessions/current", 204, 3002, 0},
    {"api", 2, "GET", "/api/v1/health", 200, 61, 2},
    {"api", 1, "OPTIONS", "*", 200, 40, 0},
    /* query strings */
    {"query", 3, "GET", "/search?q=red+shoes&size=42&page=3", 200, 88123, 0},
    {"query", 2, "GET", "/api/v1/products?category=shoes&sort=price_asc&limit=50&offset=100", 200, 45012, 3},
    {"query", 2, "GET", "/track?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale_2024&x=%2F", 200, 150, 1},
    {"query", 1, "GET", "/?ref=home", 200, 700, 0},
    /* percent-encoded bytes, odd characters */
    {"pct", 2, "GET", "/files/My%20Document%20%282024%29.pdf", 200, 5300, 0},
    {"pct", 1, "GET", "/wiki/Caf%C3%A9_au_lait", 200, 14000, 2},
    {"pct", 1, "GET", "/download/a%2Fb%2Fc/report%20final%2Bv2.xlsx", 200, 2100, 1},
    {"pct", 1, "GET", "/search/%E6%97%A5%E6%9C%AC%E8%AA%9E/%E6%A4%9C%E7%B4%A2", 200, 9999, 3},
    {"pct", 1, "GET", "/basic/x:y|z@host#frag", 200, 77, 0},
    /* dot segments, empty segments */
    {"dots", 1, "GET", "/static/../index.html", 200, 400, 0},
    {"dots", 1, "GET", "///basic///foo///./bar/", 200, 300, 1},
    /* errors */
    {"error", 3, "GET", "/wp-login.php", 404, 850, 0},
    {"error", 1, "GET", "/.env", 404, 700, 2},
    {"error", 1, "POST", "/api/v1/checkout", 500, 300500, 0},
    {"error", 1, "GET", "/old-page", 301, 200, 1},
    /* long paths (the last one > 1 KiB: the r->pool branch) */
    {"long", 1, "GET", long_path_1, 200, 2500, 0},
    {"long", 1, "GET", long_path_2, 200, 2500, 3},
    {"long", 1, "GET", long_path_3, 200, 2500, 0},
};
#define N_MIX (sizeof(mix) / sizeof(mix[0]))

static void make_long(char *dst, size_t cap, const char *seg)
{
    size_t n = 0, sl = strlen(seg);
    while (n + sl + 2 < cap) {
        dst[n++] = '/';
        memcpy(dst + n, seg, sl);
        n += sl;
    }
    dst[n] = '\0';
}

/* One flattened round of the mix (each entry repeated `weight` times,
 * interleaved so consecutive requests differ, as in real traffic). */
static const mix_entry *round_list[1024];
static size_t round_len;

static void build_round(void)
{
    int left[N_MIX], any = 1;
    size_t i;
    for (i = 0; i < N_MIX; i++)
        left[i] = mix[i].weight;
    while (any) {
        any = 0;
        for (i = 0; i < N_MIX; i++)
            if (left[i] > 0) {
                round_list[round_len++] = &mix[i];
                left[i]--;
                any = 1;
            }
    }
}

/* ---- what log_transaction does ------------------------------------------ */

static volatile size_t sink;   /* keeps the results alive */

/* lines_buf: STATSD_LINES_SMALL bytes, the caller's (log_transaction's
 * stack buffer), kept for the output check */
static inline void one_request(const mix_entry *e, statsd_measurement *m,
                               char *lines_buf)
{
    const affix_entry *a = &affixes[e->affix];
    statsd_request req;
    statsd_choose_offer o;
    char path_buf[STATSD_PATH_SMALL], *path, *note;
    size_t path_cap;

    memset(&req, 0, sizeof(req));
    req.key.prefix = a->pclean;
    req.key.prefix_len = a->plen;
    req.key.suffix = a->sclean;
    req.key.suffix_len = a->slen;
    /* the default configuration: no StatsdStat, note or header */
    memset(&o, 0, sizeof(o));
    o.uri = e->uri;
    o.uri_len = strlen(e->uri);
    o.names = names;
    o.max_len = STATSD_NAME_DEFAULT_MAX;
    path = path_buf;
    path_cap = sizeof(path_buf);
    if (STATSD_PATH_SCRATCH(o.uri_len) > path_cap) {
        path_cap = STATSD_PATH_SCRATCH(o.uri_len);
        path = pool_alloc(path_cap);
    }
    /* no note, header or StatsdCollapseIds: no scratch */
    req.key.name = statsd_choose_name(&o, NULL, path, path_cap,
                                      &req.key.name_len);
    req.key.method = e->method;
    req.key.method_len = strlen(e->method);
    req.key.method_clean = 1;   /* methods httpd knows; OtherVerbs likewise */
    req.key.status = e->status;
    req.usec = e->usec;
    req.unit = STATSD_UNIT_MS;
    req.key.max_len = STATSD_NAME_DEFAULT_MAX;
    req.legacy = 1;
    req.service = &a->svc;
    m->lines = statsd_lines_fit_small(&req)
                   ? lines_buf : pool_alloc(statsd_lines_size(&req));
    if (statsd_lines_build(&req, m) != 0) {
        fprintf(stderr, "bench_names: statsd_lines_build failed for %s\n",
                e->uri);
        exit(1);
    }
    note = pool_alloc(m->key_len + 64);
    statsd_lines_note(note, m, (long)m->lines_len, req.legacy);
    sink += m->lines_len + (unsigned char)note[0];
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* A CPU speed reference for comparing runs: iterations per ns of a loop
 * whose work is one dependent add per iteration (about one cycle each on
 * current x86), so a slowed or shared vCPU shows as a lower figure. Best
 * of 5 short runs. */
static double speed_reference(void)
{
    double best = 0;
    int rep;

    for (rep = 0; rep < 5; rep++) {
        uint64_t x = 1, t0 = clock_ns(CLOCK_MONOTONIC), t1;
        long i, n = 20000000;
        for (i = 0; i < n; i++) {
#if defined(__x86_64__) || defined(__i386__)
            __asm__ volatile("add $1, %0" : "+r"(x));
#else
            __asm__ volatile("" : "+r"(x));
            x++;
#endif
        }
        t1 = clock_ns(CLOCK_MONOTONIC);
        sink += (size_t)x;
        if ((double)n / (double)(t1 - t0) > best)
            best = (double)n / (double)(t1 - t0);
    }
    return best;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(double *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i];
}

/* Check one request's output against the metric grammar: a clean key,
 * "KEY:VALUE|TYPE" lines, as many as the status calls for. */
static int valid_output(const mix_entry *e, const statsd_measurement *m)
{
    size_t i, start = 0;
    unsigned lines = 0, want = e->status < 400 ? 4 : 5;

    for (i = 0; i < m->key_len; i++) {
        char c = m->key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return 0;
    }
    if (m->key_len == 0 || m->key[0] == '.' || m->key[m->key_len - 1] == '.'
        || strstr(m->key, ".."))
        return 0;
    for (i = 0; i <= m->lines_len; i++)
        if (i == m->lines_len || m->lines[i] == '\n') {
            if (i == start)
                return 0;
            lines++;
            start = i + 1;
        }
    return lines == want && m->n_lines == want;
}

int main(int argc, char **argv)
{
    static statsd_measurement m;
    static char lines[STATSD_LINES_SMALL];
    /* A timed batch is one round of the mix (~10-30 us): short, so few
     * batches include a preemption or a stolen vCPU slice, and the median
     * is a batch that ran undisturbed. */
    size_t reps = 1;
    size_t batches = argc == 2 ? strtoul(argv[1], NULL, 10) : 20000;
    size_t warm = batches / 10 + 10, b, i, r, total_lines = 0;
    double *per_req, *per_req_cpu, cls_ns[16] = {0}, ref;
    const char *cls_names[16];
    size_t n_cls = 0, cls_count[16] = {0};
    unsigned long allocs, frees;
    cpu_set_t set;

    /* one CPU, so a migration cannot land in a timed batch */
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &set);
    sched_setaffinity(0, sizeof(set), &set);

    make_long(long_path_1, sizeof(long_path_1), "segment-with-a-name");
    make_long(long_path_2, sizeof(long_path_2), "deeper%20level_42");
    make_long(long_path_3, sizeof(long_path_3), "x1y2z3");
    for (i = 0; i < sizeof(affixes) / sizeof(affixes[0]); i++) {
        affix_entry *a = &affixes[i];
        a->plen = statsd_name_clean(a->pclean, STATSD_AFFIX_MAX, a->prefix,
                                    strlen(a->prefix));
        a->slen = statsd_name_clean(a->sclean, STATSD_AFFIX_MAX, a->suffix,
                                    strlen(a->suffix));
        statsd_lines_service_init(&a->svc, a->pclean, a->plen);
    }
    build_round();
    /* created once per child in the module: not timed */
    if (statsd_nameset_create(&names, STATSD_DEFAULT_MAX_NAMES) != 0) {
        fprintf(stderr, "bench_names: statsd_nameset_create failed\n");
        return 1;
    }

    /* correctness of what is timed */
    for (i = 0; i < round_len; i++) {
        one_request(round_list[i], &m, lines);
        if (!valid_output(round_list[i], &m)) {
            fprintf(stderr, "bench_names: bad output for %s: %.*s\n",
                    round_list[i]->uri, (int)m.lines_len, m.lines);
            return 1;
        }
        total_lines += m.n_lines;
    }

    /* "--count N": N rounds of the mix, untimed, for an instruction count
     * under cachegrind (bench.py runs two N and takes the difference) */
    if (argc > 2 && !strcmp(argv[1], "--count")) {
        size_t n = strtoul(argv[2], NULL, 10);
        for (r = 0; r < n; r++)
            for (i = 0; i < round_len; i++)
                one_request(round_list[i], &m, lines);
        printf("requests %zu\n", n * round_len);
        return 0;
    }

    ref = speed_reference();
    per_req = calloc(batches, sizeof(double));
    per_req_cpu = calloc(batches, sizeof(double));
    if (!per_req || !per_req_cpu)
        return 1;
    for (b = 0; b < warm; b++)
        for (r = 0; r < reps; r++)
            for (i = 0; i < round_len; i++)
                one_request(round_list[i], &m, lines);

    n_alloc = n_free = 0;
    counting = 1;
    for (b = 0; b < batches; b++) {
        uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t0 = now_ns(), t1, c1;
        for (r = 0; r < reps; r++)
            for (i = 0; i < round_len; i++)
                one_request(round_list[i], &m, lines);
        t1 = now_ns();
        c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        per_req[b] = (double)(t1 - t0) / (double)(reps * round_len);
        per_req_cpu[b] = (double)(c1 - c0) / (double)(reps * round_len);
    }
    counting = 0;
    allocs = n_alloc;
    frees = n_free;

    /* per class: median of batches of that class alone */
    for (i = 0; i < N_MIX; i++) {
        size_t k;
        for (k = 0; k < n_cls; k++)
            if (!strcmp(cls_names[k], mix[i].cls))
                break;
        if (k == n_cls)
            cls_names[n_cls++] = mix[i].cls;
    }
    for (i = 0; i < n_cls; i++) {
        const mix_entry *sel[256];
        size_t ns = 0, k, nb = 2001;
        static double v[2001];
        for (k = 0; k < round_len; k++)
            if (!strcmp(round_list[k]->cls, cls_names[i]))
                sel[ns++] = round_list[k];
        cls_count[i] = ns;
        for (b = 0; b < nb; b++) {
            uint64_t t0 = now_ns(), t1;
            for (r = 0; r < 4; r++)
                for (k = 0; k < ns; k++)
                    one_request(sel[k], &m, lines);
            t1 = now_ns();
            v[b] = (double)(t1 - t0) / (double)(4 * ns);
        }
        qsort(v, nb, sizeof(double), cmp_double);
        cls_ns[i] = v[nb / 2];
    }

    qsort(per_req, batches, sizeof(double), cmp_double);
    qsort(per_req_cpu, batches, sizeof(double), cmp_double);
    printf("requests_per_round %zu\n", round_len);
    printf("guard 1\n");
    printf("lines_per_request %.3f\n", (double)total_lines / round_len);
    printf("batches %zu\n", batches);
    printf("requests_timed %zu\n", batches * reps * round_len);
    printf("ns_median %.1f\n", quantile(per_req, batches, 0.5));
    printf("ns_p10 %.1f\n", quantile(per_req, batches, 0.1));
    printf("ns_p90 %.1f\n", quantile(per_req, batches, 0.9));
    printf("ns_min %.1f\n", per_req[0]);
    printf("ns_cpu_median %.1f\n", quantile(per_req_cpu, batches, 0.5));
    printf("speed_ref %.3f\n", ref);
    printf("allocs %lu\n", allocs);
    printf("frees %lu\n", frees);
    printf("allocs_per_request %.6f\n",
           (double)allocs / (double)(batches * reps * round_len));
    for (i = 0; i < n_cls; i++)
        printf("class_ns %s %zu %.1f\n", cls_names[i], cls_count[i],
               cls_ns[i]);
    free(per_req);
    free(per_req_cpu);
    return 0;
}
