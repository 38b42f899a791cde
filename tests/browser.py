"""Driving Debian's Chromium with Playwright: launch flags for a machine with no internet,
and drawing on the page's canvas with real mouse events; where a map's unit is on the page, and
which input window a conv or pool unit reads (what the page outlines)."""
import contextlib

from playwright.sync_api import sync_playwright

from tests.drawings import fit_to_canvas

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch():
    """(playwright, browser): Debian's /usr/bin/chromium, never a downloaded one."""
    playwright = sync_playwright().start()
    return playwright, playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)


@contextlib.contextmanager
def watched_page(browser, url, width=1400, height=900, scale=1):
    """A page at `url` (`scale`: device pixels per CSS pixel), connected, keeping the frames
    it receives (`page.received`); on leaving, no page error and no failed request. Requests
    aborted by leaving a page (a navigation, or closing the context while a worker's
    modules still load) are not the page's failures: a missing file is a 404, not this."""
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=scale)
    page = context.new_page()
    errors, page.received = [], []  # received: every binary WebSocket message (the frames)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: isinstance(data, bytes) and page.received.append(data)))
    page.on("requestfailed", lambda r: r.failure == "net::ERR_ABORTED" or errors.append(f"failed: {r.url} ({r.failure})"))
    page.goto(url)
    page.wait_for_selector("#status[data-state=connected]")
    try:
        yield page
    finally:
        context.close()
    assert errors == [], errors


def draw(page, strokes, size, every=1):
    """Replay strokes (in a size x size square) as mouse drags on #canvas.

    `every` > 1 keeps every n-th point (and the last): the tablet's dense sampling
    costs browser round trips without changing the shape.
    """
    canvas = page.locator("#canvas")
    canvas.scroll_into_view_if_needed()  # a click further down the page may have scrolled it away
    box = canvas.bounding_box()
    scale = box["width"] / size
    for stroke in strokes:
        stroke = stroke[::every] + stroke[-1:] if every > 1 else stroke
        points = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point)
        page.mouse.up()


def settled_digit(page):
    page.wait_for_function(
        "() => { const p = document.querySelector('#prediction');"
        " return p.dataset.busy === 'false' && p.dataset.digit !== ''; }",
        timeout=15_000,
    )
    return int(page.get_attribute("#prediction", "data-digit"))


def touch_draw(page, strokes, size, every=3):
    """Replay strokes as a finger on #canvas: real touch events, through Chromium's input
    pipeline (DevTools protocol), as a phone's touchscreen sends them."""
    canvas = page.locator("#canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    scale = box["width"] / size
    session = page.context.new_cdp_session(page)
    for stroke in strokes:
        stroke = stroke[::every] + stroke[-1:]
        points = [{"x": box["x"] + x * scale, "y": box["y"] + y * scale} for x, y in stroke]
        session.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [points[0]]})
        for point in points[1:]:
            session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    session.detach()


# Every layer's maps are one canvas (static/js/activations.js): a grid of `data-columns`
# maps of data-map-width x data-map-height canvas pixels with a 1-pixel gap.
MAP_GEOMETRY = """(c) => ({ columns: +c.dataset.columns, maps: +c.dataset.maps, w: +c.dataset.mapWidth,
  h: +c.dataset.mapHeight, width: c.width, height: c.height })"""


def map_point(page, layer, n, root="#layers"):
    """The page coordinates of the centre of map `n` of `layer`, scrolled into view."""
    canvas = page.locator(f"{root} #layer-{layer} canvas.layer-maps")
    canvas.scroll_into_view_if_needed()
    g = canvas.evaluate(MAP_GEOMETRY)
    assert 0 <= n < g["maps"], (layer, n, g)
    box = canvas.bounding_box()
    col, row = n % g["columns"], n // g["columns"]
    x = (col * (g["w"] + 1) + g["w"] / 2) / g["width"] * box["width"]
    y = (row * (g["h"] + 1) + g["h"] / 2) / g["height"] * box["height"]
    return box["x"] + x, box["y"] + y


def click_map(page, layer, n, root="#layers"):
    """Click (a real mouse click) the centre of map `n` in `layer`'s canvas: opens the inspector."""
    page.mouse.click(*map_point(page, layer, n, root))


def inspector_map_box(page):
    """The enlarged map's box in the inspector, once it has kept still."""
    # The dialog's lessons (the sliding filter, top patches) fill in after it opens and move
    # the map: its box once it has kept still for two animation frames.
    return page.evaluate_handle("""() => new Promise((done) => {
      const map = document.querySelector('#inspector canvas.inspector-map');
      let last = '';
      const look = () => {
        const r = map.getBoundingClientRect(), now = [r.x, r.y, r.width, r.height].join();
        if (now === last && r.width > 0) done({ x: r.x, y: r.y, width: r.width, height: r.height });
        else { last = now; setTimeout(() => requestAnimationFrame(look), 50); }
      };
      requestAnimationFrame(look);
    })""").json_value()


