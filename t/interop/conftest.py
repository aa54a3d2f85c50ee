"""Shared fixtures of the interop tests (make test-interop).

Each test starts its own receivers and a throwaway apache2 with the module
from <repo>/.libs/mod_statsd.so, on 127.0.0.1 only. Missing tools fail the
test with the command that installs them (never a silent skip).
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pipeline  # noqa: E402


def require(path, package):
    if not Path(path).exists() and not shutil.which(str(path)):
        pytest.fail(f"{path} is missing: install {package} "
                    f"(make test-interop installs it)", pytrace=False)


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
    if not pipeline.MODULE_SO.is_file():
        pytest.fail(f"{pipeline.MODULE_SO} is not built: run `make`",
                    pytrace=False)
    require(pipeline.APACHE2, "apache2")
    return pipeline.MODULE_SO


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
