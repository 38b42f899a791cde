"""The page's paint worker (static/js/painter.js, paint-worker.js) in a real Chromium: a
frame is handed over, not copied; while the worker is busy only the newest frame waits
(never a backlog), and a clear drops what was on its way; the page's own stream, which the
worker runs, is answered and painted while the page's main thread is busy."""
import time

import pytest

from tests.browser import draw, settled_digit, watched_page
from tests.drawings import fit_to_canvas

# In the page: a Painter of its own (its own worker and canvases, with the network's filters
# as app.js reads them) is given `frames` (lists of bytes) one after another in one task, with a clear
# before the `clearBefore`-th; returns the seqs it reported shown, in order, once the last
# one is, and what the handed-over buffers look like afterwards.
SHOW_IN_ONE_TASK = """async ({ frames, clearBefore }) => {
  const { Painter } = await import(new URL('painter.js', document.querySelector('script[type=module][src]').src));
  const { frameSeq } = await import(new URL('frame.js', document.querySelector('script[type=module][src]').src));
  const { kernels } = await (await fetch(document.querySelector('#network-data').href)).json();
  for (const k of Object.values(kernels)) {
    k.values = k.values.map((row) => row.map(Math.fround));
    k.bias = k.bias.map(Math.fround);
  }
  // Its first frame asks for the layers' canvases: one column of maps each, off the document.
  const painter = new Painter();
  painter.useNetwork(kernels, {}, (layers) => {
    for (const { name, width: w, height: h, maps } of layers) {
      const canvas = document.createElement('canvas');
      painter.adopt(name, canvas, { columns: 1, w, h, maps, width: w, height: maps * (h + 1) - 1 });
    }
  });
  const shown = [], buffers = frames.map((bytes) => Uint8Array.from(bytes).buffer);
  const last = frameSeq(buffers[buffers.length - 1]);
  const done = new Promise((resolve) => {
    buffers.forEach((buffer, i) => {
      if (i === clearBefore) painter.clear();
      painter.show(buffer, (frame) => {
        shown.push([frame.seq, frame.layers.length]);
        if (frame.seq === last) resolve();
      });
    });
  });
  await Promise.race([done, new Promise((r) => setTimeout(r, 10000))]);
  await new Promise((r) => setTimeout(r, 300)); // nothing else comes after the last
  painter.worker.terminate();
  return { shown, replaced: painter.replaced, lengths: buffers.map((b) => b.byteLength) };
}"""


@pytest.fixture
def frames(browser, live_server, pen_test_samples):
    """A page, and four frames it received (different drawing states), as bytes."""
    with watched_page(browser, live_server) as page:
        # A first digit warms the server (a fresh one's frame worker may still be importing,
        # and a whole digit drawn meanwhile is answered in two frames), then the one kept.
        for _ in range(2):
            page.keyboard.press("c")
            draw(page, fit_to_canvas(pen_test_samples[0]["strokes"], 560), 560, every=3)
            settled_digit(page)
        received = page.received
        assert len({seq(data) for data in received[-4:]}) == 4
        yield page, [list(data) for data in received[-4:]]


def seq(data):
    return int.from_bytes(bytes(data[8:12]), "little")


def test_a_frame_that_comes_while_the_worker_is_busy_replaces_the_waiting_one(frames):
    page, data = frames
    result = page.evaluate(SHOW_IN_ONE_TASK, {"frames": data, "clearBefore": -1})
    # The first goes to the worker at once; each later one replaces the one waiting.
    assert [s for s, _ in result["shown"]] == [seq(data[0]), seq(data[-1])]
    assert all(count == 9 for _, count in result["shown"])  # every layer's values come back
    assert result["replaced"] == 2
    # The two handed over were transferred, not copied; the two replaced never left the page.
    assert result["lengths"] == [0, len(data[1]), len(data[2]), 0]


def test_a_clear_drops_the_frames_on_their_way(frames):
    page, data = frames
    result = page.evaluate(SHOW_IN_ONE_TASK, {"frames": data, "clearBefore": 3})
    # Frame 0 was in the worker and 1, 2 waited when the view was cleared: only 3 is shown.
    assert [s for s, _ in result["shown"]] == [seq(data[3])]


# In the page, with the pen down on the pad: one more point of the stroke, then the main
# thread kept busy for `ms` in the same task. Returns the busy interval (page clock).
MOVE_THEN_BLOCK = """({ x, y, ms }) => {
  const canvas = document.querySelector('#canvas');
  canvas.dispatchEvent(new PointerEvent('pointermove', { pointerId: 1, pointerType: 'mouse', clientX: x, clientY: y, bubbles: true }));
  const start = performance.now();
  while (performance.now() - start < ms);
  return [start, performance.now()];
}"""


