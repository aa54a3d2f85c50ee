"""METHOD in the key is the request's method exactly as the client sent
it, for each of httpd's own methods (HEAD apart from GET, names with a
'-')."""

import pytest

from statsdtest.httpd import Httpd
from statsdtest.lines import assert_lines, statsd_conf, std_lines
from statsdtest.listeners import UdpListener
from statsdtest.servers import serve_env

# httpd's own methods but CONNECT (its target is host:port, not a path)
OWN_METHODS = [
    "GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "TRACE", "PATCH",
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
    "VERSION-CONTROL", "CHECKOUT", "UNCHECKOUT", "CHECKIN", "UPDATE",
    "LABEL", "REPORT", "MKWORKSPACE", "MKACTIVITY", "BASELINE-CONTROL",
    "MERGE",
]


@pytest.fixture(scope="module")
def env():
    lst = UdpListener()
    h = Httpd("method-names")
    h.conf_extra = statsd_conf(lst.port)
    yield from serve_env(h, lst)


@pytest.fixture
def e(env):
    return env.fresh()


@pytest.mark.parametrize("method", OWN_METHODS)
def test_own_method_in_key(e, method):
    r = e.httpd.request(method, "/m/x")
    assert r.status is not None, f"no HTTP response: {r.raw!r}"
    assert_lines(e.listener, std_lines("m.x", method, r.status))

