"""How long clients go without frames when the server's worker process is killed.

    python -m bench.worker_restart [--kills 3]

Starts README's production command (gunicorn -k gevent -w 1), has a client draw, kills
gunicorn's worker (SIGKILL: the whole Socket.IO process and its frame worker go) and
measures, from the kill, how long until a client that retries every 50 ms connects and has
its drawing answered with a frame. gunicorn's master starts a new worker meanwhile; what
is timed is that worker's start: imports, the model, the frame worker process.
"""
import argparse
import os
import signal
import threading
import time

import numpy as np
import socketio

from bench.load import free_port, server_pids, start_server

SEVEN = [[[10, 10], [90, 10], [40, 100]]]


def frame_once(url, timeout=0.5):
    """True when a fresh client connects and gets a frame for one drawing."""
    got = threading.Event()
    client = socketio.Client(reconnection=False)
    client.on("frame", lambda data: got.set())
    try:
        client.connect(url, transports=["websocket"], wait_timeout=timeout)
        client.emit("draw", {"seq": 1, "strokes": SEVEN, "width": 400, "height": 400})
        return got.wait(5)
    except (socketio.exceptions.ConnectionError, OSError):
        return False
    finally:
        client.disconnect()


def gunicorn_worker(master):
    return next(pid for pid in server_pids(master) if pid != master and _parent(pid) == master)


def _parent(pid):
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])


def time_one_kill(master, url):
    assert frame_once(url, 30), "the server does not answer before the kill"
    worker = gunicorn_worker(master)
    killed = time.perf_counter()
    os.kill(worker, signal.SIGKILL)
    while not frame_once(url):
        time.sleep(0.05)
    return time.perf_counter() - killed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args(argv)
    server, url = start_server(free_port())
    try:
        seconds = [time_one_kill(server.pid, url) for _ in range(args.kills)]
    finally:
        server.terminate()
        server.wait(10)
    print("seconds without frames after each kill: " + ", ".join(f"{s:.2f}" for s in seconds))
    print(f"worker killed → frames again: median {np.median(seconds):.2f} s, worst {max(seconds):.2f} s")


if __name__ == "__main__":
    main()
