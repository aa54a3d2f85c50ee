"""Where the time went: StatsdFirstByte (P.responses.ttfb), StatsdResponseBytes
(P.responses.bytes) and StatsdAborts (P.responses.aborted) against a real
httpd under each MPM. Bytes are compared with what the client read off the
socket, exactly; the time to the first byte with a handler that sleeps a
known time before (or after) its first byte, as lower bounds only."""

import re
import socket
import struct
import time

import pytest

from statsdtest.httpclient import build_request, send_raw
from statsdtest.httpd import Httpd
from statsdtest.lines import DUR, assert_lines, statsd_conf, std_lines, value_of
from statsdtest.listeners import UdpListener
from statsdtest.servers import (assert_configtest_rejects, assert_refused_in_htaccess, serve_env,
                                start_measured)

MPMS = ("event", "worker", "prefork")
BIG = 16 * 1024 * 1024          # a response no socket buffer holds

SLOW_FIRST = """
function handle(r)
  r.content_type = "text/plain"
  os.execute("sleep 0.3")
  r:puts("late\\n")
  return apache2.OK
end
"""

EARLY_FIRST = """
function handle(r)
  r.content_type = "text/plain"
  r:puts("early\\n")
  r:flush()
  os.execute("sleep 0.3")
  r:puts("then the rest\\n")
  return apache2.OK
end
"""


def breakdown_server(mpm, lst, extra_conf=""):
    h = Httpd(f"breakdown-{mpm}", mpm=mpm)
    h.add_file("big.bin", b"\0" * BIG)
    slow = h.add_script("slow.lua", SLOW_FIRST)
    early = h.add_script("early.lua", EARLY_FIRST)
    h.conf_extra = statsd_conf(lst.port) + f"""
StatsdFirstByte On
StatsdResponseBytes On
StatsdAborts On
LuaMapHandler ^/slow$ "{slow}"
LuaMapHandler ^/early$ "{early}"
ErrorDocument 404 /errors/404.html
<Location /quiet>
    StatsdFirstByte Off
    StatsdResponseBytes Off
    StatsdAborts Off
</Location>
{extra_conf}"""
    h.add_file("quiet/a.txt", "quiet\n")
    return h


@pytest.fixture(scope="module", params=MPMS)
def env(request):
    lst = UdpListener()
    h = breakdown_server(request.param, lst)
    yield from serve_env(h, lst)


def fetch(env, method, target, headers=None):
    """The raw bytes the client read (Connection: close)."""
    raw = send_raw(env.httpd.port, build_request(method, target, headers=headers)).raw
    return raw


def expect(name, method, status, *, ttfb=True, nbytes=None, aborted=False):
    lines = std_lines(name, method, status)
    if ttfb:
        lines.append(f"test.responses.ttfb:{DUR}|ms")
    if nbytes is not None:
        lines.append(f"test.responses.bytes:{nbytes}|c")
    if aborted:
        lines.append("test.responses.aborted:1|c")
    return lines


def fetch_measured(env, method, target, name, status, headers=None, **kw):
    """target fetched on a fresh listener: the raw bytes the client read,
    and the request's lines, asserted to be expect()'s with those bytes
    counted (kw: assert_lines' keywords)."""
    env.fresh()
    raw = fetch(env, method, target, headers=headers)
    got = assert_lines(env.listener, expect(name, method, status, nbytes=len(raw)),
                       same_duration=False, **kw)
    return raw, got


def test_static_file(env):
    raw, got = fetch_measured(env, "GET", "/static.txt", "static_txt", 200)
    assert raw.startswith(b"HTTP/1.1 200 ") and raw.endswith(b"hello static\n")
    ttfb = float(value_of(got, "test.responses.ttfb"))
    assert 0 < ttfb <= float(value_of(got, "test.responses.time"))


def test_head_counts_the_headers(env):
    raw, _ = fetch_measured(env, "HEAD", "/static.txt", "static_txt", 200)
    assert raw.startswith(b"HTTP/1.1 200 ") and raw.endswith(b"\r\n\r\n")


def test_not_modified_counts_the_headers(env):
    env.fresh()
    first = send_raw(env.httpd.port, build_request("GET", "/static.txt"))
    etag = first.header("ETag")
    env.listener.wait_lines(len(expect("static_txt", "GET", 200, nbytes=0)))
    raw, _ = fetch_measured(env, "GET", "/static.txt", "static_txt", 304,
                            headers={"If-None-Match": etag})
    assert raw.startswith(b"HTTP/1.1 304 ")


def test_error_document_counted_once(env):
    raw, _ = fetch_measured(env, "GET", "/missing.txt", "missing_txt", 404)
    assert raw.startswith(b"HTTP/1.1 404 ") and b"custom 404" in raw


