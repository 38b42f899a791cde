"""Frame version 6 in a real Chromium: the layers the page works out itself (conv1 from the
input, ReLU and pooling of an earlier layer; for deep3x3 every conv and batchnorm too) are
the network's own, within the format's
tolerance (tests/test_frames.py says which and why), and are the bytes `frame_decode.decode`
works out in Python; and what the paint worker shows on each layer's canvas is those
bytes, pixel for pixel, through the colour map."""
import numpy as np
import pytest

from model.forward import Forward
from model.network import SHOWN_LAYERS
from model.parse_layers import describe_file
from tests.browser import SHOWN_PIXELS, draw, settled_digit, watched_page
from tests.drawings import fit_to_canvas
from tests.test_frames import DEEP_HOW, HOW, tolerance
from webapp import frame_decode, frames
from webapp.models import SHIPPED

# In the page: the app's own frame.js module (the same instance, so with the weights the app
# gave it: its address names the static folder's version), decoding the bytes the page's socket received; every layer's true values.
DECODE_IN_PAGE = """async (bytes) => {
  const { decodeFrame, trueValue } = await import(new URL('frame.js', document.querySelector('script[type=module][src]').src));
  const frame = decodeFrame(Uint8Array.from(bytes).buffer);
  return {
    seq: frame.seq,
    digit: frame.digit,
    layers: frame.layers.map((layer) => {
      const area = layer.height * layer.width;
      return {
        name: layer.name, height: layer.height, width: layer.width, maps: layer.maps,
        min: Array.from(layer.min), max: Array.from(layer.max), bytes: Array.from(layer.values),
        values: Array.from(layer.values, (q, i) => trueValue(layer, Math.floor(i / area), q)),
      };
    }),
  };
}"""


@pytest.fixture
def page(browser, live_server):
    with watched_page(browser, live_server) as page:
        yield page


@pytest.fixture
def deep_page(browser, live_server):
    with watched_page(browser, f"{live_server}/?model=deep3x3") as page:
        yield page


def test_the_page_derives_every_layer_as_the_network_computes_it(page, network, pen_test_samples):
    page_derives_as_network(page, network, SHOWN_LAYERS, HOW, pen_test_samples, 20_000)


def test_the_page_derives_batchnorm_layers_as_the_network_computes_them(deep_page, pen_test_samples):
    """deep3x3: conv → batchnorm → ReLU, twice a block; the page works every map out, with
    the batchnorm scales and shifts network.json gives it, and sends no layer but the dense."""
    deep3x3 = Forward(describe_file(SHIPPED["deep3x3"]))
    page_derives_as_network(deep_page, deep3x3, deep3x3.description.shown_names, DEEP_HOW, pen_test_samples, 6_000)


def page_derives_as_network(page, network, names, how, pen_test_samples, most_bytes):
    """For three pen digits: the page's every layer is the network's float computation within
    its tolerance, and decode's bytes (and min, max) exactly; each frame at most `most_bytes`."""
    samples = [next(s for s in pen_test_samples if s["label"] == digit) for digit in (0, 3, 7)]
    for sample in samples:
        page.keyboard.press("c")
        page.received.clear()
        draw(page, fit_to_canvas(sample["strokes"], 560), 560, every=2)
        shown = settled_digit(page)
        data = page.received[-1]  # the answer to what is drawn: nothing was drawn after it
        assert data[:4] == frames.MAGIC and data[4] == frames.VERSION
        assert len(data) <= most_bytes

        ours = frame_decode.decode(data, network)
        assert {name: layer["how"] for name, layer in ours["layers"].items()} == how
        theirs = page.evaluate(DECODE_IN_PAGE, list(data))
        assert theirs["digit"] == ours["digit"] == shown
        outputs = network.run(ours["image"][None])  # the server's float computation of this input
        truth = {name: outputs[name][0].reshape(ours["layers"][name]["shape"]) for name in names}
        assert [layer["name"] for layer in theirs["layers"]] == list(names)
        for layer in theirs["layers"]:
            name, shape = layer["name"], ours["layers"][layer["name"]]["shape"]
            assert (layer["height"], layer["width"], layer["maps"]) == shape
            # channel-first on the page, (h, w, c) here
            values = np.moveaxis(np.asarray(layer["values"]).reshape(shape[2], shape[0], shape[1]), 0, -1)
            bound = tolerance(name, truth)
            error = np.abs(values - truth[name]).max(axis=(0, 1))
            assert np.all(error <= bound), (name, how[name], (error / bound).max())
            # and the page's arithmetic is decode's, to the byte
            np.testing.assert_array_equal(np.asarray(layer["bytes"], np.uint8), ours["layers"][name]["bytes"].ravel(), name)
            np.testing.assert_array_equal(np.asarray(layer["min"], np.float32), ours["layers"][name]["min"], name)
            np.testing.assert_array_equal(np.asarray(layer["max"], np.float32), ours["layers"][name]["max"], name)


