"""Fixtures for the mod_statsd integration tests.

In the style of httpd's own test/pyhttpd: every test talks to a real apache2
started from a throwaway config on 127.0.0.1, and a datagram listener (UDP on
127.0.0.1 or ::1, or a unix datagram socket) that records every datagram the
module sends.

    /usr/bin/python3 -m pytest -q t/integration          (from the repo top)

Only loopback is ever a traffic target; every wait is bounded in count and
time.  Nothing here is skipped silently: if mod_statsd.so is not built, tests
that need it fail and say so.
"""

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

# --------------------------------------------------------------------------
# paths

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]                        # <repo>/t/integration -> <repo>
MODULE_SO = Path(os.environ.get("STATSD_MODULE_SO",
                                str(REPO / ".libs" / "mod_statsd.so")))
APACHE2 = os.environ.get("APACHE2", "/usr/sbin/apache2")
MODULES_DIR = Path(os.environ.get("APACHE2_MODULES", "/usr/lib/apache2/modules"))
RUN_USER = os.environ.get("APACHE2_USER", "www-data")
RUN_GROUP = os.environ.get("APACHE2_GROUP", "www-data")

# Default set of shared modules (log_config and unixd are compiled in).
DEFAULT_MODULES = ("authz_core", "mime", "dir", "alias", "setenvif", "lua",
                   "headers", "rewrite")

# --------------------------------------------------------------------------
# the metric line grammar (SPEC §2)

LINE_RE = re.compile(r"^[A-Za-z0-9_.-]+:[0-9.]+\|(ms|c)$")
DURATION_RE = {
    "milliseconds": re.compile(r"^\d+(\.\d{1,3})?$"),
    "microseconds": re.compile(r"^\d+$"),
    "seconds": re.compile(r"^\d+(\.\d{1,6})?$"),
}
DUR = "<dur>"


def module_required():
    """Fail (never skip) when the module has not been built."""
    if not MODULE_SO.is_file():
        pytest.fail(f"mod_statsd is not built: {MODULE_SO} does not exist. "
                    f"Run `make` in {REPO} first.", pytrace=False)


def hostname_short_clean():
    """socket.gethostname() cut at the first '.', sanitised like §2."""
    short = socket.gethostname().split(".")[0]
    return re.sub(rb"[^A-Za-z0-9_-]", b"_", short.encode()).decode()


def free_tcp_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_udp_port(host="127.0.0.1", family=socket.AF_INET):
    """A UDP port with (at the time of asking) nothing bound to it."""
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# datagram listeners


