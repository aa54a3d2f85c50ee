"""make bench, section e: what the module's lines cost the receiver.

Each wire format is captured once: httpd with the module serves a fixed
request mix (static files and not-found paths over keep-alive
connections) and a UDP socket keeps every datagram. The captures are
then replayed, byte for byte and paced evenly over the same wall time,
into the real statsd 0.9 with no backend. statsd's CPU time (utime +
stime of /proc/PID/stat) from the first datagram to its second flush
after the last is the receiver's cost; the same window with no traffic
is its idle cost, subtracted. A backend is not in the timed runs: the
capture backend of the integration tests keeps every timer value it is
given and rewrites its file each flush, work that grows with the values
and would be counted as statsd's.

Streams:
  original  StatsdFlushInterval 0 + StatsdServiceStats Off: one datagram
            of two lines per request, the original module's wire format
  batched   the module's defaults (batching, service lines, counters not
            summed)
  summed    StatsdSumCounters On: counters summed per flush interval
  etsy      StatsdSumCounters On with StatsdPacking etsy (timer values
            packed)
  etsy1     the same with StatsdServiceStats Off: one timer value per
            request, as the original sends; what statsd spends per timer
            value, which packing cannot take away

Every stream must reach statsd with the same totals: each counter and
each timer's sample count of the original stream is compared with the
others', as written on the wire and as statsd flushed them in one more,
untimed replay of each stream into a statsd with the capture backend.
"""

import collections
import os
import socket
import statistics
import threading
import time
from pathlib import Path

from statsdtest import proc
from statsdtest.statsd import Statsd, install

STATSD_FLUSH_MS = 1000

# one connection's cycle through the mix: 80% static 200s, 20% 404s
MIX = ["/bench.txt"] * 6 + ["/"] * 2 + ["/missing/a", "/missing/b"]

