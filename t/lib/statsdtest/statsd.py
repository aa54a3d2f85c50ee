"""The real Etsy statsd (npm `statsd` 0.9.0): installed once, run with a
private config on 127.0.0.1, asked through its management port.

The package goes into <repo>/build/statsd (override: STATSD_NPM_DIR) with
`npm install --prefix DIR --omit=optional --no-audit --no-fund statsd@0.9.0`
and is reused while it is there. The config is JSON, which statsd (it
eval()s the file as JavaScript) reads as it is."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from . import proc
from .paths import REPO

VERSION = "0.9.0"
NPM_DIR = Path(os.environ.get("STATSD_NPM_DIR", str(REPO / "build" / "statsd")))
HOME = NPM_DIR / "node_modules" / "statsd"
STATS_JS = HOME / "stats.js"
# a statsd backend that adds up every flush into a JSON file
CAPTURE_BACKEND = REPO / "t" / "integration" / "statsd_capture_backend.js"


class StatsdError(Exception):
    """statsd could not be installed or started."""


def installed_version():
    try:
        return json.loads((HOME / "package.json").read_text()).get("version")
    except (OSError, ValueError):
        return None


def install(timeout=300, say=None):
    """Install statsd with npm unless it is there; return the node binary.
    Raises StatsdError saying what is missing or what npm printed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node:
        raise StatsdError("node is not installed")
    if installed_version() == VERSION:
        return node
    if not npm:
        raise StatsdError("npm is not installed")
    if say:
        say(f"installing statsd {VERSION} with npm into {NPM_DIR} ...")
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    try:
        p = subprocess.run([npm, "install", "--prefix", str(NPM_DIR), "--omit=optional",
                            "--no-audit", "--no-fund", f"statsd@{VERSION}"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise StatsdError(f"npm install statsd timed out after {timeout} s")
    if p.returncode != 0 or installed_version() != VERSION:
        raise StatsdError(f"npm install statsd@{VERSION} failed:\n{p.stdout}")
    return node


class Statsd:
    """statsd as our child process. `config` is added to the base config
    (UDP and management ports on 127.0.0.1, no backend unless given)."""

    def __init__(self, workdir, config=None, node=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.node = node
        self.port = self.udp_port = proc.free_udp_port()
        self.mgmt_port = proc.free_tcp_port()
        cfg = {
            "port": self.port,
            "address": "127.0.0.1",
            "mgmt_port": self.mgmt_port,
            "mgmt_address": "127.0.0.1",
            "backends": [],                # never the graphite default
            "automaticConfigReload": False,
        }
        cfg.update(config or {})
        cfg["backends"] = [str(b) for b in cfg["backends"]]
        self.config = self.dir / "statsd-config.js"
        self.config.write_text(json.dumps(cfg, indent=2) + "\n")
        self.log = self.dir / "statsd.log"
        self.proc = None
        self._logf = None

    @classmethod
    def graphite(cls, workdir, carbon_port, flush_ms=2000, percentiles=(95, 99)):
        """statsd with its graphite backend, sending to carbon on loopback."""
        return cls(workdir, {
            "flushInterval": flush_ms,
            "percentThreshold": list(percentiles),
            "backends": ["./backends/graphite"],
            "graphiteHost": "127.0.0.1",
            "graphitePort": carbon_port,
            "graphite": {"legacyNamespace": False},
        })

    @classmethod
    def capturing(cls, workdir, config=None, node=None):
        """statsd with the capture backend, which adds up every flush into
        capture.json in workdir; read it with captured()."""
        cfg = {"backends": [CAPTURE_BACKEND],
               "capture": {"file": str(Path(workdir) / "capture.json")}}
        cfg.update(config or {})
        return cls(workdir, cfg, node=node)

    def captured(self):
        """The capture backend's totals so far, or None before its first
        complete write."""
        try:
            return json.loads((self.dir / "capture.json").read_text())
        except (OSError, ValueError):
            return None

    def start(self, timeout=30):
        """Start it; return once the management port answers `stats`."""
        node = self.node or install()
        self._logf = open(self.log, "w")
        self.proc = subprocess.Popen([node, str(STATS_JS), str(self.config)],
                                     cwd=str(HOME), stdout=self._logf,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if "uptime" in self.command("stats", timeout=1):
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise StatsdError(f"statsd did not start:\n{self.log_text()}")

    def log_text(self):
        try:
            return self.log.read_text()
        except OSError:
            return ""

    def command(self, cmd, timeout=3.0):
        """Send one management command, return its output up to END."""
        buf = mgmt_command(self.mgmt_port, cmd, timeout)
        return buf.decode("utf-8", "replace").split("END\n")[0]

    mgmt = command

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

    def stop(self):
        proc.stop_popen(self.proc, 5)
        if self._logf:
            self._logf.close()
            self._logf = None


def mgmt_command(port, cmd, timeout=3.0, host="127.0.0.1"):
    """Send one command to a statsd management port: the bytes answered
    until the END line (included), the connection's end or the timeout
    (seconds), whichever comes first. OSError when it cannot connect."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as s:
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
    return buf


# ---- a parser for util.inspect() output (a JS object literal, not JSON)

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
