"""A throwaway graphite-web (Debian's graphite-web package) that renders
from a given whisper directory: the interop tests and the dashboard read
what carbon stored through it.

Served by gunicorn (Debian's gunicorn package) on a free 127.0.0.1 port,
with a settings module of its own generated into a private directory
(graphite.settings imports the module named by GRAPHITE_SETTINGS_MODULE, so
/etc/graphite is never read): SECRET_KEY, STORAGE_DIR, WHISPER_DIR, LOG_DIR
and a sqlite database there, made with `django-admin migrate`. With the
carbon-cache query port given, graphite-web also asks carbon-cache for the
points not yet written to whisper (CARBONLINK_HOSTS).

graphite-web runs in its own processes (Debian's Python and Django), so
this side needs only the standard library. Processes are stopped by their
own id; every wait is bounded.
"""

import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from . import proc

GUNICORN = os.environ.get("GUNICORN", "/usr/bin/gunicorn")
DJANGO_ADMIN = os.environ.get("DJANGO_ADMIN", "/usr/bin/django-admin")
SETTINGS_NAME = "graphite_local_settings"


def available():
    """None when graphite-web and gunicorn are installed, else what to
    install."""
    missing = []
    if not Path("/usr/lib/python3/dist-packages/graphite/settings.py").exists():
        missing.append("graphite-web")
    if not Path(GUNICORN).exists():
        missing.append("gunicorn")
    return " ".join(missing) or None


class RenderError(RuntimeError):
    pass


class GraphiteWeb:
    def __init__(self, root, whisper_dir, carbonlink_port=None):
        self.root = Path(root)
        self.storage = self.root / "storage"
        self.log_dir = self.storage / "log" / "webapp"
        for d in (self.log_dir, self.root / "conf"):
            d.mkdir(parents=True, exist_ok=True)
        self.port = proc.free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        links = ([f"127.0.0.1:{carbonlink_port}"] if carbonlink_port
                 else [])
        (self.root / f"{SETTINGS_NAME}.py").write_text(f"""\
# written by the mod_statsd test harness
SECRET_KEY = {secrets.token_hex(24)!r}
TIME_ZONE = 'UTC'
STORAGE_DIR = {str(self.storage)!r}
WHISPER_DIR = {str(Path(whisper_dir)) + '/'!r}
STANDARD_DIRS = [WHISPER_DIR]
LOG_DIR = {str(self.log_dir)!r}
INDEX_FILE = {str(self.storage / 'index')!r}
CONF_DIR = {str(self.root / 'conf')!r}
DATABASES = {{'default': {{'ENGINE': 'django.db.backends.sqlite3',
                         'NAME': {str(self.storage / 'graphite.db')!r}}}}}
CARBONLINK_HOSTS = {links!r}
CLUSTER_SERVERS = []
DEFAULT_XFILES_FACTOR = 0
LOG_INFO_PERFORMANCE = False
LOG_ROTATION = False
FUNCTION_PLUGINS = []
""")
        self.env = dict(os.environ,
                        PYTHONPATH=str(self.root),
                        PYTHONDONTWRITEBYTECODE="1",
                        DJANGO_SETTINGS_MODULE="graphite.settings",
                        GRAPHITE_SETTINGS_MODULE=SETTINGS_NAME)
        self.proc = None
        self.out = None

    def start(self, seconds=60):
        migrate = subprocess.run(
            [DJANGO_ADMIN, "migrate", "--run-syncdb", "-v", "0"],
            env=self.env, cwd=str(self.root), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, timeout=120)
        (self.root / "migrate.out").write_text(migrate.stdout)
        if migrate.returncode != 0:
            raise RuntimeError("django-admin migrate failed:\n"
                               + migrate.stdout)
        self.out = open(self.root / "gunicorn.out", "w")
        self.proc = subprocess.Popen(
            [GUNICORN, "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
             "--timeout", "60", "--graceful-timeout", "5",
             "graphite.wsgi:application"],
            env=self.env, cwd=str(self.root), stdout=self.out,
            stderr=subprocess.STDOUT)
        end = time.monotonic() + seconds
        while time.monotonic() < end and self.proc.poll() is None:
            try:
                self.render_json(["constantLine(1)"], timeout=5)
                return self
            except (OSError, RenderError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("graphite-web did not answer /render:\n"
                           + self.log_text())

    def stop(self):
        proc.stop_popen(self.proc, 15)
        if self.out is not None:
            self.out.close()
            self.out = None

    def log_text(self):
        text = []
        for f in [self.root / "gunicorn.out",
                  *sorted(self.log_dir.glob("*.log"))]:
            try:
                text.append(f"--- {f.name}\n{f.read_text()}")
            except OSError:
                pass
        return "\n".join(text)

    def render_url(self, targets, **params):
        """The /render URL (params: from, until, width, format, ...)."""
        q = [("target", t) for t in targets]
        q += [(k.rstrip("_"), str(v)) for k, v in params.items()]
        return f"{self.url}/render?{urllib.parse.urlencode(q)}"

    def render(self, targets, timeout=60, **params):
        """The body of one /render call; RenderError unless HTTP 200."""
        url = self.render_url(targets, **params)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            raise RenderError(f"{e.code} for {url}:\n"
                              f"{e.read().decode(errors='replace')[-2000:]}")

    def render_json(self, targets, **params):
        """[{"target", "datapoints": [[value, ts]...]}] of /render as
        format=json."""
        return json.loads(self.render(targets, format="json", **params))

    def render_png(self, targets, **params):
        body = self.render(targets, format="png", **params)
        if not body.startswith(b"\x89PNG"):
            raise RenderError(f"not a PNG: {body[:80]!r}")
        return body


def points(series):
    """The non-null (timestamp, value) points of one json series."""
    return [(ts, v) for v, ts in series["datapoints"] if v is not None]


def total(series_list):
    """Sum of every non-null point of every series."""
    return sum(v for s in series_list for _, v in points(s))
