#!/usr/bin/python3
"""make demo: mod_statsd end to end, on loopback only, in about 15-30 s.

  1. statsd: the real Etsy statsd 0.9.0 from npm (installed once into
     build/statsd), or, when node/npm/the install is missing, demo/receiver.py,
     a stdlib stand-in that parses the same lines and computes the same
     aggregates.  DEMO_RECEIVER=builtin forces the stand-in, =statsd forbids it.
  2. A throwaway apache2 (event MPM) on a free 127.0.0.1 port with the module
     and two name-based vhosts, shop.example (StatsdPrefix shop) and
     blog.example (StatsdPrefix blog): static files, a 301, a 403, 404s, a
     slow Lua page and a Lua page that fails with 500.
  3. A few keep-alive clients send a mix of requests for DEMO_SECONDS (7 s);
     the demo counts what it got back per vhost and status.
  4. Once statsd has every line (asked over its management port), statsd is
     stopped with SIGTERM: statsd then does its final flush, which the demo's
     backend (demo/json_backend.js) writes to a file.  flushInterval is set
     longer than the whole demo, so that one flush holds the entire run and
     upper_95/upper_99 are statsd's percentiles over every request (with a
     2 s interval each flush would have its own percentiles of a slice).
     Counters are summed over all flushes anyway.
  5. One table per service: what was sent, what statsd counted, statsd's
     upper_95/upper_99; then a check that the two agree.

Everything it starts is stopped and its temp dir removed; exit status 0 when
statsd's counts equal what was sent, 1 when they don't, 2 when the demo could
not run.  Only 127.0.0.1 is ever a traffic target.
"""
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "demo"
sys.path.insert(0, str(REPO / "t" / "lib"))     # the test harness

from statsdtest import proc, statsd  # noqa: E402
from statsdtest.httpd import Httpd, HttpdError, module_missing  # noqa: E402
from statsdtest.paths import APACHE2, LOOPBACK  # noqa: E402

TRAFFIC_SECONDS = min(max(float(os.environ.get("DEMO_SECONDS", "7")), 1.0), 30.0)
CLIENTS_PER_VHOST = 2          # keep-alive connections per vhost
RATE_PER_CLIENT = 120          # requests/s per client: a demo, not a benchmark
FLUSH_INTERVAL_MS = 300000     # longer than the demo: the final flush has it all
PERCENTILES = [95, 99]
ARRIVAL_TIMEOUT = 6.0          # s to wait for statsd to have every line

# What each client asks for: (weight, method, path).  Statuses are whatever
# httpd answers; the demo counts them from the responses, not from this list.
TRAFFIC = {
    "shop": {
        "host": "shop.example",
        "requests": [
            (18, "GET", "/"),
            (14, "GET", "/index.html"),
            (14, "GET", "/products.html"),
            (12, "GET", "/static/style.css"),
            (8, "GET", "/static/logo.png"),
            (6, "HEAD", "/index.html"),
            (4, "GET", "/downloads/catalog.pdf"),   # 512 KiB: a bit slower
            (3, "GET", "/api/report"),              # Lua, sleeps 20-120 ms
            (3, "POST", "/api/checkout"),           # Lua, fails: 500
            (4, "GET", "/old-catalog"),             # Redirect 301
            (3, "GET", "/admin/"),                  # Require all denied: 403
            (6, "GET", "/products/discontinued.html"),  # 404
        ],
    },
    "blog": {
        "host": "blog.example",
        "requests": [
            (20, "GET", "/"),
            (15, "GET", "/posts/hello-world.html"),
            (10, "GET", "/posts/statsd-at-scale.html"),
            (8, "GET", "/feed.xml"),
            (8, "GET", "/static/theme.css"),
            (4, "GET", "/api/search"),              # Lua, sleeps 20-120 ms
            (2, "GET", "/api/comments"),            # Lua, fails: 500
            (5, "GET", "/2019/old-post"),           # Redirect 301
            (4, "GET", "/drafts/"),                 # 403
            (12, "GET", "/wp-login.php"),           # scanners: 404
            (5, "GET", "/.env"),                    # 404
            (7, "GET", "/posts/missing.html"),      # 404
        ],
    },
}


