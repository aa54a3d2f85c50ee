"""Shared helpers of the reliability tests (test_faults, test_hostile,
test_guard, test_config_safety, test_process_model).

Built on the fixtures of conftest.py (Httpd, the datagram listeners, the
error-log check after every test); nothing here changes them. Only loopback
is ever a traffic target, and every loop and wait is bounded in count and
in time.

The stress switch: tests decorated with @stress carry the `stress` marker
and are skipped unless STATSD_STRESS=1 (`make test-stress` sets it and runs
`pytest -m stress`), so `make test` never runs the long ones.
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import APACHE2, Httpd

# --------------------------------------------------------------------------
# the stress switch

STRESS = os.environ.get("STATSD_STRESS") == "1"


def _register_stress_marker():
    """Register the `stress` marker (no conftest.py/pytest.ini change is
    allowed here), so pytest does not warn about an unknown marker. Uses
    the config pytest hands to its mark generator; harmless if absent."""
    cfg = getattr(pytest.mark, "_config", None)
    if cfg is None:
        return
    try:
        known = " ".join(cfg.getini("markers"))
        if "stress:" not in known:
            cfg.addinivalue_line(
                "markers", "stress: long reliability runs (STATSD_STRESS=1, "
                           "make test-stress)")
    except (ValueError, AttributeError, TypeError):
        pass


_register_stress_marker()


def stress(fn):
    """Mark a long test: selected by `-m stress`, skipped unless
    STATSD_STRESS=1."""
    fn = pytest.mark.skipif(not STRESS, reason="long test: set STATSD_STRESS=1 "
                            "or run `make test-stress`")(fn)
    return pytest.mark.stress(fn)


# --------------------------------------------------------------------------
# lines on the wire

# SPEC §2 wire grammar, with the sample rate a later issue adds
WIRE_RE = re.compile(r"^[A-Za-z0-9_.-]+:[0-9.]+\|(ms|c)(\|@[0-9.]+)?$")
RELOAD_RE = re.compile(r"(^|\.)httpd\.reloads:1\|c$")
DROP_REPORT = r"\[statsd:warn\].*datagram\(s\) to .* dropped since the last report"
SEGMENT_OK = re.compile(rb"[A-Za-z0-9_-]")


def metric_lines(listener):
    """Every line received except the parent's reload markers."""
    return [l for l in listener.lines() if not RELOAD_RE.search(l)]


def reload_markers(listener):
    return [l for l in listener.lines() if RELOAD_RE.search(l)]


def bad_wire_lines(lines):
    return [l for l in lines if not WIRE_RE.match(l)]


def key_of(line):
    return line.split(":", 1)[0]


def request_keys(lines, prefix="test"):
    """Keys of the request lines (everything but P.responses.* and markers)."""
    svc = f"{prefix}.responses." if prefix else "responses."
    return [key_of(l) for l in lines
            if not l.startswith(svc) and not RELOAD_RE.search(l)]


def measured(lines, prefix="test"):
    """How many requests these lines measure: one P.responses.time each."""
    t = f"{prefix}.responses.time:" if prefix else "responses.time:"
    return sum(1 for l in lines if l.startswith(t))


def seg_char(b, dot_ok=False):
    """What one byte of a name becomes (SPEC §2 sanitising)."""
    if dot_ok and b == 0x2E:
        return "."
    return chr(b) if SEGMENT_OK.match(bytes([b])) else "_"


def wait_for(pred, timeout, step=0.05):
    """Poll pred() until it is truthy or timeout passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def wait_measured(listener, n, timeout=5.0, prefix="test"):
    """Wait (bounded) until n requests are measured; return the lines."""
    wait_for(lambda: measured(listener.lines(), prefix) >= n, timeout)
    listener.quiesce(0.15, timeout=2.0)
    return metric_lines(listener)


# --------------------------------------------------------------------------
# the error log

_PID_RE = re.compile(r"\[pid (\d+)")


def log_lines(h, pattern, since=0):
    return [l for l in h.error_log_text(since).splitlines() if re.search(pattern, l)]


def drop_reports(h, since=0):
    """[(pid, count, line)] of the module's "N datagram(s) ... dropped" lines."""
    out = []
    for l in log_lines(h, DROP_REPORT, since):
        pid = _PID_RE.search(l)
        cnt = re.search(r"statsd: (\d+) datagram\(s\)", l)
        out.append((pid.group(1) if pid else None,
                    int(cnt.group(1)) if cnt else None, l))
    return out


# --------------------------------------------------------------------------
# processes


def children(pid):
    return sorted(Httpd._children(None, pid)) if pid else []


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def fd_targets(pid):
    out = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    except OSError:
        pass
    return sorted(out)


