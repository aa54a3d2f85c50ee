"""make dashboard: one minute of a real pipeline, rendered as a service
dashboard (dashboard/dashboard.png).

httpd + mod_statsd (StatsdPrefix shop) -> statsd 0.9.0 (flushInterval 2 s,
percentThreshold [95, 99], graphite backend) -> carbon-cache -> whisper,
all throwaway processes on 127.0.0.1 (t/lib/statsdtest). About 60 s of
synthetic traffic from two clients: mostly fast static files, some CGI
requests of 5-50 ms, a few slow ones (120-400 ms, more of them after the
reload, so the percentiles move there), 404s (a burst of them around 15 s,
like a scanner) and a few 5xx; one graceful restart (`apache2 -k graceful`)
half way.

The PNG is drawn only from what whisper stored:
  left:  stats.counters.shop.responses.{good,bad}.count summed per 10 s
  right: stats.timers.shop.responses.time.upper_95 / upper_99 per flush
  both:  a vertical line wherever stats.counters.shop.httpd.reloads.count
         is non-zero (the module's reload marker: start and graceful).
If that metric is empty (a module without reload markers), the line is drawn
at the time this script issued the graceful restart, and the legend says so.

Usage: python3 dashboard/dashboard.py [--seconds 60] [--out dashboard/dashboard.png]
"""

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "t" / "lib"))   # the test harness

from statsdtest.httpclient import HttpClient  # noqa: E402
from statsdtest.httpd import module_missing  # noqa: E402
from statsdtest.interop import Carbon, interop_httpd  # noqa: E402
from statsdtest.paths import REPO  # noqa: E402
from statsdtest.proc import wait_for  # noqa: E402
from statsdtest.statsd import Statsd  # noqa: E402

PREFIX = "shop"
FLUSH_MS = 2000
BUCKET = 10                   # seconds per bar in the left panel


def pick(rnd, elapsed, after_reload):
    """One request of the synthetic mix: (path, expected status)."""
    if 15 <= elapsed < 20 and rnd.random() < 0.35:      # scanner burst
        return f"/wp-login-{rnd.randrange(1000)}.php", 404
    x = rnd.random()
    slow_share = 0.06 if after_reload else 0.025
    if x < 0.04:
        return f"/static/missing-{rnd.randrange(50)}.css", 404
    if x < 0.065:
        s = rnd.choice([500, 502, 503])
        return f"/cgi-bin/work?ms={rnd.randrange(5, 40)}&status={s}", s
    if x < 0.065 + slow_share:
        return f"/cgi-bin/work?ms={rnd.randrange(120, 400)}", 200
    if x < 0.30:
        return f"/cgi-bin/work?ms={rnd.randrange(5, 50)}", 200
    return rnd.choice(["/", "/hello.txt"]), 200


