#!/usr/bin/python3
"""receiver.py - a stand-in for Etsy statsd 0.9.0, for `make demo` (stdlib only).

Used when node/npm or the statsd package cannot be had.  It takes the same
config file as statsd (the demo writes it as JSON, which statsd reads too)
and behaves the same way towards the demo:

  * UDP on config.address:config.port: lines parsed as statsd 0.9.0's
    stats.js handlePacket does (split on "\\n", "|#" tags, key sanitising,
    sample rates, the helpers.is_valid_packet checks, bad_lines_seen,
    packets_received, metrics_received);
  * flushes every config.flushInterval ms on statsd's schedule (aligned to
    the start-up second), and once more on SIGTERM, like statsd's final
    flush; timer aggregates follow lib/process_metrics.js step by step
    (percentThreshold: sort, numInThreshold = Math.round(pct/100*count),
    upper_pct = sorted[numInThreshold-1], ...), so the numbers are the same
    floating point values statsd computes;
  * after a flush counters are set to 0 and timers emptied (statsd's
    defaults, deleteIdleStats off);
  * each flush is appended as one JSON line to config.jsonBackendFile, in the
    format of demo/json_backend.js ("init", "flush", "exit" events);
  * TCP management on config.mgmt_address:config.mgmt_port answers "counters",
    "timers" (util.inspect-like text, then "END"), "health", "help", "quit".

Not implemented (the demo doesn't use them): gauges' and sets' flush output,
histograms, keyFlush, the graphite/console backends, config reloading.
It exits by itself after config.maxLifetimeSeconds (default 600 s).

Usage: receiver.py CONFIG_FILE
"""
import json
import math
import os
import re
import selectors
import signal
import socket
import sys
import time


# --------------------------------------------------------------------------
# JavaScript semantics the statsd code relies on
# --------------------------------------------------------------------------

# Characters String.prototype.trim() and Number() strip (ES WhiteSpace +
# LineTerminator), close enough for statsd lines.
_JS_WS = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005" \
         "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_DECIMAL = re.compile(r"^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$")
_JS_RADIX = re.compile(r"^0([xXoObB])([0-9a-fA-F]+)$")


def js_number(s):
    """Number(s) for a string s, as JavaScript computes it (NaN on failure)."""
    t = s.strip(_JS_WS)
    if t == "":
        return 0.0
    if t in ("Infinity", "+Infinity"):
        return math.inf
    if t == "-Infinity":
        return -math.inf
    m = _JS_RADIX.match(t)
    if m:
        base = {"x": 16, "o": 8, "b": 2}[m.group(1).lower()]
        try:
            return float(int(m.group(2), base))
        except ValueError:
            return math.nan
    if _JS_DECIMAL.match(t):
        return float(t)
    return math.nan


def is_number(s):
    """helpers.js isNumber: Boolean(str && !isNaN(str))."""
    return bool(s) and not math.isnan(js_number(s))


def js_round(x):
    """Math.round: halves go towards +Infinity (Python's round() does not)."""
    return math.floor(x + 0.5)


def js_num_str(x):
    """String(x) for the numbers we print (integers without '.0')."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    return str(x)


def plain(x):
    """A float that is an integer becomes an int, so JSON looks like node's
    (and, as JSON.stringify does, NaN and Infinity become null)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, float) and x.is_integer() and abs(x) < 2 ** 53:
        return int(x)
    return x


# --------------------------------------------------------------------------
# statsd 0.9.0: helpers.is_valid_packet and stats.js handlePacket
# --------------------------------------------------------------------------

def is_valid_sample_rate(s):
    if len(s) > 1 and s[0] == "@":
        rest = s[1:]
        return is_number(rest) and rest[0] != "-"
    return False


def is_valid_packet(fields):
    if len(fields) < 2:                 # fields[1] === undefined
        return False
    if len(fields) > 2 and not is_valid_sample_rate(fields[2]):
        return False
    kind = fields[1]                    # note: not trimmed here, as in statsd
    if kind == "s":
        return True
    if kind == "g":
        return is_number(fields[0])
    if kind == "ms":
        return is_number(fields[0]) and js_number(fields[0]) >= 0
    return is_number(fields[0])


_SAMPLE_RATE = re.compile(r"^@([\d.]+)")


def sanitize_key(key):
    key = re.sub(r"\s+", "_", key)
    key = key.replace("/", "-")
    return re.sub(r"[^a-zA-Z_\-0-9.;=]", "", key)


