#!/usr/bin/env python3
"""Write the seed inputs of fuzz/fuzz_names.c into fuzz/corpus/.

    /usr/bin/python3 fuzz/gen_corpus.py [DIR]

The input layout is described at the top of fuzz_names.c: an 18-byte
header (options, max name length, status, duration, packet size, small
counts, more options), then the fields uri, note, method, prefix, suffix, aggregate,
target, host separated by NUL (or by 0xff with SEP_FF, so that a field
can hold a NUL). Re-running rewrites the same files byte for byte.
"""

import os
import struct
import sys

# hdr[0]
MS, US, S = 0, 1, 2
LEGACY, SERVICE, COLLAPSE, SEP_FF = 0x04, 0x08, 0x10, 0x20
SRC_URI, SRC_NOTE, SRC_STAT = 0 << 6, 1 << 6, 2 << 6
# hdr[1]
EX_DIGIT, EX_ODD, EX_ALL = 1, 2, 3
INPLACE, TRANSPORT, BATCH, NAMESET, HOSTNAME, AGGREGATE = (
    0x04, 0x08, 0x10, 0x20, 0x40, 0x80)
# hdr[17]
METHOD_CLEAN = 0x01
TAGS, TIMER_H, TIMER_D, TAG_MODE = 0x02, 1 << 2, 2 << 2, 0x10

FIELDS = ("uri", "note", "method", "prefix", "suffix", "aggregate", "target",
          "host", "tags")


def tags(*pairs):
    """The tags field: key 0x02 value, pairs joined by 0x01."""
    return b"\x01".join(k.encode("latin-1") + b"\x02" + v.encode("latin-1")
                        for k, v in pairs)


def seed(o0=LEGACY | SERVICE, o1=0, max_len=250, status=200, usec=12345,
         packet=1432, small=0, o2=METHOD_CLEAN, **fields):
    """One input; max_len and packet are encoded so the target decodes
    them back to the values given (within their ranges)."""
    ml = (max_len - 32) % 993
    pk = (packet - 512) % (65000 - 512 + 1)
    head = struct.pack("<BBHHQHBB", o0, o1, ml, status, usec, pk, small, o2)
    sep = b"\xff" if o0 & SEP_FF else b"\x00"
    parts = []
    for name in FIELDS:
        v = fields.pop(name, b"")
        parts.append(v.encode("latin-1") if isinstance(v, str) else v)
    assert not fields, fields
    for v in parts:
        assert sep not in v, (sep, v[:40])
    return head + sep.join(parts).rstrip(sep)


