"""Against the real Etsy statsd (npm `statsd@0.9.0`, SPEC §5): every line
the module sends parses (`bad_lines_seen` 0) and the aggregates are right.

The package is installed once into t/.npm (override: STATSD_NPM_DIR) with
`npm install --prefix DIR --omit=optional --no-audit --no-fund statsd@0.9.0`
and reused while it is there. No node or npm, or a failed install, is a test
failure, not a skip.

How counting is made reliable: statsd resets counters and timers at every
flush, and its management `counters`/`timers` commands only show the current
flush interval. So
  * test_mgmt_counts runs statsd with flushInterval 60000: no flush can
    happen during the few seconds of the test, and the management interface
    shows everything that arrived;
  * test_flushed_aggregates runs statsd with flushInterval 1000 and a tiny
    backend (statsd_capture_backend.js) that adds up every flush into a JSON
    file, so totals, counter rates and the percentile data (percentThreshold
    95, 99) are read from what statsd itself computed at its flushes.
`bad_lines_seen` comes from the management `stats` command, which counts
since start-up and is never reset. Every wait is bounded.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (HERE, REPO, Httpd, free_tcp_port, free_udp_port,
                      statsd_conf, stop_and_check)

NPM_DIR = Path(os.environ.get("STATSD_NPM_DIR", str(REPO / "t" / ".npm")))
STATSD_VERSION = "0.9.0"
STATSD_JS = NPM_DIR / "node_modules" / "statsd" / "stats.js"
CAPTURE_BACKEND = HERE / "statsd_capture_backend.js"

N_GOOD = 30
N_BAD = 10


# ---- installing and running statsd ------------------------------------------------

def _installed_version():
    try:
        pkg = json.loads((NPM_DIR / "node_modules" / "statsd" / "package.json").read_text())
        return pkg.get("version")
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="session")
def statsd_package():
    node = shutil.which("node")
    npm = shutil.which("npm")
    if not node:
        pytest.fail("node is not installed (needed for the real statsd test)", pytrace=False)
    if _installed_version() != STATSD_VERSION:
        if not npm:
            pytest.fail("npm is not installed (needed to install statsd)", pytrace=False)
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        try:
            p = subprocess.run([npm, "install", "--prefix", str(NPM_DIR), "--omit=optional",
                                "--no-audit", "--no-fund", f"statsd@{STATSD_VERSION}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=300)
        except subprocess.TimeoutExpired:
            pytest.fail("npm install statsd timed out after 300 s", pytrace=False)
        if p.returncode != 0 or _installed_version() != STATSD_VERSION:
            pytest.fail(f"npm install statsd@{STATSD_VERSION} failed:\n{p.stdout}",
                        pytrace=False)
    return node


class StatsdProcess:
    def __init__(self, node, workdir, flush_interval, backends=(), extra=None):
        self.udp_port = free_udp_port()
        self.mgmt_port = free_tcp_port()
        self.dir = Path(workdir)
        self.capture = self.dir / "capture.json"
        cfg = {
            "port": self.udp_port,
            "address": "127.0.0.1",
            "mgmt_port": self.mgmt_port,
            "mgmt_address": "127.0.0.1",
            "flushInterval": flush_interval,
            "percentThreshold": [95, 99],
            "deleteIdleStats": False,
            "automaticConfigReload": False,
            "backends": [str(b) for b in backends],   # never the graphite default
            "capture": {"file": str(self.capture)},
        }
        cfg.update(extra or {})
        self.config = self.dir / "statsd-config.js"
        self.config.write_text(json.dumps(cfg, indent=2))
        self.log = self.dir / "statsd.log"
        self._logf = open(self.log, "w")
        self.proc = subprocess.Popen([node, str(STATSD_JS), str(self.config)],
                                     cwd=str(STATSD_JS.parent), stdout=self._logf,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if "uptime" in self.command("stats", timeout=1):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"statsd did not start:\n{self.log.read_text()}", pytrace=False)

    def command(self, cmd, timeout=3.0):
        """Send one management command, return its output up to END."""
        deadline = time.monotonic() + timeout
        with socket.create_connection(("127.0.0.1", self.mgmt_port), timeout=timeout) as s:
            s.sendall(cmd.encode() + b"\n")
            buf = b""
            while b"END\n" not in buf and time.monotonic() < deadline:
                s.settimeout(max(0.05, deadline - time.monotonic()))
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                buf += chunk
        return buf.decode("utf-8", "replace").split("END\n")[0]

    def stats(self):
        out = {}
        for line in self.command("stats").splitlines():
            k, sep, v = line.partition(": ")
            if sep:
                out[k.strip()] = v.strip()
        return out

    def counters(self):
        return parse_js_literal(self.command("counters"))

    def timers(self):
        return parse_js_literal(self.command("timers"))

    def captured(self):
        try:
            return json.loads(self.capture.read_text())
        except (OSError, ValueError):
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._logf.close()


# ---- a parser for util.inspect() output (a JS object literal, not JSON) ----------

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<punct>[{}\[\]:,])
    | (?P<sq>'(?:[^'\\]|\\.)*')
    | (?P<dq>"(?:[^"\\]|\\.)*")
    | (?P<more>\.\.\.\ \d+\ more\ items?)
    | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<word>[A-Za-z_$][\w$.]*)
    )""", re.X)


