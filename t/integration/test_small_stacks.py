"""Small thread stacks: with `ThreadStackSize 65536` under event and worker,
and batching on (the default), every request is answered, no child crashes
and every line arrives, also for long URIs, long names from a note, ids to
collapse and names past StatsdMaxNames. The module keeps no large buffer on
a request thread's stack.

Not run against the AddressSanitizer build: ASan's redzones make every
frame several times larger, so 64 KB stacks are too small for httpd itself
there."""

import collections
import concurrent.futures

import pytest

from statsdtest.lines import counter_totals, normalise, statsd_conf, std_lines
from statsdtest.paths import MODULE_SO
from statsdtest.proc import wait_for
from statsdtest.servers import start_and_drain

PER_KIND = 50          # requests of each kind, per MPM

NOTE_LUA = """
function handle(r)
  r.notes['statsd.stat'] = r.args
  r.content_type = "text/plain"
  r:puts("named\\n")
  return apache2.OK
end
"""


def asan_module():
    """True when the module under test is the sanitizer build."""
    return b"__asan_init" in MODULE_SO.read_bytes()


def capped(name, budget):
    """NAME cut to budget bytes at a segment boundary, as the key cap does
    (names here are plain dotted words)."""
    if len(name) <= budget:
        return name
    cut = name[:budget]
    if name[budget] != ".":
        cut = cut[:cut.rfind(".")]
    return cut.rstrip(".")


def name_budget(prefix, method, status, max_len=1024):
    """Room NAME has in a key P.NAME.METHOD.STATUS of max_len bytes."""
    return max_len - (len(prefix) + 1 + len(method) + 1 + len(str(status))) - 1


def requests_and_lines():
    """(target, expected status, expected lines) of the mix."""
    out = []
    budget = name_budget("test", "GET", 404)
    for i in range(PER_KIND):
        out.append(("/static.txt", 200, std_lines("static_txt", "GET", 200)))
    for i in range(PER_KIND):
        # 1,500 to 3,800 bytes of path: the name is cut to the key cap
        segs = [f"s{i:02d}x{j:04d}" for j in range(150 + i * 5)]
        target = "/long/" + "/".join(segs)
        name = capped("long." + ".".join(segs), budget)
        out.append((target, 404, std_lines(name, "GET", 404)))
    budget = name_budget("test", "GET", 200)
    for i in range(PER_KIND):
        # a note longer than any name: cleaned, then cut to the key cap
        note = ".".join(f"n{i:02d}w{j:03d}" for j in range(150))
        out.append((f"/note?{note}", 200,
                    std_lines(capped(note, budget), "GET", 200)))
    for i in range(PER_KIND):
        out.append((f"/ids/{100000 + i}/item", 404,
                    std_lines("ids._id_.item", "GET", 404)))
    return out


@pytest.mark.parametrize("mpm", ["event", "worker"])
def test_small_thread_stacks(httpd_factory, udp_listener, mpm):
    if asan_module():
        pytest.skip("64 KB thread stacks are too small for an ASan build")
    h = httpd_factory(f"stack-{mpm}", mpm=mpm)
    lua = h.add_script("note.lua", NOTE_LUA)
    # batching on (the module's default flush interval)
    h.conf_extra = statsd_conf(udp_listener.port, flush=None, extra=f"""
StatsdMaxNameLength 1024
StatsdCollapseIds On
StatsdMaxNames 1000
LuaMapHandler ^/note$ "{lua}"
ThreadStackSize 65536
LimitRequestLine 16384
""")
    start_and_drain(h, udp_listener)
    mix = requests_and_lines()

    def one(item):
        target, _, _ = item
        return h.get(target).status

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(one, mix))
    want = [status for _, status, _ in mix]
    failed = [(t[:60], s) for (t, w, _), s in zip(mix, statuses) if s != w]
    crashes = [l for l in h.error_log_text().splitlines() if "exit signal" in l]
    assert not crashes, f"children crashed:\n" + "\n".join(crashes[:5])
    assert not failed, f"{len(failed)} of {len(mix)} requests failed: {failed[:5]}"
    assert statuses == want

    expected = []
    for _, _, lines in mix:
        expected += lines
    want, want_others = counter_totals(expected)
    wait_for(lambda: len(counter_totals(udp_listener.lines())[1])
             >= len(want_others), 10)
    h.stop()                       # the exit flush sends what is left
    udp_listener.quiesce(0.2)
    got, _ = normalise(udp_listener.lines())
    totals, others = counter_totals(got)
    others = collections.Counter(others)
    want_others = collections.Counter(want_others)
    assert totals == want, (f"counter totals differ: missing "
                            f"{list((collections.Counter(want) - totals).items())[:5]}; "
                            f"extra {list((totals - collections.Counter(want)).items())[:5]}")
    assert others == want_others, (
        f"{sum(others.values())} other lines, {sum(want_others.values())} "
        f"expected; missing {list((want_others - others).items())[:5]}; "
        f"extra {list((others - want_others).items())[:5]}")
