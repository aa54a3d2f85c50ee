"""StatsdSampleRate: a good request's lines are sent with probability r,
each marked |@r; a bad request's lines always, at rate 1; responses.time
draws on its own over all requests. Checked on the wire and through the
real statsd 0.9 (its flushed totals, read by the capture backend), with
the sampling seed fixed (STATSD_SAMPLE_SEED) and one prefork child, so
every run draws the same stream.

Bounds: a count of kept requests out of n at rate r is binomial, mean n r,
standard deviation sqrt(n r (1 - r)); the tests accept 5 standard
deviations either side (a fixed seed makes the outcome the same each run;
the bound is what any seed should meet)."""

import math
import re
import time

import pytest

from statsdtest.httpd import Httpd
from statsdtest.lines import statsd_conf
from statsdtest.proc import wait_for
from statsdtest.servers import start_and_drain, stop_and_check
from statsdtest.statsd import Statsd

SEED = "20261129"
ONE_PREFORK_CHILD = """
<IfModule mpm_prefork_module>
    StartServers 1
    MinSpareServers 1
    MaxSpareServers 1
    ServerLimit 1
    MaxRequestWorkers 1
</IfModule>
"""
WIRE = re.compile(r"^[A-Za-z0-9_.-]+:\d+(\.\d+)?\|(ms|c)(\|@0\.25)?$")


def within(kept, n, r, sds=5):
    sd = math.sqrt(n * r * (1 - r))
    return abs(kept - n * r) <= sds * sd


@pytest.fixture
def seeded(monkeypatch):
    monkeypatch.setenv("STATSD_SAMPLE_SEED", SEED)


def drive(h, n_good, n_bad):
    for _ in range(n_good):
        assert h.get("/static.txt").status == 200
    for _ in range(n_bad):
        assert h.get("/missing").status == 404


def test_wire_rates_and_exact_bad_lines(seeded, httpd_factory, udp_listener):
    # no batching: each request's kept lines as one datagram
    conf = statsd_conf(udp_listener.port, flush=0,
                       extra=ONE_PREFORK_CHILD + "StatsdSampleRate 0.25\n")
    h = start_and_drain(httpd_factory("sample", conf=conf, mpm="prefork"),
                        udp_listener)
    n_good, n_bad = 400, 100
    drive(h, n_good, n_bad)
    stop_and_check(h)
    udp_listener.quiesce(0.3)
    lines = [l for l in udp_listener.lines() if "reloads" not in l]
    assert all(WIRE.match(l) for l in lines), [l for l in lines if not WIRE.match(l)][:5]
    # bad: every line, at rate 1
    for key in ("test.missing.GET.404:1|c", "test.responses.bad:1|c",
                "test.responses.4xx:1|c"):
        assert lines.count(key) == n_bad, key
    assert sum(1 for l in lines if l.startswith("test.missing.GET.404:")
               and l.endswith("|ms")) == n_bad
    # good: all four lines of a kept request, none of a dropped one
    good = lines.count("test.responses.good:1|c|@0.25")
    assert lines.count("test.static_txt.GET.200:1|c|@0.25") == good
    assert sum(1 for l in lines if l.startswith("test.static_txt.GET.200:")
               and l.endswith("|ms|@0.25")) == good
    assert "test.responses.good:1|c" not in lines
    assert within(good, n_good, 0.25), good
    # responses.time: its own draw over all 500 requests
    times = [l for l in lines if l.startswith("test.responses.time:")]
    assert all(l.endswith("|ms|@0.25") for l in times)
    assert within(len(times), n_good + n_bad, 0.25), len(times)


def test_summed_sampled_counters_keep_the_rate(seeded, httpd_factory, udp_listener):
    conf = statsd_conf(udp_listener.port, flush=60000,
                       extra=ONE_PREFORK_CHILD + "StatsdSampleRate 0.25\n"
                       + "StatsdSumCounters On\n")
    h = start_and_drain(httpd_factory("samplesum", conf=conf, mpm="prefork"),
                        udp_listener)
    drive(h, 200, 20)
    h.graceful_stop()
    udp_listener.quiesce(0.5, timeout=8)
    lines = udp_listener.lines()
    assert "test.responses.bad:20|c" in lines and "test.responses.4xx:20|c" in lines
    good = [l for l in lines if l.startswith("test.responses.good:")]
    assert len(good) == 1 and re.match(r"^test\.responses\.good:\d+\|c\|@0\.25$", good[0]), good
    kept = int(good[0].split(":")[1].split("|")[0])
    assert within(kept, 200, 0.25), kept


def test_real_statsd_scales_by_the_rate(seeded, statsd_node, workdir):
    sd = Statsd.capturing(workdir, {"flushInterval": 1000, "deleteIdleStats": False},
                          node=statsd_node).start(timeout=15)
    n_good, n_bad = 400, 100
    # batching with summed counters
    h = Httpd("samplestatsd", mpm="prefork",
              conf=statsd_conf(sd.port, flush=None,
                               extra=ONE_PREFORK_CHILD + "StatsdSampleRate 0.25\n"
                               + "StatsdSumCounters On\n"))
    try:
        h.start()
        drive(h, n_good, n_bad)
        def done():
            cap = sd.captured()
            return cap if cap and cap["counters"].get("test.responses.bad") == n_bad \
                and cap["timer_counts"].get("test.missing.GET.404") == n_bad else None

        wait_for(done, 10, step=0.2)
        time.sleep(1.5)                 # one more flush: nothing else pending
        cap = sd.captured()
        assert cap, sd.log_text()
        c, tc = cap["counters"], cap["timer_counts"]
        # bad: exact
        assert c["test.responses.bad"] == n_bad
        assert c["test.responses.4xx"] == n_bad
        assert c["test.missing.GET.404"] == n_bad
        assert tc["test.missing.GET.404"] == n_bad
        # good: statsd scales each kept request by 1/0.25
        kept = tc["test.static_txt.GET.200"]
        assert within(kept, n_good, 0.25), kept
        assert c["test.responses.good"] == 4 * kept
        assert c["test.static_txt.GET.200"] == 4 * kept
        # statsd's timer count is scaled too: samples / rate
        counts = sum(d["count"] for d in cap["timer_data"]["test.static_txt.GET.200"])
        assert counts == 4 * kept
        rt = tc["test.responses.time"]
        assert within(rt, n_good + n_bad, 0.25), rt
        assert sum(d["count"] for d in cap["timer_data"]["test.responses.time"]) == 4 * rt
        assert c["statsd.bad_lines_seen"] == 0
    finally:
        stop_and_check(h)
        sd.stop()


@pytest.mark.parametrize("value", ["0", "1.5", "-0.1", "abc", "nan", "1e-1", "0.0000001"])
def test_configtest_rejects_bad_sample_rate(httpd_factory, value):
    h = httpd_factory("badrate", conf=statsd_conf(8125) + f"StatsdSampleRate {value}\n")
    rc, out = h.configtest()
    assert rc != 0 and "StatsdSampleRate" in out and value in out, out


def test_sample_rate_in_sections(httpd_factory):
    h = httpd_factory("rates", conf=statsd_conf(8125) + """
StatsdSampleRate 0.5
<VirtualHost 127.0.0.1:9>
    StatsdSampleRate 1
</VirtualHost>
<Location /x>
    StatsdSampleRate 0.01
</Location>
""")
    rc, out = h.configtest()
    assert rc == 0, out
