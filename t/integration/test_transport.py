"""Destinations and delivery:
StatsdServer over IPv4, IPv6 and unix datagram sockets, `localhost`,
a receiver that is not there, the `statsd` note in the access log, one
datagram per request, and the MPMs."""

import os
import re
import shutil
import tempfile
import time

import pytest

from statsdtest import errorlog
from statsdtest.errorlog import DROPPED
from statsdtest.lines import (assert_lines, assert_summed, counter_totals, LINE_RE,
                              normalise, request_lines, server_conf, statsd_conf,
                              std_lines)
from statsdtest.listeners import UnixListener
from statsdtest.proc import free_udp_port, wait_for
from statsdtest.servers import start_and_drain


def drop_reports(h):
    return errorlog.lines_with(h.error_log_text(), DROPPED)


def test_statsd_server_udp4(httpd_factory, udp_listener):
    h = start_and_drain(httpd_factory("srv4", conf=server_conf(udp_listener.url)), udp_listener)
    assert h.get("/x").status == 404
    assert_lines(udp_listener, std_lines("x", "GET", 404))


def test_statsd_server_udp6(httpd_factory, udp6_listener):
    h = start_and_drain(httpd_factory("srv6", conf=server_conf(udp6_listener.url)), udp6_listener)
    assert h.get("/static.txt").status == 200
    assert_lines(udp6_listener, std_lines("static_txt", "GET", 200))


@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_statsd_host_port_ipv6_literal(httpd_factory, udp6_listener, host):
    conf = (f"Statsd On\nStatsdHost {host}\nStatsdPort {udp6_listener.port}\n"
            "StatsdPrefix test\nStatsdFlushInterval 0\n")
    h = start_and_drain(httpd_factory("host6", conf=conf), udp6_listener)
    assert h.get("/x").status == 404
    assert_lines(udp6_listener, std_lines("x", "GET", 404))


def test_statsd_server_unix(httpd_factory, unix_listener):
    h = start_and_drain(httpd_factory("srvunix", conf=server_conf(unix_listener.url)), unix_listener)
    assert h.get("/x").status == 404
    assert_lines(unix_listener, std_lines("x", "GET", 404))


def test_localhost_is_ipv4_first(httpd_factory, udp_listener):
    conf = statsd_conf(udp_listener.port, host="localhost")
    h = start_and_drain(httpd_factory("localhost", conf=conf), udp_listener)
    assert h.get("/x").status == 404
    assert_lines(udp_listener, std_lines("x", "GET", 404))


def test_statsd_port_alone_means_localhost(httpd_factory, udp_listener):
    conf = (f"Statsd On\nStatsdPort {udp_listener.port}\nStatsdPrefix test\n"
            "StatsdFlushInterval 0\n")
    h = start_and_drain(httpd_factory("portonly", conf=conf), udp_listener)
    assert h.get("/x").status == 404
    assert_lines(udp_listener, std_lines("x", "GET", 404))


@pytest.mark.error_log_expect(DROPPED)   # reported at most once a minute
def test_receiver_not_listening(httpd_factory):
    port = free_udp_port()          # nothing is bound to it
    h = httpd_factory("nolistener", conf=statsd_conf(port)).start()
    for i in range(20):
        t0 = time.monotonic()
        r = h.get("/static.txt", timeout=5)
        took = time.monotonic() - t0
        assert r.status == 200 and r.body == b"hello static\n"
        assert took < 1.0, f"request {i} took {took:.3f}s"
    # nothing at error level (checked after the test); drops are reported at
    # most once a minute per child, so 20 requests give <= 1 per child
    time.sleep(0.2)
    reports = drop_reports(h)
    pids = {re.search(r"\[pid (\d+)", l).group(1) for l in reports}
    assert len(reports) == len(pids), reports


