"""The other receivers of the interop tests and the dashboard: collectd
with its statsd plugin, and carbon-cache writing whisper files; the
throwaway apache2 they measure (static files and a CGI that waits and
answers with a chosen status, an access log of what the module noted);
the carbon, statsd and graphite-web chain started as one, and the work
directory it all runs in; and statsd's percentile arithmetic, to compare
against."""

import math
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from . import graphite_web, proc
from .httpd import Httpd
from .statsd import Statsd

INTEROP_MODULES = ("authz_core", "mime", "dir", "alias", "cgid")


def js_round(x):
    """JavaScript's Math.round (halves go up), as statsd uses it."""
    return math.floor(x + 0.5)


def statsd_upper(values, pct):
    """statsd 0.9 upper_<pct> of one flush's timer values
    (lib/process_metrics.js)."""
    v = sorted(values)
    if len(v) == 1:
        return v[0]
    n = js_round(pct / 100.0 * len(v))
    return v[n - 1] if n > 0 else None


def nearest_rank(values, pct):
    """The nearest-rank percentile: the smallest value with at least pct% of
    the values at or below it."""
    v = sorted(values)
    return v[max(0, math.ceil(pct / 100.0 * len(v)) - 1)]



CGI_WORK = r"""#!/bin/sh
# /cgi-bin/work?ms=N&status=S : wait N milliseconds, answer with status S
ms=0
status=200
for kv in $(printf '%s' "$QUERY_STRING" | tr '&' ' '); do
    case "$kv" in
        ms=[0-9]*) ms=${kv#ms=} ;;
        status=[1-5][0-9][0-9]) status=${kv#status=} ;;
    esac
done
case "$ms" in *[!0-9]*) ms=0 ;; esac
[ "$ms" -gt 0 ] && sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
printf 'Status: %s\r\nContent-Type: text/plain\r\n\r\nwaited %s ms\n' "$status" "$ms"
"""




def _server_conf(h):
    return f"""Mutex file:{h.run} default
ScriptSock "{h.run}/cgisock"
LogFormat "%{{end:usec}}t %>s %U %{{statsd}}n" interop
CustomLog "{h.logs}/access.log" interop
StartServers 1
ServerLimit 2
ThreadsPerChild 8
MaxRequestWorkers 16
MinSpareThreads 4
MaxSpareThreads 16
KeepAliveTimeout 5
DocumentRoot "{h.docroot}"
DirectoryIndex index.html
<Directory />
    Require all denied
</Directory>
<Directory "{h.docroot}">
    Require all granted
</Directory>
ScriptAlias /cgi-bin/ "{h.dir}/cgi-bin/"
<Directory "{h.dir}/cgi-bin">
    Require all granted
</Directory>
"""


