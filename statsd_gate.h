/*
 * statsd_gate.h - the order between a destination's background work (the
 * watchdog's flush) and its close at process exit.
 *
 * httpd stops the watchdog thread only after the child's own cleanups
 * have run, so the thread may still flush after the sockets are closed:
 * on a closed descriptor, or on one the process has reused for something
 * else. Background work runs between statsd_gate_enter and
 * statsd_gate_leave; statsd_gate_close marks the gate closing and runs
 * the close work (send what is batched, close the sockets) once, either
 * at once or, when background work holds the gate, as that work leaves.
 * After that, enter refuses: nothing is sent any more.
 *
 * statsd_gate_close never waits (exit cleanups may run in a signal
 * handler); enter waits for the gate only while the close work runs.
 * No httpd types, no allocation.
 */
#ifndef STATSD_GATE_H
#define STATSD_GATE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*statsd_gate_close_fn)(void *baton);

typedef struct {
    int held;                    /* background or close work runs */
    int closing;                 /* set once, by statsd_gate_close */
    int closed;                  /* the close work has run */
    statsd_gate_close_fn close_fn;
    void *baton;
} statsd_gate;

/* An open gate whose close work is close_fn(baton). */
void statsd_gate_init(statsd_gate *g, statsd_gate_close_fn close_fn,
                      void *baton);

/* 0: the gate is held, do the work, then statsd_gate_leave. -EPIPE: the
 * gate is closing; do nothing (and stop asking). */
int statsd_gate_enter(statsd_gate *g);
void statsd_gate_leave(statsd_gate *g);

/* Mark the gate closing; run the close work now if the gate is free.
 * Returns 1 if it ran now, 0 if background work will run it as it leaves
 * (or it has run already). */
int statsd_gate_close(statsd_gate *g);

/* Has the close work run? */
int statsd_gate_closed(const statsd_gate *g);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_GATE_H */
