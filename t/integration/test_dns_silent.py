"""A resolver that never answers: a UDP socket on 127.0.0.153:53 that
reads every query and replies to none, named as the only nameserver in a
private /etc/resolv.conf that apache2 sees in its own mount namespace
(unshare -m; root only). With glibc's defaults each lookup then takes
about 10 s before it fails.

What the module is held to: start-up and a graceful restart do not wait
for the resolver (new connections are answered well under 2 s), a second
destination (a literal address, which is never looked up) gets its lines
within the flush interval plus a margin while the silent name is pending,
and the silent destination's lines are dropped and counted.
"""

import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from statsdtest import errorlog
from statsdtest.errorlog import DROPPED, NO_RESOLVER_ANSWER
from statsdtest.httpd import private_hosts_supported
from statsdtest.lines import measured
from statsdtest.listeners import UdpListener
from statsdtest.proc import wait_for

DNS_ADDR = ("127.0.0.153", 53)
RESOLV_CONF = f"nameserver {DNS_ADDR[0]}\n"
HOSTS = "127.0.0.1 localhost\n"
SILENT_NAME = "statsd.silent.test"
FLUSH_MS = 200
ON_TIME = FLUSH_MS / 1000 + 1.3      # the flush interval and a margin
QUICK = 2.0                          # "answered well under" bound, seconds


class SilentDns:
    """Reads DNS queries on DNS_ADDR and never answers; counts them."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(DNS_ADDR)
        self.sock.settimeout(0.2)
        self.queries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            self.queries += 1

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def silent_dns():
    ok, why = private_hosts_supported()
    if not ok:
        pytest.skip(why)
    dns = SilentDns()
    # the mechanism: a lookup in such a namespace hangs on this resolver
    with tempfile.TemporaryDirectory(prefix="mod_statsd-dns-") as d:
        conf = Path(d) / "resolv.conf"
        conf.write_text(RESOLV_CONF)
        try:
            p = subprocess.run(
                ["unshare", "-m", "--propagation", "private", "sh", "-c",
                 'mount --bind "$0" /etc/resolv.conf && exec getent ahosts "$1"',
                 str(conf), SILENT_NAME],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                timeout=3)
            pytest.fail(f"the silent resolver answered: {p.stdout!r}")
        except subprocess.TimeoutExpired:
            pass
    assert wait_for(lambda: dns.queries > 0, 2), "no query reached the silent resolver"
    yield dns
    dns.close()


def line_delay(h, listener, target):
    """Seconds from a response to its request's lines reaching listener."""
    before = measured(listener.lines())
    r = h.get(target, timeout=15)
    t0 = time.monotonic()
    assert r.status == 404, r
    ok = wait_for(lambda: measured(listener.lines()) > before, 15, step=0.01)
    assert ok, f"no line for {target} within 15 s"
    return time.monotonic() - t0


def timed_get(h, target):
    t0 = time.monotonic()
    r = h.get(target, timeout=15)
    return r, time.monotonic() - t0


@pytest.mark.error_log_expect(NO_RESOLVER_ANSWER, DROPPED)
@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_silent_resolver_delays_nothing(silent_dns, httpd_factory, mpm):
    fast = UdpListener()
    try:
        conf = (f"Statsd On\nStatsdServer udp://{SILENT_NAME}:8125\n"
                f"StatsdPrefix test\nStatsdFlushInterval {FLUSH_MS}\n"
                f"<Location /fast>\n    StatsdServer {fast.url}\n</Location>\n")
        h = httpd_factory(f"silentdns-{mpm}", conf=conf, mpm=mpm, hosts=HOSTS,
                          resolv_conf=RESOLV_CONF)
        t0 = time.monotonic()
        h.start(timeout=30)
        r, _ = timed_get(h, "/static.txt")
        startup = time.monotonic() - t0
        assert r.status == 200, r
        print(f"\nstart-up: first response {startup:.2f} s after apache2 -k start")

        # lines for the literal destination, at several points of the
        # silent name's lookups and retries
        delays = []
        for i in range(6):
            delays.append(line_delay(h, fast, f"/fast/{i}"))
            time.sleep(0.4)
        print("flush delays of the literal destination: "
              + " ".join(f"{d:.2f}" for d in delays) + " s")

        # the silent destination's lines: dropped, counted, and reported
        # by a later request once a flush has failed
        def silent_reports():
            assert h.get("/silent").status == 404
            time.sleep(FLUSH_MS / 1000)
            return [x for x in errorlog.drop_reports(h.error_log_text())
                    if SILENT_NAME in x[2]]
        reports = wait_for(silent_reports, 5)
        assert reports and all(cnt >= 1 for _, cnt, _ in reports), \
            h.error_log_text()[-3000:]
        assert not [l for l in fast.lines() if ".silent." in l], fast.lines()

        # a graceful restart: a new connection is not kept waiting
        # (sent 0.3 s after the signal, so no old child can still take it)
        t0 = time.monotonic()
        h.graceful()
        time.sleep(0.3)
        r, _ = timed_get(h, "/static.txt")
        graceful = time.monotonic() - t0
        assert r.status == 200, r
        print(f"graceful restart: a new connection answered {graceful:.2f} s "
              f"after apache2 -k graceful")
        after = line_delay(h, fast, "/fast/after-graceful")
        print(f"after the graceful restart: flush delay {after:.2f} s")
        print(f"queries to the silent resolver: {silent_dns.queries}")

        assert startup < QUICK, f"start-up took {startup:.2f} s"
        assert graceful < QUICK, f"a new connection waited {graceful:.2f} s"
        late = [d for d in delays + [after] if d >= ON_TIME]
        assert not late, f"lines later than {ON_TIME} s: {delays + [after]}"
        # one "no answer" warning per start (and restart): retries are quiet
        warned = errorlog.lines_with(h.error_log_text(), NO_RESOLVER_ANSWER)
        assert len(warned) == 2 and all(SILENT_NAME in l for l in warned), warned
    finally:
        fast.close()