def interop_httpd(root, statsd_port, prefix, flush_ms=None, extra="",
                  modules=()):
    """An Httpd (event MPM) under root measuring everything to statsd_port:
    static files under /, /cgi-bin/work (mod_cgid) for slow or failing
    requests, and `modules` loaded besides; its access log has one line
    per request:
    END_USEC STATUS PATH NOTE  (NOTE = the module's `statsd` note)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    flush = "" if flush_ms is None else f"StatsdFlushInterval {flush_ms}\n"
    h = Httpd("interop", modules=INTEROP_MODULES + tuple(modules),
              workdir=str(root),
              default_files=False, server_conf=_server_conf,
              files={"index.html": "<p>interop</p>\n", "hello.txt": "hello\n"},
              conf=(f"{flush}Statsd On\nStatsdHost 127.0.0.1\n"
                    f"StatsdPort {statsd_port}\nStatsdPrefix {prefix}\n{extra}"))
    h.add_file("work", CGI_WORK, root=h.dir / "cgi-bin", mode=0o755)
    return h


def worker_gauges(seconds):
    """Config asking for the module's worker gauges every `seconds`; a
    module without them skips it (<IfDirective>)."""
    return (f"<IfDirective StatsdScoreboardInterval>\n"
            f"    StatsdScoreboardInterval {seconds}\n</IfDirective>\n")


def access_records(h):
    """[{end, status, path, key, duration, bytes, legacy}] from the
    interop access log, in the order requests were logged."""
    out = []
    path = h.logs / "access.log"
    if not path.exists():
        return out
    for ln in path.read_text().splitlines():
        end, status, path_, note = ln.split(" ", 3)
        rec = {"end": int(end) / 1e6, "status": int(status),
               "path": path_, "note": note}
        parts = note.split(" ")
        if len(parts) == 4:
            rec.update(key=parts[0], duration=float(parts[1]),
                       duration_text=parts[1], bytes=int(parts[2]),
                       legacy=parts[3])
        out.append(rec)
    return out


class Collectd:
    """collectd in the foreground: statsd plugin on 127.0.0.1:<port>,
    csv writer (one file per value, `epoch,value` lines)."""

    def __init__(self, root, interval=1, percentiles=(95, 99)):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = proc.free_udp_port()
        self.interval = interval
        self.csv = self.root / "csv"
        self.conf = self.root / "collectd.conf"
        self.logfile = self.root / "collectd.log"
        pct = "\n".join(f"  TimerPercentile {p}" for p in percentiles)
        self.conf.write_text(f"""# written by the mod_statsd test harness
BaseDir "{self.root}"
PIDFile "{self.root}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Hostname "interop"
FQDNLookup false
Interval {interval}
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{self.logfile}"
</Plugin>
LoadPlugin statsd
<Plugin statsd>
  Host "127.0.0.1"
  Port "{self.port}"
{pct}
  TimerCount true
  TimerSum true
  TimerLower true
  TimerUpper true
  CounterSum true
  DeleteTimers true
  DeleteCounters true
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "{self.csv}"
  StoreRates false
</Plugin>
""")
        self.proc = None

    def start(self):
        self.out = open(self.root / "collectd.out", "w")
        self.proc = subprocess.Popen(["/usr/sbin/collectd", "-f", "-C",
                                      str(self.conf)],
                                     stdout=self.out,
                                     stderr=subprocess.STDOUT)
        ok = proc.wait_for(lambda: self.proc.poll() is not None or
                      "Initialization complete" in self.log_text(), 20)
        if self.proc.poll() is not None or not ok:
            raise RuntimeError("collectd did not start:\n" + self.log_text())
        return self

    def log_text(self):
        try:
            return self.logfile.read_text()
        except OSError:
            return ""

    def stop(self):
        proc.stop_popen(self.proc)
        if getattr(self, "out", None):
            self.out.close()

    def series(self, type_, name):
        """[(epoch, value)] of <type>-<name> over all csv files (days)."""
        out = []
        d = self.csv / "interop" / "statsd"
        for f in sorted(d.glob(f"{type_}-{name}-????-??-??")):
            for ln in f.read_text().splitlines()[1:]:
                t, v = ln.split(",")
                out.append((float(t), float(v)))
        return sorted(out)


class Carbon:
    """carbon-cache in the foreground with a private conf and storage dir;
    line receiver on a free 127.0.0.1 port, pickle receiver off, cache
    query port on 127.0.0.1. Whisper archives: 1 s resolution for 6 h."""

    def __init__(self, root, retentions="1s:6h"):
        self.root = Path(root)
        self.conf_dir = self.root / "conf"
        self.storage = self.root / "storage"
        self.whisper = self.storage / "whisper"
        for d in (self.conf_dir, self.whisper, self.storage / "log"):
            d.mkdir(parents=True, exist_ok=True)
        self.line_port = proc.free_tcp_port()
        self.query_port = proc.free_tcp_port()
        (self.conf_dir / "carbon.conf").write_text(f"""[cache]
