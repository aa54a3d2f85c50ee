"""StatsdPacking etsy|dogstatsd: with counters summed (StatsdSumCounters
On), each flush packs the timer values of a key into one line (never
longer than the packet size); Etsy statsd 0.9 splits such a line on ':'
and counts every value."""

import re

import pytest

from statsdtest.httpd import Httpd
from statsdtest.lines import ONE_CHILD, statsd_conf
from statsdtest.proc import wait_for
from statsdtest.servers import get_then_stop, start_measured, stop_and_check
from statsdtest.statsd import Statsd

DUR = r"\d+(\.\d+)?"
SUM = "StatsdSumCounters On\n"


@pytest.mark.parametrize("style", ["etsy", "dogstatsd"])
def test_timer_values_packed_per_key(httpd_factory, udp_listener, style):
    h = start_measured(httpd_factory, f"pack-{style}", udp_listener, flush=60000,
                       extra=ONE_CHILD + SUM + f"StatsdPacking {style}\n")
    n = 10
    lines = get_then_stop(h, udp_listener, n)
    one = (rf"(:{DUR}\|ms){{{n}}}" if style == "etsy"
           else rf"(:{DUR}){{{n}}}\|ms")
    timers = [l for l in lines if "|ms" in l]
    assert len(timers) == 2, lines
    assert re.fullmatch(r"test\.static_txt\.GET\.200" + one, timers[0]), timers
    assert re.fullmatch(r"test\.responses\.time" + one, timers[1]), timers
    # the same durations under both names, in the same order
    assert timers[0].split(":", 1)[1] == timers[1].split(":", 1)[1]
    assert sorted(l for l in lines if "|c" in l) == [
        "test.responses.good:10|c", "test.static_txt.GET.200:10|c"]


def test_packed_line_stays_within_the_packet(httpd_factory, udp_listener):
    h = start_measured(httpd_factory, "packsmall", udp_listener, flush=60000,
                       extra=ONE_CHILD + SUM + "StatsdPacking etsy\nStatsdMaxPacketSize 512\n")
    n = 120
    lines = get_then_stop(h, udp_listener, n)
    assert all(len(d) <= 512 for d in udp_listener.raw_datagrams())
    key = [l for l in lines if l.startswith("test.static_txt.GET.200:") and "|ms" in l]
    assert len(key) > 1
    assert sum(l.count("|ms") for l in key) == n


def test_real_statsd_counts_every_packed_value(statsd_node, workdir):
    sd = Statsd.capturing(workdir, {"flushInterval": 1000, "deleteIdleStats": False},
                          node=statsd_node).start(timeout=15)
    n_good, n_bad = 60, 15
    h = Httpd("packstatsd", conf=statsd_conf(sd.port, flush=None,
                                             extra=SUM + "StatsdPacking etsy\n"))
    try:
        h.start()
        for _ in range(n_good):
            assert h.get("/static.txt").status == 200
        for _ in range(n_bad):
            assert h.get("/missing").status == 404
        wait_for(lambda: (cap := sd.captured())
                 and cap["timer_counts"].get("test.responses.time") == n_good + n_bad,
                 10, step=0.2)
        cap = sd.captured()
        assert cap, sd.log_text()
        tc, c = cap["timer_counts"], cap["counters"]
        assert tc["test.responses.time"] == n_good + n_bad
        assert tc["test.static_txt.GET.200"] == n_good
        assert tc["test.missing.GET.404"] == n_bad
        assert c["test.responses.good"] == n_good
        assert c["test.responses.bad"] == n_bad
        assert c["statsd.bad_lines_seen"] == 0
    finally:
        stop_and_check(h)
        sd.stop()


@pytest.mark.parametrize("conf,why", [
    ("StatsdPacking on\n", "on"),
    ("<VirtualHost 127.0.0.1:9>\n    StatsdPacking etsy\n</VirtualHost>\n",
     "cannot occur within <VirtualHost> section"),
], ids=["value", "vhost"])
def test_configtest_rejects_packing(httpd_factory, conf, why):
    h = httpd_factory("badpack", conf=statsd_conf(8125) + conf)
    rc, out = h.configtest()
    assert rc != 0 and "StatsdPacking" in out and why in out, out