# In the page: for every layer's canvas (painted by the worker), the pixels of map m that
# are not the colour map of the server's byte for them (`expected`: layer → bytes, channel
# first), counted per layer; and how many pixels were compared.
MISMATCHED_PIXELS = """async (expected) => {
  const { LUT } = await import(new URL('colormap.js', document.querySelector('script[type=module][src]').src));
  """ + SHOWN_PIXELS + """
  const out = {};
  for (const [name, bytes] of Object.entries(expected)) {
    const c = document.querySelector(`#layer-${name} canvas.layer-maps`);
    const pixels = new Uint32Array(shownPixels(c).buffer);
    const columns = +c.dataset.columns, w = +c.dataset.mapWidth, h = +c.dataset.mapHeight;
    let wrong = 0, compared = 0;
    for (let m = 0; m < +c.dataset.maps; m++) {
      const left = (m % columns) * (w + 1), top = Math.floor(m / columns) * (h + 1);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const i = m * w * h + y * w + x;
        if (i >= bytes.length) continue; // a dense layer's grid of units may end in empty cells
        compared++;
        if (pixels[(top + y) * c.width + left + x] !== LUT[bytes[i]]) wrong++;
      }
    }
    out[name] = [wrong, compared];
  }
  return out;
}"""


def test_the_worker_paints_every_layer_as_the_server_computes_it(page, network, pen_test_samples):
    worker_paints_as_server(page, network, SHOWN_LAYERS, pen_test_samples)


def test_the_worker_paints_batchnorm_layers_as_the_server_computes_them(deep_page, pen_test_samples):
    """The paint worker has deep3x3's batchnorm scales and shifts too (painter.js hands them
    over with the filters): its canvases are decode's bytes."""
    deep3x3 = Forward(describe_file(SHIPPED["deep3x3"]))
    worker_paints_as_server(deep_page, deep3x3, deep3x3.description.shown_names, pen_test_samples)


def worker_paints_as_server(page, network, names, pen_test_samples):
    sample = next(s for s in pen_test_samples if s["label"] == 5)
    page.click("[data-scale=map]")  # each map over its own range: the server's bytes as they are
    draw(page, fit_to_canvas(sample["strokes"], 560), 560, every=2)
    settled_digit(page)
    ours = frame_decode.decode(page.received[-1], network)
    # The page's "map" scale: each map's bytes as they are (they span its own min..max); a map
    # whose min is its max shows as byte 0.
    expected = {name: np.where((layer["max"] > layer["min"])[:, None], layer["bytes"], 0).ravel().tolist()
                for name, layer in ours["layers"].items()}
    assert len(expected) == len(names)
    # The canvas a placeholder shows follows the worker's paint within a frame or two.
    page.wait_for_function(f"async (expected) => Object.values(await ({MISMATCHED_PIXELS})(expected)).every(([wrong]) => wrong === 0)",
                           arg=expected, timeout=5_000, polling=100)
    counts = page.evaluate(MISMATCHED_PIXELS, expected)
    assert {name: wrong for name, (wrong, _) in counts.items()} == {name: 0 for name in names}
    assert sum(compared for _, compared in counts.values()) == sum(len(b) for b in expected.values())
