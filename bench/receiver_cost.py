"""make bench, section e: what the module's lines cost the receiver.

Each wire format is captured once: httpd with the module serves a fixed
request mix (static files and not-found paths over keep-alive
connections) and a UDP socket keeps every datagram. The captures are
then replayed, byte for byte, into the real statsd 0.9 with no backend,
and statsd's CPU time is read: the sum over its threads of the time on
CPU in /proc/PID/task/*/schedstat (nanoseconds), from the first datagram
to its first flush after the last (that flush, which sorts the timers'
values, is part of the cost).

What is measured is a receiver at work, as one serving a fleet is: the
question is how much traffic one statsd absorbs before it drops UDP.
  - Warm: each stream is replayed WARM times into the same statsd before
    the timed replays. A fresh node process runs its first thousands of
    packets in the interpreter and sizes its heap as it goes; a receiver
    that has run for a minute does neither, and its keys exist.
  - Back to back, nothing lost: datagrams are sent in chunks of at most
    CHUNK_BYTES, each once statsd's socket queue (/proc/net/udp) is empty.
    statsd works through the stream without sleeping in between; paced
    thinly over seconds instead, a stream of few datagrams would be
    measured mostly as statsd waking from idle for each one, a cost that
    vanishes under load.
  - The idle cost of the same wall time (statsd's timers) is subtracted.
A backend is not in the timed runs: the capture backend of the
integration tests keeps every timer value it is given and rewrites its
file each flush, work that grows with the values and would be counted as
statsd's.

Streams:
  original  StatsdFlushInterval 0 + StatsdServiceStats Off: one datagram
            of two lines per request, the original module's wire format
  default   the module's defaults: batching, service lines, counters
            summed per flush interval
  unsummed  StatsdSumCounters Off: batched, each counter line kept
  etsy      the defaults with StatsdPacking etsy (timer values packed)
  etsy1     the same with StatsdServiceStats Off: one timer value per
            request, as the original sends

Every stream must reach statsd with the same totals: each counter and
each timer's sample count of the original stream is compared with the
others', as written on the wire and as statsd flushed them in one more,
untimed replay of each stream into a statsd with the capture backend.
"""

import collections
import socket
import statistics
import threading
import time
from pathlib import Path

from statsdtest import proc
from statsdtest.statsd import Statsd, install

STATSD_FLUSH_MS = 1000
WARM = 3                    # untimed replays before the timed ones
CHUNK_BYTES = 96 << 10      # sent at once: well inside statsd's socket buffer

# one connection's cycle through the mix: 80% static 200s, 20% 404s
MIX = ["/bench.txt"] * 6 + ["/"] * 2 + ["/missing/a", "/missing/b"]

STREAMS = [
    ("original", "StatsdFlushInterval 0\nStatsdServiceStats Off\n"),
    ("default", ""),
    ("unsummed", "StatsdSumCounters Off\n"),
    ("etsy", "StatsdPacking etsy\n"),
    ("etsy1", "StatsdPacking etsy\nStatsdServiceStats Off\n"),
]


