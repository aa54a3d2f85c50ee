"""Free ports, bounded waits and /proc lookups, for every harness user."""

import os
import signal
import socket
import subprocess
import time


def free_port(kind=socket.SOCK_STREAM, host="127.0.0.1", family=socket.AF_INET):
    """A port with (at the time of asking) nothing bound to it."""
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_tcp_port(host="127.0.0.1"):
    return free_port(socket.SOCK_STREAM, host)


def free_udp_port(host="127.0.0.1", family=socket.AF_INET):
    return free_port(socket.SOCK_DGRAM, host, family)


def wait_for(pred, timeout, step=0.05):
    """Poll pred() until it is truthy or timeout passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def tcp_listening(port, host="127.0.0.1", timeout=0.5):
    """A bare connect: no request is sent, so nothing is measured."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def proc_stat(pid):
    """(ppid, (utime, stime), (cutime, cstime), state) in ticks, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # rest[0] is field 3 (state); utime is field 14 -> rest[11]
    try:
        return (int(rest[1]), (int(rest[11]), int(rest[12])),
                (int(rest[13]), int(rest[14])), rest[0])
    except (IndexError, ValueError):
        return None


def alive(pid):
    """Running and not a zombie."""
    st = proc_stat(pid) if pid else None
    return st is not None and st[3] != "Z"


def children(pid):
    """Pids whose parent is pid (zombies included), sorted."""
    kids = []
    if not pid:
        return kids
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st and st[0] == pid:
                kids.append(int(entry))
    return sorted(kids)


def start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def fd_targets(pid):
    out = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    except OSError:
        pass
    return sorted(out)


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def stop_popen(proc, seconds=10):
    """SIGTERM our child process, SIGKILL it if it does not exit in time."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def udp_rcvbuf_errors():
    """Kernel UDP receive-buffer drops so far (from /proc/net/snmp)."""
    try:
        with open("/proc/net/snmp") as f:
            lines = [l.split() for l in f if l.startswith("Udp:")]
        return int(dict(zip(lines[0][1:], lines[1][1:])).get("RcvbufErrors", 0))
    except (OSError, IndexError, ValueError):
        return 0
