"""Statuses and what is measured: good/bad/4xx/5xx service
lines, ErrorDocument, no-statsd, `Statsd Off`, StatsdHTTPVerbs and unknown
methods, StatsdLegacyMode, StatsdServiceStats, StatsdTimeUnit. One httpd
for the whole module, one <Location> per feature."""

import pytest

from statsdtest.httpd import Httpd
from statsdtest.lines import (assert_lines, assert_nothing_after_marker, statsd_conf,
                              std_lines)
from statsdtest.listeners import UdpListener
from statsdtest.servers import serve_env


@pytest.fixture(scope="module")
def env():
    lst = UdpListener()
    h = Httpd("statuses")
    s500 = h.add_script("s500.lua", "function handle(r)\n  return 500\nend\n")
    s503 = h.add_script("s503.lua", "function handle(r)\n  return 503\nend\n")
    s201 = h.add_script("s201.lua", 'function handle(r)\n  r.status = 201\n'
                        '  r.content_type = "text/plain"\n  r:puts("made\\n")\n'
                        '  return apache2.OK\nend\n')
    h.add_file("off/static.txt", "off\n")
    h.add_file("health", "ok\n")
    h.conf_extra = statsd_conf(lst.port) + f"""
SetEnvIf Request_URI ^/health$ no-statsd
Redirect 301 /moved /static.txt
Redirect 302 /found /static.txt
<Location /denied>
    Require all denied
</Location>
LuaMapHandler ^/lua/500$ "{s500}"
LuaMapHandler ^/lua/503$ "{s503}"
LuaMapHandler ^/lua/201$ "{s201}"
LuaMapHandler ^/ed/lua500$ "{s500}"
<Location /ed>
    ErrorDocument 404 /errors/404.html
    ErrorDocument 500 /errors/404.html
</Location>
<Location /off>
    Statsd Off
</Location>
<Location /verbs>
    StatsdHTTPVerbs GET POST
</Location>
<Location /verbsfoo>
    StatsdHTTPVerbs GET FOO
</Location>
<Location /nolegacy>
    StatsdLegacyMode Off
</Location>
<Location /noservice>
    StatsdServiceStats Off
</Location>
<Location /neither>
    StatsdLegacyMode Off
    StatsdServiceStats Off
</Location>
<Location /us>
    StatsdTimeUnit microseconds
</Location>
<Location /sec>
    StatsdTimeUnit seconds
</Location>
<Location /ms>
    StatsdTimeUnit milliseconds
</Location>
"""
    yield from serve_env(h, lst)


@pytest.fixture
def e(env):
    return env.fresh()


def marker(e):
    """A request whose lines prove that earlier requests sent nothing."""
    return (lambda: e.httpd.get("/marker"), std_lines("marker", "GET", 404))


# ---- statuses -------------------------------------------------------------------

def test_200(e):
    assert e.httpd.get("/static.txt").status == 200
    assert_lines(e.listener, std_lines("static_txt", "GET", 200))


def test_201_from_handler(e):
    r = e.httpd.get("/lua/201")
    assert r.status == 201 and r.body == b"made\n"
    assert_lines(e.listener, std_lines("lua.201", "GET", 201))


def test_301_redirect(e):
    r = e.httpd.get("/moved")
    assert r.status == 301 and r.header("Location", ).endswith("/static.txt")
    assert_lines(e.listener, std_lines("moved", "GET", 301))


def test_302_redirect(e):
    assert e.httpd.get("/found").status == 302
    assert_lines(e.listener, std_lines("found", "GET", 302))


@pytest.mark.error_log_expect("AH01630")   # authz_core: client denied
def test_403(e):
    assert e.httpd.get("/denied/x").status == 403
    assert_lines(e.listener, [
        "test.denied.x.GET.403:<dur>|ms", "test.denied.x.GET.403:1|c",
        "test.responses.bad:1|c", "test.responses.4xx:1|c",
        "test.responses.time:<dur>|ms"])


def test_404(e):
    assert e.httpd.get("/nope").status == 404
    assert_lines(e.listener, std_lines("nope", "GET", 404))


def test_500(e):
    assert e.httpd.get("/lua/500").status == 500
    assert_lines(e.listener, [
        "test.lua.500.GET.500:<dur>|ms", "test.lua.500.GET.500:1|c",
        "test.responses.bad:1|c", "test.responses.5xx:1|c",
        "test.responses.time:<dur>|ms"])


def test_503(e):
    assert e.httpd.get("/lua/503").status == 503
    assert_lines(e.listener, std_lines("lua.503", "GET", 503))


# ---- internal redirects -----------------------------------------------------

def test_error_document_404(e):
    r = e.httpd.get("/ed/missing/page")
    assert r.status == 404 and b"custom 404" in r.body
    # one measurement, named after the path the client asked for
    assert_lines(e.listener, std_lines("ed.missing.page", "GET", 404))


def test_error_document_for_500(e):
    r = e.httpd.get("/ed/lua500")
    assert r.status == 500 and b"custom 404" in r.body
    assert_lines(e.listener, std_lines("ed.lua500", "GET", 500))


# ---- not measured -------------------------------------------------------------

