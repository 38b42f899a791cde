"""What bench/classroom_net.py's scenarios share: a class started and joined over HTTP as the
pages do, students' pages opened at once, the CPU a run took, and the figures' formats."""
import asyncio
import os
import resource
import time
from pathlib import Path

import numpy as np

from bench.load import cpu_seconds
from bench.page_client import Page


class Cpu:
    """Server and client CPU, and the machine's, over a run (the clients share its cores)."""

    def __init__(self, server_pid_list):
        self.pids = server_pid_list

    @staticmethod
    def machine():
        fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(fields), fields[3] + fields[4]

    @staticmethod
    def waited(pids):
        """Seconds the processes' threads spent runnable but waiting for a CPU (schedstat)."""
        total = 0
        for pid in pids:
            for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
                try:
                    total += int(task.read_text().split()[1])
                except (OSError, IndexError, ValueError):
                    pass
        return total / 1e9

    def __enter__(self):
        self.wait0 = self.waited(self.pids), self.waited([os.getpid()])
        self.t0 = time.perf_counter()
        self.server0 = cpu_seconds(self.pids)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.client0 = usage.ru_utime + usage.ru_stime
        self.machine0 = self.machine()
        return self

    def __exit__(self, *_):
        wall = time.perf_counter() - self.t0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        total, idle = (a - b for a, b in zip(self.machine(), self.machine0))
        self.figures = {
            "server_cores": (cpu_seconds(self.pids) - self.server0) / wall,
            "client_cores": (usage.ru_utime + usage.ru_stime - self.client0) / wall,
            "machine_busy": 1 - idle / max(total, 1),
            "load": os.getloadavg()[0],
            # Runnable but not running: the CPU others' processes took from the server and clients.
            "server_waited": (self.waited(self.pids) - self.wait0[0]) / wall,
            "client_waited": (self.waited([os.getpid()]) - self.wait0[1]) / wall,
        }


def start_class(url):
    import requests

    teacher = requests.Session()
    location = teacher.post(url + "/class", allow_redirects=False, timeout=30).headers["Location"]
    return teacher, location.rstrip("/").split("/")[-2]


def join_as_student(url, code, name):
    import requests

    session = requests.Session()
    response = session.post(url + "/join", data={"code": code, "name": name}, allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text[:200]
    return session


def cookie_of(session):
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


async def class_pages(url, code, names, ack_delays=None):
    """Students join (HTTP, as the join form does) and open their pages, all at once."""

    async def one(name):
        session = await asyncio.to_thread(join_as_student, url, code, name)
        page = Page(name, ack_delay=(ack_delays or {}).get(name, 0.0))
        await page.connect(url, cookie_of(session))
        await page.join(code, "student")
        return page

    return list(await asyncio.gather(*(one(name) for name in names)))


async def close_all(pages):
    await asyncio.gather(*(page.close() for page in pages))


def ms(values):
    """p50, p99 in ms; a missing answer counts as infinitely late."""
    if not len(values):
        return float("nan"), float("nan")
    return tuple(float(np.percentile(np.asarray(values) * 1000, q, method="inverted_cdf")) for q in (50, 99))


def kbps(bytes_per_s):
    return f"{bytes_per_s / 1000:,.0f} kB/s ({bytes_per_s * 8 / 1e6:.1f} Mbit/s)"


def fmt(x):
    return "lost" if x == float("inf") else f"{x:,.0f} ms"


def cpu_text(r):
    return (f"server {r['server_cores']:.2f}, clients {r['client_cores']:.2f} cores; waiting for a CPU: server "
            f"{r.get('server_waited', 0):.2f}, clients {r.get('client_waited', 0):.2f} s/s; machine {r['machine_busy']:.0%} busy, load {r['load']:.1f}")
