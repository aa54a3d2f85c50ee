"""Worker gauges and reload markers under tags: exact lines in each dialect.

With a tag format, the gauges and the reload marker of a prefix carry the
static tags of the section that gave the marker; in tag mode HOST leaves
the gauge names and becomes a `host` tag after the static ones (a static
`host` tag stands for it). Without a format nothing changes. A prefix and
destination named by several sections keeps the tags of the first.
"""

import collections
import re
import time

from statsdtest.lines import RELOAD_RE, hostname_short_clean, statsd_conf, vhost

HOST = hostname_short_clean()
PLAIN_RE = re.compile(r"^plain\.httpd\." + re.escape(HOST)
                      + r"\.(workers\.(?:busy|idle|max)|connections\.async)"
                        r":(0|[1-9][0-9]*)\|g$")


CONF = "".join([
    vhost("dog.test", "    StatsdPrefix dog\n    StatsdTagFormat dogstatsd\n"
                      "    StatsdTagMode On\n    StatsdTag env prod"),
    vhost("inf.test", "    StatsdPrefix inf\n    StatsdTagFormat influx\n"
                      "    StatsdTagMode On\n    StatsdTag env prod\n"
                      "    StatsdTag team web"),
    vhost("gr.test", "    StatsdPrefix gr\n    StatsdTagFormat graphite\n"
                     "    StatsdTagMode On\n    StatsdTag env prod"),
    vhost("bare.test", "    StatsdPrefix bare\n    StatsdTagFormat graphite\n"
                       "    StatsdTagMode On"),
    vhost("cl.test", "    StatsdPrefix cl\n    StatsdTagFormat dogstatsd\n"
                     "    StatsdTag env prod"),
    vhost("clinf.test", "    StatsdPrefix clinf\n    StatsdTagFormat influx\n"
                        "    StatsdTag env prod"),
    vhost("ht.test", "    StatsdPrefix ht\n    StatsdTagFormat dogstatsd\n"
                     "    StatsdTagMode On\n    StatsdTag env prod\n"
                     "    StatsdTag host edge-a"),
    # the same prefix and destination again, with other tags: the virtual
    # host's own section comes first, so its tags win
    vhost("dup.test", "    StatsdPrefix dup\n    StatsdTagFormat dogstatsd\n"
                      "    StatsdTagMode On\n    StatsdTag team a\n"
                      "    <Location /b>\n        StatsdPrefix dup\n"
                      "        StatsdTag team b\n    </Location>"),
])

MARKERS = [
    "plain.httpd.reloads:1|c",
    "dog.httpd.reloads:1|c|#env:prod",
    "inf.httpd.reloads,env=prod,team=web:1|c",
    "gr.httpd.reloads;env=prod:1|c",
    "bare.httpd.reloads:1|c",
    "cl.httpd.reloads:1|c|#env:prod",
    "clinf.httpd.reloads,env=prod:1|c",
    "ht.httpd.reloads:1|c|#env:prod,host:edge-a",
    "dup.httpd.reloads:1|c|#team:a",
]


def gauge_lines(v):
    """Every line of one look, given the values the untagged prefix got."""
    out = []
    for what, n in v.items():
        out += [
            f"plain.httpd.{HOST}.{what}:{n}|g",
            f"dog.httpd.{what}:{n}|g|#env:prod,host:{HOST}",
            f"inf.httpd.{what},env=prod,team=web,host={HOST}:{n}|g",
            f"gr.httpd.{what};env=prod;host={HOST}:{n}|g",
            f"bare.httpd.{what};host={HOST}:{n}|g",
            f"cl.httpd.{HOST}.{what}:{n}|g|#env:prod",
            f"clinf.httpd.{HOST}.{what},env=prod:{n}|g",
            f"ht.httpd.{what}:{n}|g|#env:prod,host:edge-a",
            f"dup.httpd.{what}:{n}|g|#team:a,host:{HOST}",
        ]
    return out


def test_gauges_and_markers_follow_tags(httpd_factory, udp_listener):
    h = httpd_factory("gauges-tags", mpm="event")
    h.conf_extra = statsd_conf(udp_listener.port, prefix="plain",
                               extra="StatsdScoreboardInterval 1") + CONF
    h.start()

    # the markers: one datagram each, tagged as their section says
    deadline = time.monotonic() + 5
    while (time.monotonic() < deadline
           and len([l for l in udp_listener.lines() if RELOAD_RE.search(l)])
           < len(MARKERS)):
        time.sleep(0.05)
    udp_listener.quiesce(0.1)
    markers = [d for d in udp_listener.datagrams() if RELOAD_RE.search(d)]
    assert collections.Counter(markers) == collections.Counter(MARKERS), markers

    # one look at the scoreboard: every prefix's lines, split between
    # datagrams at the packet size; the first look's lines come first
    want = 9 * 4
    deadline = time.monotonic() + 10
    lines = []
    while time.monotonic() < deadline and len(lines) < want:
        lines = [l for d in udp_listener.datagrams() if "|g" in d
                 for l in d.split("\n")]
        time.sleep(0.1)
    assert len(lines) >= want, f"no full look within 10 s: {lines}"
    lines = lines[:want]
    values = {}
    for line in lines:
        m = PLAIN_RE.match(line)
        if m:
            values[m.group(1)] = int(m.group(2))
    assert set(values) == {"workers.busy", "workers.idle", "workers.max",
                           "connections.async"}, lines
    assert values["workers.max"] == 16, values
    assert collections.Counter(lines) == collections.Counter(gauge_lines(values)), \
        "got:\n  " + "\n  ".join(lines)