def test_no_statsd_env(e):
    r = e.httpd.get("/health")
    assert r.status == 200 and r.body == b"ok\n"
    send, lines = marker(e)
    assert_nothing_after_marker(e.listener, send, lines)


def test_no_statsd_only_exact_match(e):
    assert e.httpd.get("/health/x").status == 404
    assert_lines(e.listener, std_lines("health.x", "GET", 404))


def test_statsd_off_in_location(e):
    assert e.httpd.get("/off/static.txt").status == 200
    assert e.httpd.get("/off/missing").status == 404
    send, lines = marker(e)
    assert_nothing_after_marker(e.listener, send, lines)


# ---- methods ------------------------------------------------------------------------

def test_head_is_other_verb_when_not_listed(e):
    r = e.httpd.request("HEAD", "/verbs/x")
    assert r.status == 404
    assert_lines(e.listener, std_lines("verbs.x", "OtherVerbs", 404))


def test_listed_verbs_kept(e):
    assert e.httpd.get("/verbs/x").status == 404
    assert_lines(e.listener, std_lines("verbs.x", "GET", 404))
    e.listener.clear()
    r = e.httpd.request("POST", "/verbs/x", body=b"a=b")
    assert_lines(e.listener, std_lines("verbs.x", "POST", r.status))


def test_known_unlisted_verb(e):
    r = e.httpd.request("PROPFIND", "/verbs/x")
    assert r.status is not None
    assert_lines(e.listener, std_lines("verbs.x", "OtherVerbs", r.status))


@pytest.mark.error_log_expect("AH00135")   # core: Invalid method in request
def test_unknown_method_with_verbs(e):
    r = e.httpd.raw(b"FOO /verbs/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert r.status is not None and r.status >= 400
    assert_lines(e.listener, std_lines("verbs.x", "OtherVerbs", r.status))


@pytest.mark.error_log_expect("AH00135")
def test_unknown_method_always_other_verbs(e):
    # no StatsdHTTPVerbs here: methods httpd does not know are OtherVerbs
    r = e.httpd.raw(b"FOO /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert r.status is not None and r.status >= 400
    assert_lines(e.listener, std_lines("x", "OtherVerbs", r.status))


@pytest.mark.error_log_expect("AH00135")
def test_unknown_method_listed_is_still_other_verbs(e):
    # M_INVALID methods are always OtherVerbs, even when listed
    r = e.httpd.raw(b"FOO /verbsfoo/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert r.status is not None
    assert_lines(e.listener, std_lines("verbsfoo.x", "OtherVerbs", r.status))


def test_known_method_without_verbs_list(e):
    r = e.httpd.request("PROPFIND", "/x")
    assert r.status is not None
    assert_lines(e.listener, std_lines("x", "PROPFIND", r.status))


def test_head_without_verbs_list(e):
    assert e.httpd.request("HEAD", "/static.txt").status == 200
    assert_lines(e.listener, std_lines("static_txt", "HEAD", 200))


# ---- legacy / service lines ---------------------------------------------------

def test_legacy_mode_off(e):
    assert e.httpd.get("/nolegacy/x").status == 404
    assert_lines(e.listener, [
        "test.nolegacy.x.GET.404:<dur>|ms",
        "test.responses.bad:1|c", "test.responses.4xx:1|c",
        "test.responses.time:<dur>|ms"])


def test_service_stats_off(e):
    assert e.httpd.get("/noservice/x").status == 404
    assert_lines(e.listener, [
        "test.noservice.x.GET.404:<dur>|ms", "test.noservice.x.GET.404:1|c"])


def test_legacy_and_service_off(e):
    assert e.httpd.get("/neither/x").status == 404
    assert_lines(e.listener, ["test.neither.x.GET.404:<dur>|ms"])


# ---- time units -----------------------------------------------------------------------

def test_time_unit_microseconds(e):
    assert e.httpd.get("/us/x").status == 404
    got = assert_lines(e.listener, std_lines("us.x", "GET", 404), unit="microseconds")
    durs = [l.split(":")[1].split("|")[0] for l in got if l.endswith("|ms")]
    assert all(d.isdigit() and int(d) >= 1 for d in durs), durs


def test_time_unit_seconds(e):
    assert e.httpd.get("/sec/x").status == 404
    got = assert_lines(e.listener, std_lines("sec.x", "GET", 404), unit="seconds")
    for l in got:
        if l.endswith("|ms"):
            d = l.split(":")[1].split("|")[0]
            # a local request takes well under a second: 0.000123 form
            assert d.startswith("0.") and 0 < float(d) < 1, d


def test_time_unit_milliseconds_explicit(e):
    assert e.httpd.get("/ms/x").status == 404
    assert_lines(e.listener, std_lines("ms.x", "GET", 404), unit="milliseconds")


def test_durations_are_plausible(e):
    # the default unit is milliseconds: a local static request takes far
    # less than a second, and more than 0
    for i in range(5):
        e.listener.clear()
        assert e.httpd.get("/static.txt").status == 200
        got = assert_lines(e.listener, std_lines("static_txt", "GET", 200), grace=0.02)
        d = float([l for l in got if l.endswith("|ms")][0].split(":")[1][:-3])
        assert 0 < d < 1000, got
