"""Directives and their merging: StatsdPrefix
and StatsdSuffix forms, {hostname}, per-vhost prefixes, destinations per
section, list merging, flags with an unset state, .htaccess refusal and
configtest failures for bad values."""

import re

import pytest

from statsdtest.httpd import Httpd
from statsdtest.lines import (assert_lines, assert_nothing_after_marker,
                              hostname_short_clean, request_lines, statsd_conf, std_lines)
from statsdtest.listeners import UdpListener
from statsdtest.servers import (assert_configtest_rejects, Env, serve_env, start_and_drain,
                                stop_and_check)


def started(httpd_factory, listener, name, conf="", prefix="test", **kw):
    h = httpd_factory(name, conf=statsd_conf(listener.port, prefix=prefix) + conf, **kw)
    return start_and_drain(h, listener)


# ---- prefix forms ---------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["prefix", "prefix.", ".prefix.", "prefix..."])
def test_prefix_dots_at_ends_ignored(httpd_factory, udp_listener, prefix):
    h = started(httpd_factory, udp_listener, "prefix", prefix=prefix)
    assert h.get("/x").status == 404
    assert_lines(udp_listener, [
        "prefix.x.GET.404:<dur>|ms", "prefix.x.GET.404:1|c",
        "prefix.responses.bad:1|c", "prefix.responses.4xx:1|c",
        "prefix.responses.time:<dur>|ms"])


def test_no_prefix(httpd_factory, udp_listener):
    h = started(httpd_factory, udp_listener, "noprefix", prefix=None)
    assert h.get("/x").status == 404
    assert_lines(udp_listener, [
        "x.GET.404:<dur>|ms", "x.GET.404:1|c",
        "responses.bad:1|c", "responses.4xx:1|c", "responses.time:<dur>|ms"])


def test_prefix_hostname(httpd_factory, udp_listener):
    h = started(httpd_factory, udp_listener, "hostname", prefix="web.{hostname}")
    assert h.get("/x").status == 404
    p = "web." + hostname_short_clean()
    assert_lines(udp_listener, std_lines("x", "GET", 404, prefix=p))


def test_suffix(httpd_factory, udp_listener):
    h = started(httpd_factory, udp_listener, "suffix", conf="StatsdSuffix .sfx.\n")
    assert h.get("/x").status == 404
    # K = P.NAME.METHOD.STATUS.S; the service lines are P.responses.*
    assert_lines(udp_listener, request_lines("test.x.GET.404.sfx", 404))


def test_suffix_hostname(httpd_factory, udp_listener):
    h = started(httpd_factory, udp_listener, "suffixhost",
                conf="StatsdSuffix {hostname}\nStatsdAggregateStat all\n")
    assert h.get("/x").status == 404
    host = hostname_short_clean()
    assert_lines(udp_listener, request_lines(
        f"test.x.GET.404.{host}", 404, aggregate=f"test.all.GET.404.{host}"))


# ---- server-level verbs and their replacement in a Location ---------------------

@pytest.fixture(scope="module")
def verbs_env():
    lst = UdpListener()
    h = Httpd("verbs", conf=statsd_conf(lst.port) + """
StatsdHTTPVerbs GET POST
<Location /v2>
    StatsdHTTPVerbs HEAD
</Location>
""")
    yield from serve_env(h, lst)


@pytest.fixture
def ve(verbs_env):
    return verbs_env.fresh()


def test_server_level_http_verbs_head(ve):
    # HEAD is its own verb: with only GET and POST listed it is OtherVerbs
    assert ve.httpd.request("HEAD", "/x").status == 404
    assert_lines(ve.listener, std_lines("x", "OtherVerbs", 404))


def test_server_level_http_verbs_get(ve):
    assert ve.httpd.get("/x").status == 404
    assert_lines(ve.listener, std_lines("x", "GET", 404))


def test_location_http_verbs_replace_get(ve):
    # StatsdHTTPVerbs replaces the inherited list: only HEAD here
    assert ve.httpd.get("/v2/x").status == 404
    assert_lines(ve.listener, std_lines("v2.x", "OtherVerbs", 404))


def test_location_http_verbs_replace_head(ve):
    assert ve.httpd.request("HEAD", "/v2/x").status == 404
    assert_lines(ve.listener, std_lines("v2.x", "HEAD", 404))


def test_location_http_verbs_replace_post(ve):
    r = ve.httpd.request("POST", "/v2/x", body=b"a=1")
    assert_lines(ve.listener, std_lines("v2.x", "OtherVerbs", r.status))


# ---- virtual hosts ------------------------------------------------------------------

