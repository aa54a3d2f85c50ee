"""The cardinality guard: StatsdCollapseIds turns id-like path
segments into `_id_`, StatsdMaxNames bounds the distinct names per child
(new ones become `_other`), StatsdMaxNameLength caps every key, under a
scanner's load of 100 000 random paths."""

import random
import re
import string
import threading
import time

import pytest

from statsdtest.httpclient import pipelined
from statsdtest.lines import ONE_CHILD as LINES_ONE_CHILD
from statsdtest.lines import (assert_lines, bad_wire_lines, measured, metric_lines,
                              request_counts, request_keys, statsd_conf, std_lines, wait_measured)
from statsdtest.proc import children
from statsdtest.servers import start_and_drain

# one child process, so "per child" is exact
ONE_CHILD = LINES_ONE_CHILD + "MaxKeepAliveRequests 0\n"
THREADS_PER_CHILD = 8


def started(httpd_factory, lst, name, extra="", flush=0, **kw):
    h = httpd_factory(name, conf=statsd_conf(lst.port, flush=flush, extra=extra), **kw)
    return start_and_drain(h, lst)


# ---- StatsdCollapseIds ---------------------------------------------------------------

COLLAPSE = [
    # (path, NAME)
    ("/users/12345/orders/3f2a9c1e-8b7d-4c6e-9a5f-1b2c3d4e5f60", "users._id_.orders._id_"),
    ("/n/0", "n._id_"),
    ("/n/7/x", "n._id_.x"),
    ("/n/00042", "n._id_"),
    ("/n/%31%32%33", "n._id_"),                               # decoded first
    ("/u/3F2A9C1E-8B7D-4C6E-9A5F-1B2C3D4E5F60", "u._id_"),    # upper-case UUID
    ("/h/deadbee1", "h._id_"),                                # 8 hex, a digit
    ("/h/1234abcd/x", "h._id_.x"),
    ("/h/0123456789abcdef0123456789abcdef", "h._id_"),        # md5-like
    ("/h/deadbeef", "h.deadbeef"),                            # a word: no digit
    ("/h/abc1234", "h.abc1234"),                              # 7 hex: too short
    ("/t/dGhpcyBpcyBhIHRva2Vu", "t._id_"),                    # base64, 20
    ("/t/aGVsbG8gd29ybGQ=", "t._id_"),                        # base64 with '=' (-> '_')
    ("/t/eyJhbGciOiJIUzI1NiJ9", "t._id_"),                    # a JWT header
    ("/t/a1b2c3d4e5f6g7h8", "t._id_"),                        # 16, one piece
    ("/t/Ab1Cd2Ef3Gh4Ij5", "t.Ab1Cd2Ef3Gh4Ij5"),              # 15: too short
    ("/t/release-notes-2024", "t.release-notes-2024"),        # a slug stays
    ("/t/internationalization", "t.internationalization"),    # a long word stays
    ("/t/CamelCaseControllerName", "t.CamelCaseControllerName"),
    ("/api/v2/page-1", "api.v2.page-1"),
]


@pytest.fixture
def collapse_env(httpd_factory, udp_listener):
    h = started(httpd_factory, udp_listener, "collapse", extra="""
StatsdCollapseIds On
<Location /fixed>
    StatsdStat fixed.12345
</Location>
<Location /off>
    StatsdCollapseIds Off
</Location>
""")
    return h, udp_listener


def test_collapse_ids_kinds(collapse_env):
    h, lst = collapse_env
    for path, name in COLLAPSE:
        lst.clear()
        r = h.get(path)
        assert r.status == 404, (path, r)
        assert_lines(lst, std_lines(name, "GET", 404))


def test_collapse_ids_not_for_statsd_stat_and_per_location(collapse_env):
    h, lst = collapse_env
    # StatsdStat is the admin's own name: never collapsed
    assert h.get("/fixed/999").status == 404
    assert_lines(lst, std_lines("fixed.12345", "GET", 404))
    lst.clear()
    assert h.get("/off/999").status == 404
    assert_lines(lst, std_lines("off.999", "GET", 404))


@pytest.mark.error_log_expect("AH00036", "AH00127")   # core: File name too long
def test_collapse_ids_long_first_segment_still_measured(httpd_factory, udp_listener):
    h = started(httpd_factory, udp_listener, "collapselong",
                extra="StatsdCollapseIds On\nLimitRequestLine 70000\n")
    r = h.get("/" + "a" * 2000)
    assert r.status is not None
    lines = wait_measured(udp_listener, 1, timeout=2)
    assert measured(lines) == 1, lines
    key = request_keys(lines)[0]
    assert len(key) <= 250 and re.match(rf"^test\.a+\.GET\.{r.status}$", key), key


# ---- StatsdMaxNames under a scanner ---------------------------------------------------

def random_segment(rng, n=12):
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(n))


