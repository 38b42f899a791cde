"""Classroom mode in a real Chromium: a teacher's context and students' contexts (a phone
among them) on one live server."""
import time

import numpy as np
import pytest

from model.preprocess import strokes_to_input
from tests.browser import draw, painted_maps, settled_digit, touch_draw
from tests.conftest import start_server
from tests.drawings import fit_to_canvas
from webapp.classroom import STUDENT_COOKIE, TEACHER_COOKIE
from webapp.classroom.store import Store

PROJECTORS = [(1920, 1080), (1280, 720)]
XSS_NAME = "<img src=x onerror=alert(1)>"


class Watch:
    """Page errors, failed requests, any dialog (an injected alert would open one) and
    anything the Content-Security-Policy blocked."""

    def __init__(self):
        self.problems = []
        self.closing = False

    def close(self, context):
        """Close a watched context: requests it aborts then (a worker's module still loading
        when a short test ends) are the closing's doing, not the page's."""
        self.closing = True
        context.close()

    def attach(self, page):
        page.on("pageerror", lambda e: self.problems.append(str(e)))
        page.on("requestfailed", lambda r: self.closing or self.problems.append(f"failed: {r.url} ({r.failure})"))
        page.on("dialog", lambda d: self.problems.append(f"dialog: {d.message}"))
        page.on("console", lambda m: self.blocked(m.text))
        return page

    def blocked(self, text):
        if "Content Security Policy" in text:
            self.problems.append(f"CSP: {text}")


@pytest.fixture
def watch():
    watcher = Watch()
    yield watcher
    assert watcher.problems == []


@pytest.fixture
def teacher(browser, live_server, watch):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = watch.attach(context.new_page())
    page.goto(live_server)
    page.wait_for_selector("#status[data-state=connected]")  # the page's modules loaded: leaving it aborts none
    page.click("#start-class")
    page.wait_for_selector("#status[data-state=connected]")
    yield page
    watch.close(context)


@pytest.fixture
def join_as(browser, teacher, watch):
    """Open the join link shown on the teacher's screen in a new phone-sized context."""
    contexts = []

    def join(name):
        context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
        contexts.append(context)
        page = watch.attach(context.new_page())
        page.frames_at = []  # when each binary message (a frame) reached the page's sockets
        page.on("websocket", lambda ws: ws.on("framereceived", lambda d: isinstance(d, bytes) and page.frames_at.append(time.monotonic())))
        page.goto(teacher.inner_text("#join-url"))
        page.fill("#name", name)
        page.click("#join")
        page.wait_for_selector("#status[data-state=connected]")
        return page

    yield join
    for context in contexts:
        watch.close(context)


def send(page, sample, intended, finger=False):
    """Draw a pen digit on a student's page (with the mouse or a finger), pick the digit
    meant and send it; returns the digit the page showed as read."""
    sent = page.locator("#my-submissions li").count()
    (touch_draw if finger else draw)(page, fit_to_canvas(sample["strokes"], 560), 560, every=3)
    digit = settled_digit(page)
    assert page.inner_text("#live-read strong").startswith(f"{digit} (")  # beside the send button, on a phone
    page.click(f"#intended button[data-digit='{intended}']")
    page.click("#submit")
    page.wait_for_function(f"() => document.querySelectorAll('#my-submissions li').length === {sent + 1}")
    return digit


def fits(page):
    return page.evaluate(
        "() => [document.documentElement.scrollWidth <= innerWidth, document.documentElement.scrollHeight <= innerHeight]"
    )


def test_a_students_drawing_appears_in_the_teachers_gallery_and_matrix(teacher, join_as, pen_test_samples):
    student = join_as(XSS_NAME)
    assert student.inner_text("#student-name") == XSS_NAME  # text, not markup
    teacher.wait_for_function("() => document.querySelector('#online').textContent === '1'")
    three = next(s for s in pen_test_samples if s["label"] == 3)
    assert send(student, three, 3, finger=True) == 3  # on a phone, with a finger
    assert student.locator("#my-submissions li.right").count() == 1
    assert "read your 3 right" in student.inner_text("#class-message")
    # The drawing is cleared, ready for the next one.
    assert student.get_attribute("#prediction", "data-digit") == ""

    card = teacher.locator("#gallery .card")
    card.wait_for()
    assert card.locator(".name").inner_text() == XSS_NAME
    assert teacher.locator("#gallery img").count() == 0  # the name's markup was never parsed
    assert card.locator(".verdict").inner_text() == "3 → 3 ✓"
    assert teacher.inner_text("#accuracy .value") == "100%"
    assert teacher.inner_text("#confusion button[data-intended='3'][data-predicted='3']") == "1"
    assert teacher.inner_text("#total") == "1"

    # A drawing the network gets wrong: meant 5, drawn as a 7.
    seven = next(s for s in pen_test_samples if s["label"] == 7)
    assert send(student, seven, 5) == 7
    teacher.wait_for_function("() => document.querySelectorAll('#gallery .card').length === 2")
    assert teacher.inner_text("#accuracy .value") == "50%"
    cell = teacher.locator("#confusion button[data-intended='5'][data-predicted='7']")
    assert cell.inner_text() == "1"
    cell.click()  # the matrix filters the gallery to that cell's drawings
    assert teacher.locator("#gallery li:not([hidden]) .verdict").all_inner_texts() == ["5 → 7 ✗"]
    teacher.click("#show-all")
    assert teacher.locator("#gallery li:not([hidden])").count() == 2


