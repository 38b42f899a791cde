"""How each layer feeds the next, in a real Chromium: pointing at a unit outlines what it is
computed from and what reads it (static/js/connections.js, links.js). Every expected window
is derived here from the model's description, never written down."""
import numpy as np
import pytest

from model.forward import Forward
from model.parse_layers import describe_file
from tests.browser import draw, draw_digit, point, settled_digit, unit_point, watched_page, window
from tests.drawings import fit_to_canvas
from webapp.frame_decode import decode
from webapp.frames import frame_names
from webapp.models import SHIPPED


@pytest.fixture
def page(browser, live_server):
    with watched_page(browser, live_server) as page:
        yield page


def boxes(shown, role, layer=None):
    return [
        {k: int(b[k]) for k in ("map", "top", "left", "bottom", "right")} | {"weight": float(b["weight"]), "layer": b["layer"]}
        for b in shown if b["role"] == role and (layer is None or b["layer"] == layer)
    ]


def test_pointing_at_a_pool2_unit_outlines_its_relu2_window(page, network, pen_test_samples):
    """The issue's acceptance test: pool2 (r, c) of map m is the max of its relu2 map m
    window, and relu2 map m is conv2 map m unit for unit."""
    description = network.description
    pool2, relu2 = description.layer("pool2"), description.layer("relu2")
    assert tuple(pool2.inputs) == ("relu2",) and tuple(relu2.inputs) == ("conv2",)
    draw_digit(page, pen_test_samples)
    m, r, c = 3, 2, 4
    shown = point(page, "pool2", m, r, c)
    h, w, _ = description.shape_of("relu2")
    rows, cols = window(r, pool2, 0, h), window(c, pool2, 1, w)
    assert boxes(shown, "source") == [{"layer": "relu2", "map": m, "top": rows[0], "bottom": rows[1], "left": cols[0], "right": cols[1], "weight": 1.0}]
    live = page.inner_text(".connections-live")
    assert live.startswith(f"pool2 map {m}, row {r}, column {c}: ")
    assert f"; the maximum of relu2 map {m} rows {rows[0]}-{rows[1]}, columns {cols[0]}-{cols[1]}; " in live and "512 units of dense1" in live
    # pool2 feeds dense1 (through flatten): its strongest readers, a handful of single units.
    page.wait_for_function("() => document.querySelectorAll('.connection-box.target').length > 1")
    shown = page.evaluate("() => [...document.querySelectorAll('.connection-box')].map((b) => ({ ...b.dataset, rect: b.getBoundingClientRect().toJSON() }))")
    target = boxes(shown, "target")
    assert 5 <= len(target) <= 8 and all(b["layer"] == "dense1" and b["left"] == b["right"] for b in target)

    # The outline lies on those relu2 units on screen.
    source = next(b for b in shown if b["role"] == "source")
    x0, y0 = unit_point(page, "relu2", m, rows[0], cols[0])
    x1, y1 = unit_point(page, "relu2", m, rows[1], cols[1])
    rect = source["rect"]
    assert rect["x"] < x0 < x1 < rect["x"] + rect["width"] and rect["y"] < y0 < y1 < rect["y"] + rect["height"]

    # That relu2 unit comes from the same conv2 unit, and feeds the pool2 unit back.
    shown = point(page, "relu2", m, rows[1], cols[1])
    assert boxes(shown, "source") == [{"layer": "conv2", "map": m, "top": rows[1], "bottom": rows[1], "left": cols[1], "right": cols[1], "weight": 1.0}]
    assert boxes(shown, "target") == [{"layer": "pool2", "map": m, "top": r, "bottom": r, "left": c, "right": c, "weight": 1.0}]


