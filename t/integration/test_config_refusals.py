"""Values that used to pass `apache2 -t` and then lost every line: a
StatsdHost with a port in it (or a lone '%'), and a StatsdMaxPacketSize
too small for the longest line StatsdMaxNameLength allows. configtest
refuses them with a message that names the directive and the value."""

import pytest

from statsdtest.errorlog import PACKET_TOO_SMALL
from statsdtest.httpd import Httpd
from statsdtest.lines import assert_lines, statsd_conf, std_lines
from statsdtest.listeners import UdpListener
from statsdtest.servers import assert_configtest_rejects, serve_env

HOSTS = [
    ("StatsdHost 127.0.0.1:8125", "StatsdHost", "127.0.0.1:8125"),
    ("StatsdHost localhost:8125", "StatsdHost", "localhost:8125"),
    ("StatsdHost %", "StatsdHost", "%"),
    ("StatsdHost stats%", "StatsdHost", "stats%"),
    ("StatsdHost ::1%", "StatsdHost", "::1%"),
    ("StatsdServer udp://%:8125", "StatsdServer", "udp://%:8125"),
]


def base_conf():
    # StatsdHost first, so the line under test replaces the destination
    return "Statsd On\nStatsdFlushInterval 0\nStatsdPrefix test\n"


@pytest.mark.parametrize("line,directive,value", HOSTS, ids=[h[0] for h in HOSTS])
def test_configtest_rejects_host_with_port_or_stray_percent(httpd_factory, line,
                                                            directive, value):
    h = httpd_factory("badhost", conf=base_conf() + line + "\n")
    assert_configtest_rejects(h, line, directive, value)


def test_host_with_port_message_points_to_statsd_server(httpd_factory):
    h = httpd_factory("hostport", conf=base_conf() + "StatsdHost 127.0.0.1:8125\n")
    rc, out = h.configtest()
    assert rc != 0 and "StatsdServer udp://host:port" in out, out


def test_configtest_accepts_ipv6_hosts(httpd_factory):
    h = httpd_factory("v6host", conf=base_conf() + "StatsdHost ::1\n"
                      "<Location /a>\n    StatsdHost [::ffff:127.0.0.1]\n</Location>\n"
                      "<Location /b>\n    StatsdHost fe80::1%lo\n</Location>\n")
    rc, out = h.configtest()
    assert rc == 0 and "Syntax OK" in out, out


TOO_SMALL = [
    ("StatsdMaxPacketSize 512\nStatsdMaxNameLength 1024", "1024"),
    ("StatsdMaxPacketSize 512\nStatsdMaxNameLength 477", "477"),
    ("StatsdMaxPacketSize 600\n<Location /long>\n    StatsdMaxNameLength 1024\n"
     "</Location>", "1024"),
    ("StatsdMaxPacketSize 1000\n<VirtualHost 127.0.0.1:9>\n"
     "    StatsdMaxNameLength 965\n</VirtualHost>", "965"),
]


@pytest.mark.parametrize("conf,name_len", TOO_SMALL, ids=["server", "edge", "location",
                                                          "vhost"])
def test_configtest_rejects_packet_smaller_than_the_longest_line(httpd_factory, conf,
                                                                 name_len):
    h = httpd_factory("smallpacket", conf=statsd_conf(8125) + conf + "\n")
    packet = conf.split()[1]
    assert_configtest_rejects(h, conf, "StatsdMaxPacketSize", packet)
    rc, out = h.configtest()
    assert PACKET_TOO_SMALL + ":" in out and f"StatsdMaxNameLength {name_len}" in out, out


@pytest.fixture(scope="module")
def edge():
    # the largest name a 512-byte datagram takes: 512 - 36
    lst = UdpListener()
    h = Httpd("edgepacket")
    h.conf_extra = statsd_conf(lst.port) + ("StatsdMaxPacketSize 512\n"
                                            "StatsdMaxNameLength 476\n")
    yield from serve_env(h, lst)


def test_longest_name_fits_the_smallest_packet(edge):
    rc, out = edge.httpd.configtest()
    assert rc == 0 and "Syntax OK" in out, out
    edge.fresh()
    segs = ["x" * 50] * 12
    assert edge.httpd.get("/" + "/".join(segs)).status == 404
    # test.NAME.GET.404 in 476 bytes: NAME gets 463, i.e. 9 whole segments
    # (the two long lines cannot share a datagram: three of them)
    assert_lines(edge.listener, std_lines(".".join(segs[:9]), "GET", 404), datagrams=3)
    assert max(len(d) for d in edge.listener.raw_datagrams()) <= 512
