"""Per-backend timings behind mod_proxy (StatsdBackendTimings,
StatsdBackendName) against real backends on loopback: Python HTTP servers
that sleep a known time and answer a known status, a backend that is down,
a balancer with two members, failover past a member that is down, a
mod_rewrite [P] request, tag mode; under each MPM. Exact lines; times only
as lower bounds. And the module without mod_proxy loaded."""

import time
import urllib.parse

import pytest

from statsdtest import proc
from statsdtest.httpd import DEFAULT_MODULES, Httpd
from statsdtest.lines import DUR, assert_lines, statsd_conf, std_lines, value_of
from statsdtest.listeners import UdpListener
from statsdtest.servers import (HttpBackend, QuietHandler, assert_refused_in_htaccess,
                                serve_env, start_and_drain)

MPMS = ("event", "worker", "prefork")
PROXY_MODULES = DEFAULT_MODULES + ("proxy", "proxy_http", "proxy_balancer",
                                   "slotmem_shm", "lbmethod_byrequests")


class Backend(QuietHandler):
    """GET /x?ms=N&status=S: sleeps N ms, answers S with a short body."""

    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        ms = min(int(q.get("ms", ["0"])[0]), 2000)
        status = int(q.get("status", ["200"])[0])
        time.sleep(ms / 1000)
        body = f"{self.server.server_port}\n".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def wname(port):
    return f"http___127_0_0_1_{port}"


@pytest.fixture(scope="module", params=MPMS)
def env(request):
    lst = UdpListener()
    b1, b2 = HttpBackend(Backend), HttpBackend(Backend)
    p1, p2 = b1.port, b2.port
    down = proc.free_tcp_port()
    h = Httpd(f"backend-{request.param}", mpm=request.param, modules=PROXY_MODULES)
    h.conf_extra = statsd_conf(lst.port) + f"""
StatsdBackendTimings On
ProxyPass /app/ http://127.0.0.1:{p1}/
ProxyPass /down/ http://127.0.0.1:{down}/ retry=0
ProxyPass /named/ http://127.0.0.1:{p2}/named/
<Proxy http://127.0.0.1:{p2}/named/>
    StatsdBackendName api
</Proxy>
<Proxy balancer://pool>
    BalancerMember http://127.0.0.1:{p1}
    BalancerMember http://127.0.0.1:{p2}
    ProxySet lbmethod=byrequests
</Proxy>
ProxyPass /pool/ balancer://pool/
<Proxy balancer://failover>
    BalancerMember http://127.0.0.1:{down}
    BalancerMember http://127.0.0.1:{p2}
    ProxySet lbmethod=byrequests
    StatsdBackendName shop_failover
</Proxy>
ProxyPass /failover/ balancer://failover/
RewriteEngine On
RewriteRule ^/rw/(.*)$ http://127.0.0.1:{p1}/$1 [P]
<Location /untimed/>
    StatsdBackendTimings Off
</Location>
ProxyPass /untimed/ http://127.0.0.1:{p1}/
"""
    yield from serve_env(h, lst, p1=p1, p2=p2, down=down)
    b1.stop()
    b2.stop()


def backend_lines(name, status):
    lines = [f"test.backend.{name}.time:{DUR}|ms"]
    if status < 400:
        lines.append(f"test.backend.{name}.good:1|c")
    else:
        lines += [f"test.backend.{name}.bad:1|c",
                  f"test.backend.{name}.{status // 100}xx:1|c"]
    return lines


def ms_of(lines, name):
    return float(value_of(lines, name))


def test_backend_time_and_status(env):
    env.fresh()
    r = env.httpd.get("/app/x?ms=200&status=200")
    assert r.status == 200, r
    got = assert_lines(env.listener, std_lines("app.x", "GET", 200)
                       + backend_lines(wname(env.p1), 200), same_duration=False)
    backend = ms_of(got, f"test.backend.{wname(env.p1)}.time")
    assert backend >= 200
    assert backend <= ms_of(got, "test.responses.time")


@pytest.mark.parametrize("status", [404, 503])
def test_backend_error_statuses_are_answers(env, status):
    """A backend's own 4xx or 5xx is an answer: timed and classified, not
    an error of reaching it."""
    env.fresh()
    r = env.httpd.get(f"/app/x?ms=50&status={status}")
    assert r.status == status, r
    got = assert_lines(env.listener, std_lines("app.x", "GET", status)
                       + backend_lines(wname(env.p1), status), same_duration=False)
    assert ms_of(got, f"test.backend.{wname(env.p1)}.time") >= 50


@pytest.mark.error_log_expect(r"AH00957", r"AH01114", r"AH00959")
def test_backend_down(env):
    env.fresh()
    r = env.httpd.get("/down/x")
    assert r.status == 503, r
    assert_lines(env.listener, std_lines("down.x", "GET", 503)
                 + [f"test.backend.{wname(env.down)}.errors:1|c"])


def test_named_in_proxy_section(env):
    env.fresh()
    r = env.httpd.get("/named/x?status=200")
    assert r.status == 200, r
    assert_lines(env.listener, std_lines("named.x", "GET", 200) + backend_lines("api", 200),
                 same_duration=False)


