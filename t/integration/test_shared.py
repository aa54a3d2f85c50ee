"""One server, not N children: StatsdMaxNames and the once-a-minute
send-error report hold for the whole server however many children come
and go (MaxConnectionsPerChild), each prefix gets its share of the names,
and mod_status shows what the module did, totalled over every child."""

import socket
import time

import pytest

from statsdtest import errorlog
from statsdtest.httpd import DEFAULT_MODULES
from statsdtest.lines import metric_lines, request_keys, statsd_conf, wait_measured
from statsdtest.proc import children, free_udp_port, wait_for
from statsdtest.servers import start_and_drain

MPMS = ["prefork", "worker", "event"]
DROPPED = "STATSD00010"

# every connection is a new one, and a child serves 20 of them; room in
# the scoreboard for children still finishing while new ones start
CHURN = """KeepAlive Off
MaxConnectionsPerChild 20
<IfModule !mpm_prefork_module>
    ServerLimit 32
</IfModule>
"""
# httpd's own note when exiting children still hold every spare slot
SCOREBOARD_FULL = "AH00288"

STATUS = """
<Location /server-status>
    SetHandler server-status
    Statsd Off
</Location>
"""


def counted(lines, prefix="test"):
    """The key of each request's counter line (one per request)."""
    return [k for k, l in zip(request_keys(lines, prefix), [
        l for l in lines if not l.startswith(f"{prefix}.responses.")
        and "httpd.reloads" not in l]) if l.endswith("|c")]


def churned_requests(h, paths, deadline):
    """GET each path on a new connection (a bounded loop: stops at the
    deadline); the statuses, and the children seen along the way."""
    statuses, seen = [], set()
    for i, p in enumerate(paths):
        if time.monotonic() > deadline:
            break
        statuses.append(h.get(p, timeout=5).status)
        if i % 10 == 0:
            seen.update(children(h.pid))
    seen.update(children(h.pid))
    return statuses, seen


@pytest.mark.error_log_expect(SCOREBOARD_FULL)
@pytest.mark.parametrize("mpm", MPMS)
def test_max_names_hold_for_the_whole_server(httpd_factory, udp_listener, mpm):
    """StatsdMaxNames 50, 3000 distinct paths, a new child every 20
    connections: exactly 50 names reach statsd (the requests come one at a
    time, so no two race for the last place), everything else is
    `_other`, every request is measured once."""
    h = httpd_factory(f"shared-names-{mpm}", mpm=mpm,
                      conf=statsd_conf(udp_listener.port,
                                       extra=CHURN + "StatsdMaxNames 50\n"))
    start_and_drain(h, udp_listener)
    paths = [f"/scan/p{i}" for i in range(3000)]
    statuses, seen = churned_requests(h, paths, time.monotonic() + 90)
    done = len(statuses)
    assert done >= 1000 and set(statuses) == {404}, (done, set(statuses))
    assert len(seen) > 4, f"the children were not replaced: {seen}"
    lines = wait_measured(udp_listener, done, timeout=10)
    keys = counted(lines)
    assert len(keys) == done
    names = {k for k in keys if k != "test._other.GET.404"}
    assert names == {f"test.scan.p{i}.GET.404" for i in range(50)}, sorted(names)[:60]
    assert keys.count("test._other.GET.404") == done - 50


def test_each_prefix_gets_its_share(httpd_factory, udp_listener):
    """Three prefixes in use (the server's and two sections') share
    StatsdMaxNames 51 evenly, 17 each: a scanner under one of them cannot
    take the others' names."""
    conf = statsd_conf(udp_listener.port, extra="StatsdMaxNames 51\n") + """
<Location /a>
    StatsdPrefix pa
</Location>
<Location /b>
    StatsdPrefix pb
</Location>
"""
    h = httpd_factory("shared-share", conf=conf)
    start_and_drain(h, udp_listener)
    for i in range(200):
        assert h.get(f"/a/s{i}").status == 404
    for i in range(20):
        assert h.get(f"/b/x{i}").status == 404
    for i in range(5):
        assert h.get(f"/t{i}").status == 404
    lines = wait_measured(udp_listener, 225, timeout=10)
    pa = [k for k in counted(lines, "pa") if k.startswith("pa.")]
    pb = [k for k in counted(lines, "pb") if k.startswith("pb.")]
    tk = [k for k in counted(lines) if k.startswith("test.")]
    assert set(pa) - {"pa._other.GET.404"} == {f"pa.a.s{i}.GET.404" for i in range(17)}
    assert pa.count("pa._other.GET.404") == 200 - 17
    assert set(pb) - {"pb._other.GET.404"} == {f"pb.b.x{i}.GET.404" for i in range(17)}
    assert pb.count("pb._other.GET.404") == 3
    assert set(tk) == {f"test.t{i}.GET.404" for i in range(5)}


