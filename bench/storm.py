"""A reconnect storm against README's production command: `--clients` visitor threads,
spread over `--processes` processes, connect a WebSocket, join Socket.IO, send one drawing
(unless `--no-draw`) and leave, in a loop, for `--seconds`; `--storms` times, with the
server's RSS read before, right after each storm and `--settle` s later (each process's
too). A drawing client, in a process of its own (so that the visitors' threads do not hold
its GIL), draws throughout and counts its answers (a frame counts for its own drawing only,
2 s at most). The storm starts once every process has imported and the drawing client is
connected. Is the drawing client served, and does memory come back? The last line sums up.

    .venv/bin/python -m bench.storm --clients 200 --seconds 20 --storms 2

Engine.IO forgets a departed visitor's session (and any frame still queued for it) only in
its sweep, which visits every session once per ping timeout (20 s): read memory with
`--settle 50` or more to see what stays once that is done.
"""
import argparse
import json
import math
import multiprocessing
import threading
import time

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


def rss_by_process(master):
    """{pid (and its name): MB}: which of gunicorn's master, its worker, the frame worker
    (and its spare), the picture worker holds the memory."""
    found = {}
    for pid in server_pids(master):
        try:
            with open(f"/proc/{pid}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            found[f"{pid} {fields['Name'].strip()}"] = round(int(fields["VmRSS"].split()[0]) / 1024)
        except (OSError, KeyError, ValueError):
            pass
    return found


def visitor(url, stop, counts, lock, draw):
    import websocket

    while not stop.is_set():
        try:
            ws = websocket.create_connection(url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", timeout=10)
            ws.recv()
            ws.send("40")
            ws.recv()
            if draw:
                ws.send("42" + json.dumps(["draw", DRAW]))
            ws.close()
            with lock:
                counts["connects"] += 1
        except (OSError, websocket.WebSocketException):
            with lock:
                counts["failures"] += 1


def visitors(url, clients, draw, ready, go, stop, results):
    """One process's share of the visitors, as threads, from `go` until `stop`; then puts
    its counts."""
    import websocket  # noqa: F401 (imported before `ready`: a busy machine takes seconds)

    counts, lock, stopped = {"connects": 0, "failures": 0}, threading.Lock(), threading.Event()
    ready.release()
    go.wait()
    threads = [threading.Thread(target=visitor, args=(url, stopped, counts, lock, draw), daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    stop.wait()
    stopped.set()
    for thread in threads:
        thread.join(15)
    results.put(("visitors", counts))


def drawer(url, ready, go, stop, results):
    """The drawing client, alone in its process: a drawing every 0.1 s after its answer
    (or after 2 s without one); a frame counts for the drawing of its `seq` only."""
    import socketio

    from webapp.frames import HEADER

    counts = {"drawn": 0, "answered": 0, "errors": 0, "waits": []}
    answered, expected = threading.Event(), {"seq": None}
    client = socketio.Client(reconnection=False)
    client.on("frame", lambda data: HEADER.unpack_from(data, 0)[4] == expected["seq"] and answered.set())

    @client.on("error_message")
    def error_message(data):
        counts["errors"] += 1
        counts["last_error"] = str(data.get("error"))[:80] if isinstance(data, dict) else repr(data)[:80]
    try:
        client.connect(url, transports=["websocket"], wait_timeout=10)
        ready.release()
        go.wait()
        while not stop.is_set():
            answered.clear()
            expected["seq"] = counts["drawn"] + 1
            started = time.time()
            client.emit("draw", {**DRAW, "seq": expected["seq"]})
            counts["drawn"] += 1
            if answered.wait(2):
                counts["answered"] += 1
                counts["waits"].append(time.time() - started)
            time.sleep(0.1)
        client.disconnect()
    except Exception as error:  # the count so far still comes back
        counts["error"] = repr(error)
        ready.release()
    results.put(("drawer", counts))


def percentile(values, q):
    values = sorted(values)
    return values[int(q * (len(values) - 1))] if values else math.nan


def storm(url, clients, seconds, processes=2, draw=True):
    context = multiprocessing.get_context("spawn")
    ready, go, stop, results = context.Semaphore(0), context.Event(), context.Event(), context.Queue()
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    workers = [context.Process(target=visitors, args=(url, n, draw, ready, go, stop, results), daemon=True) for n in shares if n]
    workers.append(context.Process(target=drawer, args=(url, ready, go, stop, results), daemon=True))
    for worker in workers:
        worker.start()
    for _ in workers:  # every process imported and the drawing client connected: the storm starts
        ready.acquire(timeout=120)
    go.set()
    time.sleep(seconds)
    stop.set()
    counts = {"connects": 0, "failures": 0, "drawn": 0, "answered": 0}
    waits = []
    for _ in workers:
        kind, got = results.get(timeout=60)
        waits += got.pop("waits", [])
        for key, value in got.items():
            counts[key] = value if isinstance(value, str) else counts.get(key, 0) + value
    for worker in workers:
        worker.join(30)
    counts["wait_p50_s"] = round(percentile(waits, 0.5), 3)
    counts["wait_p99_s"] = round(percentile(waits, 0.99), 3)
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--storms", type=int, default=2)
    parser.add_argument("--settle", type=float, default=10, help="seconds between storms, RSS read at the end")
    parser.add_argument("--processes", type=int, default=2, help="processes the visitor threads are spread over")
    parser.add_argument("--no-draw", dest="draw", action="store_false", help="visitors only connect and leave")
    args = parser.parse_args(argv)
    process, url = start_server(free_port())
    summary = []
    try:
        warm_up(url)
        time.sleep(2.5)
        warm_up(url)  # the spare frame worker starts 2 s after the first serves: counted before
        time.sleep(3)
        before = rss_mb(process.pid)
        print(f"RSS before: {before:.0f} MB {rss_by_process(process.pid)}", flush=True)
        for n in range(1, args.storms + 1):
            counts = storm(url, args.clients, args.seconds, args.processes, args.draw)
            after = rss_mb(process.pid)
            time.sleep(args.settle)
            later = rss_mb(process.pid)
            print(f"storm {n}: {counts}; RSS right after {after:.0f} MB, {args.settle:g} s later {later:.0f} MB", flush=True)
            print(f"  by process, {args.settle:g} s later: {rss_by_process(process.pid)}", flush=True)
            summary.append(
                f"storm {n}: {counts['answered']}/{counts['drawn']} answered, p50 {counts['wait_p50_s']} s, "
                f"p99 {counts['wait_p99_s']} s, {counts['connects']} connects, RSS {after:.0f}/{later:.0f} MB"
            )
    finally:
        process.terminate()
        process.wait(30)
    print(f"summary ({args.clients} visitors, {'drawing' if args.draw else 'connect only'}): RSS before {before:.0f} MB; " + "; ".join(summary), flush=True)


if __name__ == "__main__":
    main()
