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
(static/js/connection.js): at most 2 drawing states without an answer, only the newest
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
"""
import argparse
import asyncio
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench import namespace
from bench.namespace import Meter, link_stats, run_inside, server_sockets, sh, shape
from bench.load import cpu_seconds, free_port, server_pids, start_server, warm_up
from bench.page_client import Page, Pen, animation_frames, pen_digits

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


# ----------------------------------------------------------------------------- a class


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


# ----------------------------------------------------------------------------- 1. students


async def students_drawing(url, port, pids, count, seconds, rate, pen_rate, pause, settle=3.0):
    shape(rate)
    teacher, code = await asyncio.to_thread(start_class, url)
    pages = await class_pages(url, code, [f"student {i}" for i in range(count)])
    digits = pen_digits(1)
    meter = Meter(port)
    finals = {page.name: [] for page in pages}
    pens = []

    async def student(i, page, until):
        rng = random.Random(i)
        pen = Pen(digits[i::count], pen_rate)
        pens.append(pen)
        await asyncio.sleep(rng.uniform(0, 1.0))
        for label, strokes in pen.digits:
            if time.perf_counter() > until:
                break
            seq, up = await pen.draw_digit(page, strokes)
            finals[page.name].append((seq, up, label))
            await asyncio.sleep(pause * rng.uniform(0.75, 1.25))  # reads the answer
            page.skip()  # clears the pad: nothing sent

    with Cpu(pids) as cpu:
        stats0 = link_stats()
        start = time.perf_counter()
        until = start + seconds
        clock = asyncio.ensure_future(animation_frames(pages, until + 5))
        metering = asyncio.ensure_future(meter.run(until))
        await asyncio.gather(*(student(i, p, until) for i, p in enumerate(pages)))
        await asyncio.sleep(settle)  # the last answers
        end = time.perf_counter()
        stats1 = link_stats()
        clock.cancel()  # drawing is over: no more animation frames
        await metering
    await close_all(pages)

    latencies, per_student, right = [], [], 0
    for page in pages:
        mine = []
        for seq, up, label in finals[page.name]:
            got = page.frames.get(seq)
            mine.append(got[0] - up if got else float("inf"))
            right += bool(got and got[2] == label)
        latencies += mine
        if mine:
            per_student.append(ms(mine)[1])
    out, back, link = meter.rate(start, end - settle)
    lost = sum(np.isinf(latencies))
    p50, p99 = ms(latencies)
    frames = sum(len(p.frames) for p in pages)
    size = np.mean([b for p in pages for _, b in p.arrivals]) if frames else 0
    return {
        "link": rate, "students": count, "seconds": seconds, "digits": len(latencies), "lost": int(lost),
        "read_as_meant": right, "p50": p50, "p99": p99,
        "student_p99": [min(per_student), sorted(per_student)[len(per_student) // 2], max(per_student)],
        "disconnected": sum(p.gone is not None for p in pages),
        "frames_per_s": frames / seconds, "frame_bytes": float(size),
        "out_Bps": out, "in_Bps": back,
        "link_Bps": link, "drops": stats1["drops"] - stats0["drops"],
        "states_sent_per_s": sum(len(p.sent) for p in pages) / seconds,
        "client_tick_late_p99_ms": float(np.percentile([x for pen in pens for x in pen.lateness], 99) * 1000),
        "errors": sum(p.errors for p in pages), **cpu.figures,
    }


# ----------------------------------------------------------------------------- 2. follow me


async def follow_me(url, port, pids, count, seconds, rate, pen_rate, pause, window, slow=0, settle=3.0):
    shape(None)
    teacher_http, code = await asyncio.to_thread(start_class, url)
    before = set(await server_sockets(port))
    teacher = Page("teacher")
    await teacher.connect(url, cookie_of(teacher_http))
    teacher_port = (set(await server_sockets(port)) - before).pop()
    await teacher.join(code, "teacher")
    shape(rate, bypass_port=teacher_port)
    names = [f"student {i}" for i in range(count)] + [f"slow {i}" for i in range(slow)]
    pages = await class_pages(url, code, names, {f"slow {i}": 2.0 for i in range(slow)})
    await teacher.sio.emit("follow", {"on": True})
    await asyncio.sleep(0.5)
    meter = Meter(port, exclude={teacher_port})
    pen = Pen(pen_digits(2), pen_rate)
    finals = []

    with Cpu(pids) as cpu:
        stats0 = link_stats()
        start = time.perf_counter()
        until = start + seconds
        clock = asyncio.ensure_future(animation_frames([teacher], until + 5))
        metering = asyncio.ensure_future(meter.run(until))
        for label, strokes in pen.digits:
            if time.perf_counter() > until:
                break
            seq, up = await pen.draw_digit(teacher, strokes)
            finals.append((seq, up, label))
            await asyncio.sleep(pause)  # talks about the answer
            await teacher.draw([], now=True)  # clears the pad: the students' screens clear too
            await asyncio.sleep(0.3)
        await asyncio.sleep(settle)
        stats1 = link_stats()
        clock.cancel()  # drawing is over: no more animation frames
        await metering
    await teacher.sio.emit("follow", {"on": False})
    await close_all(pages + [teacher])

    def lags(group, first, last):
        return [
            (p.follows[seq][0] - up) if seq in p.follows else float("inf")
            for seq, up, _ in finals if first <= up - start < last for p in group
        ]

    students = [p for p in pages if not p.name.startswith("slow")]
    slowed = [p for p in pages if p.name.startswith("slow")]
    drawn = finals[-1][1] - start if finals else 0.0
    rows = []
    for label, first, last in (("first", 0, window), ("last", drawn - window, drawn + 1), ("all", 0, drawn + 1)):
        lag = lags(students, first, last)
        out, back, link = meter.rate(start + max(first, 0), start + min(last, drawn))
        rows.append({"part": label, "finals": len(lag), "lost": int(sum(np.isinf(lag))), "p50": ms(lag)[0], "p99": ms(lag)[1],
                     "out_Bps": out, "in_Bps": back, "link_Bps": link})
    result = {
        "link": rate, "students": count, "slow": slow, "seconds": seconds, "window": window, "digits": len(finals),
        "rows": rows, "link_Bps": rows[-1]["link_Bps"], "drops": stats1["drops"] - stats0["drops"],
        "teacher_states_per_s": len(teacher.sent) / seconds, "teacher_frames_per_s": len(teacher.frames) / seconds,
        "follow_frames_per_s": np.mean([len(p.follows) for p in students]) / seconds,
        "frame_bytes": float(np.mean([b for p in students for _, b in p.arrivals])) if students else 0.0,
        "teacher_read_as_meant": sum(teacher.frames.get(seq, (0, 0, -2))[2] == label for seq, _, label in finals),
        "client_tick_late_p99_ms": float(np.percentile(pen.lateness, 99) * 1000),
        "errors": sum(p.errors for p in pages + [teacher]), **cpu.figures,
        "disconnected": sum(p.gone is not None for p in pages + [teacher]),
    }
    if slowed:
        lag = lags(slowed, 0, drawn + 1)
        result["slow_row"] = {"finals": len(lag), "lost": int(sum(np.isinf(lag))), "p50": ms(lag)[0], "p99": ms(lag)[1]}
    return result


# ----------------------------------------------------------------------------- 3. LAN


async def one_user(url, port, pids, seconds, pen_rate):
    shape(None)
    page = Page("alone")
    await page.connect(url)
    pen = Pen(pen_digits(3), pen_rate)
    strokes_times = []  # (pen down, pen up) of each digit
    meter = Meter(port)
    with Cpu(pids) as cpu:
        start = time.perf_counter()
        until = start + seconds
        clock = asyncio.ensure_future(animation_frames([page], until + 2))
        metering = asyncio.ensure_future(meter.run(until))
        for label, strokes in pen.digits:
            if time.perf_counter() > until:
                break
            down = time.perf_counter()
            _, up = await pen.draw_digit(page, strokes)
            strokes_times.append((down, up))
            await asyncio.sleep(0.3)
            page.skip()
        await asyncio.sleep(1.0)
        end = time.perf_counter()
        clock.cancel()  # drawing is over: no more animation frames
        await metering
    await page.close()
    drawing = sum(up - down for down, up in strokes_times)

    def during(times):
        return [t for t in times if any(down <= t <= up + 0.05 for down, up in strokes_times)]

    got = [(t, b) for t, b in page.arrivals if during([t])]
    sent = during(list(page.sent.values()))
    rts = [page.frames[s][0] - t for s, t in page.sent.items() if s in page.frames]
    out = meter.rate(start, end)[0]
    return {
        "link": "unshaped", "seconds": seconds, "drawing_s": drawing, "digits": len(strokes_times),
        "states_per_s": len(sent) / drawing, "frames_per_s": len(got) / drawing,
        "mbit_drawing": sum(b for _, b in got) * 8 / drawing / 1e6, "out_mbit": out * 8 / 1e6,
        "frame_bytes": float(np.mean([b for _, b in got])) if got else 0.0,
        "answered": len(rts), "sent": len(page.sent), "rt_p50": ms(rts)[0], "rt_p99": ms(rts)[1], **cpu.figures,
    }


# ----------------------------------------------------------------------------- tables


def kbps(bytes_per_s):
    return f"{bytes_per_s / 1000:,.0f} kB/s ({bytes_per_s * 8 / 1e6:.1f} Mbit/s)"


def fmt(x):
    return "lost" if x == float("inf") else f"{x:,.0f} ms"


def cpu_text(r):
    return (f"server {r['server_cores']:.2f}, clients {r['client_cores']:.2f} cores; waiting for a CPU: server "
            f"{r.get('server_waited', 0):.2f}, clients {r.get('client_waited', 0):.2f} s/s; machine {r['machine_busy']:.0%} busy, load {r['load']:.1f}")


def print_tables(results, args):
    if "students" in results:
        print_students(results["students"])
    if any(key in results for key in ("follow", "follow_slow", "follow_alone")):
        print_follow(results)
    if "lan" in results:
        print_lan(results["lan"])


def print_students(s):
    print(f"\n### 1. {s['students']} students drawing at once, link {s['link']} ({s['seconds']:g} s)\n")
    print("| digits | lost | pen-up → final p50 | p99 | per-student p99 min / median / max | server → clients | "
          "clients → server | link (both ways, with headers) | frames/s (all) | frame | CPU |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| {s['digits']} | {s['lost']} | {fmt(s['p50'])} | **{fmt(s['p99'])}** | "
          f"{' / '.join(fmt(x) for x in s['student_p99'])} | {kbps(s['out_Bps'])} | {kbps(s['in_Bps'])} | "
          f"{kbps(s['link_Bps'])}, {s['drops']} drops | {s['frames_per_s']:.1f} | {s['frame_bytes'] / 1000:.1f} KB | {cpu_text(s)} |")
    print(f"\nstudents {s['students']} link {s['link']} pen-up→final p50 {s['p50']:.0f} ms p99 {s['p99']:.0f} ms "
          f"per-student p99 {s['student_p99'][0]:.0f}-{s['student_p99'][2]:.0f} ms server→clients {s['out_Bps'] * 8 / 1e6:.2f} Mbit/s "
          f"digits {s['digits']} lost {s['lost']} read as meant {s['read_as_meant']} client tick late p99 {s['client_tick_late_p99_ms']:.0f} ms "
          f"states sent {s['states_sent_per_s']:.0f}/s errors {s['errors']} disconnected {s['disconnected']}")


def print_follow(results):
    print("\n### 2. Follow me: teacher's pen-up → each student has that frame\n")
    print("| link | students | part | teacher's digits × students | not received (a newer frame came instead) | p50 | p99 | server → students | students → server | shaped link, both ways |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for key in [k for k in ("follow", "follow_slow", "follow_alone") if k in results]:
        f = results[key]
        who = f"{f['students']}" + (f" + {f['slow']} acking 2 s late" if f["slow"] else "")
        for row in f["rows"]:
            part = {"first": f"first {f['window']:g} s", "last": f"last {f['window']:g} s", "all": f"all {f['seconds']:g} s"}[row["part"]]
            print(f"| {f['link']} | {who} | {part} | {row['finals']} | {row['lost']} | {fmt(row['p50'])} | **{fmt(row['p99'])}** | "
                  f"{kbps(row['out_Bps'])} | {kbps(row['in_Bps'])} | {kbps(row['link_Bps'])} |")
        if "slow_row" in f:
            r = f["slow_row"]
            print(f"| {f['link']} | the slow one | all {f['seconds']:g} s | {r['finals']} | {r['lost']} | {fmt(r['p50'])} | {fmt(r['p99'])} | | | |")
    for key in [k for k in ("follow", "follow_slow", "follow_alone") if k in results]:
        f = results[key]
        rows = {r["part"]: r for r in f["rows"]}
        print(f"\nfollow link {f['link']} students {f['students']} slow {f['slow']} first p99 {rows['first']['p99']:.0f} ms "
              f"last p99 {rows['last']['p99']:.0f} ms all p50 {rows['all']['p50']:.0f} ms p99 {rows['all']['p99']:.0f} ms "
              f"server→students {rows['all']['out_Bps'] * 8 / 1e6:.2f} Mbit/s; teacher {f['teacher_states_per_s']:.0f} states/s "
              f"{f['teacher_frames_per_s']:.0f} frames/s, each student {f['follow_frames_per_s']:.1f} follow frames/s of "
              f"{f['frame_bytes'] / 1000:.1f} KB; link {f['link_Bps'] * 8 / 1e6:.2f} Mbit/s {f['drops']} drops; "
              f"disconnected {f['disconnected']}; {cpu_text(f)}")


def print_lan(lan):
    print(f"\n### 3. One user drawing on the unshaped loopback ({lan['seconds']:g} s, {lan['drawing_s']:.1f} s with the pen down)\n")
    print("| states sent/s while drawing | frames received/s while drawing | Mbit/s while drawing | frame | round trip p50 / p99 | CPU |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| {lan['states_per_s']:.1f} | {lan['frames_per_s']:.1f} | **{lan['mbit_drawing']:.2f}** | {lan['frame_bytes'] / 1000:.1f} KB | "
          f"{fmt(lan['rt_p50'])} / {fmt(lan['rt_p99'])} | {cpu_text(lan)} |")
    print(f"\nlan states {lan['states_per_s']:.1f}/s frames {lan['frames_per_s']:.1f}/s {lan['mbit_drawing']:.2f} Mbit/s while drawing; "
          f"answered {lan['answered']} of {lan['sent']}")


# ----------------------------------------------------------------------------- main


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
