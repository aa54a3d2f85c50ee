"""Configuration safety: a user's .htaccess can never choose
where metrics go, nor the prefix they go under (test_htaccess.py covers
every directive); every bad value stops `apache2 -t` with a message naming
the directive and the value (the cases test_config.py does not already
cover); a bad config at a graceful restart leaves the running server
measuring; and StatsdStatHeader (Off, a custom header name)."""

import re

import pytest

from statsdtest.httpd import Httpd
from statsdtest.proc import alive
from statsdtest.lines import assert_lines, reload_markers, statsd_conf, std_lines
from statsdtest.listeners import UdpListener
from statsdtest.servers import (MAIN_ONLY_REFUSALS, assert_configtest_rejects,
                                configtest_in_section, serve_env, serve_htaccess,
                                start_and_drain)

# ---- .htaccess ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ht():
    htaccess = {
        "host": "StatsdHost 127.0.0.1\n",
        "server": "StatsdServer udp://127.0.0.1:{other}\n",
        "both": "StatsdPrefix fromuser\nStatsdServer udp://127.0.0.1:{other}\n",
        "prefix": "StatsdPrefix fromuser\n",
        "rate": "StatsdSampleRate 0.5\n",
        "buckets": "StatsdLatencyBuckets 100 250\n",
    }
    yield from serve_htaccess("htaccess", {"u": "AllowOverride All"},
                              {f"u/{d}": text for d, text in htaccess.items()},
                              expected=(r"not allowed here",))


@pytest.fixture
def hte(ht):
    ht.other.reset()
    return ht.fresh()


@pytest.mark.error_log_expect(r"not allowed here")   # core, no id
@pytest.mark.parametrize("d,directive", [("host", "StatsdHost"), ("server", "StatsdServer"),
                                         ("both", "StatsdPrefix"),
                                         ("prefix", "StatsdPrefix"),
                                         ("rate", "StatsdSampleRate"),
                                         ("buckets", "StatsdLatencyBuckets")])
def test_destination_in_htaccess_is_refused(hte, d, directive):
    since = hte.httpd.error_log_size()
    r = hte.httpd.get(f"/u/{d}/")
    assert r.status == 500, r
    log = hte.httpd.error_log_text(since)
    assert re.search(rf"/u/{d}/\.htaccess: {directive} not allowed here", log), log[-2000:]
    # measured at the server's destination, under the server's prefix;
    # never at the destination the .htaccess names
    assert_lines(hte.listener, std_lines(f"u.{d}", "GET", 500))
    assert hte.other.lines() == []


# ---- configtest: values test_config.py does not cover ----------------------------------

BAD = [
    ("StatsdPort -1", "StatsdPort", "-1"),
    ("StatsdPort 8125x", "StatsdPort", "8125x"),
    ("StatsdPort 0x1F90", "StatsdPort", "0x1F90"),
    ("StatsdPort +80", "StatsdPort", "+80"),
    ("StatsdPort 99999999999999999999", "StatsdPort", "99999999999999999999"),
    ("StatsdServer unix:relative", "StatsdServer", "unix:relative"),
    ("StatsdServer unix:", "StatsdServer", "unix:"),
    ("StatsdServer unix:/" + "s" * 120, "StatsdServer", "unix:/" + "s" * 120),
    ("StatsdServer udp://:8125", "StatsdServer", "udp://:8125"),
    ('StatsdServer "udp://[::1"', "StatsdServer", "udp://[::1"),
    ("StatsdServer udp://[nothex]:1", "StatsdServer", "udp://[nothex]:1"),
    ("StatsdServer udp://127.0.0.1:65536", "StatsdServer", "udp://127.0.0.1:65536"),
    ("StatsdServer udp://127.0.0.1:abc", "StatsdServer", "udp://127.0.0.1:abc"),
    ("StatsdServer udp://127.0.0.1:", "StatsdServer", "udp://127.0.0.1:"),
    ("StatsdServer 127.0.0.1:8125", "StatsdServer", "127.0.0.1:8125"),
    ('StatsdServer "udp://a b:1"', "StatsdServer", "udp://a b:1"),
    ('StatsdHost "bad host"', "StatsdHost", "bad host"),
    ('StatsdHost "[::1"', "StatsdHost", "[::1"),
    ("StatsdHost " + "h" * 300, "StatsdHost", "h" * 300),
    ("StatsdMaxNameLength 10", "StatsdMaxNameLength", "10"),
    ("StatsdMaxNameLength 31", "StatsdMaxNameLength", "31"),
    ("StatsdMaxNameLength 1025", "StatsdMaxNameLength", "1025"),
    ("StatsdMaxNameLength abc", "StatsdMaxNameLength", "abc"),
    ("StatsdMaxNames abc", "StatsdMaxNames", "abc"),
    ("StatsdMaxNames -1", "StatsdMaxNames", "-1"),
    ("StatsdMaxNames 1000001", "StatsdMaxNames", "1000001"),
    ("StatsdFlushInterval 60001", "StatsdFlushInterval", "60001"),
    ("StatsdFlushInterval 1.5", "StatsdFlushInterval", "1.5"),
    ("StatsdMaxPacketSize 1e3", "StatsdMaxPacketSize", "1e3"),
    ('StatsdStatHeader "X Bad"', "StatsdStatHeader", "X Bad"),
    ("StatsdStatHeader X:Y", "StatsdStatHeader", "X:Y"),
    ("StatsdPrefix " + "p" * 300, "StatsdPrefix", "p" * 300),
    ('StatsdStat "..."', "StatsdStat", "..."),
    ("StatsdNote maybe", "StatsdNote", "maybe"),
]


