"""Worker gauges: every StatsdScoreboardInterval seconds one child reads
the scoreboard and sends P.httpd.HOST.workers.busy/idle/max (and, under
event, P.httpd.HOST.connections.async) to each prefix and destination that
gets the reload markers.

Requests are held by a mod_lua handler that waits for a release file, so
"N workers are busy" is a state the test controls, not a race.
"""

import os
import re
import socket
import threading
import time

import pytest

from statsdtest.httpd import DEFAULT_SERVER_CONF, GAUGES_OFF
from statsdtest.lines import hostname_short_clean, statsd_conf
from statsdtest.listeners import UdpListener
from statsdtest.servers import assert_configtest_rejects, configtest_in_section, start_and_drain

MPMS = ["prefork", "worker", "event"]
HOST = hostname_short_clean()
# MaxRequestWorkers of the harness's config for each MPM
MAX = {"prefork": 8, "worker": 16, "event": 16}
HELD = 3

GAUGE_RE = re.compile(r"^(?:(?P<prefix>[A-Za-z0-9_.-]+)\.)?httpd\."
                      + re.escape(HOST)
                      + r"\.(?P<what>workers\.(?:busy|idle|max)"
                        r"|connections\.async):(?P<value>0|[1-9][0-9]*)\|g$")

SLOW_LUA = """
function handle(r)
    -- hold the worker until the test creates the release file (at most 20 s)
    for i = 1, 400 do
        local f = io.open("{release}", "r")
        if f then
            f:close()
            break
        end
        r.usleep(50000)
    end
    r.content_type = "text/plain"
    r:puts("released\\n")
    return apache2.OK
end
"""


def gauge_sets(listener):
    """The gauge datagrams received so far, each as {prefix: {what: value}}
    (prefix "" when there is none). Every line of a gauge datagram must
    match the grammar exactly."""
    sets = []
    for d in listener.datagrams():
        lines = d.split("\n")
        if not any(l.endswith("|g") for l in lines):
            continue
        got = {}
        for line in lines:
            m = GAUGE_RE.match(line)
            assert m, f"not a worker gauge line: {line!r} in {d!r}"
            per = got.setdefault(m.group("prefix") or "", {})
            assert m.group("what") not in per, f"repeated gauge in {d!r}"
            per[m.group("what")] = int(m.group("value"))
        sets.append(got)
    return sets


def check_set(per, mpm):
    """One prefix's gauges: the names the MPM gives and busy + idle <= max."""
    names = {"workers.busy", "workers.idle", "workers.max"}
    if mpm == "event":
        names.add("connections.async")
    assert set(per) == names, per
    assert per["workers.max"] == MAX[mpm], per
    assert per["workers.busy"] + per["workers.idle"] <= per["workers.max"], per


def wait_for_gauges(listener, pred, timeout):
    """The first gauge set (after the ones already seen) for which
    pred(set) holds, waiting at most timeout seconds; None if none came."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        sets = gauge_sets(listener)
        for s in sets[seen:]:
            if pred(s):
                return s
        seen = len(sets)
        time.sleep(0.1)
    return None


def wait_gauge_count(listener, n, timeout):
    """At least n gauge sets received, waiting at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(gauge_sets(listener)) < n:
        time.sleep(0.1)
    return len(gauge_sets(listener)) >= n


class HeldRequests:
    """HELD requests to /slow, each holding a worker until release()."""

    def __init__(self, h, n):
        self.h = h
        self.release_file = h.dir / "release"
        self.results = []
        self.threads = [threading.Thread(target=self._one, daemon=True)
                        for _ in range(n)]
        for t in self.threads:
            t.start()

    def _one(self):
        self.results.append(self.h.get("/slow", timeout=30).status)

    def release(self):
        self.release_file.write_text("go\n")
        os.chmod(self.release_file, 0o644)
        for t in self.threads:
            t.join(timeout=30)
        return self.results


def slow_httpd(factory, name, mpm, listener, extra="StatsdScoreboardInterval 1"):
    h = factory(name, mpm=mpm)
    lua = h.add_script("slow.lua", SLOW_LUA.format(release=h.dir / "release"))
    h.conf_extra = (statsd_conf(listener.port, extra=extra)
                    + f'LuaMapHandler "^/slow$" "{lua}"\n')
    return h


@pytest.mark.parametrize("mpm", MPMS)
def test_busy_follows_held_requests(httpd_factory, udp_listener, mpm):
    h = start_and_drain(slow_httpd(httpd_factory, f"gauges-{mpm}", mpm,
                                   udp_listener), udp_listener)
    first = wait_for_gauges(udp_listener, lambda s: True, 10)
    assert first is not None, "no worker gauges within 10 s"
    assert set(first) == {"test"}, first
    check_set(first["test"], mpm)

    held = HeldRequests(h, HELD)
    busy = wait_for_gauges(udp_listener,
                           lambda s: s["test"]["workers.busy"] >= HELD, 15)
    assert busy is not None, (f"busy never reached {HELD}: "
                              f"{gauge_sets(udp_listener)[-5:]}")
    check_set(busy["test"], mpm)
    assert held.release() == [200] * HELD

    idle = wait_for_gauges(udp_listener,
                           lambda s: s["test"]["workers.busy"] == 0, 15)
    assert idle is not None, (f"busy never went back to 0: "
                              f"{gauge_sets(udp_listener)[-5:]}")
    for s in gauge_sets(udp_listener):
        check_set(s["test"], mpm)


