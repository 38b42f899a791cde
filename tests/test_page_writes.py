"""What the drawing page writes into its document while the pen draws and when the drawing's
result comes, in a real Chromium: at a phone's speed each text or class a frame changes costs
the main thread a layout and a paint (bench/RESULTS.md 6h-6k)."""
import numpy as np
import pytest

from tests.browser import draw, settled_digit, watched_page
from tests.drawings import fit_to_canvas


@pytest.fixture
def page(browser, live_server):
    with watched_page(browser, live_server) as page:
        yield page


# Every change to the document: [page ms, kind, attribute, the element's id or class].
WATCH_STRIP = """() => {
  window.stripChanges = [];
  const observer = new MutationObserver((list) => {
    const at = performance.now();  // one time for the task's changes
    for (const m of list) {
      const el = m.target.nodeType === Node.ELEMENT_NODE ? m.target : m.target.parentElement;
      window.stripChanges.push([at, m.type, m.attributeName || '', el.id || el.className]);
    }
  });
  observer.observe(document.body, { subtree: true, attributes: true, characterData: true, childList: true });
  window.labelWrites = [];  // the maps' text alternatives
  new MutationObserver(() => window.labelWrites.push(performance.now()))
    .observe(document.querySelector('#layers'), { subtree: true, attributeFilter: ['aria-label'] });
}"""


MOVES_ONLY = {("attributes", "data-digit", "prediction"), ("attributes", "data-busy", "prediction")}


def shown_numbers(page, frame):
    probabilities = np.frombuffer(frame, "<f4", 10, 12)  # the frame's probabilities (webapp/frames.py)
    return [f"{100 * float(p):.{1 if p < 0.1 else 0}f}%" for p in probabilities], int(np.argmax(probabilities))


def test_while_the_pen_draws_nothing_is_written_and_the_numbers_come_when_it_lifts(page, pen_test_samples):
    """At a phone's speed each text or class a frame changes costs the page's main thread a
    layout and a paint (bench/RESULTS.md 6h), and a bar's transform a re-layerizing of the page
    (6j). While the pen is on the paper a frame changes nothing in the page's document (the
    digit, the bars and the input image are the paint worker's canvases, as the maps are;
    data-digit is styled by nothing); once
    the pen lifts, the percentages, the top row, the layers' ranges and the maps' text
    alternatives are written, and are the last frame's. A slow pen: each result catches up with it before it moves on, but the
    drawing is not finished until the pen lifts."""
    # A real digit drawn at pen speed ends on the last frame's numbers (and builds the layers).
    draw(page, fit_to_canvas(pen_test_samples[5]["strokes"], 560), 560)
    digit = settled_digit(page)
    page.wait_for_timeout(400)
    numbers, top = shown_numbers(page, page.received[-1])
    assert page.locator("#bars .bar-value").all_text_contents() == numbers and top == digit

    page.keyboard.press("c")
    page.wait_for_timeout(300)
    page.evaluate(WATCH_STRIP)
    box = page.locator("#canvas").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    first = page.evaluate("() => window.cnnWorkerPaints.count")
    for step in range(1, 16):
        painted = page.evaluate("() => window.cnnPaintTimings.count")
        page.mouse.move(box["x"] + 100 + 20 * step, box["y"] + 100 + 15 * step)
        page.wait_for_function("(n) => window.cnnPaintTimings.count > n", arg=painted)
    lifted = page.evaluate("() => performance.now()")
    page.mouse.up()
    digit = settled_digit(page)
    page.wait_for_timeout(400)  # nothing is left to write
    changes = page.evaluate("window.stripChanges")
    during = [(kind, attribute, where) for at, kind, attribute, where in changes if at < lifted]
    assert page.evaluate("() => window.cnnWorkerPaints.count") - first >= 15  # the worker painted the frames
    others = [change for change in during if change not in MOVES_ONLY]
    # Once, at the first frame: the layers are no longer empty, and the strip, the layers and
    # the legend say the pen is drawing (their numbers hide).
    assert sorted(others) == [("attributes", "class", "bars"), ("attributes", "class", "layers"),
                              ("attributes", "class", "layers"), ("attributes", "class", "legend-box")], others
    labels = page.evaluate("window.labelWrites")
    assert labels and min(labels) > lifted, (lifted, labels[:3])
    numbers, top = shown_numbers(page, page.received[-1])
    assert page.locator("#bars .bar-value").all_text_contents() == numbers and top == digit
    assert page.locator("#bars .bar-row.top .bar-label").all_text_contents() == [str(digit)]
    assert page.get_attribute("#bars", "class") == "bars"  # no longer "drawing"


def test_frames_of_a_stroke_that_come_after_the_pen_lifts_write_nothing(page):
    """A fast pen has a state of its stroke on its way when it lifts: that frame comes after
    the lift but is not the drawing's result (the lift's state is). It is painted (the maps,
    the bars) but writes no numbers: they would be replaced a moment later, and each write
    costs the page a layout and a paint (bench/RESULTS.md 6k). The result's numbers are
    written once, in one task."""
    draw(page, [[[280, 60], [280, 500]]], 560)  # builds the layers
    settled_digit(page)
    box = page.locator("#canvas").bounding_box()
    for attempt in range(5):
        page.keyboard.press("c")
        page.wait_for_timeout(300)
        page.evaluate(WATCH_STRIP)
        page.mouse.move(box["x"] + 120, box["y"] + 80)
        page.mouse.down()
        for step in range(1, 30):  # not waiting for the page: states stay on their way
            page.mouse.move(box["x"] + 120 + 10 * step, box["y"] + 80 + 12 * step)
        lifted = page.evaluate("() => performance.now()")
        page.mouse.up()
        settled_digit(page)
        page.wait_for_timeout(400)
        paints = page.evaluate("() => { const t = window.cnnPaintTimings, out = [];"
                               " for (let k = 0; k < Math.min(t.count, t.paints.length / 3); k++) out.push([t.paints[3 * k], t.paints[3 * k + 2]]);"
                               " return out; }")
        final = max(seq for seq, _ in paints)
        stale = [seq for seq, at in paints if at > lifted and seq != final]
        if stale:
            break
    assert stale, "no frame of the stroke came after the lift in five tries"
    changes = page.evaluate("window.stripChanges")
    # The strip's numbers in one task, the layers' in one (a display frame later: app.js).
    for numbers in (("bar-value",), ("unit-value", "legend-lo", "legend-hi")):
        written = {at for at, kind, _, where in changes if at > lifted and kind == "characterData" and where in numbers}
        assert len(written) == 1, (numbers, sorted(written), stale, final)
    numbers, _ = shown_numbers(page, page.received[-1])
    assert page.locator("#bars .bar-value").all_text_contents() == numbers
