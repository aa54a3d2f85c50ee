"""The work one request makes StatsdExclude do is bounded: a regex that
backtracks badly (`^(a+)+$`) meets a request of hundreds of segments built
to trip it, and the request is still answered at once, a normal request
beside a crowd of them does not wait, and the regex that gave up is
reported in the error log once (STATSD00020), its segment kept.

Also: with StatsdExclude, the patterns test at most 64 segments of a path
and none once the name is full (the rest of the path is not part of the
name), and an ordinary exclusion still works behind the match limit the
module adds to every pattern.
"""

import re
import socket
import threading
import time

import pytest

from statsdtest.errorlog import EXCLUDE_GAVE_UP, lines_with
from statsdtest.httpclient import build_request
from statsdtest.httpd import Httpd
from statsdtest.lines import assert_lines, statsd_conf, std_lines
from statsdtest.listeners import UdpListener
from statsdtest.servers import serve_env

# 290 segments of 27 bytes: one request line just under httpd's 8190-byte
# limit, each segment a worst case for ^(a+)+$
SEG = "a" * 26 + "b"
HOSTILE = "/" + "/".join([SEG] * 290)
# test.NAME.GET.404 in 250 bytes: NAME gets 237, i.e. 8 whole segments
HOSTILE_NAME = ".".join([SEG] * 8)


@pytest.fixture(scope="module")
def bx():
    lst = UdpListener()
    h = Httpd("excludebounds")
    h.conf_extra = statsd_conf(lst.port) + r"""
StatsdExclude "^(a+)+$"
# answered before the path is mapped to a file (it is longer than PATH_MAX)
RedirectMatch 404 ^/a+b/
<Location /n>
    StatsdExclude ^[0-9]+$
</Location>
"""
    yield from serve_env(h, lst, expected=(EXCLUDE_GAVE_UP,))


@pytest.fixture
def be(bx):
    return bx.fresh()


def timed_get(port, target, timeout):
    """(response status or None, seconds until the server closed)."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(build_request("GET", target))
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionResetError):
            return None, time.monotonic() - t0
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
    return (int(m.group(1)) if m else None), time.monotonic() - t0


def limit_reports(h):
    """pid of each line of the error log that reports a pattern giving up."""
    return [re.search(r"\[pid (\d+)", line).group(1)
            for line in lines_with(h.error_log_text(), EXCLUDE_GAVE_UP)]


@pytest.mark.error_log_expect(EXCLUDE_GAVE_UP)
def test_hostile_request_is_answered_at_once(be):
    # with Connection: close the server closes after the log phase, so
    # this is the time the name took too
    status, took = timed_get(be.httpd.port, HOSTILE, timeout=10)
    assert status == 404, took
    assert took < 1.0, f"hostile request took {took:.1f} s"
    # the regex gave up on each segment it saw: kept, not excluded
    assert_lines(be.listener, std_lines(HOSTILE_NAME, "GET", 404))
    pids = limit_reports(be.httpd)
    assert pids and len(pids) == len(set(pids)), pids


@pytest.mark.error_log_expect(EXCLUDE_GAVE_UP)
def test_normal_request_beside_hostile_ones_does_not_wait(be):
    # more hostile requests at once than the server has threads (16)
    n = 24
    results = []

    def hostile():
        results.append(timed_get(be.httpd.port, HOSTILE, timeout=20))

    threads = [threading.Thread(target=hostile) for _ in range(n)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    status, took = timed_get(be.httpd.port, "/normal", timeout=10)
    for t in threads:
        t.join(30)
    assert status == 404 and took < 1.0, (status, took)
    assert sorted(s for s, _ in results) == [404] * n, results
    assert max(t for _, t in results) < 5.0, results
    expected = std_lines("normal", "GET", 404)
    for _ in range(n):
        expected += std_lines(HOSTILE_NAME, "GET", 404)
    assert_lines(be.listener, expected, datagrams=n + 1, same_duration=False)
    # once a minute at most: one report per child process
    pids = limit_reports(be.httpd)
    assert pids and len(pids) == len(set(pids)), pids


def test_ordinary_exclusion_still_matches(be):
    assert be.httpd.get("/n/12345/x").status == 404
    assert_lines(be.listener, std_lines("n.x", "GET", 404))


def test_patterns_test_64_segments_at_most(be):
    assert be.httpd.get("/x" * 100).status == 404
    assert_lines(be.listener, std_lines(".".join(["x"] * 64), "GET", 404))


def test_scan_ends_at_the_65th_segment_to_test(be):
    # "y" would be the 65th segment the pattern tests: the scan ends
    # there, so the ".." after it (which would remove "y" and the 64th
    # "x") are not seen either
    assert be.httpd.get("/x" * 64 + "/y/../..").status == 404
    assert_lines(be.listener, std_lines(".".join(["x"] * 64), "GET", 404))
