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


def start_server(port, threads):
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
    command = [gunicorn, "-w", "1", "--threads", str(threads), "-b", f"127.0.0.1:{port}", "webapp:create_app()"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return process, url
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the server did not start")
            time.sleep(0.2)


def server_pids(master):
    children = Path(f"/proc/{master}/task/{master}/children")
    return [master] + [int(p) for p in children.read_text().split()] if children.exists() else [master]


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def peak_rss_mb(pids):
    peak = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return peak / 1024


def run_clients(url, scripts, fps, seconds, ready, go, results):
    """One process's share of the clients; puts (sent, answered, round trips, correct, finished)."""
    import socketio

    clients = len(scripts)
    sessions = []
    for i in range(clients):
        session = {"sent": {}, "rt": [], "answered": 0, "correct": 0, "finished": 0, "labels": {}}
        client = socketio.Client(reconnection=False)
        client.on("frame", _on_frame(session))
        client.connect(url, transports=["websocket"], wait_timeout=30)
        sessions.append((client, session, scripts[i]))
    ready.put(len(sessions))
    go.wait()  # every process connected: all start drawing together
    start = time.perf_counter()
    period = 1.0 / fps
    tick = 0
    while time.perf_counter() - start < seconds:
        # Clients are spread evenly over the period, as real people would be.
        for i, (client, session, states) in enumerate(sessions):
            due = start + tick * period + i * period / clients
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            strokes, expected = states[tick % len(states)]
            seq = tick
            session["sent"][seq] = time.perf_counter()
            if expected is not None:
                session["labels"][seq] = expected
            client.emit("draw", {"seq": seq, "strokes": strokes, "width": 400, "height": 400})
        tick += 1
    time.sleep(1.0)  # let the last answers arrive
    for client, _, _ in sessions:
        client.disconnect()
    totals = [sum(len(s["sent"]) for _, s, _ in sessions), sum(s["answered"] for _, s, _ in sessions)]
    rts = [rt for _, s, _ in sessions for rt in s["rt"]]
    correct = sum(s["correct"] for _, s, _ in sessions)
    finished = sum(s["finished"] for _, s, _ in sessions)
    results.put((totals[0], totals[1], rts, correct, finished))


def _on_frame(session):
    def handle(data):
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
    from webapp.inference import get_service

    service = get_service(DEFAULT_MODEL_PATH)
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
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=100, help="gunicorn threads")
    args = parser.parse_args(argv)
    processes = max(1, min(args.processes, args.clients))

    scripts = client_scripts(args.clients)
    server, url = start_server(free_port(), max(args.threads, args.clients + 20))
    pids = server_pids(server.pid)
    try:
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