def test_a_conv2_unit_outlines_its_window_in_every_pool1_map_weighted_by_w_x(page, network, pen_test_samples):
    data = draw_digit(page, pen_test_samples, label=5)
    description = network.description
    conv2 = description.layer("conv2")
    m, r, c = 7, 6, 13  # the last column: the window is clipped by the padding after the map
    shown = point(page, "conv2", m, r, c)
    h, w, channels = description.shape_of("pool1")
    rows, cols = window(r, conv2, 0, h), window(c, conv2, 1, w)
    source = boxes(shown, "source")
    assert [b["map"] for b in source] == list(range(channels))
    assert all((b["layer"], b["top"], b["bottom"], b["left"], b["right"]) == ("pool1", *rows, *cols) for b in source)

    # |w·x| per input map, from the network's own computation of this input.
    image = decode(data, network)["image"]
    pool1 = network.run(image[None])["pool1"][0]  # (h, w, c)
    kernel = conv2.weights["kernel"]  # (kh, kw, c, filters)
    top, left = conv2.params["pad"][0], conv2.params["pad"][2]
    exact = np.zeros(channels)
    bound = np.zeros(channels)  # the page reads pool1 rounded to 8 bits: half a step a value
    step = (pool1.max(axis=(0, 1)) - pool1.min(axis=(0, 1))) / 255
    for dy in range(kernel.shape[0]):
        for dx in range(kernel.shape[1]):
            y, x = r + dy - top, c + dx - left
            if 0 <= y < h and 0 <= x < w:
                exact += pool1[y, x] * kernel[dy, dx, :, m]
                bound += np.abs(kernel[dy, dx, :, m]) * step / 2
    exact = np.abs(exact)
    page_weights = np.array([b["weight"] for b in source])
    assert np.all(np.abs(page_weights - exact) <= bound + 1e-6)
    assert np.argmax(page_weights) == np.argmax(exact) or exact.max() - np.sort(exact)[-2] <= 2 * bound.max()
    # the drawn outlines: the strongest map's the most opaque
    opacity = page.evaluate("() => [...document.querySelectorAll('.connection-box.source')].map((b) => +getComputedStyle(b).opacity)")
    assert opacity[int(np.argmax(page_weights))] == max(opacity) and min(opacity) < max(opacity)


def test_forward_a_pool1_unit_feeds_the_conv2_units_whose_window_holds_it(page, network, pen_test_samples):
    draw_digit(page, pen_test_samples)
    description = network.description
    conv2 = description.layer("conv2")
    h, w, filters = description.shape_of("conv2")
    m, r, c = 4, 0, 9
    shown = point(page, "pool1", m, r, c)
    readers = [(y, x) for y in range(h) for x in range(w) if window(y, conv2, 0, h)[0] <= r <= window(y, conv2, 0, h)[1]
               and window(x, conv2, 1, w)[0] <= c <= window(x, conv2, 1, w)[1]]
    target = boxes(shown, "target", "conv2")
    assert len(target) == filters
    for b in target:
        covered = [(y, x) for y in range(b["top"], b["bottom"] + 1) for x in range(b["left"], b["right"] + 1)]
        assert covered == readers
    # backward: the max of its relu1 window
    pool1 = description.layer("pool1")
    assert boxes(shown, "source") == [{"layer": "relu1", "map": m, "top": window(r, pool1, 0, 28)[0], "bottom": window(r, pool1, 0, 28)[1],
                                      "left": window(c, pool1, 1, 28)[0], "right": window(c, pool1, 1, 28)[1], "weight": 1.0}]


def test_a_dense_unit_outlines_its_strongest_inputs(page, network, pen_test_samples):
    data = draw_digit(page, pen_test_samples, label=8)
    image = decode(data, network)["image"]
    outputs = network.run(image[None])
    unit = 5
    shown = point(page, "dense2", 0, 0, unit)
    page.wait_for_function("() => document.querySelectorAll('.connection-box.source').length > 0")
    shown = page.evaluate("() => [...document.querySelectorAll('.connection-box')].map((b) => ({ ...b.dataset }))")
    source = boxes(shown, "source")
    kernel = network.description.layer("dense2").weights["kernel"][:, unit]
    products = outputs["dense1"][0] * kernel
    strongest = np.argsort(-np.abs(products))[: len(source)]
    assert [b["layer"] for b in source] == ["dense1"] * len(source)
    # dense1 reaches the page rounded to 8 bits: compare where the products are clearly apart
    assert [b["left"] for b in source][:3] == list(strongest[:3]) or np.abs(np.diff(np.abs(products[strongest[:4]]))).min() < 1e-2
    np.testing.assert_allclose([b["weight"] for b in source], np.abs(products[[b["left"] for b in source]]), rtol=0.05, atol=1e-2)


SHOWN_BOXES = "() => [...document.querySelectorAll('.connection-box')].map((b) => ({ ...b.dataset }))"
UNIT_BOX = """([l, m, r, c]) => [...document.querySelectorAll('.connection-box.unit')].some((b) => b.dataset.layer === l
  && +b.dataset.map === m && +b.dataset.top === r && +b.dataset.left === c)"""


def strongest_readers(weights, x, shown):
    """The `shown` dense units a unit of value x adds most to (|w·x|), as the page picks them."""
    return list(np.argsort(-np.abs(weights), kind="stable")[:shown]), np.abs(weights * x)


