"""Httpd: a throwaway apache2 in its own ServerRoot, listening on 127.0.0.1.

It writes its config, starts and stops the server (and only the processes
it started, by pid), finds its children, and reads its error log. The
config has a fixed head (modules, paths, Listen, User), then a server block
(process tuning and the document root; callers with other needs pass their
own) and then whatever the caller adds. Failures raise HttpdError, so
scripts can use it without pytest.
"""

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from . import errorlog, proc
from .httpclient import build_request, send_raw
from .paths import APACHE2, LOOPBACK, MODULE_SO, MODULES_DIR, REPO, RUN_GROUP, RUN_USER

# log_config and unixd are compiled in
DEFAULT_MODULES = ("authz_core", "mime", "dir", "alias", "setenvif", "lua",
                   "headers", "rewrite")

DEFAULT_FILES = {
    "index.html": "<html><body>root index</body></html>\n",
    "static.txt": "hello static\n",
    "logged.html": "<p>logged</p>\n",
    "dir/index.html": "<html><body>dir index</body></html>\n",
    "errors/404.html": "<html><body>custom 404</body></html>\n",
}

# the worker gauges would add lines to every test's listener: the tests
# about them turn them on (or leave this out for the module's default)
GAUGES_OFF = """\
<IfModule statsd_module>
    StatsdScoreboardInterval 0
</IfModule>
"""

# the document root served, everything else denied
DOCROOT_CONF = """\
DocumentRoot "{docroot}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{docroot}">
    AllowOverride None
    Require all granted
</Directory>
DirectoryIndex index.html
"""

# small process counts: tests look at every child, two cores are shared
THREADED_MPM_CONF = """\
    StartServers 1
    ServerLimit 2
    ThreadsPerChild 8
    MaxRequestWorkers 16
    MinSpareThreads 1
    MaxSpareThreads 16
"""
DEFAULT_SERVER_CONF = ("""\
Timeout 10
KeepAlive On
KeepAliveTimeout 2
GracefulShutdownTimeout 3
HostnameLookups Off
<IfModule mpm_event_module>
""" + THREADED_MPM_CONF + """\
</IfModule>
<IfModule mpm_worker_module>
""" + THREADED_MPM_CONF + """\
</IfModule>
<IfModule mpm_prefork_module>
    StartServers 2
    MinSpareServers 1
    MaxSpareServers 4
    MaxRequestWorkers 8
</IfModule>

""" + DOCROOT_CONF + """\
LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
CustomLog "{logs}/access_log" common
""" + GAUGES_OFF)


class HttpdError(Exception):
    """apache2 could not be configured, started or controlled."""


def module_missing():
    """None when the module is built, else a message saying how to build it."""
    if MODULE_SO.is_file():
        return None
    return (f"mod_statsd is not built: {MODULE_SO} does not exist. "
            f"Run `make` in {REPO} first.")