class DemoError(Exception):
    """The demo could not run (exit status 2)."""


def say(msg=""):
    print(msg, flush=True)


udp_errors = proc.udp_rcvbuf_errors


# --------------------------------------------------------------------------
# The receiver: real statsd or demo/receiver.py, same config, same interface
# --------------------------------------------------------------------------

def install_statsd():
    """Install statsd 0.9.0 with npm if needed; return (node, why-not)."""
    try:
        return statsd.install(timeout=120, say=say), None
    except statsd.StatsdError as e:
        return None, " | ".join(str(e).strip().splitlines()[-3:])


class Receiver:
    """statsd (or the stand-in) as a child process, with its management port."""

    def __init__(self, tmp, builtin, node=None):
        self.tmp = tmp
        self.builtin = builtin
        self.port = proc.free_udp_port()
        self.mgmt_port = proc.free_tcp_port()
        self.flush_file = tmp / "flushes.jsonl"
        self.log = tmp / "statsd.log"
        config = {
            "address": LOOPBACK, "port": self.port,
            "mgmt_address": LOOPBACK, "mgmt_port": self.mgmt_port,
            "flushInterval": FLUSH_INTERVAL_MS,
            "percentThreshold": PERCENTILES,
            "backends": [str(DEMO / "json_backend.js")],
            "jsonBackendFile": str(self.flush_file),
            "automaticConfigReload": False,
            "maxLifetimeSeconds": 300,      # the stand-in's own safety stop
        }
        # statsd eval()s its config file as JavaScript: JSON is valid JS.
        conf = tmp / "statsd-config.js"
        conf.write_text(json.dumps(config, indent=2) + "\n")
        if builtin:
            cmd = [sys.executable, str(DEMO / "receiver.py"), str(conf)]
        else:
            cmd = [node, str(statsd.STATS_JS), str(conf)]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=str(tmp),
                                         start_new_session=True)

    def counters(self):
        """statsd's live counters (since its last flush), via 'counters'."""
        try:
            buf = statsd.mgmt_command(self.mgmt_port, "counters", timeout=2, host=LOOPBACK)
        except OSError:
            return None
        if b"END\n" not in buf:
            return None
        # util.inspect text: { 'shop.responses.good': 12, ... }
        pairs = re.findall(r"'?([A-Za-z0-9_.;=-]+)'?: (-?[0-9.e+]+)", buf.decode())
        return {k: float(v) for k, v in pairs}

    def wait_ready(self, timeout=15):
        """Ready when a probe datagram shows up in the live counters."""
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

        def seen():
            if self.proc.poll() is not None:
                raise DemoError("the receiver exited at start-up: " + self.log_tail())
            probe.sendto(b"demo.ready:1|c", (LOOPBACK, self.port))
            c = self.counters()
            return c is not None and c.get("demo.ready", 0) > 0
        try:
            if not proc.wait_for(seen, timeout, 0.2):
                raise DemoError("the receiver did not come up in %d s: %s"
                                % (timeout, self.log_tail()))
        finally:
            probe.close()

    def stop(self, timeout=10):
        """SIGTERM: statsd does its final flush and exits.  Bounded, KILL after."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def flushes(self):
        """The flush records the backend wrote, and whether it saw the exit."""
        records = []
        if self.flush_file.exists():
            for line in self.flush_file.read_text().splitlines():
                if line.strip():
                    records.append(json.loads(line))
        flushes = [r for r in records if r.get("event") == "flush"]
        return flushes, any(r.get("event") == "exit" for r in records)

    def log_tail(self, n=5):
        try:
            return " | ".join(self.log.read_text().strip().splitlines()[-n:])
        except OSError:
            return "(no log)"


# --------------------------------------------------------------------------
# The throwaway httpd
# --------------------------------------------------------------------------

LUA_APP = """\
-- Demo application pages for mod_lua.
function slow(r)            -- a page that takes 20-120 ms
  r.usleep(math.random(20000, 120000))
  r.content_type = "text/plain"
  r:puts("report ready\\n")
  return apache2.OK
