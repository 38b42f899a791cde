"""The long fuzz run of issue 17: fuzzed Socket.IO messages and HTTP requests against
README's production command (gunicorn -k gevent, one worker), with a canary page drawing
real digits throughout.

    python -m bench.fuzz                       # 10,000 socket cases, 2,000 HTTP requests
    python -m bench.fuzz --socket 300 --http 100 --processes 1   # a smoke run

Socket cases run in `--processes` processes, each with its own class (a teacher, a student
and an anonymous page on raw WebSockets) and its own hypothesis seed; HTTP requests in one
more. Cases, outcomes and the shortest failing example of each kind come from
tests/fuzzing/ (the same machinery as tests/test_fuzz.py). Prints: cases tried,
answered, silent, disconnected, HTTP 5xx, tracebacks in the server's log, canary misses,
drawings lost; the last line is a one-line summary."""
import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MNIST_PATH", str(ROOT.parent / "shared" / "data" / "mnist.npz"))


def launch(folder, port):
    from bench.load import start_server

    log = folder / "server.log"
    process, url = start_server(port, database=folder / "classroom.sqlite3", wait=120, log=log)
    return process, url, log


def socket_share(url, cases, seed, name, with_corpus):
    from tests.fuzzing import Lesson, SocketFuzzer, corpus, digits_for_fuzz, run_socket_fuzz, socket_cases

    lesson = Lesson(url, name=name)
    fuzzer = SocketFuzzer(url, lesson)
    try:
        if with_corpus:
            for case in corpus([lesson.code]):
                fuzzer.run(case)
        families = socket_cases(digits_for_fuzz(), [lesson.code])
        rounds = 0
        while fuzzer.tally.total() < cases and rounds < 5:  # hypothesis stops early on a family it has exhausted
            run_socket_fuzz(fuzzer, families, cases - fuzzer.tally.total(), seed=seed + 1000 * rounds, derandomize=False)
            rounds += 1
    finally:
        fuzzer.close()
    return {
        "counts": {k: dict(v) for k, v in fuzzer.tally.counts.items()}, "examples": dict(fuzzer.tally.examples),
        "messages": fuzzer.messages, "submitted": len(set(fuzzer.submitted)), "lost": fuzzer.lost(),
    }


def http_share(url, requests_count, seed):
    from tests.fuzzing import HttpFuzzer, Lesson, digits_for_fuzz, http_cases, raw_http_cases, run_http_fuzz

    lesson = Lesson(url, name="Http")
    fuzzer = HttpFuzzer(url, lesson)
    for kind, request in raw_http_cases():
        fuzzer.run_raw(kind, request)
    families = http_cases(digits_for_fuzz(), [lesson.code])
    rounds = 0
    while fuzzer.tally.total() < requests_count and rounds < 5:
        run_http_fuzz(fuzzer, families, requests_count - fuzzer.tally.total(), seed=seed + 1000 * rounds, derandomize=False)
        rounds += 1
    return {"counts": {k: dict(v) for k, v in fuzzer.tally.counts.items()}, "examples": dict(fuzzer.tally.examples),
            "statuses": dict(fuzzer.statuses)}