def test_max_names_50_under_100k_random_paths(httpd_factory, udp_listener):
    """100 000 distinct random paths (a scanner), over keep-alive pipelined
    connections from 4 threads, into one child with StatsdMaxNames 50 and
    batching (flush 1000 ms): at most 50 distinct names (plus one per
    worker thread in a race, as statsd_guard.h allows), everything else
    `_other`, and every request measured once (the receiver keeps up; the
    last batch is flushed at graceful-stop)."""
    n = 100000
    h = started(httpd_factory, udp_listener, "maxnames50", flush=1000,
                extra=ONE_CHILD + "StatsdMaxNames 50\n")
    kids = children(h.pid)
    assert len(kids) == 1, kids
    rng = random.Random(4242)
    paths = [f"/scan/{random_segment(rng)}/{random_segment(rng, 6)}" for _ in range(n)]
    assert len(set(paths)) == n
    deadline = time.monotonic() + 60
    results = [None] * 4
    ts = []
    for k in range(4):
        def run(k=k):
            results[k] = pipelined(h.port, paths[k::4], depth=64, deadline=deadline)
        ts.append(threading.Thread(target=run, daemon=True))
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join(70)
    took = time.monotonic() - t0
    statuses = [s for r in results for s in (r or [])]
    done = len(statuses)
    # the 60 s bound only stops a very slow run early; what completed is
    # checked exactly either way (and 1000 paths already overflow 50 names)
    assert done >= 1000 and set(statuses) == {404}, (done, set(statuses), f"{took:.1f} s")
    assert children(h.pid) == kids, "a second child appeared"
    h.graceful_stop()
    udp_listener.quiesce(0.3, timeout=5)
    lines = metric_lines(udp_listener)
    print(f"\n{done} of {n} requests in {took:.1f} s; "
          f"{len(udp_listener.datagrams())} datagrams")
    assert not bad_wire_lines(lines), bad_wire_lines(lines)[:5]
    assert measured(lines) == done
    counts, timers = request_counts(lines)
    assert counts == timers
    assert sum(counts.values()) == done
    names = {k for k in counts if k != "test._other.GET.404"}
    assert all(re.match(r"^test\.scan\.[a-z]{12}\.[a-z]{6}\.GET\.404$", k) for k in names), names
    assert 50 <= len(names) <= 50 + THREADS_PER_CHILD, len(names)
    assert counts["test._other.GET.404"] == done - sum(counts[k] for k in names)
    print(f"distinct names {len(names)}, _other {counts['test._other.GET.404']}")


def test_max_names_zero_is_unlimited(httpd_factory, udp_listener):
    h = started(httpd_factory, udp_listener, "maxnames0", flush=1000,
                extra=ONE_CHILD + "StatsdMaxNames 0\n")
    rng = random.Random(7)
    paths = [f"/u0/{random_segment(rng)}" for _ in range(500)]
    statuses = pipelined(h.port, paths, deadline=time.monotonic() + 30)
    assert len(statuses) == 500
    lines = wait_measured(udp_listener, 500, timeout=5)
    keys = set(request_keys(lines))
    assert "test._other.GET.404" not in keys
    assert len(keys) == 500


def test_collapsed_ids_count_as_one_name(httpd_factory, udp_listener):
    h = started(httpd_factory, udp_listener, "collapsecount", flush=1000,
                extra=ONE_CHILD + "StatsdMaxNames 3\nStatsdCollapseIds On\n"
                      "<Location /fixed>\n    StatsdStat fixed\n</Location>\n")
    paths = [f"/u/{i}" for i in range(1, 301)] + ["/a", "/b", "/c", "/d", "/fixed/1"]
    statuses = pipelined(h.port, paths, deadline=time.monotonic() + 30)
    assert len(statuses) == len(paths)
    lines = wait_measured(udp_listener, len(paths), timeout=5)
    counts, timers = request_counts(lines)
    # u._id_ is one name; a and b fill the set; c and d are _other; the
    # admin's StatsdStat is never limited
    assert counts == {"test.u._id_.GET.404": 300, "test.a.GET.404": 1,
                      "test.b.GET.404": 1, "test._other.GET.404": 2,
                      "test.fixed.GET.404": 1}, counts
    assert timers == counts


# ---- StatsdMaxNameLength ----------------------------------------------------------------

def test_max_name_length_40(httpd_factory, udp_listener):
    h = started(httpd_factory, udp_listener, "maxlen40", extra="""
StatsdMaxNameLength 40
StatsdAggregateStat all.requests.of.this.server.everywhere
<Location /wide>
    StatsdMaxNameLength 1024
</Location>
<Location /longprefix>
    StatsdPrefix a_very_long_prefix_for_this_one_service_only
</Location>
""")
    seg = "abcdefghij"
    cases = [
        ("/" + "/".join([seg] * 2), f"test.{seg}.{seg}.GET.404"),           # 34: fits
        ("/" + "/".join([seg] * 3), f"test.{seg}.{seg}.GET.404"),           # cut at a segment
        ("/" + "x" * 100, "test." + "x" * 27 + ".GET.404"),                  # one long segment
        ("/" + "/".join(["ab"] * 30), "test." + ".".join(["ab"] * 9) + ".GET.404"),
    ]
    for path, key in cases:
        udp_listener.clear()
        assert h.get(path).status in (403, 404)
        lines = wait_measured(udp_listener, 1)
        keys = request_keys(lines)
        assert all(len(k) <= 40 for k in keys), keys
        assert keys[0] == key.replace("404", keys[0].rsplit(".", 1)[1]), (path, keys)
        # the aggregate is capped the same way; service lines are not keys
        assert keys[2].startswith("test.all.") and keys[2].endswith(".GET.404"), keys
    udp_listener.clear()
    path = "/wide/" + "/".join([seg] * 40)
    assert h.get(path).status == 404
    keys = request_keys(wait_measured(udp_listener, 1))
    assert 250 < len(keys[0]) <= 1024, len(keys[0])
    udp_listener.clear()
    assert h.get("/longprefix/" + "/".join([seg] * 5)).status == 404
    lines = wait_measured(udp_listener, 1, prefix="a_very_long_prefix_for_this_one_service_only")
    keys = request_keys(lines, prefix="a_very_long_prefix_for_this_one_service_only")
    for k in keys:
        assert len(k) <= 40 and k.endswith(".GET.404"), keys
    assert not bad_wire_lines(lines)
