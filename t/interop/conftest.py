"""Fixtures of the interop tests (make test-interop); the receivers and the
apache2 they measure are in t/lib/statsdtest (interop, statsd, httpd).

Each test starts its own receivers and a throwaway apache2 with the module
from <repo>/.libs/mod_statsd.so, on 127.0.0.1 only. Missing tools fail the
test with the command that installs them (never a silent skip).
"""

import os

import pytest

from statsdtest.httpd import module_missing
from statsdtest.interop import remove_work, require, stop_all, work_dir
from statsdtest.paths import APACHE2, MODULE_SO


@pytest.fixture
def workdir():
    """A private directory readable by the apache2 children (www-data)."""
    d = work_dir("mod_statsd-interop-")
    yield d
    remove_work(d, os.environ.get("INTEROP_KEEP"))


@pytest.fixture
def module_so():
    missing = module_missing()
    if missing:
        pytest.fail(missing, pytrace=False)
    require(APACHE2, "apache2")
    return MODULE_SO


@pytest.fixture
def stopper():
    """Stops what a test started, last started first, whatever happens."""
    started = []
    yield started.append
    stop_all(started)