end
function fail(r)            -- a page whose backend is broken
  return 500
end
"""

# After the harness's head (ServerRoot, Listen, User, modules, ...): the
# demo's own mime.types (no /etc/mime.types needed) and its two vhosts.
DEMO_MODULES = ("authz_core", "mime", "dir", "alias", "lua")
HTTPD_CONF = """\
ServerName localhost
TypesConfig {tmp}/mime.types
DirectoryIndex index.html
KeepAlive On
MaxKeepAliveRequests 0
StartServers 2

# Server level: measure everything, send to the demo's statsd.
Statsd On
StatsdHost {addr}
StatsdPort {statsd_port}

<Directory />
    Require all denied
</Directory>

<VirtualHost {addr}:{port}>
    ServerName shop.example
    StatsdPrefix shop
    DocumentRoot {tmp}/shop
    <Directory {tmp}/shop>
        Require all granted
    </Directory>
    <Location /admin>
        Require all denied
    </Location>
    Redirect 301 /old-catalog /products.html
    LuaMapHandler ^/api/report$ {tmp}/app.lua slow
    LuaMapHandler ^/api/checkout$ {tmp}/app.lua fail
</VirtualHost>

<VirtualHost {addr}:{port}>
    ServerName blog.example
    StatsdPrefix blog
    DocumentRoot {tmp}/blog
    <Directory {tmp}/blog>
        Require all granted
    </Directory>
    <Location /drafts>
        Require all denied
    </Location>
    Redirect 301 /2019/old-post /posts/hello-world.html
    LuaMapHandler ^/api/search$ {tmp}/app.lua slow
    LuaMapHandler ^/api/comments$ {tmp}/app.lua fail