def test_spotlight_and_follow_me(teacher, join_as, pen_test_samples):
    student = join_as("Ana")
    four = next(s for s in pen_test_samples if s["label"] == 4)
    send(student, four, 4)
    teacher.locator("#gallery .card").click()
    teacher.wait_for_selector("#stage[open][data-mode=spotlight]")
    # The stage opens at once; its frame shows once the paint worker has painted it.
    teacher.wait_for_function("() => document.querySelector('#stage #prediction').dataset.digit === '4'")
    assert "Ana: meant 4, read 4" in teacher.inner_text("#stage-title")
    maps = painted_maps(teacher, "#stage")  # each map's own pixels in its layer's canvas
    assert len(maps) == 219
    painted = sum(m["colours"] > 1 for m in maps)
    assert painted > 150  # of 219 maps and strips; some ReLU maps are rightly all zero
    teacher.click("#stage-close")

    # Follow me: the teacher draws, the student's screen shows it, read by the network.
    teacher.click("#follow")
    teacher.wait_for_selector("#stage[open][data-mode=follow]")
    student.wait_for_selector("#follow-banner:not([hidden])")
    student.evaluate("""() => {
      window.labelWrites = [];  // the maps' text alternatives: at most every 250 ms while the teacher draws
      new MutationObserver(() => window.labelWrites.push(performance.now()))
        .observe(document.querySelector('#layers'), { subtree: true, attributeFilter: ['aria-label'] });
    }""")
    two = next(s for s in pen_test_samples if s["label"] == 2)
    draw(teacher, fit_to_canvas(two["strokes"], 560), 560, every=3)
    assert settled_digit(teacher) == 2
    student.wait_for_function("() => document.querySelector('#prediction').dataset.digit === '2'")
    student.wait_for_function("() => document.querySelector('#layer-output canvas').ariaLabel.includes('strongest at unit 2')")
    writes = student.evaluate("window.labelWrites")
    batches = [t for i, t in enumerate(writes) if i == 0 or t - writes[i - 1] > 20]  # one describe: a batch
    assert len(batches) >= 2 and all(b - a >= 225 for a, b in zip(batches, batches[1:])), batches
    assert student.locator("#submit").is_disabled()
    ink = """() => { const d = document.querySelector('#canvas').getContext('2d').getImageData(0, 0, 560, 560).data;
      let darkest = 255; for (let i = 0; i < d.length; i += 4) darkest = Math.min(darkest, d[i]); return darkest; }"""
    assert student.evaluate(ink) < 100  # the teacher's strokes are on the student's pad
    teacher.click("#stage-close")  # closing the stage ends follow me
    student.wait_for_selector("#follow-banner[hidden]", state="attached")
    student.wait_for_function("() => document.querySelector('#prediction').dataset.digit === ''")
    assert student.evaluate(ink) > 200  # back to the student's own (empty) pad


def test_a_follower_whose_main_thread_is_busy_holds_the_teachers_frames_back(teacher, join_as, pen_test_samples):
    """The page's socket lives in its paint worker, but the teacher's frames are drawn on
    the pad by the page's main thread: each is acknowledged only once that thread has
    handled it, so a phone too busy to keep up gets at most the server's window (2), never
    a queue of them, and then the newest."""
    student = join_as("Bo")
    teacher.click("#follow")
    teacher.wait_for_selector("#stage[open][data-mode=follow]")
    student.wait_for_selector("#follow-banner:not([hidden])")
    student.evaluate("() => setTimeout(() => { const t = performance.now(); while (performance.now() - t < 6000); }, 0)")
    busy = time.monotonic()
    seven = next(s for s in pen_test_samples if s["label"] == 7)
    draw(teacher, fit_to_canvas(seven["strokes"], 560), 560, every=2)
    assert settled_digit(teacher) == 7
    drawn = time.monotonic()
    assert drawn < busy + 5.5, "the teacher must finish drawing while the student's page is still busy"
    during = [t for t in student.frames_at if busy + 0.3 < t < drawn]
    assert len(during) <= 2, len(during)
    student.wait_for_function("() => document.querySelector('#prediction').dataset.digit === '7'")


