"""mod_statsd -> statsd (npm statsd 0.9.0) -> carbon-cache -> whisper.

The whole Graphite path the README's dashboard targets use: a throwaway
apache2 with the module (StatsdPrefix interop, StatsdFlushInterval 0)
sends to the real Etsy statsd (flushInterval 2 s, percentThreshold [95, 99],
graphite backend with legacyNamespace false), which writes to a private
carbon-cache (line receiver on a free 127.0.0.1 port, 1 s whisper archives).
Requests go one at a time on one keep-alive connection, so the module sends
them in access-log order; a graceful restart happens half way.

Then, from the whisper files alone:
* stats.counters.interop.responses.{good,bad,4xx,5xx}.count and the
  per-request keys sum to the numbers of requests made;
* stats.counters.interop.httpd.reloads.count sums to 2 (start + graceful);
* for every statsd flush, stats.timers.interop.responses.time.count says how
  many requests it held; cutting the access log's durations (the `statsd`
  note, the same text as on the wire) into those flushes in order, each
  flush's upper_95, upper_99, upper, lower and sum stored in whisper equal
  what statsd 0.9 computes from them (lib/process_metrics.js: sorted values,
  upper_P = values[round(P/100 * n) - 1]), exactly;
* statsd saw no bad line.
"""

import random
import time

import pytest

from statsdtest.httpclient import HttpClient
from statsdtest.interop import access_records, Carbon, interop_httpd, require, statsd_upper
from statsdtest.proc import wait_for
from statsdtest.statsd import Statsd

PREFIX = "interop"
FLUSH_MS = 2000


def traffic_plan(seed=9):
    rnd = random.Random(seed)
    plan = []
    for i in range(36):
        if i % 3:
            plan.append(("/hello.txt", 200))
        else:
            plan.append((f"/cgi-bin/work?ms={rnd.choice([5, 10, 20, 40])}",
                         200))
    plan += [(f"/cgi-bin/work?ms={ms}", 200) for ms in (150, 250)]
    plan += [(f"/nothing-here-{i}", 404) for i in range(7)]
    plan += [(f"/cgi-bin/work?ms={rnd.choice([5, 30])}&status={s}", s)
             for s in (500, 502, 503, 500, 500)]
    rnd.shuffle(plan)
    return plan


def test_statsd_carbon_whisper(workdir, module_so, stopper):
    require("/usr/bin/carbon-cache", "graphite-carbon")
    require("node", "nodejs")
    whisper = pytest.importorskip("whisper", reason="install python3-whisper")
    assert whisper

    carbon = Carbon(workdir / "carbon")
    stopper(carbon.start())
    statsd = Statsd.graphite(workdir / "statsd", carbon.line_port,
                             flush_ms=FLUSH_MS)
    stopper(statsd.start())
    httpd = interop_httpd(workdir / "httpd", statsd.port, PREFIX,
                           flush_ms=0)
    stopper(httpd.start())

    plan = traffic_plan()
    half = len(plan) // 2
    client = HttpClient(httpd.port)
    statuses = []
    for i, (path, want) in enumerate(plan):
        if i == half:
            client.close()
            httpd.graceful()
            time.sleep(0.5)
        statuses.append(client.get(path))
        time.sleep(0.1)            # spread over a few statsd flushes
    client.close()
    assert statuses == [w for _, w in plan]

    log = wait_for(lambda: len(access_records(httpd)) >= len(plan) and
                            access_records(httpd), 10)
    assert log and len(log) == len(plan) and all("key" in r for r in log)
    n_good = sum(1 for r in log if r["status"] < 400)
    n_4xx = sum(1 for r in log if 400 <= r["status"] < 500)
    n_5xx = sum(1 for r in log if r["status"] >= 500)

    def total(metric):
        return sum(v for _, v in carbon.fetch(metric))

    c = "stats.counters." + PREFIX
    t = "stats.timers." + PREFIX + ".responses.time"
    ok = wait_for(
        lambda: total(f"{c}.responses.good.count") == n_good and
        total(f"{c}.responses.bad.count") == n_4xx + n_5xx and
        total(f"{t}.count") == len(plan) and
        total(f"{c}.httpd.reloads.count") == 2, 30, step=0.5)
    print("statsd mgmt stats:\n" + statsd.mgmt("stats"))
    assert total(f"{c}.responses.good.count") == n_good
    assert total(f"{c}.responses.bad.count") == n_4xx + n_5xx
    assert total(f"{c}.responses.4xx.count") == n_4xx
    assert total(f"{c}.responses.5xx.count") == n_5xx
    assert total(f"{c}.httpd.reloads.count") == 2      # start + graceful
    assert total(f"{t}.count") == len(plan)
    assert ok
    keys = {}
    for r in log:
        keys[r["key"]] = keys.get(r["key"], 0) + 1
    assert f"{PREFIX}.hello_txt.GET.200" in keys
    for key, n in keys.items():
        assert total(f"stats.counters.{key}.count") == n, key
    assert total("stats.counters.statsd.bad_lines_seen.count") == 0
    assert "bad_lines_seen: 0" in statsd.mgmt("stats")

    # per flush: cut the durations (in send order) by the flush counts
    counts = [(ts, int(v)) for ts, v in carbon.fetch(f"{t}.count") if v]
    assert sum(n for _, n in counts) == len(log)
    assert len(counts) >= 2, counts          # the traffic spans flushes
    series = {name: dict(carbon.fetch(f"{t}.{name}"))
              for name in ("upper_95", "upper_99", "upper", "lower", "sum")}
    durs = [r["duration"] for r in log]
    i = 0
    for ts, n in counts:
        chunk, i = durs[i:i + n], i + n
        want = {"upper_95": statsd_upper(chunk, 95),
                "upper_99": statsd_upper(chunk, 99),
                "upper": max(chunk), "lower": min(chunk)}
        for name, value in want.items():
            assert series[name].get(ts) == value, (ts, name, chunk)
        assert series["sum"][ts] == pytest.approx(sum(sorted(chunk)),
                                                  rel=1e-12)
        print(f"flush {ts}: {n} requests, upper_95 {want['upper_95']}, "
              f"upper_99 {want['upper_99']} ms")
    assert not httpd.bad_error_lines(), httpd.error_log_text()
