"""The network view in a real Chromium: every layer on one screen on a laptop and a
projector, for every shipped model's shapes; the output labelled; a legend in numbers; each
filter on its own map; text readable from the back; the connection's loss said on the pad;
presenter mode; a phone reads top to bottom with the pad at hand."""
import re

import numpy as np
import pytest

from model.forward import Forward
from model.network import DEFAULT_MODEL_PATH
from model.parse_layers import describe_file

from tests.browser import draw, map_point, settled_digit, watched_page
from tests.conftest import free_port, start_server
from tests.drawings import fit_to_canvas
from webapp import frame_decode
from webapp.models import SHIPPED

MODELS = {"tutorial": DEFAULT_MODEL_PATH, "deep3x3": SHIPPED["deep3x3"]}

# Every box the page must show at once, in page coordinates (the page is not scrolled).
BOXES = """() => [...document.querySelectorAll('#canvas, #prediction, canvas.layer-maps')].map((e) => {
  const r = e.getBoundingClientRect();
  return { id: e.id || e.closest('.layer').dataset.layer, left: r.left, top: r.top, right: r.right, bottom: r.bottom };
})"""

# Every visible piece of text and its computed size; text in a visually hidden box (for
# screen readers: 1 px, clipped) is not seen.
TEXT_SIZES = """() => {
  const hidden = (e) => { for (; e; e = e.parentElement) { const r = e.getBoundingClientRect();
    if (getComputedStyle(e).overflow === 'hidden' && (r.width <= 1 || r.height <= 1)) return true; } return false; };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const e = n.parentElement;
    if (!n.textContent.trim() || !e.checkVisibility({ visibilityProperty: true, opacityProperty: true }) || hidden(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.bottom < 0 || r.top > innerHeight || r.right < 0 || r.left > innerWidth) continue;
    out.push({ text: n.textContent.trim().slice(0, 40), size: parseFloat(getComputedStyle(e).fontSize) });
  }
  return out;
}"""


@pytest.fixture(scope="module")
def networks():
    return {name: Forward(describe_file(path)) for name, path in MODELS.items()}


