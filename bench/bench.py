#!/usr/bin/python3
"""make bench - mod_statsd performance against its targets, in one run.

    /usr/bin/python3 bench/bench.py [--quick] [--only a,b,c,d]

Sections:
  a) name builder + line formatter microbenchmark (bench/bench_names.c):
     ns/request (median of timed batches), heap allocations, and the
     instruction count under cachegrind.
  b) user-space instructions per request that the module adds: apache2 -X
     (worker MPM; --b-mpm event for the other) under cachegrind serving N1
     and N2 keep-alive requests of a small static file, without and with
     the module in the default config (Statsd On, StatsdHost, StatsdPort,
     StatsdPrefix at server level); per-request = (Ir(N2) -
     Ir(N1)) / (N2 - N1), the median of --b-reps paired runs (one pair
     drifts with timing). Plus a callgrind
     profile (N1/N2 difference per function) of where the module's
     instructions go, on the request path and on the flushing side (the
     interval's flusher thread and the watchdog's flushes, which sum the
     counters and send); b3r is b3 less that flushing side: the request
     path, which the budget is on. Then the same (b6-b9, b8r) under the
     event MPM on /api/v1/users/, a directory index three segments deep:
     the path the request-path budget is defined on.
  c) sends per request: datagrams and lines a UDP receiver got, batching on
     (default) and off (StatsdFlushInterval 0).
  d) cross-check under load: wrk against event-MPM httpd without/with the
     module, interleaved paired rounds; requests/s and server CPU/request as
     median of paired ratios; plus a paced ~10k requests/s run where
     lines received / expected must be 1.000.
  e) the receiver's cost: a fixed request mix captured in five wire
     formats (the original's, the default with counters summed, counters
     not summed, packed, and packed with one timer value per request) and
     replayed into a warm statsd 0.9 with no backend, back to back with
     nothing lost; its CPU time per format, relative to the original's
     (bench/receiver_cost.py).

Everything runs on 127.0.0.1 only, in throwaway ServerRoots under /tmp;
every wait and load loop is bounded in count and time. Results: a table on
stdout and in build/bench/results.txt (raw figures in results.json,
profiles and logs beside them).

Stdlib only. Run as root (httpd switches to www-data).
"""

import argparse
import collections
import datetime
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "t" / "lib"))     # the test harness

from statsdtest.httpd import DOCROOT_CONF, Httpd, HttpdError  # noqa: E402
from statsdtest.paths import APACHE2, MODULE_SO, RUN_USER  # noqa: E402
from statsdtest.proc import proc_stat, tcp_listening  # noqa: E402
import receiver_cost  # noqa: E402

OUT = REPO / "build" / "bench"
BENCH_NAMES = OUT / "bench_names"
VALGRIND = shutil.which("valgrind") or "/usr/bin/valgrind"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
CLK_TCK = os.sysconf("SC_CLK_TCK")

PREFIX = "bench"
STATIC_PATH = "/bench.txt"
STATIC_BODY = b"mod_statsd bench: a small static file.\n" * 3   # 117 bytes
# b6-b9: a three-segment path whose directory index mod_dir serves by an
# internal redirect (the module then reads the request chain and a longer
# name), measured under the event MPM
DEEP_PATH = "/api/v1/users/"
DEEP_MPM = "event"

# the metric line grammar
LINE_RE = re.compile(rb"^[A-Za-z0-9_.-]+:[0-9.]+\|(ms|c|g)$")
# the lines of a measured request: P.NAME.METHOD.STATUS and P.responses.*;
# anything else (e.g. the module's P.httpd.reloads marker and its worker
# gauges) is counted apart
REQ_LINE_RE = re.compile(rb"^" + re.escape(b"bench.") +
                         rb"(responses\.(good|bad|4xx|5xx|time)|"
                         rb"[A-Za-z0-9_.-]+\.[A-Za-z0-9_-]+\.\d{3}):")

# the targets: instructions/request added, datagrams/request batched,
# ns/request of the name builder, requests/s with/without the module
T_INSTR = 1000
T_DGRAM_BATCH = 0.15
T_NS = 300.0
T_RPS_RATIO = 0.97
QUIET_PCT = 15.0    # others' CPU share under which a round counts as quiet


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr,
          flush=True)


class BenchError(Exception):
    pass


# ==========================================================================
# UDP receiver, in its own process so its CPU and the GIL never get in the
# way of the client or the parent. Protocol on stdin/stdout, one line each:
# "stats" -> JSON, "reset" -> "ok"; EOF ends it.

def receiver_main(sink):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    want = 32 << 20
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUFFORCE, want)
    except (OSError, AttributeError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, want)
    if sink:
        # bound but never read: a listening port (no ICMP refusals) whose
        # reader costs no CPU; the kernel drops what overflows
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    rcvbuf = s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    lock = threading.Lock()
    keys = ("datagrams", "bytes", "lines", "bad_lines", "counters", "timers",
            "good", "bad", "r4xx", "r5xx", "rtime", "max_datagram",
            "req_lines", "req_samples", "other_lines", "req_datagrams")
    st = dict.fromkeys(keys, 0)
    st["last_rx"] = 0.0
    bad_samples = []
    other_names = collections.Counter()
    prefix = PREFIX.encode() + b".responses."

    def udp_drops():
        hexport = ":%04X" % port
        try:
            with open("/proc/net/udp") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) > 12 and parts[1].endswith(hexport) \
                            and parts[1].startswith("0100007F"):
                        return int(parts[-1])
        except OSError:
            pass
        return -1

    def control():
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "stats":
                with lock:
                    out = dict(st)
                    out["bad_samples"] = list(bad_samples)
                    out["other_names"] = dict(other_names)
                out["idle"] = (time.monotonic() - out["last_rx"]
                               if out["last_rx"] else 1e9)
                out["kernel_drops"] = udp_drops()
                out["rcvbuf"] = rcvbuf
                print(json.dumps(out), flush=True)
            elif cmd == "reset":
                with lock:
                    for k in keys:
                        st[k] = 0
                    st["last_rx"] = 0.0
                    bad_samples.clear()
                    other_names.clear()
                print("ok", flush=True)
        os._exit(0)

    print(port, flush=True)
    t = threading.Thread(target=control, daemon=True)
    t.start()
    if sink:
        t.join()
        os._exit(0)
    s.settimeout(0.2)
    buf = bytearray(70000)
    view = memoryview(buf)
    while True:
        try:
            n = s.recv_into(buf)
        except socket.timeout:
            continue
        data = bytes(view[:n])
        lines = data.split(b"\n")
        c = tm = good = bad = r4 = r5 = rt = badl = req = samples = 0
        others = []
        for ln in lines:
            if not LINE_RE.match(ln):
                badl += 1
                if len(bad_samples) < 5:
                    bad_samples.append(ln[:200].decode("latin-1"))
                continue
            # a summed counter stands for its value's worth of lines
            n_of = (int(ln.split(b":", 1)[1][:-2]) if ln.endswith(b"|c")
                    else 1)
            if REQ_LINE_RE.match(ln):
                req += 1
                samples += n_of
            else:
                others.append(ln.split(b":", 1)[0].decode("latin-1"))
            if ln.endswith(b"|c"):
                c += 1
            elif ln.endswith(b"|ms"):
                tm += 1
            if ln.startswith(prefix):
                rest = ln[len(prefix):len(prefix) + 5]
                if rest.startswith(b"good:"):
                    good += n_of
                elif rest.startswith(b"bad:"):
                    bad += n_of
                elif rest.startswith(b"4xx:"):
                    r4 += n_of
                elif rest.startswith(b"5xx:"):
                    r5 += n_of
                elif rest.startswith(b"time:"):
                    rt += 1
        with lock:
            st["datagrams"] += 1
            st["bytes"] += n
            st["lines"] += len(lines)
            st["bad_lines"] += badl
            st["req_lines"] += req
            st["req_samples"] += samples
            st["req_datagrams"] += 1 if req else 0
            st["other_lines"] += len(others)
            for o in others:
                if o in other_names or len(other_names) < 20:
                    other_names[o] += 1
            st["counters"] += c
            st["timers"] += tm
            st["good"] += good
            st["bad"] += bad
            st["r4xx"] += r4
            st["r5xx"] += r5
            st["rtime"] += rt
            if n > st["max_datagram"]:
                st["max_datagram"] = n
            st["last_rx"] = time.monotonic()


