/*
 * statsd_resolver.c - destination names looked up in threads of their own
 * (see statsd_resolver.h).
 *
 * One thread per name, so a resolver that never answers holds up only the
 * name asked about. A thread reads nothing of its client during a lookup
 * (the target and the seam are copied at creation), so stopping never
 * waits for a resolver: a thread that is installing an answer is waited
 * for (that is a few stores and at most one socket()), one that is in a
 * lookup is left to finish it and then ends without touching its client.
 * The resolver is freed by whoever lets go of it last, owner or thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "statsd_resolver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    statsd_resolver *owner;
    statsd_client *client;      /* NULL: needs no lookup */
    statsd_target target;       /* what a lookup reads */
    statsd_resolve_fn fn;
    void *baton;
    /* under owner->lock */
    unsigned failures;          /* failed lookups in a row */
    uint64_t due_ms;
    int result;                 /* see statsd_resolver_result */
    statsd_resolve_event event;
} entry;

struct statsd_resolver {
    pthread_mutex_t lock;
    pthread_cond_t answered;    /* a name had its first answer */
    int refs;                   /* the owner and each running thread */
    size_t pending;             /* names without a first answer */
    int stopped;                /* atomic */
    int busy;                   /* atomic: threads touching a client now */
    int wake[2];                /* a pipe, written once: by stop */
    statsd_clock_fn clock;
    void *clock_baton;
    size_t n;
    entry e[];
};

unsigned statsd_resolver_delay_ms(unsigned failures)
{
    unsigned delay = STATSD_RESOLVE_RETRY_MS;

    if (failures == 0)
        return STATSD_RESOLVE_REFRESH_MS;
    while (--failures > 0 && delay < STATSD_RESOLVE_MAX_RETRY_MS)
        delay *= 2;
    return delay < STATSD_RESOLVE_MAX_RETRY_MS ? delay
                                               : STATSD_RESOLVE_MAX_RETRY_MS;
}

static uint64_t monotonic_ms(void *baton)
{
    struct timespec ts;

    (void)baton;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);

    if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

