"""A raw HTTP/1.1 client: exact bytes out, responses parsed back.

send_raw/build_request for one request per connection; ResponseStream and
pipelined() for many requests over keep-alive connections; LoadThread for
light background load. Every read is bounded in time."""

import http.client
import socket
import threading
import time


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


class HttpClient:
    """Requests one at a time on one keep-alive connection, so the module
    logs (and sends) them in the order they were made."""

    def __init__(self, port, timeout=30):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def get(self, path):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt == 2:
                    raise
        return None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
