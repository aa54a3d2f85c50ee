"""mod_statsd -> collectd's statsd plugin (Debian collectd-core).

collectd runs in the foreground with the statsd plugin on a free 127.0.0.1
port (TimerPercentile 95 and 99, TimerCount/Sum/Lower/Upper, CounterSum)
and the csv writer; a throwaway apache2 with the module (default batching,
StatsdPrefix interop) sends it the lines of N good and M bad requests.

collectd aggregates per read interval (10 s here). The test waits for one
interval boundary (the row of a probe counter it sends itself), makes all
its requests inside the next interval, and compares that interval's row
with what the module's `statsd` note in the access log says (same key, same
duration text as the lines on the wire):

* counters (CounterSum `count-*`, and the cumulative `derive-*`): exact;
* timers: collectd truncates each value to whole milliseconds and ignores
  values below 1 ms, so count, sum, lower and upper are compared exactly
  with the notes' durations truncated the same way; its percentiles come
  from a histogram of 0.977 ms bins (2^20 units of 2^-30 s, while every
  value is below 976 ms), interpolated inside a bin: each must lie in the
  bin that holds the nearest-rank percentile of those values (tolerance:
  one bin, under 1 ms; 1 us more for the csv's 6 decimals).
"""

import math
import random
import socket
import time

import pytest

from statsdtest.httpclient import HttpClient
from statsdtest.interop import access_records, Collectd, interop_httpd, nearest_rank, require
from statsdtest.proc import wait_for

INTERVAL = 10          # collectd read interval, seconds
PREFIX = "interop"
N_STATIC_GOOD = 16
N_CGI_GOOD = 24
N_404 = 6
N_5XX = 6


CDTIME_PER_MS = 2 ** 30 / 1000     # collectd's time unit is 2^-30 s