def test_the_keyboard_moves_a_unit_cursor_with_the_same_outlines(page, network, pen_test_samples):
    """Shift + arrows on pool2's one tab stop: the relu2 window and the strongest dense1
    readers outlined, said in words; plain arrows change the map, Escape clears."""
    data = draw_digit(page, pen_test_samples)
    description = network.description
    pool2 = description.layer("pool2")
    values = network.run(decode(data, network)["image"][None])["pool2"][0]
    m = 3
    r, c = (int(i) for i in np.unravel_index(np.argmax(values[:, :, m]), values.shape[:2]))  # on: |w·x| > 0
    page.focus("#layer-pool2 canvas.layer-maps")
    page.keyboard.press("Home")
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # to map 3
    page.keyboard.press("Shift+ArrowDown")  # the cursor appears at the top left
    page.wait_for_function(UNIT_BOX, arg=["pool2", 3, 0, 0])
    for key in ["Shift+ArrowDown"] * r + ["Shift+ArrowRight"] * c:
        page.keyboard.press(key)
    page.wait_for_function(UNIT_BOX, arg=["pool2", m, r, c])
    page.wait_for_function("() => document.querySelectorAll('.connection-box.target').length > 1")
    shown = page.evaluate(SHOWN_BOXES)
    h, w, _ = description.shape_of("relu2")
    rows, cols = window(r, pool2, 0, h), window(c, pool2, 1, w)
    assert boxes(shown, "source") == [{"layer": "relu2", "map": m, "top": rows[0], "bottom": rows[1], "left": cols[0], "right": cols[1], "weight": 1.0}]
    assert page.evaluate("() => document.activeElement.closest('.layer').dataset.layer") == "pool2"

    # In words, with the unit's value (the page has pool2 to 8 bits, shown to 3 digits).
    x = values[r, c, m]
    live = page.inner_text(".connections-live")
    head = f"pool2 map {m}, row {r}, column {c}: "
    assert live.startswith(head) and page.get_attribute(".connections-live", "aria-live") == "polite"
    value, rest = live[len(head):].split("; ", 1)
    step = (values[:, :, m].max() - values[:, :, m].min()) / 255
    assert abs(float(value) - x) <= step / 2 + abs(x) * 5e-3 + 1e-9
    assert rest.startswith(f"the maximum of relu2 map {m} rows {rows[0]}-{rows[1]}, columns {cols[0]}-{cols[1]}; ")

    # Forward: the dense1 units it adds most to, from the row of dense1's kernel it meets.
    hp, wp, cp = values.shape
    kernel = description.layer("dense1").weights["kernel"][(r * wp + c) * cp + m]
    strongest, products = strongest_readers(kernel, x, len(boxes(shown, "target")))
    target = boxes(shown, "target")
    assert 5 <= len(target) <= 8 and [b["layer"] for b in target] == ["dense1"] * len(target)
    assert [b["left"] for b in target] == strongest and all(b["left"] == b["right"] for b in target)
    assert x > 0 and "feeds all 512 units of dense1, most of all units" in rest
    np.testing.assert_allclose([b["weight"] for b in target], products[strongest], rtol=0.02, atol=abs(kernel).max() * step)

    page.keyboard.press("ArrowRight")  # the next map, the cursor at the same place in it
    page.wait_for_function(UNIT_BOX, arg=["pool2", m + 1, r, c])
    page.keyboard.press("Shift+ArrowUp")
    page.wait_for_function(UNIT_BOX, arg=["pool2", m + 1, max(0, r - 1), c])
    assert page.inner_text(".connections-live").startswith(f"pool2 map {m + 1}, row {max(0, r - 1)}, column {c}: ")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('.connection-box')")
    assert page.inner_text(".connections-live") == "Unit cursor cleared"
    assert "Shift" in page.text_content("#layers-maps-help") and "Shift" in page.text_content("p.hint:has(kbd)")


def test_a_dense_unit_outlines_only_its_strongest_readers(page, network, pen_test_samples):
    data = draw_digit(page, pen_test_samples, label=8)
    dense1 = network.run(decode(data, network)["image"][None])["dense1"][0]
    unit = int(np.argmax(dense1))  # a unit that is on: |w·x| tells its readers apart
    point(page, "dense1", 0, 0, unit)
    page.wait_for_function("() => document.querySelectorAll('.connection-box.target').length > 1")
    target = boxes(page.evaluate(SHOWN_BOXES), "target")
    weights = network.description.layer("dense2").weights["kernel"][unit]
    strongest, products = strongest_readers(weights, dense1[unit], len(target))
    assert 5 <= len(target) <= 8 < len(weights)
    assert [b["layer"] for b in target] == ["dense2"] * len(target)
    assert [b["left"] for b in target] == strongest  # the strongest by |w·x|, strongest first
    np.testing.assert_allclose([b["weight"] for b in target], products[strongest], rtol=0.02)
    # The keyboard: arrow keys alone walk a dense layer's units, the cursor starting at unit 0.
    page.focus("#layer-dense1 canvas.layer-maps")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(UNIT_BOX, arg=["dense1", 0, 0, 0])
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    width = int(page.get_attribute("#layer-dense1 canvas.layer-maps", "data-map-width"))
    page.wait_for_function(UNIT_BOX, arg=["dense1", 0, 0, width + 1])
    assert page.inner_text(".connections-live").startswith(f"dense1 unit {width + 1}: ")