</VirtualHost>
"""


def page(title):
    return "<!doctype html><title>%s</title><h1>%s</h1>\n" % (title, title)


def make_site(tmp):
    files = {
        "shop/index.html": page("Shop"),
        "shop/products.html": page("Products") + "<p>%s</p>\n" % ("item " * 400),
        "shop/static/style.css": "body { font-family: sans-serif; }\n" * 20,
        "shop/static/logo.png": "\x89PNG demo\n" * 200,
        "shop/downloads/catalog.pdf": "%PDF-1.4 demo catalog\n" * 24000,  # ~512 KiB
        "shop/admin/index.html": page("Admin"),
        "blog/index.html": page("Blog"),
        "blog/posts/hello-world.html": page("Hello world") + "<p>%s</p>\n" % ("word " * 600),
        "blog/posts/statsd-at-scale.html": page("statsd at scale"),
        "blog/feed.xml": "<?xml version='1.0'?><rss><channel/></rss>\n",
        "blog/static/theme.css": "h1 { color: teal; }\n" * 30,
        "blog/drafts/index.html": page("Draft"),
        "app.lua": LUA_APP,
        # Our own, so the demo needs no /etc/mime.types.
        "mime.types": "text/html html\ntext/css css\nimage/png png\n"
                      "application/pdf pdf\napplication/xml xml\n",
    }
    for name, text in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp / "run").mkdir(exist_ok=True)
    # httpd's children run as www-data: make the tree readable for them.
    for root, dirs, names in os.walk(tmp):
        os.chmod(root, 0o755)
        for n in names:
            os.chmod(os.path.join(root, n), 0o644)


def demo_httpd(tmp, statsd_port):
    """The harness's Httpd (event MPM) with the demo's site and vhosts."""
    os.chmod(tmp, 0o755)            # httpd's children (www-data) read the site
    h = Httpd("demo", modules=DEMO_MODULES, default_files=False, workdir=str(tmp),
              server_conf=lambda h: HTTPD_CONF.format(
                  tmp=h.dir, addr=LOOPBACK, port=h.port, statsd_port=statsd_port))
    make_site(h.dir)
    return h


# --------------------------------------------------------------------------
# Traffic
# --------------------------------------------------------------------------

class Tally:
    """What the clients got back, per service and status (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.status = {svc: {} for svc in TRAFFIC}
        self.errors = []

    def add(self, svc, status):
        with self.lock:
            self.status[svc][status] = self.status[svc].get(status, 0) + 1

    def error(self, svc, exc):
        with self.lock:
            self.errors.append("%s: %s" % (svc, exc))

    def classes(self, svc):
        by = self.status[svc]
        n = lambda cond: sum(c for s, c in by.items() if cond(s))
        return {"sent": n(lambda s: True), "good": n(lambda s: s < 400),
                "bad": n(lambda s: s >= 400), "4xx": n(lambda s: 400 <= s < 500),
                "5xx": n(lambda s: s >= 500)}


def client(svc, seed, port, deadline, tally):
    """One keep-alive client: weighted random requests at a steady pace."""
    rnd = random.Random(seed)
    spec = TRAFFIC[svc]
    weights = [w for w, _, _ in spec["requests"]]
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    interval = 1.0 / RATE_PER_CLIENT
    next_at = time.monotonic()
    for _ in range(int(TRAFFIC_SECONDS * RATE_PER_CLIENT * 2) + 10):   # bounded
        now = time.monotonic()
        if now >= deadline:
            break
        if next_at > now:
            time.sleep(next_at - now)
        next_at += interval
        _, method, path = rnd.choices(spec["requests"], weights)[0]
        body = b"cart=42" if method == "POST" else None
        headers = {"Host": spec["host"], "User-Agent": "mod_statsd-demo"}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException) as exc:
            tally.error(svc, "%s %s: %r" % (method, path, exc))
            conn.close()            # http.client reconnects on the next request
            continue
        tally.add(svc, resp.status)
    conn.close()


def drive(port):
    tally = Tally()
    deadline = time.monotonic() + TRAFFIC_SECONDS
    threads = []
    for i, svc in enumerate(sorted(TRAFFIC)):
        for j in range(CLIENTS_PER_VHOST):
            t = threading.Thread(target=client, daemon=True,
                                 args=(svc, 1000 * i + j, port, deadline, tally))
            t.start()
            threads.append(t)
    for t in threads:
        t.join(TRAFFIC_SECONDS + 30)
    if any(t.is_alive() for t in threads):
        raise DemoError("a client did not finish in time")
    return tally


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------

def service_counts(counters, svc):
    """What statsd counted for one service prefix."""
    g = lambda name: counters.get("%s.responses.%s" % (svc, name), 0)
    return {"good": g("good"), "bad": g("bad"), "4xx": g("4xx"), "5xx": g("5xx")}


def is_request_key(key):
    """svc.NAME.METHOD.STATUS: a per-request name (no suffix in this demo)."""
    parts = key.split(".")
    return (parts[0] in TRAFFIC and parts[1] != "responses" and len(parts) >= 4
            and len(parts[-1]) == 3 and parts[-1].isdigit())


def per_status(counters, svc):
    """Per-request counters (the legacy NAME:1|c lines) summed by status."""
    out = {}
    for key, value in counters.items():
        if key.startswith(svc + ".") and is_request_key(key):
            status = int(key.rsplit(".", 1)[1])
            out[status] = out.get(status, 0) + value
    return {s: c for s, c in out.items() if c}


def fmt(n):
    return ("%d" % n) if float(n).is_integer() else ("%.2f" % n)


