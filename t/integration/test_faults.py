"""Faults of the statsd side: nothing listening (IPv4, IPv6, with
and without batching), a receiver that never reads, a unix socket that
appears late or goes away and comes back, a destination name that does
not resolve at start-up and later does, and `localhost` with IPv4 first.

What every test here holds the module to: a statsd that is down, slow or
unreachable changes neither the response nor its latency (each request
completes, within 1 s), lost datagrams are counted and reported in the
error log at most once a minute per destination per child, and delivery
resumes by itself, without a restart, once the receiver is back.
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from statsdtest import errorlog
from statsdtest.errorlog import DROPPED, UNRESOLVED
from statsdtest.httpclient import get_request, ResponseStream
from statsdtest.lines import (assert_lines, bad_wire_lines, measured, metric_lines,
                              percentile, server_conf, statsd_conf, std_lines,
                              wait_measured)
from statsdtest.listeners import ipv6_loopback_available, Udp6Listener, UdpListener, UnixListener
from statsdtest.proc import children, free_udp_port, wait_for


def timed_get(h, target="/static.txt"):
    t0 = time.monotonic()
    r = h.get(target, timeout=5)
    return r, time.monotonic() - t0


# ---- nothing listening ------------------------------------------------------------

CLOSED_PORT_CASES = [
    pytest.param("ipv4", 0, id="ipv4-unbatched"),
    pytest.param("ipv6", 0, id="ipv6-unbatched"),
    pytest.param("ipv4", 200, id="ipv4-batched"),
    pytest.param("ipv6", 200, id="ipv6-batched"),
]


@pytest.mark.error_log_expect(DROPPED)
@pytest.mark.parametrize("family,flush", CLOSED_PORT_CASES)
def test_closed_udp_port(httpd_factory, family, flush):
    """A closed UDP port: IP_RECVERR turns the ICMP port-unreachable into
    ECONNREFUSED on a later sendto, so drops are counted; the report
    ("N datagram(s) to X dropped since the last report") appears, but at
    most once per child in this (< 1 minute) run, however many requests
    fail. With batching, the failing sends are the watchdog's flushes and
    the next request reports them."""
    if family == "ipv6":
        if not ipv6_loopback_available():
            pytest.skip("no IPv6 loopback")
        port = free_udp_port("::1", socket.AF_INET6)
        url = f"udp://[::1]:{port}"
    else:
        port = free_udp_port()
        url = f"udp://127.0.0.1:{port}"
    conf = server_conf(url, flush) + (
        'LogFormat "%{statsd}n" statsdfmt\nCustomLog logs/statsd.log statsdfmt\n')
    h = httpd_factory(f"closed-{family}-{flush}", conf=conf).start()
    n = 100
    slow = []
    for i in range(n):
        r, took = timed_get(h)
        assert r.status == 200 and r.body == b"hello static\n", (i, r)
        if took >= 1.0:
            slow.append((i, took))
        time.sleep(0.02)           # spread over ~2-3 s: many sends, many ICMPs
    assert not slow, f"requests that took 1 s or more: {slow}"
    reports = wait_for(lambda: errorlog.drop_reports(h.error_log_text()), 3.0)
    assert reports, ("no drop report in the error log:\n" + h.error_log_text()[-3000:])
    pids = [pid for pid, _, _ in reports]
    assert len(pids) == len(set(pids)), f"more than one report per child:\n{reports}"
    assert all(cnt and cnt >= 1 for _, cnt, _ in reports), reports
    assert all(url.split("//")[1] in line for _, _, line in reports), reports
    if flush == 0:
        # the note shows which requests' datagrams were refused (-1): with
        # nothing listening, about every other send fails (a lower bound)
        notes = h.wait_log_lines("statsd.log", n)
        dropped = sum(1 for l in notes if l.split()[2] == "-1")
        assert len(notes) == n and dropped >= 1, notes[:10]
        print(f"\n{family}: {dropped} of {n} requests' datagrams refused")


# ---- a receiver that never reads ------------------------------------------------


class NeverReads:
    """A bound UDP socket with the smallest receive buffer, never read:
    its queue fills at once and the kernel drops the rest silently."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