@pytest.mark.error_log_expect(DROPPED)   # reported at most once a minute
def test_unix_socket_missing(httpd_factory):
    path = f"/tmp/mod_statsd-it-nosock-{int(time.time() * 1000)}.sock"
    h = httpd_factory("nosock", conf=server_conf(f"unix:{path}")).start()
    for i in range(5):
        t0 = time.monotonic()
        assert h.get("/static.txt").status == 200
        assert time.monotonic() - t0 < 1.0


@pytest.mark.error_log_expect(DROPPED)   # reported at most once a minute
def test_unix_socket_created_late(httpd_factory):
    # unconnected sockets: a receiver that appears after startup just works
    d = tempfile.mkdtemp(prefix="mod_statsd-it-late-", dir="/tmp")
    lst = None
    try:
        os.chmod(d, 0o777)
        path = os.path.join(d, "s.sock")
        h = httpd_factory("latesock", conf=server_conf(f"unix:{path}")).start()
        assert h.get("/static.txt").status == 200
        lst = UnixListener(d)
        lst.reset()
        assert h.get("/x").status == 404
        assert_lines(lst, std_lines("x", "GET", 404))
    finally:
        if lst:
            lst.close()
        shutil.rmtree(d, ignore_errors=True)


# ---- the statsd note in the access log -------------------------------------------

def test_statsd_note_in_access_log(httpd_factory, udp_listener):
    conf = statsd_conf(udp_listener.port) + """
LogFormat "%{statsd}n" statsdfmt
CustomLog logs/statsd.log statsdfmt
LogFormat "%U %{statsd.aggregate}n" aggfmt
CustomLog logs/agg.log aggfmt
<Location /agg>
    StatsdAggregateStat all
</Location>
<Location /nolegacy>
    StatsdLegacyMode Off
</Location>
"""
    h = start_and_drain(httpd_factory("note", conf=conf), udp_listener)
    assert h.get("/logged.html").status == 200
    got = assert_lines(udp_listener, std_lines("logged_html", "GET", 200))
    raw = udp_listener.raw_datagrams()
    assert len(raw) == 1
    dur = [l.split(":")[1][:-3] for l in got if l.endswith("|ms")][0]
    lines = h.wait_log_lines("statsd.log", 1)
    assert lines == [f"test.logged_html.GET.200 {dur} {len(raw[0])} 1"], (lines, raw)

    udp_listener.clear()
    assert h.get("/nolegacy/x").status == 404
    got = assert_lines(udp_listener, std_lines("nolegacy.x", "GET", 404, legacy=False))
    raw = udp_listener.raw_datagrams()
    dur = [l.split(":")[1][:-3] for l in got if l.endswith("|ms")][0]
    lines = h.wait_log_lines("statsd.log", 2)
    assert lines[1:] == [f"test.nolegacy.x.GET.404 {dur} {len(raw[0])} 0"], lines

    udp_listener.clear()
    assert h.get("/agg/x").status == 404
    assert_lines(udp_listener, request_lines("test.agg.x.GET.404", 404,
                                             aggregate="test.all.GET.404"))
    agg = h.wait_log_lines("agg.log", 3)
    assert agg == ["/logged.html -", "/nolegacy/x -", "/agg/x test.all.GET.404"], agg


@pytest.mark.error_log_expect(DROPPED)   # reported at most once a minute
def test_statsd_note_when_dropped(httpd_factory):
    # nothing listens on the unix path: sendto fails, the note says -1
    path = f"/tmp/mod_statsd-it-drop-{int(time.time() * 1000)}.sock"
    conf = server_conf(f"unix:{path}") + """
LogFormat "%{statsd}n" statsdfmt
CustomLog logs/statsd.log statsdfmt
"""
    h = httpd_factory("drop", conf=conf).start()
    assert h.get("/static.txt").status == 200
    lines = h.wait_log_lines("statsd.log", 1)
    assert len(lines) == 1 and re.match(r"^test\.static_txt\.GET\.200 \S+ -1 1$", lines[0]), lines


