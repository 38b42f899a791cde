"""The inspector, in a real Chromium: the filter sliding over its input and building the shown
map, the softmax of the network's logits, a dense unit's strongest inputs, top patches in
their digits with their fields outlined, and axe with the inspector open. Every expected
value is worked out here from the model, never written down."""
import numpy as np
import pytest

from tests.browser import draw, draw_digit, inspector_map_box, point, settled_digit, watched_page, window
from webapp.frame_decode import decode


@pytest.fixture
def page(browser, live_server):
    with watched_page(browser, live_server) as page:
        yield page

MAP_PIXELS = """(selector) => { const c = document.querySelector(selector);
  return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }"""


def open_inspector(page, layer, m):
    from tests.browser import click_map

    click_map(page, layer, m)
    page.locator("#inspector").wait_for(state="visible")


def kernel_state(page):
    return page.evaluate("() => ({ ...document.querySelector('#inspector .kernel-steps').dataset })")


def test_the_filter_slides_over_its_input_and_builds_the_shown_map(page, network, pen_test_samples):
    draw_digit(page, pen_test_samples, label=4)
    description = network.description
    conv2 = description.layer("conv2")
    h, w, _ = description.shape_of("conv2")
    sh, sw, channels = description.shape_of("pool1")
    open_inspector(page, "conv2", 9)
    steps = page.locator("#inspector .kernel-steps")
    assert steps.is_visible() and kernel_state(page)["step"] == "0"
    page.focus("#inspector .kernel-step")  # keyboard: the buttons are buttons
    for _ in range(w + 3):  # into the second row
        page.keyboard.press("Enter")
    state = kernel_state(page)
    assert (int(state["step"]), int(state["positions"]), int(state["row"]), int(state["col"])) == (w + 3, h * w, 1, 2)
    windows = page.evaluate("() => [...document.querySelectorAll('#inspector .kernel-window')].map((b) => ({ ...b.dataset }))")
    rows, cols = window(1, conv2, 0, sh), window(2, conv2, 1, sw)
    assert [int(b["map"]) for b in windows] == list(range(channels))
    assert all((int(b["top"]), int(b["bottom"]), int(b["left"]), int(b["right"])) == (*rows, *cols) for b in windows)
    assert "biggest contributions" in page.inner_text("#inspector .kernel-math")
    # The built map: the first w + 3 units as the map shows them, the rest dark.
    built = np.array(page.evaluate(MAP_PIXELS, "#inspector canvas.kernel-built")).reshape(h, w, 4)
    shown = np.array(page.evaluate(MAP_PIXELS, "#inspector canvas.inspector-map")).reshape(h, w, 4)
    flat_built, flat_shown = built.reshape(-1, 4), shown.reshape(-1, 4)
    assert np.array_equal(flat_built[: w + 3], flat_shown[: w + 3])
    assert not np.array_equal(flat_built[w + 3 :], flat_shown[w + 3 :])

    page.click("#inspector .kernel-play")
    page.wait_for_function("() => +document.querySelector('#inspector .kernel-steps').dataset.step > 40")
    page.click("#inspector .kernel-pause")
    paused = kernel_state(page)["step"]
    page.wait_for_timeout(300)
    assert kernel_state(page)["step"] == paused and int(paused) < h * w  # pause holds
    page.click("#inspector .kernel-play")
    page.wait_for_function(f"() => +document.querySelector('#inspector .kernel-steps').dataset.step === {h * w}", timeout=20_000)
    built = page.evaluate(MAP_PIXELS, "#inspector canvas.kernel-built")
    assert built == page.evaluate(MAP_PIXELS, "#inspector canvas.inspector-map")  # the whole map, as shown


def test_the_output_layer_shows_the_softmax_of_the_networks_logits(page, network, pen_test_samples):
    data = draw_digit(page, pen_test_samples, label=9)
    truth = network.run(decode(data, network)["image"][None])["logits"][0]
    open_inspector(page, "output", 0)
    rows = page.evaluate("() => [...document.querySelectorAll('#inspector .softmax-table tbody tr')].map((r) => ({ ...r.dataset, text: r.innerText }))")
    assert [int(r["digit"]) for r in rows] == list(range(10))
    logits = np.array([float(r["logit"]) for r in rows])
    np.testing.assert_array_equal(logits.astype(np.float32), decode(data, network)["logits"])  # the frame's, to the bit
    np.testing.assert_allclose(logits, truth, rtol=1e-6, atol=1e-6)  # the network's own, not the 8-bit output layer
    shown = np.array([float(r["probability"]) for r in rows])
    z = logits - logits.max()
    np.testing.assert_allclose(shown, np.exp(z) / np.exp(z).sum(), rtol=1e-9)
    np.testing.assert_allclose(shown, network.predict(decode(data, network)["image"][None])[0], rtol=1e-5, atol=1e-7)
    assert f"{logits[3]:.4f}" in rows[3]["text"]
    assert not page.locator("#inspector .kernel-steps").is_visible()