def collectd_percentile_bounds(ms_values, pct):
    """The histogram bin (seconds) that holds the nearest-rank percentile of
    whole-millisecond timer values: collectd's percentile is interpolated
    inside it. Bins are 2^20 units of 2^-30 s (0.977 ms) while every value
    is below 1000 bins, else the next power of two that fits the maximum
    (collectd's utils_latency)."""
    biggest = int(max(ms_values) * CDTIME_PER_MS)
    width = 2 ** 20
    if biggest >= 1000 * width:
        width = 2 ** math.ceil(math.log2((biggest + 1) / 1000))
    v = int(nearest_rank(ms_values, pct) * CDTIME_PER_MS)
    lo = ((v - 1) // width) * width     # bins are (lo, lo + width]
    return lo / 2 ** 30, (lo + width) / 2 ** 30


def traffic_plan(seed=6):
    rnd = random.Random(seed)
    plan = []
    for i in range(N_STATIC_GOOD):
        plan.append(("/hello.txt" if i % 2 else "/", 200))
    for i in range(N_CGI_GOOD):
        ms = rnd.choice([2, 3, 5, 8, 12, 20, 30]) if i % 8 else \
            rnd.choice([80, 120])
        plan.append((f"/cgi-bin/work?ms={ms}", 200))
    for i in range(N_404):
        plan.append((f"/missing-{i}", 404))
    for i in range(N_5XX):
        status = 500 if i % 2 else 503
        plan.append((f"/cgi-bin/work?ms={rnd.choice([3, 6, 15])}"
                     f"&status={status}", status))
    rnd.shuffle(plan)
    return plan


def test_collectd_statsd_plugin(workdir, module_so, stopper):
    require("/usr/sbin/collectd", "collectd-core")
    require("/usr/lib/collectd/statsd.so", "collectd-core")
    cd = Collectd(workdir / "collectd", interval=INTERVAL)
    stopper(cd.start())
    httpd = interop_httpd(workdir / "httpd", cd.port, PREFIX)
    stopper(httpd.start())

    # find an interval boundary: the row of a probe counter sent now
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(f"{PREFIX}.probe:1|c".encode(), ("127.0.0.1", cd.port))
    rows = wait_for(lambda: cd.series("count", f"{PREFIX}.probe"),
                             INTERVAL * 2 + 5)
    assert rows, "collectd never reported the probe:\n" + cd.log_text()
    t0 = rows[0][0]
    deadline = t0 + INTERVAL - 2.0    # leave time for the module's 1 s flush
    assert time.time() < t0 + 2, "probe row seen too late"

    plan = traffic_plan()
    client = HttpClient(httpd.port)
    got = []
    for path, want in plan:
        if time.time() > deadline:
            break
        got.append((path, client.get(path), want))
    client.close()
    assert len(got) == len(plan), (
        f"only {len(got)} of {len(plan)} requests fit in one collectd "
        f"interval: the machine is too slow for this test")
    assert [g[1] for g in got] == [g[2] for g in got], got

    log = wait_for(lambda: len(access_records(httpd)) >= len(plan) and
                            access_records(httpd), 10)
    assert log and len(log) == len(plan)
    assert all("key" in r for r in log), log
    assert max(r["end"] for r in log) < deadline

    # the row of the interval that holds all the requests
    def row(type_, name):
        for t, v in cd.series(type_, name):
            if t > t0 + 1:
                return t, v
        return None

    r = wait_for(lambda: row("count", f"{PREFIX}.responses.good"),
                          INTERVAL * 2 + 5)
    assert r, "collectd did not report responses.good:\n" + cd.log_text()
    t1 = r[0]
    assert t0 + INTERVAL - 1 <= t1 <= t0 + INTERVAL + 1, (t0, t1)
    assert max(r["end"] for r in log) < t1 - 1.0

    def at_t1(type_, name):
        # collectd writes its files one after another: the row of another
        # metric for t1 may land a moment after responses.good's
        vals = wait_for(lambda: [v for t, v in cd.series(type_, name)
                                 if abs(t - t1) < 0.5], 5)
        assert vals, f"no {type_}-{name} row at {t1}"
        return vals[0]

    n_good = sum(1 for r in log if r["status"] < 400)
    n_bad = len(log) - n_good
    assert (n_good, n_bad) == (N_STATIC_GOOD + N_CGI_GOOD, N_404 + N_5XX)
    assert at_t1("count", f"{PREFIX}.responses.good") == n_good
    assert at_t1("count", f"{PREFIX}.responses.bad") == n_bad
    assert at_t1("count", f"{PREFIX}.responses.4xx") == N_404
    assert at_t1("count", f"{PREFIX}.responses.5xx") == N_5XX
    assert at_t1("derive", f"{PREFIX}.responses.good") == n_good
    assert at_t1("derive", f"{PREFIX}.responses.bad") == n_bad
    # per-request keys, from the notes
    keys = {}
    for r in log:
        keys[r["key"]] = keys.get(r["key"], 0) + 1
    assert f"{PREFIX}.hello_txt.GET.200" in keys
    assert f"{PREFIX}.cgi-bin.work.GET.200" in keys
    for key, n in keys.items():
        assert at_t1("count", key) == n, key
    # the reload marker of the start, exactly once so far
    marks = cd.series("count", f"{PREFIX}.httpd.reloads")
    assert sum(v for _, v in marks) == 1, marks

    # timers: P.responses.time against the notes' durations
    durs = [r["duration"] for r in log]
    trunc = [math.floor(d) for d in durs if math.floor(d) >= 1]
    assert len(trunc) >= N_CGI_GOOD, durs        # every CGI takes >= 1 ms
    name = f"{PREFIX}.responses.time"
    assert at_t1("gauge", f"{name}-count") == len(trunc)
    assert at_t1("latency", f"{name}-sum") == pytest.approx(
        sum(trunc) / 1000, abs=1e-6)
    assert at_t1("latency", f"{name}-lower") == pytest.approx(
        min(trunc) / 1000, abs=1e-6)
    assert at_t1("latency", f"{name}-upper") == pytest.approx(
        max(trunc) / 1000, abs=1e-6)
    assert at_t1("latency", f"{name}-average") == pytest.approx(
        sum(trunc) / len(trunc) / 1000, abs=1e-6)
    for pct in (95, 99):
        lo, hi = collectd_percentile_bounds(trunc, pct)
        got_p = at_t1("latency", f"{name}-percentile-{pct}")
        print(f"p{pct}: collectd {got_p * 1000:.3f} ms; nearest rank of the "
              f"truncated notes {nearest_rank(trunc, pct)} ms, "
              f"its bin [{lo * 1000:.3f}, {hi * 1000:.3f}] ms")
        assert lo - 1e-6 <= got_p <= hi + 1e-6, (pct, got_p, lo, hi)
    # the per-key timer of the slow CGI requests, the same way
    cgi = [math.floor(r["duration"]) for r in log
           if r["key"] == f"{PREFIX}.cgi-bin.work.GET.200"]
    cgi = [d for d in cgi if d >= 1]
    assert at_t1("gauge", f"{PREFIX}.cgi-bin.work.GET.200-count") == len(cgi)
    assert at_t1("latency", f"{PREFIX}.cgi-bin.work.GET.200-upper") == \
        pytest.approx(max(cgi) / 1000, abs=1e-6)
    assert not httpd.bad_error_lines(), httpd.error_log_text()