def test_statsd_note_off_is_not_logged(httpd_factory, udp_listener):
    # StatsdNote Off: a log format that names the notes logs "-"; the
    # lines go out as ever
    conf = statsd_conf(udp_listener.port) + """
StatsdNote Off
LogFormat "%{statsd}n %{statsd.aggregate}n" statsdfmt
CustomLog logs/statsd.log statsdfmt
StatsdAggregateStat all
"""
    h = start_and_drain(httpd_factory("noteoff", conf=conf), udp_listener)
    assert h.get("/logged.html").status == 200
    assert_lines(udp_listener, request_lines("test.logged_html.GET.200", 200,
                                             aggregate="test.all.GET.200"))
    assert h.wait_log_lines("statsd.log", 1) == ["- -"]


def test_statsd_note_named_any_way_is_made(httpd_factory, udp_listener):
    # StatsdNote Auto (the default) finds a note named in any case, with a
    # format modifier, in a directive inside a section
    conf = statsd_conf(udp_listener.port) + """
<IfModule log_config_module>
    LogFormat "%>{STATSD}n|%!500{Statsd.Aggregate}n" statsdfmt
</IfModule>
CustomLog logs/statsd.log statsdfmt
StatsdAggregateStat all
"""
    h = start_and_drain(httpd_factory("noteany", conf=conf), udp_listener)
    assert h.get("/logged.html").status == 200
    got = assert_lines(udp_listener, request_lines("test.logged_html.GET.200", 200,
                                                   aggregate="test.all.GET.200"))
    raw = udp_listener.raw_datagrams()
    dur = [l.split(":")[1][:-3] for l in got if l.endswith("|ms")][0]
    assert h.wait_log_lines("statsd.log", 1) == [
        f"test.logged_html.GET.200 {dur} {len(raw[0])} 1|test.all.GET.200"]


# ---- datagrams -----------------------------------------------------------------------