def drive(httpd, seconds, max_requests=6000):
    """Two clients for `seconds` (bounded by time and count); a graceful
    restart at half time. Returns (start, end, graceful_time, counts)."""
    start = time.time()
    stop_at = start + seconds
    state = {"reload_at": None, "after": False, "n": 0, "bad_status": 0}
    lock = threading.Lock()

    def client(seed):
        rnd = random.Random(seed)
        c = HttpClient(httpd.port)
        generation = False
        while time.time() < stop_at:
            with lock:
                if state["n"] >= max_requests:
                    break
                state["n"] += 1
                after = state["after"]
            if after != generation:          # new connection after reload
                c.close()
                generation = after
            path, want = pick(rnd, time.time() - start, after)
            try:
                got = c.get(path)
            except OSError:
                got = None
            if got != want:
                with lock:
                    state["bad_status"] += 1
            time.sleep(rnd.uniform(0.02, 0.06))
        c.close()

    threads = [threading.Thread(target=client, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    time.sleep(seconds / 2)
    state["reload_at"] = time.time()
    httpd.graceful()
    state["after"] = True
    for t in threads:
        t.join(seconds + 60)
    return start, time.time(), state["reload_at"], state


def render(out, series, reloads, reload_source, start, end, httpd_start,
           graceful_at):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from datetime import datetime, timedelta

    def dt(ts):
        return datetime.fromtimestamp(ts)

    # per-10 s sums: a statsd flush at ts holds the lines of (ts - 2 s, ts];
    # bucket k is (first + 10 k, first + 10 (k + 1)], the last one also
    # takes the tail flushed just after the traffic ended
    first = int(start)
    nb = max(1, round((end - first) / BUCKET))
    sums = {"good": [0.0] * nb, "bad": [0.0] * nb}
    for name, acc in sums.items():
        for ts, v in series[name]:
            k = math.ceil((ts - first) / BUCKET) - 1
            if k >= 0:
                acc[min(k, nb - 1)] += v
    edges = [first + k * BUCKET for k in range(nb + 1)]
    last = max([t for t, _ in series["upper_95"] + series["upper_99"]]
               + [edges[-1]])

    plt.rcParams.update({"font.size": 10, "axes.titlesize": 12,
                         "axes.titleweight": "bold",
                         "axes.edgecolor": "#9aa0a6"})
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5.4), dpi=110)
    green, red = "#2f9e44", "#e03131"
    half = timedelta(seconds=BUCKET * 0.21)
    width = BUCKET * 0.4 / 86400.0                 # days, for date axes
    centers = [dt(e + BUCKET / 2) for e in edges[:-1]]
    for name, color, shift in (("good", green, -half), ("bad", red, half)):
        xs = [c + shift for c in centers]
        label = ("good (1xx-3xx)" if name == "good" else "bad (4xx/5xx)")
        ax1.bar(xs, sums[name], width=width, color=color, label=label,
                zorder=2)
        for x, v in zip(xs, sums[name]):
            ax1.annotate(f"{int(v)}", (x, v), ha="center", va="bottom",
                         fontsize=8, color=color, xytext=(0, 2),
                         textcoords="offset points")
    ax1.set_title("Responses per 10 s: good vs bad")
    ax1.set_ylabel("responses per 10 s")
    ax1.set_ylim(0, max(sums["good"] + sums["bad"] + [1]) * 1.12)

    for key, color, label in (("upper_99", "#7048e8", "p99 (upper_99)"),
                              ("upper_95", "#f08c00", "p95 (upper_95)")):
        pts = series[key]
        ax2.plot([dt(t) for t, _ in pts], [v for _, v in pts], "-o", ms=3.5,
                 lw=1.8, color=color, label=label, zorder=3)
    ax2.set_title("Response time: upper 95th / 99th percentile")
    ax2.set_ylabel("milliseconds (per 2 s statsd flush)")
    ax2.set_ylim(0, max([v for _, v in series["upper_95"] +
                         series["upper_99"]] + [1]) * 1.12)

    label = (f"reload marker ({PREFIX}.httpd.reloads)"
             if reload_source == "metric"
             else "graceful restart (time issued; no reload metric)")
    for ax in (ax1, ax2):
        top = ax.get_ylim()[1]
        for i, r in enumerate(reloads):
            ax.axvline(dt(r), color="#495057", ls="--", lw=1.3, zorder=1,
                       label=label if i == 0 else None)
            what = ("httpd start" if abs(r - httpd_start) <
                    abs(r - graceful_at) else "graceful restart")
            ax.annotate(what, (dt(r), top), xytext=(4, -4),
                        textcoords="offset points", ha="left", va="top",
                        fontsize=8, color="#495057")
        ax.set_xlim(dt(edges[0] - 1), dt(last + 1))
        ax.set_xticks([dt(e) for e in edges])
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
        ax.grid(axis="y", color="#e9ecef", zorder=0)
        ax.grid(axis="x", color="#f1f3f5", zorder=0)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3,
                  frameon=False, fontsize=9)
    fig.suptitle(f"Service \u201c{PREFIX}\u201d: Apache httpd + mod_statsd "
                 f"\u2192 statsd 0.9 \u2192 carbon/whisper  "
                 f"(StatsdPrefix {PREFIX}, statsd flushInterval "
                 f"{FLUSH_MS // 1000} s)", fontsize=12, x=0.012, ha="left",
                 color="#212529")
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, facecolor="white")
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--out", type=Path, default=HERE / "dashboard.png")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory")
    args = ap.parse_args()
    if module_missing():
        sys.exit(module_missing())
    seconds = max(10.0, min(args.seconds, 300.0))

    work = Path(tempfile.mkdtemp(prefix="mod_statsd-dashboard-"))
    os.chmod(work, 0o755)
    running = []
    try:
        carbon = Carbon(work / "carbon").start()
        running.append(carbon)
        statsd = Statsd.graphite(work / "statsd", carbon.line_port,
                                 flush_ms=FLUSH_MS).start()
        running.append(statsd)
        httpd_started = time.time()
        httpd = interop_httpd(work / "httpd", statsd.port, PREFIX).start()
        running.append(httpd)
        print(f"pipeline up: httpd 127.0.0.1:{httpd.port} -> statsd "
              f"udp {statsd.port} -> carbon {carbon.line_port}; "
              f"{seconds:.0f} s of traffic")
        start, end, reload_at, state = drive(httpd, seconds)
        print(f"{state['n']} requests, graceful restart at "
              f"+{reload_at - start:.1f} s, {state['bad_status']} with an "
              f"unexpected status")
        # every line has reached statsd (batches flush within 1 s); wait for
        # two statsd flushes and carbon's writes
        c = f"stats.counters.{PREFIX}"
        t = f"stats.timers.{PREFIX}.responses.time"
        total = (lambda m: sum(v for _, v in carbon.fetch(m, int(start) - 5)))
        wait_for(lambda: total(f"{t}.count") >= state["n"],
                 15, step=0.5)
        time.sleep(FLUSH_MS / 1000 * 2 + 1)
        since = int(start) - 30
        series = {
            "good": carbon.fetch(f"{c}.responses.good.count", since),
            "bad": carbon.fetch(f"{c}.responses.bad.count", since),
            "upper_95": carbon.fetch(f"{t}.upper_95", since),
            "upper_99": carbon.fetch(f"{t}.upper_99", since),
            "reloads": carbon.fetch(f"{c}.httpd.reloads.count", since),
        }
        print(f"whisper: good {total(f'{c}.responses.good.count'):.0f}, "
              f"bad {total(f'{c}.responses.bad.count'):.0f}, timer count "
              f"{total(f'{t}.count'):.0f}")
        # Reload lines come from the metric (the module's marker, sent by
        # the parent at start and at every graceful restart); only when the
        # metric is empty, from the time the graceful restart was issued.
        reloads = [ts for ts, v in series["reloads"] if v > 0]
        source = "metric"
        if not reloads:
            reloads, source = [reload_at], "script"
        print(f"reload lines from the {source}: "
              f"{[round(r - start, 1) for r in reloads]} s after start")
        build = REPO / "build" / "dashboard"
        build.mkdir(parents=True, exist_ok=True)
        (build / "series.json").write_text(json.dumps(
            {"start": start, "end": end, "graceful_issued": reload_at,
             "reload_source": source, "reloads": reloads,
             "requests": state["n"], **series}, indent=1))
        render(args.out, series, reloads, source, start, end,
               httpd_started, reload_at)
        print(f"wrote {args.out} (series in {build / 'series.json'})")
    finally:
        for thing in reversed(running):
            try:
                thing.stop()
            except Exception as e:
                print(f"stopping {thing}: {e}")
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
