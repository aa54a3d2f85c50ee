"""Fixtures of the mod_statsd integration tests (the helpers are in
t/lib/statsdtest).

Every test talks to a real apache2 started from a throwaway config on
127.0.0.1, and a datagram listener that records every datagram the module
sends. After each test, the error log of every httpd it started is
checked: a line at error level or worse, a module warning or a crash
fails the test unless the test expects its message id (the
error_log_expect marker or the error_log fixture).

    /usr/bin/python3 -m pytest -q t/integration          (from the repo top)
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from statsdtest import statsd
from statsdtest.httpd import Httpd, module_missing, private_hosts_supported
from statsdtest.listeners import UdpListener, Udp6Listener, UnixListener, ipv6_loopback_available
from statsdtest.paths import MODULE_SO
from statsdtest.servers import Expectations, check_httpds


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "error_log_expect(*ids): error-log lines at error level (or "
                   "[statsd:warn]) carrying one of these message ids are expected")


def pytest_collection_modifyitems(config, items):
    """The long `stress` tests run only with STATSD_STRESS=1 (make test-stress)."""
    if os.environ.get("STATSD_STRESS") == "1":
        return
    skip = pytest.mark.skip(reason="long test: set STATSD_STRESS=1 or run `make test-stress`")
    for item in items:
        if "stress" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    """Safety net: stop and remove every httpd a failed fixture left behind."""
    for h in list(Httpd.instances):
        h.stop()
        h.cleanup()
    Httpd.instances.clear()


@pytest.fixture
def udp_listener():
    lst = UdpListener()
    yield lst
    lst.close()


@pytest.fixture
def udp6_listener():
    if not ipv6_loopback_available():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    lst = Udp6Listener()
    yield lst
    lst.close()


@pytest.fixture
def unix_listener():
    lst = UnixListener()
    yield lst
    lst.close()


@pytest.fixture
def module_so():
    """Fail (never skip) when the module has not been built."""
    missing = module_missing()
    if missing:
        pytest.fail(missing, pytrace=False)
    return MODULE_SO


@pytest.fixture
def error_log(request):
    """error_log.expect("AH00135", ...): ids this test expects in error
    logs, besides those of its error_log_expect markers."""
    exp = Expectations()
    for m in request.node.iter_markers("error_log_expect"):
        exp.expect(*m.args)
    return exp


@pytest.fixture
def httpd_factory(error_log):
    """Make Httpd instances (same arguments as Httpd) that are stopped,
    checked for unexpected error-log lines and removed after the test."""
    made = []

    def make(*args, **kw):
        h = Httpd(*args, **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.stop()
    problems = check_httpds(made, error_log.ids)
    for h in made:
        h.cleanup()
    if problems:
        pytest.fail("unexpected error-log lines:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def _check_error_logs(error_log):
    yield
    problems = check_httpds(list(Httpd.instances), error_log.ids)
    # forget instances that are gone (stopped and their dir removed)
    Httpd.instances[:] = [h for h in Httpd.instances if h.dir.exists()]
    if problems:
        pytest.fail("unexpected error-log lines:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def statsd_node():
    """The node binary, with npm statsd 0.9.0 installed (a failed install
    fails the test, it is never skipped)."""
    try:
        return statsd.install()
    except statsd.StatsdError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def workdir():
    d = Path(tempfile.mkdtemp(prefix="mod_statsd-work-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def private_hosts():
    """Skips the test where apache2 cannot have its own /etc/hosts."""
    ok, why = private_hosts_supported()
    if not ok:
        pytest.skip(why)
