"""make test-package: the Debian package on this machine's own apache2.

Builds libapache2-mod-statsd (t/package/build_deb.sh, in a copy of the tree
under build/), runs lintian on it (errors fail), installs it with dpkg -i,
checks that the maintainer scripts enabled the module and that it is inert
until "Statsd On", then starts the system apache2 with a small conf-available
snippet (a vhost on a free 127.0.0.1 port with Statsd On, StatsdHost
127.0.0.1, StatsdPort of a UDP listener in this process, StatsdFlushInterval
0) and checks the exact lines of a good and a bad request and the reload
marker, then stops apache2 and purges the package.

The machine is left as it was found: /etc/apache2, /var/lib/apache2 and the
package state are recorded first and compared (and restored, failing the run,
if anything differs) at the end; apache2's own logs and run/lock directories
are put back when apache2 was not running before. If apache2 was running
before, it is restarted with the restored configuration.

Runs only as root and only when MOD_STATSD_PACKAGE_TEST=1 (set by
`make test-package`), since it installs packages and starts the system httpd.
Only loopback is used; every wait is bounded.
"""

import hashlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from statsdtest.httpclient import build_request, send_raw
from statsdtest.listeners import UdpListener
from statsdtest.proc import free_tcp_port, wait_for

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PKG = "libapache2-mod-statsd"
PREFIX = "pkgtest"
SNIPPET = "mod-statsd-pkgtest"
SNIPPET_FILE = Path("/etc/apache2/conf-available") / f"{SNIPPET}.conf"
ETC = Path("/etc/apache2")
VARLIB = Path("/var/lib/apache2")

