/*
 * statsd_spin.h - the spin lock of the batch and interval buffers.
 *
 * It guards a copy of one request's lines (or one packet) into a shared
 * buffer. A mutex costs more than that copy on every request; this costs
 * one atomic exchange when the lock is free, and a waiter that finds it
 * taken (the holder was preempted, or is sending) spins a little, then
 * yields the CPU. The lock is an int, 0 when free. Internal to the core
 * units: not part of any public API.
 */
#ifndef STATSD_SPIN_H
#define STATSD_SPIN_H

#include <sched.h>

/* out of line: the uncontended lock stays one exchange in its caller
 * (unused: a unit that only tries the lock has no call to it) */
static __attribute__((noinline, unused)) void statsd_spin_wait(int *l)
{
    unsigned spins = 0;

    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(l, __ATOMIC_RELAXED)) {
            if (++spins < 100) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
            } else {
                sched_yield();
            }
        }
    }
}

static inline void statsd_spin_lock(int *l)
{
    if (__builtin_expect(__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) != 0, 0))
        statsd_spin_wait(l);
}

/* 1 if the lock was free and is now held */
static inline int statsd_spin_trylock(int *l)
{
    return __atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) == 0;
}

static inline void statsd_spin_unlock(int *l)
{
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

#endif /* STATSD_SPIN_H */
