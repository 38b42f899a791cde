"""Load: many clients drawing real pen digits at once against the production server.

    python -m bench.load --clients 200 [--fps 10] [--seconds 20] [--processes 4]

Starts the server with README's production command (gunicorn, one worker, threads), then
`--clients` python-socketio clients spread over `--processes` processes. Every client
draws pen digits point by point, sending its drawing `--fps` times a second, and times
each answer against the send of the same `seq`. Frames never answered were coalesced by
the server (latest wins). Reports server CPU and peak RSS from /proc.
"""
import argparse
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from bench.common import drawing_states
from model.network import DEFAULT_MODEL_PATH
from webapp.frames import HEADER

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port=None, threads=100, worker="gevent", database=None, root=ROOT, dev=False, wait=180, env=None, log=None):
    """(process, url): README's production command (gevent), the older one with a thread
    per client (gthread), or the development server (`dev`), serving the app in `root` (another
    working tree, for a baseline); the classroom database in a temporary folder unless
    given. `wait`: seconds for the first page (a busy machine, a CI run beside, is slow).
    `env`: more environment variables (settings); `log`: a file for the server's log, which
    a test reads (else a temporary one, whose end an error shows)."""
    port = port or free_port()
    if dev:
        command = [sys.executable, "-m", "webapp", "--port", str(port)]
    else:
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
        options = ["-k", "gevent", "--worker-connections", "2000"] if worker == "gevent" else ["--threads", str(threads)]
        command = [gunicorn, *options, "-w", "1", "-b", f"127.0.0.1:{port}", "webapp:create_app()"]
    database = database or Path(tempfile.mkdtemp(prefix="cnnview-bench-")) / "classroom.sqlite3"
    env = {**os.environ, "CNNVIEW_CLASSROOM_DB": str(database), "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    log = open(log, "w+b") if log else tempfile.TemporaryFile()
    process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + wait
    while True:
        try:
            urllib.request.urlopen(url, timeout=5)
            return process, url
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                stop(process)
                log.seek(0)
                raise RuntimeError(f"the app in {root} did not start:\n" + log.read().decode(errors="replace")[-3000:])
            time.sleep(0.2)


def stop(process):
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def server_pids(master):
    """The server's processes: gunicorn's master, its worker and the worker's frame worker."""
    pids, i = [master], 0
    while i < len(pids):
        # Any of a process's threads may have started a child: read every thread's list.
        for children in Path(f"/proc/{pids[i]}/task").glob("*/children"):
            try:
                found = children.read_text().split()
            except (FileNotFoundError, ProcessLookupError):  # the thread ended since the listing
                continue
            pids += [int(p) for p in found if int(p) not in pids]
        i += 1
    return pids


def warm_up(url):
    """One drawing answered before measuring: the frame worker process is started on first use."""
    import socketio

    answered = threading.Event()
    client = socketio.Client(reconnection=False)
    client.on("frame", lambda data: answered.set())
    client.connect(url, transports=["websocket"], wait_timeout=30)
    client.emit("draw", {"seq": 1, "strokes": [[[0, 0], [0, 100]]], "width": 400, "height": 400})
    if not answered.wait(60):
        raise RuntimeError("the server did not answer a drawing")
    client.disconnect()


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def peak_rss_mb(pids):
    """The server's processes' peak resident memory, added up (an upper bound: pages they
    share, such as NumPy's libraries, count once per process)."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024


def run_clients(url, scripts, fps, seconds, ready, go, results):
    """One process's share of the clients; puts (sent, answered, round trips, correct, finished)."""
    try:
        import uvloop  # a faster event loop: the load generator shares the server's cores

        run = uvloop.run
    except ImportError:
        import asyncio

        run = asyncio.run
    run(_drive(url, scripts, fps, seconds, ready, go, results))


async def _drive(url, scripts, fps, seconds, ready, go, results):
    # asyncio clients (python-socketio's AsyncClient over aiohttp): one event loop drives a
    # process's share, so the load generator costs far less CPU than a thread per client
    # and leaves the machine's cores to the server it measures.
    import asyncio

    import socketio

    loop = asyncio.get_running_loop()
    sessions = []
    for states in scripts:
        session = {"sent": {}, "rt": [], "answered": 0, "correct": 0, "finished": 0, "labels": {}}
        client = socketio.AsyncClient(reconnection=False)
        client.on("frame", _on_frame(session))
        await client.connect(url, transports=["websocket"], wait_timeout=30)
        sessions.append((client, session, states))
    ready.put(len(sessions))
    await loop.run_in_executor(None, go.wait)  # every process connected: all start drawing together
    clients = len(sessions)
    start = time.perf_counter()
    period = 1.0 / fps
    tick = 0
    while time.perf_counter() - start < seconds:
        # Clients are spread evenly over the period, as real people would be.
        for i, (client, session, states) in enumerate(sessions):
            pause = start + tick * period + i * period / clients - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            strokes, expected = states[tick % len(states)]
            session["sent"][tick] = time.perf_counter()
            if expected is not None:
                session["labels"][tick] = expected
            await client.emit("draw", {"seq": tick, "strokes": strokes, "width": 400, "height": 400})
        tick += 1
    await asyncio.sleep(1.0)  # let the last answers arrive
    for client, _, _ in sessions:
        await client.disconnect()
    sent = sum(len(s["sent"]) for _, s, _ in sessions)
    answered = sum(s["answered"] for _, s, _ in sessions)
    rts = [rt for _, s, _ in sessions for rt in s["rt"]]
    correct = sum(s["correct"] for _, s, _ in sessions)
    finished = sum(s["finished"] for _, s, _ in sessions)
    results.put((sent, answered, rts, correct, finished))


def _on_frame(session):
    async def handle(data):
        now = time.perf_counter()
        _, _, _, digit, seq = HEADER.unpack_from(data, 0)
        sent = session["sent"].get(seq)
        if sent is not None:
            session["rt"].append(now - sent)
            session["answered"] += 1
        if seq in session["labels"]:
            session["finished"] += 1
            session["correct"] += digit == session["labels"][seq]

    return handle


def client_scripts(clients, steps=8):
    """Per client, one pen digit drawn in `steps` growing states, the whole digit last.

    The whole digit carries the digit the model itself reads from those strokes here,
    so every answer the server gives for it can be checked.
    """
    from model.parse_layers import describe_file
    from webapp.service import InferenceService

    service = InferenceService(describe_file(DEFAULT_MODEL_PATH))
    states = drawing_states(clients * steps, steps=steps)
    scripts = []
    for i in range(0, len(states), steps):
        chunk = [strokes for _, strokes in states[i : i + steps]]
        scripts.append([(strokes, None) for strokes in chunk[:-1]] + [(chunk[-1], service.from_strokes(chunk[-1]).digit)])
    return [scripts[i % len(scripts)] for i in range(clients)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--fps", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--processes", type=int, default=1, help="client processes (one event loop handles 200 clients)")
    parser.add_argument("--threads", type=int, default=100, help="gunicorn threads")
    parser.add_argument("--worker", default="gevent", choices=("gevent", "gthread"),
                        help="gunicorn worker: gevent (README's production command) or gthread (threads, for comparison)")
    args = parser.parse_args(argv)
    processes = max(1, min(args.processes, args.clients))

    scripts = client_scripts(args.clients)
    server, url = start_server(free_port(), max(args.threads, args.clients + 20), args.worker)
    try:
        warm_up(url)
        pids = server_pids(server.pid)
        spawn = multiprocessing.get_context("spawn")  # this process has TensorFlow loaded: no fork
        ready, go, results = spawn.Queue(), spawn.Event(), spawn.Queue()
        workers = [
            spawn.Process(target=run_clients, args=(url, scripts[i::processes], args.fps, args.seconds, ready, go, results))
            for i in range(processes)
        ]
        for w in workers:
            w.start()
        connected = sum(ready.get(timeout=120) for _ in workers)
        cpu_before, wall_before = cpu_seconds(pids), time.perf_counter()
        go.set()
        collected = [results.get(timeout=args.seconds + 120) for _ in workers]
        cpu = cpu_seconds(pids) - cpu_before
        wall = time.perf_counter() - wall_before
        for w in workers:
            w.join()
        rss = peak_rss_mb(pids)
    finally:
        server.terminate()
        server.wait(10)

    sent = sum(c[0] for c in collected)
    answered = sum(c[1] for c in collected)
    rts = np.concatenate([np.asarray(c[2], float) for c in collected]) * 1000 if answered else np.zeros(1)
    correct, finished = sum(c[3] for c in collected), sum(c[4] for c in collected)
    p50, p99 = np.percentile(rts, 50), np.percentile(rts, 99)
    print(f"sent {sent}, answered {answered}, coalesced {sent - answered} ({(sent - answered) / max(sent, 1):.1%})")
    print(f"whole digits answered {finished}, same digit as the model here {correct}")
    print(f"clients connected {connected}; server CPU {cpu / wall:.2f} cores over {wall:.1f} s of drawing")
    print(
        f"clients {args.clients} fps {args.fps:g} answered {answered / args.seconds:.0f}/s "
        f"rt p50 {p50:.1f} ms p99 {p99:.1f} ms rss {rss:.0f} MB"
    )
    return answered > 0 and correct == finished


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