def test_balancer_members(env):
    """byrequests alternates: two requests, one per member, each also
    under the balancer's name."""
    env.fresh()
    ports = []
    for _ in range(2):
        r = env.httpd.get("/pool/x?ms=100&status=200")
        assert r.status == 200, r
        ports.append(int(r.body.decode().strip()))
    assert sorted(ports) == sorted([env.p1, env.p2])
    got = assert_lines(env.listener,
                       2 * std_lines("pool.x", "GET", 200)
                       + backend_lines(wname(env.p1), 200)
                       + backend_lines(wname(env.p2), 200)
                       + 2 * backend_lines("balancer___pool", 200),
                       same_duration=False, datagrams=2)
    assert ms_of(got, f"test.backend.{wname(env.p1)}.time") >= 100
    assert ms_of(got, f"test.backend.{wname(env.p2)}.time") >= 100


@pytest.mark.error_log_expect(r"AH00957", r"AH01114", r"AH00959", r"AH01174")
def test_balancer_failover(env):
    """byrequests tries the member that is down for one of the two
    requests (then it is in error and skipped): that request counts an
    error for it; both are answered by the live member: its time and
    status, and the balancer's (named by StatsdBackendName in its <Proxy>
    section)."""
    env.fresh()
    for _ in range(2):
        r = env.httpd.get("/failover/x?status=200")
        assert r.status == 200, r
        assert int(r.body.decode().strip()) == env.p2
    assert_lines(env.listener,
                 2 * std_lines("failover.x", "GET", 200)
                 + 2 * backend_lines(wname(env.p2), 200)
                 + 2 * backend_lines("shop_failover", 200)
                 + [f"test.backend.{wname(env.down)}.errors:1|c"],
                 same_duration=False, datagrams=2)


def test_rewrite_proxy_flag(env):
    """A mod_rewrite [P] request is named by its target's scheme, host and
    port."""
    env.fresh()
    r = env.httpd.get("/rw/x?status=200")
    assert r.status == 200, r
    assert_lines(env.listener, std_lines("rw.x", "GET", 200) + backend_lines(wname(env.p1), 200),
                 same_duration=False)


def test_off_in_a_location(env):
    env.fresh()
    assert env.httpd.get("/untimed/x").status == 200
    assert_lines(env.listener, std_lines("untimed.x", "GET", 200))


def test_static_file_has_no_backend_lines(env):
    env.fresh()
    assert env.httpd.get("/static.txt").status == 200
    assert_lines(env.listener, std_lines("static_txt", "GET", 200))


# ---- tag mode, without mod_proxy, configuration -------------------------------------------


def test_tag_mode(httpd_factory, udp_listener):
    b = HttpBackend(Backend)
    try:
        h = httpd_factory("backend-tags", modules=PROXY_MODULES)
        h.conf_extra = statsd_conf(udp_listener.port, extra="""StatsdBackendTimings On
StatsdTagFormat influx
StatsdTag env prod
StatsdTagMode On
StatsdLegacyMode Off
StatsdServiceStats Off
""") + f"ProxyPass /app/ http://127.0.0.1:{b.port}/\n"
        start_and_drain(h, udp_listener)
        assert h.get("/app/x?status=404").status == 404
        n = wname(b.port)
        assert_lines(udp_listener, [
            f"test.request.time,env=prod,route=app.x,method=GET,status=404:{DUR}|ms",
            f"test.backend.time,env=prod,backend={n}:{DUR}|ms",
            f"test.backend.bad,env=prod,backend={n}:1|c",
            f"test.backend.4xx,env=prod,backend={n}:1|c",
        ], same_duration=False)
    finally:
        b.stop()


def test_without_mod_proxy(httpd_factory, udp_listener):
    """Loads and measures with mod_proxy absent; StatsdBackendName is still
    refused outside <Proxy> (there is none to put it in)."""
    h = httpd_factory("backend-noproxy")
    assert "proxy" not in h.modules
    h.conf_extra = statsd_conf(udp_listener.port, extra="StatsdBackendTimings On\n")
    start_and_drain(h, udp_listener)
    assert h.get("/static.txt").status == 200
    assert_lines(udp_listener, std_lines("static_txt", "GET", 200))


def test_name_only_in_proxy_sections(httpd_factory):
    h = httpd_factory("backend-name", modules=PROXY_MODULES)
    h.conf_extra = statsd_conf(9) + "<Location /x>\n    StatsdBackendName api\n</Location>\n"
    rc, out = h.configtest()
    assert rc != 0 and "StatsdBackendName" in out and "<Proxy>" in out, out
    h.conf_extra = statsd_conf(9) + "StatsdBackendName api\n"
    rc, out = h.configtest()
    assert rc != 0 and "StatsdBackendName" in out, out


@pytest.mark.error_log_expect(r"not allowed here")
def test_timings_refused_in_htaccess(httpd_factory):
    assert_refused_in_htaccess(httpd_factory("backend-ht"), "StatsdBackendTimings On")
