"""statsd's cluster proxy (proxy.js of npm statsd 0.9.0) in front of two
statsd nodes, fed by the module in tag mode.

The proxy hashes each line on what stands before its first ':' and sends
the line to one node. For DogStatsD tags that is the bare name, so every
tag set of one metric lands on the same node; for Graphite tags it is the
name with its tags, so each series lands on one node. Either way no
series is split between nodes, and the counts add up: read back through
each node's management `counters` command.

The proxy needs the hashring package (an optional dependency of statsd);
it is installed beside statsd in build/statsd when missing.
"""

import json
import subprocess

import pytest

from statsdtest import statsd
from statsdtest.httpclient import HttpClient
from statsdtest.interop import interop_httpd, require
from statsdtest.proc import free_tcp_port, free_udp_port, stop_popen, tcp_listening, wait_for

HASHRING_VERSION = "3.2.0"


def ensure_proxy():
    """node, with statsd and hashring installed side by side."""
    node = statsd.install()
    if not (statsd.NPM_DIR / "node_modules" / "hashring").is_dir():
        # one install of both, so npm keeps statsd beside hashring
        subprocess.run(["npm", "install", "--prefix", str(statsd.NPM_DIR),
                        "--omit=optional", "--no-audit", "--no-fund",
                        f"statsd@{statsd.VERSION}",
                        f"hashring@{HASHRING_VERSION}"], check=True, timeout=600)
    return node


class Node:
    """statsd (stats.js, no backend) or its proxy (proxy.js); counters
    read over management."""

    def __init__(self, root, node, script="stats.js", cfg=None):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.node = node
        self.script = script
        self.port = free_udp_port()
        self.mgmt_port = free_tcp_port()
        base = {"address": "127.0.0.1", "port": self.port,
                "mgmt_address": "127.0.0.1", "mgmt_port": self.mgmt_port,
                "flushInterval": 60000, "backends": [],
                "deleteIdleStats": False}
        base.update(cfg or {})
        (self.root / "config.js").write_text(json.dumps(base, indent=2))
        self.proc = None

    def start(self):
        self.out = open(self.root / "out.log", "w")
        self.proc = subprocess.Popen([self.node, str(statsd.HOME / self.script),
                                      str(self.root / "config.js")],
                                     cwd=str(statsd.HOME), stdout=self.out,
                                     stderr=subprocess.STDOUT)
        ok = wait_for(lambda: self.proc.poll() is not None or
                      tcp_listening(self.mgmt_port), 30)
        if self.proc.poll() is not None or not ok:
            raise RuntimeError(f"{self.script} did not start:\n"
                               + (self.root / "out.log").read_text())
        return self

    def counters(self):
        buf = statsd.mgmt_command(self.mgmt_port, "counters", timeout=5)
        return statsd.parse_js_literal(buf.decode().split("END")[0])

    def stop(self):
        stop_popen(self.proc)
        if getattr(self, "out", None):
            self.out.close()


@pytest.mark.parametrize("fmt", ["dogstatsd", "graphite"])
def test_proxy_two_nodes(workdir, module_so, stopper, fmt):
    require("node", "nodejs")
    node = ensure_proxy()
    nodes = [Node(workdir / f"node{i}", node) for i in (1, 2)]
    for n in nodes:
        stopper(n.start())
    proxy = Node(workdir / "proxy", node, "proxy.js", {
        "host": "127.0.0.1", "forkCount": 0, "checkInterval": 1000,
        "nodes": [{"host": "127.0.0.1", "port": n.port, "adminport": n.mgmt_port}
                  for n in nodes]})
    stopper(proxy.start())
    httpd = interop_httpd(workdir / "httpd", proxy.port, "px", flush_ms=0,
                          extra=f"StatsdTagFormat {fmt}\nStatsdTagMode On\n"
                                "StatsdTag env prod\n")
    for i in range(6):
        httpd.add_file(f"r{i}.txt", f"{i}\n")
    stopper(httpd.start())

    client = HttpClient(httpd.port)
    plan = [f"/r{i % 6}.txt" for i in range(30)] + ["/missing"] * 4
    statuses = [client.get(p) for p in plan]
    client.close()
    assert statuses == [200] * 30 + [404] * 4

    def series(name):
        """{node index: {key: count}} of keys starting with name."""
        return {i: {k: v for k, v in n.counters().items() if k.startswith(name)}
                for i, n in enumerate(nodes)}

    def total(name):
        return sum(sum(s.values()) for s in series(name).values())

    wait_for(lambda: total("px.request.count") == 34
                      and total("px.responses.good") == 30, 15, step=0.2)
    assert total("px.request.count") == 34
    assert total("px.responses.good") == 30
    assert total("px.responses.bad") == 4
    per_node = series("px.request.count")
    keys = [set(per_node[0]), set(per_node[1])]
    assert not keys[0] & keys[1], keys            # no series on both nodes
    assert len(keys[0] | keys[1]) == 7            # 6 routes + missing
    for k in keys[0] | keys[1]:
        assert ";env=prod;route=" in k and ";method=GET;status=" in k, k
    if fmt == "dogstatsd":
        # hashed on the bare name: one node holds every route of it
        assert sorted(len(k) for k in keys) == [0, 7], keys
    for n in nodes:
        assert n.counters().get("statsd.bad_lines_seen") == 0
    assert not httpd.bad_error_lines(), httpd.error_log_text()
