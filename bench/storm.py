"""A reconnect storm against README's production command: `--clients` threads connect a
WebSocket, join Socket.IO, send one drawing and leave, in a loop, for `--seconds`; twice,
with the server's RSS read before, after each storm and after a pause. A drawing client
draws throughout and counts its answers. Does memory come back, or grow storm after storm?

    .venv/bin/python -m bench.storm --clients 200 --seconds 30
"""
import argparse
import json
import threading
import time

import socketio
import websocket

from bench.load import free_port, server_pids, start_server, warm_up

DRAW = {"seq": 1, "strokes": [[[100, 50], [200, 50], [150, 350]]], "width": 400, "height": 400}


def rss_mb(master):
    total = 0
    for pid in server_pids(master):
        try:
            with open(f"/proc/{pid}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
        except (OSError, StopIteration):
            pass
    return total


def visitor(url, stop, counts):
    while not stop.is_set():
        try:
            ws = websocket.create_connection(url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", timeout=10)
            ws.recv()
            ws.send("40")
            ws.recv()
            ws.send("42" + json.dumps(["draw", DRAW]))
            ws.close()
            counts["connects"] += 1
        except (OSError, websocket.WebSocketException):
            counts["failures"] += 1


def drawer(url, stop, counts):
    answered = threading.Event()
    client = socketio.Client(reconnection=False)
    client.on("frame", lambda data: answered.set())
    client.connect(url, transports=["websocket"], wait_timeout=10)
    while not stop.is_set():
        answered.clear()
        started = time.time()
        client.emit("draw", DRAW)
        counts["drawn"] += 1
        if answered.wait(2):
            counts["answered"] += 1
            counts["waits"].append(time.time() - started)
        time.sleep(0.1)
    client.disconnect()


def storm(url, clients, seconds):
    stop = threading.Event()
    counts = {"connects": 0, "failures": 0, "drawn": 0, "answered": 0, "waits": []}
    threads = [threading.Thread(target=visitor, args=(url, stop, counts), daemon=True) for _ in range(clients)]
    threads.append(threading.Thread(target=drawer, args=(url, stop, counts), daemon=True))
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(30)
    waits = sorted(counts.pop("waits")) or [float("nan")]
    counts["drawer_p99_s"] = round(waits[int(0.99 * (len(waits) - 1))], 3)
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--storms", type=int, default=2)
    args = parser.parse_args(argv)
    process, url = start_server(free_port())
    try:
        warm_up(url)
        print(f"RSS before: {rss_mb(process.pid):.0f} MB", flush=True)
        for n in range(1, args.storms + 1):
            counts = storm(url, args.clients, args.seconds)
            after = rss_mb(process.pid)
            time.sleep(10)
            print(f"storm {n}: {counts}; RSS right after {after:.0f} MB, 10 s later {rss_mb(process.pid):.0f} MB", flush=True)
    finally:
        process.terminate()
        process.wait(30)


if __name__ == "__main__":
    main()
