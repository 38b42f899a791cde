"""The layers' maps in a real Chromium: a map enlarged with its units' true values and what
they see, the maps' text alternatives, the conv filters beside their maps, what a filter
responds to, the where-it-looks overlay, and units reached by keyboard."""
import pytest

from tests.browser import click_map, draw, focus_map, inspector_map_box, map_point, point_at, settled_digit, watched_page


@pytest.fixture
def page(browser, live_server):
    with watched_page(browser, live_server) as page:
        yield page


def open_map(page, layer, n):
    """Draw a vertical line, then enlarge map `n` of `layer`; returns the enlarged canvas's box."""
    draw(page, [[[280, 60], [280, 500]]], 560)
    settled_digit(page)
    click_map(page, layer, n)
    return inspector_map_box(page)


def readout(page):
    return page.locator("#inspector .inspector-readout").inner_text(), page.locator("#inspector .inspector-math").inner_text()


def test_enlarged_map_shows_true_values(page):
    box = open_map(page, "conv1", 3)
    dialog = page.locator("#inspector")
    assert dialog.is_visible()
    assert "conv1 · map 3" in dialog.locator(".inspector-title").inner_text()
    point_at(page, box, 14, 14, 28)
    assert "row 14, column 14:" in readout(page)[0]


def test_maps_have_text_alternatives(page):
    import re

    draw(page, [[[280, 60], [280, 500]]], 560)
    settled_digit(page)
    assert page.locator("#layers canvas[tabindex='0']").count() == 9  # one tab stop a layer, not one a map
    focus_map(page, "conv1", 5)  # the arrow keys move to map 5: the canvas's name is its description
    label = page.get_attribute("#layer-conv1 canvas.layer-maps", "aria-label")
    assert page.inner_text(".map-live") == label
    match = re.fullmatch(r"conv1 map 5: (strongest at row (\d+), column (\d+), (-?[\d.e-]+)|all (-?[\d.e-]+))", label)
    assert match, label
    page.keyboard.press("Enter")
    assert "conv1 · map 5" in page.locator("#inspector .inspector-title").inner_text()
    readout = page.locator("#inspector .inspector-readout").inner_text()
    biggest = float(re.search(r"max (-?[\d.e-]+)", readout).group(1))
    assert abs(float(match.group(4) or match.group(5)) - biggest) <= 0.01 * max(1, abs(biggest))
    page.keyboard.press("Escape")
    page.mouse.move(*map_point(page, "conv1", 7))  # pointing at a map: its description as the tooltip
    assert page.get_attribute("#layer-conv1 canvas.layer-maps", "title").startswith("conv1 map 7: ")
    dense = page.get_attribute("#layer-dense1 canvas.layer-maps", "aria-label")
    assert re.fullmatch(r"dense1: strongest at unit \d+, [\d.]+", dense), dense


def test_conv_filters_are_drawn_next_to_their_maps(page):
    counts = page.evaluate("""() => ['conv1', 'conv2', 'relu1'].map((name) => {
      const section = document.getElementById('layer-' + name);
      return section ? section.querySelectorAll('.kernels canvas').length : null;
    })""")
    assert counts == [None, None, None]  # sections appear with the first frame
    draw(page, [[[280, 60], [280, 500]]], 560)
    settled_digit(page)
    counts = page.evaluate("() => ['conv1', 'conv2', 'relu1'].map((n) => document.querySelectorAll(`#layer-${n} .kernels canvas`).length)")
    assert counts == [1, 1, 0]  # one canvas of filters a conv layer
    colours = page.evaluate("""() => {
      const c = document.querySelector('#layer-conv2 canvas.kernel-row'), g = c.dataset;
      const maps = document.querySelector('#layer-conv2 canvas.layer-maps').dataset, w = +maps.mapWidth, h = +maps.mapHeight;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      return Array.from({ length: +g.filters }, (_, f) => {
        const left = (f % g.columns) * (w + 1) * g.scale + +g.inset, top = Math.floor(f / g.columns) * (h + 1) * g.scale + +g.inset, seen = new Set();
        for (let y = top; y < top + +g.tileHeight; y++) for (let x = left; x < left + +g.tileWidth; x++) {
          const i = 4 * (y * c.width + x);
          seen.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]);
        }
        return seen.size;
      });
    }""")
    assert len(colours) == 48 and min(colours) > 10  # 96 signed weights each: many shades
    # Filters are shown on demand, each in the corner of its own map: the maps' grid, the maps' box.
    assert not page.locator("#layer-conv1 canvas.kernel-row").is_visible()
    page.keyboard.press("w")
    assert page.get_attribute("#filters", "aria-pressed") == "true"
    for layer in ("conv1", "conv2"):
        kernels, maps = page.locator(f"#layer-{layer} canvas.kernel-row"), page.locator(f"#layer-{layer} canvas.layer-maps")
        assert kernels.get_attribute("data-columns") == maps.get_attribute("data-columns")
        assert kernels.bounding_box() == maps.bounding_box()
    x, y = map_point(page, "conv1", 5)
    box, g = page.locator("#layer-conv1 canvas.layer-maps").bounding_box(), page.locator("#layer-conv1 canvas.kernel-row")
    corner = (int(g.get_attribute("data-tile-width")) / 2 + 1) / int(g.get_attribute("data-scale")) / 28  # the tile's middle, in maps
    page.mouse.move(x - (0.5 - corner) * box["width"] / int(g.get_attribute("data-columns")), y - (0.5 - corner) * 28 * box["width"] / int(g.get_attribute("data-columns")) / 28)
    title = page.get_attribute("#layer-conv1 canvas.layer-maps", "title")
    assert title.startswith("conv1 filter 5: ") and "bias" in title


