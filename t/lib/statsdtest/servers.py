"""Servers shared by the tests of one module: start an Httpd with its
listeners, hand both out, then stop it and check its error log.

Failures raise AssertionError (a failed test under pytest)."""

import re

from . import errorlog


def start_and_drain(h, *listeners, markers=True):
    """Start h, then drain each listener of the start-up reload markers."""
    h.start()
    for lst in listeners:
        if markers:
            lst.drain_reload_markers()
        else:
            lst.reset()
    return h


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
