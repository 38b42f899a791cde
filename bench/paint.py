"""Paint cost in Chromium: what drawing costs the page's main thread, and how fresh the maps are.

    python -m bench.paint [--seconds 12] [--rates 1 4 6] [--baseline DIR] [--rounds N] [--quick]

Starts the production server (gunicorn, gevent, one worker; bench/load.py's command) and
Debian's Chromium (Playwright), opens the drawing page at 1400x900, draws one digit to warm
up (the first frame builds the layer sections; the frame worker starts), then, at each CPU
throttling rate (CDP `Emulation.setCPUThrottlingRate`: 4 is a mid-range phone), draws real
pen digits (UCI pen digits, pendigits-train.json) point by point with mouse events at 60
points a second (CDP `Input.dispatchMouseEvent`, sent on schedule without waiting for the
page, each stamped with its scheduled time; 0.15 s pen-up between strokes; `c` clears
between digits) for `--seconds` of drawing. At each rate the same digits are drawn twice:
first untraced, for what the person drawing sees (frames/s, ages, long tasks: the targets),
then with a trace, for where the time went (CPU per frame, each long task's own CPU). A trace
is not free: Chromium's tracing service took ~0.4 of this machine's two cores while drawing
(/proc), CPU the page's threads then wait for, so the traced run has long tasks of its own
(bench/RESULTS.md 6k); its rates and long tasks are printed too. Per rate it prints:

- main-thread ms per painted frame (traced): a trace of the renderer (category `toplevel`)
  gives every task the page's main thread ran; the time between two consecutive painted frames is one
  frame's share, so its main-thread busy time (tasks clipped to the interval) is that frame's
  cost: p50 and p95 over the frames, and the mean (all main-thread time while drawing / painted
  frames). Everything is counted: input, socket messages, decoding, our paint, style, layout,
  paint and commit. `TaskDuration` (CDP `Performance.getMetrics`) over the same run / painted
  frames is printed as a cross-check (it also counts the pen-up pauses).
- painted frames/s: frames whose maps were painted while the pen was down, per second of
  pen-down time (static/js/app.js records each painted frame in `cnnPaintTimings`).
- result age p50/p95: painted time minus the time stamp of the pen event that made the
  drawing state shown (app.js: `event.timeStamp` of the pointer event, which is the
  scheduled time sent with the CDP event), for frames painted while the pen was down.
- maps on screen/s and their age p50/p95: where the page has a paint worker
  (static/js/painter.js), the maps are on screen when the worker has painted them, whatever
  the main thread is doing; painter.js records each frame's paint time (`cnnWorkerPaints`).
  The same counts and ages as above, from those times (for a page without one, the
  figures above).
- long tasks: PerformanceObserver('longtask') entries (> 50 ms) while drawing: how many, how
  many of them began with the pen on the paper (the rest are in the gaps after a stroke, when
  the finished drawing's result is written), the longest, and their blocking time (the sum of
  each one's time over 50 ms); and, of the traced run's, how many had more than 50 ms of the
  main thread's own CPU time (the trace's thread time of the task; the throttling's spin
  counts as run): the rest were long by waiting for a core the worker, GPU process, server
  and tracing share. Then what the long animation frames were made of (Long Animation Frames
  API): script, other work before rendering, requestAnimationFrame callbacks, and style to
  commit, in ms summed over them, and the scripts that ran longest by what ran them. The JSON
  keeps where each long task began (`long_tasks_where`: ms after a stroke began or ended).
- the machine, per throttled rate (not with `--quick`, nor for `--baseline`'s tree): how much
  of its cores an idle page keeps busy at that throttling (Chromium throttles by spinning the
  page's main thread, idle or not: CPU the paint worker, the GPU process and the server then
  lack), and the long tasks of a bare page, a canvas inking the pen and nothing else, drawn
  the same way: what the machine makes by itself.
- worker ms per painted frame (traced): the same trace's top-level tasks on the page's
  dedicated worker threads (the paint worker: decoding, deriving and painting), wall and
  CPU, over the drawing time / painted frames; 0 for a page without one.

`--baseline DIR` first runs the same thing against another working tree (e.g. a
`git worktree` of an older commit, which needs app.js's `cnnPaintTimings` ring), then this
one, on the same machine in the same run; `--rounds N` does that N times, alternately, and
ends with each figure round by round (a change smaller than the run-to-run spread shows
only so); without `--baseline`, it measures this tree N times (the spread of one tree).
`--quick` is a smoke run of a few seconds (one digit at 1x and 4x) that checks nothing but
that it runs and prints.
"""
import argparse
import asyncio
import json
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