def test_keepalive_requests_one_datagram_each(httpd_factory, udp_listener):
    h = start_and_drain(httpd_factory("keepalive", conf=statsd_conf(udp_listener.port)), udp_listener)
    req = (b"GET /static.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
           b"GET /dir/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
           b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    r = h.raw(req)
    assert r.status == 200
    expected = (std_lines("static_txt", "GET", 200) + std_lines("dir", "GET", 200)
                + std_lines("nope", "GET", 404))
    assert_lines(udp_listener, expected, datagrams=3, same_duration=False)
    # each datagram is one whole request: its own key, timer and service lines
    for d in udp_listener.datagrams():
        lines = d.split("\n")
        assert all(LINE_RE.match(l) for l in lines), d
        keys = {l.split(":")[0] for l in lines if not l.startswith("test.responses.")}
        assert len(keys) == 1, d
        _, durs = normalise(lines)
        assert len(set(durs)) == 1, d


def test_many_requests_no_loss(httpd_factory, udp_listener):
    h = start_and_drain(httpd_factory("many", conf=statsd_conf(udp_listener.port)), udp_listener)
    n = 100
    for i in range(n):
        assert h.get(f"/many/{i % 7}").status == 404
    lines = udp_listener.wait_lines(5 * n, timeout=5)
    time.sleep(0.1)
    lines = udp_listener.lines()
    assert len(udp_listener.datagrams()) == n
    assert sum(1 for l in lines if l == "test.responses.bad:1|c") == n
    assert sum(1 for l in lines if l == "test.responses.4xx:1|c") == n
    assert all(LINE_RE.match(l) for l in lines)


@pytest.mark.parametrize("mpm", ["event", "worker", "prefork"])
def test_mpm(httpd_factory, udp_listener, mpm):
    h = start_and_drain(httpd_factory(f"mpm-{mpm}", mpm=mpm, conf=statsd_conf(udp_listener.port)), udp_listener)
    assert h.get("/static.txt").status == 200
    assert_lines(udp_listener, std_lines("static_txt", "GET", 200))
    udp_listener.clear()
    assert h.get("/foo/bar").status == 404
    assert_lines(udp_listener, std_lines("foo.bar", "GET", 404))


def test_graceful_restart_keeps_measuring(httpd_factory, udp_listener):
    h = start_and_drain(httpd_factory("graceful", conf=statsd_conf(udp_listener.port)),
                        udp_listener)
    assert h.get("/static.txt").status == 200
    assert_lines(udp_listener, std_lines("static_txt", "GET", 200))
    udp_listener.clear()
    h.graceful()
    udp_listener.drain_reload_markers(timeout=5)
    deadline = time.monotonic() + 5
    r = None
    while time.monotonic() < deadline:
        try:
            r = h.get("/x", timeout=2)
            break
        except OSError:
            time.sleep(0.1)
    assert r is not None and r.status == 404
    assert_lines(udp_listener, std_lines("x", "GET", 404))


# ---- reload markers on config reloads ------------------------------------------

def test_reload_marker_at_start_and_graceful(httpd_factory, udp_listener):
    h = httpd_factory("reload", conf=statsd_conf(udp_listener.port))
    h.start()
    # one marker per start, before any request
    assert_lines(udp_listener, ["test.httpd.reloads:1|c"], grace=0.3)
    udp_listener.clear()
    h.graceful()
    assert_lines(udp_listener, ["test.httpd.reloads:1|c"], grace=0.3, timeout=5)


def test_reload_marker_per_prefix(httpd_factory, udp_listener):
    h = httpd_factory("reloadvh")
    h.conf_extra = statsd_conf(udp_listener.port) + f"""
<VirtualHost 127.0.0.1:{h.port}>
    ServerName a.test
    StatsdPrefix svc_a
</VirtualHost>
<VirtualHost 127.0.0.1:{h.port}>
    ServerName b.test
    StatsdPrefix svc_b
</VirtualHost>
<VirtualHost 127.0.0.1:{h.port}>
    ServerName c.test
    StatsdPrefix svc_a
</VirtualHost>
"""
    h.start()
    assert_lines(udp_listener, ["test.httpd.reloads:1|c", "svc_a.httpd.reloads:1|c",
                                "svc_b.httpd.reloads:1|c"], datagrams=None, grace=0.3)


# ---- batching (StatsdFlushInterval > 0, the default) -----------------------------

def test_default_batching_packs_requests(httpd_factory, udp_listener):
    conf = statsd_conf(udp_listener.port, flush=None)      # module default
    h = start_and_drain(httpd_factory("batch", conf=conf), udp_listener)
    n = 20
    for i in range(n):
        assert h.get("/static.txt").status == 200
    expected = std_lines("static_txt", "GET", 200) * n
    # default flush interval is at most 1000 ms: all lines within ~1 s,
    # the counters summed (one child: one line per key)
    lines = assert_summed(udp_listener, expected, timeout=3.0)
    assert lines.count(f"test.static_txt.GET.200:{n}|c") == 1, lines
    assert lines.count(f"test.responses.good:{n}|c") == 1, lines
    dgs = udp_listener.raw_datagrams()
    assert len(dgs) < n, f"{len(dgs)} datagrams for {n} requests: not batched"
    for d in dgs:
        assert len(d) <= 1432, len(d)
        assert all(LINE_RE.match(l) for l in d.decode().split("\n")), d


def test_batching_respects_max_packet_size(httpd_factory, udp_listener):
    conf = statsd_conf(udp_listener.port, flush=200, extra="StatsdMaxPacketSize 512\n")
    h = start_and_drain(httpd_factory("batch512", conf=conf), udp_listener)
    n = 40
    for i in range(n):
        assert h.get(f"/some/longer/path/name/{i % 5}").status == 404
    expected = []
    for i in range(n):
        expected += std_lines(f"some.longer.path.name.{i % 5}", "GET", 404)
    lines = assert_summed(udp_listener, expected, timeout=3.0)
    dgs = udp_listener.raw_datagrams()
    assert len(dgs) >= (sum(len(l) + 1 for l in lines) // 512), len(dgs)
    for d in dgs:
        assert len(d) <= 512, len(d)
        assert not d.endswith(b"\n") and not d.startswith(b"\n"), d
        assert all(LINE_RE.match(l) for l in d.decode().split("\n")), d


def test_no_batching_splits_big_request_at_line_boundaries(httpd_factory, udp_listener):
    # StatsdFlushInterval 0 + long names: one request's lines exceed 512
    # bytes, so they are split, at line boundaries only
    conf = statsd_conf(udp_listener.port, extra="StatsdMaxPacketSize 512\n"
                       "StatsdMaxNameLength 200\nStatsdAggregateStat "
                       + "agg." * 30 + "end")
    h = start_and_drain(httpd_factory("split", conf=conf), udp_listener)
    path = "/" + "/".join(["segment%02d" % i for i in range(17)])
    assert h.get(path).status == 404
    udp_listener.wait_lines(7)
    time.sleep(0.2)
    dgs = udp_listener.raw_datagrams()
    lines = udp_listener.lines()
    assert len(lines) == 7, lines
    assert len(dgs) >= 2, dgs
    for d in dgs:
        assert len(d) <= 512, len(d)
        assert all(LINE_RE.match(l) for l in d.decode().split("\n")), d


@pytest.mark.parametrize("mpm,flush", [("event", 0), ("event", None), ("worker", None),
                                       ("prefork", None)],
                         ids=["event-no-batching", "event-batching", "worker-batching",
                              "prefork-batching"])
def test_concurrent_requests_no_loss(httpd_factory, udp_listener, mpm, flush):
    # with batching, idle children must flush within the interval too
    import threading
    conf = statsd_conf(udp_listener.port, flush=flush)
    h = start_and_drain(httpd_factory("concurrent", conf=conf, mpm=mpm), udp_listener)
    n_threads, per_thread = 8, 24
    errors = []

    def worker(t):
        for i in range(per_thread):
            try:
                r = h.get("/static.txt" if i % 2 else f"/c/{t}")
                if r.status not in (200, 404):
                    errors.append(r.status)
            except OSError as ex:
                errors.append(repr(ex))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    total = n_threads * per_thread
    good = total // 2
    bad = total - good
    # with batching the counters come summed (a line per child and key)
    def counted():
        totals, others = counter_totals(udp_listener.lines())
        return (totals["test.responses.good|c"] + totals["test.responses.bad|c"]
                >= total and len(others) >= 2 * total)
    wait_for(counted, 5)
    time.sleep(0.2)
    lines = udp_listener.lines()
    assert all(LINE_RE.match(l) for l in lines), [l for l in lines if not LINE_RE.match(l)][:5]
    totals, others = counter_totals(lines)
    assert totals["test.responses.good|c"] == good
    assert totals["test.responses.bad|c"] == bad
    assert totals["test.responses.4xx|c"] == bad
    assert totals["test.static_txt.GET.200|c"] == good
    # the per-path counters add up to every request
    assert sum(v for k, v in totals.items()
               if not k.startswith("test.responses.")) == total
    assert len(others) == 2 * total, others
    assert sum(1 for l in lines if l.startswith("test.responses.time:")) == total


@pytest.mark.parametrize("how", ["stop", "graceful"])
@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_batched_lines_flushed_at_child_exit(httpd_factory, udp_listener, mpm, how):
    # a 60 s flush interval: only the child-exit / graceful-restart flush
    # can deliver these lines within the few seconds waited here
    conf = statsd_conf(udp_listener.port, flush=60000)
    h = start_and_drain(httpd_factory(f"exitflush-{how}", conf=conf, mpm=mpm), udp_listener)
    for i in range(3):
        assert h.get("/static.txt").status == 200
    time.sleep(0.3)
    assert udp_listener.lines() == [], "flushed before the interval or the exit"
    if how == "stop":
        h.stop()
    else:
        h.graceful()
    expected = std_lines("static_txt", "GET", 200) * 3
    if how == "graceful":
        expected = expected + ["test.httpd.reloads:1|c"]
    assert_summed(udp_listener, expected, timeout=8, grace=0.3)