class Receiver:
    """The parent's handle on a receiver process."""

    def __init__(self, sink=False):
        self.sink = sink
        self.p = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--receiver"]
            + (["--sink"] if sink else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self._readline(10))

    def _readline(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise BenchError("UDP receiver does not answer")
        line = self.p.stdout.readline()
        if not line:
            raise BenchError("UDP receiver exited")
        return line

    def stats(self):
        self.p.stdin.write("stats\n")
        self.p.stdin.flush()
        return json.loads(self._readline(10))

    def reset(self):
        self.p.stdin.write("reset\n")
        self.p.stdin.flush()
        self._readline(10)

    def quiesce(self, quiet=0.5, timeout=10.0):
        """Wait (bounded) until nothing arrived for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        st = self.stats()
        while time.monotonic() < deadline and st["idle"] < quiet:
            time.sleep(0.1)
            st = self.stats()
        return st

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=5)


# ==========================================================================
# throwaway httpd

# the server block after the harness's head (paths, Listen, User, modules)
BENCH_SERVER_CONF = """\
HostnameLookups Off
Timeout 30
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 15
GracefulShutdownTimeout 10
# a fixed set of 2 children, so no process comes or goes during a round
StartServers 2
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
MinSpareThreads 25
MaxSpareThreads 75
MaxConnectionsPerChild 0

""" + DOCROOT_CONF


def bench_server_conf(h):
    text = BENCH_SERVER_CONF.format(docroot=h.docroot)
    if h.access_log:
        text += (f'LogFormat "%>s" statusonly\n'
                 f'CustomLog "{h.access_file}" statusonly\n')
    if h.load_statsd:
        # the default config: these four at server level only
        text += (f"Statsd On\nStatsdHost 127.0.0.1\n"
                 f"StatsdPort {h.statsd_port}\nStatsdPrefix {PREFIX}\n")
        if h.flush is not None:
            text += f"StatsdFlushInterval {h.flush}\n"
        text += getattr(h, "statsd_extra", "")
    return text


# b5: the default config plus tag mode and two static tags
TAGS_CONF = ("StatsdTagFormat dogstatsd\nStatsdTagMode On\n"
             "StatsdTag env prod\nStatsdTag team web\n")
# b4n, b9n: the statsd notes made, as when a log format names them
NOTE_CONF = "StatsdNote On\n"
# b4u: the default config with counters not summed (batching alone)
UNSUM_CONF = "StatsdSumCounters Off\n"
# b10: the default config plus sampling and five latency buckets
SAMPLE_BUCKETS_CONF = ("StatsdSampleRate 0.1\n"
                       "StatsdLatencyBuckets 50 100 250 500 1000\n")


def bench_httpd(tag, module_so, *, statsd_port=None, flush=None,
                access_log=False, workdir, mpm="event", statsd_extra=""):
    """The harness's Httpd on 127.0.0.1 with the bench's server block;
    module_so None: without the module. flush None: not set (default)."""
    h = Httpd(tag, mpm=mpm, load_statsd=module_so is not None, module_so=module_so,
              modules=("authz_core", "mime", "dir"), default_files=False,
              files={STATIC_PATH.lstrip("/"): STATIC_BODY,
                     "index.html": "<p>bench</p>\n",
                     DEEP_PATH.lstrip("/") + "index.html":
                         "<p>users</p>\n"},
              server_conf=bench_server_conf, workdir=str(workdir))
    h.statsd_port = statsd_port
    h.flush = flush
    h.statsd_extra = statsd_extra       # more directives (b5)
    h.access_log = access_log
    h.access_file = h.logs / "access_log"
    h.vg = None
    h.write_config()
    return h


def start_bench_httpd(h, timeout=20):
    """Start; return once both children (StartServers 2) are up, before
    anything is measured."""
    return h.start(timeout=timeout, children=2)


def stop_bench_httpd(h, timeout=20):
    """Graceful stop (children finish, exit cleanups flush), bounded."""
    h.stop(timeout=timeout, graceful=True)


def cpu_ticks(h):
    """(user, system) ticks of the parent and its children, plus the
    parent's reaped-children times (a child that exited still counts)."""
    user = system = 0
    st = proc_stat(h.pid)
    if st:
        user += st[1][0] + st[2][0]
        system += st[1][1] + st[2][1]
    for k in h.children(live=True):
        st = proc_stat(k)
        if st:
            user += st[1][0]
            system += st[1][1]
    return user, system


def wait_up(h, timeout, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        if tcp_listening(h.port, timeout=1):
            return
        time.sleep(0.1)
    raise BenchError(f"{h.name}: httpd did not answer on "
                     f"127.0.0.1:{h.port} within {timeout}s\n"
                     f"{h.error_log_text()[-3000:]}")


# -- under valgrind, one process (-X)
def start_valgrind(h, tool, out_file, extra=(), timeout=240):
    # valgrind creates the file at start-up (as root) and writes it at
    # exit as User www-data: make it first, writable by anyone
    Path(out_file).touch()
    os.chmod(out_file, 0o666)
    h.write_config()
    cmd = [VALGRIND, f"--tool={tool}", f"--{tool}-out-file={out_file}",
           "--vgdb=no", *extra, *h.argv("-X")]
    h.vg_log = open(h.logs / f"valgrind-{tool}.log", "w")
    h.vg = subprocess.Popen(cmd, stdout=h.vg_log, stderr=subprocess.STDOUT,
                            cwd=str(h.dir), env=h.env())
    try:
        wait_up(h, timeout, proc=h.vg)
    except BenchError:
        kill_valgrind(h)
        raise


def stop_valgrind(h, timeout=240):
    """SIGTERM: httpd -X shuts down cleanly, valgrind writes totals."""
    h.vg.send_signal(signal.SIGTERM)
    try:
        rc = h.vg.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_valgrind(h)
        raise BenchError(f"{h.name}: valgrind'ed httpd did not exit")
    h.vg_log.close()
    h.vg = None
    return rc


def kill_valgrind(h):
    if h.vg and h.vg.poll() is None:
        h.vg.kill()
        h.vg.wait(timeout=30)
    h.vg = None


PROBLEM_RE = re.compile(r"\[[a-z_]+:(error|crit|alert|emerg)\]|\[statsd:"
                        r"|exit signal|AH00052")


def problems(h):
    """Error-log lines worth a look (crashes, module warnings)."""
    return [ln for ln in h.error_log_text().splitlines() if PROBLEM_RE.search(ln)]


def dispose(h):
    """Stop whatever still runs of h and remove its directory."""
    if h.vg is not None:
        kill_valgrind(h)
    if h.pid is not None:
        stop_bench_httpd(h)
    h.cleanup()


# ==========================================================================
# HTTP/1.1 keep-alive client (exact request counts; wrk cannot do that)

class KeepAliveClient:
    def __init__(self, port, path=STATIC_PATH, timeout=60):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"User-Agent: mod_statsd-bench\r\n\r\n").encode()
        self.buf = b""

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise BenchError("server closed the keep-alive connection")
        self.buf += chunk

    def one(self):
        self.s.sendall(self.req)
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            self._fill()
        head = self.buf[:i]
        status = int(head[9:12])
        m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
        if not m:
            raise BenchError("response without Content-Length")
        end = i + 4 + int(m.group(1))
        while len(self.buf) < end:
            self._fill()
        self.buf = self.buf[end:]
        return status

    def run(self, n, deadline):
        statuses = collections.Counter()
        for _ in range(n):
            if time.monotonic() > deadline:
                raise BenchError("client ran out of time")
            statuses[self.one()] += 1
        return statuses

    def close(self):
        self.s.close()


def drive(port, n, conns=1, timeout=300, path=STATIC_PATH):
    """Exactly n requests of `path` over `conns` keep-alive connections."""
    deadline = time.monotonic() + timeout
    per = [n // conns + (1 if i < n % conns else 0) for i in range(conns)]
    results, errors = [], []

    def worker(k):
        try:
            c = KeepAliveClient(port, path)
            try:
                results.append(c.run(k, deadline))
            finally:
                c.close()
        except Exception as e:          # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in per]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1, deadline - time.monotonic() + 5))
    if errors:
        raise BenchError(f"client error: {errors[0]!r}")
    total = collections.Counter()
    for r in results:
        total.update(r)
    if sum(total.values()) != n:
        raise BenchError(f"client sent {sum(total.values())} of {n} requests")
    return total


def expected_lines(statuses):
    """Lines of the default config: timer + counter + responses.good|bad
    (+4xx|5xx) + responses.time."""
    return sum(cnt * (4 if st < 400 else 5) for st, cnt in statuses.items())


# ==========================================================================
# valgrind output

def read_summary(path):
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("summary:"):
                return int(line.split()[1])
    raise BenchError(f"no summary in {path}")


def parse_callgrind(path):
    """Per (object, function): self Ir, and calls to other functions with
    their inclusive Ir. Handles name compression and subposition forms."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    self_cost = collections.Counter()
    calls = collections.defaultdict(collections.Counter)
    call_counts = collections.defaultdict(collections.Counter)
    cur_ob = cur_fn = None
    cob = cfn = None
    pending_call = None

    def name(kind, spec):
        spec = spec.strip()
        m = re.match(r"\((\d+)\)(?:\s+(.*))?$", spec)
        if m and m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
            spec = m.group(2)
        elif m:
            spec = names[kind].get(m.group(1), spec)
        if kind == "fn":
            # recursion levels ("ap_pass_brigade'2") and symbol versions
            spec = re.sub(r"'\d+$", "", spec).split("@@")[0]
        return spec

    with open(path, errors="replace") as f:
        for line in f:
            if not line or line[0] == "\n":
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if pending_call is not None:
                    key = (cob if cob is not None else cur_ob, cfn)
                    calls[(cur_ob, cur_fn)][key] += cost
                    call_counts[(cur_ob, cur_fn)][key] += pending_call
                    pending_call = None
                    cob = cfn = None
                else:
                    self_cost[(cur_ob, cur_fn)] += cost
                continue
            if line.startswith("ob="):
                cur_ob = name("ob", line[3:])
            elif line.startswith("fn="):
                cur_fn = name("fn", line[3:])
            elif line.startswith("cob="):
                cob = name("ob", line[4:])
            elif line.startswith("cfn="):
                cfn = name("fn", line[4:])
            elif line.startswith(("fl=", "fi=", "fe=")):
                name("fl", line[3:])
            elif line.startswith(("cfi=", "cfl=")):
                name("fl", line[4:])
            elif line.startswith("calls="):
                pending_call = int(line[6:].split()[0])
    return self_cost, calls, call_counts


# functions whose inclusive cost is httpd's own work passed through the
# module (our output filter hands the brigade on)
PASS_THROUGH = {"ap_pass_brigade"}


# (the static functions of statsd_sum.c, statsd_pack.c and the flushing
# half of statsd_interval.c, its flusher thread's among them, under the
# names link-time optimisation gives)
FLUSH_SIDE_RE = re.compile(r"^(flusher|fold_pending|fold_send|fold_to_spare|"
                           r"lock_with_spare|sort_group|value_cmp|"
                           r"take_and_fold|drain|add_full|emit_group|"
                           r"hash_bytes|hash_key|add|parse_counter|"
                           r"parse_timer|same_key|put|statsd_sum_\w+|"
                           r"statsd_pack_\w+|statsd_interval_flush\w*|"
                           r"statsd_client_send_lines|statsd_client_send|"
                           r"default_send)(\.[\w.]+)?$")


def module_profile(cg1, cg2, n_diff):
    """Per-request instructions of the module's functions (self) and of what
    they call outside the module (inclusive), from two callgrind runs."""
    s1, c1, _ = parse_callgrind(cg1)
    s2, c2, k2 = parse_callgrind(cg2)

    def is_mod(ob):
        return ob is not None and "mod_statsd" in ob

    own = collections.Counter()
    ext = collections.Counter()
    ext_calls = collections.Counter()
    passed = collections.Counter()
    for key in set(s2) | set(s1):
        if is_mod(key[0]):
            own[key[1]] += s2.get(key, 0) - s1.get(key, 0)
    for caller in set(c2) | set(c1):
        if not is_mod(caller[0]):
            continue
        for callee in set(c2.get(caller, {})) | set(c1.get(caller, {})):
            if is_mod(callee[0]):
                continue
            d = c2.get(caller, {}).get(callee, 0) - c1.get(caller, {}).get(callee, 0)
            label = f"{callee[1]} (from {caller[1]})"
            if callee[1] in PASS_THROUGH:
                passed[label] += d
                continue
            ext[label] += d
            ext_calls[label] += k2.get(caller, {}).get(callee, 0)
    per = lambda v: v / n_diff
    # the flushing side: summing, packing and sending an interval's lines,
    # done by the interval's flusher thread for each full buffer and by
    # the watchdog at each interval's end (by a request only when both
    # buffers are full)
    flush = lambda name: bool(FLUSH_SIDE_RE.match(name))
    flush_side = (sum(v for k, v in own.items() if flush(k))
                  + sum(v for k, v in ext.items()
                        if flush(k.rsplit("(from ", 1)[-1].rstrip(")"))))
    return {
        "flush_side": per(flush_side),
        "own": {k: per(v) for k, v in own.items() if abs(per(v)) >= 0.5},
        "ext": {k: per(v) for k, v in ext.items() if abs(per(v)) >= 0.5},
        "passed_through": {k: per(v) for k, v in passed.items()},
        "total": per(sum(own.values()) + sum(ext.values())),
    }


# ==========================================================================
# sections

class Bench:
    def __init__(self, args):
        self.args = args
        self.res = {"meta": {}, "a": {}, "b": {}, "c": {}, "d": {}, "e": {}}
        self.notes = []
        self.work = Path(tempfile.mkdtemp(prefix="mod_statsd-bench-",
                                          dir="/tmp"))
        os.chmod(self.work, 0o755)
        # a private copy: a rebuild by someone else mid-run changes nothing
        self.module = self.work / "mod_statsd.so"
        shutil.copy2(MODULE_SO, self.module)
        os.chmod(self.module, 0o755)
        self.httpds = []
        self.receivers = []
        self.batching = None        # detected in setup()

    def httpd(self, *a, **kw):
        h = bench_httpd(*a, workdir=self.work, **kw)
        self.httpds.append(h)
        return h

    def receiver(self, sink=False):
        r = Receiver(sink)
        self.receivers.append(r)
        return r

    def close(self):
        for h in self.httpds:
            try:
                dispose(h)
            except Exception as e:       # keep cleaning up the rest
                log(f"cleanup of {h.name}: {e!r}")
        for r in self.receivers:
            r.close()
        shutil.rmtree(self.work, ignore_errors=True)

    # ---------------------------------------------------------------- setup
    def setup(self):
        meta = self.res["meta"]
        meta["date"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        meta["httpd"] = subprocess.run([APACHE2, "-v"], capture_output=True,
                                       text=True).stdout.split("\n")[0]
        meta["cpus"] = os.cpu_count()
        meta["module_sha256"] = hashlib.sha256(
            self.module.read_bytes()).hexdigest()[:12]
        meta["module_mtime"] = datetime.datetime.fromtimestamp(
            MODULE_SO.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
        try:
            if REPO not in MODULE_SO.resolve().parents:
                raise OSError("module built elsewhere")
            rev = subprocess.run(["git", "-C", str(REPO), "rev-parse",
                                  "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip()
            dirty = subprocess.run(["git", "-C", str(REPO), "status",
                                    "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True).stdout
            meta["git"] = rev + ("+dirty" if dirty.strip() else "")
        except OSError:
            meta["git"] = "?"
        meta["loadavg_start"] = open("/proc/loadavg").read().split()[:3]
        meta["foreign_httpd_at_start"] = self.foreign_httpds()

        # does the module know StatsdFlushInterval (batching)?
        h = self.httpd("configtest", self.module, statsd_port=8125, flush=0)
        rc, out = h.configtest()
        if rc == 0:
            self.batching = True
        elif "StatsdFlushInterval" in out:
            self.batching = False
        else:
            raise BenchError(f"apache2 -t with the module fails:\n{out}")
        h.flush = None
        h.write_config()
        rc, out = h.configtest()
        if rc != 0:
            raise BenchError(f"apache2 -t, default config, fails:\n{out}")
        meta["batching_directive"] = self.batching
        log(f"StatsdFlushInterval {'known' if self.batching else 'unknown'}"
            f" to the module; batching rows "
            f"{'measured' if self.batching else 'n/a'}")
        dispose(h)
        self.httpds.remove(h)

    def foreign_httpds(self):
        """apache2 processes that are not ours (other engineers' tests)."""
        n = 0
        ours = str(self.work)
        for e in os.listdir("/proc"):
            if not e.isdigit():
                continue
            try:
                cmd = open(f"/proc/{e}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"apache2") and ours.encode() not in \
                    b" ".join(cmd):
                n += 1
        return n

    # ---------------------------------------------------------------- a)
    def section_a(self):
        log("a) name builder + line formatting microbenchmark")
        if not BENCH_NAMES.exists():
            subprocess.run(["make", "-s", "-C", str(REPO),
                            "build/bench/bench_names"], check=True)
        self.wait_quiet("a")
        runs = []
        # a_runs runs on each vCPU: on this VM one vCPU can be ~1.5x slower
        # than the other for minutes (host contention), whatever the code
        cpus = sorted(os.sched_getaffinity(0))
        plan = [c for _ in range(self.args.a_runs) for c in cpus]
        for cpu in plan:
            p = subprocess.run([str(BENCH_NAMES), str(self.args.a_batches)],
                               capture_output=True, text=True, timeout=120,
                               preexec_fn=lambda c=cpu:
                               os.sched_setaffinity(0, {c}))
            if p.returncode != 0:
                raise BenchError(f"bench_names failed:\n{p.stdout}{p.stderr}")
            d = {"class_ns": {}}
            for line in p.stdout.splitlines():
                parts = line.split()
                if parts[0] == "class_ns":
                    d["class_ns"][parts[1]] = (int(parts[2]), float(parts[3]))
                else:
                    d[parts[0]] = float(parts[1])
            d["cpu"] = cpu
            runs.append(d)
        a = self.res["a"]
        meds = sorted(r["ns_median"] for r in runs)
        a["runs"] = runs
        a["ns_median_runs"] = meds
        a["per_cpu"] = {c: statistics.median(r["ns_median"] for r in runs
                                             if r["cpu"] == c) for c in cpus}
        # the figure: the least disturbed vCPU's median (all shown)
        a["ns"] = min(a["per_cpu"].values())
        a["ns_all"] = statistics.median(meds)
        a["ns_cpu"] = statistics.median(r["ns_cpu_median"] for r in runs)
        a["speed_ref"] = statistics.median(r.get("speed_ref", 0) for r in runs)
        a["allocs"] = sum(r["allocs"] for r in runs)
        a["allocs_per_request"] = a["allocs"] / sum(r["requests_timed"]
                                                    for r in runs)
        a["requests_timed"] = sum(r["requests_timed"] for r in runs)
        a["mix"] = int(runs[0]["requests_per_round"])
        a["guard"] = bool(runs[0].get("guard"))
        a["class_ns"] = {k: (v[0], statistics.median(
            r["class_ns"][k][1] for r in runs))
            for k, v in runs[0]["class_ns"].items()}
        # instructions per request, drift-free
        vgdir = self.work / "vg-a"
        vgdir.mkdir()
        ir = {}
        for n in (100, 500):
            out = vgdir / f"cg.names.{n}"
            subprocess.run([VALGRIND, "--tool=cachegrind", "--cache-sim=no",
                            f"--cachegrind-out-file={out}", str(BENCH_NAMES),
                            "--count", str(n)], capture_output=True,
                           timeout=300, check=True)
            ir[n] = read_summary(out)
        a["instr"] = (ir[500] - ir[100]) / (400 * a["mix"])
        shutil.copy2(vgdir / "cg.names.500", OUT / "cachegrind.names.out")
        log(f"a) {a['ns']:.1f} ns/request, {a['allocs']} allocations, "
            f"{a['instr']:.0f} instructions/request")

    # ---------------------------------------------------------------- b)
    def valgrind_run(self, tool, with_module, n, recv, extra=(),
                     statsd_extra="", path=STATIC_PATH, mpm=None, label=""):
        """One apache2 -X under valgrind serving exactly n requests of
        `path`; label tells its profile apart from the other paths'."""
        kind = ("" if not statsd_extra else
                "tags" if "StatsdTag" in statsd_extra else "extra")
        parts = [p for p in (kind, label) if p]
        tag = "-".join([f"vg-{tool}-{'mod' if with_module else 'base'}-{n}"]
                       + parts)
        h = self.httpd(tag, self.module if with_module else None,
                       statsd_port=recv.port, mpm=mpm or self.args.b_mpm,
                       statsd_extra=statsd_extra)
        outdir = h.dir / "vgout"
        outdir.mkdir()
        os.chmod(outdir, 0o777)           # written by www-data at exit
        out = outdir / f"{tool}.out"
        t0 = time.monotonic()
        start_valgrind(h, tool, out, extra)
        t_up = time.monotonic() - t0
        statuses = drive(h.port, n, conns=1, timeout=self.args.vg_timeout,
                         path=path)
        if set(statuses) != {200}:
            raise BenchError(f"{tag}: unexpected statuses {dict(statuses)}")
        rc = stop_valgrind(h)
        if not out.exists():
            raise BenchError(f"{tag}: valgrind wrote no {out} (rc {rc}); "
                             f"see {h.dir}/logs")
        if out.stat().st_size == 0:
            raise BenchError(f"{tag}: valgrind wrote nothing to {out} (rc "
                             f"{rc}):\n" + (h.dir / "logs" / f"valgrind-{tool}"
                                            ".log").read_text()[-1500:])
        total = read_summary(out)
        # one file per profile: the caller's label keeps the deep path's
        # and each extra configuration's apart from the plain one
        keep = OUT / ".".join([tool, "with_module" if with_module
                               else "without_module"] + parts + [f"{n}.out"])
        shutil.copy2(out, keep)
        probs = problems(h)
        if probs:
            self.notes.append(f"{tag}: error log: {probs[:3]}")
        log(f"   {tag}: {total:,} Ir (start {t_up:.1f}s, total "
            f"{time.monotonic() - t0:.1f}s)")
        dispose(h)
        self.httpds.remove(h)
        return total, keep

    def paired_counts(self, recv, out, reps, path=STATIC_PATH, mpm=None,
                      label=""):
        """`reps` pairs of cachegrind runs (without, with the module; N1 and
        N2 requests of `path` each) into out: per-request counts and the
        added count, medians over the pairs, with their spread."""
        n1, n2 = self.args.n1, self.args.n2
        runs = []
        for rep in range(reps):
            one = {}
            for with_module in (False, True):
                key = "with" if with_module else "without"
                recv.reset()
                t1, _ = self.valgrind_run("cachegrind", with_module, n1, recv,
                                          ["--cache-sim=no"], path=path,
                                          mpm=mpm, label=label)
                t2, _ = self.valgrind_run("cachegrind", with_module, n2, recv,
                                          ["--cache-sim=no"], path=path,
                                          mpm=mpm, label=label)
                one[key] = {"ir_n1": t1, "ir_n2": t2,
                            "per_request": (t2 - t1) / (n2 - n1)}
                if with_module:
                    st = recv.quiesce(0.3, 5)
                    one["with"]["datagrams"] = st["datagrams"]
                    one["with"]["lines"] = st["lines"]
            one["added"] = (one["with"]["per_request"]
                            - one["without"]["per_request"])
            log(f"b) {path} run {rep + 1}/{reps}: without "
                f"{one['without']['per_request']:,.0f}, with "
                f"{one['with']['per_request']:,.0f}, added "
                f"{one['added']:,.0f}")
            runs.append(one)
        out["n1"], out["n2"] = n1, n2
        out["path"], out["mpm"] = path, mpm or self.args.b_mpm
        out["reps"] = runs
        mid = lambda f: statistics.median(f(r) for r in runs)
        out["without"] = {"per_request":
                          mid(lambda r: r["without"]["per_request"])}
        out["with"] = dict(runs[-1]["with"])
        out["with"]["per_request"] = mid(lambda r: r["with"]["per_request"])
        out["added"] = mid(lambda r: r["added"])
        out["added_min"] = min(r["added"] for r in runs)
        out["added_max"] = max(r["added"] for r in runs)
        log(f"b) {path} medians: without {out['without']['per_request']:,.0f},"
            f" with {out['with']['per_request']:,.0f}, added "
            f"{out['added']:,.0f} ({out['added_min']:,.0f}.."
            f"{out['added_max']:,.0f})")

    def profile_run(self, recv, statsd_extra="", path=STATIC_PATH, mpm=None,
                    label=""):
        """Two callgrind runs with the module (N1, N2 requests of `path`):
        the module's per-request profile; returns it and the N2 file."""
        n1, n2 = self.args.n1, self.args.n2
        extra = ["--dump-instr=no", "--collect-jumps=no"]
        _, cg1 = self.valgrind_run("callgrind", True, n1, recv, extra,
                                   statsd_extra, path=path, mpm=mpm,
                                   label=label)
        _, cg2 = self.valgrind_run("callgrind", True, n2, recv, extra,
                                   statsd_extra, path=path, mpm=mpm,
                                   label=label)
        return module_profile(cg1, cg2, n2 - n1), cg2

    def section_b(self):
        log("b) instructions per request, apache2 -X under cachegrind")
        recv = self.receiver()
        b = self.res["b"]
        # The counts of one run drift with timing, by up to a few hundred
        # instructions per request under the event MPM (how it hands a
        # keep-alive connection between listener and worker) and less under
        # worker (the default here: one thread reads the whole connection):
        # repeat the four runs, take the medians.
        profiles_only = self.args.b_reps == 0     # b4, b5, b4+, b4u, b10 alone
        if not profiles_only:
            self.paired_counts(recv, b, self.args.b_reps)
        else:
            b["n1"], b["n2"] = self.args.n1, self.args.n2
        if profiles_only or not self.args.no_callgrind:
            log("b) callgrind profile (with module, N1 and N2)")
            b["profile"], cg2 = self.profile_run(recv)
            ann = subprocess.run(["callgrind_annotate", "--inclusive=yes",
                                  "--threshold=100", str(cg2)],
                                 capture_output=True, text=True, timeout=120)
            (OUT / "callgrind.with_module.annotate.txt").write_text(ann.stdout)
            b["annotate_module_lines"] = [
                ln for ln in ann.stdout.splitlines()
                if re.search(r"statsd|log_transaction|stat_header", ln)][:25]
            # b5: the same profile with tag mode and two static tags
            log("b) callgrind profile with StatsdTagMode On and two tags")
            b["profile_tags"], _ = self.profile_run(recv, TAGS_CONF)
            # b4n: the same profile with the statsd notes made, as when a
            # log format names them (the bench's config has no access log)
            log("b) callgrind profile with StatsdNote On")
            b["profile_note"], _ = self.profile_run(recv, NOTE_CONF,
                                                    label="note")
            # b4+: the same profile with more directives each (--b4-extra)
            b["profile_extra"] = []
            for conf in self.args.b4_extra:
                conf = conf.replace(";", "\n") + "\n"
                log(f"b) callgrind profile with {conf.strip()!r}")
                prof, _ = self.profile_run(
                    recv, conf, label=f"b4plus{len(b['profile_extra']) + 1}")
                b["profile_extra"].append({"conf": conf.strip(), **prof})
            # b4u: counters not summed; b10: sampling and buckets
            log("b) callgrind profile with StatsdSumCounters Off")
            b["profile_unsum"], _ = self.profile_run(recv, UNSUM_CONF,
                                                     label="unsum")
            log("b) callgrind profile with StatsdSampleRate 0.1 and five "
                "latency buckets")
            b["profile_sample_buckets"], _ = self.profile_run(
                recv, SAMPLE_BUCKETS_CONF, label="sample-buckets")
        if profiles_only:
            return
        # b6-b9: the budget's own measure, a directory index three
        # segments deep under the event MPM
        log(f"b) {DEEP_PATH} (directory index), {DEEP_MPM} MPM")
        deep = b["deep"] = {}
        self.paired_counts(recv, deep, self.args.b_reps, DEEP_PATH, DEEP_MPM,
                           "deep")
        if not self.args.no_callgrind:
            deep["profile"], _ = self.profile_run(recv, "", DEEP_PATH,
                                                  DEEP_MPM, "deep")
            deep["profile_note"], _ = self.profile_run(
                recv, NOTE_CONF, DEEP_PATH, DEEP_MPM, "deep-note")

    # ---------------------------------------------------------------- c)
    def sends_run(self, flush, n):
        recv = self.receiver()
        h = self.httpd(f"sends-{'default' if flush is None else flush}",
                       self.module, statsd_port=recv.port, flush=flush)
        start_bench_httpd(h)
        t0 = time.monotonic()
        statuses = drive(h.port, n, conns=self.args.c_conns, timeout=180)
        dt = time.monotonic() - t0
        time.sleep(1.5)             # > the 1000 ms default flush interval
        before_stop = recv.stats()
        stop_bench_httpd(h)
        st = recv.quiesce(0.5, 10)
        probs = problems(h)
        if probs:
            self.notes.append(f"{h.name}: error log: {probs[:3]}")
        exp = expected_lines(statuses)
        r = {"requests": n, "statuses": dict(statuses), "seconds": dt,
             "datagrams": st["req_datagrams"], "lines": st["req_lines"],
             "all_datagrams": st["datagrams"],
             "all_lines": st["lines"], "other_lines": st["other_lines"],
             "other_names": st["other_names"],
             "expected_lines": exp, "bad_lines": st["bad_lines"],
             "bad_samples": st["bad_samples"],
             "max_datagram": st["max_datagram"],
             "kernel_drops": st["kernel_drops"],
             "datagrams_before_stop": before_stop["datagrams"],
             "lines_before_stop": before_stop["lines"],
             "samples": st["req_samples"],
             "dgram_per_req": st["req_datagrams"] / n,
             "lines_ratio": st["req_samples"] / exp if exp else 0,
             "good": st["good"], "rtime": st["rtime"]}
        dispose(h)
        self.httpds.remove(h)
        self.receivers.remove(recv)
        recv.close()
        log(f"   flush={flush}: {r['datagrams']} datagrams, {r['samples']}/"
            f"{exp} request samples in {r['lines']} lines (+{r['other_lines']} other) for {n} "
            f"requests ({n / dt:.0f} req/s)")
        return r

    def section_c(self):
        log("c) sends per request")
        n = self.args.c_requests
        c = self.res["c"]
        if self.batching:
            c["on"] = self.sends_run(None, n)
            c["off"] = self.sends_run(0, n)
        else:
            c["off"] = self.sends_run(None, n)   # the module's only mode
            c["off"]["default_config"] = True

    # ---------------------------------------------------------------- d)
    def wrk(self, port, seconds, conns, script=None, env=None):
        cmd = [WRK, "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "5s"]
        if script:
            cmd += ["-s", str(script)]
        cmd.append(f"http://127.0.0.1:{port}{STATIC_PATH}")
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=seconds + 30, env=env)
        out = p.stdout
        m_rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
        m_n = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
        if p.returncode != 0 or not m_rps or not m_n:
            raise BenchError(f"wrk failed:\n{out}\n{p.stderr}")
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errs = re.search(r"Socket errors: (.*)", out)
        return {"rps": float(m_rps.group(1)), "requests": int(m_n.group(1)),
                "non2xx": int(non2xx.group(1)) if non2xx else 0,
                "socket_errors": errs.group(1) if errs else "",
                "raw": out}

    def wait_quiet(self, label):
        """Before a timed section: wait (at most --quiet-wait seconds) until
        the machine is nearly idle for a second, and record what it was."""
        t0 = time.monotonic()
        while True:
            m0 = self.machine_ticks()
            time.sleep(1.0)
            m1 = self.machine_ticks()
            busy = 100.0 * (m1[0] - m0[0]) / max(1, m1[2] - m0[2])
            waited = time.monotonic() - t0
            if busy <= QUIET_PCT or waited >= self.args.quiet_wait:
                break
        self.res["meta"].setdefault("quiet", {})[label] = (busy, waited)
        log(f"   machine {busy:.0f}% busy before {label} (waited "
            f"{waited:.0f}s)")

    @staticmethod
    def machine_ticks():
        """(busy, steal, total) ticks of all CPUs, from /proc/stat."""
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        busy = v[0] + v[1] + v[2]   # user nice system (not irq/softirq)
        steal = v[7] if len(v) > 7 else 0
        return busy, steal, sum(v[:8])

    def round(self, h, seconds, conns):
        m0, ch0 = self.machine_ticks(), os.times()
        u0, s0 = cpu_ticks(h)
        w = self.wrk(h.port, seconds, conns)
        u1, s1 = cpu_ticks(h)
        m1, ch1 = self.machine_ticks(), os.times()
        # CPU of everything that is neither this httpd nor wrk (other
        # engineers' tests, ...), as a share of the machine
        wrk_ticks = ((ch1.children_user + ch1.children_system)
                     - (ch0.children_user + ch0.children_system)) * CLK_TCK
        total = max(1, m1[2] - m0[2])
        w["others_pct"] = max(0.0, 100.0 * ((m1[0] - m0[0]) - (u1 - u0)
                                            - (s1 - s0) - wrk_ticks) / total)
        w["steal_pct"] = 100.0 * (m1[1] - m0[1]) / total
        per = 1e6 / CLK_TCK / max(1, w["requests"])
        w["user_us_per_req"] = (u1 - u0) * per
        w["sys_us_per_req"] = (s1 - s0) * per
        w["cpu_us_per_req"] = w["user_us_per_req"] + w["sys_us_per_req"]
        w.pop("raw")
        return w

    def section_d(self):
        log("d) wrk cross-check, paired rounds")
        sink = self.receiver(sink=True)
        base = start_bench_httpd(self.httpd("wrk-without", None, statsd_port=sink.port))
        mod = start_bench_httpd(self.httpd("wrk-with", self.module,
                                           statsd_port=sink.port))
        secs, conns, pairs = (self.args.round_seconds, self.args.conns,
                              self.args.pairs)
        self.wait_quiet("d")
        # warm-up (not counted): page cache, pools, the children's threads
        self.round(base, 1, conns)
        self.round(mod, 1, conns)
        rounds = []
        for i in range(pairs):
            # ABBA by default: a pair's second round is "with" in one pair
            # and "without" in the next, so a machine getting busier or
            # quieter over the run does not favour either side
            if self.args.order == "abba" and i % 2 == 1:
                b = self.round(mod, secs, conns)
                a = self.round(base, secs, conns)
            else:
                a = self.round(base, secs, conns)
                b = self.round(mod, secs, conns)
            rounds.append((a, b))
            log(f"   pair {i + 1}/{pairs}: without {a['rps']:.0f} req/s "
                f"{a['cpu_us_per_req']:.1f} us, with {b['rps']:.0f} req/s "
                f"{b['cpu_us_per_req']:.1f} us")
        d = self.res["d"]
        d["rounds"] = rounds
        rr = [b["rps"] / a["rps"] for a, b in rounds]
        cr = [b["cpu_us_per_req"] / a["cpu_us_per_req"] for a, b in rounds]
        d["rps_ratio"] = (statistics.median(rr), min(rr), max(rr))
        d["cpu_ratio"] = (statistics.median(cr), min(cr), max(cr))
        d["rps_without"] = statistics.median(a["rps"] for a, _ in rounds)
        d["rps_with"] = statistics.median(b["rps"] for _, b in rounds)
        d["cpu_without"] = statistics.median(a["cpu_us_per_req"]
                                             for a, _ in rounds)
        d["cpu_with"] = statistics.median(b["cpu_us_per_req"]
                                          for _, b in rounds)
        for k in ("user", "sys"):
            d[f"{k}_without"] = statistics.median(a[f"{k}_us_per_req"]
                                                  for a, _ in rounds)
            d[f"{k}_with"] = statistics.median(b[f"{k}_us_per_req"]
                                               for _, b in rounds)
        d["errors"] = sum(a["non2xx"] + b["non2xx"] for a, b in rounds)
        # the same figure over the pairs in which other processes stayed
        # quiet (an extra view, not the contract's figure)
        quiet = [b["rps"] / a["rps"] for a, b in rounds
                 if max(a["others_pct"], b["others_pct"]) <= QUIET_PCT]
        d["rps_ratio_quiet"] = ((statistics.median(quiet), min(quiet),
                                 max(quiet), len(quiet)) if quiet else None)
        others = [x["others_pct"] for r in rounds for x in r]
        d["others_pct"] = (statistics.median(others), max(others))
        steal = [x["steal_pct"] for r in rounds for x in r]
        d["steal_pct"] = (statistics.median(steal), max(steal))
        for h in (base, mod):
            probs = problems(h)
            if probs:
                self.notes.append(f"{h.name}: error log: {probs[:3]}")
            dispose(h)
            self.httpds.remove(h)
        self.receivers.remove(sink)
        sink.close()

        # paced run with a reading receiver: nothing lost at ~10k req/s
        log("d) paced ~10k req/s run, reading receiver")
        recv = self.receiver()
        h = start_bench_httpd(self.httpd("paced", self.module, statsd_port=recv.port,
                                         access_log=True))
        env = dict(os.environ, BENCH_DELAY_MS=str(self.args.pace_delay_ms))
        conns = self.args.pace_conns
        rate = self.args.pace_rate
        capacity = d.get("rps_with")
        probe_rps = None
        if capacity is not None and capacity < 1.1 * rate and not conns:
            # this machine cannot serve ~10k/s with the module: run at
            # wrk's maximum instead (unpaced, as the paired rounds)
            mode = "max"
            conns = self.args.conns
            log(f"   paired rounds reached only {capacity:.0f} req/s: "
                f"running at wrk's maximum instead of {rate}/s")
            w = self.wrk(h.port, self.args.pace_seconds, conns)
        else:
            mode = "paced"
            if not conns:
                # 2 s probe with 20 paced connections, then as many as
                # the rate needs (the probe's requests count too)
                probe = self.wrk(h.port, 2, 20, script=HERE / "pace.lua",
                                 env=env)
                probe_rps = probe["rps"]
                conns = max(1, min(200, round(rate / (probe_rps / 20))))
                log(f"   probe: {probe_rps:.0f} req/s with 20 connections "
                    f"-> {conns} connections for {rate}/s")
            w = self.wrk(h.port, self.args.pace_seconds, conns,
                         script=HERE / "pace.lua", env=env)
        time.sleep(1.5)
        stop_bench_httpd(h)
        st = recv.quiesce(0.5, 10)
        statuses = collections.Counter()
        for line in h.access_file.read_text().split():
            statuses[int(line)] += 1
        exp = expected_lines(statuses)
        d["paced"] = {"rps": w["rps"], "wrk_requests": w["requests"],
                      "logged_requests": sum(statuses.values()),
                      "statuses": dict(statuses),
                      "expected_lines": exp, "lines": st["req_lines"],
                      "samples": st["req_samples"],
                      "other_lines": st["other_lines"],
                      "datagrams": st["datagrams"],
                      "bad_lines": st["bad_lines"],
                      "kernel_drops": st["kernel_drops"],
                      "ratio": st["req_samples"] / exp if exp else 0,
                      "conns": conns, "mode": mode, "probe_rps": probe_rps,
                      "capacity": capacity,
                      "delay_ms": self.args.pace_delay_ms}
        probs = problems(h)
        if probs:
            self.notes.append(f"{h.name}: error log: {probs[:3]}")
        dispose(h)
        self.httpds.remove(h)
        log(f"   paced: {w['rps']:.0f} req/s, {st['req_samples']}/{exp} "
            f"samples in {st['req_lines']} lines")

    # ---------------------------------------------------------------- e)
    def section_e(self):
        log("e) receiver cost: captures replayed into the real statsd")
        self.res["e"] = receiver_cost.run(self, sys.modules[__name__],
                                          self.args.e_requests, 4,
                                          self.args.e_reps, log)

    # ---------------------------------------------------------------- report
    def report(self):
        R = self.res
        rows = []   # (id, what, measured, target, verdict, note)

        def verdict(ok):
            return "PASS" if ok else "MISS"

        a = R.get("a") or {}
        if "ns" in a:
            rows.append(("a1", "name+format: ns/request (median of batches)",
                         f"{a['ns']:.0f}", "<= 300", verdict(a["ns"] <= T_NS),
                         "fastest vCPU's median (%s); %d-request mix%s"
                         % (", ".join(
                             f"cpu{c}: " + "/".join(
                                 f"{r['ns_median']:.0f}" for r in a["runs"]
                                 if r["cpu"] == c)
                             for c in a["per_cpu"]),
                            a["mix"],
                            "; incl. StatsdMaxNames guard"
                            if a.get("guard") else "")))
            rows.append(("a2", "name+format: heap allocations/request",
                         f"{a['allocs_per_request']:.0f}" if a["allocs"] == 0
                         else f"{a['allocs_per_request']:.4f}",
                         "0", verdict(a["allocs"] == 0),
                         f"{int(a['allocs'])} allocations in "
                         f"{int(a['requests_timed']):,} requests "
                         f"(malloc/calloc/realloc/memalign interposer)"))
            rows.append(("a3", "name+format: instructions/request",
                         f"{a['instr']:,.0f}", "-", "info",
                         "cachegrind, same mix; drift-free"))
        else:
            rows.append(("a1", "name+format: ns/request", "not run",
                         "<= 300", "n/a", ""))
        b = R.get("b") or {}

        def split(total, flush_side):
            """A profile's instructions on the request path and on the
            flushing side."""
            return (f"request path {total - flush_side:,.0f}, flushing "
                    f"side {flush_side:,.0f}")

        def paired(r):
            """The spread of the paired runs behind an added count."""
            return (f"median of {len(r['reps'])} paired runs: "
                    f"{r['added_min']:,.0f}..{r['added_max']:,.0f}")

        def profile_rows():
            """b4+, b4u, b10: the b4 profile again with features on."""
            for x in b.get("profile_extra", []):
                rows.append(("b4+", "b4 with more directives",
                             f"{x['total']:,.0f}", "-", "info",
                             x["conf"].replace("\n", ", ") + "; "
                             + split(x["total"], x["flush_side"])))
            if "profile_unsum" in b:
                p = b["profile_unsum"]
                rows.append(("b4u", "b4 with counters not summed",
                             f"{p['total']:,.0f}", "-", "info",
                             "StatsdSumCounters Off (batching alone); "
                             + split(p["total"], p["flush_side"])))
            if "profile_sample_buckets" in b:
                p = b["profile_sample_buckets"]
                rows.append(("b10", "b4 with sampling and five buckets",
                             f"{p['total']:,.0f}", "-", "info",
                             "StatsdSampleRate 0.1, StatsdLatencyBuckets 50 "
                             "100 250 500 1000; "
                             + split(p["total"], p["flush_side"])))

        if "added" in b:
            rows.append(("b1", "httpd alone: instructions/request",
                         f"{b['without']['per_request']:,.0f}",
                         "(35-42k ref)", "info",
                         f"apache2 -X, cachegrind, N={b['n1']}/{b['n2']}"))
            rows.append(("b2", "httpd + module: instructions/request",
                         f"{b['with']['per_request']:,.0f}", "-", "info",
                         "default config"))
            rows.append(("b3", "module: added instr/request, all threads",
                         f"{b['added']:,.0f}", "-", "info",
                         "(with - without), " + paired(b)))
            if "profile" in b:
                fs = b["profile"].get("flush_side", 0)
                rows.append(("b3r", "module: added instr/req, request path",
                             f"{b['added'] - fs:,.0f}", "<= 1,000",
                             verdict(b["added"] - fs <= T_INSTR),
                             f"b3 less b4's flushing side ({fs:,.0f}: the "
                             f"flusher thread, the watchdog's flushes)"))
                p = b["profile"]
                rows.append(("b4", "module: callgrind-attributed instr/req",
                             f"{p['total']:,.0f}", "-", "info",
                             "own functions + their callees, see below; "
                             + split(p["total"], p.get("flush_side", 0))
                             + " (summing, packing, sending)"))
            if "profile_tags" in b:
                p = b["profile_tags"]
                rows.append(("b5", "b4 with tag mode and two tags",
                             f"{p['total']:,.0f}", "-", "info",
                             "StatsdTagFormat dogstatsd, StatsdTagMode On, "
                             "2 x StatsdTag; "
                             + split(p["total"], p["flush_side"])))
            if "profile_note" in b:
                p = b["profile_note"]
                rows.append(("b4n", "b4 with the statsd notes made",
                             f"{p['total']:,.0f}", "-",
                             "info", "StatsdNote On, as when a log format "
                             "names %{statsd}n; "
                             + split(p["total"], p["flush_side"])))
            profile_rows()
            deep = b.get("deep") or {}
            if "added" in deep:
                where = f"{deep['path']}, {deep['mpm']} MPM"
                rows.append(("b6", f"httpd alone, {deep['path']}: instr/req",
                             f"{deep['without']['per_request']:,.0f}", "-",
                             "info", f"directory index (mod_dir), "
                             f"{deep['mpm']} MPM, N={deep['n1']}/"
                             f"{deep['n2']}"))
                rows.append(("b7", f"httpd + module, {deep['path']}",
                             f"{deep['with']['per_request']:,.0f}", "-",
                             "info", "default config"))
                rows.append(("b8", f"module: added instr/req, {deep['path']}",
                             f"{deep['added']:,.0f}", "-", "info",
                             f"all threads; {where}; " + paired(deep)))
                if "profile" in deep:
                    fs = deep["profile"].get("flush_side", 0)
                    rows.append(("b8r", "b8 on the request path",
                                 f"{deep['added'] - fs:,.0f}", "<= 1,000",
                                 verdict(deep["added"] - fs <= T_INSTR),
                                 f"b8 less b9's flushing side ({fs:,.0f})"))
                    rows.append(("b9", f"b4 on {deep['path']}",
                                 f"{deep['profile']['total']:,.0f}", "-",
                                 "info", f"{where}; "
                                 + split(deep["profile"]["total"],
                                         deep["profile"]["flush_side"])))
                if "profile_note" in deep:
                    p = deep["profile_note"]
                    rows.append(("b9n", "b9 with the statsd notes made",
                                 f"{p['total']:,.0f}",
                                 "-", "info", "StatsdNote On, as when a log "
                                 "format names %{statsd}n; "
                                 + split(p["total"], p["flush_side"])))
        elif "profile" in b:
            rows.append(("b4", "module: callgrind-attributed instr/req",
                         f"{b['profile']['total']:,.0f}", "-", "info",
                         "own functions + their callees, see below"))
            profile_rows()
        else:
            rows.append(("b3", "module: added instructions/request",
                         "not run", "<= 1,000", "n/a", ""))
        c = R.get("c") or {}
        if "on" in c:
            on = c["on"]
            rows.append(("c1", "datagrams/request, batching on (default)",
                         f"{on['dgram_per_req']:.3f}", "<= 0.15",
                         verdict(on["dgram_per_req"] <= T_DGRAM_BATCH),
                         f"{on['datagrams']} datagrams / {on['requests']} "
                         f"requests"))
            rows.append(("c2", "samples received/expected, batching on",
                         f"{on['lines_ratio']:.3f}", "1.000",
                         verdict(on["samples"] == on["expected_lines"]
                                 and on["bad_lines"] == 0),
                         f"{on['samples']}/{on['expected_lines']} (a summed "
                         f"counter K:n|c counts n) in {on['lines']} lines"))
        else:
            why = ("module has no StatsdFlushInterval" if self.batching is False
                   else "not run")
            rows.append(("c1", "datagrams/request, batching on (default)",
                         "n/a", "<= 0.15", "n/a", why))
            rows.append(("c2", "lines received/expected, batching on",
                         "n/a", "1.000", "n/a", why))
        if "off" in c:
            off = c["off"]
            lbl = ("datagrams/request, batching off (default cfg)"
                   if off.get("default_config") else
                   "datagrams/request, batching off (Flush 0)")
            rows.append(("c3", lbl, f"{off['dgram_per_req']:.3f}", "1.00",
                         verdict(off["datagrams"] == off["requests"]),
                         f"{off['datagrams']} datagrams / {off['requests']} "
                         f"requests" + ("; module sends per request only"
                                        if off.get("default_config") else "")))
            rows.append(("c4", "lines received/expected, batching off",
                         f"{off['lines_ratio']:.3f}", "1.000",
                         verdict(off["samples"] == off["expected_lines"]
                                 and off["bad_lines"] == 0),
                         f"{off['lines']}/{off['expected_lines']}"))
        d = R.get("d") or {}
        if "rps_ratio" in d:
            m, lo, hi = d["rps_ratio"]
            rows.append(("d1", "req/s with/without (median paired ratio)",
                         f"{m:.3f} ({lo:.3f}-{hi:.3f})", ">= 0.97",
                         verdict(m >= T_RPS_RATIO),
                         f"{len(d['rounds'])} pairs "
                         f"({self.args.order.upper()}), wrk -t1 "
                         f"-c{self.args.conns}"
                         f" -d{self.args.round_seconds}s; "
                         f"{d['rps_without']:.0f} vs {d['rps_with']:.0f} req/s"))
            m, lo, hi = d["cpu_ratio"]
            rows.append(("d2", "server CPU/request with/without",
                         f"{m:.3f} ({lo:.3f}-{hi:.3f})", "-", "info",
                         f"{d['cpu_without']:.1f} vs {d['cpu_with']:.1f} "
                         f"us/request (utime+stime, all httpd processes)"))
        if "paced" in d:
            p = d["paced"]
            if p["mode"] == "paced":
                how = (f"wrk -c{p['conns']}, {p['delay_ms']} ms pause per "
                       f"response, {self.args.pace_seconds}s")
                verd = "info"
            else:
                how = (f"10k/s is beyond this machine: wrk -t1 -c{p['conns']} "
                       f"unpaced (its max) for {self.args.pace_seconds}s")
                verd = "n/a"
            rows.append(("d3", "10 s run: requests/s achieved",
                         f"{p['rps']:.0f}", "~10,000", verd,
                         f"{how}; {p['logged_requests']} requests logged"))
            rows.append(("d4", "10 s run: samples received/expected",
                         f"{p['ratio']:.3f}", "1.000",
                         verdict(p["samples"] == p["expected_lines"]
                                 and p["bad_lines"] == 0),
                         f"{p['samples']}/{p['expected_lines']} in "
                         f"{p['lines']} lines, "
                         f"{p['datagrams']} datagrams"))

        if R.get("e"):
            rows.extend(receiver_cost.report_rows(R["e"]))

        heads = ("#", "measurement", "measured", "target", "result")
        widths = [max(len(str(r[i])) for r in rows + [heads])
                  for i in range(5)]

        def fmt(r):
            return "  ".join(str(r[i]).ljust(widths[i]) for i in range(5)) \
                + ("  " + r[5] if len(r) > 5 and r[5] else "")

        meta = R["meta"]
        out = []
        out.append(f"mod_statsd bench - {meta.get('date')}  {meta.get('httpd')}"
                   f"  (b) {self.args.b_mpm} MPM, (c)/(d) event MPM  "
                   f"{meta.get('cpus')} CPUs")
        out.append(f"module: {MODULE_SO} (mtime {meta.get('module_mtime')}, "
                   f"sha256 {meta.get('module_sha256')}, git "
                   f"{meta.get('git')}); StatsdFlushInterval "
                   f"{'supported' if meta.get('batching_directive') else 'NOT supported (batching rows n/a)'}")
        out.append("")
        out.append(fmt(heads + ("notes",)))
        out.append("  ".join("-" * w for w in widths) + "  -----")
        out.extend(fmt(r) for r in rows)
        out.append("")
        out.extend(self.details())
        text = "\n".join(out) + "\n"
        verdicts = [r[4] for r in rows]
        return text, verdicts

    def details(self):
        R = self.res
        out = []
        a = R.get("a") or {}
        if "class_ns" in a:
            out.append("a) ns/request by class (median; count in the "
                       f"{a['mix']}-request mix): " + ", ".join(
                           f"{k} {v[1]:.0f} ({v[0]})"
                           for k, v in a["class_ns"].items()))
            out.append("   CPU speed reference (dependent-add loop, "
                       "iterations/ns, ~GHz; lower = a slower or shared "
                       "vCPU): " + ", ".join(
                           f"cpu{r['cpu']} {r.get('speed_ref', 0):.2f}"
                           for r in a["runs"]))
        b = R.get("b") or {}
        for key, title, prof_b in (
                ("profile", "", b),
                ("deep", f" on {(b.get('deep') or {}).get('path')} (b9)",
                 b.get("deep") or {})):
            p = prof_b.get("profile") if key == "deep" else b.get(key)
            if not p:
                continue
            out.append("")
            out.append(f"b) callgrind, module's instructions per request"
                       f"{title} (N2-N1 difference / "
                       f"{prof_b['n2'] - prof_b['n1']}):")
            out.append("   module functions (self):")
            for k, v in sorted(p["own"].items(), key=lambda kv: -kv[1])[:15]:
                out.append(f"     {v:8,.0f}  {k}")
            out.append("   called outside the module (inclusive):")
            for k, v in sorted(p["ext"].items(), key=lambda kv: -kv[1])[:15]:
                out.append(f"     {v:8,.0f}  {k}")
            for k, v in p["passed_through"].items():
                out.append(f"   (not counted: {v:,.0f} in {k}: httpd's own "
                           f"filter chain behind the module's output filter)")
            if "added" in prof_b:
                out.append(f"   total attributed {p['total']:,.0f} vs "
                           f"cachegrind difference {prof_b['added']:,.0f} "
                           f"(the rest: hook/filter dispatch and pool/table "
                           f"effects inside httpd)")
            for x in (b.get("profile_extra", []) if key == "profile" else []):
                out.append(f"   b4+ with {x['conf']!r}: total {x['total']:,.0f}")
                for k, v in sorted(list(x["own"].items()) + list(x["ext"].items()),
                                   key=lambda kv: -kv[1])[:8]:
                    out.append(f"     {v:8,.0f}  {k}")
        if "with" in b and "datagrams" in b["with"]:
            out.append(f"   valgrind runs, with module: receiver got "
                       f"{b['with']['datagrams']} datagrams, "
                       f"{b['with']['lines']} lines for "
                       f"{b['n1'] + b['n2']} requests")
        c = R.get("c") or {}
        for k in ("on", "off"):
            if k in c:
                r = c[k]
                out.append(f"c) batching {k}: {r['requests']} requests "
                           f"({r['requests'] / r['seconds']:.0f} req/s, "
                           f"{self.args.c_conns} keep-alive connections), "
                           f"statuses {r['statuses']}, max datagram "
                           f"{r['max_datagram']} B, before stop "
                           f"{r['datagrams_before_stop']} datagrams/"
                           f"{r['lines_before_stop']} lines, receiver "
                           f"kernel drops {r['kernel_drops']}, bad lines "
                           f"{r['bad_lines']} {r['bad_samples'][:2]}, "
                           f"lines outside requests {r['other_lines']} "
                           f"{r['other_names']} (not counted above)")
        d = R.get("d") or {}
        if "rounds" in d:
            out.append(f"d) CPU us/request, median: user {d['user_without']:.1f}"
                       f" -> {d['user_with']:.1f}, system "
                       f"{d['sys_without']:.1f} -> {d['sys_with']:.1f} "
                       f"(without -> with; 1 tick = {1e6 / CLK_TCK:.0f} us "
                       f"per {self.args.round_seconds}s round)")
            out.append(f"d) CPU used by other processes during the rounds: "
                       f"median {d['others_pct'][0]:.0f}%, max "
                       f"{d['others_pct'][1]:.0f}% of the machine; steal "
                       f"median {d['steal_pct'][0]:.0f}%, max "
                       f"{d['steal_pct'][1]:.0f}%")
            q = d.get("rps_ratio_quiet")
            if q:
                out.append(f"d) req/s ratio over the {q[3]} pairs where "
                           f"others' CPU stayed <= {QUIET_PCT:.0f}%: median "
                           f"{q[0]:.3f} ({q[1]:.3f}-{q[2]:.3f})")
            out.append(f"d) rounds, order {self.args.order.upper()} "
                       f"(without | with): req/s, CPU us/request, others' "
                       f"CPU %")
            for i, (x, y) in enumerate(d["rounds"]):
                first = ("B" if self.args.order == "abba" and i % 2 == 1
                         else "A")
                out.append(f"   {i + 1:2d} {first}-first: {x['rps']:7.0f} "
                           f"{x['cpu_us_per_req']:6.1f} {x['others_pct']:3.0f}%"
                           f" | {y['rps']:7.0f} {y['cpu_us_per_req']:6.1f} "
                           f"{y['others_pct']:3.0f}%   ratio "
                           f"{y['rps'] / x['rps']:.3f}")
            if d.get("errors"):
                out.append(f"   non-2xx responses: {d['errors']}")
        if "paced" in d:
            p = d["paced"]
            out.append(f"d) 10 s run ({p['mode']}): wrk counted "
                       f"{p['wrk_requests']} responses"
                       + (f" (+ a 2 s probe at {p['probe_rps']:.0f} req/s)"
                          if p["probe_rps"] else "")
                       + f", httpd's access log {p['logged_requests']} "
                       f"requests {p['statuses']} (expected lines come from "
                       f"it); receiver kernel drops {p['kernel_drops']}, "
                       f"lines outside requests {p['other_lines']}")
        meta = R["meta"]
        out.append("")
        for k, (busy, waited) in sorted(meta.get("quiet", {}).items()):
            out.append(f"machine before ({k}): {busy:.0f}% busy after waiting "
                       f"{waited:.0f}s (the bench waits up to "
                       f"{self.args.quiet_wait}s for <= {QUIET_PCT:.0f}%)")
        out.append(f"machine: load average {meta.get('loadavg_start')} at "
                   f"start, {meta.get('loadavg_end')} at end; apache2 "
                   f"processes of others: {meta.get('foreign_httpd_at_start')}"
                   f" at start, {meta.get('foreign_httpd_at_end')} at end; "
                   f"bench took {meta.get('seconds', 0):.0f}s")
        if R.get("e"):
            out.extend(receiver_cost.details(R["e"]))
        out.append("caveats: (b) counts user-space instructions only: the "
                   "kernel's share (sendto, UDP over loopback) is not in "
                   "them, it shows in d2's system time. (b) runs the worker "
                   "MPM: under event, how a keep-alive connection is handed "
                   "between listener and worker depends on timing and one "
                   "pair of runs drifts by a few hundred instructions/"
                   "request; under worker by up to ~200, so b1-b3 are "
                   "medians of paired runs (spread in b3's notes); b4 "
                   "counts only the module's own functions and their "
                   "callees and repeats within a few instructions. "
                   "httpd alone is "
                   "below the 35-42k reference because this config is minimal (4 "
                   "modules, no access log). b6-b9 repeat b1-b4 on a "
                   "directory index three segments deep under the event "
                   "MPM (b8 is a median of paired runs for the same "
                   "reason). "
                   "(a1) and (d) are timings on a "
                   "shared 2-CPU VM: wrk and httpd compete for the same "
                   "CPUs, other jobs come and go (see others' CPU above; "
                   "that figure also holds ~10-15% of kernel threads and "
                   "accounting slack on an idle machine).")
        for n in self.notes:
            out.append("note: " + n)
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--only", default="abcde",
                    help="sections to run, e.g. 'ab' (default abcde)")
    ap.add_argument("--quick", action="store_true",
                    help="smaller counts, for trying the bench out")
    ap.add_argument("--n1", type=int, default=2000)
    ap.add_argument("--n2", type=int, default=6000)
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--b-mpm", default="worker",
                    choices=("worker", "event"),
                    help="MPM of the one-process runs of (b)")
    ap.add_argument("--b4-extra", action="append", default=[],
                    help="also profile b4 with these directives ('; ' "
                         "between them); repeatable, one row b4+ each")
    ap.add_argument("--b-reps", type=int, default=5,
                    help="paired cachegrind runs of (b); the median is shown")
    ap.add_argument("--vg-timeout", type=int, default=300)
    ap.add_argument("--a-runs", type=int, default=2,
                    help="microbenchmark runs per vCPU")
    ap.add_argument("--a-batches", type=int, default=20000)
    ap.add_argument("--c-requests", type=int, default=20000)
    ap.add_argument("--c-conns", type=int, default=4)
    ap.add_argument("--e-requests", type=int, default=30000,
                    help="requests of each capture of (e)")
    ap.add_argument("--e-reps", type=int, default=5,
                    help="replays of each capture into statsd (e)")
    ap.add_argument("--pairs", type=int, default=15)
    ap.add_argument("--quiet-wait", type=int, default=60,
                    help="seconds to wait at most for an idle machine "
                         "before the timed sections (a, d)")
    ap.add_argument("--order", choices=("abba", "abab"), default="abba",
                    help="order of the rounds in successive pairs")
    ap.add_argument("--round-seconds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--pace-seconds", type=int, default=10)
    ap.add_argument("--pace-conns", type=int, default=0,
                    help="wrk connections of the paced run (0: calibrate)")
    ap.add_argument("--pace-rate", type=int, default=10000)
    ap.add_argument("--pace-delay-ms", type=int, default=2)
    args = ap.parse_args()
    if args.receiver:
        receiver_main(args.sink)
        return 0
    if args.quick:
        args.n1, args.n2 = 200, 600
        args.a_runs, args.a_batches = 1, 3000
        args.c_requests = 4000
        args.pairs, args.round_seconds = 2, 1
        args.pace_seconds = 3
        args.e_requests, args.e_reps = 5000, 2
        args.quiet_wait = 5
    if os.geteuid() != 0:
        print("bench: run as root (httpd binds, then switches to "
              f"{RUN_USER})", file=sys.stderr)
        return 2
    if not MODULE_SO.is_file():
        print(f"bench: {MODULE_SO} missing: run make", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for old in list(OUT.glob("cachegrind.*")) + list(OUT.glob("callgrind.*")):
        old.unlink()                    # profiles of an earlier run
    t0 = time.monotonic()
    bench = Bench(args)
    failed = None
    try:
        bench.setup()
        for sec in "abcde":
            if sec in args.only:
                try:
                    getattr(bench, f"section_{sec}")()
                except (BenchError, HttpdError) as e:
                    failed = failed or e
                    bench.notes.append(f"section {sec} failed: {e}")
                    log(f"section {sec} FAILED: {e}")
    finally:
        meta = bench.res["meta"]
        meta["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
        meta["foreign_httpd_at_end"] = bench.foreign_httpds()
        meta["seconds"] = time.monotonic() - t0
        bench.close()
    text, verdicts = bench.report()
    print(text, end="")
    (OUT / "results.txt").write_text(text)
    (OUT / "results.json").write_text(json.dumps(bench.res, indent=1,
                                                 default=str))
    print(f"(written to {OUT / 'results.txt'}; raw figures in results.json, "
          f"profiles in {OUT})")
    if failed:
        return 1
    if os.environ.get("BENCH_STRICT") and "MISS" in verdicts:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
