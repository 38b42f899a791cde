"""The README's screenshots of the drawing page: a laptop (1440x900), a projector
(1280x720) and a phone (390x844), each after drawing a pen digit (writer 1-4's "2").

    .venv/bin/python scripts/screenshots.py [--out docs]

Starts the app (as `python -m webapp`) on a free port and Debian's Chromium (Playwright).
"""
import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.data import DEFAULT_PEN_TEST, load_pen_samples  # noqa: E402
from tests.browser import draw, launch, settled_digit  # noqa: E402
from tests.conftest import start_server  # noqa: E402
from tests.drawings import fit_to_canvas  # noqa: E402

SHOTS = {"laptop": (1440, 900), "projector": (1280, 720), "phone": (390, 844)}


def shoot(browser, url, strokes, path, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=width < 800)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#status[data-state=connected]")
    draw(page, strokes, 560, every=2)
    settled_digit(page)
    if width < 800:  # a phone: scrolled to the first maps, the pad kept at the top
        page.locator("#layer-conv1").scroll_into_view_if_needed()
    page.evaluate("() => new Promise((done) => setTimeout(done, 400))")  # the text alternatives and ranges
    page.screenshot(path=path)
    context.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    sample = next(s for s in load_pen_samples(DEFAULT_PEN_TEST) if s["label"] == 2)
    strokes = fit_to_canvas(sample["strokes"], 560)
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(Path(tmp) / "classroom.sqlite3")
        playwright, browser = launch()
        try:
            for name, (width, height) in SHOTS.items():
                path = args.out / f"screenshot-{name}.png"
                shoot(browser, url, strokes, str(path), width, height)
                print(path)
        finally:
            browser.close()
            playwright.stop()
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