def test_hovered_conv1_unit_shows_the_models_own_value_and_its_sum(page, network):
    import re

    from model.preprocess import strokes_to_input

    line = [[[280, 60], [280, 500]]]  # position and size do not change its 28x28 input
    expected = network.run(strokes_to_input(line)[None])
    for layer, m, row, col in [("conv1", 3, 14, 14), ("relu1", 5, 14, 13), ("conv1", 0, 27, 27)]:
        point_at(page, open_map(page, layer, m), row, col, 28)
        text, math = readout(page)
        shown = float(re.match(rf"row {row}, column {col}: (-?[\d.]+) · sees input rows {row}–{min(row + 1, 27)}", text).group(1))
        assert abs(shown - expected[layer][0, row, col, m]) <= 1e-4, (layer, shown, expected[layer][0, row, col, m])
        assert "input patch × filter" in math and f"= {shown:.4f}" in math
        page.keyboard.press("Escape")
        page.keyboard.press("c")


def test_pool_and_conv2_units_explain_themselves(page):
    point_at(page, open_map(page, "pool2", 2), 3, 3, 7)
    text, math = readout(page)
    assert "sees input rows 12–18, columns 12–18" in text and "largest wins" in math
    page.keyboard.press("Escape")
    page.keyboard.press("c")
    point_at(page, open_map(page, "conv2", 7), 5, 7, 14)
    text, math = readout(page)
    assert "sees input rows 10–14, columns 14–18" in text and "biggest contributions" in math


def test_selecting_a_map_shows_what_its_filter_responds_to(page):
    draw(page, [[[280, 60], [280, 500]]], 560)
    settled_digit(page)
    click_map(page, "relu2", 11)
    top = page.locator("#inspector .inspector-top")
    top.wait_for(state="visible")  # the top patches are fetched when first needed
    assert top.locator("canvas").count() == 9
    assert "conv2 filter 11" in top.locator("figcaption").inner_text()
    page.keyboard.press("Escape")
    click_map(page, "dense1", 0)
    assert not top.is_visible()


OVERLAY_PIXELS = """() => {
  const c = document.querySelector('#saliency-view');
  const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
  return Array.from({ length: 784 }, (_, i) => d[4 * i + 3]);
}"""


def test_where_it_looks_overlay_follows_the_drawing(page):
    page.keyboard.press("l")
    assert page.get_attribute("#saliency", "aria-pressed") == "true"
    draw(page, [[[280, 60], [280, 500]]], 560)
    page.wait_for_function("() => document.querySelector('#saliency-view').dataset.digit === '1'")
    one = page.evaluate(OVERLAY_PIXELS)
    assert max(one) > 200 and sum(a > 0 for a in one) > 20
    page.keyboard.press("c")
    draw(page, [[[100, 80], [460, 80], [200, 500]]], 560)
    page.wait_for_function("() => document.querySelector('#saliency-view').dataset.digit === '7'")
    assert page.evaluate(OVERLAY_PIXELS) != one
    page.click("#saliency")
    assert not page.locator("#saliency-view").is_visible()


def test_units_are_reachable_by_keyboard(page):
    draw(page, [[[280, 60], [280, 500]]], 560)
    settled_digit(page)
    focus_map(page, "conv1", 3)
    page.keyboard.press("Enter")
    assert page.locator("#inspector").is_visible()
    for key in ("ArrowRight", "ArrowRight", "ArrowDown"):
        page.keyboard.press(key)
    assert page.locator("#inspector .inspector-readout").inner_text().startswith("row 1, column 2:")
    assert "input patch × filter 3" in page.locator("#inspector .inspector-math").inner_text()
    page.keyboard.press("Escape")
    assert not page.locator("#inspector").is_visible()