@pytest.mark.parametrize("width, height", PROJECTORS)
def test_teacher_view_fits_a_projector_without_scrolling(teacher, join_as, pen_test_samples, width, height):
    student = join_as("Bo")
    for sample in pen_test_samples[:3]:
        send(student, sample, sample["label"])
    teacher.set_viewport_size({"width": width, "height": height})
    teacher.wait_for_function("() => document.querySelectorAll('#gallery .card').length === 3")
    assert fits(teacher) == [True, True]
    for selector in ("#qr", ".join-code", "#accuracy .value", "#confusion", "#gallery .card"):
        box = teacher.locator(selector).first.bounding_box()
        assert box["y"] + box["height"] <= height and box["x"] + box["width"] <= width, selector
    assert teacher.locator("#qr").bounding_box()["width"] >= 0.2 * height  # scannable from the back
    # The widest code there can be fits its panel, and the top bar stays one line.
    teacher.evaluate("() => { document.querySelector('.join-code').textContent = 'WWWW MMMM';"
                     " document.querySelector('#class-code').textContent = 'WWWW MMMM'; }")
    code, panel = teacher.locator(".join-code").bounding_box(), teacher.locator("#join-panel").bounding_box()
    assert panel["x"] <= code["x"] and code["x"] + code["width"] <= panel["x"] + panel["width"]
    assert code["height"] >= 0.035 * height  # still large on the projector
    assert teacher.locator(".topbar").bounding_box()["height"] < 0.1 * height
    teacher.locator("#gallery .card").first.click()
    teacher.wait_for_selector("#stage[open]")
    last = teacher.locator("#stage #layer-output canvas").bounding_box()
    assert last["y"] + last["height"] <= height  # every map is on screen, down to the output
    assert fits(teacher) == [True, True]
    # The ten bars (the paint worker's canvas) beside their digits, in rows no taller than
    # the digits, all on screen.
    rows = teacher.evaluate("() => [...document.querySelectorAll('#stage .bar-label')].map((e) => e.getBoundingClientRect()).map(({ top, bottom, height }) => ({ top, bottom, height }))")
    assert len(rows) == 10 and rows[-1]["bottom"] <= height
    assert max(b["top"] - a["top"] for a, b in zip(rows, rows[1:])) <= rows[0]["height"] + 4, rows


def test_closing_and_deleting_from_the_teachers_page(teacher, join_as, pen_test_samples):
    student = join_as("Cy")
    send(student, pen_test_samples[0], pen_test_samples[0]["label"])
    teacher.click("#close-class")
    student.wait_for_selector("#closed-banner:not([hidden])")
    draw(student, fit_to_canvas(pen_test_samples[1]["strokes"], 560), 560, every=3)
    student.click(f"#intended button[data-digit='{pen_test_samples[1]['label']}']")
    assert student.locator("#submit").is_disabled()
    assert teacher.inner_text("#close-class") == "Reopen class"
    teacher.click("#close-class")
    student.wait_for_selector("#closed-banner[hidden]", state="attached")
    assert student.locator("#submit").is_enabled()

    with teacher.expect_download() as download:
        teacher.click("summary")
        teacher.click("#export-json")
    assert download.value.suggested_filename.endswith("-strokes.json")
    teacher.click("#delete-class")
    teacher.click("#confirm-delete-yes")
    teacher.wait_for_selector(".ended")
    student.wait_for_function("() => document.querySelector('#class-message').textContent.includes('ended')")
    assert student.locator("#submit").is_disabled()


@pytest.fixture(scope="module")
def big_class(tmp_path_factory, pen_test_samples):
    """A class of 30 students with 300 drawings, written straight into the store (one has
    39, the others 9 each), and a server on it: (url, code, teacher token, first student's
    token, {submission id: thumbnail byte sum}, first student's ids)."""
    database = tmp_path_factory.mktemp("big") / "classroom.sqlite3"
    store = Store(database)
    klass, teacher_token = store.create_class()
    students = [store.add_student(klass, f"Student {n}") for n in range(30)]
    sums, first = {}, []
    for n in range(300):
        who = 0 if n < 39 else 1 + (n - 39) % 29
        sample = pen_test_samples[n % len(pen_test_samples)]
        image = strokes_to_input(sample["strokes"])
        probabilities = np.full(10, 0.01)
        probabilities[(sample["label"] + (n % 4 == 0)) % 10] = 0.91
        added = store.add_submission(students[who][0], {"strokes": sample["strokes"], "width": 400, "height": 400}, image, sample["label"], probabilities)
        sums[added["id"]] = sum(added["thumbnail"])
        if who == 0:
            first.append(added["id"])
    store.close()
    process, url = start_server(database)
    yield url, klass.code, teacher_token, students[0][1], sums, first
    process.terminate()
    process.wait(10)


