"""Issue 11's targets, checked against a benchmark's figures: each benchmark prints, after
its tables, one line per target with the figure and whether it is met on this run."""

SECOND_MS = 1000.0


def verdict(met):
    return "met" if met else "NOT met"


def show(checks, title):
    """`checks`: (target, figure text, met) triples."""
    if not checks:
        return
    print(f"\nTargets ({title}):")
    for target, figure, met in checks:
        print(f"- {target}: {figure}: {verdict(met)}")


def paint(results):
    """bench.paint's figures for this tree (one dict per CPU throttling rate)."""
    by_rate = {r["rate"]: r for r in results}
    checks = []
    if 1 in by_rate:
        r = by_rate[1]
        checks.append(("unthrottled, ≤ 8 ms of main-thread CPU a painted frame",
                       f"{r['cpu_per_frame_mean']:.1f} ms mean, {r['cpu_per_frame_p50']:.1f} ms p50"
                       f" (busy, waiting for a core included: {r['ms_per_frame_mean']:.1f} ms mean)",
                       r["cpu_per_frame_mean"] <= 8))
    if 4 in by_rate:
        r = by_rate[4]
        checks.append(("4× throttling, ≥ 20 maps painted a second", f"{r['maps_fps']:.1f}/s", r["maps_fps"] >= 20))
        checks.append(("4× throttling, the shown result ≤ 250 ms old at p95",
                       f"maps {r['maps_age_p95']:.0f} ms, the prediction strip {r['age_p95']:.0f} ms",
                       max(r["maps_age_p95"], r["age_p95"]) <= 250))
        machine = r.get("machine")
        bare = f"; a bare page here {machine['bare_long_tasks']}" if machine else ""
        checks.append(("4× throttling, no long task > 50 ms while drawing",
                       f"{r['long_tasks']} (longest {r['longest']:.0f} ms{traced(r)}{bare})", r["long_tasks"] == 0))
    return checks


def traced(r):
    """The traced run's long tasks beside the untraced run's (bench.paint draws twice)."""
    t = r.get("while_traced")
    return f"; traced: {t['long_tasks']}, {r['long_tasks_over_50_cpu']} over 50 ms of own CPU" if t else ""


def classroom(results):
    """bench.classroom_net's figures."""
    checks = []
    if "students" in results:
        s = results["students"]
        checks.append((f"{s['students']} students drawing on {s['link']}, pen-up → final p99 ≤ 1 s",
                       f"{s['p99']:.0f} ms ({s['lost']} never came)", s["p99"] <= SECOND_MS and s["lost"] == 0))
    for key, who in (("follow", "follow me"), ("follow_slow", "follow me beside a student acking 2 s late, the others"),
                     ("follow_alone", "follow me, one student alone")):
        if key not in results:
            continue
        f = results[key]
        rows = {row["part"]: row for row in f["rows"]}
        checks.append((f"{who}: {f['students']} on {f['link']}, pen-up → each has the frame, p99 ≤ 1 s",
                       f"{rows['all']['p99']:.0f} ms", rows["all"]["p99"] <= SECOND_MS))
        if key == "follow":
            first, last = rows["first"]["p99"], rows["last"]["p99"]
            # "Does not grow": the last window no worse than the first beyond this run's noise.
            checks.append((f"follow me: lag does not grow (p99, first and last {f['window']:g} s)",
                           f"{first:.0f} → {last:.0f} ms", last <= max(1.25 * first, first + 100)))
    if "lan" in results:
        lan = results["lan"]
        checks.append(("one user on a LAN, ≤ 3 Mbit/s while drawing", f"{lan['mbit_drawing']:.2f} Mbit/s", lan["mbit_drawing"] <= 3))
        checks.append(("one user on a LAN, no loss of update rate (frames for ≥ 95% of the states sent)",
                       f"{lan['answered']} of {lan['sent']}", lan["answered"] >= 0.95 * lan["sent"]))
    return checks


def first_load(pages, budget=150_000):
    """bench.first_load's figures: {page: bytes on the wire of its first visit}."""
    return [(f"{page}: first visit ≤ {budget / 1000:.0f} KB on the wire", f"{wire / 1000:.1f} KB", wire <= budget)
            for page, wire in pages.items()]