def parse_js_literal(text):
    """Parse util.inspect output of plain objects/arrays of numbers and
    strings: quoted or bare keys, single-quoted strings, '... N more items'."""
    tokens = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot parse at {pos}: {text[pos:pos + 40]!r}")
        pos = m.end()
        kind = m.lastgroup
        val = m.group(kind)
        if kind in ("sq", "dq"):
            body = val[1:-1]
            val = re.sub(r"\\(.)", r"\1", body)
            kind = "str"
        elif kind == "num":
            val = float(val)
            val = int(val) if val.is_integer() else val
        elif kind == "word":
            val = {"true": True, "false": False, "null": None, "undefined": None,
                   "NaN": float("nan"), "Infinity": float("inf")}.get(val, val)
        tokens.append((kind, val))
        while pos < len(text) and text[pos].isspace():
            pos += 1
    it = iter(tokens + [("eof", None)])
    tok = [next(it)]

    def peek():
        return tok[0]

    def take():
        t = tok[0]
        tok[0] = next(it)
        return t

    def value():
        kind, val = take()
        if kind == "punct" and val == "{":
            obj = {}
            while not (peek() == ("punct", "}")):
                k = take()[1]
                assert take() == ("punct", ":"), "expected ':'"
                obj[str(k)] = value()
                if peek() == ("punct", ","):
                    take()
            take()
            return obj
        if kind == "punct" and val == "[":
            arr = []
            while not (peek() == ("punct", "]")):
                if peek()[0] == "more":
                    take()
                    arr.append(Ellipsis)
                else:
                    arr.append(value())
                if peek() == ("punct", ","):
                    take()
            take()
            return arr
        return val

    return value()


def test_parse_js_literal():
    text = ("{\n  'statsd.bad_lines_seen': 0,\n  plain: 3,\n  'a.b-c': 1.5,\n"
            "  'x': [ 1, 2.25,\n    3 ],\n  \"q\": 'it\\'s'\n}")
    assert parse_js_literal(text) == {"statsd.bad_lines_seen": 0, "plain": 3,
                                      "a.b-c": 1.5, "x": [1, 2.25, 3], "q": "it's"}
    assert parse_js_literal("{}") == {}
    assert parse_js_literal("[ 1, ... 3 more items ]") == [1, Ellipsis]


# ---- the tests --------------------------------------------------------------------------

def _drive(h):
    for i in range(N_GOOD):
        r = h.get("/static.txt")
        assert r.status == 200, r
    for i in range(N_BAD):
        r = h.get(f"/missing/{i}")
        assert r.status == 404, r