SEEDS = {
    # examples of the naming rules
    "spec-query": seed(uri="/foo/bar?baz=42", method="GET", prefix="test"),
    "spec-slashes": seed(uri="///basic///foo///", method="GET", prefix="test"),
    "spec-dot": seed(uri="/basic/x.y", method="POST", status=201, prefix="test"),
    "spec-punct": seed(uri="/basic/x:y|z", method="GET", status=404,
                       prefix="test."),
    "root": seed(uri="/", method="HEAD", status=304),
    "options-star": seed(uri="*", method="OPTIONS"),
    "empty-uri": seed(uri="", method="", status=400),
    # hostile bytes, raw and percent-encoded
    "pct-newline-nul": seed(uri="/a%0ab%00c%0D%0A/d%3a1%7Cc%40x%23y",
                            method="GET", prefix="p"),
    "raw-high-bytes": seed(uri=b"/caf\xc3\xa9/\x80\xfe/%C3%A9%FF",
                           method=b"G\xc3\xa9T", status=500, o2=0),
    "raw-nul-and-ff": seed(o0=LEGACY | SERVICE | SEP_FF,
                           uri=b"/a\x00b/\r\n/c d/\x7f",
                           note=b"x\x00y", method=b"GE\x00T", o2=0),
    "raw-ctl-note": seed(o0=LEGACY | SERVICE | SRC_NOTE,
                         uri="/fallback", note="my stat\nname:1|c@#,;=",
                         method="GET"),
    "pct-edges": seed(uri="/%/%4/%zz/%2F/%2f%2F/%%41/%4g/end%", method="GET"),
    # dot segments, raw and encoded
    "dot-segments": seed(uri="/a/b/../../../c/./d/%2e%2e/e/%2E/f/.../..%2e/g/..",
                         method="GET"),
    "dot-only": seed(uri="/../..//./%2e/%2E%2e/", method="GET"),
    "dots-in-note": seed(o0=LEGACY | SERVICE | SRC_NOTE, note="..a..b...c..",
                         method="GET"),
    # absolute-form and look-alikes
    "absolute-form": seed(uri="http://example.com:8080/x/y?z=1#frag",
                          method="GET"),
    "absolute-noslash": seed(uri="HTTPS://h", method="CONNECT"),
    "absolute-badscheme": seed(uri="x/y://z/w", method="GET", status=400),
    "absolute-userinfo": seed(uri="http://u:p@h/%2e%2e/../a", method="GET"),
    # ids and the cardinality guard
    "collapse-ids": seed(o0=LEGACY | SERVICE | COLLAPSE, o1=NAMESET, small=0x0a,
                         uri="/user/12345/orders/550e8400-e29b-41d4-a716-"
                             "446655440000/deadbeef00/aB3dE5fG7hJ9kL1m/7",
                         method="GET", prefix="svc"),
    "exclude-digits": seed(o1=EX_DIGIT, uri="/api/v1/123/items/9x/../z",
                           method="DELETE", status=204),
    "exclude-odd": seed(o1=EX_ODD, uri="/ok/n%20o/x.y/fine/..", method="PUT"),
    "exclude-all": seed(o1=EX_ALL, uri="/a/b/c", method="GET"),
    # names from config and notes
    "statsdstat": seed(o0=LEGACY | SERVICE | SRC_STAT | COLLAPSE,
                       note="admin.named.12345", uri="/ignored",
                       method="GET", aggregate="all.requests",
                       o1=AGGREGATE),
    "aggregate-5xx": seed(o0=LEGACY | SERVICE, o1=AGGREGATE, status=503,
                          uri="/x", method="GET", prefix="pre", suffix="suf",
                          aggregate=".agg..gate."),
    "hostname-affix": seed(o1=HOSTNAME | INPLACE,
                           prefix="{hostname}.web.{hostname", suffix="{hostname}",
                           host="web-01.example.com", uri="/h", method="GET"),
    "hostname-bad": seed(o1=HOSTNAME, prefix="a{hostname}b",
                         host="we b\x01.x", uri="/h", method="GET"),
    # caps: tight max length, long prefix/suffix/method
    "tight-caps": seed(max_len=32, prefix="p" * 300, suffix="s." * 150,
                       uri="/" + "/".join("seg%d" % i for i in range(40)),
                       method="M" * 40, status=999, o2=0),
    "max-caps": seed(max_len=1024, prefix="pp." * 66, suffix="ss." * 66,
                     uri="/" + "/".join("x" * 50 for _ in range(40)),
                     method="PROPFIND", status=207),
    # units and durations
    "unit-us-zero": seed(o0=US | LEGACY | SERVICE, usec=0, uri="/t", method="GET"),
    "unit-s-big": seed(o0=S | SERVICE, usec=2 ** 64 - 1, uri="/t", method="GET"),
    "unit-ms-round": seed(o0=MS, usec=1000000, uri="/t", method="GET",
                          small=0xe0),
    # transport: small packets, long keys, batching
    "transport-small": seed(o1=TRANSPORT | AGGREGATE, max_len=1024, packet=512,
                            uri="/" + "k" * 900, aggregate="a" * 600,
                            method="GET", small=0x18, prefix="p"),
    "transport-batch": seed(o1=TRANSPORT | BATCH, packet=1432, small=0x18,
                            uri="/b/a/t/c/h", method="GET", prefix="bench"),
    # destinations
    "target-udp6": seed(target="udp://[::1]:8125", host="[::1]", uri="/"),
    "target-unix": seed(target="unix:/run/statsd.sock", host="localhost",
                        uri="/"),
    "target-udp-noport": seed(target="UDP://statsd.example", host="65535",
                              uri="/"),
    "target-bad": seed(target="udp://::1:8125", host="[fe80::1%eth0]",
                       uri="/"),
    # long paths (the module takes up to httpd's LimitRequestLine; the
    # fuzzer goes to 64 KB)
    "long-one-segment": seed(uri="/" + "a" * 65536, method="GET"),
    "long-many-segments": seed(uri="/" + "seg/" * 16000, method="GET",
                               o0=LEGACY | SERVICE | COLLAPSE),
    "collapse-long-segment": seed(o0=LEGACY | SERVICE | COLLAPSE,
                                  uri="/" + "a" * 1100 + "/x", method="GET",
                                  status=404, prefix="p"),
    # tags in every dialect: the example, hostile keys and values,
    # past the caps, tag mode with an aggregate and a suffix, timer types
    "tags-example": seed(o2=METHOD_CLEAN | TAGS | TAG_MODE, uri="/cart/items",
                         method="GET", prefix="shop", tags=tags(("env", "prod"))),
    "tags-classic": seed(o2=METHOD_CLEAN | TAGS | TIMER_H, o1=AGGREGATE,
                         uri="/a/b", method="GET", prefix="p", aggregate="all",
                         tags=tags(("env", "prod"), ("team", "web"), ("env", "dev"))),
    "tags-hostile": seed(o0=LEGACY | SERVICE | SEP_FF, o2=TAGS | TAG_MODE | TIMER_D,
                         o1=AGGREGATE, status=503,
                         uri="/x%7Cy/%23z%2C%3A%3B%3D%20w", method="G|#,:;= \n",
                         prefix="p", suffix="s", aggregate="a|b",
                         tags=tags(("k|#,:;=", "v|#,:;= \n\r\x80"), ("1bad", "x"),
                                   ("", "x"), ("e", ""), ("route", "x"),
                                   ("ok", "\x00\xfe"))),
    "tags-caps": seed(o2=METHOD_CLEAN | TAGS | TAG_MODE, o1=AGGREGATE,
                      max_len=1024, uri="/" + "r" * 300, method="M" * 40,
                      prefix="p" * 200, suffix="s" * 200, aggregate="a" * 300,
                      tags=tags(*[(f"k{i}", "v" * (i * 9)) for i in range(20)],
                                ("big", "x" * 200), ("k" * 80, "y"))),
    "long-dotdot": seed(uri="/a" * 8000 + "/.." * 8001 + "/z", method="GET"),
    # the scan's bounds: the 64th segment, a name full before it, and a
    # ".." just past the cap
    "bound-segments": seed(o1=EX_ODD, uri="/x" * 64 + "/.." + "/y", method="GET"),
    "bound-full": seed(o1=EX_DIGIT, max_len=32, uri="/abcdefgh/1/ijklmnop/2"
                       "/qrstuvwx/yz/../../../..", method="GET"),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {out}")


if __name__ == "__main__":
    main()