@pytest.mark.parametrize("line,directive,value", BAD, ids=[b[0][:40] for b in BAD])
def test_configtest_rejects(httpd_factory, line, directive, value):
    h = httpd_factory("badconf", conf=statsd_conf(8125) + line + "\n")
    assert_configtest_rejects(h, line, directive, value)


CONTEXT = [
    ("StatsdMaxPacketSize 600", "vhost"),
    ("StatsdMaxNames 5", "vhost"),
    ("StatsdMaxPacketSize 600", "location"),
    ("StatsdMaxNames 5", "location"),
    ("StatsdFlushInterval 5", "location"),
    ("StatsdNote On", "vhost"),
    ("StatsdNote Off", "location"),
]


@pytest.mark.parametrize("line,where", CONTEXT, ids=[
    f"{line.split()[0]}-in-{MAIN_ONLY_REFUSALS[where][0]}" for line, where in CONTEXT])
def test_configtest_rejects_server_only_directive_in_section(httpd_factory, line, where):
    directive = line.split()[0]
    rc, out, why = configtest_in_section(httpd_factory, "ctx", where, line)
    assert rc != 0 and f"{directive} {why}" in out, out


def test_configtest_accepts_boundaries_and_unresolvable_names(httpd_factory):
    # names are resolved when httpd starts (post_config), never by
    # configtest: a DNS outage cannot fail `apachectl configtest`
    h = httpd_factory("bounds", conf=statsd_conf(8125) + """
StatsdMaxNameLength 32
StatsdFlushInterval 60000
StatsdMaxNames 1000000
<Location /a>
    StatsdHost no-such-host.invalid
    StatsdPort 1
    StatsdMaxNameLength 1024
</Location>
<Location /b>
    StatsdServer udp://no-such-host.invalid:65535
</Location>
<VirtualHost 127.0.0.1:9>
    StatsdMaxNameLength 40
    StatsdCollapseIds On
</VirtualHost>
""")
    rc, out = h.configtest()
    assert rc == 0 and "Syntax OK" in out, out
    assert "resolve" not in out, out


@pytest.mark.parametrize("value", ["0", "1.5", "-0.1", "abc", "nan"])
def test_configtest_rejects_bad_sample_rate(httpd_factory, value):
    h = httpd_factory("badrate", conf=statsd_conf(8125) + f"StatsdSampleRate {value}\n")
    assert_configtest_rejects(h, f"StatsdSampleRate {value}", "StatsdSampleRate", value)


def test_bad_config_at_graceful_keeps_the_running_server(httpd_factory, udp_listener):
    h = start_and_drain(httpd_factory("gracebad", conf=statsd_conf(udp_listener.port)),
                        udp_listener)
    good = h.conf_extra
    pid = h.pid
    h.conf_extra = good + "StatsdPort 0\n"
    h.write_config()
    p = h.cmd("-k", "graceful")
    assert p.returncode != 0, p.stdout
    assert "StatsdPort" in p.stdout and "'0'" in p.stdout, p.stdout
    # the old generation keeps serving and measuring, with no reload
    assert h.get("/still").status == 404
    assert_lines(udp_listener, std_lines("still", "GET", 404))
    assert reload_markers(udp_listener) == []
    assert h.pid == pid and alive(pid)
    h.conf_extra = good
    h.write_config()


