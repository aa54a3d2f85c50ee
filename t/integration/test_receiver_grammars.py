"""The module's lines, in each tag dialect, read by the line parsers of the
receivers that cannot run here (no package on this machine): each parser
below is a small Python transcription of the receiver's own parsing code,
following the file and version named in its docstring, reduced to what
decides whether a line is accepted and what name, value, type and tags it
yields. The lines come from a real httpd with the module.

A receiver's rule that our lines break shows here as a refusal, which the
docs (docs/receivers.md) turn into a configuration rule: gostatsd knows no
|h or |d, statsd_exporter reads |h and |d values as seconds and drops a
name seen with two types, Telegraf keeps |d only with DataDog
distributions on.
"""

import collections

import pytest

from statsdtest.httpd import Httpd
from statsdtest.lines import statsd_conf, vhost
from statsdtest.listeners import UdpListener
from statsdtest.servers import serve_env


class Refused(Exception):
    pass


# ---- DataDog Agent ---------------------------------------------------------------------


def dogstatsd_agent(line):
    """DataDog/datadog-agent comp/dogstatsd/server/impl/parse.go at
    1dd7a6e05d3db7cb9c1ff183d736c76afded395d (parseMetricSample): at least
    one '|'; the first field is NAME:VALUE split at the first ':' (both
    non-empty), the second the type (g c h d s ms); then optional fields:
    '#' tags split on ',', '@' sample rate, 'T' timestamp, others
    ignored."""
    if "|" not in line:
        raise Refused("invalid dogstatsd message format")
    fields = line.split("|")
    name, sep, raw = fields[0].partition(":")
    if not sep or not name or not raw:
        raise Refused("invalid name and value")
    mtype = fields[1] if len(fields) > 1 else ""
    if mtype not in ("g", "c", "h", "d", "s", "ms"):
        raise Refused(f"invalid metric type {mtype!r}")
    value = float(raw)
    tags, rate = [], 1.0
    for f in fields[2:]:
        if f.startswith("#"):
            tags = f[1:].split(",") if f[1:] else []
        elif f.startswith("@"):
            rate = float(f[1:])
    return {"name": name, "value": value, "type": mtype, "tags": tags, "rate": rate}


# ---- Telegraf --------------------------------------------------------------------------


def telegraf(line, datadog_extensions=True, datadog_distributions=False):
    """influxdata/telegraf plugins/inputs/statsd/statsd.go at
    010e23209edd60e5426dc1172ae2f3542cedee0f (parseStatsdLine, parseName,
    parseKeyValue, aggregate) with datadog.go's parseDataDogTags: with
    datadog_extensions, '|'-segments starting with '#' are tags
    (k:v split on ','); the rest is BUCKET:VALUE|TYPE[|@RATE], split on ':'
    and '|'; type one of g c s ms h d; the bucket is split on ',' into the
    name and influx tags k=v. A 'd' sample is kept only with
    datadog_distributions (and the extensions)."""
    tags = {}
    if datadog_extensions:
        kept = []
        for seg in line.split("|"):
            if seg.startswith("#"):
                for t in seg[1:].split(","):
                    k, sep, v = t.partition(":")
                    if sep:
                        tags[k] = v
                    elif t:
                        tags[t] = "true"
            else:
                kept.append(seg)
        line = "|".join(kept)
    bits = line.split(":")
    if len(bits) < 2:
        raise Refused("Splitting ':', unable to parse metric")
    bucket, values = bits[0], bits[1:]
    out = []
    for bit in values:
        pipes = bit.split("|")
        if len(pipes) < 2:
            raise Refused("Splitting '|', unable to parse metric")
        mtype = pipes[1]
        if mtype not in ("g", "c", "s", "ms", "h", "d"):
            raise Refused(f"Metric type {mtype!r} unsupported")
        value = int(pipes[0]) if mtype == "c" else float(pipes[0])
        parts = bucket.split(",")
        mtags = dict(tags)
        for bt in parts[1:]:
            k, sep, v = bt.partition("=")
            if k and sep:
                mtags[k] = v
        if mtype == "d" and not (datadog_extensions and datadog_distributions):
            continue    # dropped in aggregate()
        out.append({"name": parts[0], "value": value, "type": mtype, "tags": mtags})
    return out


# ---- Prometheus statsd_exporter --------------------------------------------------------