def drive_keepalive(port, seconds, threads=4, target="/static.txt"):
    """`threads` keep-alive clients, each sending one request at a time for
    `seconds`; returns [(status or None, latency)]. Bounded: each client
    stops at the deadline, a stuck read times out after 5 s."""
    results = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        mine = []
        s = None
        while time.monotonic() < deadline and len(mine) < 200000:
            t0 = time.monotonic()
            for attempt in (1, 2):
                fresh = s is None
                try:
                    if s is None:
                        s = socket.create_connection(("127.0.0.1", port), timeout=5)
                    s.sendall(get_request(target))
                    stream = ResponseStream()
                    while not stream.statuses:
                        data = s.recv(65536)
                        if not data:
                            raise ConnectionError("closed")
                        stream.feed(data)
                    mine.append((stream.statuses[0], time.monotonic() - t0))
                    break
                except (OSError, ValueError):
                    if s is not None:
                        s.close()
                    s = None
                    # a kept-alive connection the server closed before this
                    # request (MaxKeepAliveRequests, KeepAliveTimeout) is
                    # not a failure: one retry on a new connection
                    if fresh or attempt == 2:
                        mine.append((None, time.monotonic() - t0))
                        break
        if s is not None:
            s.close()
        with lock:
            results.extend(mine)

    ts = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(seconds + 30)
    assert not any(t.is_alive() for t in ts), "load clients did not finish"
    return results


def run_never_reading(httpd_factory, seconds):
    sink = NeverReads()
    ok = UdpListener()
    try:
        # MaxKeepAliveRequests 0: the clients keep their connections.
        # Graceful stops: event's ungraceful stop closes busy workers'
        # sockets while those workers free them (an httpd race that kills
        # a child now and then, with no module code on any stack).
        extra = "MaxKeepAliveRequests 0\n"
        h = httpd_factory("neverreads", conf=statsd_conf(sink.port, extra=extra)).start()
        res = drive_keepalive(h.port, seconds)
        h.graceful_stop()
        ref_h = httpd_factory("reads", conf=statsd_conf(ok.port, extra=extra)).start()
        ref = drive_keepalive(ref_h.port, seconds)
        ref_h.graceful_stop()
    finally:
        sink.close()
        ok.close()
    failed = [r for r in res if r[0] != 200]
    assert res and not failed, f"{len(failed)} of {len(res)} requests failed: {failed[:5]}"
    slow = [t for _, t in res if t >= 1.0]
    assert not slow, f"{len(slow)} requests took 1 s or more (max {max(slow):.3f} s)"
    lat = [t for _, t in res]
    ref_lat = [t for s, t in ref if s == 200]
    print(f"\nreceiver never reading: {len(lat)} requests in {seconds} s, "
          f"p50 {percentile(lat, 50) * 1000:.2f} ms, p99 {percentile(lat, 99) * 1000:.2f} ms, "
          f"max {max(lat) * 1000:.2f} ms")
    print(f"receiver reading:       {len(ref_lat)} requests in {seconds} s, "
          f"p50 {percentile(ref_lat, 50) * 1000:.2f} ms, p99 {percentile(ref_lat, 99) * 1000:.2f} ms, "
          f"max {max(ref_lat) * 1000:.2f} ms")


@pytest.mark.error_log_expect(DROPPED)   # allowed, not required: loopback drops silently
def test_receiver_never_reading_short(httpd_factory):
    run_never_reading(httpd_factory, 2)


@pytest.mark.stress
@pytest.mark.error_log_expect(DROPPED)
def test_receiver_never_reading_10s(httpd_factory):
    run_never_reading(httpd_factory, 10)


# ---- a unix socket that is missing, then created, then restarted ------------------

