"""Hostile input, asserted twice: on the wire (every
line matches the statsd grammar, names are exactly as sanitised) and
against the real Etsy statsd (npm statsd@0.9.0, installed and run by
statsdtest.statsd): every datagram the module sent is replayed,
byte for byte, to statsd, whose `bad_lines_seen` must stay 0 and whose
`metrics_received` must grow by exactly the number of lines sent.

Inputs: every byte 0x01-0xff percent-encoded and raw in a path segment,
CR/LF/NUL and `: | @ # , ; =` and spaces, a line-injection attempt, 64 KB
request targets, request notes and X-Statsd-Stat headers carrying the same
bytes, and odd or very long methods.
"""

import re
import shutil
import tempfile
from pathlib import Path

import pytest

from statsdtest.httpd import Httpd
from statsdtest.lines import (bad_wire_lines, measured, replay, request_keys, seg_char,
                              statsd_conf, wait_measured)
from statsdtest.listeners import UdpListener
from statsdtest.proc import wait_for
from statsdtest.servers import Env, start_and_drain, stop_and_check
from statsdtest.statsd import Statsd

MAX_KEY = 250

LUA_SET = r"""
function handle(r)
  local args = r.args or ""
  local v = nil
  local hex = args:match("b=(%x%x)")
  if hex then v = "a" .. string.char(tonumber(hex, 16)) .. "b" end
  local long = args:match("long=(%d+)")
  if long then v = string.rep(args:match("fill=([%w%.]+)") or "n", tonumber(long)) end
  if args:match("dots=1") then v = string.rep(".", 5000) end
  if args:match("inject=1") then v = "x\ntest.injected:999|c\ny" end
  local mode = args:match("mode=(%a+)") or "note"
  if v then
    if mode == "note" then r.notes['statsd.stat'] = v
    elseif mode == "header" then r.headers_out['X-Statsd-Stat'] = v
    elseif mode == "errheader" then r.err_headers_out['X-Statsd-Stat'] = v
    end
  end
  r.content_type = "text/plain"
  r:puts("set\n")
  return apache2.OK
end
"""


class RealStatsd:
    """One statsd for the module, flushInterval 1 h: nothing is flushed
    while the tests run, so the management counters hold every line."""

    def __init__(self, node, workdir):
        self.sd = Statsd(workdir, {"flushInterval": 3600000, "percentThreshold": [95, 99],
                                  "deleteIdleStats": False}, node=node).start(timeout=15)
        self.lines_sent = 0

    def counter(self, name):
        m = re.search(r"['\"]?" + re.escape(name) + r"['\"]?: (\d+)",
                      self.sd.command("counters"))
        return int(m.group(1)) if m else 0

    def check(self, datagrams):
        """Replay datagrams to statsd; wait (bounded) until it has counted
        exactly as many lines as were sent; assert none was bad."""
        n = sum(d.count(b"\n") + 1 for d in datagrams)
        replay(datagrams, self.sd.port)
        self.lines_sent += n
        got = wait_for(lambda: self.counter("statsd.metrics_received") >= self.lines_sent
                       and self.counter("statsd.metrics_received"), 10, step=0.1)
        assert got == self.lines_sent, (
            f"statsd counted {got} lines, {self.lines_sent} were sent\n"
            + self.sd.log.read_text()[-2000:])
        assert self.counter("statsd.bad_lines_seen") == 0, self.sd.log.read_text()[-3000:]
        assert self.sd.stats().get("messages.bad_lines_seen") == "0"
        assert "Bad line" not in self.sd.log.read_text()

    def stop(self):
        self.sd.stop()


@pytest.fixture(scope="module")
def env(statsd_node):
    work = Path(tempfile.mkdtemp(prefix="mod_statsd-hostile-statsd-", dir="/tmp"))
    sd = RealStatsd(statsd_node, work)
    lst = UdpListener()
    h = Httpd("hostile")
    lua = h.add_script("set.lua", LUA_SET)
    h.conf_extra = statsd_conf(lst.port) + f"""
LimitRequestLine 70000
LuaMapHandler ^/lua/set$ "{lua}"
"""
    try:
        start_and_drain(h, lst)
        yield Env(h, lst, statsd=sd)
    finally:
        stop_and_check(h, expected=("AH00135", "AH10244", "AH00036", "AH00127"))
        lst.close()
        sd.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def e(env):
    return env.fresh()


def raw(e, request_line, extra=b""):
    return e.httpd.raw(request_line + b"\r\nHost: 127.0.0.1\r\n" + extra
                       + b"Connection: close\r\n\r\n", timeout=10)


def finish(e, n_requests):
    """Wait for n_requests measurements; check the grammar of every line,
    one measurement per request, and replay everything to the real
    statsd. Returns the lines (reload markers left out)."""
    lines = wait_measured(e.listener, n_requests, timeout=10)
    assert not bad_wire_lines(e.listener.lines()), bad_wire_lines(e.listener.lines())[:10]
    assert measured(lines) == n_requests, (measured(lines), n_requests)
    for k in request_keys(lines):
        assert len(k) <= MAX_KEY and ".." not in k and not k.endswith("."), k
    e.statsd.check(e.listener.raw_datagrams())
    return lines