def statsd_exporter(line, dogstatsd=True, influx=True):
    """prometheus/statsd_exporter pkg/line/line.go at
    03d52c028ac7534dc0a1573acafaaa2588b1a8d0 (LineToEvents,
    parseNameAndTags, ParseDogStatsDTags, buildEvent): NAME[,k=v...] before
    the first ':'; mixed DogStatsD and name tags refused; 2 to 8
    '|'-components; '@' rate, '#' tags; ms values are divided by 1000
    (seconds), h and d taken as they are."""
    name, sep, rest = line.partition(":")
    if not sep or not name:
        raise Refused("malformed_line")
    labels = {}
    if influx and "," in name:
        name, _, tagpart = name.partition(",")
        for t in tagpart.split(","):
            k, s, v = t.partition("=")
            if not (k and s and v):
                raise Refused("tag error")
            labels[k] = v
    if "|#" in rest and labels:
        raise Refused("mixed_tagging_styles")
    comps = rest.split("|")
    if len(comps) < 2 or len(comps) > 8:
        raise Refused("malformed_component")
    value, mtype = float(comps[0]), comps[1]
    for c in comps[2:]:
        if not c:
            raise Refused("malformed_component")
        if c[0] == "#" and dogstatsd:
            for t in c[1:].split(","):
                k, s, v = t.lstrip("#").partition(":")
                if not (k and s and v):
                    raise Refused("tag error")
                labels[k] = v
        elif c[0] not in "@#cT":
            raise Refused("invalid_sample_factor")
    if mtype == "c":
        kind = "counter"
    elif mtype in ("ms", "h", "d"):
        kind = "observer"
        if mtype == "ms":
            value /= 1000
    else:
        raise Refused(f"bad stat type {mtype}")
    return {"name": name, "kind": kind, "value": value, "labels": labels}


def exporter_conflicts(events):
    """The exporter registers one metric per name and type: an event whose
    name is already registered with another type is dropped (the type
    conflict of the issue tracker's many reports). Returns the names that
    would be dropped."""
    seen, dropped = {}, set()
    for e in events:
        if seen.setdefault(e["name"], e["kind"]) != e["kind"]:
            dropped.add(e["name"])
    return dropped


# ---- gostatsd --------------------------------------------------------------------------


def gostatsd(line):
    """atlassian/gostatsd pkg/statsd/lexer.go at
    613a4ae365b2c87e51ead9449828c417096f3580 (lexKeySep ... lexTags): the
    key keeps [A-Za-z0-9._-] ('/' becomes '-', space '_', other bytes are
    removed); then VALUE up to '|'; type c, g, ms or s (nothing else);
    then the end, or '|@RATE' and/or '|#tags' split on ','."""
    key, sep, rest = line.partition(":")
    if not sep:
        raise Refused("missing key separator")
    clean = []
    for ch in key:
        if ch == "/":
            clean.append("-")
        elif ch in " \t":
            clean.append("_")
        elif ch.isascii() and (ch.isalnum() or ch in "._-"):
            clean.append(ch)
    if not clean:
        raise Refused("key zero len")
    value, sep, rest = rest.partition("|")
    if not sep:
        raise Refused("missing value separator")
    if rest.startswith("ms"):
        mtype, rest = "ms", rest[2:]
    elif rest[:1] in ("c", "g", "s"):
        mtype, rest = rest[:1], rest[1:]
    else:
        raise Refused("invalid type")
    tags, rate = [], 1.0
    if rest:
        if rest[0] != "|":
            raise Refused("invalid type")
        rest = rest[1:]
        if rest.startswith("@"):
            r, _, rest = rest[1:].partition("|")
            rate = float(r)
            if rest and not rest.startswith("#"):
                raise Refused("invalid format")
        if rest.startswith("#"):
            tags = [t for t in rest[1:].split(",") if t]
        elif rest:
            raise Refused("invalid sampling or tags")
    return {"name": "".join(clean), "value": float(value), "type": mtype, "tags": tags}


# ---- the lines -------------------------------------------------------------------------


VHOSTS = {
    "dog": "StatsdTagFormat dogstatsd\nStatsdTagMode On",
    "influx": "StatsdTagFormat influx\nStatsdTagMode On",
    "dog-classic": "StatsdTagFormat dogstatsd",
    "influx-classic": "StatsdTagFormat influx",
    "classic": "",
    "classic-nolegacy": "StatsdLegacyMode Off",
    "hist": "StatsdTagFormat dogstatsd\nStatsdTagMode On\nStatsdTimerType h",
    "dist": "StatsdTagFormat dogstatsd\nStatsdTagMode On\nStatsdTimerType d",
}


@pytest.fixture(scope="module")
def lines_by_vhost():
    lst = UdpListener()
    h = Httpd("grammars")
    h.add_file("cart/items", "items\n")
    h.conf_extra = statsd_conf(lst.port, prefix="shop",
                               extra="StatsdTag env prod\nStatsdTag team web\n") + "".join(
        vhost(f"{v}.test", c) for v, c in VHOSTS.items())
    env_iter = serve_env(h, lst)
    env = next(env_iter)
    out = {}
    for v in VHOSTS:
        env.fresh()
        assert h.get("/cart/items", host=f"{v}.test").status == 200
        assert h.get("/missing", host=f"{v}.test").status == 404
        n = 4 + 5 if "nolegacy" not in v else 3 + 4
        out[v] = env.listener.wait_lines(n)
        env.listener.quiesce(0.1)
        out[v] = env.listener.lines()
        assert len(out[v]) == n, (v, out[v])
    yield out
    for _ in env_iter:
        pass


