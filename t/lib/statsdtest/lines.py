"""The metric line grammar and exact assertions on received lines.

One measured request sends a timer and a counter for its name, and the
service lines (responses.good|bad, responses.Nxx, responses.time).
Durations vary, so they are checked for their format and then compared
as <dur>. Also the module config snippets the tests build on."""

import collections
import re
import socket
import time

from . import proc

LINE_RE = re.compile(r"^[A-Za-z0-9_.-]+:[0-9.]+\|(ms|c)$")
# with the sample rate: |@0.5
WIRE_RE = re.compile(r"^[A-Za-z0-9_.-]+:[0-9.]+\|(ms|c)(\|@[0-9.]+)?$")
# the marker, with its section's static tags in any dialect
RELOAD_RE = re.compile(r"(^|\.)httpd\.reloads([,;][^:]*)?:1\|c(\|#.*)?$")
SEGMENT_OK = re.compile(rb"[A-Za-z0-9_-]")
DURATION_RE = {
    "milliseconds": re.compile(r"^\d+(\.\d{1,3})?$"),
    "microseconds": re.compile(r"^\d+$"),
    "seconds": re.compile(r"^\d+(\.\d{1,6})?$"),
}
DUR = "<dur>"
# a timer line in any dialect and timer type, tags after the type
TAGGED_TIMER_RE = re.compile(
    r"^(?P<head>[^:]*):(?P<dur>\d+(?:\.\d{1,3})?)(?P<tail>\|(?:ms|h|d).*)$")

# one event MPM child, so every request of a test shares its buffers
ONE_CHILD = """
<IfModule mpm_event_module>
    StartServers 1
    ServerLimit 1
    ThreadsPerChild 8
    MaxRequestWorkers 8
    MinSpareThreads 1
    MaxSpareThreads 8
</IfModule>
"""


def hostname_short_clean():
    """socket.gethostname() cut at the first '.', each byte outside
    [A-Za-z0-9_-] made '_', as the module names the host."""
    short = socket.gethostname().split(".")[0]
    return re.sub(rb"[^A-Za-z0-9_-]", b"_", short.encode()).decode()


def check_duration(value, unit="milliseconds"):
    """A timer value: the unit's format, no trailing zeros, > 0."""
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


def normalise_tagged(lines):
    """Timer values replaced by <dur> (after checking they are durations),
    whatever the dialect, timer type and tags."""
    out = []
    for line in lines:
        m = TAGGED_TIMER_RE.match(line)
        if m and not line.split(":", 1)[1].startswith("1|c"):
            assert float(m.group("dur")) > 0, line
            out.append(f"{m.group('head')}:<dur>{m.group('tail')}")
        else:
            out.append(line)
    return out


def assert_tagged_lines(listener, expected, timeout=3.0):
    """Wait for len(expected) lines and a quiet moment, assert the lines
    (timers as <dur>) equal `expected` as a multiset, then clear."""
    listener.wait_lines(len(expected), timeout)
    listener.quiesce(0.15)
    got = normalise_tagged(listener.lines())
    assert collections.Counter(got) == collections.Counter(expected), \
        "expected:\n  " + "\n  ".join(expected) + "\ngot:\n  " + "\n  ".join(got)
    listener.clear()


def request_lines(key, status, prefix="test", *, legacy=True, service=True,
                  aggregate=None):
    """The lines one measured request sends, durations as <dur>."""
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
        raise AssertionError("statsd lines differ\nexpected:\n" + fmt_multiset(expected)
                    + "\nreceived:\n" + fmt_multiset(got)
                    + f"\nmissing: {sorted(missing.elements())}"
                    + f"\nunexpected: {sorted(extra.elements())}"
                    + f"\ndatagrams: {listener.datagrams()!r}")
    if same_duration and durs:
        assert len(set(durs)) == 1, f"timer lines of one request differ: {durs}"
    if datagrams is not None:
        dg = listener.datagrams()
        assert len(dg) == datagrams, f"expected {datagrams} datagram(s), got {dg!r}"
    return got


def counter_totals(lines):
    """(totals, others): each counter's total by its key (the name and all
    after the value: "|c", a rate, tags), and every other line."""
    totals, others = collections.Counter(), []
    for line in lines:
        name, _, rest = line.partition(":")
        value, _, tail = rest.partition("|")
        if value.isdigit() and tail.split("|")[0] == "c":
            totals[f"{name}|{tail}"] += int(value)
        else:
            others.append(line)
    return totals, others