@pytest.mark.error_log_expect(DROPPED, SCOREBOARD_FULL)
@pytest.mark.parametrize("mpm", MPMS)
def test_one_drop_report_a_minute_for_the_whole_server(httpd_factory, mpm):
    """Nothing listens, a new child every 20 connections, 300 requests in
    well under a minute: one STATSD00010 line in all, not one per child."""
    port = free_udp_port()
    conf = (f"Statsd On\nStatsdServer udp://127.0.0.1:{port}\nStatsdPrefix test\n"
            f"StatsdFlushInterval 0\n{CHURN}")
    h = httpd_factory(f"shared-log-{mpm}", mpm=mpm, conf=conf).start()
    t0 = time.monotonic()
    statuses, seen = churned_requests(h, ["/static.txt"] * 300, t0 + 40)
    assert set(statuses) == {200} and len(statuses) == 300, (len(statuses), set(statuses))
    assert len(seen) > 4, f"the children were not replaced: {seen}"
    reports = wait_for(lambda: errorlog.drop_reports(h.error_log_text()), 3.0)
    time.sleep(0.5)
    reports = errorlog.drop_reports(h.error_log_text())
    assert time.monotonic() - t0 < 60
    assert len(reports) == 1, reports


def status_auto(h):
    """The Statsd* lines of /server-status?auto as a dict of ints."""
    r = h.get("/server-status?auto")
    assert r.status == 200, r
    out = {}
    for line in r.body.decode().splitlines():
        if line.startswith("Statsd"):
            k, v = line.split(": ", 1)
            out[k] = int(v)
    return out


AUTO_KEYS = ["StatsdRequests", "StatsdLinesSent", "StatsdDatagramsSent",
             "StatsdBytesSent", "StatsdDatagramsDropped", "StatsdNamesDistinct",
             "StatsdNamesOther"]


@pytest.mark.parametrize("mpm", MPMS)
def test_status_counts_what_the_receiver_got(httpd_factory, udp_listener, mpm):
    """Unbatched sends, two children: once every child's watchdog has
    published (bounded wait for StatsdRequests), the totals are exactly
    what the receiver got (the parent's reload markers are not the
    children's sends)."""
    conf = statsd_conf(udp_listener.port, extra="StatsdMaxNames 3\n") + STATUS
    h = httpd_factory(f"shared-status-{mpm}", mpm=mpm, conf=conf,
                      modules=DEFAULT_MODULES + ("status",))
    start_and_drain(h, udp_listener)
    n = 60
    for i in range(n):
        assert h.get(f"/p{i % 5}").status == 404
    lines = wait_measured(udp_listener, n, timeout=10)
    grams = [d for d in udp_listener.datagrams() if "httpd.reloads" not in d]
    st = wait_for(lambda: (lambda s: s if s.get("StatsdRequests") == n else None)(status_auto(h)), 5.0)
    assert st, status_auto(h)
    keys = list(st)
    assert keys[:7] == AUTO_KEYS, keys
    assert st["StatsdLinesSent"] == len(lines)
    assert st["StatsdDatagramsSent"] == len(grams) == n
    assert st["StatsdBytesSent"] == sum(len(d) for d in grams)
    assert st["StatsdDatagramsDropped"] == 0
    assert st["StatsdNamesDistinct"] == 3
    assert st["StatsdNamesOther"] == n * 2 // 5
    html = h.get("/server-status").body.decode()
    port = udp_listener.port
    assert "mod_statsd" in html
    assert f"<tr><td>udp://127.0.0.1:{port}</td><td>127.0.0.1:{port}</td>" in html