@pytest.mark.parametrize("mpm", MPMS)
def test_gauges_keep_coming_across_graceful_restarts(httpd_factory,
                                                     udp_listener, mpm):
    h = start_and_drain(slow_httpd(httpd_factory, f"gauges-gr-{mpm}", mpm,
                                   udp_listener), udp_listener)
    assert wait_for_gauges(udp_listener, lambda s: True, 10) is not None
    for i in range(3):
        h.graceful()
        udp_listener.drain_reload_markers(timeout=5)
        s = wait_for_gauges(udp_listener, lambda s: True, 10)
        assert s is not None, f"no worker gauges after graceful restart {i + 1}"
    for s in gauge_sets(udp_listener):
        check_set(s["test"], mpm)


@pytest.mark.parametrize("mpm", MPMS)
def test_old_generation_is_not_counted(httpd_factory, udp_listener, mpm):
    """Requests held across a graceful restart keep their old child alive:
    its workers belong to no current count, and the new generation's
    gauges come while it lingers."""
    h = start_and_drain(slow_httpd(httpd_factory, f"gauges-old-{mpm}", mpm,
                                   udp_listener), udp_listener)
    held = HeldRequests(h, HELD)
    assert wait_for_gauges(udp_listener,
                           lambda s: s["test"]["workers.busy"] >= HELD,
                           15) is not None
    h.graceful()
    udp_listener.drain_reload_markers(timeout=5)
    assert wait_gauge_count(udp_listener, 3, 15), \
        f"gauges stopped after the restart: {gauge_sets(udp_listener)}"
    for s in gauge_sets(udp_listener):
        check_set(s["test"], mpm)
        assert s["test"]["workers.busy"] == 0, s
    assert held.release() == [200] * HELD


def keep_alive_connection(port):
    """A connection that has had one answer and waits in keep-alive."""
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"GET /static.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got = b""
    while not got.endswith(b"hello static\n"):
        chunk = c.recv(4096)
        assert chunk, got
        got += chunk
    assert got.startswith(b"HTTP/1.1 200 "), got
    return c


def test_event_counts_keep_alive_connections(httpd_factory, udp_listener):
    """Connections waiting for their next request hold no worker under
    event: they are connections.async, not busy workers. event refreshes
    its scoreboard counts when a queued connection times out, so one
    connection is let time out while HELD others still wait."""
    h = httpd_factory("gauges-async", mpm="event")
    h.conf_extra = (statsd_conf(udp_listener.port,
                                extra="StatsdScoreboardInterval 1")
                    + "KeepAliveTimeout 3\n")
    start_and_drain(h, udp_listener)
    conns = [keep_alive_connection(h.port)]
    try:
        time.sleep(1.5)
        conns += [keep_alive_connection(h.port) for _ in range(HELD)]
        s = wait_for_gauges(
            udp_listener,
            lambda s: s["test"]["connections.async"] == HELD, 10)
        assert s is not None, gauge_sets(udp_listener)[-5:]
        check_set(s["test"], "event")
        assert s["test"]["workers.busy"] == 0, s
        # and once they have timed out too
        assert wait_for_gauges(
            udp_listener,
            lambda s: s["test"]["connections.async"] == 0,
            10) is not None, gauge_sets(udp_listener)[-5:]
    finally:
        for c in conns:
            c.close()