@pytest.fixture
def deep_page(browser, live_server):
    with watched_page(browser, live_server + "/?model=deep3x3") as page:
        yield page


def test_deep3x3_hover_clips_3x3_windows_at_the_border(deep_page, pen_test_samples):
    page = deep_page
    deep = Forward(describe_file(SHIPPED["deep3x3"]))
    names = dict(zip(deep.description.shown_names, frame_names(deep.description.shown_names)))
    draw_digit(page, pen_test_samples, label=2)
    conv = deep.description.layer("conv1b")
    source = names[conv.inputs[0]]
    h, w, channels = deep.description.shape_of(conv.inputs[0])
    shown = point(page, "conv1b", 2, 0, w - 1)  # the top right corner: padding above and after
    rows, cols = window(0, conv, 0, h), window(w - 1, conv, 1, w)
    assert (rows, cols) == ((0, 1), (w - 2, w - 1))
    src = boxes(shown, "source")
    assert len(src) == channels and all((b["layer"], b["top"], b["bottom"], b["left"], b["right"]) == (source, *rows, *cols) for b in src)
    # batchnorm and ReLU: unit for unit
    shown = point(page, "relu1b", 2, 5, 6)
    assert boxes(shown, "source") == [{"layer": "bn1b", "map": 2, "top": 5, "bottom": 5, "left": 6, "right": 6, "weight": 1.0}]
    shown = point(page, "bn1b", 2, 5, 6)
    assert boxes(shown, "source") == [{"layer": "conv1b", "map": 2, "top": 5, "bottom": 5, "left": 6, "right": 6, "weight": 1.0}]


def test_connections_on_the_compare_page_follow_each_sides_network(browser, live_server, pen_test_samples):
    deep = Forward(describe_file(SHIPPED["deep3x3"])).description
    with watched_page(browser, live_server + "/compare?a=tutorial&b=deep3x3") as page:
        sample = next(s for s in pen_test_samples if s["label"] == 7)
        draw(page, fit_to_canvas(sample["strokes"], 560), 560, every=2)
        page.wait_for_function("() => [...document.querySelectorAll('.prediction')].every((p) => p.dataset.busy === 'false' && p.dataset.digit !== '')")
        pool2 = deep.layer("pool2")
        h, w, _ = deep.shape_of(pool2.inputs[0])
        shown = point(page, "pool2", 5, 6, 6, root="#side-b")
        rows, cols = window(6, pool2, 0, h), window(6, pool2, 1, w)
        assert boxes(shown, "source") == [{"layer": pool2.inputs[0], "map": 5, "top": rows[0], "bottom": rows[1], "left": cols[0], "right": cols[1], "weight": 1.0}]


def test_a_finger_pressing_a_unit_shows_its_connections(browser, live_server, network, pen_test_samples):
    context = browser.new_context(viewport={"width": 400, "height": 800}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(live_server)
        page.wait_for_selector("#status[data-state=connected]")
        from tests.browser import touch_draw

        sample = next(s for s in pen_test_samples if s["label"] == 0)
        touch_draw(page, fit_to_canvas(sample["strokes"], 560), 560)
        settled_digit(page)
        x, y = unit_point(page, "pool1", 2, 3, 4)
        session = page.context.new_cdp_session(page)
        session.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
        page.wait_for_selector(".connection-box.source")
        shown = page.evaluate("() => [...document.querySelectorAll('.connection-box')].map((b) => ({ ...b.dataset }))")
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        assert boxes(shown, "unit") == [{"layer": "pool1", "map": 2, "top": 3, "bottom": 3, "left": 4, "right": 4, "weight": 1.0}]
        pool1 = network.description.layer("pool1")
        h, w, _ = network.description.shape_of("relu1")
        (top, bottom), (left, right) = window(3, pool1, 0, h), window(4, pool1, 1, w)
        assert boxes(shown, "source") == [{"layer": "relu1", "map": 2, "top": top, "bottom": bottom, "left": left, "right": right, "weight": 1.0}]
    finally:
        context.close()