pytestmark = [
    pytest.mark.skipif(os.environ.get("MOD_STATSD_PACKAGE_TEST") != "1",
                       reason="installs a package and starts the system "
                              "apache2: run `make test-package` (sets "
                              "MOD_STATSD_PACKAGE_TEST=1)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]

DUR = r"[0-9]+(?:\.[0-9]+)?"


# --------------------------------------------------------------------------
# helpers

def run(cmd, check=True, timeout=300, **kw):
    """Run a command, capture output, print it (shown by pytest on failure)."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout, **kw)
    print(f"$ {' '.join(map(str, cmd))}  (rc {p.returncode})\n{p.stdout}")
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} failed with {p.returncode}:\n{p.stdout}")
    return p


def envvar(name):
    out = subprocess.run(["sh", "-c", f". /etc/apache2/envvars; "
                          f"printf %s \"${name}\""],
                         stdout=subprocess.PIPE, text=True, check=True)
    return out.stdout


def apache_pid():
    """PID of the system apache2 parent, or None."""
    try:
        pid = int(Path(envvar("APACHE_PID_FILE")).read_text().split()[0])
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError, IndexError):
        return None


def port_free(port, host="0.0.0.0", kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
            return True
        except OSError:
            return False


def manifest(root):
    """{relative path: (kind, mode, uid, gid, sha256 or link target)}."""
    out = {}
    root = Path(root)
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                what = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                what = ("dir", "")
            else:
                what = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
            out[str(p.relative_to(root))] = (what[0], stat.S_IMODE(st.st_mode),
                                             st.st_uid, st.st_gid, what[1])
    return out


def diff_manifests(before, after):
    lines = []
    for k in sorted(set(before) | set(after)):
        if k not in after:
            lines.append(f"  missing: {k}")
        elif k not in before:
            lines.append(f"  new:     {k}")
        elif before[k] != after[k]:
            lines.append(f"  changed: {k}")
    return lines


def pkg_status():
    p = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", PKG],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True)
    return p.stdout.strip() if p.returncode == 0 else "not-known"


def http_get(port, path, timeout=10):
    return send_raw(port, build_request("GET", path), timeout=timeout).status


# --------------------------------------------------------------------------
# the system under test

class System:
    """Records the machine's state, changes it, and puts it back."""

    def __init__(self, workdir):
        self.work = Path(workdir)
        self.was_running = apache_pid() is not None
        self.status_before = pkg_status()
        self.etc_before = manifest(ETC)
        self.varlib_before = manifest(VARLIB)
        self.logdir = Path(envvar("APACHE_LOG_DIR"))
        self.rundirs = [Path(envvar("APACHE_RUN_DIR")),
                        Path(envvar("APACHE_LOCK_DIR"))]
        self.rundirs_existed = {d: d.exists() for d in self.rundirs}
        self.tar = {}
        for name, path in (("etc", ETC), ("varlib", VARLIB),
                           ("log", self.logdir)):
            if path.exists():
                t = self.work / f"{name}.tar"
                run(["tar", "-C", str(path.parent), "-cpf", str(t),
                     path.name])
                self.tar[name] = (t, path)
        self.ports_conf = (ETC / "ports.conf").read_bytes()
        self.ports_edited = False
        self.started = False

    # apache2 ------------------------------------------------------------
    def start_apache(self):
        """(Re)start the system apache2 with the current configuration."""
        if apache_pid():
            run(["apache2ctl", "restart"])
        else:
            run(["apache2ctl", "start"])
        self.started = True
        assert wait_for(apache_pid, 15), "apache2 did not start"

    def stop_apache(self):
        pid = apache_pid()
        if not pid:
            return
        run(["apache2ctl", "stop"], check=False)
        if not wait_for(lambda: apache_pid() is None, 15):
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: apache_pid() is None, 10)

    def free_port_80(self):
        """Comment out 'Listen 80' for the run if something else holds :80
        (restored at the end)."""
        if self.was_running or port_free(80):
            return
        text = self.ports_conf.decode()
        (ETC / "ports.conf").write_text(
            re.sub(r"(?m)^(\s*Listen\s+80\s*)$", r"# \1", text))
        self.ports_edited = True

    # snippet ------------------------------------------------------------
    def write_snippet(self, port, docroot, logdir, statsd_port=None):
        measure = ""
        server = ""
        if statsd_port is not None:
            # no worker gauges: the tests count every datagram
            server = "StatsdFlushInterval 0\nStatsdScoreboardInterval 0\n"
            measure = (f"    Statsd On\n"
                       f"    StatsdHost 127.0.0.1\n"
                       f"    StatsdPort {statsd_port}\n"
                       f"    StatsdPrefix {PREFIX}\n")
        SNIPPET_FILE.write_text(
            f"# written by mod_statsd t/package/test_package.py; removed "
            f"when the test ends\n"
            f"Listen 127.0.0.1:{port}\n"
            f"{server}"
            f"<VirtualHost 127.0.0.1:{port}>\n"
            f"    ServerName pkgtest.invalid\n"
            f"    DocumentRoot {docroot}\n"
            f"    <Directory {docroot}>\n"
            f"        Require all granted\n"
            f"    </Directory>\n"
            f"    LogFormat \"%U %>s %{{statsd}}n\" pkgtest\n"
            f"    CustomLog {logdir}/access.log pkgtest\n"
            f"    ErrorLog {logdir}/error.log\n"
            f"{measure}"
            f"</VirtualHost>\n")

    def remove_snippet(self):
        if SNIPPET_FILE.exists():
            # -p: also forget a2enconf's record of it in /var/lib/apache2
            run(["a2disconf", "-p", "-f", "-q", SNIPPET], check=False)
        SNIPPET_FILE.unlink(missing_ok=True)

    def drop_new_empty_state_dirs(self):
        """a2enmod/a2enconf and the maintainer-script helper create empty
        bookkeeping directories (module/disabled_by_maint, ...) in
        /var/lib/apache2, as for any module package: remove those that were
        not there before. New files are left for the comparison to catch."""
        now = manifest(VARLIB)
        for rel in sorted(set(now) - set(self.varlib_before), reverse=True):
            p = VARLIB / rel
            if now[rel][0] == "dir" and not any(p.iterdir()):
                print(f"removing new empty state directory {p}")
                p.rmdir()

    # end -----------------------------------------------------------------
    def restore(self):
        problems = []
        if not self.was_running:
            self.stop_apache()
        self.remove_snippet()
        if self.ports_edited:
            (ETC / "ports.conf").write_bytes(self.ports_conf)
        if pkg_status().startswith(("ii", "rc", "iU", "iF", "rF", "rU")):
            run(["dpkg", "--purge", PKG], check=False)
            problems.append(f"{PKG} was still installed at the end: purged")
        if not self.was_running:
            self.stop_apache()           # a maintainer script may start it
        self.drop_new_empty_state_dirs()
        for name, before in (("etc", self.etc_before),
                             ("varlib", self.varlib_before)):
            tar, path = self.tar[name]
            d = diff_manifests(before, manifest(path))
            if d:
                problems.append(f"{path} differed from before the test "
                                f"(restored):\n" + "\n".join(d))
                shutil.rmtree(path)
                run(["tar", "-C", str(path.parent), "-xpf", str(tar)])
        if not self.was_running:
            if "log" in self.tar:
                tar, path = self.tar["log"]
                shutil.rmtree(path, ignore_errors=True)
                run(["tar", "-C", str(path.parent), "-xpf", str(tar)])
            for d, existed in self.rundirs_existed.items():
                if not existed and d.exists():
                    shutil.rmtree(d, ignore_errors=True)
        elif apache_pid():
            run(["apache2ctl", "restart"], check=False)
        else:
            run(["apache2ctl", "start"], check=False)
        if pkg_status() != self.status_before:
            problems.append(f"package state {pkg_status()!r}, was "
                            f"{self.status_before!r}")
        return problems


@pytest.fixture(scope="module")
def built():
    """Build the .deb (in build/package/, copied to build/)."""
    out = REPO / "build"
    p = run([str(HERE / "build_deb.sh"), str(out)], timeout=900)
    deb = Path(p.stdout.strip().splitlines()[-1])
    assert deb.is_file(), deb
    changes = sorted((out / "package").glob(f"{PKG}_*.changes"))
    assert changes, "no .changes file"
    return {"deb": deb, "changes": changes[-1]}


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    st = pkg_status()
    if st not in ("not-known", "un", "pn"):
        pytest.fail(f"{PKG} is already on this machine (dpkg status {st!r}); "
                    f"the test would purge it: remove it first",
                    pytrace=False)
    sysm = System(tmp_path_factory.mktemp("state"))
    # docroot and logs under /run: readable by www-data, and not hidden by
    # a PrivateTmp= of apache2.service where systemd starts apache2
    sysm.dir = Path(tempfile.mkdtemp(prefix="mod-statsd-pkgtest.", dir="/run"))
    os.chmod(sysm.dir, 0o755)
    (sysm.dir / "htdocs").mkdir()
    (sysm.dir / "htdocs" / "hello.txt").write_text("hello\n")
    (sysm.dir / "logs").mkdir()
    os.chmod(sysm.dir / "htdocs", 0o755)
    yield sysm
    problems = sysm.restore()
    shutil.rmtree(sysm.dir, ignore_errors=True)
    assert not problems, "\n".join(problems)


def access_log(sysm):
    """[(path, status, note)] from the vhost's access log."""
    p = sysm.dir / "logs" / "access.log"
    out = []
    if p.exists():
        for ln in p.read_text().splitlines():
            path, status, note = ln.split(" ", 2)
            out.append((path, int(status), note))
    return out


# --------------------------------------------------------------------------
# tests, in order

def test_lintian_has_no_errors(built):
    p = run(["lintian", "--fail-on", "error", "--display-level", ">=info",
             "--show-overrides", str(built["changes"])], check=False)
    tags = [ln for ln in p.stdout.splitlines() if re.match(r"^[EWIPXO]: ", ln)]
    print("lintian tags:", tags or "none")
    assert p.returncode == 0, p.stdout
    assert not [t for t in tags if t.startswith("E:")]


def test_deb_contents(built):
    p = run(["dpkg-deb", "-c", str(built["deb"])])
    for f in ("./usr/lib/apache2/modules/mod_statsd.so",
              "./etc/apache2/mods-available/statsd.load",
              "./etc/apache2/mods-available/statsd.conf",
              "./usr/share/doc/libapache2-mod-statsd/copyright",
              "./usr/share/doc/libapache2-mod-statsd/changelog.Debian.gz"):
        assert f in p.stdout, f
    info = run(["dpkg-deb", "-f", str(built["deb"]), "Package", "Version",
                "Depends"]).stdout
    assert f"Package: {PKG}" in info
    # the version is the newest entry of debian/changelog
    version = (REPO / "debian" / "changelog").read_text().split("(", 1)[1].split(")", 1)[0]
    assert f"Version: {version}" in info
    assert "apache2-api-20120211" in info        # from dh_apache2
    conffiles = run(["sh", "-c", f"dpkg-deb --ctrl-tarfile {built['deb']} | "
                     "tar -xOf - ./conffiles"]).stdout.split()
    assert sorted(conffiles) == ["/etc/apache2/mods-available/statsd.conf",
                                 "/etc/apache2/mods-available/statsd.load"]


def test_install_enables_module(built, system):
    run(["dpkg", "-i", str(built["deb"])])
    assert pkg_status() == "ii"
    assert Path("/usr/lib/apache2/modules/mod_statsd.so").is_file()
    assert (ETC / "mods-available/statsd.load").read_text().strip() == \
        "LoadModule statsd_module /usr/lib/apache2/modules/mod_statsd.so"
    # dh_apache2's postinst enabled it
    assert (ETC / "mods-enabled/statsd.load").is_symlink()
    assert (ETC / "mods-enabled/statsd.conf").is_symlink()
    assert run(["a2query", "-m", "statsd"], check=False).returncode == 0


def test_a2enmod_and_configtest(system):
    p = run(["a2enmod", "statsd"])
    assert "already enabled" in p.stdout
    p = run(["apache2ctl", "configtest"])
    assert "Syntax OK" in p.stdout
    p = run(["apache2ctl", "-M"])
    assert "statsd_module (shared)" in p.stdout


def test_inert_until_statsd_on(system):
    """Enabled but not switched on: no line to the default destination
    (localhost:8125), no reload marker, no note."""
    if not port_free(8125, "127.0.0.1", socket.SOCK_DGRAM):
        pytest.skip("127.0.0.1:8125/udp is in use: cannot watch the "
                    "module's default destination")
    default = UdpListener("127.0.0.1", 8125)
    try:
        system.free_port_80()
        system.port = free_tcp_port()
        system.write_snippet(system.port, system.dir / "htdocs",
                             system.dir / "logs")
        run(["a2enconf", "-q", SNIPPET])
        run(["apache2ctl", "configtest"])
        system.start_apache()
        assert wait_for(lambda: not port_free(system.port, "127.0.0.1"), 10)
        # a name no other process on this machine sends
        token = f"inert{os.getpid()}x{int(time.time())}"
        (system.dir / "htdocs" / f"{token}.txt").write_text("inert\n")
        assert http_get(system.port, f"/{token}.txt") == 200
        assert http_get(system.port, f"/{token}-missing") == 404
        time.sleep(2.5)             # > the default 1000 ms flush interval
        # other tests on a shared machine may send to :8125 as well: only
        # lines about these requests would be ours
        ours = [d for d in default.datagrams() if token in d]
        print("datagrams on 127.0.0.1:8125:", default.datagrams())
        assert ours == []
        log = wait_for(lambda: len(access_log(system)) >= 2 and
                       access_log(system), 10)
        print("access log:", access_log(system))
        # two connections may be logged by two workers in either order
        assert sorted(log) == sorted([
            (f"/{token}.txt", 200, "-"), (f"/{token}-missing", 404, "-")])
    finally:
        default.close()


def _expect(datagram, name, status):
    """The exact lines of one request (StatsdFlushInterval 0: one datagram)."""
    bad = status >= 400
    key = f"{PREFIX}.{name}.GET.{status}"
    lines = datagram.split("\n")
    pat = [rf"{re.escape(key)}:({DUR})\|ms", rf"{re.escape(key)}:1\|c",
           rf"{PREFIX}\.responses\.{'bad' if bad else 'good'}:1\|c"]
    if bad:
        pat.append(rf"{PREFIX}\.responses\.{status // 100}xx:1\|c")
    pat.append(rf"{PREFIX}\.responses\.time:({DUR})\|ms")
    assert len(lines) == len(pat), lines
    durs = []
    for ln, p in zip(lines, pat):
        m = re.fullmatch(p, ln)
        assert m, f"{ln!r} !~ {p!r}"
        durs += [g for g in m.groups() if g]
    assert durs[0] == durs[1] and float(durs[0]) > 0
    return key, durs[0]


def test_request_measured(system):
    listener = UdpListener()
    system.listener = listener
    system.write_snippet(system.port, system.dir / "htdocs",
                         system.dir / "logs", statsd_port=listener.port)
    run(["apache2ctl", "configtest"])
    (system.dir / "logs" / "access.log").unlink(missing_ok=True)
    system.start_apache()
    assert wait_for(lambda: not port_free(system.port, "127.0.0.1"), 10)
    assert wait_for(lambda: f"{PREFIX}.httpd.reloads:1|c" in
                    listener.lines(), 10), listener.datagrams()
    assert http_get(system.port, "/hello.txt") == 200
    assert wait_for(lambda: len(listener.datagrams()) >= 2, 10)
    assert http_get(system.port, "/missing") == 404
    assert wait_for(lambda: len(listener.datagrams()) >= 3, 10)
    time.sleep(0.5)
    grams = listener.datagrams()
    print("datagrams:", grams)
    assert grams[0] == f"{PREFIX}.httpd.reloads:1|c"
    assert len(grams) == 3, grams
    good_key, good_dur = _expect(grams[1], "hello_txt", 200)
    bad_key, bad_dur = _expect(grams[2], "missing", 404)
    # the note in the access log carries the same key and duration
    log = wait_for(lambda: len(access_log(system)) >= 2 and
                   access_log(system), 5)
    assert log, "no access log lines"
    notes = {p: n.split(" ") for p, s, n in log}
    assert notes["/hello.txt"][:2] == [good_key, good_dur]
    assert notes["/missing"][:2] == [bad_key, bad_dur]
    assert notes["/hello.txt"][3] == "1"              # legacy mode
    assert int(notes["/hello.txt"][2]) == len(grams[1].encode())


def test_graceful_restart_sends_one_reload_marker(system):
    listener = system.listener
    before = len(listener.datagrams())
    run(["apache2ctl", "graceful"])
    assert wait_for(lambda: len(listener.datagrams()) > before, 10)
    time.sleep(1.0)
    new = listener.datagrams()[before:]
    assert new == [f"{PREFIX}.httpd.reloads:1|c"], new
    assert wait_for(lambda: http_get(system.port, "/hello.txt") == 200, 10)
    assert wait_for(lambda: len(listener.datagrams()) > before + 1, 10)
    _expect(listener.datagrams()[before + 1], "hello_txt", 200)


def test_stop_and_purge(system):
    system.listener.close()
    system.stop_apache()       # restarted at teardown if it ran before
    system.remove_snippet()
    run(["dpkg", "--purge", PKG])
    assert pkg_status() in ("not-known", "un", "pn")
    assert not Path("/usr/lib/apache2/modules/mod_statsd.so").exists()
    for f in ("mods-available/statsd.load", "mods-available/statsd.conf",
              "mods-enabled/statsd.load", "mods-enabled/statsd.conf"):
        assert not (ETC / f).exists() and not (ETC / f).is_symlink(), f
    if not system.was_running:
        system.stop_apache()        # in case a maintainer script started it
    run(["apache2ctl", "configtest"])
    assert not diff_manifests(system.etc_before, manifest(ETC))
    # the purge removed every record of the module ...
    left = [k for k in manifest(VARLIB) if "statsd" in k]
    assert not left, left
    # ... and leaves only empty bookkeeping directories behind
    system.drop_new_empty_state_dirs()
    assert not diff_manifests(system.varlib_before, manifest(VARLIB))