class Httpd:
    """A standalone apache2 in its own ServerRoot under `workdir`.

    hosts: text of a private /etc/hosts; apache2 then starts in its own
    mount namespace (unshare -m, root only) with that file bind-mounted on
    /etc/hosts, and set_hosts() rewrites it while httpd runs. resolv_conf:
    likewise, a private /etc/resolv.conf.
    """

    instances = []          # every Httpd made, for the test session's safety net

    def __init__(self, name="httpd", conf="", *, mpm="event", load_statsd=True,
                 module_so=None, modules=DEFAULT_MODULES, log_level="warn",
                 port=None, files=None, default_files=True, server_conf=None,
                 workdir="/tmp", hosts=None, resolv_conf=None):
        self.name = name
        self.mpm = mpm
        self.load_statsd = load_statsd
        self.module_so = Path(module_so) if module_so else MODULE_SO
        self.modules = tuple(modules)
        self.log_level = log_level
        self.conf_extra = conf
        self.server_conf = server_conf
        self.port = port or proc.free_tcp_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"mod_statsd-{name}-", dir=workdir))
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
        base = dict(DEFAULT_FILES) if default_files else {}
        base.update(files or {})
        for rel, content in base.items():
            self.add_file(rel, content)
        self.hosts = self._private_etc("hosts", hosts)
        self.resolv_conf = self._private_etc("resolv.conf", resolv_conf)
        Httpd.instances.append(self)

    def _private_etc(self, name, text):
        if text is None:
            return None
        path = self.dir / name
        path.write_text(text)
        os.chmod(path, 0o644)
        return path

    # -- files
    def add_file(self, rel, content, root=None, mode=0o644):
        path = (root or self.docroot) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        for p in reversed(path.relative_to(self.dir).parents):
            os.chmod(self.dir / p, 0o755)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        os.chmod(path, mode)
        return path

    def add_script(self, rel, content):
        return self.add_file(rel, content, root=self.scripts)

    # -- config
    def config_text(self):
        mods = [f"LoadModule mpm_{self.mpm}_module {MODULES_DIR}/mod_mpm_{self.mpm}.so"]
        for m in self.modules:
            mods.append(f"LoadModule {m}_module {MODULES_DIR}/mod_{m}.so")
        if self.load_statsd:
            mods.append(f"LoadModule statsd_module {self.module_so}")
        if self.server_conf is None:
            server = DEFAULT_SERVER_CONF.format(docroot=self.docroot, logs=self.logs)
        elif callable(self.server_conf):
            server = self.server_conf(self)
        else:
            server = self.server_conf
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
{server}
# ---- specific to this server
{self.conf_extra}
"""

    def write_config(self):
        self.conf_file.write_text(self.config_text())
        os.chmod(self.conf_file, 0o644)

    def env(self):
        env = dict(os.environ)
        for k in ("APACHE_RUN_DIR", "APACHE_LOCK_DIR", "APACHE_PID_FILE"):
            env[k] = str(self.run)
        env["APACHE_LOG_DIR"] = str(self.logs)
        env["APACHE_RUN_USER"] = RUN_USER
        env["APACHE_RUN_GROUP"] = RUN_GROUP
        return env

    def argv(self, *args):
        """The apache2 command line for this server's config."""
        return [APACHE2, "-f", str(self.conf_file), *args]

    def cmd(self, *args, timeout=30):
        """Run apache2 on this config (-k start in the private namespace
        when there is a private /etc/hosts or resolv.conf); (returncode,
        output)."""
        argv = self.argv(*args)
        mounts = [p for p in (self.hosts, self.resolv_conf) if p is not None]
        if mounts and args[:2] == ("-k", "start"):
            script = "".join(f"mount --bind {shlex.quote(str(p))} /etc/{p.name} && "
                             for p in mounts) + 'exec "$@"'
            argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                    "sh", *argv]
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, cwd=str(self.dir), env=self.env(),
                              text=True, errors="replace")

    def configtest(self):
        """(rc, output) of `apache2 -t -f conf`."""
        self._require_module()
        self.write_config()
        p = self.cmd("-t")
        return p.returncode, p.stdout

    def _require_module(self):
        if self.load_statsd and not self.module_so.is_file():
            raise HttpdError(module_missing() or f"{self.module_so} does not exist")

    # -- life cycle
    def read_pid(self):
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self, timeout=10.0, children=1):
        """apache2 -k start; returns once it answers and `children`
        children exist (the parent accepts into its backlog before any child
        is forked, and the children a caller notes right after start must be
        the ones that serve it)."""
        try:
            self._require_module()
        except HttpdError:
            self.cleanup()
            raise
        self.write_config()
        p = self.cmd("-k", "start")
        if p.returncode != 0:
            raise HttpdError(f"{self.name}: apache2 -k start failed (rc {p.returncode}):\n"
                             f"{p.stdout}\nerror log:\n{self.error_log_text()[-3000:]}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid is None:
                self.pid = self.read_pid()
            if (self.pid is not None and proc.tcp_listening(self.port)
                    and len(self.children()) >= children):
                return self
            time.sleep(0.05)
        self.stop()
        raise HttpdError(f"{self.name}: apache2 did not answer on 127.0.0.1:{self.port} "
                         f"within {timeout}s; error log:\n{self.error_log_text()[-3000:]}")

    def children(self, live=False):
        kids = proc.children(self.pid)
        return [k for k in kids if proc.alive(k)] if live else kids

    def stop(self, timeout=10.0, graceful=False):
        """-k stop (or -k graceful-stop: children finish their requests and
        run their exit cleanups), bounded; then SIGKILL of the parent and
        the children it had, by pid only."""
        if self.pid is None:
            self.pid = self.read_pid()
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        kids = proc.children(pid)
        try:
            self.cmd("-k", "graceful-stop" if graceful else "stop", timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (
                proc.alive(pid) or (graceful and any(proc.alive(k) for k in kids))):
            time.sleep(0.05)
        if graceful and proc.alive(pid):
            try:
                self.cmd("-k", "stop", timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for p in [pid] + kids:
            if proc.alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(proc.alive(k) for k in kids):
            time.sleep(0.05)

    def graceful(self, timeout=10.0):
        p = self.cmd("-k", "graceful", timeout=timeout)
        if p.returncode != 0:
            raise HttpdError(f"{self.name}: apache2 -k graceful failed:\n{p.stdout}")

    def graceful_stop(self, timeout=15.0):
        """`apache2 -k graceful-stop` and wait (bounded) until the parent and
        its children are gone; raise if any is still running."""
        pid = self.pid
        kids = proc.children(pid)
        p = self.cmd("-k", "graceful-stop", timeout=timeout)
        if p.returncode != 0:
            raise HttpdError(p.stdout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(proc.alive(x) for x in [pid] + kids):
            time.sleep(0.05)
        still = [x for x in [pid] + kids if proc.alive(x)]
        if still:
            raise HttpdError(f"still running after graceful-stop: {still}")
        self.pid = None

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- a private /etc/hosts
    def set_hosts(self, text):
        """Rewrite the private /etc/hosts in place: the bind mount keeps
        seeing the same inode only if it is never renamed over."""
        with open(self.hosts, "r+") as f:
            f.seek(0)
            f.write(text)
            f.truncate()
            f.flush()
            os.fsync(f.fileno())

    def ns_getent(self, *args):
        """getent inside the namespace of the running httpd (nsenter)."""
        p = subprocess.run(["nsenter", "-t", str(self.pid), "-m", "getent", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=10)
        return p.returncode, p.stdout

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

    def bad_error_lines(self, since=0, expected=()):
        """Error-log lines since offset `since` that are errors, module
        warnings or crashes, except those with an expected message id."""
        return errorlog.bad_lines(self.error_log_text(since), expected)

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

    def request(self, method, target, host=LOOPBACK, headers=None, body=b"",
                timeout=5.0):
        return send_raw(self.port, build_request(method, target, host, headers, body),
                        timeout=timeout)

    def get(self, target, **kw):
        return self.request("GET", target, **kw)

    def __repr__(self):
        return f"<Httpd {self.name} 127.0.0.1:{self.port} {self.dir}>"


def private_hosts_supported():
    """(ok, why not): can apache2 run with its own /etc/hosts here
    (root, unshare -m, a bind mount)?"""
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