class Metrics:
    """statsd's in-memory state between two flushes."""

    def __init__(self, prefix_stats="statsd"):
        self.bad_lines_seen = prefix_stats + ".bad_lines_seen"
        self.packets_received = prefix_stats + ".packets_received"
        self.metrics_received = prefix_stats + ".metrics_received"
        self.counters = {self.bad_lines_seen: 0, self.packets_received: 0,
                         self.metrics_received: 0}
        self.timers = {}
        self.timer_counters = {}
        self.gauges = {}
        self.sets = {}

    def handle_packet(self, data):
        """stats.js handlePacket for one datagram."""
        self.counters[self.packets_received] += 1
        text = data.decode("utf-8", "replace")
        for line in text.split("\n"):
            if not line:
                continue
            self.counters[self.metrics_received] += 1
            bits = line.split("|#")
            tags = []
            if len(bits) > 1 and bits[1]:
                tags = bits[1].split(",")
            bits = bits[0].split(":")
            key = bits.pop(0)
            if tags:
                # JS String.replace with a string pattern: first match only
                key += ";" + ";".join(t.replace(";", "_", 1).replace(":", "=", 1)
                                      for t in tags)
            key = sanitize_key(key)
            if not bits:
                bits.append("1")
            for bit in bits:
                self._handle_value(key, bit.split("|"))

    def _bad_line(self):
        self.counters[self.bad_lines_seen] += 1

    def _handle_value(self, key, fields):
        if not is_valid_packet(fields):
            self._bad_line()
            return
        sample_rate = 1.0
        if len(fields) > 2 and fields[2]:
            m = _SAMPLE_RATE.match(fields[2])
            if not m:
                # statsd 0.9.0 throws here (e.g. "@ 0.5"); we count it as bad
                self._bad_line()
                return
            sample_rate = js_number(m.group(1))
        kind = fields[1].strip(_JS_WS)
        if kind == "ms":
            if key not in self.timers:
                self.timers[key] = []
                self.timer_counters[key] = 0
            self.timers[key].append(js_number(fields[0] or "0"))
            self.timer_counters[key] += 1 / sample_rate
        elif kind == "g":
            value = js_number(fields[0] or "0")
            if self.gauges.get(key) and re.match(r"^[-+]", fields[0]):
                self.gauges[key] += value
            else:
                self.gauges[key] = value
        elif kind == "s":
            self.sets.setdefault(key, set()).add(fields[0] or "0")
        else:
            if not self.counters.get(key):
                self.counters[key] = 0
            self.counters[key] += js_number(fields[0] or "1") * (1 / sample_rate)

    def reset(self):
        """stats.js clear_metrics with deleteIdleStats off."""
        for k in self.counters:
            self.counters[k] = 0
        for k in self.timers:
            self.timers[k] = []
            self.timer_counters[k] = 0
        for k in self.sets:
            self.sets[k] = set()


# --------------------------------------------------------------------------
# statsd 0.9.0: lib/process_metrics.js (timer part)
# --------------------------------------------------------------------------

def timer_stats(values, timer_count, pct_threshold, flush_interval):
    """timer_data[key] for one timer, computed as process_metrics.js does."""
    if not values:
        return {"count": 0, "count_ps": 0}
    values = sorted(values)
    count = len(values)
    lo, hi = values[0], values[-1]
    cumulative = [lo]
    cumul_squares = [lo * lo]
    for i in range(1, count):
        cumulative.append(values[i] + cumulative[i - 1])
        cumul_squares.append(values[i] * values[i] + cumul_squares[i - 1])

    data = {}
    # These four carry over from one percentile to the next, as in statsd.
    total, total_squares, mean, boundary = lo, lo * lo, lo, hi
    for pct in pct_threshold:
        num_in = count
        if count > 1:
            num_in = js_round(abs(pct) / 100 * count)
            if num_in == 0:
                continue
            if pct > 0:
                boundary = values[num_in - 1]
                total = cumulative[num_in - 1]
                total_squares = cumul_squares[num_in - 1]
            else:
                boundary = values[count - num_in]
                # JS: cumulativeValues[-1] is undefined, giving NaN
                before = cumulative[count - num_in - 1] if count - num_in - 1 >= 0 else math.nan
                before_sq = cumul_squares[count - num_in - 1] if count - num_in - 1 >= 0 else math.nan
                total = cumulative[count - 1] - before
                total_squares = cumul_squares[count - 1] - before_sq
            mean = total / num_in
        clean = js_num_str(pct).replace(".", "_", 1).replace("-", "top", 1)
        data["count_" + clean] = num_in
        data["mean_" + clean] = mean
        data[("upper_" if pct > 0 else "lower_") + clean] = boundary
        data["sum_" + clean] = total
        data["sum_squares_" + clean] = total_squares

    total = cumulative[count - 1]
    total_squares = cumul_squares[count - 1]
    mean = total / count
    diffs = 0
    for v in values:
        diffs += (v - mean) * (v - mean)
    mid = count // 2
    median = values[mid] if count % 2 else (values[mid - 1] + values[mid]) / 2
    data["std"] = math.sqrt(diffs / count)
    data["upper"] = hi
    data["lower"] = lo
    data["count"] = timer_count
    data["count_ps"] = timer_count / (flush_interval / 1000)
    data["sum"] = total
    data["sum_squares"] = total_squares
    data["mean"] = mean
    data["median"] = median
    return data


# --------------------------------------------------------------------------
# The server: UDP in, flushes to a JSON-lines file, management over TCP
# --------------------------------------------------------------------------

