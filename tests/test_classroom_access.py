"""The classroom for a whole room: anonymous mode on the projector, a confusion matrix that
explains itself, a student's phone during follow me, and type legible from the back."""
import json

from tests.browser import draw, settled_digit
from tests.drawings import fit_to_canvas
from tests.test_classroom_browser import join_as, send, teacher, watch  # noqa: F401  (the classroom fixtures)

NAMES = ["Zephyrine Quill", "Bartholomew Oak"]

# Every piece of text the page shows or says: its visible text and its accessible names.
PAGE_TEXT = """() => document.body.innerText + ' ' + [...document.querySelectorAll('[aria-label], [title], [alt]')]
  .map((e) => [e.getAttribute('aria-label'), e.title, e.alt].join(' ')).join(' ')"""

# Every text node a person can see, with the font size it is drawn at (px).
TEXT_SIZES = """() => { const out = [], walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    const el = node.parentElement, box = el.getBoundingClientRect();
    if (!node.textContent.trim() || !el.checkVisibility({ visibilityProperty: true }) || box.width <= 1 || box.height <= 1) continue;
    out.push([node.textContent.trim().slice(0, 40), parseFloat(getComputedStyle(el).fontSize)]);
  }
  return out; }"""


def card_names(page):
    return page.locator("#gallery .card .name").all_inner_texts()


def test_anonymous_mode_hides_every_name_on_the_teachers_screen(teacher, join_as, pen_test_samples):
    first, second = join_as(NAMES[0]), join_as(NAMES[1])
    send(first, pen_test_samples[0], pen_test_samples[0]["label"])
    send(second, pen_test_samples[1], pen_test_samples[1]["label"])
    send(first, pen_test_samples[2], pen_test_samples[2]["label"])
    teacher.wait_for_function("() => document.querySelectorAll('#gallery .card').length === 3")
    assert all(name in teacher.evaluate(PAGE_TEXT) for name in NAMES)

    teacher.click("#anonymous")
    assert teacher.get_attribute("#anonymous", "aria-pressed") == "true"
    # Newest first: numbered by each student's first drawing, the same on every card.
    assert card_names(teacher) == ["Student 1", "Student 2", "Student 1"]
    teacher.locator("#gallery .card").first.click()
    teacher.wait_for_selector("#stage[open][data-mode=spotlight]")
    assert teacher.inner_text("#stage-title").startswith("Student 1: ")
    text = teacher.evaluate(PAGE_TEXT)
    assert not [name for name in NAMES for word in name.split() if word in text], text
    teacher.click("#stage-close")

    teacher.reload()  # the projector keeps the mode, and the numbers
    teacher.wait_for_function("() => document.querySelectorAll('#gallery .card').length === 3")
    assert card_names(teacher) == ["Student 1", "Student 2", "Student 1"]
    send(second, pen_test_samples[3], pen_test_samples[3]["label"])  # arrives live: still a number
    teacher.wait_for_function("() => document.querySelectorAll('#gallery .card').length === 4")
    assert card_names(teacher)[0] == "Student 2"
    assert not [name for name in NAMES if name in teacher.evaluate(PAGE_TEXT)]

    code = teacher.get_attribute("#class-code", "data-code")
    exported = json.loads(teacher.context.request.get(teacher.url.split("/class/")[0] + f"/class/{code}/export.json").body())
    assert [s["name"] for s in exported["submissions"]] == [NAMES[0], NAMES[1], NAMES[0], NAMES[1]]  # real names

    teacher.keyboard.press("n")  # the shortcut turns it off again
    assert teacher.get_attribute("#anonymous", "aria-pressed") == "false"
    assert card_names(teacher) == [NAMES[1], NAMES[0], NAMES[1], NAMES[0]]


def test_the_matrix_names_its_axes_explains_its_shades_and_marks_the_picked_cell(teacher, join_as, pen_test_samples):
    student = join_as("Ana")
    sample = pen_test_samples[0]
    send(student, sample, sample["label"])
    teacher.wait_for_selector("#gallery .card")
    axes = teacher.locator("#confusion .axis").all_inner_texts()
    assert [a.split()[:2] for a in axes] == [["digit", "read"], ["digit", "meant"]]
    legend = teacher.inner_text("#confusion-legend")
    assert "share of its row" in legend and "10%" in legend and "100%" in legend
    assert teacher.get_attribute("#confusion", "aria-describedby") == "confusion-legend"

    cell = teacher.locator("#confusion button:not([disabled])").first
    assert teacher.locator("#confusion button[aria-pressed=true]").count() == 0
    cell.click()
    assert cell.get_attribute("aria-pressed") == "true"
    assert teacher.locator("#confusion button[aria-pressed=true]").count() == 1
    outline = cell.evaluate("(c) => [getComputedStyle(c).outlineStyle, parseFloat(getComputedStyle(c).outlineWidth)]")
    assert outline[0] == "solid" and outline[1] >= 3  # seen from the back of the room
    teacher.click("#show-all")
    assert teacher.locator("#confusion button[aria-pressed=true]").count() == 0