from bench import targets
from bench.bare_page import machine_baseline
from bench.common import fit
from bench.load import start_server, stop
from bench.page_trace import busy_between, cpu_of_tasks, long_frames, main_thread_tasks, profile_summary
from bench.pen_replay import CHROMIUM_ARGS, DIGIT_GAP_S, LONG_TASKS, VIEWPORT, draw_digit
from model.data import DEFAULT_PEN_TRAIN, load_pen_samples

ROOT = Path(__file__).resolve().parent.parent


async def settled(page, timeout=30_000):
    await page.wait_for_function(
        "() => { const p = document.querySelector('#prediction'); return p.dataset.busy === 'false' && p.dataset.digit !== ''; }",
        timeout=timeout)


async def measure(browser, url, samples, rate, seconds, categories=(), profile=None, traced=True):
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    await page.add_init_script(LONG_TASKS)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)
    await page.wait_for_selector("#status[data-state=connected]")
    cdp = await context.new_cdp_session(page)
    await cdp.send("Performance.enable")
    box = await page.locator("#canvas").bounding_box()
    size = round(box["width"])
    pen_down = []
    # Warm-up, unthrottled: the first frame builds every layer's section.
    await draw_digit(cdp, box, fit(samples[0]["strokes"], size), size, [])
    await settled(page, timeout=90_000)
    await first_pressure_reading(page)
    await page.keyboard.press("c")
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    await page.wait_for_timeout(300)

    if traced:
        await browser.start_tracing(page=page, categories=["toplevel", "blink.user_timing", "__metadata", *categories])
    origin = await page.evaluate("() => { window.benchLongTasks = []; window.benchFrames = []; cnnPaintTimings.count = 0;"
                                 " if (window.cnnWorkerPaints) cnnWorkerPaints.count = 0;"
                                 " return [performance.timeOrigin, performance.mark('bench-zero').startTime]; }")
    time_origin, zero_page = origin
    before = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
    if profile is not None:
        await cdp.send("Profiler.enable")
        await cdp.send("Profiler.setSamplingInterval", {"interval": 250})
        await cdp.send("Profiler.start")
    started = time.time()
    drawn = 0
    for sample in samples[1:]:
        await draw_digit(cdp, box, fit(sample["strokes"], size), size, pen_down)
        drawn += 1
        await page.wait_for_timeout(DIGIT_GAP_S * 1000)
        if time.time() - started >= seconds:
            break
        await page.keyboard.press("c")
    ended = time.time()
    if profile is not None:
        profile.update((await cdp.send("Profiler.stop"))["profile"])
    after = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
    result = await page.evaluate("() => ({ count: cnnPaintTimings.count, paints: Array.from(cnnPaintTimings.paints),"
                                 " made: Array.from(cnnPaintTimings.made), long: window.benchLongTasks, frames: window.benchFrames,"
                                 " worker: window.cnnWorkerPaints && { count: cnnWorkerPaints.count, times: Array.from(cnnWorkerPaints.times) } })")
    pressure = await cpu_pressure(page, started, ended)
    raw = await browser.stop_tracing() if traced else None
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    await context.close()
    if errors:
        raise RuntimeError(f"page errors: {errors}")

    count = min(result["count"], len(result["paints"]) // 3)
    paints = np.asarray(result["paints"][: 3 * count]).reshape(-1, 3)  # seq, made, painted (page ms)
    painted_epoch = (time_origin + paints[:, 2]) / 1000
    during = np.zeros(len(paints), bool)
    for a, b in pen_down:
        during |= (painted_epoch >= a) & (painted_epoch <= b)
    down_s = sum(b - a for a, b in pen_down)
    ages = paints[during, 2] - paints[during, 1]
    maps_fps, maps_ages = during.sum() / down_s if down_s else float("nan"), ages
    if result["worker"]:
        made = np.asarray(result["made"])
        n = min(result["worker"]["count"], len(result["worker"]["times"]) // 2)
        shown = np.asarray(result["worker"]["times"][: 2 * n]).reshape(-1, 2)  # seq, painted (page ms)
        shown_epoch = (time_origin + shown[:, 1]) / 1000
        on_screen = np.zeros(len(shown), bool)
        for a, b in pen_down:
            on_screen |= (shown_epoch >= a) & (shown_epoch <= b)
        maps_fps = on_screen.sum() / down_s if down_s else float("nan")
        maps_ages = shown[on_screen, 1] - made[shown[on_screen, 0].astype(int) % len(made)]

    observed = [(s, d) for s, d in result["long"] if s >= zero_page]  # (start, duration), page ms
    long = [d for _, d in observed]
    long_where = where_they_began(observed, pen_down, time_origin)
    pct = lambda a, q: float(np.percentile(a, q)) if len(a) else float("nan")  # noqa: E731
    figures = {
        "rate": rate, "traced": traced, "seconds": ended - started, "pen_down_s": down_s, "digits": drawn,
        "painted": int(len(paints)), "painted_while_drawing": int(during.sum()),
        "task_duration_per_frame": (after["TaskDuration"] - before["TaskDuration"]) * 1000 / max(1, len(paints)),
        "fps": during.sum() / down_s if down_s else float("nan"),
        "age_p50": pct(ages, 50), "age_p95": pct(ages, 95),
        "maps_fps": float(maps_fps), "maps_age_p50": pct(maps_ages, 50), "maps_age_p95": pct(maps_ages, 95),
        "long_tasks": len(long), "longest": max(long, default=0.0), "blocking_ms": sum(d - 50 for d in long),
        "long_tasks_pen_down": sum(when == "down" for _, _, when, _ in long_where), "long_tasks_where": long_where,
        "load": os.getloadavg()[0], **pressure,
        "long_frames": long_frames([f for f in result["frames"] if f["start"] >= zero_page]),
    }
    if traced:
        figures.update(trace_figures(json.loads(raw), zero_page, paints[:, 2], started, ended, time_origin, observed, pct))
    return figures, raw


def paint_worker(page):
    return next((w for w in page.workers if w.url.endswith("/paint-worker.js")), None)


async def first_pressure_reading(page, timeout_s=20):
    """Waits for the paint worker's first CPU pressure reading (static/js/pressure.js), as a page
    open for a few seconds has: Chromium gives the first 3.5-6 s after the page loads (idle;
    longer on a busy machine), and the page sends every drawing state until then."""
    worker, end = paint_worker(page), time.time() + timeout_s
    while worker and time.time() < end:
        if await worker.evaluate("() => (globalThis.cnnPace?.readings.length ?? 1) > 0"):
            return
        await asyncio.sleep(0.2)


async def cpu_pressure(page, started, ended):
    """The paint worker's CPU pressure readings while drawing (static/js/pressure.js, one a
    second): how many of each state, and how many of them paced the page's drawing states."""
    worker = paint_worker(page)
    readings = await worker.evaluate("() => globalThis.cnnPace?.readings ?? []") if worker else []
    during = [(state, gap) for at, state, gap in readings if started * 1000 <= at <= ended * 1000]
    return {"pressure": dict(Counter(state for state, _ in during)), "paced_readings": sum(gap > 0 for _, gap in during)}


def where_they_began(observed, pen_down, time_origin):
    """Each long task's duration and where it began: ms after the latest stroke began ("down":
    the pen on the paper) or ended ("up": in the gap after it, when the result is written),
    and which stroke of the run that was."""
    edges = sorted([(a, "down", k) for k, (a, _) in enumerate(pen_down)] + [(b, "up", k) for k, (_, b) in enumerate(pen_down)])
    out = []
    for start, duration in observed:
        at = (time_origin + start) / 1000
        last = max((e for e in edges if e[0] <= at), default=None)
        out.append([round(duration), *([round((at - last[0]) * 1000), last[1], last[2]] if last else [None, None, None])])
    return out


def trace_figures(trace, zero_page, painted, started, ended, time_origin, observed, pct):
    """What the trace says of a run: the main thread's and the worker's time per painted
    frame, and how much of each long task the main thread ran itself."""
    tasks, zero_trace = main_thread_tasks(trace)
    offset = zero_trace - zero_page  # page ms -> trace ms
    edges = painted + offset
    per_frame, per_frame_cpu = busy_between(tasks, edges) if len(edges) > 1 else (np.zeros(0), np.zeros(0))
    window = [(started - time_origin / 1000) * 1000 + offset, (ended - time_origin / 1000) * 1000 + offset]
    total_busy, total_cpu = (float(x[0]) for x in busy_between(tasks, window))
    # The paint worker's share (decoding, deriving, painting), where the page has one.
    workers, _ = main_thread_tasks(trace, "DedicatedWorker")
    worker_busy, worker_cpu = (float(x[0]) for x in busy_between(workers, window)) if len(workers) else (0.0, 0.0)
    # How much of each the main thread ran itself: on this 2-core machine the worker, the GPU
    # process and the server take turns with it, and a long task may be mostly waiting.
    long_cpu = cpu_of_tasks(tasks, [(s + offset, d) for s, d in observed])
    frames = max(1, len(painted))
    return {
        "ms_per_frame_p50": pct(per_frame, 50), "ms_per_frame_p95": pct(per_frame, 95),
        "ms_per_frame_mean": total_busy / frames,
        "cpu_per_frame_p50": pct(per_frame_cpu, 50), "cpu_per_frame_p95": pct(per_frame_cpu, 95),
        "cpu_per_frame_mean": total_cpu / frames,
        "worker_per_frame_mean": worker_busy / frames, "worker_cpu_per_frame_mean": worker_cpu / frames,
        "long_tasks_cpu": long_cpu, "long_tasks_over_50_cpu": sum(c > 50 for c in long_cpu),
    }


# What the person drawing sees, taken from the untraced run.
SEEN = ("digits", "pen_down_s", "painted_while_drawing", "fps", "age_p50", "age_p95", "maps_fps", "maps_age_p50",
        "maps_age_p95", "long_tasks", "longest", "blocking_ms", "long_tasks_pen_down", "long_tasks_where", "long_frames", "load",
        "pressure", "paced_readings")


async def measure_twice(browser, url, samples, rate, seconds, categories=(), profile=None):
    """Draws the same digits twice: untraced, for what the person drawing sees (rates, ages,
    long tasks), then traced, for where the time went. Recording a trace keeps Chromium's
    tracing service busy (~0.4 of a core here, measured with /proc while drawing): on two cores
    that is CPU the page's threads then wait for, and so long tasks of its own."""
    seen, _ = await measure(browser, url, samples, rate, seconds, traced=False)
    traced, raw = await measure(browser, url, samples, rate, seconds, categories, profile)
    return {**traced, **{key: seen[key] for key in SEEN}, "while_traced": {key: traced[key] for key in SEEN if key != "long_frames"}}, raw


def report(name, r):
    t = r["while_traced"]
    print(f"{name} CPU x{r['rate']:g}: {r['fps']:.1f} painted frames/s while drawing, result age {r['age_p50']:.0f} ms p50 /"
          f" {r['age_p95']:.0f} ms p95, maps on screen {r['maps_fps']:.1f}/s, {r['maps_age_p50']:.0f} / {r['maps_age_p95']:.0f} ms old"
          f" p50 / p95, long tasks > 50 ms: {r['long_tasks']} ({r['long_tasks_pen_down']} with the pen down; longest"
          f" {r['longest']:.0f} ms, blocking {r['blocking_ms']:.0f} ms); {r['digits']} digits, {r['pen_down_s']:.1f} s pen down;"
          f" load average {r['load']:.1f}; CPU pressure {pressure_text(r)}", flush=True)
    print(f"  traced, the same again: main thread {r['ms_per_frame_p50']:.1f} ms p50 / {r['ms_per_frame_p95']:.1f} ms p95"
          f" per painted frame (mean {r['ms_per_frame_mean']:.1f}; TaskDuration {r['task_duration_per_frame']:.1f});"
          f" CPU {r['cpu_per_frame_p50']:.1f} p50 / {r['cpu_per_frame_p95']:.1f} p95 (mean {r['cpu_per_frame_mean']:.1f});"
          f" worker {r['worker_per_frame_mean']:.1f} ms (CPU {r['worker_cpu_per_frame_mean']:.1f}) per painted frame;"
          f" {r['painted']} frames painted, {t['fps']:.1f}/s while drawing, maps on screen {t['maps_fps']:.1f}/s;"
          f" long tasks {t['long_tasks']} ({t['long_tasks_pen_down']} with the pen down; longest {t['longest']:.0f} ms),"
          f" {r['long_tasks_over_50_cpu']} of them over 50 ms of the main thread's own CPU (the rest waiting for a core);"
          f" load average {t['load']:.1f}", flush=True)
    if "machine" in r:
        m = r["machine"]
        print(f"  the machine at CPU x{r['rate']:g}: an idle page keeps {m['idle_cores']:.2f} of its {m['cores']} cores busy;"
              f" a bare page (a canvas inking the pen, nothing else), same pen: {m['bare_long_tasks']} long tasks"
              f" (longest {m['bare_longest']:.0f} ms)", flush=True)
    lf = r["long_frames"]
    if lf["count"]:
        p = lf["parts"]
        print(f"  long animation frames > 50 ms: {lf['count']}, {lf['ms']:.0f} ms: scripts {p['scripts']:.0f} and other work"
              f" {p['other work']:.0f} before rendering, requestAnimationFrame {p['requestAnimationFrame']:.0f},"
              f" style to commit {p['style to commit']:.0f} ms; the longest scripts:", flush=True)
        for what, ms in lf["top_scripts"]:
            print(f"    {ms:7.1f} ms  {what}", flush=True)


async def run_tree(name, tree, samples, rates, seconds, save_trace=None, save_profile=None, machine=False):
    from playwright.async_api import async_playwright

    process, url = start_server(root=tree)
    results = []
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for rate in rates:
                categories = ["devtools.timeline", "disabled-by-default-devtools.timeline", "disabled-by-default-devtools.timeline.invalidationTracking", "v8.execute"] if save_trace else []
                profile = {} if save_profile else None
                r, raw = await measure_twice(browser, url, samples, rate, seconds, categories, profile)
                if save_profile:
                    Path(f"{save_profile}-{name.replace(' ', '-')}-x{rate:g}.cpuprofile").write_text(json.dumps(profile))
                    for where, ms in profile_summary(profile):
                        print(f"  {ms:8.1f} ms self  {where}")
                if save_trace:
                    Path(f"{save_trace}-{name.replace(' ', '-')}-x{rate:g}.json").write_bytes(raw)
                if machine and rate > 1:
                    r["machine"] = await machine_baseline(browser, samples, rate, seconds)
                report(name, r)
                results.append(r)
            await browser.close()
    finally:
        stop(process)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=12.0, help="drawing time per throttling rate")
    parser.add_argument("--rates", type=float, nargs="+", default=[1, 4, 6], help="CDP CPU throttling rates")
    parser.add_argument("--baseline", type=Path, help="another working tree to measure first, same settings")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--trace", help="save each run's trace (devtools.timeline, with invalidation tracking: what restyled or laid out what) as TRACE-<tree>-x<rate>.json")
    parser.add_argument("--profile", help="save each run's V8 CPU profile of the page (PROFILE-<tree>-x<rate>.cpuprofile)"
                        " and print its functions' self time while drawing")
    parser.add_argument("--rounds", type=int, default=1, help="measure this tree (with --baseline: both trees, alternately)"
                        " this many times, and print each figure round by round (this machine's state drifts between runs)")
    parser.add_argument("--quick", action="store_true", help="smoke run: one digit at 1x and 4x")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rates = 0.5, [1, 4]
    samples = load_pen_samples(DEFAULT_PEN_TRAIN)[:200]
    runs = {"baseline": [], "current": []}
    for round_ in range(args.rounds):
        last = round_ == args.rounds - 1
        tag = f" (round {round_ + 1})" if args.rounds > 1 else ""
        if args.baseline:
            runs["baseline"].append(asyncio.run(run_tree(f"before{tag}", args.baseline.resolve(), samples, args.rates, args.seconds,
                                                         args.trace, args.profile)))
        runs["current"].append(asyncio.run(run_tree(f"after{tag}" if args.baseline else f"this tree{tag}", ROOT, samples, args.rates,
                                                    args.seconds, args.trace, args.profile, machine=last and not args.quick)))
    if len(runs["current"]) > 1:
        round_by_round(runs, args.rates)
    targets.show(targets.paint(runs["current"][-1]), "issue 11, this tree, this run")
    if args.json:
        out = {key: rounds[-1] for key, rounds in runs.items() if rounds}
        if len(runs["current"]) > 1:
            out["rounds"] = runs
        args.json.write_text(json.dumps(out, indent=1))


ROUND_FIGURES = [("long tasks > 50 ms (with the pen down)", lambda r: f"{r['long_tasks']} ({r['long_tasks_pen_down']})"),
                 ("traced: long tasks (of them over 50 ms of own CPU)",
                  lambda r: f"{r['while_traced']['long_tasks']} ({r['long_tasks_over_50_cpu']})"),
                 ("their blocking time, ms", lambda r: f"{r['blocking_ms']:.0f}"),
                 ("main-thread CPU ms per painted frame, mean", lambda r: f"{r['cpu_per_frame_mean']:.1f}"),
                 ("prediction strip frames/s", lambda r: f"{r['fps']:.1f}"),
                 ("maps on screen/s", lambda r: f"{r['maps_fps']:.1f}"),
                 ("CPU pressure readings that paced drawing (of all)",
                  lambda r: f"{r['paced_readings']} ({sum(r['pressure'].values())})")]


def pressure_text(r):
    readings = ", ".join(f"{state} {n}" for state, n in r["pressure"].items()) or "not read"
    return f"{readings} (of them pacing: {r['paced_readings']})"


def round_by_round(runs, rates):
    """Each figure of each tree, round after round, side by side."""
    both = bool(runs["baseline"])
    print("\nRound by round" + (" (before | after):" if both else ":"))
    for i, rate in enumerate(rates):
        for label, figure in ROUND_FIGURES:
            after = ", ".join(figure(rounds[i]) for rounds in runs["current"])
            before = ", ".join(figure(rounds[i]) for rounds in runs["baseline"]) + " | " if both else ""
            print(f"- CPU x{rate:g}, {label}: {before}{after}")


if __name__ == "__main__":
    main()
