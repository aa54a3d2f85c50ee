"""Tags: StatsdTagFormat, StatsdTag, StatsdTagMode and StatsdTimerType
against a real httpd. Exact lines in the three dialects, tag mode (fixed
names; route, method and status as tags; the aggregate under names of its
own), merging server -> vhost -> dir with a key set again replacing the
value, sanitising, timer types, the start-up warning for tags without a
format, configtest refusals, and refusal in .htaccess."""

import re

import pytest

from statsdtest.errorlog import TAGS_LEFT_OUT, TAGS_NO_FORMAT
from statsdtest.httpd import Httpd
from statsdtest.lines import assert_tagged_lines, hostname_short_clean, statsd_conf, vhost
from statsdtest.listeners import UdpListener
from statsdtest.servers import assert_configtest_rejects, serve_env, start_and_drain


# ---- the three dialects, tag mode, merging, timer types -------------------------------


@pytest.fixture(scope="module")
def env():
    lst = UdpListener()
    h = Httpd("tags")
    h.add_file("cart/items", "items\n")
    h.add_file("canary/x", "x\n")
    base = statsd_conf(lst.port, prefix="shop", extra="StatsdTag env prod\n")
    h.conf_extra = base + "".join([
        vhost("dog.test", "    StatsdTagFormat dogstatsd\n    StatsdTagMode On"),
        vhost("influx.test", "    StatsdTagFormat influx\n    StatsdTagMode On"),
        vhost("graphite.test", "    StatsdTagFormat graphite\n    StatsdTagMode On"),
        vhost("classic.test", "    StatsdTagFormat dogstatsd\n    StatsdTag team web\n"
                              "    StatsdTag env staging"),
        vhost("merge.test", f"""    StatsdTagFormat influx
    StatsdTag team web
    StatsdTag dc a1
    StatsdTag team shop
    StatsdLegacyMode Off
    <Location /canary>
        StatsdTag env canary
        StatsdTag host {{hostname}}
    </Location>"""),
        vhost("agg.test", """    StatsdTagFormat graphite
    StatsdTagMode On
    StatsdAggregateStat all
    StatsdSuffix web1"""),
        vhost("hist.test", """    StatsdTimerType h
    StatsdLegacyMode Off"""),
        vhost("dist.test", """    StatsdTimerType d
    StatsdTagFormat dogstatsd
    StatsdTagMode On
    StatsdLegacyMode Off"""),
        vhost("plain.test", "    StatsdLegacyMode Off"),
    ])
    yield from serve_env(h, lst)


def get(env, path, host):
    return env.httpd.get(path, host=host)


# one request to a vhost: (host, path, status, the exact lines)
ONE_REQUEST = [
    pytest.param("dog.test", "/cart/items", 200, [
        "shop.request.time:<dur>|ms|#env:prod,route:cart.items,method:GET,status:200",
        "shop.request.count:1|c|#env:prod,route:cart.items,method:GET,status:200",
        "shop.responses.good:1|c|#env:prod",
        "shop.responses.time:<dur>|ms|#env:prod",
    ], id="dogstatsd_tag_mode"),
    pytest.param("influx.test", "/cart/items", 200, [
        "shop.request.time,env=prod,route=cart.items,method=GET,status=200:<dur>|ms",
        "shop.request.count,env=prod,route=cart.items,method=GET,status=200:1|c",
        "shop.responses.good,env=prod:1|c",
        "shop.responses.time,env=prod:<dur>|ms",
    ], id="influx_tag_mode"),
    pytest.param("graphite.test", "/no/such", 404, [
        "shop.request.time;env=prod;route=no.such;method=GET;status=404:<dur>|ms",
        "shop.request.count;env=prod;route=no.such;method=GET;status=404:1|c",
        "shop.responses.bad;env=prod:1|c",
        "shop.responses.4xx;env=prod:1|c",
        "shop.responses.time;env=prod:<dur>|ms",
    ], id="graphite_tag_mode_404"),
    # the vhost's env replaces the server's; its team is added after it
    pytest.param("classic.test", "/cart/items", 200, [
        "shop.cart.items.GET.200:<dur>|ms|#env:staging,team:web",
        "shop.cart.items.GET.200:1|c|#env:staging,team:web",
        "shop.responses.good:1|c|#env:staging,team:web",
        "shop.responses.time:<dur>|ms|#env:staging,team:web",
    ], id="classic_names_keep_their_parts"),
    pytest.param("agg.test", "/cart/items", 200, [
        "shop.request.time.web1;env=prod;route=cart.items;method=GET;status=200:<dur>|ms",
        "shop.request.count.web1;env=prod;route=cart.items;method=GET;status=200:1|c",
        "shop.aggregate.time.web1;env=prod;route=all;method=GET;status=200:<dur>|ms",
        "shop.aggregate.count.web1;env=prod;route=all;method=GET;status=200:1|c",
        "shop.responses.good;env=prod:1|c",
        "shop.responses.time;env=prod:<dur>|ms",
    ], id="aggregate_and_suffix_in_tag_mode"),
    # tags set at server level, no format in this vhost: untagged lines
    pytest.param("plain.test", "/cart/items", 200, [
        "shop.cart.items.GET.200:<dur>|ms",
        "shop.responses.good:1|c",
        "shop.responses.time:<dur>|ms",
    ], id="no_format_no_tags"),
]


