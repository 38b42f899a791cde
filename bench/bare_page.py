"""The machine's own share of bench.paint's long tasks: how much of its cores an idle page
keeps busy at a CPU throttling rate, and the long tasks of a bare page drawn by the same pen."""
import asyncio
import os
import time

from bench.common import fit
from bench.pen_replay import DIGIT_GAP_S, LONG_TASKS, VIEWPORT, draw_digit

# The machine's own share of the long tasks: a page with nothing but a canvas that inks the
# pen's moves, drawn on the same way at the same throttling.
BARE_PAGE = """<!doctype html><body style="margin:0"><canvas id="canvas" width="400" height="400"
 style="width:400px;height:400px;touch-action:none"></canvas><script>
const ctx = canvas.getContext('2d');
ctx.lineWidth = 12;
ctx.lineCap = 'round';
let last = null;
canvas.onpointerdown = (e) => { last = [e.offsetX, e.offsetY]; };
canvas.onpointermove = (e) => {
  if (!last) return;
  ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(e.offsetX, e.offsetY); ctx.stroke();
  last = [e.offsetX, e.offsetY];
};
canvas.onpointerup = () => { last = null; };
document.onkeydown = () => ctx.clearRect(0, 0, 400, 400);
</script>"""
IDLE_S = 3.0


def busy_cores():
    """The machine's CPU time so far, busy and all (s), from /proc/stat."""
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


async def machine_baseline(browser, samples, rate, seconds):
    """The same pen on BARE_PAGE at `rate`: its long tasks; and how much of one core an idle
    page keeps busy at that throttling (Chromium throttles by spinning the page's main thread
    in a signal handler for (rate - 1)x the time it ran, idle or not: on a machine with few
    cores that is time the paint worker, the GPU process and the server do not get)."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    await page.add_init_script(LONG_TASKS)
    await page.set_content(BARE_PAGE)
    cdp = await context.new_cdp_session(page)
    box = await page.locator("#canvas").bounding_box()
    size = round(box["width"])
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    await page.wait_for_timeout(500)
    busy0, all0 = busy_cores()
    await asyncio.sleep(IDLE_S)
    busy1, all1 = busy_cores()
    idle_cores = (os.cpu_count() or 1) * (busy1 - busy0) / max(1, all1 - all0)
    zero = await page.evaluate("() => { window.benchLongTasks = []; return performance.now(); }")
    started = time.time()
    for sample in samples[1:]:
        await draw_digit(cdp, box, fit(sample["strokes"], size), size, [])
        await page.wait_for_timeout(DIGIT_GAP_S * 1000)
        if time.time() - started >= seconds:
            break
        await page.keyboard.press("c")
    long = [d for s, d in await page.evaluate("() => window.benchLongTasks") if s >= zero]
    await context.close()
    return {"rate": rate, "bare_long_tasks": len(long), "bare_longest": max(long, default=0.0),
            "idle_cores": idle_cores, "cores": os.cpu_count()}
