"""Scenario 1 of bench/classroom_net.py: many students drawing at once on one shaped link;
pen-up → the frame of that very state, per student and for all, and the link's bytes."""
import asyncio
import random
import time

import numpy as np

from bench.class_clients import Cpu, class_pages, close_all, cpu_text, fmt, kbps, ms, start_class
from bench.namespace import Meter, link_stats, shape
from bench.page_client import Pen, animation_frames, pen_digits


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
