/*
 * mod_statsd_msgids.h - every message the module logs, each with its
 * stable id (in the spirit of httpd's APLOGNO): tests and log watchers
 * match on the id, so an id is never reused or renumbered, whatever
 * happens to its text. httpd tags each line [statsd:level] already, so
 * the texts carry no "statsd:" prefix.
 *
 * Next free id: STATSD00013 (00013..00019 are reserved for this module's
 * next messages; 00020 on are taken as below).
 */
#ifndef MOD_STATSD_MSGIDS_H
#define MOD_STATSD_MSGIDS_H

/* start-up, ERR: a destination's client could not be made (no memory) */
#define STATSD_MSG_DEST_SETUP \
    "STATSD00001: cannot set up destination %s"
/* start-up, ERR: a destination's batch could not be made (no memory) */
#define STATSD_MSG_BATCH_SETUP \
    "STATSD00002: cannot set up batching for %s"
/* child start, ERR: a destination's flusher thread could not start (no
 * memory, no thread); the requests that fill its buffer flush it */
#define STATSD_MSG_FLUSHER \
    "STATSD00012: cannot start the flusher thread for %s; full buffers " \
    "are flushed by the request that fills them"
/* start-up, WARNING: each child looks the name up again, with backoff */
#define STATSD_MSG_UNRESOLVED \
    "STATSD00003: destination %s does not resolve; its metrics are " \
    "dropped and counted"
/* watchdog, NOTICE: a destination that did not resolve does now */
#define STATSD_MSG_RESOLVED \
    "STATSD00004: destination %s resolves now"
/* watchdog, INFO: DNS gave a destination another address */
#define STATSD_MSG_NEW_ADDRESS \
    "STATSD00005: destination %s has a new address"
/* start-up, CRIT: batching and re-resolution run in its threads */
#define STATSD_MSG_NO_WATCHDOG \
    "STATSD00006: mod_watchdog is needed (for batching and re-resolution)"
/* start-up, CRIT: mod_watchdog refused the per-child watchdog */
#define STATSD_MSG_WATCHDOG \
    "STATSD00007: cannot start the child watchdog"
/* child start, ERR: the name set of StatsdMaxNames could not be made */
#define STATSD_MSG_NAMESET \
    "STATSD00008: no memory for StatsdMaxNames; names are not limited"
/* child start, ERR: no socket for a destination (fd limit, ...) */
#define STATSD_MSG_SOCKET \
    "STATSD00009: cannot open a socket for %s"
/* request, WARNING, at most once a minute per destination and child:
 * datagrams lost (full buffer, nothing listening, ...) since the last
 * such line; the error is the last send's */
#define STATSD_MSG_DROPPED \
    "STATSD00010: %" APR_UINT64_T_FMT " datagram(s) to %s dropped since " \
    "the last report (logged once a minute)"
/* child exit, WARNING: sends that found their socket closed (EBADF);
 * never expected: the watchdog and the exit flush are ordered against
 * the close */
#define STATSD_MSG_BADFD \
    "STATSD00011: %" APR_UINT64_T_FMT " send(s) on a closed socket"
/* request, WARNING, at most once a minute per child: a StatsdExclude
 * pattern reached its match limit on a path segment, which was kept */
#define STATSD_MSG_EXCLUDE_GAVE_UP \
    "STATSD00020: StatsdExclude '%s' gave up on a path segment (PCRE " \
    "match limit %d): the segment was kept in the name (logged at most " \
    "once a minute)"
/* configtest and start-up, CRIT: the longest line a name may make does
 * not fit a datagram (a line is never split); httpd does not start */
#define STATSD_MSG_PACKET_TOO_SMALL \
    "STATSD00021: StatsdMaxPacketSize %ld is too small for " \
    "StatsdMaxNameLength %ld: such a name makes lines of up to %ld bytes, " \
    "and a line is never split. Set StatsdMaxPacketSize to %ld or more, or " \
    "StatsdMaxNameLength to %ld or less"
/* watchdog, WARNING, at most once a minute per destination, in the child
 * that sends the worker gauges: as STATSD00010, so an idle server reports
 * its drops too */
#define STATSD_MSG_GAUGES_DROPPED \
    "STATSD00050: %" APR_UINT64_T_FMT " datagram(s) to %s dropped since " \
    "the last report (logged once a minute)"
/* start-up, CRIT: mod_watchdog refused the worker gauges' callback */
#define STATSD_MSG_GAUGES_WATCHDOG \
    "STATSD00051: cannot add the worker gauges to the child watchdog"
/* start-up, WARNING: a section sets StatsdTag, the format that applies
 * there is none (the main server's warn only when no section sets one) */
#define STATSD_MSG_TAGS_NO_FORMAT \
    "STATSD00060: StatsdTag in %s, but its StatsdTagFormat is none: " \
    "these tags are not sent"
/* start-up, WARNING: merged with the inherited ones, a section's tags
 * pass 16 tags or 512 bytes; the last added are left out */
#define STATSD_MSG_TAGS_LEFT_OUT \
    "STATSD00061: %u tag(s) of %s left out: with the inherited ones they " \
    "pass 16 tags or 512 bytes"

/* 00040..00049: looking destination names up */

/* start-up, WARNING: the resolver had not answered when the bounded wait
 * ended; the destination starts unresolved, the children keep trying */
#define STATSD_MSG_NO_ANSWER \
    "STATSD00040: destination %s: no answer from the resolver within " \
    "%d ms; its metrics are dropped and counted until it resolves"
/* start-up, ERR: no resolver thread could run (no memory, no thread) */
#define STATSD_MSG_START_LOOKUP \
    "STATSD00041: cannot look destination %s up at start-up; its " \
    "metrics are dropped and counted until a child resolves it"
/* child start, ERR: the child's resolver threads could not start */
#define STATSD_MSG_CHILD_RESOLVER \
    "STATSD00042: cannot start this child's resolver; destination " \
    "names are not looked up again in this child"

/* start-up, ERR: no shared memory for the whole server's name set, log
 * limit and self-metrics; each child then limits names and logs on its
 * own, and mod_status shows no statsd section */
#define STATSD_MSG_SHM \
    "STATSD00070: cannot create %lu bytes of shared memory; StatsdMaxNames " \
    "and the error-log limit apply per child, no self-metrics"

#endif /* MOD_STATSD_MSGIDS_H */