def test_a_dense_units_inspector_lists_its_strongest_inputs(page, network, pen_test_samples):
    data = draw_digit(page, pen_test_samples, label=6)
    image = decode(data, network)["image"]
    pool2 = network.run(image[None])["pool2"][0]  # (h, w, c): flatten's order is Keras' own
    unit = 153
    kernel = network.description.layer("dense1").weights["kernel"][:, unit]
    products = pool2.ravel() * kernel
    open_inspector(page, "dense1", 0)
    caption = page.inner_text("#inspector .inspector-input figcaption")
    assert "outlined" not in caption and "strongest inputs" in caption
    box = inspector_map_box(page)
    page.mouse.move(box["x"] + (unit + 0.5) / 512 * box["width"], box["y"] + box["height"] / 2)
    page.wait_for_selector("#inspector .dense-input-list li")
    items = page.evaluate("() => [...document.querySelectorAll('#inspector .dense-input-list li')].map((li) => ({ ...li.dataset, text: li.innerText }))")
    h, w, c = pool2.shape
    for item in items:  # each input is where the network's flatten puts it
        index = int(item["index"])
        assert (int(item["row"]), int(item["col"]), int(item["map"])) == (index // c // w, index // c % w, index % c)
        step = (pool2[:, :, int(item["map"])].max() - pool2[:, :, int(item["map"])].min()) / 255
        assert abs(float(item["product"]) - products[index]) <= abs(kernel[index]) * step / 2 + 1e-6
    strongest = np.argsort(-np.abs(products))
    assert int(items[0]["index"]) in strongest[:3]
    assert {int(i["index"]) for i in items} <= set(strongest[: 2 * len(items)])


def test_top_patches_show_each_patch_in_its_digit_with_its_field_outlined(page, network):
    from model.data import load_mnist
    from model.fields import receptive_fields
    from model.network import DEFAULT_MODEL_PATH
    from model.top_patches import load as load_top_patches

    (_, _), (x_test, _) = load_mnist()
    shipped = load_top_patches(DEFAULT_MODEL_PATH.with_name("top_patches.npz"))["conv2"]
    field = receptive_fields(network.description)["conv2"]
    draw(page, [[[280, 60], [280, 500]]], 560)
    settled_digit(page)
    m = 17
    open_inspector(page, "relu2", m)  # relu2's maps are conv2's channels
    page.wait_for_selector("#inspector .top-patches canvas.in-digit")
    shown = page.evaluate("""() => [...document.querySelectorAll('#inspector .top-patches canvas.in-digit')].map((c) => ({
      ...c.dataset, width: c.width, pixels: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) }))""")
    assert len(shown) == 9
    for k, canvas in enumerate(shown):
        row, col = int(shipped["rows"][m, k]), int(shipped["cols"][m, k])
        assert (int(canvas["row"]), int(canvas["col"])) == (row, col)
        top, left, bottom, right = field.box(row, col)
        assert [int(canvas[key]) for key in ("top", "left", "bottom", "right")] == [top, left, bottom, right]
        s = int(canvas["scale"])
        assert canvas["width"] == 28 * s
        rgba = np.array(canvas["pixels"]).reshape(28 * s, 28 * s, 4)
        digit = np.rint(x_test[shipped["images"][m, k]] * 255)
        np.testing.assert_array_equal(rgba[s // 2 :: s, s // 2 :: s, 0], digit)  # each cell's middle: the digit
        assert tuple(rgba[top * s, left * s + s // 2, :3]) == (255, 210, 63)  # the outline on the field's edge (--accent)
        assert tuple(rgba[bottom * s + s - 1, right * s + s // 2, :3]) == (255, 210, 63)
        # and the stored patch is that digit's crop at the field
        np.testing.assert_allclose(shipped["patches"][m, k][: bottom - top + 1, : right - left + 1], x_test[shipped["images"][m, k]][top : bottom + 1, left : right + 1])


def test_the_page_with_the_inspector_open_passes_axe(page, pen_test_samples):
    from axe_playwright_python.sync_playwright import Axe

    draw_digit(page, pen_test_samples, label=2)
    point(page, "conv2", 3, 4, 5)
    for layer, m in (("conv2", 3), ("output", 0), ("dense1", 0)):
        open_inspector(page, layer, m)
        if layer == "conv2":
            page.click("#inspector .kernel-step")
            page.wait_for_selector("#inspector .top-patches canvas.in-digit")
        if layer == "dense1":
            box = inspector_map_box(page)
            page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
            page.wait_for_selector("#inspector .dense-input-list li")
        results = Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
        page.keyboard.press("Escape")
