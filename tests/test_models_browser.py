"""Several models in a real Chromium (issue 12): each shipped model opens from the picker
with its own layers, shapes and parameter count; the inspector's arithmetic follows the
model's own kernel size; the comparison view reads one drawing with two models."""
import re

import numpy as np
import pytest

from model.forward import Forward
from model.parse_layers import describe_file
from model.preprocess import strokes_to_input
from tests.browser import click_map, draw, inspector_map_box, point_at, settled_digit, watched_page
from webapp.models import SHIPPED

LINE = [[[280, 60], [280, 500]]]  # position and size do not change its 28x28 input


@pytest.fixture
def page(browser, live_server):
    with watched_page(browser, live_server) as page:
        yield page


def test_each_shipped_model_opens_from_the_picker_with_its_own_layers(page):
    for name, path in SHIPPED.items():
        page.click(f".model-picker a[data-model='{name}']")
        page.wait_for_selector("#status[data-state=connected]")
        assert page.url.endswith(f"?model={name}")
        assert page.get_attribute(f".model-picker a[data-model='{name}']", "aria-current") == "page"
        description = describe_file(path)
        strip = page.locator("#architecture li")  # the architecture table, in the page, opened on demand
        assert strip.locator(".arch-name").all_text_contents() == [layer.name for layer in description.layers]
        assert strip.locator(".arch-shape").all_text_contents() == ["×".join(map(str, layer.shape)) for layer in description.layers]
        assert page.text_content(".arch-total") == f"{description.param_count:,} parameters in all"
        draw(page, LINE, 560)
        expected = Forward(description).predict(strokes_to_input(LINE)[None])[0]
        assert settled_digit(page) == int(expected.argmax())
        shown = {name for name in page.locator("#layers .layer").evaluate_all("(s) => s.map((e) => e.dataset.layer)")}
        assert shown == set(description.shown_names)


def test_the_inspector_works_out_a_3x3_conv_unit_as_the_model_does(page, live_server):
    page.goto(f"{live_server}/?model=deep3x3")
    page.wait_for_selector("#status[data-state=connected]")
    forward = Forward(describe_file(SHIPPED["deep3x3"]))
    expected = forward.run(strokes_to_input(LINE)[None])
    draw(page, LINE, 560)
    settled_digit(page)
    for layer, m, row, col, rows in [("conv1a", 3, 14, 14, "13–15"), ("relu1a", 5, 0, 13, "0–1"), ("conv1a", 0, 27, 27, "26–27")]:
        click_map(page, layer, m)
        point_at(page, inspector_map_box(page), row, col, 28)
        text = page.locator("#inspector .inspector-readout").inner_text()
        math = page.locator("#inspector .inspector-math").inner_text()
        shown = float(re.match(rf"row {row}, column {col}: (-?[\d.]+) · sees input rows {rows}", text).group(1))
        assert abs(shown - expected[layer][0, row, col, m]) <= 1e-4, (layer, shown, expected[layer][0, row, col, m])
        assert "input patch × filter" in math and "(3×3)" in math and math.count(" × ") >= 9
        if layer == "relu1a":
            assert "batch norm:" in math and "ReLU: max(0, " in math
        page.keyboard.press("Escape")
    click_map(page, "conv2b", 4)  # from rounded maps: the biggest contributions of its 16 inputs
    point_at(page, inspector_map_box(page), 7, 7, 14)
    assert "3×3 patch of each of 16 relu2a maps × filter 4" in page.locator("#inspector .inspector-math").inner_text()
    top = page.locator("#inspector .inspector-top")
    top.wait_for(state="visible")
    assert top.locator("canvas").count() == 9 and "conv2b filter 4" in top.locator("figcaption").inner_text()


def test_the_comparison_shows_two_predictions_for_one_drawing(page, live_server, pen_test_samples):
    from tests.drawings import fit_to_canvas

    page.click(".model-picker a.compare-link")
    page.wait_for_selector("#status[data-state=connected]")
    assert "/compare?a=tutorial&b=mnist-only" in page.url
    page.select_option("select[name=b]", "deep3x3")
    page.click(".compare-picker button[type=submit]")
    page.wait_for_selector("#status[data-state=connected]")
    sample = next(s for s in pen_test_samples if s["label"] == 4)
    strokes = fit_to_canvas(sample["strokes"], 560)
    draw(page, strokes, 560)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.compare-side .prediction')].every((p) => p.dataset.busy === 'false' && p.dataset.digit !== '')",
        timeout=15_000,
    )
    image = strokes_to_input(np.asarray(strokes, dtype=object).tolist())[None]
    for key, name in (("a", "tutorial"), ("b", "deep3x3")):
        side = f"#side-{key}"
        assert page.get_attribute(side, "data-model") == name
        expected = Forward(describe_file(SHIPPED[name])).predict(image)[0]
        assert int(page.get_attribute(f"{side} .prediction", "data-digit")) == int(expected.argmax())
        layers = page.locator(f"{side} .layer").evaluate_all("(s) => s.map((e) => e.dataset.layer)")
        assert layers == list(describe_file(SHIPPED[name]).shown_names)
    page.click("#clear")
    assert page.locator(".compare-side .prediction[data-digit='']").count() == 2
