"""The X-Statsd-Stat header set with mod_headers, as in the original
module's test configuration (`Header set X-Statsd-Stat "set.via.header"`):
it names the request for static files and handlers, with `Header set` and
`Header always set`, in <Location>, <Directory>, <Files> and a
<VirtualHost>, and on ErrorDocument pages; the client never sees it."""

import pytest

from statsdtest.httpd import Httpd
from statsdtest.lines import assert_lines, statsd_conf, std_lines
from statsdtest.listeners import UdpListener
from statsdtest.servers import serve_env

HEADER = "X-Statsd-Stat"

LUA_PLAIN = """
function handle(r)
  r.content_type = "text/plain"
  r:puts("plain\\n")
  return apache2.OK
end
"""

LUA_404 = """
function handle(r)
  return 404
end
"""


@pytest.fixture(scope="module")
def env():
    lst = UdpListener()
    h = Httpd("stat-header")
    plain = h.add_script("plain.lua", LUA_PLAIN)
    s404 = h.add_script("s404.lua", LUA_404)
    h.add_file("header/static.txt", "static under /header\n")
    h.add_file("always/static.txt", "static under /always\n")
    h.add_file("dirhdr/static.txt", "static in a directory\n")
    h.add_file("files/page.hdr", "a .hdr file\n")
    h.add_file("errpage/404.html", "<p>error page</p>\n")
    h.add_file("plain.txt", "no header anywhere\n")
    h.conf_extra = statsd_conf(lst.port) + f"""
<Location /header>
    Statsd On
    Header set X-Statsd-Stat "set.via.header"
</Location>
<Location /always>
    Header always set X-Statsd-Stat "always.set"
</Location>
<Directory "{h.docroot}/dirhdr">
    Header set X-Statsd-Stat "via.directory"
</Directory>
<Files "*.hdr">
    Header set X-Statsd-Stat "via.files"
</Files>
<Location /edh>
    ErrorDocument 404 /errpage/404.html
</Location>
<Location /errpage>
    Header set X-Statsd-Stat "from.error.page"
</Location>
LuaMapHandler ^/header/lua$ "{plain}"
LuaMapHandler ^/always/lua404$ "{s404}"
<VirtualHost 127.0.0.1:{h.port}>
    ServerName 127.0.0.1
</VirtualHost>
<VirtualHost 127.0.0.1:{h.port}>
    ServerName hdr.test
    Header set X-Statsd-Stat "via.vhost"
</VirtualHost>
"""
    yield from serve_env(h, lst)


@pytest.fixture
def e(env):
    return env.fresh()


def get(e, target, **kw):
    r = e.httpd.get(target, **kw)
    assert not r.has_header(HEADER), r.headers
    return r


def test_header_set_static_file(e):
    r = get(e, "/header/static.txt")
    assert r.status == 200 and r.body == b"static under /header\n"
    assert_lines(e.listener, std_lines("set.via.header", "GET", 200))


def test_header_set_handler(e):
    r = get(e, "/header/lua")
    assert r.status == 200 and r.body == b"plain\n"
    assert_lines(e.listener, std_lines("set.via.header", "GET", 200))


def test_header_set_head_request(e):
    r = e.httpd.request("HEAD", "/header/static.txt")
    assert r.status == 200 and not r.has_header(HEADER)
    assert_lines(e.listener, std_lines("set.via.header", "HEAD", 200))


# (target, Host or None, status, the name the request gets)
NAMED = [
    pytest.param("/always/static.txt", None, 200, "always.set",
                 id="header_always_set_static_file"),
    pytest.param("/always/missing", None, 404, "always.set",
                 id="header_always_set_error_response"),
    pytest.param("/always/lua404", None, 404, "always.set",
                 id="header_always_set_handler_error"),
    pytest.param("/dirhdr/static.txt", None, 200, "via.directory",
                 id="header_set_in_directory"),
    pytest.param("/files/page.hdr", None, 200, "via.files", id="header_set_in_files"),
    pytest.param("/plain.txt", "hdr.test", 200, "via.vhost", id="header_set_in_virtual_host"),
    pytest.param("/plain.txt", None, 200, "plain_txt", id="no_header_path_name"),
]


@pytest.mark.parametrize("target,host,status,name", NAMED)
def test_named(e, target, host, status, name):
    kw = {"host": host} if host else {}
    assert get(e, target, **kw).status == status
    assert_lines(e.listener, std_lines(name, "GET", status))


def test_header_set_on_error_document(e):
    r = get(e, "/edh/missing")
    assert r.status == 404 and r.body == b"<p>error page</p>\n"
    assert_lines(e.listener, std_lines("from.error.page", "GET", 404))