def open_timed(browser, watch, url, path, cookie, ready):
    """A fresh context with `cookie` opens `path`; (page, seconds until `ready` holds and
    the socket is connected, websockets the page opened)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_cookies([{"name": cookie[0], "value": cookie[1], "url": url}])
    page = watch.attach(context.new_page())
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket))
    started = time.monotonic()
    page.goto(url + path)
    # Timed by the page itself, from when its navigation started (performance.now()), to
    # leave out Playwright's own round trips; the wall clock is reported beside it.
    page.wait_for_function(
        f"() => document.querySelector('#status').dataset.state === 'connected' && ({ready})"
        " && (window.openedAt = performance.now())"
    )
    print(f"{path}: open in {page.evaluate('() => window.openedAt') / 1000:.2f} s, wall clock {time.monotonic() - started:.2f} s")
    return page, page.evaluate("() => window.openedAt") / 1000, sockets


PAINTED_SUMS = """(selector) => Object.fromEntries([...document.querySelectorAll(selector)].map((item) => {
  const canvas = item.querySelector('canvas.thumb');
  const data = canvas.getContext('2d').getImageData(0, 0, 28, 28).data;
  let sum = 0; for (let i = 0; i < data.length; i += 4) sum += data[i];
  return [(item.dataset.id || item.querySelector('[data-id]').dataset.id), sum];
}))"""


def stays_connected(page, sockets, seconds=3.0):
    page.wait_for_timeout(seconds * 1000)
    assert page.get_attribute("#status", "data-state") == "connected"
    assert len(sockets) == 1 and not sockets[0].is_closed()  # one connection throughout: no reconnect loop


def fastest_open(browser, watch, url, path, cookie, ready, tries=3):
    """Open `path` until it opens within 2 s, at most `tries` times (the CI machine may be
    busy with other work: one slow open is noise, three are the page). The last page,
    with its time and websockets."""
    for _ in range(tries):
        page, seconds, sockets = open_timed(browser, watch, url, path, cookie, ready)
        if seconds < 2.0:
            break
        page.context.close()
    return page, seconds, sockets


def test_a_class_of_300_drawings_opens_fast_and_stays_connected(browser, watch, big_class):
    url, code, teacher_token, student_token, sums, first = big_class
    teacher, seconds, sockets = fastest_open(
        browser, watch, url, f"/class/{code}/teach", (TEACHER_COOKIE + code, teacher_token),
        "document.querySelectorAll('#gallery .card').length === 300",
    )
    assert seconds < 2.0, f"the teacher's page took {seconds:.2f} s to show 300 drawings"
    assert teacher.inner_text("#total") == "300" and teacher.inner_text("#joined") == "30"
    painted = {int(k): v for k, v in teacher.evaluate(PAINTED_SUMS, "#gallery li").items()}
    assert painted == sums  # every card shows its own drawing's thumbnail
    stays_connected(teacher, sockets)

    student, seconds, sockets = fastest_open(
        browser, watch, url, f"/class/{code}", (STUDENT_COOKIE + code, student_token),
        f"document.querySelectorAll('#my-submissions li').length === {len(first)}",
    )
    assert seconds < 2.0, f"the student's page took {seconds:.2f} s to show their {len(first)} drawings"
    painted = {int(k): v for k, v in student.evaluate(PAINTED_SUMS, "#my-submissions li").items()}
    assert painted == {i: sums[i] for i in first}
    stays_connected(student, sockets)
    teacher.context.close()
    student.context.close()


def test_the_pages_run_under_the_content_security_policy(teacher, join_as, watch):
    student = join_as("Di")
    for page in (teacher, student):
        assert page.evaluate("() => document.querySelector('#qr, #canvas') !== null")
        assert page.get_attribute("#status", "data-state") == "connected"  # the WebSocket was allowed
    assert teacher.evaluate("() => document.querySelector('#qr').naturalWidth") > 0  # the QR code's SVG
    # An injected inline script is blocked, and the watch sees it: the check above can fail.
    teacher.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.body.append(s); }")
    assert teacher.evaluate("() => window.ran") is None
    teacher.wait_for_timeout(200)
    assert [p for p in watch.problems if p.startswith("CSP:")], "the blocked script was not reported"
    watch.problems.clear()
