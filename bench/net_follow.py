"""Scenario 2 of bench/classroom_net.py: follow me. The teacher draws on an unshaped link,
the students receive on the shaped one: teacher's pen-up → each student has that frame, in
the first and last part of the run, with a slow follower or one student alone."""
import asyncio
import time

import numpy as np

from bench.class_clients import Cpu, class_pages, close_all, cookie_of, cpu_text, fmt, kbps, ms, start_class
from bench.namespace import Meter, link_stats, server_sockets, shape
from bench.page_client import Page, Pen, animation_frames, pen_digits


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