def inspect(obj):
    """A small util.inspect look-alike for {name: number} or {name: [numbers]}."""
    def val(v):
        if isinstance(v, list):
            return "[ " + ", ".join(js_num_str(x) for x in v) + " ]" if v else "[]"
        return js_num_str(v)
    if not obj:
        return "{}"
    return "{\n" + ",\n".join("  '%s': %s" % (k, val(v)) for k, v in obj.items()) + "\n}"


class Receiver:
    def __init__(self, config):
        self.config = config
        self.out = config["jsonBackendFile"]
        self.flush_interval = float(config.get("flushInterval") or 10000)
        pct = config.get("percentThreshold", 90)
        self.pct = pct if isinstance(pct, list) else [pct]
        self.deadline = time.monotonic() + float(config.get("maxLifetimeSeconds", 600))
        self.metrics = Metrics(config.get("prefixStats", "statsd"))
        self.startup = js_round(time.time())          # whole seconds, as statsd
        self.next_flush = self._flush_time(time.time() * 1000)
        self.stop = False
        self.sel = selectors.DefaultSelector()
        self.clients = {}

    def _flush_time(self, now_ms):
        """stats.js getFlushTimeout: flushes at startup + k * interval."""
        delta = now_ms - self.startup * 1000
        attempt = js_round(delta / self.flush_interval) + 1
        return (self.startup * 1000 + attempt * self.flush_interval) / 1000

    def write(self, obj):
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def flush(self):
        m = self.metrics
        timer_data = {k: timer_stats(v, plain(m.timer_counters[k]), self.pct,
                                     self.flush_interval)
                      for k, v in m.timers.items()}
        self.write({"event": "flush", "ts": js_round(time.time()),
                    "counters": {k: plain(v) for k, v in m.counters.items()},
                    "timer_data": {k: {n: plain(x) for n, x in d.items()}
                                   for k, d in timer_data.items()}})
        m.reset()

    def mgmt_command(self, line):
        cmd = line.strip().split(" ")[0]
        if cmd == "counters":
            return inspect({k: plain(v) for k, v in self.metrics.counters.items()}) + "\nEND\n\n"
        if cmd == "timers":
            return inspect(self.metrics.timers) + "\nEND\n\n"
        if cmd == "health":
            return "health: up\n"
        if cmd == "help":
            return "Commands: counters, timers, health, quit\n\n"
        if cmd == "quit":
            return None
        return "ERROR\n"

    def on_udp(self, sock):
        for _ in range(10000):          # drain what is queued, boundedly
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            self.metrics.handle_packet(data)

    def on_accept(self, sock):
        try:
            conn, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        conn.setblocking(False)
        self.clients[conn] = b""
        self.sel.register(conn, selectors.EVENT_READ, self.on_client)

    def on_client(self, conn):
        try:
            data = conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.drop(conn)
            return
        buf = self.clients[conn] + data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            reply = self.mgmt_command(line.decode("ascii", "replace"))
            if reply is None:
                self.drop(conn)
                return
            try:
                conn.setblocking(True)
                conn.settimeout(2)
                conn.sendall(reply.encode())
                conn.setblocking(False)
            except OSError:
                self.drop(conn)
                return
        self.clients[conn] = buf

    def drop(self, conn):
        self.sel.unregister(conn)
        self.clients.pop(conn, None)
        conn.close()

    def run(self):
        cfg = self.config
        family = socket.AF_INET6 if cfg.get("address_ipv6") else socket.AF_INET
        udp = socket.socket(family, socket.SOCK_DGRAM)
        udp.bind((cfg.get("address") or "127.0.0.1", int(cfg.get("port") or 8125)))
        udp.setblocking(False)
        mgmt = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        mgmt.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        mgmt.bind((cfg.get("mgmt_address") or "127.0.0.1", int(cfg.get("mgmt_port") or 8126)))
        mgmt.listen(8)
        mgmt.setblocking(False)
        self.sel.register(udp, selectors.EVENT_READ, self.on_udp)
        self.sel.register(mgmt, selectors.EVENT_READ, self.on_accept)

        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.write({"event": "init", "startupTime": self.startup, "pid": os.getpid()})
        print("receiver.py: up on udp %s:%s" % (cfg.get("address"), cfg.get("port")),
              file=sys.stderr, flush=True)

        while not self.stop and time.monotonic() < self.deadline:
            timeout = max(0.0, min(0.2, self.next_flush - time.time()))
            for key, _ in self.sel.select(timeout):
                key.data(key.fileobj)
            if time.time() >= self.next_flush:
                self.flush()
                self.next_flush = self._flush_time(time.time() * 1000)
        # Take what is still queued, then the final flush (statsd's on exit).
        self.on_udp(udp)
        self.flush()
        self.write({"event": "exit"})

    def _on_signal(self, signum, frame):
        self.stop = True


def main(argv):
    if len(argv) != 2:
        print("usage: receiver.py CONFIG_FILE", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        config = json.load(f)
    Receiver(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