@pytest.fixture(scope="module")
def vhosts():
    main = UdpListener()
    other = UdpListener()
    h = Httpd("vhosts")
    port = h.port
    h.conf_extra = statsd_conf(main.port) + f"""
<VirtualHost 127.0.0.1:{port}>
    ServerName a.test
    StatsdPrefix svc_a
</VirtualHost>
<VirtualHost 127.0.0.1:{port}>
    ServerName b.test
    StatsdPrefix svc_b.
    StatsdLegacyMode Off
</VirtualHost>
<VirtualHost 127.0.0.1:{port}>
    ServerName c.test
</VirtualHost>
<VirtualHost 127.0.0.1:{port}>
    ServerName d.test
    StatsdPrefix svc_d
    StatsdPort {other.port}
</VirtualHost>
<VirtualHost 127.0.0.1:{port}>
    ServerName e.test
    Statsd Off
</VirtualHost>
"""
    yield from serve_env(h, main, other, other=other)


@pytest.fixture
def vh(vhosts):
    vhosts.other.reset()
    return vhosts.fresh()


def test_vhost_a_prefix(vh):
    assert vh.httpd.get("/x", host="a.test").status == 404
    assert_lines(vh.listener, std_lines("x", "GET", 404, prefix="svc_a"))


def test_vhost_b_prefix_and_own_flag(vh):
    assert vh.httpd.get("/static.txt", host="b.test").status == 200
    assert_lines(vh.listener, std_lines("static_txt", "GET", 200, prefix="svc_b",
                                        legacy=False))


def test_vhost_without_prefix_inherits_server_prefix(vh):
    assert vh.httpd.get("/x", host="c.test").status == 404
    assert_lines(vh.listener, std_lines("x", "GET", 404, prefix="test"))


def test_unknown_host_goes_to_first_vhost(vh):
    assert vh.httpd.get("/x", host="zzz.test").status == 404
    assert_lines(vh.listener, std_lines("x", "GET", 404, prefix="svc_a"))


def test_vhost_own_destination(vh):
    # StatsdPort alone in a section: host localhost (IPv4 first), that port
    assert vh.httpd.get("/x", host="d.test").status == 404
    assert_lines(vh.other, std_lines("x", "GET", 404, prefix="svc_d"))
    send = lambda: vh.httpd.get("/m", host="a.test")
    assert_nothing_after_marker(vh.listener, send, std_lines("m", "GET", 404, prefix="svc_a"))


def test_vhost_statsd_off(vh):
    assert vh.httpd.get("/x", host="e.test").status == 404
    send = lambda: vh.httpd.get("/m", host="c.test")
    assert_nothing_after_marker(vh.listener, send, std_lines("m", "GET", 404))


# ---- merging in <Location> -----------------------------------------------------------

@pytest.fixture(scope="module")
def merge():
    main = UdpListener()
    other = UdpListener()
    h = Httpd("merge")
    hdr = h.add_script("hdr.lua", """
function handle(r)
  r.headers_out['X-Metric'] = 'my.metric'
  r.headers_out['X-Statsd-Stat'] = 'not.this'
  r.content_type = "text/plain"
  r:puts("hdr\\n")
  return apache2.OK
end
""")
    h.conf_extra = statsd_conf(main.port) + f"""
StatsdExclude ^[0-9]+$
StatsdLegacyMode Off
<Location /api>
    StatsdExclude ^v[0-9]+$
</Location>
<Location /legacy>
    StatsdLegacyMode On
</Location>
<Location /legacy/inner>
    StatsdPrefix inner
</Location>
<Location /alt>
    StatsdPort {other.port}
</Location>
<Location /alt/deeper>
    StatsdPrefix deeper
</Location>
<Location /srv>
    StatsdServer udp://127.0.0.1:{other.port}
</Location>
<Location /hdr>
    StatsdStatHeader X-Metric
</Location>
LuaMapHandler ^/hdr$ "{hdr}"
<Directory "{h.docroot}/ht">
    AllowOverride All
</Directory>
"""
    h.conf_extra += f"""
<Directory "{h.docroot}/ht2">
    AllowOverride FileInfo
</Directory>
<Location /off>
    Statsd Off
</Location>
<Location /off/on>
    Statsd On
</Location>
"""
    h.add_file("ht2/.htaccess", "StatsdStat fromht\nStatsdHTTPVerbs POST\n")
    h.add_file("ht/.htaccess", f"StatsdPort {other.port}\n")
    h.add_file("ht/index.html", "ht\n")
    # reload markers of the Location prefixes go to the main destination
    start_and_drain(h, main)
    other.reset()
    yield Env(h, main, other=other)
    stop_and_check(h)
    main.close()
    other.close()


