"""Scenario 3 of bench/classroom_net.py: one user drawing on the unshaped loopback (a LAN):
states sent and frames received a second while the pen is down, Mbit/s, round trips."""
import asyncio
import time

import numpy as np

from bench.class_clients import Cpu, cpu_text, fmt, ms
from bench.namespace import Meter, shape
from bench.page_client import Page, Pen, animation_frames, pen_digits


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


def print_lan(lan):
    print(f"\n### 3. One user drawing on the unshaped loopback ({lan['seconds']:g} s, {lan['drawing_s']:.1f} s with the pen down)\n")
    print("| states sent/s while drawing | frames received/s while drawing | Mbit/s while drawing | frame | round trip p50 / p99 | CPU |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| {lan['states_per_s']:.1f} | {lan['frames_per_s']:.1f} | **{lan['mbit_drawing']:.2f}** | {lan['frame_bytes'] / 1000:.1f} KB | "
          f"{fmt(lan['rt_p50'])} / {fmt(lan['rt_p99'])} | {cpu_text(lan)} |")
    print(f"\nlan states {lan['states_per_s']:.1f}/s frames {lan['frames_per_s']:.1f}/s {lan['mbit_drawing']:.2f} Mbit/s while drawing; "
          f"answered {lan['answered']} of {lan['sent']}")
