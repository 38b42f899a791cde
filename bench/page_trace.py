"""What Chromium recorded while bench.paint drew: the main thread's and the paint worker's
top-level tasks from a trace, busy time between painted frames, a V8 profile's hottest
functions, and what the long animation frames were made of."""
import numpy as np


def main_thread_tasks(trace, thread="CrRendererMain"):
    """(start, end, cpu) in ms of the top-level tasks of the page's renderer main thread (or
    of its threads whose name starts with `thread`: "DedicatedWorker" for the paint worker),
    and the trace time (ms) of the `bench-zero` mark, from a Chromium trace."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    zero = next(e for e in events if e.get("name") == "bench-zero")
    pid = zero["pid"]
    main = {e["tid"] for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"
            and e["pid"] == pid and e["args"].get("name", "").startswith(thread)}
    tasks = [(e["ts"] / 1000, (e["ts"] + e.get("dur", 0)) / 1000, e.get("tdur", e.get("dur", 0)) / 1000) for e in events
             if e.get("ph") == "X" and e["pid"] == pid and e["tid"] in main and e.get("cat") == "toplevel"]
    tasks.sort()
    # Nested top-level events (a task inside a task) would count twice: keep the outermost.
    outer, end = [], -1.0
    for s, e, cpu in tasks:
        if s >= end:
            outer.append([s, e, cpu])
            end = e
        elif e > end:
            outer[-1][1] = e
            end = e
    return np.asarray(outer if outer else np.zeros((0, 3))), zero["ts"] / 1000


def busy_between(tasks, edges):
    """Main-thread busy ms in each interval [edges[k], edges[k+1]): wall time of its tasks
    (clipped to the interval), and their CPU time (thread time, scaled by the share of each
    task that falls in the interval)."""
    wall, cpu = [], []
    length = np.maximum(tasks[:, 1] - tasks[:, 0], 1e-9)
    for a, b in zip(edges[:-1], edges[1:]):
        inside = np.clip(tasks[:, 1], a, b) - np.clip(tasks[:, 0], a, b)
        wall.append(float(inside.sum()))
        cpu.append(float((tasks[:, 2] * inside / length).sum()))
    return np.asarray(wall), np.asarray(cpu)


def cpu_of_tasks(tasks, spans):
    """For each (start, duration) in trace ms (a long task the page observed), the thread CPU
    time of the top-level task that covers most of it: what the main thread itself ran, as
    against waiting for a core it shared (the CPU throttling's own spin counts as run)."""
    out = []
    for start, duration in spans:
        overlap = np.clip(tasks[:, 1], start, start + duration) - np.clip(tasks[:, 0], start, start + duration)
        k = int(np.argmax(overlap)) if len(tasks) else -1
        out.append(float(tasks[k, 2]) if k >= 0 and overlap[k] > 0 else float("nan"))
    return out


def profile_summary(profile, top=25):
    """Self time (ms) of the page's main thread by function and place, from a V8 CPU
    profile (CDP `Profiler.stop`), largest first."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    gaps = profile.get("timeDeltas", [])
    self_ms = {}
    for node_id, gap in zip(profile.get("samples", []), gaps[1:] + [0]):
        frame = nodes[node_id]["callFrame"]
        where = f"{frame['functionName'] or '(anonymous)'} {frame['url'].rsplit('/', 1)[-1]}:{frame['lineNumber'] + 1}"
        self_ms[where] = self_ms.get(where, 0.0) + gap / 1000
    return sorted(self_ms.items(), key=lambda kv: -kv[1])[:top]


def long_frames(frames, over=50.0, top=6):
    """What the long animation frames (Long Animation Frames API, > `over` ms) were made of,
    in ms summed over them: scripts before the frame's rendering, the rest of that work (input
    dispatch, garbage collection, task overhead), requestAnimationFrame callbacks, and style,
    layout, paint and commit (the API marks where style and layout start, not where they end);
    and the scripts that ran longest, by what ran them."""
    long = [f for f in frames if f["duration"] > over]
    parts = dict.fromkeys(["scripts", "other work", "requestAnimationFrame", "style to commit"], 0.0)
    scripts = {}
    for f in long:
        end = f["start"] + f["duration"]
        render = f["render"] or end
        style = f["style"] or end
        before = sum(s["duration"] for s in f["scripts"] if s["start"] < render)
        for s in f["scripts"]:
            scripts[s["what"]] = scripts.get(s["what"], 0.0) + s["duration"]
        parts["scripts"] += before
        parts["other work"] += max(0.0, render - f["start"] - before)
        parts["requestAnimationFrame"] += max(0.0, style - render)
        parts["style to commit"] += max(0.0, end - style)
    return {"count": len(long), "ms": sum(f["duration"] for f in long), "parts": parts,
            "top_scripts": sorted(scripts.items(), key=lambda kv: -kv[1])[:top]}
