"""Driving Debian's Chromium with Playwright: launch flags for a machine with no internet,
and drawing on the page's canvas with real mouse events."""
from playwright.sync_api import sync_playwright

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