@pytest.mark.error_log_expect(DROPPED)
def test_unix_socket_missing_then_created_then_restarted(httpd_factory):
    """Batched (flush 200 ms). Lines of requests made while the path is
    missing are dropped at the flush (ENOENT) and reported; once a receiver
    binds the path (chmod 0777, so the www-data children may send), lines
    flow with no restart; a receiver that goes away and comes back is
    picked up again the same way."""
    d = tempfile.mkdtemp(prefix="mod_statsd-unixlate-", dir="/tmp")
    os.chmod(d, 0o777)
    path = os.path.join(d, "s.sock")
    lst = None
    try:
        h = httpd_factory("unixlate", conf=server_conf(f"unix:{path}", flush=200)).start()
        kids = children(h.pid)
        for i in range(5):
            assert h.get("/static.txt").status == 200
        time.sleep(1.0)            # > several flush intervals: those lines are gone
        assert h.get("/static.txt").status == 200   # reports the failed flushes
        time.sleep(1.0)
        lst = UnixListener(d)      # binds d/s.sock, chmod 0777
        for i in range(10):
            assert h.get(f"/late/{i}").status == 404
        lines = wait_measured(lst, 10)
        # nothing from before the socket existed, every request after it
        assert measured(lines) == 10, lines
        assert sorted(k for k in lines if ".GET.404:1|c" in k) == sorted(
            f"test.late.{i}.GET.404:1|c" for i in range(10))
        assert not bad_wire_lines(lines)
        reports = errorlog.drop_reports(h.error_log_text())
        assert reports and all(f"unix:{path}" in l for _, _, l in reports), \
            h.error_log_text()[-2000:]
        # the receiver restarts: gone (ENOENT), then back
        lst.close()
        lst = None
        for i in range(3):
            assert h.get("/static.txt").status == 200
        time.sleep(1.0)
        lst = UnixListener(d)
        for i in range(4):
            assert h.get(f"/back/{i}").status == 404
        lines = wait_measured(lst, 4)
        assert measured(lines) == 4, lines
        assert children(h.pid) == kids, "the child was replaced: that is a restart"
    finally:
        if lst is not None:
            lst.close()
        shutil.rmtree(d, ignore_errors=True)


# ---- a destination name that does not resolve at start-up -------------------------

NAME = "statsd-test.invalid-ish-name"
BASE_HOSTS = "127.0.0.1 localhost\n"


def listener_pair():
    """UDP listeners on 127.0.0.1 and ::1 with the same port number."""
    for _ in range(50):
        v4 = UdpListener()
        try:
            return v4, Udp6Listener("::1", v4.port)
        except OSError:
            v4.close()
    pytest.fail("no UDP port free on both 127.0.0.1 and ::1", pytrace=False)


def test_getaddrinfo_honours_etc_hosts(private_hosts):
    """The mechanism the next tests rely on: hosts come from /etc/hosts
    before DNS (nsswitch), and getaddrinfo as the module calls it
    (AF_UNSPEC, SOCK_DGRAM) sees a bind-mounted private /etc/hosts."""
    with open("/etc/nsswitch.conf") as f:
        hosts_line = [l.split() for l in f if l.startswith("hosts:")]
    assert hosts_line, "no hosts: line in /etc/nsswitch.conf"
    srcs = [s for s in hosts_line[0][1:] if not s.startswith("[")]
    assert "files" in srcs and ("dns" not in srcs or srcs.index("files") < srcs.index("dns")), srcs
    d = tempfile.mkdtemp(prefix="mod_statsd-gai-", dir="/tmp")
    try:
        hosts = os.path.join(d, "hosts")
        with open(hosts, "w") as f:
            f.write(BASE_HOSTS + f"127.0.0.1 {NAME}\n")
        code = ("import socket;print(sorted({a[4][0] for a in socket.getaddrinfo("
                f"'{NAME}', 8125, 0, socket.SOCK_DGRAM)}}))")
        p = subprocess.run(["unshare", "-m", "sh", "-c",
                            'mount --bind "$0" /etc/hosts && exec "$@"', hosts,
                            "/usr/bin/python3", "-c", code],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=20)
        assert p.returncode == 0 and "['127.0.0.1']" in p.stdout, p.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)
    # and outside the namespace the name does not exist
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(NAME, 8125, 0, socket.SOCK_DGRAM)