# ---- StatsdStatHeader -----------------------------------------------------------------

HDR_LUA = r"""
function handle(r)
  local a = r.args or ""
  local t = r.headers_out
  if a:match("err=1") then t = r.err_headers_out end
  if a:match("std=1") then t['X-Statsd-Stat'] = 'std.name' end
  if a:match("metric=1") then t['X-Metric-Name'] = 'metric.name' end
  if a:match("status=404") then return 404 end
  r.content_type = "text/plain"
  r:puts("hdr\n")
  return apache2.OK
end
"""


@pytest.fixture(scope="module")
def hdr():
    lst = UdpListener()
    h = Httpd("statheader")
    lua = h.add_script("hdr.lua", HDR_LUA)
    h.conf_extra = statsd_conf(lst.port) + f"""
LuaMapHandler "^/(default|off|custom|customci|offserver|re)/set$" "{lua}"
<Location /off>
    StatsdStatHeader Off
</Location>
<Location /custom>
    StatsdStatHeader X-Metric-Name
</Location>
<Location /customci>
    StatsdStatHeader x-METRIC-name
</Location>
<VirtualHost 127.0.0.1:{h.port}>
    ServerName offserver.test
    StatsdStatHeader Off
    <Location /re>
        StatsdStatHeader X-Statsd-Stat
    </Location>
</VirtualHost>
<VirtualHost 127.0.0.1:{h.port}>
    ServerName default.test
</VirtualHost>
"""
    yield from serve_env(h, lst)


@pytest.fixture
def he(hdr):
    return hdr.fresh()


@pytest.mark.parametrize("err", [0, 1], ids=["headers_out", "err_headers_out"])
def test_stat_header_off_ignores_it_and_passes_it_on(he, err):
    r = he.httpd.get(f"/off/set?std=1&err={err}")
    assert r.status == 200 and r.body == b"hdr\n"
    # not a name source any more: just a header, so the client gets it
    assert r.header("X-Statsd-Stat") == "std.name", r.headers
    assert_lines(he.listener, std_lines("off.set", "GET", 200))


@pytest.mark.parametrize("err", [0, 1], ids=["headers_out", "err_headers_out"])
def test_custom_stat_header_names_and_is_removed(he, err):
    r = he.httpd.get(f"/custom/set?std=1&metric=1&err={err}")
    assert r.status == 200
    assert not r.has_header("X-Metric-Name"), r.headers
    # the default header is an ordinary header here
    assert r.header("X-Statsd-Stat") == "std.name", r.headers
    assert_lines(he.listener, std_lines("metric.name", "GET", 200))


def test_custom_stat_header_absent_falls_back_to_path(he):
    r = he.httpd.get("/custom/set?std=1")
    assert r.status == 200 and r.header("X-Statsd-Stat") == "std.name"
    assert_lines(he.listener, std_lines("custom.set", "GET", 200))


def test_custom_stat_header_name_is_case_insensitive(he):
    r = he.httpd.get("/customci/set?metric=1")
    assert r.status == 200 and not r.has_header("X-Metric-Name"), r.headers
    assert_lines(he.listener, std_lines("metric.name", "GET", 200))


def test_custom_stat_header_on_an_error_response(he):
    r = he.httpd.get("/custom/set?metric=1&err=1&status=404")
    assert r.status == 404
    assert not r.has_header("X-Metric-Name"), r.headers
    assert_lines(he.listener, std_lines("metric.name", "GET", 404))


def test_stat_header_off_in_vhost_on_again_in_location(he):
    r = he.httpd.get("/offserver/set?std=1", host="offserver.test")
    assert r.status == 200 and r.header("X-Statsd-Stat") == "std.name"
    assert_lines(he.listener, std_lines("offserver.set", "GET", 200))
    he.listener.clear()
    r = he.httpd.get("/re/set?std=1", host="offserver.test")
    assert r.status == 200 and not r.has_header("X-Statsd-Stat"), r.headers
    assert_lines(he.listener, std_lines("std.name", "GET", 200))


def test_default_stat_header_still_removed_next_to_custom_sections(he):
    r = he.httpd.get("/default/set?std=1&metric=1", host="default.test")
    assert r.status == 200
    assert not r.has_header("X-Statsd-Stat"), r.headers
    assert r.header("X-Metric-Name") == "metric.name"
    assert_lines(he.listener, std_lines("std.name", "GET", 200))
