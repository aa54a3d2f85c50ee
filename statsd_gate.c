/*
 * statsd_gate.c - background work against the close at exit (see
 * statsd_gate.h).
 *
 * Every access is sequentially consistent: closing is stored before the
 * closer tries the gate, and the holder releases the gate before it
 * reads closing, so at least one of them sees the other and runs the
 * close work. None of this is on the request path.
 */
#include <errno.h>
#include <sched.h>

#include "statsd_gate.h"

static int try_take(statsd_gate *g)
{
    return __atomic_exchange_n(&g->held, 1, __ATOMIC_SEQ_CST) == 0;
}

static void release(statsd_gate *g)
{
    __atomic_store_n(&g->held, 0, __ATOMIC_SEQ_CST);
}

static int closing(const statsd_gate *g)
{
    return __atomic_load_n(&g->closing, __ATOMIC_SEQ_CST);
}

/* With the gate held: the close work, once. */
static void close_held(statsd_gate *g)
{
    if (!__atomic_load_n(&g->closed, __ATOMIC_SEQ_CST)) {
        g->close_fn(g->baton);
        __atomic_store_n(&g->closed, 1, __ATOMIC_SEQ_CST);
    }
}

/* A closer that found the gate held left the close work to its holder. */
static void close_if_asked(statsd_gate *g)
{
    if (closing(g) && try_take(g)) {
        close_held(g);
        release(g);
    }
}

void statsd_gate_init(statsd_gate *g, statsd_gate_close_fn close_fn,
                      void *baton)
{
    g->held = 0;
    g->closing = 0;
    g->closed = 0;
    g->close_fn = close_fn;
    g->baton = baton;
}

int statsd_gate_enter(statsd_gate *g)
{
    unsigned spins = 0;

    while (!try_take(g)) {
        if (closing(g))
            return -EPIPE;
        /* held by the close work, or by another background caller */
        if (++spins >= 100)
            sched_yield();
    }
    if (closing(g)) {
        close_held(g);
        release(g);
        return -EPIPE;
    }
    return 0;
}

void statsd_gate_leave(statsd_gate *g)
{
    release(g);
    close_if_asked(g);
}

int statsd_gate_close(statsd_gate *g)
{
    __atomic_store_n(&g->closing, 1, __ATOMIC_SEQ_CST);
    if (!try_take(g))
        return 0;
    if (__atomic_load_n(&g->closed, __ATOMIC_SEQ_CST)) {
        release(g);
        return 0;
    }
    close_held(g);
    release(g);
    return 1;
}

int statsd_gate_closed(const statsd_gate *g)
{
    return __atomic_load_n(&g->closed, __ATOMIC_SEQ_CST);
}