def names_by_status(lines):
    """{key without prefix: count} of the `K:1|c` lines."""
    out = {}
    for l in lines:
        if l.endswith(":1|c") and not l.startswith("test.responses."):
            k = l[:-4]
            out[k] = out.get(k, 0) + 1
    return out


# ---- every byte in a path segment ----------------------------------------------------

def test_every_byte_percent_encoded(e):
    expected = {}
    for b in range(1, 256):
        r = raw(e, b"GET /h/a%%%02Xb HTTP/1.1" % b)
        assert r.status is not None, (hex(b), r.raw[:200])
        key = f"test.h.a{seg_char(b)}b.GET.{r.status}"
        expected[key] = expected.get(key, 0) + 1
    lines = finish(e, 255)
    assert names_by_status(lines) == expected


@pytest.mark.error_log_expect("AH10244")     # core: invalid URI path (/h/a%b)
def test_every_byte_raw(e):
    """Raw bytes in the request target: httpd rejects some request lines
    itself (400); those requests are still measured once (as the path, or
    ROOT/OtherVerbs when the request line never parsed) and their lines are
    as clean as any other."""
    statuses = {}
    expected = {}
    for b in range(1, 256):
        r = raw(e, b"GET /h/a" + bytes([b]) + b"b HTTP/1.1")
        assert r.status is not None, (hex(b), r.raw[:200])
        statuses[b] = r.status
        if r.status == 404:
            name = {0x2F: "h.a.b", 0x3F: "h.a"}.get(b, f"h.a{seg_char(b)}b")
            key = f"test.{name}.GET.404"
            expected[key] = expected.get(key, 0) + 1
    rejected = sorted(b for b, s in statuses.items() if s != 404)
    print("\nraw bytes httpd rejects in a request target (status):",
          ", ".join(f"0x{b:02x}({statuses[b]})" for b in rejected))
    lines = finish(e, 255)
    got = names_by_status(lines)
    for k, v in expected.items():
        assert got.get(k) == v, (k, v, got.get(k))
    others = {k: v for k, v in got.items() if k not in expected}
    assert sum(others.values()) == len(rejected), (others, rejected)
    for k in others:
        # a rejected request line: ROOT/OtherVerbs, or the path as parsed
        assert re.match(r"^test\.(ROOT\.OtherVerbs|h\.a(_b)?\.GET)\.4\d\d$", k), k