def report(tally, flushes, arrival_note, rcvbuf_drops):
    # statsd resets counters after each flush: the run's totals are the sums.
    counters = {}
    for f in flushes:
        for key, value in f.get("counters", {}).items():
            counters[key] = counters.get(key, 0) + value
    # Timer: the flush with the most samples (with the long flushInterval
    # there is exactly one, holding every request).
    timers, timer_flushes = {}, {}
    for f in flushes:
        for key, data in f.get("timer_data", {}).items():
            if data.get("count", 0) > timers.get(key, {}).get("count", 0):
                timers[key] = data
            if data.get("count", 0):
                timer_flushes[key] = timer_flushes.get(key, 0) + 1

    # A few names as statsd received them, one line per service.
    names = sorted(k for k in counters if is_request_key(k))
    others = sorted(k for k in counters if not is_request_key(k) and
                    not k.startswith(("statsd.", "demo.")) and ".responses." not in k)
    say("metric names: %d distinct request keys, e.g." % len(names))
    for svc in TRAFFIC:
        mine = [k for k in names if k.startswith(svc + ".")]
        shown = []
        for status in ("200", "301", "404", "500"):
            hit = [k for k in mine if k.endswith("." + status)]
            if hit:
                shown.append(max(hit, key=lambda k: counters[k]))
        say("  " + "  ".join(shown))
    say("  and per service: responses.good/bad/4xx/5xx counters, responses.time timer")
    if others:
        say("  others: " + "  ".join("%s=%s" % (k, fmt(counters[k])) for k in others))
    say()

    head = "%-8s %6s %6s %5s %5s %5s %12s %12s" % (
        "service", "sent", "good", "bad", "4xx", "5xx", "upper_95 ms", "upper_99 ms")
    say(head)
    say("-" * len(head))
    problems = []
    for svc in TRAFFIC:
        sent = tally.classes(svc)
        got = service_counts(counters, svc)
        t = timers.get(svc + ".responses.time", {})
        up95 = t.get("upper_95")
        up99 = t.get("upper_99")
        say("%-8s %6d %6s %5s %5s %5s %12s %12s" % (
            svc, sent["sent"], fmt(got["good"]), fmt(got["bad"]), fmt(got["4xx"]),
            fmt(got["5xx"]), "-" if up95 is None else "%.3f" % up95,
            "-" if up99 is None else "%.3f" % up99))
        for cls in ("good", "bad", "4xx", "5xx"):
            if got[cls] != sent[cls]:
                problems.append("%s %s: statsd %s, sent %d" % (svc, cls, fmt(got[cls]), sent[cls]))
        if t.get("count", 0) != sent["sent"]:
            problems.append("%s responses.time: statsd has %s samples, sent %d"
                            % (svc, fmt(t.get("count", 0)), sent["sent"]))
        if timer_flushes.get(svc + ".responses.time", 0) > 1:
            problems.append("%s: the timer was split over %d flushes"
                            % (svc, timer_flushes[svc + ".responses.time"]))
        statuses = per_status(counters, svc)
        if statuses != tally.status[svc]:
            show = lambda d: " ".join("%d:%s" % (s, fmt(c)) for s, c in sorted(d.items()))
            problems.append("%s per-status keys: statsd %s; sent %s"
                            % (svc, show(statuses), show(tally.status[svc])))
    say("-" * len(head))

    bad_lines = counters.get("statsd.bad_lines_seen", 0)
    if bad_lines:
        problems.append("statsd rejected %s lines (statsd.bad_lines_seen)" % fmt(bad_lines))
    if tally.errors:
        problems.append("%d requests failed at the client, e.g. %s"
                        % (len(tally.errors), tally.errors[0]))
    total = sum(tally.classes(s)["sent"] for s in TRAFFIC)
    if problems:
        say("CHECK FAILED: statsd's counts differ from what the demo sent:")
        for p in problems:
            say("  - " + p)
        if rcvbuf_drops:
            say("  (the kernel dropped %d UDP datagrams for full receive buffers)" % rcvbuf_drops)
        say("  " + arrival_note)
        return False
    say("check ok: statsd counted all %d requests exactly as sent (good, bad, 4xx, 5xx," % total)
    say("          per-status keys, timer samples); bad_lines_seen 0; %s" % arrival_note)
    return True