def test_the_stream_is_answered_and_painted_while_the_main_thread_is_busy(browser, live_server, pen_test_samples):
    """The Socket.IO link lives in the paint worker: the drawing state sent just before the
    page's main thread blocks is answered and painted during the block (a phone's main
    thread, busy with input and rendering, no longer holds the stream up)."""
    with watched_page(browser, live_server) as page:
        draw(page, fit_to_canvas(pen_test_samples[1]["strokes"], 560), 560, every=3)
        settled_digit(page)
        box = page.locator("#canvas").bounding_box()
        page.mouse.move(box["x"] + 100, box["y"] + 100)
        page.mouse.down()
        page.mouse.move(box["x"] + 200, box["y"] + 150)
        page.wait_for_timeout(500)  # the answers to the stroke so far are in
        before = page.evaluate("() => window.cnnWorkerPaints.count")
        start, end = page.evaluate(MOVE_THEN_BLOCK, {"x": box["x"] + 220, "y": box["y"] + 300, "ms": 2000})
        page.mouse.up()
        painted = page.evaluate(
            """(from) => { const { times, count } = window.cnnWorkerPaints; const out = [];
               for (let n = from; n < count; n++) out.push(times[2 * (n % 1024) + 1]); return out; }""",
            before,
        )
        assert any(start < t < end for t in painted), (start, end, painted)


def states_sent_while_drawing(browser, url, pressure):
    """How many drawing states the page sent while the pen made one fast zigzag stroke (mouse
    moves as fast as Playwright sends them), and the stroke's length in s, with Chromium's virtual CPU
    pressure source (CDP, on before the page loads) at `pressure`."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors, sent = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("websocket", lambda ws: ws.on(
        "framesent", lambda data: isinstance(data, str) and data.startswith('42["draw"') and sent.append(time.monotonic())))
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setPressureSourceOverrideEnabled", {"enabled": True, "source": "cpu"})
    try:
        page.goto(url)
        page.wait_for_selector("#status[data-state=connected]")
        worker = next(w for w in page.workers if w.url.endswith("/paint-worker.js"))
        deadline = time.monotonic() + 15
        while worker.evaluate("() => cnnPace.state") != pressure:
            assert time.monotonic() < deadline, f"the worker never read {pressure!r}"
            cdp.send("Emulation.setPressureStateOverride", {"source": "cpu", "state": pressure})
            page.wait_for_timeout(200)
        box = page.locator("#canvas").bounding_box()
        page.mouse.move(box["x"] + 60, box["y"] + 60)
        page.mouse.down()
        start = time.monotonic()
        for leg in range(1, 6):
            page.mouse.move(box["x"] + 60 + 40 * leg, box["y"] + 60 + 200 * (leg % 2), steps=40)
        page.wait_for_timeout(100)  # the last state held back by the pace goes, or would
        end = time.monotonic()
        during = sum(start <= t <= end for t in sent)
        page.mouse.up()
        settled_digit(page)
        assert page.evaluate("() => document.querySelector('#prediction').dataset.busy") == "false"
    finally:
        # Closed with a virtual source still on, Chromium 156 crashes.
        cdp.send("Emulation.setPressureSourceOverrideEnabled", {"enabled": False, "source": "cpu"})
        context.close()
    assert errors == [], errors
    return during, end - start


def test_under_cpu_pressure_a_drawing_state_goes_at_most_every_40_ms(browser, live_server):
    """A device whose cores are all busy (Compute Pressure 'serious', here Chromium's virtual
    pressure source) gets fewer frames while the pen moves: one drawing state per 40 ms at
    most (static/js/pressure.js), which leaves the page's main thread CPU (bench/RESULTS.md 6l);
    pen-up still goes at once and its result comes. With cores to spare ('nominal'), the
    same stroke sends a state whenever the window has room: more than the pace would allow
    (pointer moves come at the display's rate, 45/s here, against the pace's 25)."""
    paced, paced_s = states_sent_while_drawing(browser, live_server, "serious")
    assert 2 <= paced <= paced_s / 0.040 + 1, (paced, paced_s)
    free, free_s = states_sent_while_drawing(browser, live_server, "nominal")
    assert free > free_s / 0.040 + 1, (free, free_s)