class Capture:
    """A UDP socket on 127.0.0.1 that keeps every datagram."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUFFORCE,
                              32 << 20)
        except (OSError, AttributeError):
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(0.2)
        self.port = self.s.getsockname()[1]
        self.dgrams = []
        self.last = time.monotonic()
        self.stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop:
            try:
                d = self.s.recv(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            self.dgrams.append(d)
            self.last = time.monotonic()

    def quiesce(self, quiet=1.5, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if time.monotonic() - self.last >= quiet:
                return
            time.sleep(0.1)

    def close(self):
        self.stop = True
        self.t.join(2)
        self.s.close()


def drive_mix(bench_mod, port, n, conns, timeout=300):
    """Exactly n requests of MIX over conns keep-alive connections."""
    deadline = time.monotonic() + timeout
    per = [n // conns + (1 if i < n % conns else 0) for i in range(conns)]
    results, errors = [], []

    def worker(k, offset):
        try:
            c = bench_mod.KeepAliveClient(port)
            st = collections.Counter()
            try:
                for i in range(k):
                    if time.monotonic() > deadline:
                        raise bench_mod.BenchError("client ran out of time")
                    path = MIX[(i + offset) % len(MIX)]
                    c.req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             f"User-Agent: mod_statsd-bench\r\n\r\n").encode()
                    st[c.one()] += 1
            finally:
                c.close()
            results.append(st)
        except Exception as e:          # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k, i))
               for i, k in enumerate(per)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1, deadline - time.monotonic() + 5))
    if errors:
        raise bench_mod.BenchError(f"client error: {errors[0]!r}")
    total = collections.Counter()
    for r in results:
        total.update(r)
    return total


def capture_stream(bench, bench_mod, name, extra, n, conns):
    cap = Capture()
    h = bench.httpd(f"recv-{name}", bench.module, statsd_port=cap.port,
                    statsd_extra=extra)
    try:
        bench_mod.start_bench_httpd(h)
        time.sleep(0.3)
        cap.dgrams.clear()          # the parent's reload marker
        statuses = drive_mix(bench_mod, h.port, n, conns)
        time.sleep(STATSD_FLUSH_MS / 1000 + 0.5)
        bench_mod.stop_bench_httpd(h)
        cap.quiesce()
    finally:
        cap.close()
        bench_mod.dispose(h)
        bench.httpds.remove(h)
    dgrams = [d for d in cap.dgrams if not d.endswith(b"httpd.reloads:1|c")]
    lines = sum(d.count(b"\n") + 1 for d in dgrams)
    return {"statuses": dict(statuses), "requests": sum(statuses.values()),
            "datagrams": len(dgrams), "lines": lines,
            "bytes": sum(len(d) for d in dgrams), "dgrams": dgrams}


def cpu_ns(pid):
    """Time on CPU of all of pid's threads, in nanoseconds."""
    total = 0
    for f in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(f.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass                        # a thread that just ended
    return total


def rx_queue(port):
    """Bytes waiting in the receive queue of the UDP socket on port, and
    the datagrams it dropped (/proc/net/udp)."""
    tail = ":%04X" % port
    with open("/proc/net/udp") as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(tail):
                return int(fields[4].split(":")[1], 16), int(fields[-1])
    return 0, 0


def send_all(dgrams, addr, port, timeout=60):
    """Every datagram, in chunks of CHUNK_BYTES (counting the kernel's
    overhead per datagram), each once the queue is empty; the seconds it
    took."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.monotonic()
    try:
        i = 0
        while i < len(dgrams):
            size = 0
            while i < len(dgrams) and size < CHUNK_BYTES:
                s.sendto(dgrams[i], addr)
                size += len(dgrams[i]) + 768
                i += 1
            while rx_queue(port)[0] > 0:
                if time.monotonic() - t0 > timeout:
                    raise RuntimeError("statsd stopped reading")
                time.sleep(0.0002)
    finally:
        s.close()
    return time.monotonic() - t0


def replay(stream, reps, workdir, node, counted=False):
    """Replay the stream WARM times into a fresh statsd, then reps times
    timed: statsd's CPU nanoseconds and wall seconds of each, from the
    first datagram to the flush after the last. counted: one replay into
    a statsd with the capture backend instead, whose totals are returned
    (its CPU is then not statsd's alone)."""
    cfg = {"flushInterval": STATSD_FLUSH_MS, "deleteIdleStats": False}
    sd = (Statsd.capturing(workdir, cfg, node=node) if counted
          else Statsd(workdir, cfg, node=node)).start(timeout=30)
    settle = STATSD_FLUSH_MS / 1000 + 0.3     # its flush after the last
    try:
        time.sleep(1.0)                 # past start-up work
        addr = ("127.0.0.1", sd.port)
        dgrams = stream["dgrams"]
        runs = []
        for k in range(0 if counted else WARM + reps):
            c0 = cpu_ns(sd.proc.pid)
            t0 = time.monotonic()
            send_all(dgrams, addr, sd.port)
            time.sleep(settle)
            if k >= WARM:
                runs.append((cpu_ns(sd.proc.pid) - c0,
                             time.monotonic() - t0))
        if counted:
            send_all(dgrams, addr, sd.port)
            time.sleep(2 * settle)
        drops = rx_queue(sd.port)[1]
        totals = (sd.captured() or {}) if counted else {}
        bad = (totals.get("counters", {}).get("statsd.bad_lines_seen", 0)
               if counted else bad_lines(sd))
    finally:
        sd.stop()
    return {"runs": runs, "totals": totals, "bad_lines": bad,
            "drops": drops}


def bad_lines(sd):
    """statsd's bad_lines_seen over its life (its management `stats`)."""
    v = sd.stats().get("messages.bad_lines_seen")
    if v is None:
        raise RuntimeError("statsd's stats lack messages.bad_lines_seen")
    return int(v)


def idle_ns_per_s(workdir, node, seconds=3.0):
    """statsd's CPU nanoseconds per second with no traffic."""
    sd = Statsd(workdir, {"flushInterval": STATSD_FLUSH_MS,
                          "deleteIdleStats": False}, node=node).start(timeout=30)
    try:
        time.sleep(1.0)
        c0 = cpu_ns(sd.proc.pid)
        t0 = time.monotonic()
        time.sleep(seconds)
        return (cpu_ns(sd.proc.pid) - c0) / (time.monotonic() - t0)
    finally:
        sd.stop()


def wire_totals(dgrams):
    """What statsd should count from these datagrams: counter totals
    (value / rate) and timer sample counts by key, packed lines included."""
    counters, timers = collections.Counter(), collections.Counter()
    for d in dgrams:
        for line in d.decode("latin-1").split("\n"):
            key, _, rest = line.partition(":")
            for bit in rest.split(":"):
                f = bit.split("|")
                rate = float(f[2][1:]) if len(f) > 2 and f[2][:1] == "@" else 1.0
                if len(f) > 1 and f[1] == "c":
                    counters[key] += float(f[0]) / rate
                elif len(f) > 1 and f[1] == "ms":
                    timers[key] += 1
    return {"counters": dict(counters), "timer_counts": dict(timers)}


def same_totals(ref, other):
    """Keys of ref whose counter total or timer sample count differs."""
    diffs = []
    rc, oc = ref.get("counters", {}), other.get("counters", {})
    for k, v in rc.items():
        if k.startswith("statsd."):
            continue
        if oc.get(k) != v:
            diffs.append(f"counter {k}: {v} vs {oc.get(k)}")
    rt, ot = ref.get("timer_counts", {}), other.get("timer_counts", {})
    for k, v in rt.items():
        if ot.get(k) != v:
            diffs.append(f"timer {k}: {v} samples vs {ot.get(k)}")
    return diffs


def run(bench, bench_mod, n, conns, reps, log):
    """Section e. Returns the figures for results.json and the report."""
    node = install(say=log)
    e = {"requests": n, "reps": reps, "streams": {}}
    streams = {}
    for name, extra in STREAMS:
        log(f"e) capture '{name}': {n} requests")
        streams[name] = capture_stream(bench, bench_mod, name, extra, n, conns)
        s = streams[name]
        e["streams"][name] = {k: v for k, v in s.items() if k != "dgrams"}
        log(f"   {s['datagrams']} datagrams, {s['lines']} lines, "
            f"{s['bytes']} bytes")
    work = Path(bench.work) / "receiver"
    bench.wait_quiet("e")
    idle = idle_ns_per_s(work / "idle", node)
    e["idle_ns_per_s"] = idle
    timed = {}
    for name, _ in STREAMS:
        timed[name] = replay(streams[name], reps, work / name, node)
        log(f"   {name}: statsd CPU "
            + ", ".join(f"{ns / 1e6:.1f}" for ns, _ in timed[name]["runs"])
            + f" ms (after {WARM} warm-up replays), bad lines "
            f"{timed[name]['bad_lines']}, drops {timed[name]['drops']}")
    counted = {}
    for name, _ in STREAMS:
        counted[name] = replay(streams[name], 0, work / f"{name}-count",
                               node, counted=True)
        log(f"   counted run {name}: bad lines {counted[name]['bad_lines']}")
    # the streams as captured must give the same totals (the original's
    # keys), and statsd must have counted exactly what each stream holds
    # (nothing lost between the replay and statsd)
    wire = {name: wire_totals(streams[name]["dgrams"]) for name, _ in STREAMS}
    for name, _ in STREAMS:
        s = e["streams"][name]
        s["wire_diffs"] = same_totals(wire["original"], wire[name])[:5]
        s["replay_losses"] = same_totals(wire[name],
                                         counted[name]["totals"])[:5]
    for name, _ in STREAMS:
        s = e["streams"][name]
        req = max(1, s["requests"])
        s["per_request"] = {"datagrams": s["datagrams"] / req,
                            "lines": s["lines"] / req,
                            "bytes": s["bytes"] / req}
        s["cpu_ms"] = [ns / 1e6 for ns, _ in timed[name]["runs"]]
        s["net_ms"] = [max(0.0, (ns - idle * wall) / 1e6)
                       for ns, wall in timed[name]["runs"]]
        s["drops"] = timed[name]["drops"] + counted[name]["drops"]
        s["bad_lines"] = max(timed[name]["bad_lines"],
                             counted[name]["bad_lines"])
        s["total_diffs"] = s["wire_diffs"] + s["replay_losses"]
        s["timer_samples"] = sum(counted[name]["totals"]
                                 .get("timer_counts", {}).values())
    for name, _ in STREAMS:
        s = e["streams"][name]
        ratios = [x / y for x, y in zip(s["net_ms"],
                                        e["streams"]["original"]["net_ms"])
                  if y > 0]
        s["cpu_ratio"] = ((statistics.median(ratios), min(ratios),
                           max(ratios)) if ratios else None)
    return e


def report_rows(e):
    """(id, what, measured, target, verdict, note) rows for the table."""
    rows = []
    st = e["streams"]
    for i, (name, what) in enumerate([
            ("original", "original wire format (flush 0, no service lines)"),
            ("default", "defaults (batched, counters summed)"),
            ("unsummed", "StatsdSumCounters Off (batched only)"),
            ("etsy", "defaults + StatsdPacking etsy"),
            ("etsy1", "the same, StatsdServiceStats Off (one timer value "
                      "per request)")]):
        s = st.get(name)
        if not s:
            continue
        pr = s["per_request"]
        r = s.get("cpu_ratio")
        measured = f"{r[0]:.2f} ({r[1]:.2f}-{r[2]:.2f})" if r else "n/a"
        target, verdict = "-", "info"
        if name == "default" and r:
            target, verdict = "<= 0.6", "PASS" if r[0] <= 0.6 else "MISS"
        if name == "etsy" and r:
            target, verdict = "<= 0.3", "PASS" if r[0] <= 0.3 else "MISS"
        ok = not s["total_diffs"] and s["bad_lines"] == 0 and not s["drops"]
        rows.append((f"e{i + 1}", f"statsd CPU vs original: {what}", measured,
                     target, verdict,
                     f"{pr['datagrams']:.3f} datagrams, {pr['lines']:.2f} "
                     f"lines (a packed line holds many values), "
                     f"{pr['bytes']:.0f} bytes per request; "
                     f"{'same totals' if ok else 'TOTALS DIFFER'} "
                     f"({s['timer_samples']} timer samples)"))
    return rows


def details(e):
    out = [f"e) receiver cost: {e['requests']} requests of the mix "
           f"{', '.join(sorted(set(MIX)))}, each capture replayed into "
           f"a warm statsd 0.9 ({WARM} replays first), back to back in "
           f"chunks of {CHUNK_BYTES >> 10} KiB, {e['reps']} timed runs; "
           f"idle statsd: {e['idle_ns_per_s'] / 1e6:.2f} ms of CPU a second"]
    for name, s in e["streams"].items():
        out.append(f"   {name}: {s['datagrams']} datagrams, {s['lines']} "
                   f"lines, {s['bytes']} bytes; statsd CPU ms "
                   f"{[round(x, 1) for x in s['cpu_ms']]}, net of idle "
                   f"{[round(x, 1) for x in s['net_ms']]}; bad lines "
                   f"{s['bad_lines']}, socket drops {s['drops']}; "
                   f"totals as sent vs the original's: "
                   f"{s['wire_diffs'] or 'equal'}; statsd's flushed totals "
                   f"vs what was sent: {s['replay_losses'] or 'equal'}")
    return out