def test_chunked_response_counts_the_framing(env):
    """Keep-alive HTTP/1.1 without a length: chunked; the chunk sizes and
    the last chunk are bytes sent."""
    env.fresh()
    req = (b"GET /early HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
           b"GET /static.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    raw = send_raw(env.httpd.port, req).raw
    first_len = raw.index(b"HTTP/1.1 200 ", 1)
    assert b"Transfer-Encoding: chunked" in raw[:first_len]
    lines = expect("early", "GET", 200, nbytes=first_len) + \
        expect("static_txt", "GET", 200, nbytes=len(raw) - first_len)
    assert_lines(env.listener, lines, same_duration=False, datagrams=2)


def test_first_byte_after_a_slow_handler(env):
    raw, got = fetch_measured(env, "GET", "/slow", "slow", 200)
    assert raw.endswith(b"late\n")
    assert float(value_of(got, "test.responses.ttfb")) >= 300


def test_first_byte_before_the_handler_ends(env):
    """The handler flushes its first byte, then sleeps: the request takes
    300 ms more than its first byte."""
    raw, got = fetch_measured(env, "GET", "/early", "early", 200)
    assert raw.endswith(b"then the rest\n") or raw.endswith(b"0\r\n\r\n")
    ttfb = float(value_of(got, "test.responses.ttfb"))
    total = float(value_of(got, "test.responses.time"))
    assert total - ttfb >= 300, (ttfb, total)


def test_off_in_a_location(env):
    env.fresh()
    fetch(env, "GET", "/quiet/a.txt")
    assert_lines(env.listener, std_lines("quiet.a_txt", "GET", 200))


def test_client_abort(env):
    """The client reads a little of a large file, then resets the
    connection: the write fails while the response is sent, before the
    log phase. The request keeps the status its handler set."""
    env.fresh()
    s = socket.create_connection(("127.0.0.1", env.httpd.port), timeout=5)
    s.sendall(build_request("GET", "/big.bin"))
    got = b""
    while len(got) < 4096:
        chunk = s.recv(4096)
        assert chunk
        got += chunk
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    env.listener.wait_lines(len(expect("big_bin", "GET", 200, nbytes=0)) + 1, timeout=10)
    lines = env.listener.lines()
    assert "test.responses.aborted:1|c" in lines, lines
    assert "test.big_bin.GET.200:1|c" in lines, lines
    assert "test.responses.good:1|c" in lines, lines
    sent = int(value_of(lines, "test.responses.bytes"))
    assert 4096 <= sent <= BIG + 1024, sent


def test_complete_big_file_is_not_aborted(env):
    raw, _ = fetch_measured(env, "GET", "/big.bin", "big_bin", 200, timeout=10)
    assert len(raw) > BIG


# ---- tags, defaults, refusals -------------------------------------------------------------


def test_tags_and_timer_type(httpd_factory, udp_listener):
    h = start_measured(httpd_factory, "breakdown-tags", udp_listener, extra="""StatsdFirstByte On
StatsdResponseBytes On
StatsdTagFormat dogstatsd
StatsdTag env prod
StatsdTagMode On
StatsdTimerType h
StatsdLegacyMode Off
""")
    raw = send_raw(h.port, build_request("GET", "/static.txt")).raw
    udp_listener.wait_lines(5)
    time.sleep(0.15)
    got = [re.sub(r":[0-9.]+\|h", ":<dur>|h", l) for l in udp_listener.lines()]
    assert sorted(got) == sorted([
        "test.request.time:<dur>|h|#env:prod,route:static_txt,method:GET,status:200",
        "test.responses.good:1|c|#env:prod",
        "test.responses.time:<dur>|h|#env:prod",
        "test.responses.ttfb:<dur>|h|#env:prod",
        f"test.responses.bytes:{len(raw)}|c|#env:prod",
    ]), udp_listener.lines()


def test_off_by_default(httpd_factory, udp_listener):
    h = start_measured(httpd_factory, "breakdown-default", udp_listener)
    assert h.get("/static.txt").status == 200
    assert_lines(udp_listener, std_lines("static_txt", "GET", 200))


@pytest.mark.parametrize("directive", ["StatsdFirstByte", "StatsdResponseBytes",
                                       "StatsdAborts"])
def test_configtest_rejects_a_bad_value(httpd_factory, directive):
    h = httpd_factory("breakdown-bad")
    h.conf_extra = statsd_conf(9) + f"{directive} maybe\n"
    assert_configtest_rejects(h, f"{directive} maybe", directive, "On")


@pytest.mark.error_log_expect(r"not allowed here")
@pytest.mark.parametrize("directive", ["StatsdFirstByte On", "StatsdResponseBytes On",
                                       "StatsdAborts On"])
def test_refused_in_htaccess(httpd_factory, directive):
    assert_refused_in_htaccess(httpd_factory("breakdown-ht"), directive)