def start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def graceful_stop(h, timeout=15.0):
    """`apache2 -k graceful-stop` and wait (bounded) until the parent and
    its children are gone: every child flushes its batch on the way out."""
    pid = h.pid
    kids = children(pid)
    p = h._cmd("-k", "graceful-stop", timeout=timeout)
    assert p.returncode == 0, p.stdout
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(Httpd._alive(x) for x in [pid] + kids):
        time.sleep(0.05)
    alive = [x for x in [pid] + kids if Httpd._alive(x)]
    assert not alive, f"still running after graceful-stop: {alive}"
    h.pid = None


# --------------------------------------------------------------------------
# HTTP clients


class ResponseStream:
    """Incremental parser of a stream of HTTP/1.x responses to GET/POST
    (Content-Length, chunked, or close-delimited)."""

    def __init__(self):
        self.buf = b""
        self.statuses = []
        self.headers = []

    def feed(self, data):
        self.buf += data
        pos = 0
        buf = self.buf
        while True:
            end = buf.find(b"\r\n\r\n", pos)
            if end < 0:
                break
            head = buf[pos:end].split(b"\r\n")
            try:
                status = int(head[0].split(b" ", 2)[1])
            except (IndexError, ValueError):
                raise ValueError(f"not an HTTP response: {buf[pos:pos + 80]!r}")
            hdrs = {}
            for h in head[1:]:
                k, _, v = h.partition(b":")
                hdrs[k.strip().lower()] = v.strip()
            body_start = end + 4
            if b"content-length" in hdrs:
                stop = body_start + int(hdrs[b"content-length"])
                if stop > len(buf):
                    break
            elif hdrs.get(b"transfer-encoding", b"").lower() == b"chunked":
                stop = self._chunked_end(buf, body_start)
                if stop is None:
                    break
            elif 100 <= status < 200 or status in (204, 304):
                stop = body_start
            else:
                break                   # close-delimited: see finish()
            self.statuses.append(status)
            self.headers.append(hdrs)
            pos = stop
        self.buf = buf[pos:]

    @staticmethod
    def _chunked_end(buf, p):
        while True:
            eol = buf.find(b"\r\n", p)
            if eol < 0:
                return None
            size = int(buf[p:eol].split(b";")[0], 16)
            p = eol + 2
            if size == 0:
                end = buf.find(b"\r\n", p)      # trailers end with an empty line
                while end >= 0 and end != p:
                    p = end + 2
                    end = buf.find(b"\r\n", p)
                return None if end < 0 else end + 2
            if len(buf) < p + size + 2:
                return None
            p += size + 2

    def finish(self):
        """The connection closed: a pending close-delimited response counts."""
        if self.buf.startswith(b"HTTP/") and b"\r\n\r\n" in self.buf:
            try:
                self.statuses.append(int(self.buf.split(b" ", 2)[1]))
            except (IndexError, ValueError):
                pass
        self.buf = b""


def get_request(target, host=b"127.0.0.1", close=False, method=b"GET"):
    if isinstance(target, str):
        target = target.encode("latin-1")
    return (method + b" " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n"
            + (b"Connection: close\r\n" if close else b"") + b"\r\n")


def pipelined(port, targets, depth=64, deadline=None, host=b"127.0.0.1"):
    """Send every request in `targets` over keep-alive connections, up to
    `depth` in flight (HTTP/1.1 pipelining). Reconnects when the server
    closes and re-sends only requests that got no response. Returns the
    list of statuses received (one per answered request), bounded by
    `deadline` (time.monotonic() value; default 60 s from now)."""
    deadline = deadline or time.monotonic() + 60
    reqs = [get_request(t, host) for t in targets]
    statuses = []
    i = 0
    attempts = 0
    while i < len(reqs) and time.monotonic() < deadline and attempts < 1000:
        attempts += 1
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            time.sleep(0.05)
            continue
        stream = ResponseStream()
        base = sent = i
        try:
            while i < len(reqs) and time.monotonic() < deadline:
                if sent < len(reqs) and sent - i < depth:
                    stop = min(len(reqs), i + depth)
                    s.sendall(b"".join(reqs[sent:stop]))
                    sent = stop
                s.settimeout(max(0.05, min(5.0, deadline - time.monotonic())))
                data = s.recv(1 << 20)
                if not data:
                    stream.finish()
                    break
                stream.feed(data)
                i = base + len(stream.statuses)
        except (OSError, ValueError):
            pass
        finally:
            i = base + len(stream.statuses)
            statuses.extend(stream.statuses)
            s.close()
    return statuses