@pytest.mark.parametrize("how", ["encoded", "raw"])
def test_separators_and_controls_in_segments(e, how):
    segs = [("a%0Ab", "a_b"), ("c%0Dd", "c_d"), ("e%00f", "e_f"), ("g%3Ah", "g_h"),
            ("i%7Cj", "i_j"), ("k%40l", "k_l"), ("m%23n", "m_n"), ("o%2Cp", "o_p"),
            ("q%3Br", "q_r"), ("s%3Dt", "s_t"), ("u%20v", "u_v"), ("w%20%20x", "w__x"),
            ("%0D%0A", "__"), ("%3A1%7Cc", "_1_c")]
    if how == "raw":
        # what httpd lets through raw (CR, LF, NUL, space and # it does not)
        segs = [(s, n) for s, n in segs if not re.search(r"%(0A|0D|00|20|23)", s)]
        segs = [(re.sub(r"%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), s), n)
                for s, n in segs]
    target = "/s/" + "/".join(s for s, _ in segs)
    r = raw(e, b"GET " + target.encode("latin-1") + b" HTTP/1.1")
    assert r.status == 404, r
    name = "s." + ".".join(n for _, n in segs)
    lines = finish(e, 1)
    assert names_by_status(lines) == {f"test.{name}.GET.404": 1}


def test_line_injection_in_path(e):
    r = raw(e, b"GET /a%0Atest.injected:999%7Cc%0Atest.x:1%7Cms/b HTTP/1.1")
    assert r.status == 404
    lines = finish(e, 1)
    assert not any("injected" in l.split(":")[0] and not l.startswith("test.a_") for l in lines), lines
    assert names_by_status(lines) == {"test.a_test_injected_999_c_test_x_1_ms.b.GET.404": 1}


# ---- 64 KB request targets -----------------------------------------------------------

BIG = 65536


@pytest.mark.error_log_expect("AH00036", "AH00127")   # core: File name too long
@pytest.mark.parametrize("shape", ["segments", "one-segment", "hostile-encoded"])
def test_64k_uri_name_is_capped(e, shape):
    if shape == "segments":
        target = ("/seg" * (BIG // 4))[:BIG]
    elif shape == "one-segment":
        target = "/" + "x" * (BIG - 1)
    else:
        unit = "/%0A%7C%3A%40%23%20%00%FF"
        target = (unit * (BIG // len(unit) + 1))[:BIG - 1]
        target = target[:target.rfind("/")] + "/z"
    r = raw(e, b"GET " + target.encode() + b" HTTP/1.1")
    assert r.status is not None and r.status < 500, r
    lines = finish(e, 1)
    keys = set(request_keys(lines))
    assert len(keys) == 1, keys
    key = keys.pop()
    assert len(key) <= MAX_KEY, len(key)
    assert key.startswith("test.") and key.endswith(f".GET.{r.status}"), key
    if shape == "segments":
        assert re.match(r"^test(\.seg)+\.GET\.\d+$", key) and len(key) > MAX_KEY - 8, key
    elif shape == "one-segment":
        assert re.match(r"^test\.x+\.GET\.\d+$", key), key
    else:
        assert re.match(r"^test(\._{8})+\.GET\.\d+$", key), key


# ---- notes and X-Statsd-Stat headers carrying the same bytes -------------------------

@pytest.mark.parametrize("mode", ["note", "header", "errheader"])
def test_every_byte_in_note_and_header(e, mode):
    expected = {}
    for b in range(1, 256):
        r = e.httpd.get(f"/lua/set?mode={mode}&b={b:02x}")
        assert r.status == 200 and r.body == b"set\n", (hex(b), r)
        assert not r.has_header("X-Statsd-Stat"), (hex(b), r.headers)
        if b == 0x2E:
            key = "test.a.b.GET.200"           # '.' separates segments there
        else:
            key = f"test.a{seg_char(b)}b.GET.200"
        expected[key] = expected.get(key, 0) + 1
    lines = finish(e, 255)
    assert names_by_status(lines) == expected


@pytest.mark.parametrize("mode", ["note", "header"])
def test_injection_in_note_and_header(e, mode):
    r = e.httpd.get(f"/lua/set?mode={mode}&inject=1")
    assert r.status == 200 and not r.has_header("X-Statsd-Stat")
    lines = finish(e, 1)
    assert names_by_status(lines) == {"test.x_test.injected_999_c_y.GET.200": 1}


@pytest.mark.parametrize("mode", ["note", "header"])
@pytest.mark.parametrize("kind", ["one-segment", "segments", "only-dots"])
def test_64k_note_and_header(e, mode, kind):
    q = {"one-segment": "long=65536", "segments": "long=65536&fill=ab.cd.",
         "only-dots": "dots=1"}[kind]
    r = e.httpd.get(f"/lua/set?mode={mode}&{q}")
    assert r.status == 200 and not r.has_header("X-Statsd-Stat"), r
    lines = finish(e, 1)
    keys = set(request_keys(lines))
    assert len(keys) == 1, keys
    key = keys.pop()
    assert len(key) <= MAX_KEY and key.endswith(".GET.200"), key
    if kind == "only-dots":
        # no usable name in it: the path names the request
        assert key == "test.lua.set.GET.200", key
    elif kind == "one-segment":
        assert re.match(r"^test\.n+\.GET\.200$", key) and len(key) > MAX_KEY - 20, key
    else:
        assert re.match(r"^test(\.ab\.cd)+(\.ab)?\.GET\.200$", key), key


# ---- methods ---------------------------------------------------------------------------

ODD_METHODS = [b"F-O_O", b"GET1", b"get", b"Get", b"M-SEARCH", b"X" * 33,
               b"LONG" * 25, b"A" * 4000, b"B" * 60000]


@pytest.mark.error_log_expect("AH00135")     # core: Invalid method in request
@pytest.mark.parametrize("method", ODD_METHODS,
                         ids=[m[:12].decode() + (f"x{len(m)}" if len(m) > 12 else "")
                              for m in ODD_METHODS])
def test_odd_methods_are_other_verbs(e, method):
    r = raw(e, method + b" /m/x HTTP/1.1")
    assert r.status is not None, r.raw[:200]
    lines = finish(e, 1)
    assert names_by_status(lines) == {f"test.m.x.OtherVerbs.{r.status}": 1}, lines


@pytest.mark.error_log_expect("AH00135", r"AH10244")
def test_odd_request_lines_measured_once_and_clean(e):
    """Request lines that are not quite HTTP: whatever httpd answers, each
    is measured once and every line is clean."""
    reqs = [b"CONNECT 127.0.0.1:9 HTTP/1.1", b"PRI * HTTP/2.0",
            b"GET http://evil|host:1/x%0A HTTP/1.1", b"GET //// HTTP/1.1",
            b"GET /%2e%2e/%2e%2e/etc HTTP/1.1", b"GET /a?%0A|:@ HTTP/1.1",
            b"GET /a#%0A|: HTTP/1.1", b"OPTIONS * HTTP/1.1", b"GET * HTTP/1.1",
            b"GET /x HTTP/1.1\r\nX-Statsd-Stat: from.client.header",
            b"GET /%%%% HTTP/1.1", b"GET /%zz/%a HTTP/1.1"]
    got = 0
    for q in reqs:
        r = e.httpd.raw(q + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout=10)
        got += r.status is not None
    assert got == len(reqs)
    lines = finish(e, len(reqs))
    print("\n" + "\n".join(sorted(names_by_status(lines))))
    # a request header of that name is the client's, never a name source
    assert "test.x.GET.404" in names_by_status(lines)
