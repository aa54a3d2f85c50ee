"""Against the real Etsy statsd (npm `statsd@0.9.0`): every line the module
sends parses (`bad_lines_seen` 0) and the aggregates are right.

statsdtest.statsd installs the package once; no node or npm, or a failed
install, is a test failure (the statsd_node fixture), not a skip.

How counting is made reliable: statsd resets counters and timers at every
flush, and its management `counters`/`timers` commands only show the current
flush interval. So
  * test_mgmt_counts runs statsd with flushInterval 60000: no flush can
    happen during the few seconds of the test, and the management interface
    shows everything that arrived;
  * test_flushed_aggregates runs statsd with flushInterval 1000 and a tiny
    backend (statsd_capture_backend.js) that adds up every flush into a JSON
    file, so totals, counter rates and the percentile data (percentThreshold
    95, 99) are read from what statsd itself computed at its flushes.
`bad_lines_seen` comes from the management `stats` command, which counts
since start-up and is never reset. Every wait is bounded.
"""

import re
import time
from pathlib import Path


from statsdtest.httpd import Httpd
from statsdtest.statsd import CAPTURE_BACKEND, parse_js_literal, Statsd
from statsdtest.lines import statsd_conf
from statsdtest.servers import stop_and_check

N_GOOD = 30
N_BAD = 10


def start_statsd(node, workdir, flush_interval, backends=()):
    """statsd with the capture backend's file in workdir (used when the
    backend is given), percentiles 95 and 99."""
    return Statsd(workdir, {
        "flushInterval": flush_interval,
        "percentThreshold": [95, 99],
        "deleteIdleStats": False,
        "backends": list(backends),
        "capture": {"file": str(Path(workdir) / "capture.json")},
    }, node=node).start(timeout=15)


def test_parse_js_literal():
    text = ("{\n  'statsd.bad_lines_seen': 0,\n  plain: 3,\n  'a.b-c': 1.5,\n"
            "  'x': [ 1, 2.25,\n    3 ],\n  \"q\": 'it\\'s'\n}")
    assert parse_js_literal(text) == {"statsd.bad_lines_seen": 0, "plain": 3,
                                      "a.b-c": 1.5, "x": [1, 2.25, 3], "q": "it's"}
    assert parse_js_literal("{}") == {}
    assert parse_js_literal("[ 1, ... 3 more items ]") == [1, Ellipsis]


# ---- the tests --------------------------------------------------------------------------

def _drive(h):
    for i in range(N_GOOD):
        r = h.get("/static.txt")
        assert r.status == 200, r
    for i in range(N_BAD):
        r = h.get(f"/missing/{i}")
        assert r.status == 404, r


def _wait(pred, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    return pred()


def test_mgmt_counts(statsd_node, workdir):
    sd = start_statsd(statsd_node, workdir, flush_interval=60000)
    # StatsdFlushInterval 0: one datagram per request, counted below
    h = Httpd("realstatsd-mgmt", conf=statsd_conf(sd.port))
    try:
        h.start()
        _drive(h)
        want = {"test.responses.good": N_GOOD, "test.responses.bad": N_BAD,
                "test.responses.4xx": N_BAD,
                "test.static_txt.GET.200": N_GOOD}

        def done():
            c = sd.counters()
            return c if all(c.get(k) == v for k, v in want.items()) else None

        counters = _wait(done, 10)
        assert counters, f"counters never reached {want}: {sd.counters()}\n{sd.log.read_text()}"
        for k, v in want.items():
            assert counters[k] == v, (k, counters)
        assert "test.responses.5xx" not in counters
        assert sum(v for k, v in counters.items() if re.match(r"^test\.missing\.\d\.GET\.404$", k)) == N_BAD
        assert counters["statsd.bad_lines_seen"] == 0
        # one datagram per request; 4 lines per good, 5 per bad request
        # plus the one reload marker the parent sends at start-up
        assert counters.get("test.httpd.reloads") == 1, counters
        assert counters["statsd.packets_received"] == N_GOOD + N_BAD + 1
        assert counters["statsd.metrics_received"] == 4 * N_GOOD + 5 * N_BAD + 1

        timers = sd.timers()
        rt = timers["test.responses.time"]
        assert len(rt) == N_GOOD + N_BAD and Ellipsis not in rt
        assert all(isinstance(v, (int, float)) and v > 0 for v in rt), rt
        assert len(timers["test.static_txt.GET.200"]) == N_GOOD

        st = sd.stats()
        assert st.get("messages.bad_lines_seen") == "0", st
        assert "Bad line" not in sd.log.read_text()
    finally:
        stop_and_check(h)
        sd.stop()


def test_flushed_aggregates(statsd_node, workdir):
    sd = start_statsd(statsd_node, workdir, flush_interval=1000,
                      backends=[CAPTURE_BACKEND])
    # the module's default batching this time: many requests per datagram,
    # counters summed per flush interval
    h = Httpd("realstatsd-flush", conf=statsd_conf(sd.port, flush=None))
    try:
        h.start()
        _drive(h)
        want = {"test.responses.good": N_GOOD, "test.responses.bad": N_BAD,
                "test.responses.4xx": N_BAD}

        def done():
            cap = sd.captured()
            if cap and all(cap["counters"].get(k) == v for k, v in want.items()) \
                    and cap["timer_counts"].get("test.responses.time") == N_GOOD + N_BAD:
                return cap
            return None

        cap = _wait(done, 10, step=0.2)
        assert cap, f"flushed totals never reached {want}: {sd.captured()}\n{sd.log.read_text()}"
        c = cap["counters"]
        assert c.get("test.responses.5xx", 0) == 0
        assert c["test.static_txt.GET.200"] == N_GOOD
        assert c["statsd.bad_lines_seen"] == 0
        # plus the one reload marker the parent sends at start-up
        assert c.get("test.httpd.reloads") == 1, c
        # two timer lines a request, the marker, and the summed counters:
        # at least a line per key, fewer than the 2 or 3 a request unsummed
        keys = [k for k in c if k.startswith("test.") and k != "test.httpd.reloads"]
        counter_lines = c["statsd.metrics_received"] - 2 * (N_GOOD + N_BAD) - 1
        assert len(keys) <= counter_lines < 2 * N_GOOD + 3 * N_BAD, (counter_lines, c)
        assert 2 <= c["statsd.packets_received"] < N_GOOD + N_BAD   # batched
        # percentiles were computed by statsd for the service timer
        td = [d for d in cap["timer_data"]["test.responses.time"] if d and d.get("count")]
        assert sum(d["count"] for d in td) == N_GOOD + N_BAD
        for d in td:
            for key in ("upper_95", "upper_99", "mean_95", "count_95", "upper", "lower"):
                assert key in d, (key, d)
            assert 0 < d["lower"] <= d["upper_95"] <= d["upper_99"] <= d["upper"], d
        assert cap["timer_counts"]["test.static_txt.GET.200"] == N_GOOD
        assert sd.stats().get("messages.bad_lines_seen") == "0"
        assert "Bad line" not in sd.log.read_text()
    finally:
        stop_and_check(h)
        sd.stop()
