"""A classroom's network on this machine: the frame stream over a shaped link (issue 11).

    sudo .venv/bin/python -m bench.classroom_net [--minutes 3] [--students 30] [--quick]

Needs root (or CAP_NET_ADMIN): the benchmark makes a network namespace of its own
(`cnnbench-<pid>`), brings its loopback up with MTU 1500 and runs README's production
server and every client inside it on 127.0.0.1, so no traffic leaves that loopback; the
namespace and everything in it go at the end, on an error or Ctrl-C too. The link is the
namespace's loopback shaped by `tc ... tbf rate <R> burst 64kb latency 100ms` (both
directions share it, as on Wi-Fi); in follow me the teacher's own connection bypasses the
shaper (a laptop on the projector's cable), so the shaped link carries the students only.

Clients are python-socketio asyncio clients that act as the page does
(static/js/stream.js): at most 2 drawing states without an answer, only the newest
waiting and sent when an answer comes, at most one state per animation frame (60 Hz),
pen-up at once; every `frame` and `follow_frame` acknowledged as it arrives. They draw
real UCI pen digits point by point at `--pen-rate` points a second.

1. `--students` students drawing at once on `--rate`: pen-up → the frame of that very
   state (the digit's last pen-up), p50/p99 over all digits, the spread of each student's
   p99, bytes a second on the link.
2. Follow me: the teacher draws for `--minutes`, `--students` students receive
   `follow_frame`: teacher's pen-up → each student has that frame, first and last minute
   apart; then the same with one more student who acknowledges 2 s late (others' p99
   must not move); then one student alone on `--slow-link`.
3. One user drawing on the unshaped loopback: frames/s and Mbit/s while drawing.

Each scenario is a module of its own (bench/net_students.py, net_follow.py, net_lan.py;
what they share in bench/class_clients.py); this one runs them in the namespace.
"""
import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time

from bench import namespace, targets
from bench.load import free_port, server_pids, start_server, warm_up
from bench.namespace import run_inside, sh
from bench.net_follow import follow_me, print_follow
from bench.net_lan import one_user, print_lan
from bench.net_students import print_students, students_drawing


def print_tables(results, args):
    if "students" in results:
        print_students(results["students"])
    if any(key in results for key in ("follow", "follow_slow", "follow_alone")):
        print_follow(results)
    if "lan" in results:
        print_lan(results["lan"])


def phase(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def inside(args):
    port = free_port()
    phase("starting the server")
    # The first page view builds the Keras model for the layer table (model/architecture.py),
    # importing TensorFlow in the event loop: on a busy 2-core machine that passes gunicorn's
    # 30 s worker timeout and the worker is killed before it ever answers. Only the start
    # waits longer; the measurements come after.
    os.environ.setdefault("GUNICORN_CMD_ARGS", "--timeout 180")
    server, url = start_server(port)
    settle = 0.5 if args.quick else 3.0
    try:
        warm_up(url)
        pids = server_pids(server.pid)
        results = {"namespace_tcp": sh("sysctl", "-n", "net.ipv4.tcp_congestion_control").strip()}
        run = set(args.only.split(","))
        if "students" in run:
            phase(f"1. {args.students} students drawing on {args.rate}, {args.student_seconds:g} s")
            results["students"] = await students_drawing(
                url, port, pids, args.students, args.student_seconds, args.rate, args.pen_rate, args.pause, settle)
        if "follow" in run:
            phase(f"2. follow me, {args.students} students on {args.rate}, {args.minutes:g} min")
            results["follow"] = await follow_me(
                url, port, pids, args.students, args.minutes * 60, args.rate, args.pen_rate, args.pause, args.window, 0, settle)
        if "slow" in run:
            phase(f"2. follow me with a slow follower, {args.slow_seconds:g} s")
            results["follow_slow"] = await follow_me(
                url, port, pids, args.students, args.slow_seconds, args.rate, args.pen_rate, args.pause, args.window, 1, settle)
        if "alone" in run:
            phase(f"2. follow me, one student on {args.slow_link}, {args.minutes:g} min")
            results["follow_alone"] = await follow_me(
                url, port, pids, 1, args.minutes * 60, args.slow_link, args.pen_rate, args.pause, args.window, 0, settle)
        if "lan" in run:
            phase(f"3. one user on the unshaped loopback, {args.lan_seconds:g} s")
            results["lan"] = await one_user(url, port, pids, args.lan_seconds, args.pen_rate)
    finally:
        phase("stopping the server")
        server.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown (SIGTERM waits for connections)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    print_tables(results, args)
    targets.show(targets.classroom(results), "issue 11, this run")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1, default=float)
    return 0


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3, help="follow me's drawing time (first and last minute reported)")
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--rate", default="20mbit", help="the classroom link")
    parser.add_argument("--slow-link", default="2mbit", help="one student alone on this link")
    parser.add_argument("--student-seconds", type=float, default=60, help="scenario 1's drawing time")
    parser.add_argument("--slow-seconds", type=float, default=60, help="follow me with a slow follower: drawing time")
    parser.add_argument("--lan-seconds", type=float, default=20)
    parser.add_argument("--pen-rate", type=float, default=60, help="pen points a second")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between pen-up and the next digit")
    parser.add_argument("--quick", action="store_true", help="small numbers: about a minute on a quiet machine (the smoke test)")
    parser.add_argument("--json", help="write every figure here")
    parser.add_argument("--only", default="students,follow,slow,alone,lan",
                        help="the parts to run, of students,follow,slow,alone,lan")
    parser.add_argument("--tbf-latency", default="100ms", help="the shaper's queue, as time at its rate (for diagnosis)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.students, args.minutes, args.student_seconds, args.slow_seconds, args.lan_seconds = 4, 0.07, 3, 3, 2.5
        args.pause = 0.6
    args.window = min(60.0, args.minutes * 60 / 3)
    namespace.TBF_LATENCY = args.tbf_latency
    return args


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    if not args.inside:
        return run_inside("bench.classroom_net", argv)
    try:
        import uvloop  # a faster event loop: the clients share the server's cores

        run = uvloop.run
    except ImportError:
        run = asyncio.run
    return run(inside(args))


if __name__ == "__main__":
    raise SystemExit(main())