# --------------------------------------------------------------------------

def choose_receiver():
    """Return (builtin?, node, description)."""
    want = os.environ.get("DEMO_RECEIVER", "auto").lower()
    if want not in ("auto", "statsd", "builtin"):
        raise DemoError("DEMO_RECEIVER must be auto, statsd or builtin, not %r" % want)
    builtin_desc = "demo/receiver.py (stand-in computing statsd 0.9.0's aggregates)"
    if want == "builtin":
        return True, None, builtin_desc + ", as DEMO_RECEIVER=builtin asks"
    node, why = install_statsd()
    if node:
        ver = subprocess.run([node, "--version"], stdout=subprocess.PIPE, text=True,
                             timeout=10).stdout.strip()
        return False, node, "Etsy statsd %s (npm), node %s" % (statsd.VERSION, ver)
    if want == "statsd":
        raise DemoError("the real statsd is not available: " + why)
    return True, None, builtin_desc + ": the real statsd is not available (%s)" % why


def main():
    if module_missing():
        raise DemoError(module_missing())
    if not os.path.exists(APACHE2):
        raise DemoError("%s is missing: apt-get install apache2" % APACHE2)
    builtin, node, desc = choose_receiver()

    tmp = Path(tempfile.mkdtemp(prefix="mod_statsd-demo-"))
    receiver = httpd = None
    try:
        receiver = Receiver(tmp, builtin, node)
        receiver.wait_ready()
        httpd = demo_httpd(tmp, receiver.port)
        try:
            httpd.start()
        except HttpdError as e:
            raise DemoError(str(e))
        say("receiver: " + desc)
        say("          udp %s:%d, flushInterval %d s (> the demo: one final flush on "
            "SIGTERM)" % (LOOPBACK, receiver.port, FLUSH_INTERVAL_MS // 1000))
        say("httpd:    %s:%d, event MPM, vhosts shop.example (StatsdPrefix shop), "
            "blog.example (StatsdPrefix blog)" % (LOOPBACK, httpd.port))
        say("traffic:  %.0f s, %d keep-alive clients per vhost, ~%d requests/s each ..."
            % (TRAFFIC_SECONDS, CLIENTS_PER_VHOST, RATE_PER_CLIENT))

        drops_before = udp_errors()
        tally = drive(httpd.port)
        t_done = time.monotonic()

        # Wait until statsd's live counters hold every response (the module
        # may batch lines for up to StatsdFlushInterval before sending).
        want = {s: tally.classes(s) for s in TRAFFIC}

        def arrived():
            c = receiver.counters() or {}
            return all(c.get(s + ".responses.good", 0) + c.get(s + ".responses.bad", 0)
                       >= want[s]["sent"] for s in TRAFFIC)
        if proc.wait_for(arrived, ARRIVAL_TIMEOUT, 0.05):
            arrival = "lines all in %.2f s after the last response" % (time.monotonic() - t_done)
        else:
            arrival = "NOT all lines had arrived %.0f s after the last response" % ARRIVAL_TIMEOUT
        rcvbuf_drops = udp_errors() - drops_before

        receiver.stop()                 # the final flush: the whole run
        flushes, exited = receiver.flushes()
        if not exited:
            raise DemoError("the receiver did not write its final flush: " + receiver.log_tail())
        say()
        ok = report(tally, flushes, arrival, rcvbuf_drops)
        return 0 if ok else 1
    finally:
        if httpd:
            httpd.stop()
        if receiver:
            receiver.stop()
        if os.environ.get("DEMO_KEEP"):
            say("kept %s (DEMO_KEEP)" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DemoError as exc:
        print("demo failed: %s" % exc, file=sys.stderr, flush=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