@pytest.mark.parametrize("host,path,status,expected", ONE_REQUEST)
def test_one_request(env, host, path, status, expected):
    env.fresh()
    r = get(env, path, host)
    assert r.status == status, r
    assert_tagged_lines(env.listener, expected)


def test_merge_server_vhost_dir(env):
    env.fresh()
    r = get(env, "/cart/items", "merge.test")
    assert r.status == 200, r
    t = ",env=prod,team=shop,dc=a1"
    assert_tagged_lines(env.listener, [
        f"shop.cart.items.GET.200{t}:<dur>|ms",
        f"shop.responses.good{t}:1|c",
        f"shop.responses.time{t}:<dur>|ms",
    ])
    r = get(env, "/canary/x", "merge.test")
    assert r.status == 200, r
    host = hostname_short_clean()
    t = f",env=canary,team=shop,dc=a1,host={host}"
    assert_tagged_lines(env.listener, [
        f"shop.canary.x.GET.200{t}:<dur>|ms",
        f"shop.responses.good{t}:1|c",
        f"shop.responses.time{t}:<dur>|ms",
    ])


def test_timer_types(env):
    env.fresh()
    assert get(env, "/cart/items", "hist.test").status == 200
    assert_tagged_lines(env.listener, [
        "shop.cart.items.GET.200:<dur>|h",
        "shop.responses.good:1|c",
        "shop.responses.time:<dur>|h",
    ])
    assert get(env, "/cart/items", "dist.test").status == 200
    assert_tagged_lines(env.listener, [
        "shop.request.time:<dur>|d|#env:prod,route:cart.items,method:GET,status:200",
        "shop.responses.good:1|c|#env:prod",
        "shop.responses.time:<dur>|d|#env:prod",
    ])


SEPARATORS = set("|#,:;= \n\r")


@pytest.mark.error_log_expect("AH00135")          # the invalid method
@pytest.mark.parametrize("host", ["dog.test", "influx.test", "graphite.test"])
def test_request_parts_cannot_bring_separators(env, host):
    env.fresh()
    # percent-encoded separators, raw ones the path allows, and a method
    # httpd does not know
    for target in ("/a%7Cb%23c%2Cd%3Ae%3Bf%3Dg%20h%0Ai", "/x:y;z=w,v|u", "/t@%23%40"):
        env.httpd.get(target, host=host)
    env.httpd.request("BREW", "/pot", host=host)
    env.listener.wait_lines(4 * 4)
    env.listener.quiesce(0.2)
    lines = env.listener.lines()
    assert len(lines) >= 16, lines
    for line in lines:
        if host == "dog.test":
            name_value, _, tags = line.partition("|#")
            tag_items = tags.split(",")
            for item in tag_items:
                k, _, v = item.partition(":")
                assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", k), line
                assert re.fullmatch(r"[A-Za-z0-9_.-]+", v), line
            assert re.fullmatch(r"[A-Za-z0-9_.-]+:[0-9.]+\|(ms|c)", name_value), line
        else:
            sep = "," if host == "influx.test" else ";"
            head, _, value = line.rpartition(":")
            assert re.fullmatch(r"[0-9.]+\|(ms|c)", value), line
            name, *tags = head.split(sep)
            assert re.fullmatch(r"[A-Za-z0-9_.-]+", name), line
            for item in tags:
                k, _, v = item.partition("=")
                assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", k), line
                assert re.fullmatch(r"[A-Za-z0-9_.-]+", v), line
    routes = {m.group(1) for l in lines for m in [re.search(r"route[:=]([^,;|:]+)", l)] if m}
    assert routes == {"a_b_c_d_e_f_g_h_i", "x_y_z_w_v_u", "t___", "pot"}, routes
    methods = {m.group(1) for l in lines for m in [re.search(r"method[:=]([^,;|:]+)", l)] if m}
    assert methods == {"GET", "OtherVerbs"}, methods


# ---- start-up warnings -----------------------------------------------------------------


def test_warning_for_tags_without_format(httpd_factory, error_log, udp_listener):
    error_log.expect(TAGS_NO_FORMAT)
    h = httpd_factory("tags-warn")
    h.conf_extra = statsd_conf(udp_listener.port) + """
<Location /tagged>
    StatsdTag env prod
</Location>
<Location /fine>
    StatsdTagFormat dogstatsd
    StatsdTag env prod
</Location>
"""
    h.start()
    h.stop()
    log = h.error_log_text()
    warnings = [l for l in log.splitlines() if TAGS_NO_FORMAT + ":" in l]
    assert len(warnings) == 1, log
    assert "/tagged" in warnings[0] and "[statsd:warn]" in warnings[0], warnings


