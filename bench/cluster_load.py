"""Load through nginx on 1, 2 and 3 app processes (bench/cluster.py: PostgreSQL, Redis,
nginx), and what the Redis queue costs per classroom event.

    python -m bench.cluster_load [--processes 1 2 3] [--clients 200] [--seconds 20]

For each number of processes: `--clients` drawing clients (bench/load.py's, pen digits at
`--fps`) connect through nginx, each placed by its own cookie-less WebSocket; answered
frames a second and round trip p50/p99. Then, on the last cluster, a class with its
teacher on one process and 20 students on another: Redis commands and bytes per
submission, and per follow-me frame (from Redis's INFO counters).
"""
import argparse
import multiprocessing
import shutil
import tempfile
import time

import numpy as np

from bench.cluster import Cluster
from bench.load import client_scripts, run_clients, warm_up


def drive(url, scripts, fps, seconds, processes=2):
    spawn = multiprocessing.get_context("spawn")
    ready, go, results = spawn.Queue(), spawn.Event(), spawn.Queue()
    workers = [spawn.Process(target=run_clients, args=(url, scripts[i::processes], fps, seconds, ready, go, results)) for i in range(processes)]
    for w in workers:
        w.start()
    connected = sum(ready.get(timeout=180) for _ in workers)
    go.set()
    collected = [results.get(timeout=seconds + 180) for _ in workers]
    for w in workers:
        w.join()
    sent, answered = sum(c[0] for c in collected), sum(c[1] for c in collected)
    rts = np.concatenate([np.asarray(c[2], float) for c in collected]) * 1000 if answered else np.zeros(1)
    return connected, sent, answered, np.percentile(rts, 50), np.percentile(rts, 99)


def redis_counters(cluster):
    stats = cluster.redis.stats()
    return np.array([stats[k] for k in ("total_commands_processed", "total_net_input_bytes", "total_net_output_bytes")])


def queue_cost(cluster, students=20, rounds=5):
    """Redis commands and bytes (in, out) per submission and per follow-me frame."""
    from tests.cluster_clients import Person, join, start_class
    from tests.drawings import SEVEN

    a, b = cluster.url(cluster.ports[0]), cluster.url(cluster.ports[-1])
    http, code = start_class(a)
    teacher = Person(a, http, code, "teacher")
    pupils = [Person(b, join(b, code, f"s{k}"), code, "student") for k in range(students)]
    before = redis_counters(cluster)
    for r in range(rounds):
        for pupil in pupils:
            pupil.emit("submit", {"strokes": SEVEN, "width": 400, "height": 400, "intended": 7})
        teacher.wait("submission", students * (r + 1), timeout=120)
    per_submission = (redis_counters(cluster) - before) / (students * rounds)
    teacher.emit("follow", {"on": True})
    for pupil in pupils:
        pupil.wait("follow")
    before = redis_counters(cluster)
    for seq in range(rounds * 4):
        teacher.emit("draw", {"seq": seq, "strokes": SEVEN, "width": 400, "height": 400})
        time.sleep(0.1)
    time.sleep(1)
    frames = len(teacher.seen("frame"))
    per_frame = (redis_counters(cluster) - before) / max(frames, 1)
    for person in (teacher, *pupils):
        person.close()
    return per_submission, per_frame, frames


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--fps", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args(argv)
    scripts = client_scripts(args.clients)
    for n in args.processes:
        folder = tempfile.mkdtemp(prefix="cnnview-bench-cluster-")
        cluster = Cluster(folder, processes=n)
        try:
            cluster.start()
            for port in cluster.ports:
                warm_up(cluster.url(port))
            connected, sent, answered, p50, p99 = drive(cluster.url(), scripts, args.fps, args.seconds)
            print(f"processes {n}: clients {connected} sent {sent} answered {answered / args.seconds:.0f}/s "
                  f"({answered / max(sent, 1):.1%}) rt p50 {p50:.1f} ms p99 {p99:.1f} ms", flush=True)
            if n == args.processes[-1] and n > 1:
                submission, frame, frames = queue_cost(cluster)
                print(f"queue per submission: {submission[0]:.1f} Redis commands, {submission[1] / 1024:.1f} KB in, "
                      f"{submission[2] / 1024:.1f} KB out; per follow-me frame ({frames} frames, 20 students): "
                      f"{frame[0]:.1f} commands, {frame[1] / 1024:.1f} KB in, {frame[2] / 1024:.1f} KB out", flush=True)
        finally:
            cluster.stop()
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