STORAGE_DIR = {self.storage}/
LOCAL_DATA_DIR = {self.whisper}/
WHITELISTS_DIR = {self.storage}/lists/
CONF_DIR = {self.conf_dir}/
LOG_DIR = {self.storage}/log/
PID_DIR = {self.storage}/
ENABLE_LOGROTATION = False
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = {self.line_port}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = 0
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = {self.query_port}
LOG_UPDATES = False
LOG_CREATES = False
LOG_CACHE_HITS = False
LOG_CACHE_QUEUE_SORTS = False
LOG_LISTENER_CONN_SUCCESS = False
CACHE_WRITE_STRATEGY = sorted
WHISPER_AUTOFLUSH = True
ENABLE_TAGS = False
CARBON_METRIC_INTERVAL = 0
""")
        (self.conf_dir / "storage-schemas.conf").write_text(f"""[all]
pattern = .*
retentions = {retentions}
""")
        (self.conf_dir / "storage-aggregation.conf").write_text("""[all]
pattern = .*
xFilesFactor = 0
aggregationMethod = average
""")
        self.proc = None

    def start(self):
        self.out = open(self.root / "carbon.out", "w")
        self.proc = subprocess.Popen(
            ["/usr/bin/carbon-cache", f"--config={self.conf_dir}/carbon.conf",
             f"--pidfile={self.root}/carbon.pid", "--nodaemon", "start"],
            stdout=self.out, stderr=subprocess.STDOUT)
        ok = proc.wait_for(lambda: self.proc.poll() is not None or
                      proc.tcp_listening(self.line_port), 30)
        if self.proc.poll() is not None or not ok:
            raise RuntimeError("carbon-cache did not start:\n"
                               + (self.root / "carbon.out").read_text())
        return self

    def stop(self):
        proc.stop_popen(self.proc, 20)
        if getattr(self, "out", None):
            self.out.close()

    def path(self, metric):
        return self.whisper.joinpath(*metric.split(".")).with_suffix(".wsp")

    def fetch(self, metric, since=None):
        """[(timestamp, value)] of the non-empty points of a metric."""
        import whisper
        p = self.path(metric)
        if not p.exists():
            return []
        now = int(time.time()) + 2
        (start, _end, step), values = whisper.fetch(
            str(p), since or now - 6 * 3600 + 10, now)
        return [(start + i * step, v) for i, v in enumerate(values)
                if v is not None]


def start_graphite_chain(work, flush_ms, started):
    """carbon-cache (work/carbon), statsd with its graphite backend sending
    to it (work/statsd) and graphite-web reading its whisper files
    (work/graphite), each appended to `started` once up, so that the
    caller stops whatever did start. Returns (carbon, statsd, gw)."""
    carbon = Carbon(work / "carbon").start()
    started.append(carbon)
    statsd = Statsd.graphite(work / "statsd", carbon.line_port,
                             flush_ms=flush_ms).start()
    started.append(statsd)
    gw = graphite_web.GraphiteWeb(work / "graphite", carbon.whisper,
                                  carbon.query_port).start()
    started.append(gw)
    return carbon, statsd, gw


def work_dir(prefix):
    """A private directory the apache2 children (www-data) can read."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(d, 0o755)
    return d


def stop_all(started):
    """Stop what was started, last started first; a thing that fails to
    stop is printed and the others are still stopped."""
    for thing in reversed(started):
        try:
            thing.stop()
        except Exception as e:
            print(f"stopping {thing}: {e}")


def remove_work(d, keep):
    """Remove the work directory d, or keep it and print where it is."""
    if keep:
        print(f"kept {d}")
    else:
        shutil.rmtree(d, ignore_errors=True)


def require(path, package):
    """Raise with the package to install when a tool (a path or a command
    name) is missing: a failure, never a silent skip."""
    if not Path(path).exists() and not shutil.which(str(path)):
        raise AssertionError(f"{path} is missing: install {package} "
                             f"(make test-interop installs it)")
