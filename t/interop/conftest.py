"""Fixtures of the interop tests (make test-interop); the receivers and the
apache2 they measure are in t/lib/statsdtest (interop, statsd, httpd).

Each test starts its own receivers and a throwaway apache2 with the module
from <repo>/.libs/mod_statsd.so, on 127.0.0.1 only. Missing tools fail the
test with the command that installs them (never a silent skip).
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from statsdtest.httpd import module_missing
from statsdtest.interop import require
from statsdtest.paths import APACHE2, MODULE_SO


@pytest.fixture
def workdir():
    """A private directory readable by the apache2 children (www-data)."""
    d = Path(tempfile.mkdtemp(prefix="mod_statsd-interop-"))
    os.chmod(d, 0o755)
    yield d
    if os.environ.get("INTEROP_KEEP"):
        print(f"kept {d}")
    else:
        shutil.rmtree(d, ignore_errors=True)


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
    for thing in reversed(started):
        try:
            thing.stop()
        except Exception as e:         # keep stopping the others
            print(f"stopping {thing}: {e}")
