"""What a tenant's .htaccess may say: only naming inside the server's own
prefix (Statsd On|Off, StatsdStat, StatsdAggregateStat, StatsdHTTPVerbs).
Every other directive makes a request to that directory a 500, whether
.htaccess is open through `AllowOverride All` or through an
`AllowOverrideList` that names the directive; it is never applied: the
request is measured at the server's destination, under its prefix."""

import pytest

from statsdtest.lines import assert_lines, assert_nothing_after_marker, request_lines, std_lines
from statsdtest.servers import serve_htaccess

REFUSED = {
    "host": "StatsdHost 127.0.0.1",
    "port": "StatsdPort {other}",
    "server": "StatsdServer udp://127.0.0.1:{other}",
    "prefix": "StatsdPrefix shop",
    "suffix": "StatsdSuffix tenant",
    "exclude": "StatsdExclude ^x$",
    "statheader": "StatsdStatHeader X-Tenant",
    "timeunit": "StatsdTimeUnit us",
    "legacymode": "StatsdLegacyMode Off",
    "servicestats": "StatsdServiceStats Off",
    "maxnamelength": "StatsdMaxNameLength 64",
    "collapseids": "StatsdCollapseIds On",
    "maxnames": "StatsdMaxNames 5",
    "maxpacketsize": "StatsdMaxPacketSize 600",
    "flushinterval": "StatsdFlushInterval 5",
    "scoreboardinterval": "StatsdScoreboardInterval 5",
    "tagformat": "StatsdTagFormat dogstatsd",
    "tag": "StatsdTag team shop",
    "tagmode": "StatsdTagMode On",
    "timertype": "StatsdTimerType h",
}
ALLOWED = {
    "off": "Statsd Off",
    "stat": "StatsdStat tenant.page",
    "aggregate": "StatsdAggregateStat tenant.all",
    "verbs": "StatsdHTTPVerbs POST",
}
# every directive of the module: AllowOverrideList opens .htaccess to all
LISTED = [line.split()[0] for line in (*REFUSED.values(), *ALLOWED.values())]
REFUSAL = {"all": "not allowed here", "list": "cannot occur within htaccess files"}
# main server only: httpd refuses them in .htaccess even when listed
SERVER_ONLY = {"maxnames", "maxpacketsize", "flushinterval", "scoreboardinterval"}


@pytest.fixture(scope="module")
def ht():
    overrides = {"all": "AllowOverride All", "fileinfo": "AllowOverride FileInfo",
                 "list": f"AllowOverride None\nAllowOverrideList {' '.join(LISTED)}"}
    htaccess = {f"{base}/{d}": line + "\n"
                for base in ("all", "list") for d, line in REFUSED.items()}
    htaccess.update({f"{base}/{d}": line + "\n"
                     for base in ("all", "fileinfo", "list") for d, line in ALLOWED.items()})
    yield from serve_htaccess("htaccess-tenant", overrides, htaccess,
                              expected=tuple(REFUSAL.values()))


@pytest.fixture
def hte(ht):
    ht.other.reset()
    return ht.fresh()


@pytest.mark.error_log_expect(*REFUSAL.values())   # core, no id
@pytest.mark.parametrize("base", sorted(REFUSAL))
@pytest.mark.parametrize("d", sorted(REFUSED))
def test_directive_in_htaccess_is_refused(hte, base, d):
    directive = REFUSED[d].split()[0]
    since = hte.httpd.error_log_size()
    r = hte.httpd.get(f"/{base}/{d}/")
    assert r.status == 500, r
    log = hte.httpd.error_log_text(since)
    why = REFUSAL["all" if d in SERVER_ONLY else base]
    assert f"/{base}/{d}/.htaccess: {directive} {why}" in log, log[-2000:]
    # measured as the server says: its destination, its prefix, its units
    assert_lines(hte.listener, std_lines(f"{base}.{d}", "GET", 500))
    assert hte.other.lines() == []


@pytest.mark.parametrize("base", ["all", "fileinfo", "list"])
def test_statsd_off_in_htaccess(hte, base):
    r = hte.httpd.get(f"/{base}/off/")
    assert r.status == 200 and r.body == b"off\n"
    assert_nothing_after_marker(hte.listener, lambda: hte.httpd.get("/marker"),
                                std_lines("marker", "GET", 404))


@pytest.mark.parametrize("base", ["all", "fileinfo", "list"])
def test_stat_in_htaccess_names_inside_the_prefix(hte, base):
    assert hte.httpd.get(f"/{base}/stat/").status == 200
    assert_lines(hte.listener, std_lines("tenant.page", "GET", 200))


@pytest.mark.parametrize("base", ["all", "fileinfo", "list"])
def test_aggregate_stat_in_htaccess(hte, base):
    assert hte.httpd.get(f"/{base}/aggregate/").status == 200
    assert_lines(hte.listener, request_lines(
        f"test.{base}.aggregate.GET.200", 200, aggregate="test.tenant.all.GET.200"))


@pytest.mark.parametrize("base", ["all", "fileinfo", "list"])
def test_http_verbs_in_htaccess(hte, base):
    assert hte.httpd.get(f"/{base}/verbs/").status == 200
    assert_lines(hte.listener, std_lines(f"{base}.verbs", "OtherVerbs", 200))