def test_status_shows_each_destinations_address(private_hosts, httpd_factory,
                                                udp_listener):
    """A destination named by host: mod_status shows the target as
    configured and the address the serving child sends to."""
    name = "statsd.status.test"
    port = udp_listener.port
    conf = (f"Statsd On\nStatsdServer udp://{name}:{port}\n"
            "StatsdPrefix test\nStatsdFlushInterval 0\n" + STATUS)
    h = httpd_factory("shared-address", conf=conf,
                      modules=DEFAULT_MODULES + ("status",),
                      hosts=f"127.0.0.1 localhost\n127.0.0.1 {name}\n")
    start_and_drain(h, udp_listener)
    assert h.get("/p").status == 404
    assert counted(wait_measured(udp_listener, 1)) == ["test.p.GET.404"]
    html = h.get("/server-status").body.decode()
    assert (f"<tr><td>udp://{name}:{port}</td><td>127.0.0.1:{port}</td>"
            in html), html


@pytest.mark.error_log_expect(DROPPED)
def test_status_counts_drops_when_nothing_listens(httpd_factory):
    """Nothing listens: every datagram is either sent or dropped, and the
    dropped ones are the requests whose note says -1."""
    port = free_udp_port()
    conf = (f"Statsd On\nStatsdServer udp://127.0.0.1:{port}\nStatsdPrefix test\n"
            f"StatsdFlushInterval 0\n" + STATUS
            + 'LogFormat "%{statsd}n" statsdfmt\nCustomLog logs/statsd.log statsdfmt\n')
    h = httpd_factory("shared-drops", conf=conf,
                      modules=DEFAULT_MODULES + ("status",)).start()
    n = 50
    for _ in range(n):
        assert h.get("/static.txt").status == 200
        time.sleep(0.02)
    notes = h.wait_log_lines("statsd.log", n)
    refused = sum(1 for l in notes if l.split()[2] == "-1")
    st = wait_for(lambda: (lambda s: s if s.get("StatsdRequests") == n else None)(status_auto(h)), 5.0)
    assert st, status_auto(h)
    assert refused >= 1
    assert st["StatsdDatagramsSent"] + st["StatsdDatagramsDropped"] == n
    assert st["StatsdDatagramsDropped"] == refused
    assert st["StatsdDroppedRefused"] == refused


def test_module_works_without_mod_status(httpd_factory, udp_listener):
    """The status hook is optional: without mod_status the module loads
    and measures as ever."""
    h = httpd_factory("shared-nostatus", conf=statsd_conf(udp_listener.port))
    assert "status" not in h.modules
    start_and_drain(h, udp_listener)
    assert h.get("/p").status == 404
    assert counted(wait_measured(udp_listener, 1)) == ["test.p.GET.404"]


def test_self_metrics_as_counters(httpd_factory, udp_listener):
    """Every StatsdScoreboardInterval the child that sends the worker
    gauges sends what the whole server did since its last report, as
    counters under the prefix: summed, P.mod_statsd.lines_sent equals the
    lines the receiver got before the last report (a report counts the
    lines sent before it, its own in the next one)."""
    conf = statsd_conf(udp_listener.port, extra="StatsdScoreboardInterval 1\n")
    h = httpd_factory("shared-selfmetrics", conf=conf)
    start_and_drain(h, udp_listener)
    for i in range(30):
        assert h.get(f"/p{i}").status == 404
    wait_measured(udp_listener, 30, timeout=10)
    time.sleep(3.5)        # every child has published, two reports since
    lines = [l for l in udp_listener.lines() if "httpd.reloads" not in l]
    sent = [i for i, l in enumerate(lines) if l.startswith("test.mod_statsd.lines_sent:")]
    assert len(sent) >= 2, lines[-20:]
    last = sent[-1]
    total = sum(int(lines[i].split(":")[1].split("|")[0]) for i in sent)
    assert total == last, (total, last)
    for k in ("datagrams_sent", "dropped", "names_other"):
        assert any(l.startswith(f"test.mod_statsd.{k}:") and l.endswith("|c") for l in lines), k
    assert not any(l.startswith("test.mod_statsd.dropped.") for l in lines)