def layout_settled(page):
    """Two display frames after the last layout: the ResizeObserver has placed every map."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def draw_digit(page, sample):
    draw(page, fit_to_canvas(sample["strokes"], 560), 560, every=2)
    digit = settled_digit(page)
    layout_settled(page)
    return digit


@pytest.mark.parametrize("width, height", [(1440, 900), (1280, 720)])
@pytest.mark.parametrize("model", list(MODELS))
def test_pad_prediction_and_every_layer_fit_one_screen(browser, live_server, pen_test_samples, networks, model, width, height):
    with watched_page(browser, f"{live_server}/?model={model}", width, height) as page:
        draw_digit(page, pen_test_samples[3])
        boxes = page.evaluate(BOXES)
        shown = networks[model].description.shown_names
        assert [b["id"] for b in boxes] == ["canvas", "prediction", *shown]
        outside = [b for b in boxes if b["left"] < 0 or b["top"] < 0 or b["right"] > width or b["bottom"] > height]
        assert outside == []
        assert page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]") == [width, height]
        # Read left to right: each layer starts right of the one before, or on a later band.
        tops = [(b["top"], b["left"]) for b in boxes[2:]]
        assert all(a[1] < b[1] or b[0] > a[0] + 1 for a, b in zip(tops, tops[1:])), tops
        # Dense units are squares one can point at, not slivers.
        for name in ("dense1", "output"):
            g = page.locator(f"#layer-{name} canvas.layer-maps")
            box = g.bounding_box()
            unit = box["width"] / int(g.get_attribute("data-map-width"))
            assert unit >= 6 and abs(unit - box["height"] / int(g.get_attribute("data-map-height"))) < 0.5, (name, box)


@pytest.fixture
def page(browser, live_server):
    with watched_page(browser, live_server, 1440, 900) as page:
        yield page


def test_output_is_labelled_with_its_digits_and_their_probabilities(page, pen_test_samples, networks):
    digit = draw_digit(page, next(s for s in pen_test_samples if s["label"] == 7))
    frame = frame_decode.decode(page.received[-1], networks["tutorial"])
    labels = page.locator("#layer-output .unit-labels li")
    assert labels.evaluate_all("(items) => items.map((li) => li.dataset.class)") == [str(d) for d in range(10)]
    shown = [int(re.fullmatch(r"(\d+)%", t).group(1)) for t in page.locator("#layer-output .unit-value").all_inner_texts()]
    assert shown == [round(100 * float(p)) for p in frame["probabilities"]]
    assert shown.index(max(shown)) == digit
    # Each label sits level with its own unit (one column of ten squares).
    canvas = page.locator("#layer-output canvas.layer-maps").bounding_box()
    for d in (0, digit, 9):
        label = labels.nth(d).bounding_box()
        middle = canvas["y"] + (d + 0.5) * canvas["height"] / 10
        assert label["y"] <= middle <= label["y"] + label["height"] and label["x"] >= canvas["x"] + canvas["width"]


def legend(page):
    box = page.locator("#legend-box")
    shown = (float(box.locator(".legend-lo").inner_text()), float(box.locator(".legend-hi").inner_text().split()[0]))
    return box.get_attribute("data-layer"), float(box.get_attribute("data-lo")), float(box.get_attribute("data-hi")), shown


def test_legend_gives_the_range_of_the_scale_shown(page, pen_test_samples, networks):
    draw_digit(page, next(s for s in pen_test_samples if s["label"] == 3))
    layers = frame_decode.decode(page.received[-1], networks["tutorial"])["layers"]
    assert page.get_attribute("[data-scale=layer]", "aria-pressed") == "true"  # one range a layer by default
    for name, m in (("conv1", 0), ("relu2", 3)):
        page.mouse.move(*map_point(page, name, m))
        page.wait_for_function("(name) => document.querySelector('#legend-box').dataset.layer === name", arg=name)
        _, lo, hi, shown = legend(page)
        expected = float(layers[name]["min"].min()), float(layers[name]["max"].max())
        assert np.allclose((lo, hi), expected, rtol=1e-6, atol=1e-7), (name, lo, hi, expected)
        assert np.allclose(shown, expected, rtol=5e-3, atol=1e-3)  # the numbers one reads
        zero = page.locator("#legend-box .legend-zero")
        if expected[0] < 0 < expected[1]:  # where 0 is on the scale: a blank background is not 0
            left = float(zero.evaluate("(z) => z.style.left").rstrip("%"))
            assert zero.is_visible() and abs(left - 100 * -expected[0] / (expected[1] - expected[0])) < 0.01
        else:
            assert not zero.is_visible()
    page.keyboard.press("s")  # per map: the legend gives the map pointed at
    assert page.get_attribute("[data-scale=map]", "aria-pressed") == "true"
    page.mouse.move(*map_point(page, "conv1", 7))
    page.wait_for_function("() => document.querySelector('#legend-box').dataset.layer === 'conv1 map 7'")
    _, lo, hi, _ = legend(page)
    assert np.allclose((lo, hi), (layers["conv1"]["min"][7], layers["conv1"]["max"][7]), rtol=1e-6, atol=1e-7)


# For each filter f of a conv layer: which cell of the maps' grid its tile is in (on screen,
# from the overlay's box) and whether the tile's pixels are filter f's weights, coloured.
FILTER_TILES = """async (name) => {
  const { diverging } = await import(new URL('colormap.js', document.querySelector('script[type=module][src]').src));
  const { kernels } = await (await fetch(document.querySelector('#network-data').href)).json();
  const k = kernels[name], biggest = Math.max(...k.values.flat().map(Math.abs));
  const maps = document.querySelector(`#layer-${name} canvas.layer-maps`), c = document.querySelector(`#layer-${name} canvas.kernel-row`);
  const g = c.dataset, w = +maps.dataset.mapWidth, h = +maps.dataset.mapHeight, columns = +maps.dataset.columns;
  const box = c.getBoundingClientRect(), mapsBox = maps.getBoundingClientRect();
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  return k.values.map((weights, f) => {
    const left = (f % g.columns) * (w + 1) * g.scale + +g.inset, top = Math.floor(f / g.columns) * (h + 1) * g.scale + +g.inset;
    // the tile's middle on screen, as a cell of the maps' grid
    const x = box.left + ((left + g.tileWidth / 2) / c.width) * box.width, y = box.top + ((top + g.tileHeight / 2) / c.height) * box.height;
    const cell = Math.floor(((y - mapsBox.top) / mapsBox.height) * maps.height / (h + 1)) * columns + Math.floor(((x - mapsBox.left) / mapsBox.width) * maps.width / (w + 1));
    const per = g.tileWidth / k.width;
    let same = true;
    for (let i = 0; i < weights.length; i++) {
      const px = 4 * ((top + Math.floor(i / k.width) * per) * c.width + left + (i % k.width) * per);
      const [r, gr, b] = diverging(weights[i] / biggest);
      same &&= d[px] === r && d[px + 1] === gr && d[px + 2] === b;
    }
    return { cell, same };
  });
}"""


def test_each_filter_is_drawn_on_its_own_map(page):
    draw(page, [[[280, 60], [280, 500]]], 560)
    settled_digit(page)
    page.click("#filters")
    layout_settled(page)
    for name, count in (("conv1", 24), ("conv2", 48)):
        assert page.locator(f"#layer-{name} canvas.kernel-row").is_visible()
        tiles = page.evaluate(FILTER_TILES, name)
        assert [t["cell"] for t in tiles] == list(range(count)), name  # filter k in map k's cell
        assert all(t["same"] for t in tiles), name  # and it is filter k's weights


def test_no_text_under_16px_at_1280x720(browser, live_server, pen_test_samples):
    with watched_page(browser, live_server, 1280, 720) as page:
        draw_digit(page, pen_test_samples[0])
        sizes = page.evaluate(TEXT_SIZES)
        assert len(sizes) > 40  # the walk sees the page's text: labels, bars, notes, buttons
        assert [t for t in sizes if t["size"] < 16] == []


BAR_ROWS = "() => [...document.querySelectorAll('#bars .bar-label')].map((e) => e.getBoundingClientRect()).map(({ top, bottom, height }) => ({ top, bottom, height }))"


# Measured: the maps' total area grows 1.89x at 1280x720 and 1.76x at 1440x900 (tutorial).
@pytest.mark.parametrize("width, height", [(1280, 720), (1440, 900)])
def test_presenter_mode_enlarges_the_maps(browser, live_server, pen_test_samples, width, height):
    with watched_page(browser, live_server, width, height) as page:
        draw_digit(page, pen_test_samples[1])
        before = page.locator("#layer-conv1 canvas.layer-maps").bounding_box()
        area = "() => [...document.querySelectorAll('canvas.layer-maps')].reduce((a, c) => a + c.clientWidth * c.clientHeight, 0)"
        maps_before = page.evaluate(area)
        page.keyboard.press("p")
        layout_settled(page)
        assert page.get_attribute("#present", "aria-pressed") == "true"
        assert not page.locator(".topbar").is_visible()
        after = page.locator("#layer-conv1 canvas.layer-maps").bounding_box()
        maps = int(page.get_attribute("#layer-conv1 canvas.layer-maps", "data-maps"))
        columns = int(page.get_attribute("#layer-conv1 canvas.layer-maps", "data-columns"))
        assert after["width"] * after["height"] > 1.4 * before["width"] * before["height"], (before, after)
        assert page.evaluate(area) > 1.6 * maps_before  # every layer's maps, not only conv1's
        assert after["width"] / columns >= 30 and maps == 24
        assert float(page.evaluate("() => getComputedStyle(document.body).fontSize").rstrip("px")) > 16
        # Every layer, the pad and the prediction still on one screen; no text under 18px (the
        # explanation, the legend, the bars) from the back of the room.
        boxes = page.evaluate(BOXES)
        assert [b["id"] for b in boxes][:2] == ["canvas", "prediction"]
        assert [b for b in boxes if b["left"] < 0 or b["top"] < 0 or b["bottom"] > height or b["right"] > width] == []
        assert page.evaluate("() => document.scrollingElement.scrollHeight") <= height
        # The bars keep to their digits' rows: the canvas the worker paints them in, last sized
        # for the wider strip, gives the rows no height of its own.
        rows = page.evaluate(BAR_ROWS)
        assert max(b["top"] - a["top"] for a, b in zip(rows, rows[1:])) <= rows[0]["height"] + 4, rows
        assert rows[-1]["bottom"] <= height
        sizes = page.evaluate(TEXT_SIZES)
        assert any(t["text"].startswith("conv1:") for t in sizes)  # the legend, and the note
        assert [t for t in sizes if t["size"] < 18] == []
        page.click("#present")
        layout_settled(page)
        assert page.locator(".topbar").is_visible()


# /compare: the pad, and each network's prediction and layers, in page coordinates.
COMPARE_BOXES = """() => [...document.querySelectorAll('#canvas, .compare-side .prediction, .compare-side canvas.layer-maps')].map((e) => {
  const r = e.getBoundingClientRect(), side = e.closest('.compare-side'), layer = e.closest('.layer');
  const id = side ? `${side.dataset.model} ${layer ? layer.dataset.layer : 'prediction'}` : e.id;
  return { id, left: r.left, top: r.top, right: r.right, bottom: r.bottom, map: layer ? r.width / +e.dataset.columns : 0 };
})"""


@pytest.mark.parametrize("width, height", [(1440, 900), (1280, 720)])
@pytest.mark.parametrize("other", ["mnist-only", "deep3x3"])
def test_compare_fits_both_networks_on_one_screen(browser, live_server, pen_test_samples, other, width, height):
    with watched_page(browser, f"{live_server}/compare?a=tutorial&b={other}", width, height) as page:
        draw(page, fit_to_canvas(pen_test_samples[3]["strokes"], 560), 560, every=2)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.compare-side .prediction')].every((p) => p.dataset.busy === 'false' && p.dataset.digit !== '')",
            timeout=15_000,
        )
        layout_settled(page)
        boxes = page.evaluate(COMPARE_BOXES)
        expected = ["canvas"]
        for name in ("tutorial", other):
            expected += [f"{name} prediction", *(f"{name} {layer}" for layer in describe_file(SHIPPED[name]).shown_names)]
        assert [b["id"] for b in boxes] == expected
        outside = [b for b in boxes if b["left"] < 0 or b["top"] < 0 or b["right"] > width or b["bottom"] > height]
        assert outside == []
        assert page.evaluate("() => [document.scrollingElement.scrollWidth, document.scrollingElement.scrollHeight]") == [width, height]
        # Each network a row of its own, read left to right: every layer right of its
        # prediction, each right of the one before or on a later band; the two rows apart.
        rows = {}
        for b in boxes[1:]:
            rows.setdefault(b["id"].split()[0], []).append(b)
        a, b = rows.values()
        assert max(x["bottom"] for x in a) <= min(x["top"] for x in b)
        for row in (a, b):
            assert all(x["left"] > row[0]["right"] for x in row[1:])
            assert all(p["left"] < q["left"] or q["top"] > p["top"] + 1 for p, q in zip(row[1:], row[2:]))
            assert min(x["map"] for x in row[1:]) >= 4  # a map or unit one can still point at
        sizes = page.evaluate(TEXT_SIZES)
        assert len(sizes) > 40
        assert [t for t in sizes if t["size"] < 16] == []


def test_a_phone_reads_top_to_bottom_with_the_pad_at_hand(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_server)
        page.wait_for_selector("#status[data-state=connected]")
        draw(page, [[[280, 60], [280, 500]]], 560)
        settled_digit(page)
        assert page.evaluate("() => document.documentElement.scrollWidth") == 390  # nothing wider than the phone
        page.locator("#layer-conv1 canvas.layer-maps").scroll_into_view_if_needed()
        assert page.evaluate("() => scrollY") > 0
        first, pad = page.locator("#layer-conv1 canvas.layer-maps").bounding_box(), page.locator("#canvas").bounding_box()
        assert 0 <= pad["y"] and pad["y"] + pad["height"] <= first["y"]  # the pad stays on screen, above the maps
        assert first["y"] + 20 <= 844 and first["width"] <= 390
        assert page.evaluate("() => getComputedStyle(document.querySelector('#canvas')).touchAction") == "none"
        bottom = page.locator("#layer-output canvas.layer-maps")
        bottom.scroll_into_view_if_needed()  # the page scrolls all the way down
        box = bottom.bounding_box()
        assert box["y"] + box["height"] <= 844
    finally:
        context.close()


def test_the_pad_says_when_the_server_cannot_be_reached(browser, tmp_path):
    port = free_port()
    process, url = start_server(tmp_path / "classroom.sqlite3", port)
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("#status[data-state=connected]")
        overlay = page.locator(".pad-offline")
        assert not overlay.is_visible()
        process.terminate()
        process.wait(10)
        overlay.wait_for(state="visible", timeout=15_000)
        assert "server" in overlay.inner_text()
        pad, box = page.evaluate("() => ['#canvas', '.pad-offline'].map((s) => document.querySelector(s).getBoundingClientRect().toJSON())")
        assert box == pad  # on the drawing area itself
        draw(page, [[[280, 60], [280, 500]]], 560)  # drawing goes on meanwhile
        process, _ = start_server(tmp_path / "classroom.sqlite3", port)
        overlay.wait_for(state="hidden", timeout=30_000)
        assert settled_digit(page) == 1  # what was drawn meanwhile is read once it is back
    finally:
        context.close()
        process.terminate()
        process.wait(10)


def test_axe_finds_nothing_on_the_drawn_page(page, pen_test_samples):
    from axe_playwright_python.sync_playwright import Axe

    draw_digit(page, pen_test_samples[2])
    page.keyboard.press("w")
    results = Axe().run(page)
    violations = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]]
    assert violations == []