/* The wait for first answers is on the monotonic clock too. */
static int init_sync(statsd_resolver *r)
{
    pthread_condattr_t ca;
    int rc;

    if ((rc = pthread_mutex_init(&r->lock, NULL)) != 0)
        return -rc;
    if ((rc = pthread_condattr_init(&ca)) == 0) {
        rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        if (rc == 0)
            rc = pthread_cond_init(&r->answered, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (rc != 0) {
        pthread_mutex_destroy(&r->lock);
        return -rc;
    }
    return 0;
}

static void free_resolver(statsd_resolver *r)
{
    close(r->wake[0]);
    close(r->wake[1]);
    pthread_cond_destroy(&r->answered);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int statsd_resolver_create(statsd_resolver **out,
                           statsd_client *const *clients, size_t n,
                           statsd_clock_fn clock, void *clock_baton)
{
    statsd_resolver *r;
    uint64_t now;
    size_t i;
    int rc;

    if (out == NULL || (clients == NULL && n > 0)
        || n > (SIZE_MAX - sizeof(*r)) / sizeof(entry))
        return -EINVAL;
    r = calloc(1, sizeof(*r) + n * sizeof(entry));
    if (r == NULL)
        return -ENOMEM;
    if (pipe(r->wake) != 0) {
        rc = -errno;
        free(r);
        return rc;
    }
    if ((rc = set_cloexec(r->wake[0])) != 0
        || (rc = set_cloexec(r->wake[1])) != 0
        || (rc = init_sync(r)) != 0) {
        close(r->wake[0]);
        close(r->wake[1]);
        free(r);
        return rc;
    }
    r->refs = 1;
    r->clock = clock != NULL ? clock : monotonic_ms;
    r->clock_baton = clock != NULL ? clock_baton : NULL;
    r->n = n;
    now = r->clock(r->clock_baton);
    for (i = 0; i < n; i++) {
        entry *e = &r->e[i];

        e->owner = r;
        if (clients[i] == NULL || !statsd_client_needs_lookup(clients[i]))
            continue;
        e->client = clients[i];
        e->target = *statsd_client_target(clients[i]);
        statsd_client_get_resolve_fn(clients[i], &e->fn, &e->baton);
        if (statsd_client_is_resolved(clients[i])) {
            e->due_ms = now + statsd_resolver_delay_ms(0);
        } else {
            e->due_ms = now;
            e->result = -EINPROGRESS;
            r->pending++;
        }
    }
    *out = r;
    return 0;
}

static int is_stopped(statsd_resolver *r)
{
    return __atomic_load_n(&r->stopped, __ATOMIC_SEQ_CST);
}

/* One lookup of e's name, then its answer installed (unless stopped) and
 * the next one scheduled from when this one ended. */
static void look_up(statsd_resolver *r, entry *e)
{
    struct sockaddr_storage addr;
    socklen_t len = 0;
    statsd_resolve_event ev = STATSD_RESOLVE_NONE;
    uint64_t now;
    int rc, had;

    memset(&addr, 0, sizeof(addr));
    rc = e->fn(e->target.host, e->target.port, &addr, &len, e->baton);
    if (rc > 0)
        rc = -EIO;                  /* a resolver that broke its contract */
    /* busy before stopped, stop the other way round: one of the two sees
     * the other (sequentially consistent), so no install follows a stop */
    __atomic_add_fetch(&r->busy, 1, __ATOMIC_SEQ_CST);
    if (!is_stopped(r)) {
        had = statsd_client_is_resolved(e->client);
        if (rc == 0)
            rc = statsd_client_set_address(e->client, &addr, len, 1);
        if (rc > 0)
            ev = had ? STATSD_RESOLVE_MOVED : STATSD_RESOLVE_FIRST;
    }
    __atomic_sub_fetch(&r->busy, 1, __ATOMIC_SEQ_CST);
    now = r->clock(r->clock_baton);
    pthread_mutex_lock(&r->lock);
    if (e->result == -EINPROGRESS) {
        r->pending--;
        pthread_cond_broadcast(&r->answered);
    }
    e->result = rc < 0 ? rc : 0;
    if (rc < 0 && e->failures < 64)
        e->failures++;
    else if (rc >= 0)
        e->failures = 0;
    e->due_ms = now + statsd_resolver_delay_ms(e->failures);
    /* "resolves now" is not to be hidden by a move before it is read */
    if (ev != STATSD_RESOLVE_NONE && e->event != STATSD_RESOLVE_FIRST)
        e->event = ev;
    pthread_mutex_unlock(&r->lock);
}

static void release(statsd_resolver *r)
{
    int last;

    pthread_mutex_lock(&r->lock);
    last = --r->refs == 0;
    pthread_mutex_unlock(&r->lock);
    if (last)
        free_resolver(r);
}

static void *entry_thread(void *arg)
{
    entry *e = arg;
    statsd_resolver *r = e->owner;

    while (!is_stopped(r)) {
        uint64_t now = r->clock(r->clock_baton), due;
        struct pollfd pfd;

        pthread_mutex_lock(&r->lock);
        due = e->due_ms;
        pthread_mutex_unlock(&r->lock);
        if (now >= due) {
            look_up(r, e);
            continue;
        }
        /* sleep until due, or until stop writes the pipe (never read,
         * so it wakes every thread, now and later) */
        pfd.fd = r->wake[0];
        pfd.events = POLLIN;
        pfd.revents = 0;
        (void)poll(&pfd, 1, due - now > STATSD_RESOLVE_REFRESH_MS
                                ? STATSD_RESOLVE_REFRESH_MS
                                : (int)(due - now));
    }
    release(r);
    return NULL;
}

int statsd_resolver_start(statsd_resolver *r)
{
    pthread_attr_t attr;
    sigset_t all, old;
    size_t i;
    int rc;

    if (r == NULL)
        return -EINVAL;
    if ((rc = pthread_attr_init(&attr)) != 0)
        return -rc;
    (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* the threads inherit this mask: signals stay with the process's own
     * threads, and stop is never run on a thread it would wait for */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (i = 0; i < r->n && rc == 0; i++) {
        pthread_t th;

        if (r->e[i].client == NULL)
            continue;
        pthread_mutex_lock(&r->lock);
        r->refs++;
        pthread_mutex_unlock(&r->lock);
        rc = pthread_create(&th, &attr, entry_thread, &r->e[i]);
        if (rc != 0) {
            pthread_mutex_lock(&r->lock);
            r->refs--;
            pthread_mutex_unlock(&r->lock);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return -rc;
}

uint64_t statsd_resolver_run_due(statsd_resolver *r)
{
    uint64_t next = UINT64_MAX;
    size_t i;

    if (r == NULL)
        return next;
    for (i = 0; i < r->n; i++) {
        entry *e = &r->e[i];

        if (e->client == NULL)
            continue;
        if (r->clock(r->clock_baton) >= e->due_ms)
            look_up(r, e);
        if (e->due_ms < next)
            next = e->due_ms;
    }
    return next;
}

size_t statsd_resolver_wait(statsd_resolver *r, unsigned timeout_ms)
{
    struct timespec until;
    size_t left;

    if (r == NULL)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->lock);
    while (r->pending > 0
           && pthread_cond_timedwait(&r->answered, &r->lock, &until) == 0)
        ;
    left = r->pending;
    pthread_mutex_unlock(&r->lock);
    return left;
}

int statsd_resolver_result(statsd_resolver *r, size_t i)
{
    int rc;

    if (r == NULL || i >= r->n)
        return -EINVAL;
    pthread_mutex_lock(&r->lock);
    rc = r->e[i].result;
    pthread_mutex_unlock(&r->lock);
    return rc;
}

statsd_resolve_event statsd_resolver_take_event(statsd_resolver *r, size_t i)
{
    statsd_resolve_event ev;

    if (r == NULL || i >= r->n)
        return STATSD_RESOLVE_NONE;
    pthread_mutex_lock(&r->lock);
    ev = r->e[i].event;
    r->e[i].event = STATSD_RESOLVE_NONE;
    pthread_mutex_unlock(&r->lock);
    return ev;
}

void statsd_resolver_stop(statsd_resolver *r)
{
    char one = 1;

    if (r == NULL || __atomic_exchange_n(&r->stopped, 1, __ATOMIC_SEQ_CST))
        return;
    while (__atomic_load_n(&r->busy, __ATOMIC_SEQ_CST) != 0)
        ;                           /* an install: a few stores */
    if (write(r->wake[1], &one, 1) < 0) {
        /* the threads then see the stop at their next wake-up */
    }
}

void statsd_resolver_destroy(statsd_resolver *r)
{
    if (r == NULL)
        return;
    statsd_resolver_stop(r);
    release(r);
}