class LoadThread:
    """Light background load: sequential requests, each on its own
    connection (Connection: close), until stop(). Records each request's
    status (None: no response) and latency. pause()/resume() hold it
    between requests, e.g. while fds are counted."""

    def __init__(self, port, targets=("/static.txt",), interval=0.005,
                 timeout=5.0, max_requests=200000):
        self.port = port
        self.targets = [t.encode() if isinstance(t, str) else t for t in targets]
        self.interval = interval
        self.timeout = timeout
        self.max_requests = max_requests
        self.results = []          # (status or None, seconds, error)
        self._stop = threading.Event()
        self._run_ok = threading.Event()
        self._run_ok.set()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="load")

    def start(self):
        self._thread.start()
        return self

    def _one(self, target):
        t0 = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=self.timeout) as s:
                s.sendall(get_request(target, close=True))
                stream = ResponseStream()
                deadline = t0 + self.timeout
                while not stream.statuses and time.monotonic() < deadline:
                    s.settimeout(max(0.05, deadline - time.monotonic()))
                    data = s.recv(65536)
                    if not data:
                        stream.finish()
                        break
                    stream.feed(data)
            status = stream.statuses[0] if stream.statuses else None
            return status, time.monotonic() - t0, None
        except (OSError, ValueError) as e:
            return None, time.monotonic() - t0, repr(e)

    def _run(self):
        n = 0
        while not self._stop.is_set() and n < self.max_requests:
            if not self._run_ok.is_set():
                self._idle.set()
                self._run_ok.wait(0.1)
                continue
            self._idle.clear()
            self.results.append(self._one(self.targets[n % len(self.targets)]))
            n += 1
            if self.interval:
                time.sleep(self.interval)
        self._idle.set()

    def pause(self, timeout=10.0):
        self._run_ok.clear()
        self._idle.wait(timeout)

    def resume(self):
        self._idle.clear()
        self._run_ok.set()

    def stop(self, timeout=15.0):
        self._stop.set()
        self._run_ok.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "load thread did not stop"

    @property
    def completed(self):
        return [r for r in self.results if r[0] is not None]

    @property
    def failed(self):
        return [r for r in self.results if r[0] is None]


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


# --------------------------------------------------------------------------
# a private /etc/hosts: httpd in its own mount namespace


def unshare_works():
    """Can we run a command with its own /etc/hosts (root, unshare -m)?"""
    if not shutil.which("unshare"):
        return False, "unshare(1) is not installed"
    d = tempfile.mkdtemp(prefix="mod_statsd-ns-", dir="/tmp")
    try:
        hosts = os.path.join(d, "hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n127.0.0.1 mod-statsd-ns-probe.invalid-ish-name\n")
        p = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             'mount --bind "$0" /etc/hosts && getent hosts mod-statsd-ns-probe.invalid-ish-name',
             hosts], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=20)
        if p.returncode != 0 or "127.0.0.1" not in p.stdout:
            return False, f"unshare -m with a bind-mounted /etc/hosts failed: {p.stdout.strip()}"
        return True, ""
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"unshare -m failed: {e!r}"
    finally:
        shutil.rmtree(d, ignore_errors=True)


class NsHttpd(Httpd):
    """An Httpd whose apache2 runs in a private mount namespace where
    /etc/hosts is a bind mount of self.hosts (a file the test owns and may
    rewrite in place while httpd runs: write it, never rename over it, so
    the bind mount keeps seeing the same inode)."""

    def __init__(self, name, hosts_text, **kw):
        super().__init__(name, **kw)
        self.hosts = self.dir / "hosts"
        self.hosts.write_text(hosts_text)
        os.chmod(self.hosts, 0o644)

    def set_hosts(self, text):
        with open(self.hosts, "r+") as f:      # same inode: truncate + write
            f.seek(0)
            f.write(text)
            f.truncate()
            f.flush()
            os.fsync(f.fileno())

    def _cmd(self, *args, timeout=30):
        if args[:2] != ("-k", "start"):
            return super()._cmd(*args, timeout=timeout)
        script = 'mount --bind "$0" /etc/hosts && exec "$@"'
        return subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script,
             str(self.hosts), APACHE2, "-f", str(self.conf_file), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
            cwd=str(self.dir), env=self._env(), text=True, errors="replace")

    def ns_getent(self, *args):
        """getent inside the namespace of the running httpd (nsenter)."""
        p = subprocess.run(["nsenter", "-t", str(self.pid), "-m", "getent", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=10)
        return p.returncode, p.stdout


def replay(datagrams, port, host="127.0.0.1"):
    """Send captured datagrams, byte for byte, to another receiver (the
    real statsd): what the module put on the wire, checked by statsd."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i, d in enumerate(datagrams):
            s.sendto(d, (host, port))
            if i % 200 == 199:
                time.sleep(0.01)       # let node keep up: loopback drops silently
