"""The dashboard's targets, rendered by graphite-web, against the traffic.

One pipeline for the module: a throwaway apache2 with the module
(StatsdPrefix gweb) -> npm statsd 0.9.0 (flushInterval 2 s,
percentThreshold [95, 99], legacyNamespace false) -> carbon-cache (1 s
whisper slots) <- graphite-web (Debian's package under gunicorn), all on
127.0.0.1. A known list of requests with one graceful restart half way;
then the very targets of dashboard/panels.py (the ones TARGETS.md
documents) are rendered by graphite-web's /render as json and compared
with what was sent:
* good and bad: the rates summed over the run x the flush interval equal
  the numbers of good and bad requests, exactly; so do the 4xx/5xx split,
  the 10 s sums and the QPS served;
* p99: statsd's upper_99 of a flush of fewer than 50 values is its largest
  value, so the run's largest p99 is the slowest request's duration from the
  access log, exactly; p95 never above it;
* reload markers: the start and the graceful restart;
* the workers check (test_workers_max_gauge_and_capacity): the summed
  workers.max gauge equals MaxRequestWorkers, and the safe-QPS line is a
  finite positive number equal to workers x 700 / the mean time in ms of
  the requests of the 30 s before each point. It needs the module to send
  P.httpd.<host>.workers.max (asked for every second, inside
  <IfDirective>); a build that does not (no "workers.max" in the .so and no
  such gauge arrived) skips it and says so.
"""

import math
import os
import sys
import time

import pytest

from statsdtest import graphite_web
from statsdtest.httpclient import HttpClient
from statsdtest.httpd import module_missing
from statsdtest.interop import (access_records, interop_httpd, remove_work, require,
                                start_graphite_chain, stop_all, work_dir, worker_gauges)
from statsdtest.paths import MODULE_SO, REPO
from statsdtest.proc import wait_for

sys.path.insert(0, str(REPO / "dashboard"))     # the targets under test

import panels  # noqa: E402

PREFIX = "gweb"
FLUSH_MS = 2000
MAX_REQUEST_WORKERS = 16        # interop_httpd: MaxRequestWorkers 16


def traffic_plan():
    plan = []
    for i in range(30):
        plan.append(("/hello.txt", 200) if i % 3 else
                    (f"/cgi-bin/work?ms={5 + 5 * (i % 4)}", 200))
    plan += [(f"/cgi-bin/work?ms={ms}", 200) for ms in (160, 230)]
    plan += [(f"/no-such-{i}", 404) for i in range(6)]
    plan += [(f"/cgi-bin/work?ms=10&status={s}", s)
             for s in (500, 503, 500)]
    order = list(range(len(plan)))
    order = order[::2] + order[1::2]          # mixed, but reproducible
    return [plan[i] for i in order]


class Run:
    """The pipeline, the traffic, and a json render of one target."""

    def render(self, target):
        return self.gw.render_json([target], **self.window)

    def total(self, target):
        return graphite_web.total(self.render(target))


@pytest.fixture(scope="module")
def run():
    require("/usr/bin/carbon-cache", "graphite-carbon")
    require("node", "nodejs")
    missing = graphite_web.available()
    if missing:
        pytest.fail(f"graphite-web cannot run: install {missing} "
                    f"(make test-interop installs it)", pytrace=False)
    if module_missing():
        pytest.fail(module_missing(), pytrace=False)
    work = work_dir("mod_statsd-interop-gweb-")
    started = []
    r = Run()
    try:
        _, statsd, r.gw = start_graphite_chain(work, FLUSH_MS, started)
        begin = int(time.time()) - 5
        r.httpd = interop_httpd(work / "httpd", statsd.port, PREFIX,
                                flush_ms=0, extra=worker_gauges(1)).start()
        started.append(r.httpd)

        r.plan = traffic_plan()
        client = HttpClient(r.httpd.port)
        r.statuses = []
        for i, (path, _) in enumerate(r.plan):
            if i == len(r.plan) // 2:
                client.close()
                r.httpd.graceful()
                time.sleep(0.5)
            r.statuses.append(client.get(path))
            time.sleep(0.1)                   # spread over a few flushes
        client.close()
        r.log = wait_for(lambda: len(access_records(r.httpd)) >= len(r.plan)
                         and access_records(r.httpd), 10)

        # until the last flush that carries traffic is rendered, then two
        # more flushes (statsd sends the last gauge value every flush)
        r.window = {"from_": begin, "until": int(time.time()) + 60}
        count = f"stats.timers.{PREFIX}.responses.time.count"
        wait_for(lambda: r.total(count) >= len(r.plan), 30, step=0.5)
        if module_sends_workers_max():
            wait_for(lambda: r.render(panels.workers_max(PREFIX)) and
                     r.total(panels.workers_max(PREFIX)), 15, step=0.5)
        time.sleep(2 * FLUSH_MS / 1000 + 1)
        r.problems = r.httpd.bad_error_lines()
        yield r
    finally:
        stop_all(started)
        remove_work(work, os.environ.get("INTEROP_KEEP"))