def test_a_students_tools_are_off_and_the_banner_on_top_during_follow_me(teacher, join_as, pen_test_samples):
    student = join_as("Bo")
    tools = "['#undo', '#clear', '#file', ...[...document.querySelectorAll('#intended button')].map((b, i) => `#intended button:nth-child(${i + 1})`)]"
    state = f"() => {tools}.map((q) => {{ const e = document.querySelector(q), shown = e.closest('label') || e; return [e.disabled, +getComputedStyle(shown).opacity]; }})"
    assert all(on == [False, 1] for on in student.evaluate(state))

    teacher.click("#follow")
    student.wait_for_selector("#follow-banner:not([hidden])")
    draw(teacher, fit_to_canvas(pen_test_samples[0]["strokes"], 560), 560, every=3)
    settled_digit(teacher)
    student.wait_for_function("() => document.querySelector('#prediction').dataset.digit !== ''")
    assert all(disabled and opacity < 0.6 for disabled, opacity in student.evaluate(state))  # off, and look it
    for position in (0, 2000):  # at the top of the page and scrolled down to the digits
        student.evaluate(f"() => scrollTo(0, {position})")
        on_top = """() => { const b = document.querySelector('#follow-banner'), r = b.getBoundingClientRect();
          return r.top >= 0 && r.top < 10 && b.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)); }"""
        assert student.evaluate(on_top), position
    assert float(student.evaluate("() => getComputedStyle(document.querySelector('#follow-banner')).fontSize")[:-2]) >= 18

    teacher.click("#stage-close")
    student.wait_for_selector("#follow-banner[hidden]", state="attached")
    assert all(on == [False, 1] for on in student.evaluate(state))


def test_no_text_under_18px_on_the_teachers_page_at_1280x720(teacher, join_as, pen_test_samples):
    student = join_as("Cy")
    for sample in pen_test_samples[:2]:
        send(student, sample, sample["label"])
    teacher.wait_for_function("() => document.querySelectorAll('#gallery .card').length === 2")
    teacher.locator("#confusion button:not([disabled])").first.click()
    teacher.click(".menu summary")  # the More menu's links and Delete too
    sizes = teacher.evaluate(TEXT_SIZES)
    seen = " ".join(text for text, _ in sizes)
    assert "Cy" in seen and "digit read" in seen and "Class accuracy" in seen and "Delete" in seen  # the walk sees them
    assert [(text, size) for text, size in sizes if size < 18] == []

    teacher.keyboard.press("Escape")
    teacher.click(".menu summary")
    teacher.click("#follow")  # the stage: maps larger than the 29 px they were
    teacher.wait_for_selector("#stage[open][data-mode=follow]")
    draw(teacher, fit_to_canvas(pen_test_samples[0]["strokes"], 560), 560, every=3)
    settled_digit(teacher)
    assert [(text, size) for text, size in teacher.evaluate(TEXT_SIZES) if size < 18] == []  # the stage's text too
    size = teacher.evaluate("() => { const c = document.querySelector('#stage #layer-conv1 canvas.layer-maps');"
                            " return c.getBoundingClientRect().width / +c.dataset.columns; }")
    assert size >= 32
    last = teacher.locator("#stage #layer-output canvas").bounding_box()
    assert last["y"] + last["height"] <= 720  # and every layer still on the screen


def test_a_drawing_unlike_a_digit_is_marked_on_its_card_and_in_the_spotlight(teacher, join_as, pen_test_samples):
    """The server's novelty verdict (model/novelty.py) on the teacher's gallery: a scribble's
    card says so in words, a pen digit's does not; the spotlight says it too; axe is clean."""
    from model import novelty
    from model.data import render_pen_samples
    from model.forward import Forward
    from model.network import DEFAULT_MODEL_PATH
    from model.parse_layers import describe_file
    from tests.test_accessibility import assert_accessible

    statistics, forward = novelty.load(DEFAULT_MODEL_PATH), Forward(describe_file(DEFAULT_MODEL_PATH))
    candidates = pen_test_samples[:20]
    hits = statistics.unlike(novelty.run(forward, render_pen_samples(candidates)[0], statistics.layers), render_pen_samples(candidates)[0])
    digit = next(s for s, hit in zip(candidates, hits) if not hit)  # most pen digits: like the training digits
    scribble = next(s for s in json.loads(novelty.STORED_TEST.read_text())["samples"] if s["kind"] == "scribble")
    ana = join_as("Ana")
    send(ana, digit, digit["label"])
    send(ana, scribble, 3)
    teacher.wait_for_function("() => document.querySelectorAll('#gallery .card').length === 2")
    cards = teacher.locator("#gallery .card")  # newest first
    badge = cards.nth(0).locator(".unlike-badge")
    assert badge.is_visible() and badge.inner_text() == "not like a digit?"
    assert "not like a digit?" in cards.nth(0).get_attribute("aria-label")
    assert cards.nth(1).locator(".unlike-badge").count() == 0 and "digit?" not in cards.nth(1).get_attribute("aria-label")
    assert_accessible(teacher, "teacher, a card marked unlike a digit")

    teacher.reload()  # from the stored verdict, not only the live message
    teacher.wait_for_function("() => document.querySelectorAll('#gallery .card').length === 2")
    assert [c.locator(".unlike-badge").count() for c in teacher.locator("#gallery .card").all()] == [1, 0]
    teacher.locator("#gallery .card").nth(0).click()
    teacher.wait_for_selector("#stage[open][data-mode=spotlight]")
    assert teacher.inner_text("#stage-title").endswith("; not like a digit?")
    assert_accessible(teacher, "teacher, spotlight of a drawing unlike a digit")
    teacher.click("#stage-close")
    teacher.locator("#gallery .card").nth(1).click()
    teacher.wait_for_function("() => !document.querySelector('#stage-title').textContent.includes('digit?')")