def assert_summed(listener, expected, *, unit="milliseconds", grace=0.15,
                  timeout=3.0):
    """As assert_lines, for counters summed per flush interval (the
    default with batching): each counter's total and every other line (a
    multiset, durations as <dur>) equal expected's, however many lines the
    counters came in (one per child and interval). Returns the raw lines."""
    want, want_others = counter_totals(expected)
    deadline = time.monotonic() + timeout
    while True:
        got, _ = normalise(listener.lines(), unit)
        totals, others = counter_totals(got)
        if ((totals == want and len(others) >= len(want_others))
                or time.monotonic() > deadline):
            break
        time.sleep(0.05)
    time.sleep(grace)
    raw = listener.lines()
    got, _ = normalise(raw, unit)
    totals, others = counter_totals(got)
    if totals != want or (collections.Counter(others)
                          != collections.Counter(want_others)):
        raise AssertionError(
            "statsd lines differ\nexpected totals: " + repr(dict(want))
            + "\nreceived totals: " + repr(dict(totals))
            + "\nexpected other lines:\n" + fmt_multiset(want_others)
            + "\nreceived:\n" + fmt_multiset(raw))
    return raw


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


def vhost(name, body):
    """A name-based <VirtualHost *> answering to ServerName name, with
    body (its directives, a line each) inside."""
    return f"<VirtualHost *>\n    ServerName {name}\n{body}\n</VirtualHost>\n"


def server_conf(url, flush=0, extra="", prefix="test"):
    """Measuring on at server level, sending to a StatsdServer URL."""
    return (f"Statsd On\nStatsdServer {url}\nStatsdPrefix {prefix}\n"
            f"StatsdFlushInterval {flush}\n{extra}")


def metric_lines(listener):
    """Every line received except the parent's reload markers."""
    return [l for l in listener.lines() if not RELOAD_RE.search(l)]


def reload_markers(listener):
    return [l for l in listener.lines() if RELOAD_RE.search(l)]


def bad_wire_lines(lines):
    return [l for l in lines if not WIRE_RE.match(l)]


def value_of(lines, name):
    """The value (as written) of the one line named `name`."""
    vals = [l.split(":", 1)[1].split("|")[0] for l in lines if l.split(":", 1)[0] == name]
    assert len(vals) == 1, (name, lines)
    return vals[0]


def key_of(line):
    return line.split(":", 1)[0]


def request_keys(lines, prefix="test"):
    """Keys of the request lines (everything but P.responses.* and markers)."""
    svc = f"{prefix}.responses." if prefix else "responses."
    return [key_of(l) for l in lines
            if not l.startswith(svc) and not RELOAD_RE.search(l)]


def request_counts(lines, prefix="test"):
    """(counters, timers): by request key, the total of its counter lines
    (K:1|c per request, or summed K:n|c) and the number of its timer
    values; both count the requests measured under the key."""
    counters, timers = collections.Counter(), collections.Counter()
    svc = f"{prefix}.responses." if prefix else "responses."
    for l in lines:
        if l.startswith(svc) or RELOAD_RE.search(l):
            continue
        key, _, rest = l.partition(":")
        for value in rest.split(":"):
            v, _, typ = value.partition("|")
            if typ == "c":
                counters[key] += int(v)
            elif typ == "ms":
                timers[key] += 1
    return dict(counters), dict(timers)


def measured(lines, prefix="test"):
    """How many requests these lines measure: one P.responses.time each."""
    t = f"{prefix}.responses.time:" if prefix else "responses.time:"
    return sum(1 for l in lines if l.startswith(t))


def seg_char(b, dot_ok=False):
    """What one byte of a name becomes: itself if [A-Za-z0-9_-], else _."""
    if dot_ok and b == 0x2E:
        return "."
    return chr(b) if SEGMENT_OK.match(bytes([b])) else "_"


def wait_measured(listener, n, timeout=5.0, prefix="test"):
    """Wait (bounded) until n requests are measured; return the lines."""
    proc.wait_for(lambda: measured(listener.lines(), prefix) >= n, timeout)
    listener.quiesce(0.15, timeout=2.0)
    return metric_lines(listener)


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def replay(datagrams, port, host="127.0.0.1"):
    """Send captured datagrams, byte for byte, to another receiver (the
    real statsd): what the module put on the wire, checked by statsd."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i, d in enumerate(datagrams):
            s.sendto(d, (host, port))
            if i % 200 == 199:
                time.sleep(0.01)       # let node keep up: loopback drops silently