@pytest.mark.error_log_expect(UNRESOLVED, DROPPED)
def test_unresolvable_host_at_startup_then_resolves(private_hosts, httpd_factory,
                                                    udp_listener):
    """StatsdHost names a host that does not resolve: httpd starts, with
    exactly one warning; the lines are dropped (and counted); once the name
    resolves (each child retries 2 s later, then with backoff) lines flow to it,
    without a restart."""
    conf = (f"Statsd On\nStatsdHost {NAME}\nStatsdPort {udp_listener.port}\n"
            "StatsdPrefix test\nStatsdFlushInterval 200\n")
    h = httpd_factory("unresolved", hosts=BASE_HOSTS, conf=conf)
    h.start()
    warn = errorlog.lines_with(h.error_log_text(), UNRESOLVED)
    assert len(warn) == 1, h.error_log_text()
    assert NAME in warn[0] and "[statsd:warn]" in warn[0], warn
    kids = children(h.pid)
    for i in range(5):
        r, took = timed_get(h)
        assert r.status == 200 and took < 1.0, (r, took)
    udp_listener.quiesce(0.6, timeout=2)
    assert udp_listener.lines() == [], udp_listener.lines()
    # the name appears in the (private) /etc/hosts: written in place
    h.set_hosts(BASE_HOSTS + f"127.0.0.1 {NAME}\n")
    rc, out = h.ns_getent("hosts", NAME)
    assert rc == 0 and "127.0.0.1" in out, out
    got = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not got:
        assert h.get("/static.txt").status == 200
        time.sleep(0.25)
        got = metric_lines(udp_listener)
    assert got, "no lines within 10 s of the name resolving"
    udp_listener.quiesce(0.5, timeout=2)
    udp_listener.clear()
    for i in range(5):
        assert h.get(f"/resolved/{i}").status == 404
    lines = wait_measured(udp_listener, 5)
    assert measured(lines) == 5 and not bad_wire_lines(lines), lines
    assert children(h.pid) == kids, "children were replaced: that is a restart"
    # still exactly one "does not resolve" warning: retries are quiet
    assert len(errorlog.lines_with(h.error_log_text(), UNRESOLVED)) == 1
    # the failed sends of the unresolved phase were counted and reported
    assert errorlog.drop_reports(h.error_log_text()), h.error_log_text()[-2000:]


@pytest.mark.error_log_expect(DROPPED)
def test_localhost_prefers_ipv4_even_when_hosts_lists_ipv6_first(private_hosts,
                                                                 httpd_factory):
    """`localhost` with both 127.0.0.1 and ::1 goes to IPv4 (Etsy
    statsd listens on IPv4 by default), whatever order /etc/hosts (and
    getaddrinfo) give. Consequence: a statsd that listens on ::1 only is
    NOT reached by `StatsdHost localhost`; configure it as `StatsdHost ::1`
    or `StatsdServer udp://[::1]:port`. A name with only an IPv6 address
    is used over IPv6."""
    if not ipv6_loopback_available():
        pytest.skip("no IPv6 loopback")
    v4, v6 = listener_pair()
    other6 = Udp6Listener()
    hosts = (f"::1 localhost ip6-localhost\n127.0.0.1 localhost\n"
             f"::1 v6only.{NAME}\n")
    conf = (f"Statsd On\nStatsdHost localhost\nStatsdPort {v4.port}\n"
            "StatsdPrefix test\nStatsdFlushInterval 0\n"
            f"<Location /v6only>\n    StatsdHost v6only.{NAME}\n"
            f"    StatsdPort {other6.port}\n</Location>\n")
    h = httpd_factory("localhost6", hosts=hosts, conf=conf)
    try:
        h.start()
        rc, out = h.ns_getent("ahosts", "localhost")
        print(f"\ngetaddrinfo order for localhost in the namespace:\n{out}")
        v4.drain_reload_markers()
        v6.reset()
        assert h.get("/x").status == 404
        assert_lines(v4, std_lines("x", "GET", 404))
        assert v6.lines() == [], v6.lines()
        assert h.get("/v6only/y").status == 404
        assert_lines(other6, std_lines("v6only.y", "GET", 404))
    finally:
        v4.close()
        v6.close()
        other6.close()


