"""Self-tests of the fixtures: they run without mod_statsd (apache2 is
started without the statsd LoadModule line), so a failure here is a test
harness problem, not a module bug."""

import socket

import pytest

from statsdtest.httpd import Httpd
from statsdtest.lines import assert_lines, DUR, normalise, request_lines, std_lines
from statsdtest.proc import alive
from statsdtest.listeners import (ipv6_loopback_available, Udp6Listener, UdpListener,
                                  UnixListener)


def _send(family, addr, payload):
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.sendto(payload, addr)


def test_udp_listener_collects_lines():
    lst = UdpListener()
    try:
        _send(socket.AF_INET, ("127.0.0.1", lst.port), b"a:1|c\nb:2|ms")
        _send(socket.AF_INET, ("127.0.0.1", lst.port), b"c:1|c")
        assert sorted(lst.wait_lines(3, 2)) == ["a:1|c", "b:2|ms", "c:1|c"]
        assert len(lst.datagrams()) == 2
        lst.clear()
        assert lst.lines() == []
        assert lst.wait_lines(1, 0.2) == []          # bounded, empty
    finally:
        lst.close()


def test_udp6_listener():
    if not ipv6_loopback_available():
        pytest.skip("no IPv6 loopback on this machine")
    lst = Udp6Listener()
    try:
        _send(socket.AF_INET6, ("::1", lst.port), b"x:1|c")
        assert lst.wait_lines(1, 2) == ["x:1|c"]
        assert lst.url == f"udp://[::1]:{lst.port}"
    finally:
        lst.close()


def test_unix_listener():
    lst = UnixListener()
    try:
        _send(socket.AF_UNIX, lst.path, b"u:1|c\nv:1|c")
        assert sorted(lst.wait_lines(2, 2)) == ["u:1|c", "v:1|c"]
        assert lst.url == f"unix:{lst.path}"
    finally:
        lst.close()


def test_assert_lines_helper():
    lst = UdpListener()
    try:
        lines = ["test.foo.GET.404:1.5|ms", "test.foo.GET.404:1|c",
                 "test.responses.bad:1|c", "test.responses.4xx:1|c",
                 "test.responses.time:1.5|ms"]
        _send(socket.AF_INET, ("127.0.0.1", lst.port), "\n".join(lines).encode())
        assert_lines(lst, std_lines("foo", "GET", 404), grace=0.05)
        norm, durs = normalise(lines)
        assert durs == ["1.5", "1.5"]
        assert f"test.foo.GET.404:{DUR}|ms" in norm
        assert request_lines("p.x.GET.200", 200, "p") == [
            f"p.x.GET.200:{DUR}|ms", "p.x.GET.200:1|c", "p.responses.good:1|c",
            f"p.responses.time:{DUR}|ms"]
    finally:
        lst.close()


@pytest.fixture(scope="module")
def plain_httpd():
    h = Httpd("plain", load_statsd=False, conf="""
Redirect 301 /moved /static.txt
<Location /denied>
    Require all denied
</Location>
ErrorDocument 404 /errors/404.html
""")
    h.add_script("s500.lua", "function handle(r)\n  return 500\nend\n")
    h.conf_extra += f'LuaMapHandler ^/lua500$ "{h.scripts}/s500.lua"\n'
    h.start()
    yield h
    h.stop()
    h.cleanup()


def test_httpd_without_module_serves(plain_httpd):
    h = plain_httpd
    assert h.get("/").status == 200
    assert h.get("/static.txt").body == b"hello static\n"
    assert h.get("/dir/").status == 200
    assert h.get("/moved").status == 301
    r = h.get("/nothing/here")
    assert r.status == 404 and b"custom 404" in r.body
    assert h.get("/lua500").status == 500


@pytest.mark.error_log_expect("AH01630")
def test_httpd_expected_error_is_tolerated(plain_httpd):
    assert plain_httpd.get("/denied").status == 403


def test_configtest_without_module(httpd_factory):
    h = httpd_factory("ct", load_statsd=False)
    rc, out = h.configtest()
    assert rc == 0, out
    h2 = httpd_factory("ct-bad", load_statsd=False, conf="NoSuchDirective 1\n")
    rc, out = h2.configtest()
    assert rc != 0 and "NoSuchDirective" in out


def test_start_stop_other_mpms(httpd_factory):
    for mpm in ("prefork", "worker"):
        h = httpd_factory(f"mpm-{mpm}", load_statsd=False, mpm=mpm)
        h.start()
        assert h.get("/static.txt").status == 200
        pid = h.pid
        h.stop()
        assert not alive(pid)


def test_error_log_classification(tmp_path):
    h = Httpd("classify", load_statsd=False)
    try:
        h.error_log.write_text(
            "[Wed Nov 25 16:52:06.138527 2026] [mpm_event:notice] [pid 1:tid 1] AH00489: ok\n"
            "[Wed Nov 25 16:52:06.138527 2026] [core:error] [pid 1:tid 2] AH00135: Invalid method\n"
            "[Wed Nov 25 16:52:06.138527 2026] [statsd:warn] [pid 1:tid 2] STATSD00010: 3 datagram(s) to udp://127.0.0.1:9 dropped since the last report\n"
            "[Wed Nov 25 16:52:06.138527 2026] [core:notice] [pid 1] AH00052: child pid 7 exit signal Segmentation fault (11)\n"
            "[Wed Nov 25 16:52:06.138527 2026] [ssl:info] [pid 1] fine\n"
            "==123==ERROR: AddressSanitizer: heap-use-after-free\n")
        bad = h.bad_error_lines(0)
        assert len(bad) == 4, bad
        assert len(h.bad_error_lines(0, ["AH00135", "STATSD00010"])) == 2
    finally:
        Httpd.instances.remove(h)
        h.cleanup()