STREAMS = [
    ("original", "StatsdFlushInterval 0\nStatsdServiceStats Off\n"),
    ("batched", ""),
    ("summed", "StatsdSumCounters On\n"),
    ("etsy", "StatsdSumCounters On\nStatsdPacking etsy\n"),
    ("etsy1", "StatsdSumCounters On\nStatsdPacking etsy\n"
              "StatsdServiceStats Off\n"),
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


def cpu_ticks(pid):
    st = proc.proc_stat(pid)
    return st[1][0] + st[1][1] if st else 0


def replay(stream, window, workdir, node, counted=False):
    """Replay into a fresh statsd, evenly over window seconds; its CPU ticks
    from the first datagram to the second flush after the last. counted:
    with the capture backend, whose totals are returned (its CPU is then
    not statsd's alone)."""
    cfg = {"flushInterval": STATSD_FLUSH_MS, "deleteIdleStats": False}
    sd = (Statsd.capturing(workdir, cfg, node=node) if counted
          else Statsd(workdir, cfg, node=node)).start(timeout=30)
    try:
        time.sleep(1.0)                 # past start-up work
        dgrams = stream["dgrams"]
        steps = max(1, int(window * 100))
        per = len(dgrams) / steps
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        addr = ("127.0.0.1", sd.port)
        c0 = cpu_ticks(sd.proc.pid)
        t0 = time.monotonic()
        sent = 0
        for k in range(steps):
            upto = int(round((k + 1) * per)) if k < steps - 1 else len(dgrams)
            for d in dgrams[sent:upto]:
                s.sendto(d, addr)
            sent = upto
            pause = t0 + (k + 1) / 100.0 - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        s.close()
        # two flushes after the last datagram: everything is counted
        time.sleep(2 * STATSD_FLUSH_MS / 1000 + 0.3)
        c1 = cpu_ticks(sd.proc.pid)
        wall = time.monotonic() - t0
        totals = (sd.captured() or {}) if counted else {}
        bad = (totals.get("counters", {}).get("statsd.bad_lines_seen", 0)
               if counted else bad_lines(sd))
    finally:
        sd.stop()
    return {"ticks": c1 - c0, "wall": wall, "totals": totals,
            "bad_lines": bad}


def bad_lines(sd):
    """statsd's bad_lines_seen over its life (its management `stats`)."""
    v = sd.stats().get("messages.bad_lines_seen")
    if v is None:
        raise RuntimeError("statsd's stats lack messages.bad_lines_seen")
    return int(v)


def idle_ticks(window, workdir, node):
    sd = Statsd(workdir, {"flushInterval": STATSD_FLUSH_MS,
                          "deleteIdleStats": False}, node=node).start(timeout=30)
    try:
        time.sleep(1.0)
        c0 = cpu_ticks(sd.proc.pid)
        time.sleep(window + 2 * STATSD_FLUSH_MS / 1000 + 0.3)
        return cpu_ticks(sd.proc.pid) - c0
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
    orig = streams["original"]
    # the same wall time for every stream: what the original needs at
    # about 5,000 datagrams/s (statsd keeps up: none is lost), at least 3 s
    window = max(3.0, orig["datagrams"] / 5000.0)
    e["window"] = window
    work = Path(bench.work) / "receiver"
    runs = {name: [] for name, _ in STREAMS}
    idles = []
    bench.wait_quiet("e")
    for rep in range(reps):
        idles.append(idle_ticks(window, work / f"idle{rep}", node))
        for name, _ in STREAMS:
            r = replay(streams[name], window, work / f"{name}{rep}", node)
            runs[name].append(r)
            log(f"   run {rep + 1}/{reps} {name}: {r['ticks']} ticks "
                f"(idle {idles[-1]}), bad lines {r['bad_lines']}")
    counted = {}
    for name, _ in STREAMS:
        counted[name] = replay(streams[name], window, work / f"{name}-count",
                               node, counted=True)
        log(f"   counted run {name}: bad lines {counted[name]['bad_lines']}")
    idle = statistics.median(idles)
    e["idle_ticks"] = idles
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
        s["ticks"] = [r["ticks"] for r in runs[name]]
        s["net_ticks"] = [max(0.0, r["ticks"] - idle) for r in runs[name]]
        s["bad_lines"] = max(r["bad_lines"]
                             for r in runs[name] + [counted[name]])
        s["total_diffs"] = s["wire_diffs"] + s["replay_losses"]
        s["timer_samples"] = sum(counted[name]["totals"]
                                 .get("timer_counts", {}).values())
    for name, _ in STREAMS:
        s = e["streams"][name]
        ratios = [x / y for x, y in zip(s["net_ticks"],
                                        e["streams"]["original"]["net_ticks"])
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
            ("batched", "default (batched, counters not summed)"),
            ("summed", "StatsdSumCounters On"),
            ("etsy", "StatsdSumCounters On + StatsdPacking etsy"),
            ("etsy1", "the same, StatsdServiceStats Off (one timer value "
                      "per request)")]):
        s = st.get(name)
        if not s:
            continue
        pr = s["per_request"]
        r = s.get("cpu_ratio")
        measured = f"{r[0]:.2f} ({r[1]:.2f}-{r[2]:.2f})" if r else "n/a"
        target, verdict = "-", "info"
        if name == "summed" and r:
            target, verdict = "<= 0.6", "PASS" if r[0] <= 0.6 else "MISS"
        if name == "etsy" and r:
            target, verdict = "<= 0.3", "PASS" if r[0] <= 0.3 else "MISS"
        ok = not s["total_diffs"] and s["bad_lines"] == 0
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
           f"statsd 0.9 over {e['window']:.1f} s, {e['reps']} runs; idle "
           f"statsd over the same window: {e['idle_ticks']} ticks "
           f"(1 tick = {1000 // os.sysconf('SC_CLK_TCK')} ms)"]
    for name, s in e["streams"].items():
        out.append(f"   {name}: {s['datagrams']} datagrams, {s['lines']} "
                   f"lines, {s['bytes']} bytes; statsd ticks {s['ticks']}, "
                   f"net of idle {s['net_ticks']}; bad lines "
                   f"{s['bad_lines']}; totals as sent vs the original's: "
                   f"{s['wire_diffs'] or 'equal'}; statsd's flushed totals "
                   f"vs what was sent: {s['replay_losses'] or 'equal'}")
    return out
