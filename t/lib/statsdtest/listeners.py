"""Datagram listeners (UDP on 127.0.0.1 or ::1, unix datagram sockets)
that record every datagram the module sends and split it into lines."""

import os
import re
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


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
        self._wait(lambda: any(re.search(rb"httpd\.reloads[:,;]", d)
                               for _, d in self._data), timeout)
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
    """UDP on host (the address picks the family), on port (0: any free)."""

    def __init__(self, host="127.0.0.1", port=0):
        self.v6 = ":" in host
        super().__init__(socket.AF_INET6 if self.v6 else socket.AF_INET,
                         (host, port), "udp6" if self.v6 else "udp")
        self.host = host
        self.port = self.address[1]

    @property
    def url(self):
        host = f"[{self.host}]" if self.v6 else self.host
        return f"udp://{host}:{self.port}"


class Udp6Listener(UdpListener):
    def __init__(self, host="::1", port=0):
        super().__init__(host, port)


class UnixListener(DatagramListener):
    """A unix datagram socket the httpd children (running as User) can
    write to: its directory is 0755 (searchable) and the socket 0777."""

    def __init__(self, directory=None):
        self._own_dir = directory is None
        if directory is None:
            directory = tempfile.mkdtemp(prefix="mod_statsd-sock-", dir="/tmp")
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