@pytest.fixture
def mg(merge):
    merge.other.reset()
    return merge.fresh()


def test_exclude_lists_add_up(mg):
    assert mg.httpd.get("/api/v2/user/123").status == 404
    assert_lines(mg.listener, std_lines("api.user", "GET", 404, legacy=False))


def test_server_exclude_outside_location(mg):
    assert mg.httpd.get("/other/123/v2").status == 404
    assert_lines(mg.listener, std_lines("other.v2", "GET", 404, legacy=False))


def test_flag_override_and_inheritance(mg):
    assert mg.httpd.get("/legacy/x").status == 404
    assert_lines(mg.listener, std_lines("legacy.x", "GET", 404, legacy=True))
    mg.listener.clear()
    # a nested Location that sets only the prefix keeps legacy On
    assert mg.httpd.get("/legacy/inner/x").status == 404
    assert_lines(mg.listener, std_lines("legacy.inner.x", "GET", 404,
                                        prefix="inner", legacy=True))


def test_location_destination_port_only(mg):
    assert mg.httpd.get("/alt/x").status == 404
    assert_lines(mg.other, std_lines("alt.x", "GET", 404, legacy=False))
    assert_nothing_after_marker(mg.listener, lambda: mg.httpd.get("/m"),
                                std_lines("m", "GET", 404, legacy=False))


def test_nested_location_inherits_destination(mg):
    assert mg.httpd.get("/alt/deeper/x").status == 404
    assert_lines(mg.other, std_lines("alt.deeper.x", "GET", 404,
                                     prefix="deeper", legacy=False))
    assert_nothing_after_marker(mg.listener, lambda: mg.httpd.get("/m"),
                                std_lines("m", "GET", 404, legacy=False))


def test_location_statsd_server(mg):
    assert mg.httpd.get("/srv/x").status == 404
    assert_lines(mg.other, std_lines("srv.x", "GET", 404, legacy=False))


def test_stat_header_name_directive(mg):
    r = mg.httpd.get("/hdr")
    assert r.status == 200 and r.body == b"hdr\n"
    assert not r.has_header("X-Metric"), r.headers
    assert_lines(mg.listener, std_lines("my.metric", "GET", 200, legacy=False))


@pytest.mark.error_log_expect(r"StatsdPort not allowed here")   # core, no id
def test_destination_in_htaccess_refused(mg):
    r = mg.httpd.get("/ht/")
    assert r.status == 500
    text = mg.httpd.error_log_text()
    assert re.search(r"\.htaccess: StatsdPort not allowed here", text), text[-2000:]
    # measured (a 500) at the section's own destination, never at the
    # one .htaccess tried to set
    assert_lines(mg.listener, std_lines("ht", "GET", 500, legacy=False))
    assert mg.other.lines() == []


def test_htaccess_may_set_names(mg):
    # naming inside the server's prefix works in .htaccess
    assert mg.httpd.get("/ht2/x").status == 404
    assert_lines(mg.listener, std_lines("fromht", "OtherVerbs", 404, legacy=False))


def test_statsd_on_below_off(mg):
    assert mg.httpd.get("/off/x").status == 404
    assert mg.httpd.get("/off/on/x").status == 404
    assert_lines(mg.listener, std_lines("off.on.x", "GET", 404, legacy=False))


def test_statsd_on_only_in_location(httpd_factory, udp_listener):
    conf = (f"StatsdHost 127.0.0.1\nStatsdPort {udp_listener.port}\nStatsdPrefix test\n"
            "StatsdFlushInterval 0\n"
            "<Location /on>\n    Statsd On\n</Location>\n")
    # Statsd is off at server level and no section sets a prefix: no
    # reload marker is expected here
    h = start_and_drain(httpd_factory("onlyloc", conf=conf), udp_listener, markers=False)
    assert h.get("/x").status == 404
    assert_nothing_after_marker(udp_listener, lambda: h.get("/on/m"),
                                std_lines("on.m", "GET", 404))


# ---- configtest -----------------------------------------------------------------------