def test_warning_for_tags_past_the_caps_once_merged(httpd_factory, error_log, udp_listener):
    error_log.expect(TAGS_LEFT_OUT)
    h = httpd_factory("tags-caps")
    server = "".join(f"StatsdTag s{i} v\n" for i in range(10))
    loc = "".join(f"    StatsdTag l{i} v\n" for i in range(10))
    h.conf_extra = (statsd_conf(udp_listener.port, extra="StatsdTagFormat influx\n" + server)
                    + f"<Location /many>\n{loc}</Location>\n")
    h.add_file("many/x", "x\n")
    start_and_drain(h, udp_listener)
    assert h.get("/many/x").status == 200
    lines = udp_listener.wait_lines(4)
    udp_listener.quiesce(0.1)
    # 16 tags at most: the server's ten, then the first six of the section
    want = ",".join([f"s{i}=v" for i in range(10)] + [f"l{i}=v" for i in range(6)])
    assert udp_listener.lines()[0].startswith(f"test.many.x.GET.200,{want}:"), lines
    h.stop()
    warnings = [l for l in h.error_log_text().splitlines()
                if TAGS_LEFT_OUT + ":" in l]
    assert len(warnings) == 1 and "4 tag(s)" in warnings[0] and "/many" in warnings[0], warnings


def test_server_tags_with_format_in_a_vhost_are_fine(httpd_factory, udp_listener):
    h = httpd_factory("tags-nowarn")
    h.conf_extra = statsd_conf(udp_listener.port, extra="StatsdTag env prod\n") + vhost(
        "v.test", "    StatsdTagFormat influx")
    h.start()
    h.stop()
    assert "STATSD0006" not in h.error_log_text()


# ---- configtest and .htaccess ----------------------------------------------------------


BAD = [
    # an empty key or value: httpd itself counts it as a missing argument
    ('StatsdTag "" prod', "StatsdTag", '""'),
    ('StatsdTag env ""', "StatsdTag", '""'),
    ("StatsdTag 1env prod", "StatsdTag", "1env"),
    ("StatsdTag _env prod", "StatsdTag", "_env"),
    ("StatsdTag route x", "StatsdTag", "route"),
    ("StatsdTag " + "k" * 65 + " v", "StatsdTag", "k" * 65),
    ("StatsdTag env " + "v" * 129, "StatsdTag", "v" * 129),
    ("\n".join(f"StatsdTag k{i} v" for i in range(17)), "StatsdTag", "k16"),
    ("StatsdTagFormat datadog", "StatsdTagFormat", "datadog"),
    ("StatsdTagFormat", "StatsdTagFormat", "StatsdTagFormat"),
    ("StatsdTagMode maybe", "StatsdTagMode", "StatsdTagMode"),
    ("StatsdTimerType histogram", "StatsdTimerType", "histogram"),
    ("StatsdTag env", "StatsdTag", "StatsdTag"),
]


@pytest.mark.parametrize("line,directive,value", BAD, ids=[b[0][:40] for b in BAD])
def test_configtest_refuses(httpd_factory, line, directive, value):
    h = httpd_factory("tags-bad", conf=statsd_conf(9) + line + "\n")
    if value == '""':
        rc, out = h.configtest()
        assert rc != 0 and "StatsdTag takes two arguments" in out, out
        return
    assert_configtest_rejects(h, line, directive, value)


@pytest.mark.error_log_expect(r"not allowed here", r"cannot occur within htaccess")
@pytest.mark.parametrize("directive", ["StatsdTagFormat dogstatsd", "StatsdTag env x",
                                       "StatsdTagMode On", "StatsdTimerType d"])
def test_refused_in_htaccess(httpd_factory, directive):
    lst = UdpListener()
    try:
        h = httpd_factory("tags-ht")
        name = directive.split()[0]
        h.conf_extra = statsd_conf(lst.port) + f"""
<Directory "{h.docroot}/all">
    AllowOverride All
</Directory>
<Directory "{h.docroot}/list">
    AllowOverride None
    AllowOverrideList {name}
</Directory>
"""
        for d in ("all", "list"):
            h.add_file(f"{d}/.htaccess", directive + "\n")
            h.add_file(f"{d}/index.html", "x\n")
        h.start()
        lst.drain_reload_markers()
        for d, why in (("all", "not allowed here"),
                       ("list", "cannot occur within htaccess files")):
            since = h.error_log_size()
            r = h.get(f"/{d}/")
            assert r.status == 500, r
            log = h.error_log_text(since)
            assert name in log and why in log, log
        lines = lst.wait_lines(2 * 3)
        assert all("|#" not in l and "," not in l for l in lines), lines
    finally:
        lst.close()
