"""Tagged lines through statsd 0.9 into carbon's tagged series (carbon
>= 1.1 stores `name;k=v...` under whisper's `_tagged` tree).

A throwaway apache2 with the module in tag mode sends Graphite tags
(`StatsdTagFormat graphite`) for one part of the site and DogStatsD tags
(`<Location /dog>`, `StatsdTagFormat dogstatsd`) for another, to the real
Etsy statsd (graphite backend, legacyNamespace false), which writes to a
private carbon-cache. statsd 0.9 turns DogStatsD tags into Graphite tags
(`name;k=v`), its graphite backend puts them after the whole metric path
(`stats.counters.P.request.count.count;env=prod;...`), and carbon stores
each series under the normalised name (tags sorted by key). The counts
read back from those whisper files equal the requests made.
"""

import hashlib
import time

import pytest

from statsdtest.httpclient import HttpClient
from statsdtest.interop import Carbon, interop_httpd, require
from statsdtest.proc import wait_for
from statsdtest.statsd import Statsd

PREFIX = "tagged"


def tagged_path(carbon, metric):
    """Where carbon 1.1 (carbon/util.py TaggedSeries.parse, .format,
    .encode; carbon/database.py) keeps a tagged series: the name with its
    tags sorted, hashed with sha256 into _tagged/<h[0:3]>/<h[3:6]>/, the
    file named by the hash (TAG_HASH_FILENAMES, the default) or by the name
    with '.' as _DOT_."""
    name, *tags = metric.split(";")
    norm = name + "".join(sorted(";" + t for t in tags))
    h = hashlib.sha256(norm.encode()).hexdigest()
    d = carbon.whisper / "_tagged" / h[0:3] / h[3:6]
    hashed = d / (h + ".wsp")
    return hashed if hashed.exists() else d / (norm.replace(".", "_DOT_") + ".wsp")


def total(carbon, metric):
    import whisper
    p = tagged_path(carbon, metric)
    if not p.exists():
        return 0
    now = int(time.time()) + 2
    _, values = whisper.fetch(str(p), now - 3600, now)
    return sum(v for v in values if v is not None)


def test_tagged_series_in_carbon(workdir, module_so, stopper):
    require("/usr/bin/carbon-cache", "graphite-carbon")
    require("node", "nodejs")
    pytest.importorskip("whisper", reason="install python3-whisper")

    carbon = Carbon(workdir / "carbon")
    stopper(carbon.start())
    statsd = Statsd.graphite(workdir / "statsd", carbon.line_port,
                             flush_ms=1000)
    stopper(statsd.start())
    httpd = interop_httpd(workdir / "httpd", statsd.port, PREFIX,
                          flush_ms=0, extra="""StatsdTagFormat graphite
StatsdTagMode On
StatsdTag env prod
<Location /dog>
    StatsdTagFormat dogstatsd
</Location>
""")
    httpd.add_file("dog/hello.txt", "woof\n")
    stopper(httpd.start())

    client = HttpClient(httpd.port)
    plan = ([("/hello.txt", 200)] * 7 + [("/nothing-here", 404)] * 3
            + [("/dog/hello.txt", 200)] * 5)
    statuses = [client.get(path) for path, _ in plan]
    client.close()
    assert statuses == [s for _, s in plan]

    c = "stats.counters." + PREFIX
    t = "stats.timers." + PREFIX
    want = {
        f"{c}.request.count.count;env=prod;route=hello_txt;method=GET;status=200": 7,
        f"{c}.request.count.count;env=prod;route=nothing-here;method=GET;status=404": 3,
        f"{c}.request.count.count;env=prod;route=dog.hello_txt;method=GET;status=200": 5,
        f"{c}.responses.good.count;env=prod": 12,
        f"{c}.responses.bad.count;env=prod": 3,
        f"{c}.responses.4xx.count;env=prod": 3,
        f"{t}.request.time.count;env=prod;route=hello_txt;method=GET;status=200": 7,
        f"{t}.responses.time.count;env=prod": 15,
    }
    wait_for(lambda: all(total(carbon, m) == n for m, n in want.items()),
                      30, step=0.5)
    got = {m: total(carbon, m) for m in want}
    assert got == want, "\n".join(
        f"{m}: {got[m]} (want {n}) at {tagged_path(carbon, m)}" for m, n in want.items())
    assert statsd.stats().get("messages.bad_lines_seen") == "0"
    assert not httpd.bad_error_lines(), httpd.error_log_text()
