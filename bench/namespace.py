"""A network namespace whose loopback is a shaped link, for the benchmarks that emulate a
classroom's network on one machine (bench/classroom_net.py): run a command inside one,
shape the link (tc tbf, optionally with one port let through unshaped), read its counters
and the server's sockets. Only that namespace's loopback is touched; it is removed at the
end, on an error or Ctrl-C too."""
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time

NS_PREFIX = "cnnbench-"


def sh(*command, check=True):
    return subprocess.run(command, check=check, capture_output=True, text=True).stdout


TBF_LATENCY = "100ms"  # the shaper's queue: 100 ms of the link (--tbf-latency, for diagnosis)


def shape(rate, bypass_port=None):
    """The namespace's loopback as the link: `rate` (None or "unshaped": unshaped); packets
    to or from `bypass_port` (the teacher) are not shaped."""
    sh("tc", "qdisc", "del", "dev", "lo", "root", check=False)
    if rate in (None, "unshaped"):
        return
    tbf = ["tbf", "rate", rate, "burst", "64kb", "latency", TBF_LATENCY]
    if bypass_port is None:
        sh("tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", *tbf)
        return
    # (This kernel has no prio qdisc: htb with two unlimited classes, the tbf under one.)
    sh("tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10")
    for classid in ("1:10", "1:20"):
        sh("tc", "class", "add", "dev", "lo", "parent", "1:", "classid", classid, "htb", "rate", "10gbit")
    sh("tc", "qdisc", "add", "dev", "lo", "parent", "1:10", "handle", "20:", *tbf)
    for direction in ("dport", "sport"):
        sh("tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
           "match", "ip", direction, str(bypass_port), "0xffff", "flowid", "1:20")


def link_stats():
    """The shaper's counters: bytes sent (both directions, with headers), drops, overlimits."""
    for qdisc in json.loads(sh("tc", "-s", "-j", "qdisc", "show", "dev", "lo") or "[]"):
        if qdisc.get("kind") == "tbf":
            return {"bytes": qdisc.get("bytes", 0), "drops": qdisc.get("drops", 0), "overlimits": qdisc.get("overlimits", 0)}
    return {"bytes": 0, "drops": 0, "overlimits": 0}


async def server_sockets(port):
    """{client port: (bytes the server sent and had acknowledged, bytes it received)}."""
    process = await asyncio.create_subprocess_exec(
        "ss", "-tinH", "state", "established", f"( sport = :{port} )", stdout=subprocess.PIPE
    )
    out = (await process.communicate())[0].decode()
    found, peer = {}, None
    for line in out.splitlines():
        address = re.match(r"\s*\d+\s+\d+\s+\S+:\d+\s+\S+:(\d+)", line)
        if address:
            peer = int(address.group(1))
            continue
        if peer is not None:
            acked = re.search(r"bytes_acked:(\d+)", line)
            received = re.search(r"bytes_received:(\d+)", line)
            found[peer] = (int(acked.group(1)) if acked else 0, int(received.group(1)) if received else 0)
            peer = None
    return found


class Meter:
    """Samples the server's sockets once a second: bytes out to the clients over time."""

    def __init__(self, port, exclude=()):
        self.port, self.exclude, self.samples = port, set(exclude), []

    async def run(self, until):
        while True:
            sockets = await server_sockets(self.port)
            out = sum(a for p, (a, _) in sockets.items() if p not in self.exclude)
            back = sum(r for p, (_, r) in sockets.items() if p not in self.exclude)
            link = (await asyncio.to_thread(link_stats))["bytes"]
            self.samples.append((time.perf_counter(), out, back, link))
            if time.perf_counter() > until:
                return
            await asyncio.sleep(min(1.0, max(0.0, until - time.perf_counter())))

    def rate(self, start, end):
        """(server → clients, clients → server, the shaped link both ways with headers)
        bytes a second between `start` and `end`."""
        inside = [s for s in self.samples if start - 0.5 <= s[0] <= end + 0.5]
        if len(inside) < 2:
            return 0.0, 0.0, 0.0
        first, last = inside[0], inside[-1]
        return tuple((b - a) / (last[0] - first[0]) for a, b in zip(first[1:], last[1:]))


def netns_problem():
    """Why this machine cannot run the benchmark (None when it can)."""
    if os.geteuid() != 0:
        return "needs root (or CAP_NET_ADMIN) for `ip netns` and `tc`"
    name = f"{NS_PREFIX}probe-{os.getpid()}"
    try:
        made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    except FileNotFoundError:
        return "`ip` not found: install iproute2"
    if made.returncode != 0:
        return f"`ip netns add` is not permitted here: {made.stderr.strip()}"
    try:
        # What shape() uses: htb, a tbf under one of its classes, a u32 filter.
        for command in (["qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10"],
                        ["class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit"],
                        ["qdisc", "add", "dev", "lo", "parent", "1:10", "handle", "20:", "tbf", "rate", "2mbit",
                         "burst", "64kb", "latency", "100ms"],
                        ["filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                         "match", "ip", "dport", "80", "0xffff", "flowid", "1:10"]):
            shaped = subprocess.run(["ip", "netns", "exec", name, "tc", *command], capture_output=True, text=True)
            if shaped.returncode != 0:
                return f"`tc {' '.join(command[:2])}` cannot shape a namespace's loopback here: {shaped.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def run_inside(module, argv):
    """`python -m module --inside argv...` in a namespace of its own, whose loopback is up
    with MTU 1500; the namespace and whatever is left in it go at the end (an error, Ctrl-C,
    SIGTERM too). Returns the exit status (2: this machine cannot, and says why)."""
    problem = netns_problem()
    if problem:
        print(f"{module}: {problem}", file=sys.stderr)
        return 2
    name = f"{NS_PREFIX}{os.getpid()}"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    subprocess.run(["ip", "netns", "add", name], check=True)
    child = None
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "mtu", "1500", "up"], check=True)
        child = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-m", "bench.classroom_net", "--inside", *argv])
        return child.wait()
    finally:
        if child is not None and child.poll() is None:
            try:
                child.wait(20)  # Ctrl-C reached it too: its server goes first
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                child.kill()
        # Anything still in the namespace is this run's (its server, its clients).
        leftover = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
        for pid in leftover:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        print(f"network namespace {name} removed", file=sys.stderr)
