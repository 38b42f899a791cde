"""Accessibility in a real Chromium: axe-core on every page in every state a lesson goes
through, and the keyboard paths (the picture control, the skip links, the digit picker)."""
import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser import click_map, draw, settled_digit, watched_page
from tests.drawings import SEVEN, fit_to_canvas
from tests.test_classroom_browser import join_as, teacher, watch  # noqa: F401  (the classroom fixtures)

AXE = Axe()
# axe's defaults (WCAG A and AA, best practices) and one experimental rule: a control's
# name must contain its visible text, so speech users can say what they see.
OPTIONS = {"resultTypes": ["violations"], "rules": {"label-content-name-mismatch": {"enabled": True}}}


def assert_accessible(page, state):
    """axe-core finds nothing on `page` as it is now (`state` names it in the failure)."""
    results = AXE.run(page, options=OPTIONS)
    assert results.violations_count == 0, f"{state}:\n{results.generate_report()}"


def draw_seven(page):
    draw(page, fit_to_canvas(SEVEN, 560), 560)
    return settled_digit(page)


@pytest.fixture
def page(browser, live_server):
    with watched_page(browser, live_server) as page:
        yield page


def test_main_page_empty_drawn_and_inspecting(page):
    assert_accessible(page, "main page, empty")
    draw_seven(page)
    page.wait_for_function("() => !document.querySelector('#layers').classList.contains('is-empty')")
    assert_accessible(page, "main page, drawn")
    click_map(page, "conv1", 3)
    page.wait_for_selector("#inspector[open]")
    assert_accessible(page, "main page, inspector open")


def test_main_page_with_the_keyboard_unit_cursor(page):
    """Shift + arrows on a layer: the cursor and its outlines shown, the live text said, and
    still no new tab stop (the layer's canvas is the one it was)."""
    draw_seven(page)
    page.wait_for_function("() => !document.querySelector('#layers').classList.contains('is-empty')")
    page.focus("#layer-pool2 canvas.layer-maps")
    for key in ("Shift+ArrowRight", "Shift+ArrowDown", "Shift+ArrowRight"):
        page.keyboard.press(key)
    page.wait_for_function("() => document.querySelector('.connection-box.unit.keyboard')?.dataset.left === '1'")
    assert page.inner_text(".connections-live").startswith("pool2 map 0, row 1, column 1: ")
    assert page.evaluate("() => document.activeElement.closest('.layer').dataset.layer") == "pool2"
    assert_accessible(page, "main page, keyboard unit cursor on pool2")


def test_compare_page(browser, live_server):
    with watched_page(browser, live_server + "/compare") as page:
        assert_accessible(page, "/compare, empty")
        draw_seven(page) if page.locator("#prediction").count() else draw(page, fit_to_canvas(SEVEN, 560), 560)
        page.wait_for_function("() => [...document.querySelectorAll('.prediction')].every((p) => p.dataset.digit !== '')")
        assert_accessible(page, "/compare, drawn")


