"""Error-log checks by message id.

Every log message of the module starts with a stable id (STATSD00010: ...);
httpd's own messages mostly carry AH ids. Tests say which ids they expect,
never which text; only httpd's few messages without an id (".htaccess: X
not allowed here") are expected by a regex, and a regex never excuses a
line of the module. A line is bad when it is at error level or worse, a
module warning, a crashed child or a sanitizer report.
"""

import re

# the module's message ids and what each one says
MSG = {
    "STATSD00001": "cannot set up destination %s",
    "STATSD00002": "cannot set up batching for %s",
    "STATSD00003": "destination %s does not resolve; its metrics are dropped and counted",
    "STATSD00004": "destination %s resolves now",
    "STATSD00005": "destination %s has a new address",
    "STATSD00006": "mod_watchdog is needed",
    "STATSD00007": "cannot start the child watchdog",
    "STATSD00008": "no memory for StatsdMaxNames; names are not limited",
    "STATSD00009": "cannot open a socket for %s",
    "STATSD00010": "N datagram(s) to %s dropped since the last report",
    "STATSD00011": "N send(s) on a closed socket",
    "STATSD00020": "StatsdExclude '%s' gave up on a path segment",
    "STATSD00021": "StatsdMaxPacketSize %ld is too small for StatsdMaxNameLength %ld",
    "STATSD00040": "destination %s: no answer from the resolver within %d ms",
    "STATSD00041": "cannot look destination %s up at start-up",
    "STATSD00042": "cannot start this child's resolver",
    "STATSD00050": "N datagram(s) to %s dropped since the last report (worker gauges)",
    "STATSD00051": "cannot add the worker gauges to the child watchdog",
    "STATSD00060": "StatsdTag in %s, but its StatsdTagFormat is none",
    "STATSD00061": "N tag(s) of %s left out",
    "STATSD00070": "cannot create N bytes of shared memory",
}
CANNOT_SET_UP = "STATSD00001"
CANNOT_BATCH = "STATSD00002"
UNRESOLVED = "STATSD00003"
RESOLVES_NOW = "STATSD00004"
NEW_ADDRESS = "STATSD00005"
NO_WATCHDOG = "STATSD00006"
NO_CHILD_WATCHDOG = "STATSD00007"
NO_MEMORY_FOR_NAMES = "STATSD00008"
NO_SOCKET = "STATSD00009"
DROPPED = "STATSD00010"
CLOSED_SOCKET_SENDS = "STATSD00011"
EXCLUDE_GAVE_UP = "STATSD00020"
PACKET_TOO_SMALL = "STATSD00021"
NO_RESOLVER_ANSWER = "STATSD00040"
CANNOT_LOOK_UP = "STATSD00041"
NO_CHILD_RESOLVER = "STATSD00042"
GAUGES_DROPPED = "STATSD00050"
GAUGES_NO_WATCHDOG = "STATSD00051"
TAGS_NO_FORMAT = "STATSD00060"
TAGS_LEFT_OUT = "STATSD00061"
NO_SHARED_MEMORY = "STATSD00070"

ID_RE = re.compile(r"^(STATSD|AH)\d{5}$")

BAD_LOG_RE = re.compile(
    r"\[[A-Za-z0-9_]+:(error|crit|alert|emerg)\]"   # error level or worse
    r"|\[statsd:warn\]"                              # module warnings
    r"|exit signal"                                  # a child crashed
    r"|AddressSanitizer|LeakSanitizer|^==\d+==")     # sanitizer reports

_PID_RE = re.compile(r"\[pid (\d+)")


def id_pattern(msgid):
    """The regex of a message id as it starts a message: `ID: `."""
    if not ID_RE.match(msgid):
        raise ValueError(f"not a message id: {msgid!r} (STATSDnnnnn or AHnnnnn)")
    return re.compile(r"(?<![A-Za-z0-9])" + msgid + r":")


def expectation(e):
    """(pattern, is_id) of an expected id, or of a regex for an httpd
    message that has no id."""
    if ID_RE.match(e):
        return id_pattern(e), True
    return re.compile(e), False


def bad_lines(text, expected=()):
    """Bad lines of an error-log text, except those an expectation excuses."""
    exps = [expectation(e) for e in expected]
    out = []
    for line in text.splitlines():
        if not BAD_LOG_RE.search(line):
            continue
        module = "[statsd:" in line
        if not any(p.search(line) for p, is_id in exps if is_id or not module):
            out.append(line)
    return out


def lines_with(text, msgid):
    """Lines of an error-log text that carry the message id."""
    p = id_pattern(msgid)
    return [line for line in text.splitlines() if p.search(line)]


def drop_reports(text):
    """[(pid, count, line)] of the module's dropped-datagram reports."""
    out = []
    for line in lines_with(text, DROPPED):
        pid = _PID_RE.search(line)
        cnt = re.search(DROPPED + r": (\d+) ", line)
        out.append((pid.group(1) if pid else None,
                    int(cnt.group(1)) if cnt else None, line))
    return out


def message(line, msgid):
    """What follows `ID: ` on a line."""
    return line.split(msgid + ": ", 1)[-1]
