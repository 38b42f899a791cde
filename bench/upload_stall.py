"""Do picture uploads slow drawing clients? A drawing client's round trips while big PNGs
are posted to /api/predict at the same time.

    python -m bench.upload_stall [--seconds 10]

Starts README's production command (gunicorn -k gevent -w 1). One socket client draws pen
digits at 10 drawings/s and times each frame against its send; meanwhile 0, 1 or 4
uploaders post, one after another each, a page of 36 MP (35 KB of PNG: over the pixel
limit today, refused from its header; decoded in full before) or of 12 MP (a phone
photo's size: decoded, by the picture worker), each uploader one upload after another
but at most one every `--interval` s. The drawing starts once every uploader is
uploading; uploads count until it ends. Prints, per case, the drawing client's p50/p99 and unanswered
drawings, and the uploads answered by status.
"""
import argparse
import asyncio
import collections
import io
import multiprocessing
import time

import numpy as np
import requests
import socketio
from PIL import Image, ImageDraw

from bench.common import drawing_states
from bench.load import free_port, start_server, warm_up
from webapp.frames import HEADER


def big_png(megapixels):
    """A digit on a white page of `megapixels` million pixels: KBs of PNG, long to decode."""
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(megapixels * 1e6 / width)
    page = Image.new("L", (width, height), 255)
    digit = Image.new("L", (height // 2, height // 2), 255)
    ImageDraw.Draw(digit).line([(0.1 * height, 0.05 * height), (0.4 * height, 0.05 * height), (0.2 * height, 0.45 * height)],
                               fill=30, width=height // 25)
    page.paste(digit, (width // 4, height // 4))
    buffer = io.BytesIO()
    page.save(buffer, "PNG")
    return buffer.getvalue()


def drawing_client(url, seconds, fps=10):
    """(round trips in s, unanswered) for one client drawing at `fps` for `seconds`."""
    return asyncio.run(_draw(url, seconds, fps))


async def _draw(url, seconds, fps):
    # python-socketio's asyncio client: it handles messages in order (the threaded one
    # may take a frame's binary part apart from its packet when the machine is busy).
    states = [strokes for _, strokes in drawing_states(200)]
    sent, trips = {}, []
    client = socketio.AsyncClient(reconnection=False)

    async def on_frame(data):
        seq = HEADER.unpack_from(data, 0)[4]
        if seq in sent:
            trips.append(time.perf_counter() - sent[seq])

    client.on("frame", on_frame)
    await client.connect(url, transports=["websocket"], wait_timeout=30)
    start = time.perf_counter()
    seq = 0
    while time.perf_counter() - start < seconds:
        await asyncio.sleep(max(0.0, start + seq / fps - time.perf_counter()))
        sent[seq] = time.perf_counter()
        await client.emit("draw", {"seq": seq, "strokes": states[seq % len(states)], "width": 400, "height": 400})
        seq += 1
    await asyncio.sleep(2.0)  # the last answers
    await client.disconnect()
    return trips, len(sent) - len(trips)


def uploader(url, data, interval, stop, statuses):
    """One upload after another, each at least `interval` s after the last began, until
    `stop`; puts None once started, then the count of each status."""
    counts = collections.Counter()
    statuses.put(None)
    while not stop.is_set():
        began = time.perf_counter()
        counts[requests.post(url + "/api/predict", files={"image": ("page.png", data)}, timeout=300).status_code] += 1
        time.sleep(max(0.0, began + interval - time.perf_counter()))
    statuses.put(counts)


def one_case(url, seconds, data, uploaders, interval):
    # Uploaders in processes of their own: as threads here they would take the drawing
    # client's GIL and slow its own timing.
    spawn = multiprocessing.get_context("spawn")
    stop, statuses = spawn.Event(), spawn.Queue()
    workers = [spawn.Process(target=uploader, args=(url, data, interval, stop, statuses)) for _ in range(uploaders)]
    for worker in workers:
        worker.start()
    for _ in workers:
        statuses.get(timeout=300)  # their start (imports, on a busy machine seconds) is not part of the case
    trips, unanswered = drawing_client(url, seconds)
    stop.set()
    counts = sum((statuses.get(timeout=600) for _ in workers), collections.Counter())
    for worker in workers:
        worker.join()
    ms = np.asarray(trips) * 1000 if trips else np.asarray([np.nan])
    return np.percentile(ms, 50), np.percentile(ms, 99), unanswered, len(trips) + unanswered, dict(counts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--interval", type=float, default=0.25,
                        help="each uploader starts an upload at most this often (s); refused ones return in ms, "
                             "and back to back the uploaders would only measure their own CPU on a small machine")
    args = parser.parse_args(argv)
    pages = {"36 MP": big_png(36), "12 MP": big_png(12)}
    print("PNG sizes: " + ", ".join(f"{name} {len(data) / 1000:.0f} KB" for name, data in pages.items()))
    server, url = start_server(free_port())
    try:
        warm_up(url)
        cases = [("none", None, 0)] + [(name, data, n) for name, data in pages.items() for n in (1, 4)]
        for name, data, uploaders in cases:
            p50, p99, unanswered, sent, statuses = one_case(url, args.seconds, data, uploaders, args.interval)
            label = "no uploads" if not uploaders else f"{uploaders} × {name} uploads"
            print(f"{label:>18}: drawing p50 {p50:.1f} ms p99 {p99:.1f} ms, unanswered {unanswered}/{sent}; "
                  f"uploads answered {statuses or '-'}")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
