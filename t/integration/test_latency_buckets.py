"""StatsdLatencyBuckets: cumulative counters P.responses.latency.le_<ms>ms,
one line per bound at or above a request's duration; summed per flush
interval with StatsdSumCounters On; in tag mode one name with an `le`
tag. The bounds a request gets are computed from the duration its own
timer line carries, so the assertions are exact whatever the machine's
speed."""

import pytest

from statsdtest.lines import ONE_CHILD, normalise, statsd_conf, std_lines
from statsdtest.servers import get_one, get_then_stop, start_measured

BOUNDS = [50, 100, 250, 500, 1000]
BUCKETS = "StatsdLatencyBuckets " + " ".join(map(str, BOUNDS)) + "\n"


def bucket_lines(ms, prefix="test"):
    return [f"{prefix}.responses.latency.le_{b}ms:1|c" for b in BOUNDS if ms <= b]


def durations(lines, key):
    return [float(l.split(":")[1].split("|")[0]) for l in lines
            if l.startswith(key + ":") and "|ms" in l]


def test_bucket_lines_per_request(httpd_factory, udp_listener):
    h = start_measured(httpd_factory, "buckets", udp_listener, flush=0, extra=BUCKETS)
    for path, status in (("/static.txt", 200), ("/missing", 404)):
        udp_listener.clear()
        get_one(h, udp_listener, path, status)
        [dgram] = udp_listener.datagrams()
        lines = dgram.split("\n")
        name = "static_txt" if status == 200 else "missing"
        [ms] = durations(lines, f"test.{name}.GET.{status}")
        # the request's own lines, then its buckets, in one datagram
        norm, _ = normalise(lines)
        assert norm == std_lines(name, "GET", status) + bucket_lines(ms), lines


def test_buckets_summed_per_interval(httpd_factory, udp_listener):
    h = start_measured(httpd_factory, "bucketsum", udp_listener, flush=60000,
                       extra=ONE_CHILD + BUCKETS + "StatsdSumCounters On\n")
    n = 30
    lines = get_then_stop(h, udp_listener, n)
    ms = durations(lines, "test.static_txt.GET.200")
    assert len(ms) == n
    got = sorted(l for l in lines if ".latency." in l)
    want = sorted(f"test.responses.latency.le_{b}ms:{sum(1 for d in ms if d <= b)}|c"
                  for b in BOUNDS if any(d <= b for d in ms))
    assert got == want, (got, want)


def test_tag_mode_uses_an_le_tag(httpd_factory, udp_listener):
    h = start_measured(httpd_factory, "buckettags", udp_listener, flush=0, extra=BUCKETS
                       + "StatsdTagFormat dogstatsd\nStatsdTagMode On\nStatsdTag env t\n")
    get_one(h, udp_listener)
    lines = udp_listener.lines()
    [ms] = durations(lines, "test.request.time")
    got = [l for l in lines if "latency" in l]
    assert got == [f"test.responses.latency:1|c|#env:t,le:{b}ms" for b in BOUNDS if ms <= b]


@pytest.mark.parametrize("value", ["0", "1.5", "abc", "100 50", "50 50", "3600001"])
def test_configtest_rejects_bad_buckets(httpd_factory, value):
    h = httpd_factory("badbuckets", conf=statsd_conf(8125) + f"StatsdLatencyBuckets {value}\n")
    rc, out = h.configtest()
    assert rc != 0 and "StatsdLatencyBuckets" in out, out


def test_none_clears_inherited_buckets(httpd_factory, udp_listener):
    h = start_measured(httpd_factory, "bucketsnone", udp_listener, flush=0, extra=BUCKETS
                       + "<Location /static.txt>\n    StatsdLatencyBuckets none\n</Location>\n")
    get_one(h, udp_listener)
    assert not [l for l in udp_listener.lines() if "latency" in l]
