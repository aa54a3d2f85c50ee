"""Tag mode under sections below the server: a <Location> that sets tags,
a suffix, a prefix or a timer type gets lines with its own parts, and one
that sets only other directives keeps the server's. Exact lines."""

import pytest

from statsdtest.httpd import Httpd
from statsdtest.lines import assert_tagged_lines, statsd_conf
from statsdtest.listeners import UdpListener
from statsdtest.servers import serve_env


@pytest.fixture(scope="module")
def env():
    lst = UdpListener()
    h = Httpd("tag-sections")
    for d in ("plain", "canary", "sfx", "pfx", "dist", "quiet"):
        h.add_file(f"{d}/x", "x\n")
    h.conf_extra = statsd_conf(lst.port, prefix="shop", extra="""\
StatsdTagFormat dogstatsd
StatsdTagMode On
StatsdTag env prod
StatsdTag team web
<Location /canary>
    StatsdTag env canary
</Location>
<Location /sfx>
    StatsdSuffix web2
</Location>
<Location /pfx>
    StatsdPrefix other
</Location>
<Location /dist>
    StatsdTimerType d
</Location>
<Location /quiet>
    StatsdLegacyMode Off
    StatsdServiceStats Off
</Location>
""")
    yield from serve_env(h, lst)


def get(env, path):
    r = env.httpd.get(path)
    assert r.status == 200, r
    return r


def test_server_level(env):
    env.fresh()
    get(env, "/plain/x")
    assert_tagged_lines(env.listener, [
        "shop.request.time:<dur>|ms|#env:prod,team:web,route:plain.x,method:GET,status:200",
        "shop.request.count:1|c|#env:prod,team:web,route:plain.x,method:GET,status:200",
        "shop.responses.good:1|c|#env:prod,team:web",
        "shop.responses.time:<dur>|ms|#env:prod,team:web",
    ])


def test_location_tags(env):
    env.fresh()
    get(env, "/canary/x")
    assert_tagged_lines(env.listener, [
        "shop.request.time:<dur>|ms|#env:canary,team:web,route:canary.x,method:GET,status:200",
        "shop.request.count:1|c|#env:canary,team:web,route:canary.x,method:GET,status:200",
        "shop.responses.good:1|c|#env:canary,team:web",
        "shop.responses.time:<dur>|ms|#env:canary,team:web",
    ])


def test_location_suffix(env):
    env.fresh()
    get(env, "/sfx/x")
    assert_tagged_lines(env.listener, [
        "shop.request.time.web2:<dur>|ms|#env:prod,team:web,route:sfx.x,method:GET,status:200",
        "shop.request.count.web2:1|c|#env:prod,team:web,route:sfx.x,method:GET,status:200",
        "shop.responses.good:1|c|#env:prod,team:web",
        "shop.responses.time:<dur>|ms|#env:prod,team:web",
    ])


def test_location_prefix(env):
    env.fresh()
    get(env, "/pfx/x")
    assert_tagged_lines(env.listener, [
        "other.request.time:<dur>|ms|#env:prod,team:web,route:pfx.x,method:GET,status:200",
        "other.request.count:1|c|#env:prod,team:web,route:pfx.x,method:GET,status:200",
        "other.responses.good:1|c|#env:prod,team:web",
        "other.responses.time:<dur>|ms|#env:prod,team:web",
    ])


def test_location_timer_type(env):
    env.fresh()
    get(env, "/dist/x")
    assert_tagged_lines(env.listener, [
        "shop.request.time:<dur>|d|#env:prod,team:web,route:dist.x,method:GET,status:200",
        "shop.request.count:1|c|#env:prod,team:web,route:dist.x,method:GET,status:200",
        "shop.responses.good:1|c|#env:prod,team:web",
        "shop.responses.time:<dur>|d|#env:prod,team:web",
    ])


def test_location_other_settings(env):
    env.fresh()
    get(env, "/quiet/x")
    assert_tagged_lines(env.listener, [
        "shop.request.time:<dur>|ms|#env:prod,team:web,route:quiet.x,method:GET,status:200",
    ])