class DatagramListener:
    """Collects every datagram on a bound socket in a background thread."""

    MAX_DATAGRAM = 70000

    def __init__(self, family, address, label):
        self.family = family
        self.label = label
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        except OSError:
            pass
        self.sock.bind(address)
        self.sock.settimeout(0.05)
        self.address = self.sock.getsockname()
        self._data = []            # list of (monotonic time, bytes)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"listener-{label}")
        self._thread.start()

    # -- background thread
    def _run(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(self.MAX_DATAGRAM)
            except socket.timeout:
                continue
            except OSError:
                if self._stop.is_set():
                    break
                time.sleep(0.01)
                continue
            with self._cond:
                self._data.append((time.monotonic(), data))
                self._cond.notify_all()

    # -- accessors
    def raw_datagrams(self):
        with self._cond:
            return [d for _, d in self._data]

    def datagrams(self):
        """Datagrams as str (latin-1, so every byte is visible as one char)."""
        return [d.decode("latin-1") for d in self.raw_datagrams()]

    def lines(self):
        """All lines of all datagrams, split on '\\n' (nothing dropped)."""
        out = []
        for d in self.datagrams():
            out.extend(d.split("\n"))
        return out

    def clear(self):
        with self._cond:
            self._data = []

    def _wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
            return True

    def wait_lines(self, n, timeout=3.0):
        """Wait (bounded) until at least n lines arrived; return lines()."""
        def enough():
            return sum(d.count(b"\n") + 1 for _, d in self._data) >= n
        self._wait(enough, timeout)
        return self.lines()

    def wait_datagrams(self, n, timeout=3.0):
        self._wait(lambda: len(self._data) >= n, timeout)
        return self.datagrams()

    def quiesce(self, quiet=0.1, timeout=2.0):
        """Wait until nothing has arrived for `quiet` seconds (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                last = self._data[-1][0] if self._data else 0.0
            idle = time.monotonic() - last
            if idle >= quiet:
                return
            time.sleep(min(quiet - idle, 0.05) + 0.001)

    def drain_reload_markers(self, timeout=1.5):
        """Wait (bounded) for the `P.httpd.reloads:1|c` marker(s) httpd's
        parent sends at start and graceful restart, then forget everything
        received so far, so a test sees only its own requests' lines."""
        self._wait(lambda: any(b"httpd.reloads:" in d for _, d in self._data), timeout)
        self.quiesce(0.05)
        self.clear()

    def reset(self):
        """Drain stragglers of earlier tests, then forget everything."""
        self.quiesce()
        self.clear()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def __repr__(self):
        return f"<{self.label} listener {self.address!r}>"


class UdpListener(DatagramListener):
    def __init__(self, host="127.0.0.1"):
        self.v6 = ":" in host
        super().__init__(socket.AF_INET6 if self.v6 else socket.AF_INET,
                         (host, 0), "udp6" if self.v6 else "udp")
        self.host = host
        self.port = self.address[1]

    @property
    def url(self):
        host = f"[{self.host}]" if self.v6 else self.host
        return f"udp://{host}:{self.port}"


class Udp6Listener(UdpListener):
    def __init__(self, host="::1"):
        super().__init__(host)


class UnixListener(DatagramListener):
    """A unix datagram socket the httpd children (running as User) can
    write to: its directory is 0755 (searchable) and the socket 0777."""

    def __init__(self, directory=None):
        self._own_dir = directory is None
        if directory is None:
            directory = tempfile.mkdtemp(prefix="mod_statsd-it-sock-", dir="/tmp")
        os.chmod(directory, 0o777)
        self.dir = Path(directory)
        self.path = str(self.dir / "s.sock")
        if os.path.exists(self.path):
            os.unlink(self.path)
        super().__init__(socket.AF_UNIX, self.path, "unix")
        os.chmod(self.path, 0o777)

    @property
    def url(self):
        return f"unix:{self.path}"

    def close(self):
        super().close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def udp_listener():
    lst = UdpListener()
    yield lst
    lst.close()


@pytest.fixture
def udp6_listener():
    if not ipv6_loopback_available():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    lst = Udp6Listener()
    yield lst
    lst.close()


@pytest.fixture
def unix_listener():
    lst = UnixListener()
    yield lst
    lst.close()


# --------------------------------------------------------------------------
# HTTP over raw sockets


class Response:
    def __init__(self, raw):
        self.raw = raw
        self.status = None
        self.reason = ""
        self.headers = []
        self.body = b""
        head, sep, body = raw.partition(b"\r\n\r\n")
        if not sep:
            return
        lines = head.split(b"\r\n")
        parts = lines[0].decode("latin-1").split(" ", 2)
        if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit():
            self.status = int(parts[1])
            self.reason = parts[2] if len(parts) > 2 else ""
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            self.headers.append((name.strip(), value.strip()))
        if (self.header("Transfer-Encoding") or "").lower() == "chunked":
            body = _dechunk(body)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def has_header(self, name):
        return any(k.lower() == name.lower() for k, _ in self.headers)

    def __repr__(self):
        return f"<Response {self.status} {self.reason!r} {self.headers!r}>"


def _dechunk(body):
    out = b""
    while body:
        size_line, sep, rest = body.partition(b"\r\n")
        if not sep:
            break
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


def send_raw(port, data, host="127.0.0.1", timeout=5.0):
    """Send raw bytes, read until the server closes (bounded), parse."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return Response(b"".join(chunks))


def build_request(method, target, host="127.0.0.1", headers=None, body=b""):
    if isinstance(method, str):
        method = method.encode("latin-1")
    if isinstance(target, str):
        target = target.encode("latin-1")
    lines = [method + b" " + target + b" HTTP/1.1",
             b"Host: " + host.encode("latin-1"),
             b"Connection: close"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}".encode("latin-1"))
    if body or method in (b"POST", b"PUT"):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# --------------------------------------------------------------------------
# the httpd under test

BAD_LOG_RE = re.compile(
    r"\[[A-Za-z0-9_]+:(error|crit|alert|emerg)\]"   # error level or worse
    r"|\[statsd:warn\]"                              # module warnings
    r"|exit signal"                                  # a child crashed
    r"|AddressSanitizer|LeakSanitizer|^==\d+==")     # sanitizer reports


class Httpd:
    """A standalone apache2 in its own ServerRoot under /tmp."""

    instances = []

    def __init__(self, name="httpd", conf="", *, mpm="event",
                 load_statsd=True, modules=DEFAULT_MODULES, log_level="warn",
                 port=None, files=None):
        self.name = name
        self.mpm = mpm
        self.load_statsd = load_statsd
        self.modules = tuple(modules)
        self.log_level = log_level
        self.conf_extra = conf
        self.port = port or free_tcp_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"mod_statsd-it-{name}-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.docroot = self.dir / "htdocs"
        self.logs = self.dir / "logs"
        self.run = self.dir / "run"
        self.scripts = self.dir / "scripts"
        for d in (self.docroot, self.logs, self.run, self.scripts):
            d.mkdir(mode=0o755)
            os.chmod(d, 0o755)
        self.conf_file = self.dir / "httpd.conf"
        self.error_log = self.logs / "error_log"
        self.pid_file = self.run / "httpd.pid"
        self.pid = None
        self.checked = 0            # error-log offset already checked
        self._write_fixture_files(files or {})
        Httpd.instances.append(self)

    # -- files
    def _write_fixture_files(self, files):
        base = {
            "index.html": "<html><body>root index</body></html>\n",
            "static.txt": "hello static\n",
            "logged.html": "<p>logged</p>\n",
            "dir/index.html": "<html><body>dir index</body></html>\n",
            "errors/404.html": "<html><body>custom 404</body></html>\n",
        }
        base.update(files)
        for rel, content in base.items():
            self.add_file(rel, content)

    def add_file(self, rel, content, root=None):
        path = (root or self.docroot) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        for p in reversed(path.relative_to(self.dir).parents):
            os.chmod(self.dir / p, 0o755)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        os.chmod(path, 0o644)
        return path

    def add_script(self, rel, content):
        return self.add_file(rel, content, root=self.scripts)

    # -- config
    def config_text(self):
        mods = [f"LoadModule mpm_{self.mpm}_module {MODULES_DIR}/mod_mpm_{self.mpm}.so"]
        for m in self.modules:
            mods.append(f"LoadModule {m}_module {MODULES_DIR}/mod_{m}.so")
        if self.load_statsd:
            mods.append(f"LoadModule statsd_module {MODULE_SO}")
        return "\n".join(mods) + f"""

ServerRoot "{self.dir}"
ServerName 127.0.0.1
PidFile "{self.pid_file}"
DefaultRuntimeDir "{self.run}"
ErrorLog "{self.error_log}"
LogLevel {self.log_level}
Listen 127.0.0.1:{self.port}
User {RUN_USER}
Group {RUN_GROUP}
TypesConfig /etc/mime.types
Timeout 10
KeepAlive On
KeepAliveTimeout 2
GracefulShutdownTimeout 3
HostnameLookups Off
<IfModule mpm_event_module>
    StartServers 1
    ServerLimit 2
    ThreadsPerChild 8
    MaxRequestWorkers 16
    MinSpareThreads 1
    MaxSpareThreads 16
</IfModule>
<IfModule mpm_worker_module>
    StartServers 1
    ServerLimit 2
    ThreadsPerChild 8
    MaxRequestWorkers 16
    MinSpareThreads 1
    MaxSpareThreads 16
</IfModule>
<IfModule mpm_prefork_module>
    StartServers 2
    MinSpareServers 1
    MaxSpareServers 4
    MaxRequestWorkers 8
</IfModule>

DocumentRoot "{self.docroot}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{self.docroot}">
    AllowOverride None
    Require all granted
</Directory>
DirectoryIndex index.html
LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
CustomLog "{self.logs}/access_log" common

# ---- test specific
{self.conf_extra}
"""

    def write_config(self):
        self.conf_file.write_text(self.config_text())
        os.chmod(self.conf_file, 0o644)

    def _cmd(self, *args, timeout=30):
        return subprocess.run([APACHE2, "-f", str(self.conf_file), *args],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, cwd=str(self.dir),
                              env=self._env(), text=True, errors="replace")

    def _env(self):
        env = dict(os.environ)
        for k in ("APACHE_RUN_DIR", "APACHE_LOCK_DIR", "APACHE_PID_FILE"):
            env[k] = str(self.run)
        env["APACHE_LOG_DIR"] = str(self.logs)
        env["APACHE_RUN_USER"] = RUN_USER
        env["APACHE_RUN_GROUP"] = RUN_GROUP
        return env

    def configtest(self):
        """(rc, output) of `apache2 -t -f conf`."""
        if self.load_statsd:
            module_required()
        self.write_config()
        p = self._cmd("-t")
        return p.returncode, p.stdout

    # -- life cycle
    def start(self, timeout=10.0):
        if self.load_statsd and not MODULE_SO.is_file():
            self.cleanup()
            module_required()
        self.write_config()
        p = self._cmd("-k", "start")
        if p.returncode != 0:
            pytest.fail(f"apache2 -k start failed (rc {p.returncode}):\n{p.stdout}\n"
                        f"error log:\n{self.error_log_text()}", pytrace=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid is None and self.pid_file.exists():
                try:
                    self.pid = int(self.pid_file.read_text().strip())
                except ValueError:
                    pass
            # the parent's listener accepts into its backlog before any
            # child is forked: wait for a child too, so the children a
            # test notes right after start are the ones that serve it
            if (self.pid is not None and self._answers()
                    and self._children(self.pid)):
                return self
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"apache2 did not answer on 127.0.0.1:{self.port} within "
                    f"{timeout}s; error log:\n{self.error_log_text()}", pytrace=False)

    def _answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _children(self, pid):
        kids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    kids.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
        return kids

    @staticmethod
    def _alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            return state != "Z"
        except OSError:
            return False

    def stop(self, timeout=10.0):
        if self.pid is None and self.pid_file.exists():
            try:
                self.pid = int(self.pid_file.read_text().strip())
            except ValueError:
                pass
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        kids = self._children(pid)
        try:
            self._cmd("-k", "stop", timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._alive(pid):
            time.sleep(0.05)
        # the parent we started, then its children, by pid only
        for p in [pid] + kids:
            if self._alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(self._alive(k) for k in kids):
            time.sleep(0.05)

    def graceful(self, timeout=10.0):
        p = self._cmd("-k", "graceful", timeout=timeout)
        assert p.returncode == 0, p.stdout

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- logs
    def error_log_text(self, offset=0):
        try:
            with open(self.error_log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def error_log_size(self):
        try:
            return self.error_log.stat().st_size
        except OSError:
            return 0

    def bad_error_lines(self, since, expected=()):
        bad = []
        for line in self.error_log_text(since).splitlines():
            if BAD_LOG_RE.search(line) and not any(re.search(p, line) for p in expected):
                bad.append(line)
        return bad

    def log_file(self, name):
        return self.logs / name

    def wait_log_lines(self, name, n, timeout=3.0):
        """Lines of logs/<name> once it has at least n lines (bounded)."""
        path = self.logs / name
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            try:
                lines = path.read_text(errors="replace").splitlines()
            except OSError:
                lines = []
            if len(lines) >= n:
                break
            time.sleep(0.02)
        return lines

    # -- HTTP
    def raw(self, data, timeout=5.0):
        return send_raw(self.port, data, timeout=timeout)

    def request(self, method, target, host="127.0.0.1", headers=None, body=b"",
                timeout=5.0):
        return send_raw(self.port, build_request(method, target, host, headers, body),
                        timeout=timeout)

    def get(self, target, **kw):
        return self.request("GET", target, **kw)


def managed_httpds(request, error_log, cls):
    """Body of an httpd factory fixture: yields a maker of cls instances,
    then stops them, fails the test on unexpected error-log lines and
    removes them."""
    made = []

    def make(*args, **kw):
        h = cls(*args, **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.stop()
    problems = []
    for h in made:
        bad = h.bad_error_lines(h.checked, expected_patterns(request, error_log))
        if bad:
            problems.append(f"{h.name} ({h.error_log}):\n  " + "\n  ".join(bad))
        h.cleanup()
    if problems:
        pytest.fail("unexpected error-log lines:\n" + "\n".join(problems),
                    pytrace=False)


@pytest.fixture
def httpd_factory(request, error_log):
    """Make Httpd instances that are stopped, checked for unexpected
    error-log lines and removed after the test."""
    yield from managed_httpds(request, error_log, Httpd)


@pytest.fixture
def module_so():
    module_required()
    return MODULE_SO


# --------------------------------------------------------------------------
# error-log check after every test


class ErrorLogExpectations:
    def __init__(self):
        self.patterns = []

    def expect(self, *patterns):
        """Declare error-log lines (regexes) this test expects."""
        self.patterns.extend(patterns)


def pytest_sessionfinish(session, exitstatus):
    """Safety net: stop and remove every httpd a failed fixture left behind."""
    for h in list(Httpd.instances):
        h.stop()
        h.cleanup()
    Httpd.instances.clear()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "error_log_expect(*regexes): error-log lines at error level "
                   "(or [statsd:warn]) matching one of the regexes are expected")


@pytest.fixture
def error_log():
    return ErrorLogExpectations()


def expected_patterns(request, error_log):
    expected = list(error_log.patterns)
    for m in request.node.iter_markers("error_log_expect"):
        expected.extend(m.args)
    return expected


@pytest.fixture(autouse=True)
def _check_error_logs(request, error_log):
    yield
    expected = expected_patterns(request, error_log)
    problems = []
    for h in list(Httpd.instances):
        since = h.checked
        end = h.error_log_size()
        bad = h.bad_error_lines(since, expected)
        h.checked = max(h.checked, end)
        if bad:
            problems.append(f"{h.name} ({h.error_log}):\n  " + "\n  ".join(bad))
    # forget instances that are gone (stopped and their dir removed)
    Httpd.instances[:] = [h for h in Httpd.instances if h.dir.exists()]
    if problems:
        pytest.fail("unexpected error-log lines:\n" + "\n".join(problems),
                    pytrace=False)


def stop_and_check(h, expected=()):
    """Stop a long-lived httpd and fail if its shutdown logged errors."""
    h.stop()
    bad = h.bad_error_lines(h.checked, expected)
    h.cleanup()
    if bad:
        pytest.fail(f"unexpected error-log lines at shutdown of {h.name}:\n  "
                    + "\n  ".join(bad), pytrace=False)


# --------------------------------------------------------------------------
# metric assertions


def check_duration(value, unit="milliseconds"):
    """A timer value per SPEC §2: unit format, no trailing zeros, > 0."""
    assert DURATION_RE[unit].match(value), f"bad {unit} duration {value!r}"
    if "." in value:
        assert not value.endswith("0"), f"trailing zero in duration {value!r}"
    assert "e" not in value.lower()
    assert float(value) > 0, f"duration {value!r} is not > 0"


def normalise(lines, unit="milliseconds"):
    """Replace each `|ms` value by <dur> (after checking its format).
    Returns (normalised lines, list of the duration strings)."""
    out, durs = [], []
    for line in lines:
        m = re.match(r"^(.*):([^:|]*)\|ms$", line)
        if m:
            check_duration(m.group(2), unit)
            durs.append(m.group(2))
            out.append(f"{m.group(1)}:{DUR}|ms")
        else:
            out.append(line)
    return out, durs


def request_lines(key, status, prefix="test", *, legacy=True, service=True,
                  aggregate=None):
    """The lines one measured request sends (SPEC §2), durations as <dur>."""
    lines = [f"{key}:{DUR}|ms"]
    if legacy:
        lines.append(f"{key}:1|c")
    if aggregate:
        lines.append(f"{aggregate}:{DUR}|ms")
        if legacy:
            lines.append(f"{aggregate}:1|c")
    if service:
        p = f"{prefix}." if prefix else ""
        if status < 400:
            lines.append(f"{p}responses.good:1|c")
        else:
            lines.append(f"{p}responses.bad:1|c")
            lines.append(f"{p}responses.{status // 100}xx:1|c")
        lines.append(f"{p}responses.time:{DUR}|ms")
    return lines


def std_lines(name, method, status, prefix="test", **kw):
    key = ".".join(x for x in (prefix, name, method, str(status)) if x)
    return request_lines(key, status, prefix, **kw)


def fmt_multiset(lines):
    return "\n".join(f"  {l!r}" for l in sorted(lines))


def assert_lines(listener, expected, *, unit="milliseconds", datagrams=1,
                 same_duration=True, grace=0.15, timeout=3.0):
    """Wait for len(expected) lines, then `grace` more seconds, and assert
    the received lines equal `expected` as a multiset (durations checked and
    replaced by <dur>). With datagrams=N also assert the datagram count
    (one request = one datagram when batching is off). Returns the raw lines."""
    listener.wait_lines(len(expected), timeout)
    time.sleep(grace)
    got = listener.lines()
    norm, durs = normalise(got, unit)
    if collections.Counter(norm) != collections.Counter(expected):
        missing = collections.Counter(expected) - collections.Counter(norm)
        extra = collections.Counter(norm) - collections.Counter(expected)
        pytest.fail("statsd lines differ\nexpected:\n" + fmt_multiset(expected)
                    + "\nreceived:\n" + fmt_multiset(got)
                    + f"\nmissing: {sorted(missing.elements())}"
                    + f"\nunexpected: {sorted(extra.elements())}"
                    + f"\ndatagrams: {listener.datagrams()!r}", pytrace=False)
    if same_duration and durs:
        assert len(set(durs)) == 1, f"timer lines of one request differ: {durs}"
    if datagrams is not None:
        dg = listener.datagrams()
        assert len(dg) == datagrams, f"expected {datagrams} datagram(s), got {dg!r}"
    return got


def assert_nothing_after_marker(listener, send_marker, marker_lines, grace=0.3):
    """Whatever was requested before calling this must send nothing: send a
    marker request, wait for its lines plus a grace period and assert only
    the marker's lines arrived."""
    send_marker()
    return assert_lines(listener, marker_lines, grace=grace)


def statsd_conf(port, prefix="test", host="127.0.0.1", extra="", flush=0):
    """Server-level base config. flush=0 adds `StatsdFlushInterval 0` (no
    batching: each request's lines go in one datagram, sent at once), which
    the exact one-datagram-per-request assertions rely on; flush=None
    leaves the module's default batching on."""
    lines = ["Statsd On", f"StatsdHost {host}", f"StatsdPort {port}"]
    if flush is not None:
        lines.append(f"StatsdFlushInterval {flush}")
    if prefix is not None:
        lines.append(f"StatsdPrefix {prefix}")
    return "\n".join(lines) + ("\n" + extra if extra else "") + "\n"


def start_and_drain(h, *listeners, markers=True):
    """Start h, then drain each listener of the start-up reload markers."""
    h.start()
    for lst in listeners:
        if markers:
            lst.drain_reload_markers()
        else:
            lst.reset()
    return h


class Env:
    """A module-scoped httpd + listener pair; tests call fresh() first."""

    def __init__(self, httpd, listener, **extra):
        self.httpd = httpd
        self.listener = listener
        self.__dict__.update(extra)

    def fresh(self):
        self.listener.reset()
        return self


def serve_env(h, listener, *others, expected=(), **extra):
    """The body of a module-scoped fixture (use with yield from): start h,
    drain its reload markers, yield an Env, then stop h, checking its error
    log for anything but expected, and close the listeners."""
    start_and_drain(h, listener, *others)
    yield Env(h, listener, **extra)
    stop_and_check(h, expected)
    for lst in (listener, *others):
        lst.close()


def server_conf(url, flush=0, extra="", prefix="test"):
    """Measuring on at server level, sending to a StatsdServer URL."""
    return (f"Statsd On\nStatsdServer {url}\nStatsdPrefix {prefix}\n"
            f"StatsdFlushInterval {flush}\n{extra}")


def assert_configtest_rejects(h, line, directive, value):
    """configtest fails, and the message itself (not the "Syntax error on
    line N of FILE" header) names the directive and the bad value."""
    rc, out = h.configtest()
    assert rc != 0, f"configtest accepted {line!r}:\n{out}"
    msg = "\n".join(l for l in out.splitlines() if "Syntax error on line" not in l)
    assert directive in msg, out
    assert re.search(r"(?<![\w.])" + re.escape(value) + r"(?![\w.])", msg), out