@pytest.mark.parametrize("mpm", ["prefork", "worker"])
def test_one_child_sends(httpd_factory, mpm):
    """With several children, one sends: every gauge datagram comes from
    the same socket (each child has its own)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    try:
        h = httpd_factory(f"gauges-one-{mpm}", mpm=mpm)
        h.conf_extra = (statsd_conf(sock.getsockname()[1],
                                    extra="StatsdScoreboardInterval 1")
                        + {"prefork": "MinSpareServers 2\n",
                           "worker": "StartServers 2\nMinSpareThreads 16\n"
                           }[mpm])
        h.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(h.children(live=True)) < 2:
            time.sleep(0.1)
        assert len(h.children(live=True)) >= 2, "fewer than two children"
        senders, gauges = set(), 0
        end = time.monotonic() + 4.5
        while time.monotonic() < end:
            try:
                data, addr = sock.recvfrom(70000)
            except socket.timeout:
                continue
            if data.endswith(b"|g"):
                senders.add(addr)
                gauges += 1
        assert len(senders) == 1, senders
        assert gauges >= 2, gauges
    finally:
        sock.close()


def test_one_datagram_per_destination_with_each_prefix(httpd_factory,
                                                       udp_listener):
    other = UdpListener()
    try:
        h = httpd_factory("gauges-prefixes", mpm="event")
        h.conf_extra = (statsd_conf(udp_listener.port,
                                    extra="StatsdScoreboardInterval 1")
                        + "<Location /shop>\n    StatsdPrefix shop\n"
                          "</Location>\n"
                        + "<Location /other>\n    StatsdPrefix other\n"
                          f"    StatsdPort {other.port}\n</Location>\n"
                        + "<Location /off>\n    Statsd Off\n"
                          "    StatsdPrefix off\n</Location>\n")
        start_and_drain(h, udp_listener, other)
        a = wait_for_gauges(udp_listener, lambda s: True, 10)
        b = wait_for_gauges(other, lambda s: True, 10)
        assert a is not None and b is not None
        assert set(a) == {"test", "shop"}, a
        assert set(b) == {"other"}, b
        for s in (a["test"], a["shop"], b["other"]):
            check_set(s, "event")
        # each look at the scoreboard: one datagram to each destination
        dg = [d for d in udp_listener.datagrams() if d.endswith("|g")]
        assert all(d.count("\n") == 7 for d in dg), dg
    finally:
        other.close()


def test_no_prefix(httpd_factory, udp_listener):
    h = httpd_factory("gauges-noprefix", mpm="worker")
    h.conf_extra = statsd_conf(udp_listener.port, prefix=None,
                               extra="StatsdScoreboardInterval 1")
    start_and_drain(h, udp_listener)
    s = wait_for_gauges(udp_listener, lambda s: True, 10)
    assert s is not None
    assert set(s) == {""}, s
    check_set(s[""], "worker")
    line = [l for l in udp_listener.lines() if "workers.max" in l][0]
    assert line == f"httpd.{HOST}.workers.max:16|g"


@pytest.mark.parametrize("mpm", MPMS)
def test_interval_zero_sends_nothing(httpd_factory, udp_listener, mpm):
    h = httpd_factory(f"gauges-off-{mpm}", mpm=mpm)
    h.conf_extra = statsd_conf(udp_listener.port,
                               extra="StatsdScoreboardInterval 0")
    start_and_drain(h, udp_listener)
    time.sleep(3)
    assert udp_listener.datagrams() == []


def test_default_interval_is_ten_seconds(httpd_factory, udp_listener):
    # the harness turns gauges off for other tests; this one sets nothing
    h = httpd_factory("gauges-default", mpm="event",
                      server_conf=lambda h: DEFAULT_SERVER_CONF.replace(
                          GAUGES_OFF, "").format(docroot=h.docroot,
                                                 logs=h.logs))
    h.conf_extra = statsd_conf(udp_listener.port)
    start_and_drain(h, udp_listener)
    started = time.monotonic()
    s = wait_for_gauges(udp_listener, lambda s: True, 16)
    took = time.monotonic() - started
    assert s is not None, "no worker gauges within 16 s"
    assert took > 5, f"first gauges after {took:.1f} s, not about 10 s"
    check_set(s["test"], "event")


def test_nothing_without_statsd_on(httpd_factory, udp_listener):
    h = httpd_factory("gauges-nothing-on", mpm="event")
    h.conf_extra = (f"StatsdHost 127.0.0.1\nStatsdPort {udp_listener.port}\n"
                    "StatsdScoreboardInterval 1\n")
    h.start()
    time.sleep(3)
    assert udp_listener.datagrams() == []


@pytest.mark.parametrize("value", ["-1", "x", "3601", "1.5", "1e1"])
def test_configtest_rejects_bad_intervals(httpd_factory, value):
    line = f"StatsdScoreboardInterval {value}"
    h = httpd_factory("gauges-bad", conf=statsd_conf(8125) + line + "\n")
    assert_configtest_rejects(h, line, "StatsdScoreboardInterval", value)


def test_configtest_accepts_the_bounds(httpd_factory):
    for value in ("0", "1", "3600"):
        h = httpd_factory("gauges-bounds", conf=statsd_conf(8125)
                          + f"StatsdScoreboardInterval {value}\n")
        rc, out = h.configtest()
        assert rc == 0, out


@pytest.mark.parametrize("where", ["vhost", "location"])
def test_configtest_rejects_interval_in_a_section(httpd_factory, where):
    rc, out, why = configtest_in_section(httpd_factory, "gauges-ctx", where,
                                         "StatsdScoreboardInterval 5")
    assert rc != 0 and f"StatsdScoreboardInterval {why}" in out, out


@pytest.mark.error_log_expect(r"StatsdScoreboardInterval not allowed here")   # core, no id
def test_interval_not_allowed_in_htaccess(httpd_factory, udp_listener):
    h = httpd_factory("gauges-htaccess", mpm="event")
    h.add_file("ht/.htaccess", "StatsdScoreboardInterval 1\n")
    h.add_file("ht/index.html", "hi\n")
    h.conf_extra = (statsd_conf(udp_listener.port)
                    + f'<Directory "{h.docroot}/ht">\n'
                      "    AllowOverride All\n</Directory>\n")
    start_and_drain(h, udp_listener)
    assert h.get("/ht/index.html").status == 500
    assert re.search(r"\.htaccess: StatsdScoreboardInterval not allowed here",
                     h.error_log_text())