def merge(results):
    counts, examples = defaultdict(Counter), defaultdict(list)
    for result in results:
        for kind, outcomes in result["counts"].items():
            counts[kind].update(outcomes)
        for key, found in result["examples"].items():
            examples[key] = sorted(examples[key] + found)[:2]
    return counts, examples


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--socket", type=int, default=10_000, help="fuzzed Socket.IO cases (each one message or more)")
    parser.add_argument("--http", type=int, default=2_000, help="fuzzed HTTP requests")
    parser.add_argument("--processes", type=int, default=3, help="processes sending socket cases")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    from tests.conftest import free_port
    from tests.fuzzing import Canary, alive, tracebacks

    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    process, url, log = launch(folder, args.port or free_port())
    started = time.monotonic()
    try:
        context = multiprocessing.get_context("spawn")
        with context.Pool(args.processes + 1) as pool:
            shares = [args.socket // args.processes + (1 if i < args.socket % args.processes else 0) for i in range(args.processes)]
            socket_jobs = [pool.apply_async(socket_share, (url, n, args.seed * 100 + i, f"Fuzz{i}", i == 0))
                           for i, n in enumerate(shares)]
            http_job = pool.apply_async(http_share, (url, args.http, args.seed))
            time.sleep(1)
            canary = Canary(url)
            canary.start()
            socket_results = [job.get() for job in socket_jobs]
            http_result = http_job.get()
        canary_connected = canary.finish()
        elapsed = time.monotonic() - started
        serving = alive(url)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    counts, examples = merge(socket_results)
    http_counts, http_examples = merge([http_result])
    outcomes = Counter()
    for kind_counts in counts.values():
        outcomes.update(kind_counts)
    http_outcomes = Counter()
    for kind_counts in http_counts.values():
        http_outcomes.update(kind_counts)
    statuses = Counter(http_result["statuses"])
    http_5xx = sum(n for status, n in statuses.items() if status >= 500)
    found = tracebacks(log.read_text(errors="replace"))
    lost = [i for r in socket_results for i in r["lost"]]
    submitted = sum(r["submitted"] for r in socket_results)
    messages = sum(r["messages"] for r in socket_results)
    tried = sum(outcomes.values())

    print(f"server: gunicorn -k gevent -w 1 --worker-connections 2000 (README's production command), log {log}")
    print(f"socket cases by kind ({args.processes} processes, seed {args.seed}):")
    for kind in sorted(counts):
        print(f"  {kind:36} " + ", ".join(f"{o} {n}" for o, n in sorted(counts[kind].items())))
    for (kind, outcome), found_examples in sorted(examples.items()):
        for _, text in found_examples:
            print(f"  {outcome.upper()} {kind}: {text[:300]}")
    print("HTTP requests by kind:")
    for kind in sorted(http_counts):
        print(f"  {kind:36} " + ", ".join(f"{o} {n}" for o, n in sorted(http_counts[kind].items())))
    for (kind, outcome), found_examples in sorted(http_examples.items()):
        for _, text in found_examples:
            print(f"  {outcome.upper()} {kind}: {text[:300]}")
    print(f"HTTP statuses: {dict(sorted(statuses.items()))}")
    print(f"tracebacks in the server log: {sum(found.values())}" + "".join(f"\n  {n} x {last}" for last, n in found.most_common(10)))
    print(f"socket cases tried: {tried} ({messages} frames sent, sync events not counted)")
    print(f"  answered: {outcomes['answered']}; nothing due and none sent (acks of unknown ids, Engine.IO noops): {outcomes['quiet']}; "
          f"hung up where allowed (Engine.IO junk, DISCONNECT): {outcomes['hung up']}")
    print(f"  silent: {outcomes['silent']}; internal error: {outcomes['internal']}; disconnected: {outcomes['disconnected']}")
    print(f"HTTP requests tried: {sum(http_outcomes.values())}; 5xx: {http_5xx}; "
          f"/api 4xx without a JSON error: {http_outcomes['4xx without JSON error']}; failed: {http_outcomes['failed']}")
    print(f"canary: {canary.framed}/{canary.sent} frames, misses {len(canary.misses)}" + (f" (first: {canary.misses[:3]})" if canary.misses else "")
          + f", still connected: {canary_connected}, disconnects (second, reason): {canary.disconnects}, "
          f"answered after its 5 s: {canary.late[:5]}")
    print(f"classroom drawings acknowledged: {submitted}, lost: {len(lost)}; server still serving: {serving}; {elapsed:.0f} s")
    print(f"SUMMARY socket {tried} cases: answered {outcomes['answered']}, silent {outcomes['silent']}, internal {outcomes['internal']}, "
          f"disconnected {outcomes['disconnected']}; HTTP {sum(http_outcomes.values())}: 5xx {http_5xx}; "
          f"tracebacks {sum(found.values())}; canary misses {len(canary.misses)}/{canary.sent}; drawings lost {len(lost)}/{submitted}")


if __name__ == "__main__":
    main()
