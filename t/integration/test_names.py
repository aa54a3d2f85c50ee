"""Metric names: path-derived names, StatsdStat, the statsd.stat
note, the X-Statsd-Stat header, StatsdAggregateStat, StatsdExclude, the
name length cap and hostile input. One httpd for the whole module."""

import re

import pytest

from statsdtest.httpd import Httpd
from statsdtest.lines import assert_lines, LINE_RE, request_lines, statsd_conf, std_lines
from statsdtest.listeners import UdpListener
from statsdtest.servers import serve_env

LUA_SET = """
function handle(r)
{body}
  r.content_type = "text/plain"
  r:puts("lua says hi\\n")
  return apache2.OK
end
"""

SCRIPTS = {
    "note.lua": "  r.notes['statsd.stat'] = 'from.note'",
    "header.lua": "  r.headers_out['X-Statsd-Stat'] = 'from.header'",
    "errheader.lua": "  r.err_headers_out['X-Statsd-Stat'] = 'from.errheader'",
    "both.lua": ("  r.notes['statsd.stat'] = 'from.note'\n"
                 "  r.headers_out['X-Statsd-Stat'] = 'from.header'"),
    "hostile_note.lua": "  r.notes['statsd.stat'] = 'a b:c|d@e#f\\ng\\195\\169.x..y.'",
    "hostile_header.lua": "  r.headers_out['X-Statsd-Stat'] = '.h:1|c @x#y,z;w=v'",
    "empty_note.lua": "  r.notes['statsd.stat'] = '...'",
}


@pytest.fixture(scope="module")
def env():
    lst = UdpListener()
    h = Httpd("names")
    conf = statsd_conf(lst.port) + """
<Location /custom>
    StatsdStat custom.name
</Location>
<Location /custom-weird>
    StatsdStat "we:ird|name@x.y z"
</Location>
<Location /lua/custom>
    StatsdStat custom.wins
</Location>
<Location /agg>
    StatsdAggregateStat all
</Location>
<Location /user>
    StatsdExclude ^[0-9]+$
</Location>
<Location /ci>
    StatsdExclude ^skip[0-9]*$ ^TMP$
</Location>
<Location /dir2>
    DirectoryIndex nothere.html alsonot.html index.html
</Location>
<Location /edhdr>
    ErrorDocument 404 /lua/header
</Location>
<Location /lua/header-off>
    StatsdStatHeader Off
</Location>
RewriteEngine On
RewriteRule ^/rw/(.*)$ /static.txt [L]
RewriteRule ^/rwnote/(.*)$ /lua/note [PT,L]
"""
    conf += f"""
<Directory "{h.docroot}/rwdir">
    RewriteEngine On
    RewriteRule ^x$ /static.txt [L]
</Directory>
"""
    h.add_file("rwdir/placeholder.txt", "p\n")
    h.add_file("dir2/index.html", "dir2 index\n")
    header = h.scripts / "header.lua"
    conf += f'LuaMapHandler "^/lua/header-off$" "{header}"\n'

    for name, body in SCRIPTS.items():
        path = h.add_script(name, LUA_SET.format(body=body))
        stem = name[:-4].replace("_", "-")
        conf += f'LuaMapHandler "^/lua/{stem}$" "{path}"\n'
    note = h.scripts / "note.lua"
    conf += f'LuaMapHandler "^/lua/custom$" "{note}"\n'
    h.conf_extra = conf
    h.add_file("basic/page.html", "<p>page</p>\n")
    yield from serve_env(h, lst)


@pytest.fixture
def e(env):
    return env.fresh()


