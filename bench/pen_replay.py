"""Real pen digits replayed into Chromium as CDP mouse events on a schedule, and the page
script that records long tasks and long animation frames: what bench.paint and its machine
baseline (bench/bare_page.py) draw with."""
import asyncio
import time

CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PEN_HZ = 60
STROKE_GAP_S = 0.15
DIGIT_GAP_S = 0.4
VIEWPORT = {"width": 1400, "height": 900}

LONG_TASKS = """
window.benchLongTasks = [];
window.benchFrames = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.benchLongTasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
} catch (e) {}
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      window.benchFrames.push({
        start: e.startTime, duration: e.duration, blocking: e.blockingDuration,
        render: e.renderStart, style: e.styleAndLayoutStart, input: e.firstUIEventTimestamp,
        scripts: e.scripts.map((s) => ({
          what: `${s.invokerType} ${s.invoker} ${(s.sourceURL || '').split('/').pop()}:${s.sourceFunctionName}`,
          start: s.startTime, duration: s.duration, forced: s.forcedStyleAndLayoutDuration })),
      });
    }
  }).observe({ type: 'long-animation-frame', buffered: true });
} catch (e) {}
"""


async def draw_digit(cdp, box, strokes, size, pen_down):
    """Send one digit's points on a 60 Hz schedule, each stamped with its scheduled time;
    appends the (start, end) epoch seconds of every stroke to `pen_down`."""
    scale = box["width"] / size
    sends = []
    at = time.time() + 0.02
    for stroke in strokes:
        start = at
        for i, (x, y) in enumerate(stroke):
            kind = "mousePressed" if i == 0 else "mouseMoved"
            await asyncio.sleep(max(0.0, at - time.time()))
            event = {"type": kind, "x": box["x"] + x * scale, "y": box["y"] + y * scale, "button": "left",
                     "buttons": 1, "clickCount": 1 if i == 0 else 0, "timestamp": at}
            sends.append(asyncio.ensure_future(cdp.send("Input.dispatchMouseEvent", event)))
            at += 1 / PEN_HZ
        await asyncio.sleep(max(0.0, at - time.time()))
        last = stroke[-1]
        sends.append(asyncio.ensure_future(cdp.send("Input.dispatchMouseEvent", {
            "type": "mouseReleased", "x": box["x"] + last[0] * scale, "y": box["y"] + last[1] * scale,
            "button": "left", "buttons": 0, "clickCount": 1, "timestamp": at})))
        pen_down.append((start, at))
        at += STROKE_GAP_S
    await asyncio.gather(*sends)
