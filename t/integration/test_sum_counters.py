"""Counters summed per flush interval (StatsdSumCounters, On by default,
with batching): within one child and one interval, the counter lines of
every request with the same key become one line K:n|c; timers are sent
one per request; totals are exact. With Off, each counter line is kept;
the directive belongs to the main server only."""

import pytest

from statsdtest.lines import ONE_CHILD, assert_lines, statsd_conf, std_lines
from statsdtest.servers import configtest_in_section, start_measured

SUM = "StatsdSumCounters On\n"


def serve_mix(h, n_good=10, n_bad=5):
    for _ in range(n_good):
        assert h.get("/static.txt").status == 200
    for _ in range(n_bad):
        assert h.get("/missing").status == 404


@pytest.mark.parametrize("directive", ["", SUM], ids=["default", "on"])
def test_one_line_per_counter_key_per_interval(httpd_factory, udp_listener,
                                               directive):
    # a 60 s interval: the first flush comes after 30 s at the earliest,
    # so everything below is flushed together at the graceful stop
    h = start_measured(httpd_factory, "sum", udp_listener, flush=60000,
                       extra=ONE_CHILD + directive)
    serve_mix(h)
    assert udp_listener.lines() == [], "sent before the interval ended"
    h.graceful_stop()
    timers = ([l for l in std_lines("static_txt", "GET", 200) if "|ms" in l] * 10
              + [l for l in std_lines("missing", "GET", 404) if "|ms" in l] * 5)
    assert_lines(udp_listener, timers + [
        "test.static_txt.GET.200:10|c", "test.responses.good:10|c",
        "test.missing.GET.404:5|c", "test.responses.bad:5|c",
        "test.responses.4xx:5|c"], datagrams=None, same_duration=False,
        timeout=8, grace=0.3)
    # the counters come last, in one datagram, in the order first seen
    assert udp_listener.datagrams()[-1] == (
        "test.static_txt.GET.200:10|c\ntest.responses.good:10|c\n"
        "test.missing.GET.404:5|c\ntest.responses.bad:5|c\ntest.responses.4xx:5|c")


def test_sum_counters_off_keeps_each_line(httpd_factory, udp_listener):
    h = start_measured(httpd_factory, "nosum", udp_listener, flush=60000,
                       extra=ONE_CHILD + "StatsdSumCounters Off\n")
    serve_mix(h)
    h.graceful_stop()
    assert_lines(udp_listener, std_lines("static_txt", "GET", 200) * 10
                 + std_lines("missing", "GET", 404) * 5, datagrams=None,
                 same_duration=False, timeout=8, grace=0.3)


def test_flush_interval_0_sends_each_request_unsummed(httpd_factory, udp_listener):
    h = start_measured(httpd_factory, "flush0", udp_listener, flush=0, extra=ONE_CHILD + SUM)
    serve_mix(h, 3, 2)
    assert_lines(udp_listener, std_lines("static_txt", "GET", 200) * 3
                 + std_lines("missing", "GET", 404) * 2, datagrams=5,
                 same_duration=False)


@pytest.mark.parametrize("where", ["vhost", "location"])
def test_sum_counters_is_main_server_only(httpd_factory, where):
    rc, out, why = configtest_in_section(httpd_factory, "sumctx", where, "StatsdSumCounters Off")
    assert rc != 0 and "StatsdSumCounters" in out and why in out, out


def test_sum_counters_takes_on_or_off(httpd_factory):
    h = httpd_factory("sumbad", conf=statsd_conf(8125) + "StatsdSumCounters maybe\n")
    rc, out = h.configtest()
    assert rc != 0 and "StatsdSumCounters" in out, out