def raw_get(e, target):
    """GET with a raw request target (bytes or str), read the response."""
    if isinstance(target, str):
        target = target.encode("latin-1")
    return e.httpd.raw(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Connection: close\r\n\r\n")


def check(e, resp, name, method="GET", status=None, **kw):
    """Assert resp has `status` (if given) and the exact lines for it."""
    assert resp.status is not None, f"no HTTP response: {resp.raw!r}"
    if status is not None:
        assert resp.status == status, resp
    return assert_lines(e.listener, std_lines(name, method, resp.status, **kw))


# ---- the basic contract -----------------------------------------------------

def test_get_404_sends_exactly_five_lines(e):
    r = e.httpd.get("/foo/bar")
    assert r.status == 404
    got = assert_lines(e.listener, [
        "test.foo.bar.GET.404:<dur>|ms",
        "test.foo.bar.GET.404:1|c",
        "test.responses.bad:1|c",
        "test.responses.4xx:1|c",
        "test.responses.time:<dur>|ms",
    ])
    for line in got:
        assert LINE_RE.match(line), line


def test_get_200_is_good(e):
    r = e.httpd.get("/static.txt")
    assert r.status == 200 and r.body == b"hello static\n"
    assert_lines(e.listener, [
        "test.static_txt.GET.200:<dur>|ms",
        "test.static_txt.GET.200:1|c",
        "test.responses.good:1|c",
        "test.responses.time:<dur>|ms",
    ])


# ---- path-derived names -----------------------------------------------------

def test_root_with_index(e):
    check(e, e.httpd.get("/"), "ROOT", status=200)


def test_root_with_query(e):
    check(e, e.httpd.get("/?x=1&y=2"), "ROOT", status=200)


def test_index_file_by_name(e):
    check(e, e.httpd.get("/index.html"), "index_html", status=200)


def test_dot_segments_raw(e):
    check(e, raw_get(e, "/a/./b/../c"), "a.c", status=404)


def test_dot_segments_collapse_to_root(e):
    check(e, raw_get(e, "/a/.."), "ROOT", status=200)


@pytest.mark.error_log_expect("AH10244")
def test_dotdot_above_root(e):
    # httpd refuses to climb above / (400 + AH10244 at error level); the
    # request is still measured and `..` at the top removes nothing.
    check(e, raw_get(e, "/../x"), "x", status=400)


def test_percent_encoded_dot_segments(e):
    # each segment is decoded first, then "." and ".." apply
    check(e, raw_get(e, "/a/%2e/b/%2E%2e/c"), "a.c", status=404)


def test_query_is_not_part_of_name(e):
    check(e, e.httpd.get("/foo/bar?baz=42"), "foo.bar", status=404)


def test_repeated_slashes(e):
    check(e, raw_get(e, "///basic///foo///"), "basic.foo", status=404)


def test_dot_inside_segment(e):
    check(e, e.httpd.get("/basic/x.y"), "basic.x_y", status=404)


def test_existing_file_with_dot(e):
    check(e, e.httpd.get("/basic/page.html"), "basic.page_html", status=200)


def test_colon_and_pipe_raw(e):
    check(e, raw_get(e, "/basic/x:y|z"), "basic.x_y_z", status=404)


def test_colon_and_pipe_percent_encoded(e):
    check(e, raw_get(e, "/basic/x%3Ay%7Cz"), "basic.x_y_z", status=404)


def test_encoded_slash_stays_in_segment(e):
    # split on the raw '/', then decode: %2F becomes '_' inside its segment
    check(e, raw_get(e, "/a%2Fb/c"), "a_b.c", status=404)


def test_absolute_form_request_target(e):
    check(e, raw_get(e, "http://127.0.0.1/abs/form?q=1"), "abs.form", status=404)


def test_options_star_is_root(e):
    r = e.httpd.raw(b"OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    check(e, r, "ROOT", method="OPTIONS", status=200)


def test_directory_index_measured_once(e):
    # mod_dir serves /dir/index.html through a subrequest + fast redirect:
    # one measurement, named after what the client asked for.
    r = e.httpd.get("/dir/")
    assert r.status == 200 and b"dir index" in r.body
    check(e, r, "dir", status=200)


def test_directory_slash_redirect(e):
    check(e, e.httpd.get("/dir"), "dir", status=301)


def test_directory_index_with_query(e):
    check(e, e.httpd.get("/dir/?a=b"), "dir", status=200)


def test_directory_index_after_failed_candidates(e):
    # mod_dir tries nothere.html and alsonot.html (subrequests) first
    r = e.httpd.get("/dir2/")
    assert r.status == 200 and r.body == b"dir2 index\n"
    check(e, r, "dir2", status=200)


def test_rewrite_in_server_context_keeps_client_path(e):
    r = e.httpd.get("/rw/some/thing")
    assert r.status == 200 and r.body == b"hello static\n"
    check(e, r, "rw.some.thing", status=200)


def test_per_dir_rewrite_internal_redirect_measured_once(e):
    # a per-directory RewriteRule makes an internal redirect (r->next)
    r = e.httpd.get("/rwdir/x")
    assert r.status == 200 and r.body == b"hello static\n"
    check(e, r, "rwdir.x", status=200)


# ---- names from directive, note and header --------------------------------

def test_statsd_stat_directive(e):
    check(e, e.httpd.get("/custom/whatever/here"), "custom.name", status=404)


def test_statsd_stat_directive_is_sanitised(e):
    check(e, e.httpd.get("/custom-weird/x"), "we_ird_name_x.y_z", status=404)


def test_note_names_request(e):
    r = e.httpd.get("/lua/note")
    assert r.status == 200 and r.body == b"lua says hi\n"
    check(e, r, "from.note", status=200)


def test_header_names_request_and_is_not_sent(e):
    r = e.httpd.get("/lua/header")
    assert r.status == 200 and r.body == b"lua says hi\n"
    assert not r.has_header("X-Statsd-Stat"), r.headers
    check(e, r, "from.header", status=200)


def test_err_headers_out_header_names_request(e):
    r = e.httpd.get("/lua/errheader")
    assert r.status == 200
    assert not r.has_header("X-Statsd-Stat"), r.headers
    check(e, r, "from.errheader", status=200)


def test_note_wins_over_header(e):
    r = e.httpd.get("/lua/both")
    assert r.status == 200
    assert not r.has_header("X-Statsd-Stat"), r.headers
    check(e, r, "from.note", status=200)


def test_note_set_after_rewrite(e):
    check(e, e.httpd.get("/rwnote/abc"), "from.note", status=200)


def test_header_from_error_document_handler(e):
    # the ErrorDocument's handler (last request of the r->next chain) names
    # the request; the status is what the client got
    r = e.httpd.get("/edhdr/missing")
    assert r.status == 404 and r.body == b"lua says hi\n"
    assert not r.has_header("X-Statsd-Stat"), r.headers
    check(e, r, "from.header", status=404)


def test_stat_header_off(e):
    # StatsdStatHeader Off: the header names nothing (the path does)
    r = e.httpd.get("/lua/header-off")
    assert r.status == 200
    check(e, r, "lua.header-off", status=200)


def test_directive_wins_over_note(e):
    check(e, e.httpd.get("/lua/custom"), "custom.wins", status=200)


def test_hostile_note_is_sanitised(e):
    # 'a b:c|d@e#f\ng' + U+00E9 (2 bytes) + '.x..y.': dots separate, empty
    # segments vanish, every other byte outside [A-Za-z0-9_-] becomes '_'
    r = e.httpd.get("/lua/hostile-note")
    assert r.status == 200
    check(e, r, "a_b_c_d_e_f_g__.x.y", status=200)


def test_hostile_header_is_sanitised(e):
    r = e.httpd.get("/lua/hostile-header")
    assert r.status == 200
    assert not r.has_header("X-Statsd-Stat"), r.headers
    check(e, r, "h_1_c__x_y_z_w_v", status=200)


def test_note_of_only_dots_falls_back_to_path(e):
    # a note that cleans to nothing is not a name: the next source is used
    check(e, e.httpd.get("/lua/empty-note"), "lua.empty-note", status=200)


# ---- aggregate, exclude ------------------------------------------------------

def test_aggregate_stat(e):
    r = e.httpd.get("/agg/thing")
    assert r.status == 404
    assert_lines(e.listener, request_lines(
        "test.agg.thing.GET.404", 404, aggregate="test.all.GET.404"))


def test_aggregate_stat_200(e):
    e.httpd.add_file("agg/ok.txt", "ok\n")
    r = e.httpd.get("/agg/ok.txt")
    assert r.status == 200
    assert_lines(e.listener, [
        "test.agg.ok_txt.GET.200:<dur>|ms", "test.agg.ok_txt.GET.200:1|c",
        "test.all.GET.200:<dur>|ms", "test.all.GET.200:1|c",
        "test.responses.good:1|c", "test.responses.time:<dur>|ms"])


def test_exclude_numeric_segments(e):
    check(e, e.httpd.get("/user/123/profile"), "user.profile", status=404)


def test_exclude_keeps_non_matching(e):
    check(e, e.httpd.get("/user/12a/profile"), "user.12a.profile", status=404)


def test_exclude_is_case_insensitive_and_multiple(e):
    check(e, e.httpd.get("/ci/SKIP42/keep/tmp/x"), "ci.keep.x", status=404)


def test_exclude_applies_to_decoded_segment(e):
    check(e, raw_get(e, "/user/%31%32%33/profile"), "user.profile", status=404)


# ---- the length cap -------------------------------------------------------------

def test_long_name_is_capped_but_method_and_status_kept(e):
    path = "/long/" + "/".join(["abcdefghij"] * 60)
    r = e.httpd.get(path)
    assert r.status == 404
    e.listener.wait_lines(5)
    assert_lines_ok = [l for l in e.listener.lines() if l.startswith("test.long")]
    assert len(assert_lines_ok) == 2, e.listener.lines()
    for line in assert_lines_ok:
        key = line.split(":")[0]
        assert len(key) <= 250, (len(key), key)
        assert key.startswith("test.long.") and key.endswith(".GET.404"), key
        assert ".." not in key
        assert re.match(r"^test\.long(\.abcdefghij)*\.GET\.404$", key), key
    keys = {l.split(":")[0] for l in assert_lines_ok}
    assert len(keys) == 1
    key = keys.pop()
    assert_lines(e.listener, request_lines(key, 404))


# ---- hostile input: exact names, and every line well-formed -------------------

HOSTILE = [
    # (raw request target, expected NAME)
    ("/h/%0A%3A%7C%40%23%20%C3%A9", "h.________"),
    ("/h/a%0D%0Ab", "h.a__b"),
    ("/h/a%00b", "h.a_b"),
    ("/h/a:b@c|d", "h.a_b_c_d"),
    (b"/h/x\xc3\xa9", "h.x__"),
    ("/h/a,b;c=d", "h.a_b_c_d"),
    ("/h/%2e%2e%2fetc", "h.___etc"),
    ("/h/tab%09x/q%22'", "h.tab_x.q__"),
]


@pytest.mark.parametrize("target,name", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_path(e, target, name):
    r = raw_get(e, target)
    assert r.status is not None, r.raw
    got = check(e, r, name)
    for line in got:
        assert LINE_RE.match(line), line


def test_hostile_method_is_other_verbs(e, error_log):
    error_log.expect("AH00135")      # httpd: "Invalid method in request"
    r = e.httpd.raw(b"G@T:|# /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert r.status is not None, r.raw
    got = assert_lines(e.listener, std_lines("x", "OtherVerbs", r.status))
    for line in got:
        assert LINE_RE.match(line), line


def test_garbage_request_line(e):
    # a TLS ClientHello on the plain port: rejected while reading the request
    # line, no method, no URI: still measured, as ROOT / OtherVerbs / 400
    r = e.httpd.raw(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n")
    assert r.status == 400
    got = check(e, r, "ROOT", method="OtherVerbs", status=400)
    for line in got:
        assert LINE_RE.match(line), line