@pytest.mark.error_log_expect(DROPPED)
def test_ipv6_only_statsd_needs_a_literal(httpd_factory, udp6_listener):
    """A statsd on ::1 only: `StatsdHost localhost` sends to 127.0.0.1
    (IPv4 first), where nothing listens, so nothing arrives and the drops
    are reported; `StatsdServer udp://[::1]:port` (or `StatsdHost ::1`)
    reaches it."""
    port = udp6_listener.port
    conf = (f"Statsd On\nStatsdHost localhost\nStatsdPort {port}\n"
            "StatsdPrefix test\nStatsdFlushInterval 0\n"
            f"<Location /lit>\n    StatsdServer udp://[::1]:{port}\n</Location>\n"
            f"<Location /host6>\n    StatsdHost ::1\n    StatsdPort {port}\n</Location>\n")
    h = httpd_factory("v6only", conf=conf).start()
    udp6_listener.reset()
    for i in range(6):
        assert h.get("/static.txt").status == 200
    time.sleep(0.3)
    assert metric_lines(udp6_listener) == []
    assert h.get("/lit/x").status == 404
    assert_lines(udp6_listener, std_lines("lit.x", "GET", 404))
    udp6_listener.clear()
    assert h.get("/host6/x").status == 404
    assert_lines(udp6_listener, std_lines("host6.x", "GET", 404))


# ---- more receivers that cannot take the lines ----------------------------------------

