"""The benchmarks' verdicts on issue 11's targets (bench/targets.py) follow the figures."""
from bench import targets


def paint_run(rate, **figures):
    run = {"rate": rate, "cpu_per_frame_mean": 5.0, "cpu_per_frame_p50": 4.0, "ms_per_frame_mean": 15.0, "maps_fps": 25.0,
           "maps_age_p95": 100.0, "age_p95": 150.0, "long_tasks": 0, "longest": 0.0}
    return {**run, **figures}


def verdicts(checks):
    return [met for _, _, met in checks]


def test_paint_targets():
    assert verdicts(targets.paint([paint_run(1), paint_run(4)])) == [True, True, True, True]
    assert verdicts(targets.paint([paint_run(1, cpu_per_frame_mean=8.5)])) == [False]
    slow = paint_run(4, maps_fps=19.9, age_p95=251.0, long_tasks=3, longest=80.0)
    assert verdicts(targets.paint([slow])) == [False, False, False]
    assert targets.paint([paint_run(6)]) == []  # no target at 6x


def follow_run(first, last, all_p99, students=30, link="20mbit"):
    rows = [{"part": "first", "p99": first}, {"part": "last", "p99": last}, {"part": "all", "p99": all_p99}]
    return {"students": students, "link": link, "window": 60.0, "rows": rows}


def test_classroom_targets():
    results = {
        "students": {"students": 30, "link": "20mbit", "p99": 420.0, "lost": 0},
        "follow": follow_run(180.0, 700.0, 700.0),  # the lag grew
        "follow_alone": follow_run(200.0, 210.0, 1200.0, students=1, link="2mbit"),
        "lan": {"mbit_drawing": 2.9, "answered": 90, "sent": 100},
    }
    checks = targets.classroom(results)
    assert verdicts(checks) == [True, True, False, False, True, False]
    assert "180 → 700 ms" in checks[2][1]
    results["students"]["lost"] = 1  # a final result that never came is not "p99 ≤ 1 s"
    assert not targets.classroom(results)[0][2]


def test_first_load_targets(capsys):
    targets.show(targets.first_load({"main": 124_000, "teacher": 151_000}), "issue 11")
    out = capsys.readouterr().out
    assert "- main: first visit ≤ 150 KB on the wire: 124.0 KB: met" in out
    assert "- teacher: first visit ≤ 150 KB on the wire: 151.0 KB: NOT met" in out
