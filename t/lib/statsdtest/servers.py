"""Servers shared by the tests of one module: start an Httpd with its
listeners, hand both out, then stop it and check its error log.

Also a small HTTP backend on loopback for mod_proxy to reach.

Failures raise AssertionError (a failed test under pytest)."""

import http.server
import re
import threading

from . import errorlog
from .httpd import Httpd
from .lines import statsd_conf
from .listeners import UdpListener


def start_and_drain(h, *listeners, markers=True):
    """Start h, then drain each listener of the start-up reload markers."""
    h.start()
    for lst in listeners:
        if markers:
            lst.drain_reload_markers()
        else:
            lst.reset()
    return h


def start_measured(httpd_factory, name, listener, **conf):
    """An httpd from httpd_factory measuring to listener (conf: the
    keywords of statsd_conf), started, its reload markers drained."""
    return start_and_drain(httpd_factory(name, conf=statsd_conf(listener.port, **conf)),
                           listener)


def get_one(h, listener, target="/static.txt", status=200):
    """One GET of target, answered with status; then its datagram and a
    quiet listener."""
    assert h.get(target).status == status
    listener.wait_datagrams(1)
    listener.quiesce(0.2)


def get_then_stop(h, listener, n, target="/static.txt"):
    """n GETs of target, each answered 200, then a graceful stop (which
    flushes what the children hold) and a quiet listener; its lines."""
    for _ in range(n):
        assert h.get(target).status == 200
    h.graceful_stop()
    listener.quiesce(0.5, timeout=8)
    return listener.lines()


def stop_and_check(h, expected=()):
    """Stop a long-lived httpd and fail if its shutdown logged errors other
    than the expected message ids."""
    h.stop()
    bad = h.bad_error_lines(h.checked, expected)
    h.cleanup()
    if bad:
        raise AssertionError(f"unexpected error-log lines at shutdown of {h.name}:\n  "
                             + "\n  ".join(bad))


class Env:
    """A module-scoped httpd + listener pair; tests call fresh() first."""

    def __init__(self, httpd, listener, **extra):
        self.httpd = httpd
        self.listener = listener
        self.__dict__.update(extra)

    def fresh(self):
        self.listener.reset()
        return self


def serve_env(h, listener, *others, expected=(), **extra):
    """The body of a module-scoped fixture (use with yield from): start h,
    drain its reload markers, yield an Env, then stop h, checking its error
    log for anything but the expected ids, and close the listeners."""
    start_and_drain(h, listener, *others)
    yield Env(h, listener, **extra)
    stop_and_check(h, expected)
    for lst in (listener, *others):
        lst.close()


def override_conf(h, overrides):
    """<Directory> sections under h's docroot: overrides maps a
    subdirectory to its override directives (a line each)."""
    return "".join(f'<Directory "{h.docroot}/{d}">\n'
                   + "".join(f"    {l}\n" for l in lines.splitlines())
                   + "</Directory>\n"
                   for d, lines in overrides.items())


def serve_htaccess(name, overrides, htaccess, expected=()):
    """The body of a module-scoped fixture (use with yield from): an httpd
    measuring to one listener, its directories opened to .htaccess as
    overrides says (see override_conf). htaccess maps a directory to the
    text of its .htaccess, where {other} stands for the port of a second
    listener (the Env's `other`) that nothing may reach; each directory
    also has an index.html holding its own name."""
    main = UdpListener()
    other = UdpListener()
    h = Httpd(name)
    h.conf_extra = statsd_conf(main.port) + override_conf(h, overrides)
    for d, text in htaccess.items():
        h.add_file(f"{d}/.htaccess", text.format(other=other.port))
        h.add_file(f"{d}/index.html", d.rsplit("/", 1)[-1] + "\n")
    yield from serve_env(h, main, other, expected=expected, other=other)


def check_httpds(httpds, expected):
    """Problems of each httpd's error log since its last check; advances
    what was checked."""
    problems = []
    for h in httpds:
        end = h.error_log_size()
        bad = h.bad_error_lines(h.checked, expected)
        h.checked = max(h.checked, end)
        if bad:
            problems.append(f"{h.name} ({h.error_log}):\n  " + "\n  ".join(bad))
    return problems


def assert_configtest_rejects(h, line, directive, value):
    """configtest fails, and the message itself (not the "Syntax error on
    line N of FILE" header) names the directive and the bad value."""
    rc, out = h.configtest()
    assert rc != 0, f"configtest accepted {line!r}:\n{out}"
    msg = "\n".join(l for l in out.splitlines() if "Syntax error on line" not in l)
    assert directive in msg, out
    assert re.search(r"(?<![\w.])" + re.escape(value) + r"(?![\w.])", msg), out


# where httpd refuses a main-server-only directive: the section and what
# httpd says after the directive's name
MAIN_ONLY_REFUSALS = {
    "vhost": ("VirtualHost", "127.0.0.1:9", "cannot occur within <VirtualHost> section"),
    "location": ("Location", "/x", "not allowed in <Location> context"),
}


def configtest_in_section(httpd_factory, name, where, line):
    """configtest of line inside the section MAIN_ONLY_REFUSALS[where]:
    its exit code, its output and the refusal httpd gives a
    main-server-only directive there."""
    section, arg, why = MAIN_ONLY_REFUSALS[where]
    h = httpd_factory(name, conf=statsd_conf(8125)
                      + f"<{section} {arg}>\n    {line}\n</{section}>\n")
    rc, out = h.configtest()
    return rc, out, why


def assert_refused_in_htaccess(h, line):
    """Started with `line` in a .htaccess under AllowOverride All, h
    answers 500 there and its error log says the directive is not
    allowed here."""
    lst = UdpListener()
    try:
        h.conf_extra = statsd_conf(lst.port) + override_conf(h, {"all": "AllowOverride All"})
        h.add_file("all/.htaccess", line + "\n")
        h.add_file("all/index.html", "x\n")
        h.start()
        lst.drain_reload_markers()
        since = h.error_log_size()
        assert h.get("/all/").status == 500
        log = h.error_log_text(since)
        assert line.split()[0] in log and "not allowed here" in log, log
    finally:
        lst.close()


class Expectations:
    """The message ids a test expects in error logs (the error_log fixture)."""

    def __init__(self):
        self.ids = []

    def expect(self, *ids):
        """Message ids (STATSDnnnnn, AHnnnnn); a regex only for the httpd
        messages that have no id."""
        for i in ids:
            errorlog.expectation(i)         # raises on a bad regex
        self.ids.extend(ids)


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no request log on stderr."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


class HttpBackend:
    """A threaded HTTP server on a free 127.0.0.1 port answering with
    handler (a BaseHTTPRequestHandler), served from a daemon thread."""

    def __init__(self, handler):
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.srv.daemon_threads = True
        self.port = self.srv.server_port
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()

    def __str__(self):
        return f"backend 127.0.0.1:{self.port}"
