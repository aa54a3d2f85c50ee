"""The status in the key and the good/bad/4xx/5xx lines is the one the
client received: a handler's invalid status (42, 1234, -5, or a code httpd
has no reason phrase for) goes out as 500 and is counted as 500; a CGI's
`Status: 299 X` goes out as 299 and is counted as 299."""

import os

import pytest

from statsdtest.httpd import Httpd
from statsdtest.lines import assert_lines, statsd_conf, std_lines
from statsdtest.listeners import UdpListener
from statsdtest.servers import serve_env

LUA_STATUS = """
function handle(r)
  r.status = {status}
  r.content_type = "text/plain"
  r:puts("status set\\n")
  return apache2.OK
end
"""

CGI_STATUS = """#!/bin/sh
printf 'Status: {line}\\r\\nContent-Type: text/plain\\r\\n\\r\\ncgi\\n'
"""

LUA = {"42": 42, "1234": 1234, "neg": -5, "299": 299, "201": 201}
CGI = {"s299": "299 X", "s404": "404 Gone Away", "s599": "599 Odd"}


@pytest.fixture(scope="module")
def env():
    lst = UdpListener()
    h = Httpd("sent-status", modules=("authz_core", "mime", "dir", "alias",
                                      "lua", "cgid"))
    conf = statsd_conf(lst.port) + f"""
ScriptSock "{h.run}/cgid.sock"
ScriptAlias /cgi/ "{h.scripts}/cgi/"
<Directory "{h.scripts}/cgi">
    Require all granted
</Directory>
"""
    for stem, status in LUA.items():
        path = h.add_script(f"lua_{stem}.lua", LUA_STATUS.format(status=status))
        conf += f'LuaMapHandler "^/lua/{stem}$" "{path}"\n'
    for stem, line in CGI.items():
        path = h.add_script(f"cgi/{stem}", CGI_STATUS.format(line=line))
        os.chmod(path, 0o755)
    h.conf_extra = conf
    yield from serve_env(h, lst)


@pytest.fixture
def e(env):
    return env.fresh()


@pytest.mark.parametrize("stem", ["42", "1234", "neg", "299"])
def test_invalid_handler_status_counts_as_sent_500(e, stem):
    r = e.httpd.get(f"/lua/{stem}")
    assert r.status == 500
    assert_lines(e.listener, std_lines(f"lua.{stem}", "GET", 500))


def test_valid_handler_status(e):
    assert e.httpd.get("/lua/201").status == 201
    assert_lines(e.listener, std_lines("lua.201", "GET", 201))


@pytest.mark.parametrize("stem,status", [("s299", 299), ("s404", 404),
                                         ("s599", 599)])
def test_cgi_status_line_as_sent(e, stem, status):
    r = e.httpd.get(f"/cgi/{stem}")
    assert r.status == status and r.body == b"cgi\n"
    assert_lines(e.listener, std_lines(f"cgi.{stem}", "GET", status))