@pytest.mark.error_log_expect(DROPPED)
def test_unix_receiver_never_reading(httpd_factory):
    """A unix datagram receiver that never reads: its queue fills, then
    every send fails at once with EAGAIN (non-blocking: no wait), which,
    unlike UDP on loopback, the kernel reports: counted and reported."""
    d = tempfile.mkdtemp(prefix="mod_statsd-unixfull-", dir="/tmp")
    os.chmod(d, 0o777)
    path = os.path.join(d, "s.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(path)
        os.chmod(path, 0o777)
        h = httpd_factory("unixfull", conf=server_conf(f"unix:{path}")
                          + "MaxKeepAliveRequests 0\n").start()
        res = drive_keepalive(h.port, 2, threads=2)
        assert res and all(s == 200 for s, _ in res), [r for r in res if r[0] != 200][:5]
        slow = [t for _, t in res if t >= 1.0]
        assert not slow, f"{len(slow)} requests took 1 s or more"
        reports = wait_for(lambda: errorlog.drop_reports(h.error_log_text()), 3.0)
        assert reports and all(f"unix:{path}" in l for _, _, l in reports), \
            h.error_log_text()[-2000:]
        assert "Resource temporarily unavailable" in reports[0][2], reports[0][2]
        pids = [p for p, _, _ in reports]
        assert len(pids) == len(set(pids)), reports
        print(f"\n{len(res)} requests; first report: {errorlog.message(reports[0][2], DROPPED)}")
    finally:
        sock.close()
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.error_log_expect(DROPPED)
def test_drop_reports_are_per_destination(httpd_factory):
    """Two dead destinations in one child: each gets its own report (once
    a minute per destination per child), neither hides the other."""
    p1, p2 = free_udp_port(), free_udp_port()
    while p2 == p1:
        p2 = free_udp_port()
    conf = (server_conf(f"udp://127.0.0.1:{p1}")
            + f"<Location /two>\n    StatsdServer udp://127.0.0.1:{p2}\n</Location>\n")
    h = httpd_factory("twodead", conf=conf).start()
    for i in range(30):
        assert h.get("/static.txt").status == 200
        assert h.get("/two/x").status == 404
        time.sleep(0.01)
    reports = wait_for(lambda: len(errorlog.drop_reports(h.error_log_text())) >= 2 and errorlog.drop_reports(h.error_log_text()), 3.0)
    assert reports, h.error_log_text()[-2000:]
    by_dest = {}
    for pid, _, line in reports:
        dest = re.search(r"datagram\(s\) to (\S+) dropped", line).group(1)
        by_dest.setdefault(dest, []).append(pid)
    assert set(by_dest) == {f"udp://127.0.0.1:{p1}", f"udp://127.0.0.1:{p2}"}, by_dest
    for dest, pids in by_dest.items():
        assert len(pids) == len(set(pids)), (dest, pids)


@pytest.mark.error_log_expect(DROPPED)
def test_unix_socket_the_children_may_not_write(httpd_factory):
    """A unix socket in a directory only root may enter (0700): the parent
    (root) still sends its reload marker, the children (User www-data) get
    EACCES: request lines are dropped and reported, requests unaffected."""
    d = tempfile.mkdtemp(prefix="mod_statsd-unixroot-", dir="/tmp")
    os.chmod(d, 0o700)
    lst = UnixListener(d)
    os.chmod(d, 0o700)             # UnixListener opened it up; close it again
    try:
        h = httpd_factory("unixroot", conf=server_conf(f"unix:{lst.path}")).start()
        assert wait_for(lambda: lst.lines(), 2.0) == ["test.httpd.reloads:1|c"]
        for i in range(5):
            r, took = timed_get(h)
            assert r.status == 200 and took < 1.0
        lst.quiesce(0.3)
        assert metric_lines(lst) == []
        reports = wait_for(lambda: errorlog.drop_reports(h.error_log_text()), 3.0)
        assert reports and "Permission denied" in reports[0][2], h.error_log_text()[-2000:]
    finally:
        lst.close()
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.stress
@pytest.mark.error_log_expect(DROPPED)
def test_dns_outage_keeps_address_then_change_of_family_is_followed(
        private_hosts, httpd_factory):
    """A resolved name is looked up again every 60 s. When the name
    disappears (a DNS outage), the last address stays in use; when it comes
    back with another address, here of the other family (127.0.0.1 ->
    ::1: the child opens an IPv6 socket), lines follow it without a
    restart. Takes about 70 s."""
    if not ipv6_loopback_available():
        pytest.skip("no IPv6 loopback")
    v4, v6 = listener_pair()
    name = f"moving.{NAME}"
    conf = (f"Statsd On\nStatsdHost {name}\nStatsdPort {v4.port}\n"
            "StatsdPrefix test\nStatsdFlushInterval 200\n")
    h = httpd_factory("dnsmove", hosts=BASE_HOSTS + f"127.0.0.1 {name}\n", conf=conf)
    try:
        h.start()
        kids = children(h.pid)
        v4.drain_reload_markers()
        assert h.get("/a").status == 404
        assert measured(wait_measured(v4, 1)) == 1
        h.set_hosts(BASE_HOSTS)                       # the outage
        t_out = time.monotonic()
        # past the 60 s refresh: the failed lookup must not lose the address
        n = 0
        while time.monotonic() - t_out < 65:
            assert h.get("/during").status == 404
            n += 1
            time.sleep(0.5)
        v4.clear()
        assert h.get("/after-refresh").status == 404
        assert measured(wait_measured(v4, 1)) == 1, "the old address was dropped"
        # the name comes back, as ::1 (the retries after the failed refresh
        # come 2, 4, 8, 16 s apart: the next is at most 16 s away)
        h.set_hosts(BASE_HOSTS + f"::1 {name}\n")
        got = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not got:
            assert h.get("/moved").status == 404
            time.sleep(0.25)
            got = metric_lines(v6)
        assert got, "lines did not follow the name to ::1 within 20 s"
        assert children(h.pid) == kids, "children were replaced: that is a restart"
        print(f"\n{n} requests during the outage")
    finally:
        v4.close()
        v6.close()