def point_at(page, box, row, col, size):
    """Move the mouse to unit (row, col) of a size x size enlarged map."""
    page.mouse.move(box["x"] + (col + 0.5) / size * box["width"], box["y"] + (row + 0.5) / size * box["height"])
    # The readout follows the pointer on the page's next frame: wait for this unit's.
    page.wait_for_function("(w) => document.querySelector('#inspector .inspector-readout').textContent.startsWith(w)",
                           arg=f"row {row}, column {col}:")


def focus_map(page, layer, n):
    """Keyboard: focus `layer`'s canvas (one tab stop) and walk to map `n` with the arrow keys."""
    page.focus(f"#layer-{layer} canvas.layer-maps")
    page.keyboard.press("Home")
    for _ in range(n):
        page.keyboard.press("ArrowRight")


# A layer canvas's pixels as shown. The paint worker owns the canvas (an OffscreenCanvas's
# placeholder has no context of its own here): what it shows is copied onto a scratch canvas.
SHOWN_PIXELS = """const shownPixels = (c) => {
  const copy = document.createElement('canvas');
  copy.width = c.width;
  copy.height = c.height;
  const ctx = copy.getContext('2d');
  ctx.drawImage(c, 0, 0);
  return ctx.getImageData(0, 0, c.width, c.height).data;
};"""

# (root) => [{ layer, map, colours }]: how many distinct colours each map's own pixels have.
PAINTED_MAPS = """(root) => { """ + SHOWN_PIXELS + """
return [...document.querySelectorAll(`${root} canvas.layer-maps`)].flatMap((c) => {
  const d = shownPixels(c);
  const columns = +c.dataset.columns, w = +c.dataset.mapWidth, h = +c.dataset.mapHeight;
  return Array.from({ length: +c.dataset.maps }, (_, m) => {
    const left = (m % columns) * (w + 1), top = Math.floor(m / columns) * (h + 1), seen = new Set();
    for (let y = top; y < top + h; y++) for (let x = left; x < left + w; x++) {
      const i = 4 * (y * c.width + x);
      if (d[i + 3]) seen.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]);
    }
    return { layer: c.closest('.layer').dataset.layer, map: m, colours: seen.size };
  });
}); }"""


def painted_maps(page, root="#layers"):
    return page.evaluate(PAINTED_MAPS, root)


def draw_digit(page, pen_test_samples, label=3):
    """Draw the first pen digit of `label` and wait for its result; returns its last frame."""
    sample = next(s for s in pen_test_samples if s["label"] == label)
    draw(page, fit_to_canvas(sample["strokes"], 560), 560, every=2)
    settled_digit(page)
    return page.received[-1]


def unit_point(page, layer, m, row, col, root="#layers"):
    """Page coordinates of unit (row, col) of map m of `layer`, from the canvas's geometry now."""
    canvas = page.locator(f"{root} .layer[data-layer='{layer}'] canvas.layer-maps")
    canvas.scroll_into_view_if_needed()
    g = canvas.evaluate(MAP_GEOMETRY)
    if canvas.evaluate("(c) => c.closest('.layer').classList.contains('layer-dense')"):
        row, col = divmod(col, g["w"])  # a dense layer's units fill its grid row by row
    width = g["columns"] * (g["w"] + 1) - 1
    height = 1 if g["h"] == 1 else -(-g["maps"] // g["columns"]) * (g["h"] + 1) - 1
    box = canvas.bounding_box()
    x = (m % g["columns"]) * (g["w"] + 1) + col + 0.5
    y = (m // g["columns"]) * (g["h"] + 1) + row + 0.5
    return box["x"] + x / width * box["width"], box["y"] + y / height * box["height"]


def point(page, layer, m, row, col, root="#layers"):
    page.mouse.move(*unit_point(page, layer, m, row, col, root))
    page.wait_for_function(
        "([l, m, r, c]) => [...document.querySelectorAll('.connection-box.unit')].some((b) => b.dataset.layer === l"
        " && +b.dataset.map === m && +b.dataset.top === r && +b.dataset.left === c)",
        arg=[layer, m, row, col],
    )
    return page.evaluate(
        "() => [...document.querySelectorAll('.connection-box')].map((b) => ({ ...b.dataset, rect: b.getBoundingClientRect().toJSON() }))"
    )


def window(index, layer, axis, size):
    """Rows (axis 0) or columns (axis 1) of the input that output `index` of a conv or pool reads, clipped."""
    p = layer.params
    k, s = (p["kernel"] if layer.kind == "conv" else p["pool"])[axis], p["strides"][axis]
    before = p["pad"][2 * axis]
    return max(0, index * s - before), min(size - 1, index * s - before + k - 1)