BAD_VALUES = [
    ("StatsdPort 0", "StatsdPort", "0"),
    ("StatsdPort 70000", "StatsdPort", "70000"),
    ("StatsdPort 65536", "StatsdPort", "65536"),
    ("StatsdPort http", "StatsdPort", "http"),
    ("StatsdTimeUnit fortnights", "StatsdTimeUnit", "fortnights"),
    ('StatsdExclude "("', "StatsdExclude", "("),
    ('StatsdExclude ^ok$ "[a-"', "StatsdExclude", "[a-"),
    ("StatsdServer tcp://x:1", "StatsdServer", "tcp://x:1"),
    ("StatsdServer udp://127.0.0.1:0", "StatsdServer", "udp://127.0.0.1:0"),
    ("StatsdMaxPacketSize 100", "StatsdMaxPacketSize", "100"),
    ("StatsdMaxPacketSize 65001", "StatsdMaxPacketSize", "65001"),
    ("StatsdMaxPacketSize 511", "StatsdMaxPacketSize", "511"),
    ("StatsdFlushInterval -1", "StatsdFlushInterval", "-1"),
    ("StatsdFlushInterval soon", "StatsdFlushInterval", "soon"),
    ("StatsdMaxNameLength 5", "StatsdMaxNameLength", "5"),
    ("StatsdMaxNames many", "StatsdMaxNames", "many"),
]


@pytest.mark.parametrize("line,directive,value", BAD_VALUES,
                         ids=[b[0] for b in BAD_VALUES])
def test_configtest_rejects_bad_value(httpd_factory, line, directive, value):
    h = httpd_factory("badconf", conf=statsd_conf(8125) + line + "\n")
    assert_configtest_rejects(h, line, directive, value)


def test_configtest_rejects_bad_value_in_location(httpd_factory):
    h = httpd_factory("badloc", conf=statsd_conf(8125)
                      + "<Location /x>\n    StatsdTimeUnit lightyears\n</Location>\n")
    rc, out = h.configtest()
    assert rc != 0 and "StatsdTimeUnit" in out and "lightyears" in out, out


def test_configtest_accepts_every_directive(httpd_factory):
    h = httpd_factory("goodconf", conf=statsd_conf(65535) + """
StatsdMaxPacketSize 512
StatsdSuffix sfx
StatsdExclude ^[0-9]+$ ^[a-f0-9]{32}$
StatsdHTTPVerbs GET POST HEAD
StatsdTimeUnit milliseconds
StatsdLegacyMode On
StatsdServiceStats On
StatsdStatHeader X-Statsd-Stat
<VirtualHost 127.0.0.1:8080>
    ServerName v.test
    StatsdServer udp://[::1]:8125
    StatsdPrefix v
</VirtualHost>
<Location /a>
    Statsd Off
    StatsdStat a.b
    StatsdAggregateStat all
    StatsdTimeUnit microseconds
    StatsdServer unix:/tmp/nowhere.sock
    StatsdStatHeader Off
</Location>
<Location /b>
    StatsdHost 127.0.0.1
    StatsdPort 1
    StatsdTimeUnit seconds
</Location>
""")
    rc, out = h.configtest()
    assert rc == 0 and "Syntax OK" in out, out
    h2 = httpd_factory("goodconf2", conf=statsd_conf(1) + "StatsdMaxPacketSize 65000\n")
    rc, out = h2.configtest()
    assert rc == 0, out


def test_configtest_server_only_directive_in_vhost(httpd_factory):
    h = httpd_factory("vhflush")
    h.conf_extra = statsd_conf(8125) + f"""
<VirtualHost 127.0.0.1:{h.port}>
    StatsdFlushInterval 100
</VirtualHost>
"""
    rc, out = h.configtest()
    assert rc != 0 and "StatsdFlushInterval" in out, out


# ---- the cardinality guard -----------------------------------------------------------

def test_collapse_ids(httpd_factory, udp_listener):
    h = started(httpd_factory, udp_listener, "collapse", conf="""
<Location /c>
    StatsdCollapseIds On
</Location>
""")
    cases = [
        ("/c/user/123/profile", "c.user._id_.profile"),
        ("/c/u/550e8400-e29b-41d4-a716-446655440000/x", "c.u._id_.x"),
        ("/c/h/deadbeef01/x", "c.h._id_.x"),
        ("/c/keep/words/x", "c.keep.words.x"),
        ("/nocollapse/123", "nocollapse.123"),
    ]
    for path, name in cases:
        udp_listener.clear()
        assert h.get(path).status == 404
        assert_lines(udp_listener, std_lines(name, "GET", 404))


def test_max_names_per_child(httpd_factory, udp_listener):
    # event MPM with StartServers 1: sequential requests stay in one child
    h = started(httpd_factory, udp_listener, "maxnames", conf="StatsdMaxNames 3\n")
    for i, name in enumerate(["n1", "n2", "n3", "_other", "_other", "n1"]):
        path = ["/n1", "/n2", "/n3", "/n4", "/n5", "/n1"][i]
        udp_listener.clear()
        assert h.get(path).status == 404
        assert_lines(udp_listener, std_lines(name, "GET", 404))