def per_second(flush_ms=FLUSH_MS):
    return flush_ms / 1000


def test_traffic_went_as_planned(run):
    assert run.statuses == [want for _, want in run.plan]
    assert run.log and len(run.log) == len(run.plan)
    assert not run.problems, run.httpd.error_log_text()


def test_good_vs_bad_exact(run):
    good = sum(1 for s in run.statuses if s < 400)
    n4 = sum(1 for s in run.statuses if 400 <= s < 500)
    n5 = sum(1 for s in run.statuses if s >= 500)
    t_good, t_bad = panels.good_bad(PREFIX)
    assert run.total(t_good) * per_second() == good
    assert run.total(t_bad) * per_second() == n4 + n5
    assert run.total(panels.served(PREFIX)) * per_second() == len(run.plan)
    # the split and the 10 s sums TARGETS.md shows for prefix shop
    doc = {t.replace(".shop.", f".{PREFIX}."): t
           for t in panels.targets_in_doc()}
    assert panels.good_bad(PREFIX)[0] in doc
    split = [t for t in doc if ".responses.4xx." in t or
             ".responses.5xx." in t or "summarize(" in t]
    assert len(split) == 3, split
    for t in split:
        want = (n4 if ".4xx." in t else n5 if ".5xx." in t else n4 + n5)
        got = run.total(t)
        assert (got if "summarize(" in t else got * per_second()) == want, t


def test_percentiles_against_the_access_log(run):
    t95, t99 = panels.percentiles(PREFIX)
    p95 = [v for s in run.render(t95) for _, v in graphite_web.points(s)]
    p99 = [v for s in run.render(t99) for _, v in graphite_web.points(s)]
    assert p95 and p99
    assert all(math.isfinite(v) and v > 0 for v in p95 + p99)
    slowest = max(r["duration"] for r in run.log)
    assert max(p99) == slowest
    assert max(p95) <= slowest
    assert slowest >= 160          # the 160 ms and 230 ms CGI requests


def test_reload_markers(run):
    series = run.render(panels.reloads(PREFIX))
    marks = [v for s in series for _, v in graphite_web.points(s) if v]
    assert sum(marks) == 2         # start and the graceful restart
    assert len(marks) == 2         # in two flushes, so two lines


def module_sends_workers_max():
    return b"workers.max" in MODULE_SO.read_bytes()


def test_workers_max_gauge_and_capacity(run):
    """The workers check: needs the module's workers.max gauge."""
    summed = run.render(panels.workers_max(PREFIX))
    got = [v for s in summed for _, v in graphite_web.points(s)]
    if not module_sends_workers_max() and not got:
        pytest.skip("workers check not run: this module build sends no "
                    f"{PREFIX}.httpd.<host>.workers.max gauge")
    assert got, f"no {panels.workers_max(PREFIX)} in graphite-web"
    per_host = run.render(f"stats.gauges.{PREFIX}.httpd.*.workers.max")
    assert len(per_host) == 1, [s["target"] for s in per_host]  # one host
    assert set(got) == {MAX_REQUEST_WORKERS}

    cap = run.render(panels.capacity(PREFIX))
    assert len(cap) == 1
    t = f"stats.timers.{PREFIX}.responses.time"
    sums = graphite_web.points(run.render(f"{t}.sum")[0])
    counts = dict(graphite_web.points(run.render(f"{t}.count")[0]))
    window = int(panels.MEAN_WINDOW.rstrip("s"))
    points = graphite_web.points(cap[0])
    assert points
    for ts, v in points:
        assert math.isfinite(v) and v > 0, (ts, v)
        # movingSum: the points of the window before ts, 1 s slots
        inside = [(sm, counts[u]) for u, sm in sums if ts - window <= u < ts]
        mean_ms = sum(x for x, _ in inside) / sum(n for _, n in inside)
        assert v == pytest.approx(MAX_REQUEST_WORKERS / mean_ms * 1000
                                  * panels.MARGIN, rel=1e-9), (ts, inside)
