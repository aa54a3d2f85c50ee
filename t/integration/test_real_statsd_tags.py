"""Tagged lines against the real Etsy statsd (npm `statsd@0.9.0`, run by
the harness as in test_real_statsd.py): DogStatsD tags (`|#k:v,...`) and Graphite tags
(`name;k=v...`) both parse (`bad_lines_seen` 0) and are read back through
the management `counters` and `timers` commands as the tagged keys statsd
0.9 makes of them (`name;k=v;k2=v2`: its handlePacket in stats.js turns a
DogStatsD tag list into Graphite tags). A timer type other than ms is
counted as a counter by this statsd: that is shown here too, as the docs
warn."""

import re

from statsdtest.httpd import Httpd
from statsdtest.lines import statsd_conf, vhost
from statsdtest.proc import wait_for
from statsdtest.servers import stop_and_check
from statsdtest.statsd import Statsd

N = 12


def test_tagged_keys(statsd_node, workdir):
    # no flush during the test: the management commands show every line
    sd = Statsd(workdir, {"flushInterval": 60000, "deleteIdleStats": False},
                node=statsd_node).start(timeout=15)
    conf = statsd_conf(sd.udp_port, prefix=None, extra="StatsdTag env prod\n") + "".join([
        vhost("dog.test", "    StatsdPrefix dog\n    StatsdTagFormat dogstatsd\n"
                          "    StatsdTagMode On"),
        vhost("gr.test", "    StatsdPrefix gr\n    StatsdTagFormat graphite\n"
                         "    StatsdTagMode On"),
        vhost("classic.test", "    StatsdPrefix cl\n    StatsdTagFormat dogstatsd"),
        vhost("hist.test", "    StatsdPrefix hi\n    StatsdTimerType h\n"
                           "    StatsdLegacyMode Off\n    StatsdServiceStats Off"),
    ])
    h = Httpd("realstatsd-tags", conf=conf)
    h.add_file("cart/items", "items\n")
    try:
        h.start()
        for host in ("dog.test", "gr.test", "classic.test", "hist.test"):
            for _ in range(N):
                assert h.get("/cart/items", host=host).status == 200
            assert h.get("/missing", host=host).status == 404
        tags200 = ";env=prod;route=cart.items;method=GET;status=200"
        tags404 = ";env=prod;route=missing;method=GET;status=404"
        want = {}
        for p in ("dog", "gr"):
            want.update({
                f"{p}.request.count{tags200}": N,
                f"{p}.request.count{tags404}": 1,
                f"{p}.responses.good;env=prod": N,
                f"{p}.responses.bad;env=prod": 1,
                f"{p}.responses.4xx;env=prod": 1,
            })
        want.update({
            "cl.cart.items.GET.200;env=prod": N,
            "cl.missing.GET.404;env=prod": 1,
            "cl.responses.good;env=prod": N,
        })

        def done():
            c = sd.counters()
            return c if all(c.get(k) == v for k, v in want.items()) else None

        counters = wait_for(done, 10)
        assert counters, f"counters never reached {want}: {sd.counters()}\n{sd.log_text()}"
        assert counters["statsd.bad_lines_seen"] == 0
        timers = sd.timers()
        for p in ("dog", "gr"):
            assert len(timers[f"{p}.request.time{tags200}"]) == N, timers
            assert len(timers[f"{p}.responses.time;env=prod"]) == N + 1, timers
        assert len(timers["cl.cart.items.GET.200;env=prod"]) == N, timers
        # |h is not a timer to statsd 0.9: it adds the durations up as a
        # counter (hence the warning in the docs)
        hist = [k for k in counters if k.startswith("hi.")]
        assert sorted(hist) == ["hi.cart.items.GET.200", "hi.httpd.reloads",
                            "hi.missing.GET.404"], hist
        assert counters["hi.cart.items.GET.200"] > 0
        assert not any(k.startswith("hi.") for k in timers), timers
        assert sd.stats().get("messages.bad_lines_seen") == "0"
        assert "Bad line" not in sd.log_text()
        assert not any(re.search(r"[|#,:]", k) for k in counters), counters
    finally:
        stop_and_check(h)
        sd.stop()