STATIC = ["env:prod", "team:web"]
REQ200 = STATIC + ["route:cart.items", "method:GET", "status:200"]


def test_datadog_agent(lines_by_vhost):
    got = [dogstatsd_agent(l) for l in lines_by_vhost["dog"]]
    by = collections.defaultdict(list)
    for m in got:
        by[m["name"]].append(m)
    t = [m for m in by["shop.request.time"] if "status:200" in m["tags"]][0]
    assert t["type"] == "ms" and t["tags"] == REQ200 and t["value"] > 0
    c = [m for m in by["shop.request.count"] if "status:200" in m["tags"]][0]
    assert c["type"] == "c" and c["value"] == 1 and c["tags"] == REQ200
    assert [m["tags"] for m in by["shop.responses.good"]] == [STATIC]
    assert all(m["tags"] == STATIC for m in by["shop.responses.time"])
    # classic names with static tags, histogram and distribution timers
    for m in map(dogstatsd_agent, lines_by_vhost["dog-classic"]):
        assert m["tags"] == STATIC, m
    assert {m["type"] for m in map(dogstatsd_agent, lines_by_vhost["hist"])} == {"h", "c"}
    assert {m["type"] for m in map(dogstatsd_agent, lines_by_vhost["dist"])} == {"d", "c"}


def test_telegraf(lines_by_vhost):
    want = {"env": "prod", "team": "web", "route": "cart.items", "method": "GET",
            "status": "200"}
    for v in ("dog", "influx"):
        got = [m for l in lines_by_vhost[v] for m in telegraf(l)]
        names = {m["name"] for m in got}
        assert names == {"shop.request.time", "shop.request.count", "shop.responses.good",
                         "shop.responses.bad", "shop.responses.4xx",
                         "shop.responses.time"}, (v, names)
        t = [m for m in got if m["name"] == "shop.request.time"
             and m["tags"].get("status") == "200"]
        assert len(t) == 1 and t[0]["tags"] == want and t[0]["type"] == "ms", (v, t)
    # the classic names stay whole (templates may split them), with the tags
    got = [m for l in lines_by_vhost["influx-classic"] for m in telegraf(l)]
    assert {m["name"] for m in got} >= {"shop.cart.items.GET.200", "shop.missing.GET.404"}
    assert all(m["tags"] == {"env": "prod", "team": "web"} for m in got)
    # |d is kept only with datadog_distributions
    dist = lines_by_vhost["dist"]
    assert not any(m["type"] == "d" for l in dist for m in telegraf(l))
    assert any(m["type"] == "d" for l in dist
               for m in telegraf(l, datadog_distributions=True))


def test_statsd_exporter(lines_by_vhost):
    for v in ("dog", "influx"):
        events = [statsd_exporter(l) for l in lines_by_vhost[v]]
        t = [e for e in events if e["name"] == "shop.request.time"
             and e["labels"].get("status") == "200"][0]
        assert t["kind"] == "observer" and t["labels"] == {
            "env": "prod", "team": "web", "route": "cart.items", "method": "GET",
            "status": "200"}
        assert t["value"] < 10          # ms read as seconds
        assert exporter_conflicts(events) == set(), v
    # the classic lines with legacy counters: K|ms and K|c share a name
    classic = [statsd_exporter(l) for l in lines_by_vhost["classic"]]
    assert exporter_conflicts(classic) == {"shop.cart.items.GET.200",
                                           "shop.missing.GET.404"}
    nolegacy = [statsd_exporter(l) for l in lines_by_vhost["classic-nolegacy"]]
    assert exporter_conflicts(nolegacy) == set()
    # |h values are taken as seconds: a 12 ms request would read as 12 s
    h = [statsd_exporter(l) for l in lines_by_vhost["hist"]]
    ms = [statsd_exporter(l) for l in lines_by_vhost["dog"]]
    assert max(e["value"] for e in h if e["kind"] == "observer") > \
        max(e["value"] for e in ms if e["kind"] == "observer")


def test_gostatsd(lines_by_vhost):
    got = [gostatsd(l) for l in lines_by_vhost["dog"]]
    t = [m for m in got if m["name"] == "shop.request.time" and "status:200" in m["tags"]]
    assert len(t) == 1 and t[0]["tags"] == REQ200 and t[0]["type"] == "ms"
    for m in map(gostatsd, lines_by_vhost["dog-classic"]):
        assert m["tags"] == STATIC
    # no |h, no |d in gostatsd's lexer
    for v in ("hist", "dist"):
        timers = [l for l in lines_by_vhost[v] if "|c" not in l]
        for l in timers:
            with pytest.raises(Refused, match="invalid type"):
                gostatsd(l)
    # influx tags in the name are not tags to gostatsd: ',' and '=' are
    # removed from the key and the tags run into the name
    m = gostatsd(lines_by_vhost["influx"][0])
    assert m["tags"] == [] and m["name"].startswith("shop.request.timeenvprod")