def test_join_and_message_pages(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    page.goto(live_server + "/join")
    assert_accessible(page, "join page")
    page.fill("#code", "ZZZZ ZZZZ")
    page.fill("#name", "Ana")
    page.click("#join")
    page.wait_for_selector("#join-error")
    assert_accessible(page, "join page, wrong code")
    page.goto(live_server + "/class/ZZZZZZZZ/teach")
    assert page.locator(".message").count() == 1
    assert_accessible(page, "message page")
    context.close()


def test_a_lesson_in_every_state(teacher, join_as, pen_test_samples):
    """Teacher and student pages through a lesson: empty class, joined, drawn, sent,
    gallery, a matrix cell picked, spotlight, follow me on both sides."""
    assert_accessible(teacher, "teacher, empty class")
    student = join_as("Ana")
    assert_accessible(student, "student, joined")
    four = next(s for s in pen_test_samples if s["label"] == 4)
    draw(student, fit_to_canvas(four["strokes"], 560), 560, every=3)
    settled_digit(student)
    student.click("#intended button[data-digit='4']")
    assert_accessible(student, "student, drawn")
    student.click("#submit")
    student.wait_for_selector("#my-submissions li")
    assert_accessible(student, "student, after sending")

    teacher.locator("#gallery .card").wait_for()
    assert_accessible(teacher, "teacher, a drawing in the gallery")
    teacher.click(".menu summary")
    assert_accessible(teacher, "teacher, the More menu open")
    teacher.click("#delete-class")
    assert_accessible(teacher, "teacher, asked to confirm deleting")
    teacher.keyboard.press("Escape")
    teacher.click(".menu summary")
    teacher.locator("#confusion button:not([disabled])").first.click()
    assert_accessible(teacher, "teacher, a matrix cell picked")
    teacher.click("#anonymous")
    assert_accessible(teacher, "teacher, names hidden")
    teacher.locator("#gallery .card").first.click()
    teacher.wait_for_function("() => document.querySelector('#stage #prediction').dataset.digit !== ''")
    assert_accessible(teacher, "teacher, spotlight")
    teacher.click("#stage-close")

    teacher.click("#follow")
    teacher.wait_for_selector("#stage[open][data-mode=follow]")
    student.wait_for_selector("#follow-banner:not([hidden])")
    draw(teacher, fit_to_canvas(four["strokes"], 560), 560, every=3)
    settled_digit(teacher)
    student.wait_for_function("() => document.querySelector('#prediction').dataset.digit !== ''")
    assert_accessible(teacher, "teacher, follow me")
    assert_accessible(student, "student, following the teacher")


def tab_to(page, selector, key="Tab", limit=60):
    """Press Tab (or `key`: Shift+Tab) until `selector` has the focus, as a keyboard-only
    user would; fails past `limit` presses."""
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached in {limit} presses of {key}")


def test_tab_reaches_the_picture_control_and_enter_opens_the_file_chooser(page):
    # Listening before any key is pressed: Playwright intercepts file choosers only once its
    # listener is set up in the browser, and expect_file_chooser() sets it up racing the key.
    chosen = []
    page.on("filechooser", lambda chooser: chosen.append(chooser))
    tab_to(page, "#file")
    page.keyboard.press("Enter")
    for _ in range(100):
        if chosen:
            break
        page.wait_for_timeout(100)
    assert chosen, "Enter on the picture control opened no file chooser"
    assert chosen[0].element.get_attribute("id") == "file"


def test_skip_links_jump_to_the_maps_and_past_them(page):
    page.keyboard.press("Tab")  # the first tab stop of the page
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to the maps"
    draw_seven(page)  # the maps are laid out with the first drawing
    page.focus(".skip-link[href='#layers']")  # the mouse moved the Tab order's starting point
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.matches('#layers canvas.layer-maps')")  # the first map, pad skipped
    assert page.evaluate("() => document.activeElement === document.querySelector('#layers canvas.layer-maps')")

    maps = page.locator("#layers canvas.layer-maps").count()
    tab_to(page, ".layers-panel .skip-link[href='#maps-end']", key="Shift+Tab")  # above the strip and the maps
    page.keyboard.press("Enter")
    after = "() => [...document.querySelectorAll('#layers canvas.layer-maps')].every((c) =>"
    after += " c.compareDocumentPosition(document.activeElement) & Node.DOCUMENT_POSITION_FOLLOWING)"
    assert maps > 5 and page.evaluate(after)  # focus is past every map
    assert page.evaluate("() => document.activeElement.id") == "maps-end"
    page.keyboard.press("Enter")  # and from there back to the tools
    assert page.evaluate("() => document.activeElement.id") == "undo"


def test_arrow_keys_move_the_digit_pickers_choice(join_as):
    student = join_as("Ana")
    checked = "() => [...document.querySelectorAll('#intended [aria-checked=true]')].map((b) => b.dataset.digit).join()"
    focused = "() => document.activeElement.closest('#intended') && document.activeElement.dataset.digit"
    tab_to(student, "#intended button")  # one tab stop for the whole group: the first digit before any choice
    assert student.evaluate(focused) == "0" and student.evaluate(checked) == ""
    for key, digit in [("ArrowRight", "1"), ("ArrowDown", "2"), ("ArrowLeft", "1"), ("ArrowUp", "0"),
                       ("ArrowLeft", "9"), ("ArrowRight", "0"), ("End", "9"), ("Home", "0")]:
        student.keyboard.press(key)
        assert (student.evaluate(checked), student.evaluate(focused)) == (digit, digit), key
    student.keyboard.press("7")  # a number key picks directly, and the focus follows
    assert (student.evaluate(checked), student.evaluate(focused)) == ("7", "7")
    student.keyboard.press("End")
    assert student.locator("#intended button[tabindex='0']").all_inner_texts() == ["9"]  # the group stays one stop
    student.keyboard.press("Tab")  # out of the group, not to the next digit
    assert student.evaluate(focused) in (None, False)
