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
