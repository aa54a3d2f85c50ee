"""make dashboard: one minute of a real pipeline, drawn by graphite-web
(dashboard/dashboard.png).

httpd + mod_statsd (StatsdPrefix shop) -> statsd 0.9.0 (flushInterval 2 s,
percentThreshold [95, 99], graphite backend) -> carbon-cache -> whisper
<- graphite-web (gunicorn), all throwaway processes on 127.0.0.1
(t/lib/statsdtest: interop, statsd, graphite_web). About 60 s of synthetic
traffic from two clients: mostly fast static files, some CGI requests of
5-50 ms, a few slow ones (120-400 ms, more of them after the reload, so the
percentiles move there), 404s (a burst of them around 15 s, like a scanner)
and a few 5xx; one graceful restart (`apache2 -k graceful`) half way.
The module is asked for its worker gauges every flush interval (a
module without them ignores that).

Then every target of dashboard/TARGETS.md and the README is rendered by
graphite-web as json (each must answer, and have data unless it needs the
workers.max gauge), and the five panels of dashboard/panels.py are rendered
by graphite-web's /render as PNGs and put into one picture (draw.py): 2x2
good vs bad, p95/p99, safe QPS against QPS served, and the capacity inputs,
and one wide panel below of the backend's time against the proxied
requests' whole time (p95), each with the reload markers. Without a workers.max gauge in the run the two
capacity panels are left out and the picture says so. The panels, their
/render URLs and the json numbers are kept in build/dashboard/.

Usage: python3 dashboard/dashboard.py [--seconds 60] [--out dashboard/dashboard.png]
"""

import argparse
import random
import sys
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "t" / "lib"))   # the test harness

import draw  # noqa: E402
from statsdtest import graphite_web  # noqa: E402
from statsdtest.httpclient import HttpClient  # noqa: E402
from statsdtest.httpd import module_missing  # noqa: E402
from statsdtest.interop import (interop_httpd, remove_work,  # noqa: E402
                                start_graphite_chain, stop_all, work_dir,
                                worker_gauges)
from statsdtest.paths import REPO  # noqa: E402
from statsdtest.servers import HttpBackend, QuietHandler  # noqa: E402

PREFIX = "shop"
FLUSH_MS = 2000
PROXY_MODULES = ("proxy", "proxy_http")
# the buckets the README's SLO target (share within 250 ms) reads
LATENCY_BUCKETS = "StatsdLatencyBuckets 50 100 250 500 1000\n"


class Backend(QuietHandler):
    """The service's API behind mod_proxy: GET ...?ms=N sleeps N ms (at
    most 500) and answers 200 with a short json body."""

    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        try:
            ms = min(max(int(q.get("ms", ["0"])[0]), 0), 500)
        except ValueError:
            ms = 0
        time.sleep(ms / 1000)
        body = b'{"ok": true}\n'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def proxy_conf(port):
    """/api/ proxied to the backend, timed and named `api`; StatsdStat
    api gives the proxied requests their own timer (shop.api.GET.200),
    the whole time the backend's time is compared with."""
    url = f"http://127.0.0.1:{port}/"
    return (f"StatsdBackendTimings On\n"
            f"ProxyPass /api/ {url}\n"
            f"<Proxy {url}>\n    StatsdBackendName api\n</Proxy>\n"
            f"<Location /api/>\n    StatsdStat api\n</Location>\n")


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
    if x < 0.45:                                         # the API
        ms = (rnd.randrange(60, 150) if rnd.random() < 0.06
              else rnd.randrange(3, 30))
        return f"/api/items?ms={ms}", 200
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--out", type=Path, default=HERE / "dashboard.png")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory")
    args = ap.parse_args()
    if module_missing():
        sys.exit(module_missing())
    missing = graphite_web.available()
    if missing:
        sys.exit(f"graphite-web cannot run: install {missing} "
                 f"(make dashboard installs it)")
    seconds = max(10.0, min(args.seconds, 300.0))

    work = work_dir("mod_statsd-dashboard-")
    running = []
    try:
        carbon, statsd, gw = start_graphite_chain(work, FLUSH_MS, running)
        backend = HttpBackend(Backend)
        running.append(backend)
        httpd_started = time.time()
        httpd = interop_httpd(work / "httpd", statsd.port, PREFIX,
                              extra=worker_gauges(FLUSH_MS // 1000)
                              + LATENCY_BUCKETS + proxy_conf(backend.port),
                              modules=PROXY_MODULES).start()
        running.append(httpd)
        print(f"pipeline up: httpd 127.0.0.1:{httpd.port} -> statsd "
              f"udp {statsd.port} -> carbon {carbon.line_port} -> whisper "
              f"<- graphite-web {gw.url}; /api/ -> backend 127.0.0.1:"
              f"{backend.port}; {seconds:.0f} s of traffic")
        start, end, reload_at, state = drive(httpd, seconds)
        print(f"{state['n']} requests, graceful restart at "
              f"+{reload_at - start:.1f} s, {state['bad_status']} with an "
              f"unexpected status")
        window = {"from_": int(httpd_started) - 10,
                  "until": int(end) + 3 * FLUSH_MS // 1000 + 5}
        problems = draw.draw(gw, window, PREFIX, FLUSH_MS,
                             state["n"] - state["bad_status"], args.out,
                             REPO / "build" / "dashboard",
                             {"requests": state["n"]})
    finally:
        stop_all(running)
        remove_work(work, args.keep)
    for p in problems:
        print(f"PROBLEM: {p}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
