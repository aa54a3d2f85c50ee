"""Where things are: the repository, the built module, apache2."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]          # <repo>/t/lib/statsdtest
MODULE_SO = Path(os.environ.get("STATSD_MODULE_SO",
                                str(REPO / ".libs" / "mod_statsd.so")))
APACHE2 = os.environ.get("APACHE2", "/usr/sbin/apache2")
MODULES_DIR = Path(os.environ.get("APACHE2_MODULES", "/usr/lib/apache2/modules"))
RUN_USER = os.environ.get("APACHE2_USER", "www-data")
RUN_GROUP = os.environ.get("APACHE2_GROUP", "www-data")
LOOPBACK = "127.0.0.1"