def _wait(pred, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    return pred()


@pytest.fixture
def workdir():
    d = Path(__import__("tempfile").mkdtemp(prefix="mod_statsd-it-realstatsd-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_mgmt_counts(statsd_package, workdir):
    sd = StatsdProcess(statsd_package, workdir, flush_interval=60000)
    # StatsdFlushInterval 0: one datagram per request, counted below
    h = Httpd("realstatsd-mgmt", conf=statsd_conf(sd.udp_port))
    try:
        h.start()
        _drive(h)
        want = {"test.responses.good": N_GOOD, "test.responses.bad": N_BAD,
                "test.responses.4xx": N_BAD,
                "test.static_txt.GET.200": N_GOOD}

        def done():
            c = sd.counters()
            return c if all(c.get(k) == v for k, v in want.items()) else None

        counters = _wait(done, 10)
        assert counters, f"counters never reached {want}: {sd.counters()}\n{sd.log.read_text()}"
        for k, v in want.items():
            assert counters[k] == v, (k, counters)
        assert "test.responses.5xx" not in counters
        assert sum(v for k, v in counters.items() if re.match(r"^test\.missing\.\d\.GET\.404$", k)) == N_BAD
        assert counters["statsd.bad_lines_seen"] == 0
        # one datagram per request; 4 lines per good, 5 per bad request
        # plus the one reload marker the parent sends at start-up
        assert counters.get("test.httpd.reloads") == 1, counters
        assert counters["statsd.packets_received"] == N_GOOD + N_BAD + 1
        assert counters["statsd.metrics_received"] == 4 * N_GOOD + 5 * N_BAD + 1

        timers = sd.timers()
        rt = timers["test.responses.time"]
        assert len(rt) == N_GOOD + N_BAD and Ellipsis not in rt
        assert all(isinstance(v, (int, float)) and v > 0 for v in rt), rt
        assert len(timers["test.static_txt.GET.200"]) == N_GOOD

        st = sd.stats()
        assert st.get("messages.bad_lines_seen") == "0", st
        assert "Bad line" not in sd.log.read_text()
    finally:
        stop_and_check(h)
        sd.stop()


def test_flushed_aggregates(statsd_package, workdir):
    sd = StatsdProcess(statsd_package, workdir, flush_interval=1000,
                       backends=[CAPTURE_BACKEND])
    # the module's default batching this time: many requests per datagram
    h = Httpd("realstatsd-flush", conf=statsd_conf(sd.udp_port, flush=None))
    try:
        h.start()
        _drive(h)
        want = {"test.responses.good": N_GOOD, "test.responses.bad": N_BAD,
                "test.responses.4xx": N_BAD}

        def done():
            cap = sd.captured()
            if cap and all(cap["counters"].get(k) == v for k, v in want.items()) \
                    and cap["timer_counts"].get("test.responses.time") == N_GOOD + N_BAD:
                return cap
            return None

        cap = _wait(done, 10, step=0.2)
        assert cap, f"flushed totals never reached {want}: {sd.captured()}\n{sd.log.read_text()}"
        c = cap["counters"]
        assert c.get("test.responses.5xx", 0) == 0
        assert c["test.static_txt.GET.200"] == N_GOOD
        assert c["statsd.bad_lines_seen"] == 0
        # plus the one reload marker the parent sends at start-up
        assert c.get("test.httpd.reloads") == 1, c
        assert c["statsd.metrics_received"] == 4 * N_GOOD + 5 * N_BAD + 1
        assert 2 <= c["statsd.packets_received"] < N_GOOD + N_BAD   # batched
        # percentiles were computed by statsd for the service timer
        td = [d for d in cap["timer_data"]["test.responses.time"] if d and d.get("count")]
        assert sum(d["count"] for d in td) == N_GOOD + N_BAD
        for d in td:
            for key in ("upper_95", "upper_99", "mean_95", "count_95", "upper", "lower"):
                assert key in d, (key, d)
            assert 0 < d["lower"] <= d["upper_95"] <= d["upper_99"] <= d["upper"], d
        assert cap["timer_counts"]["test.static_txt.GET.200"] == N_GOOD
        assert sd.stats().get("messages.bad_lines_seen") == "0"
        assert "Bad line" not in sd.log.read_text()
    finally:
        stop_and_check(h)
        sd.stop()
