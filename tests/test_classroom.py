"""Classroom mode over HTTP and Socket.IO test clients: starting a class, joining with a
typed code and a name, names that read the same, wrong codes and guessers, the limits, and
an old database opened again. What a class then does is in test_classroom_lessons.py."""
import io
import json
import sqlite3
import time

import numpy as np
import pytest

from tests.classroom import connect, errors, join, start_class, student, submission, wait_for_events
from tests.drawings import SEVEN, fit_to_canvas
from webapp import create_app, socketio
from webapp.classroom import store


# Starting and joining


def test_starting_a_class_gives_a_code_a_join_link_a_qr_code_and_a_private_link(app, teacher_http, klass):
    assert len(klass) == 8 and set(klass) <= set(store.CODE_ALPHABET)
    page = teacher_http.get(f"/class/{klass}/teach")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"http://localhost/join/{klass}" in html
    assert f"/class/{klass}/qr.svg" in html
    assert f"{klass[:4]} {klass[4:]}</p>" in html  # shown in two groups, to read off a projector
    qr = teacher_http.get(f"/class/{klass}/qr.svg")
    assert qr.mimetype == "image/svg+xml" and b"viewBox" in qr.data and b"<path" in qr.data
    # The private link opens the teacher's view in another browser, and keeps the secret in a cookie.
    link = html.split('id="private-link" readonly value="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    other = app.test_client()
    assert other.get(f"/class/{klass}/teach").status_code == 403
    opened = other.get(link.replace("http://localhost", ""))
    assert opened.status_code == 302 and "key=" not in opened.headers["Location"]
    assert other.get(f"/class/{klass}/teach").status_code == 200
    assert other.get(f"/class/{klass}/teach?key=not-the-key").status_code == 403


def test_joining_with_a_typed_code_and_a_name(app, klass):
    http = app.test_client()
    form = http.get(f"/join/{klass}")
    assert form.status_code == 200 and f'value="{klass}"' in form.get_data(as_text=True)
    response = http.post("/join", data={"code": f" {klass[:4].lower()}-{klass[4:].lower()} ", "name": "  Ana  "})
    assert response.status_code == 302 and response.headers["Location"] == f"/class/{klass}"
    page = http.get(f"/class/{klass}")
    assert page.status_code == 200 and 'id="student-name">Ana<' in page.get_data(as_text=True)
    assert http.get(f"/join/{klass}").headers["Location"] == f"/class/{klass}"  # already in
    assert app.test_client().get(f"/class/{klass}").status_code == 302  # not joined: to the form


@pytest.mark.parametrize(
    "name, status, words",
    [
        ("", 400, "type your name"),
        ("   \t ", 400, "type your name"),
        ("x" * 41, 400, "too long"),
        ("ana", 409, "already called"),
    ],
)
def test_bad_names_are_refused_clearly(app, klass, name, status, words):
    join(app.test_client(), klass, "Ana")
    response = app.test_client().post("/join", data={"code": klass, "name": name})
    assert response.status_code == status and words in response.get_data(as_text=True).lower()


@pytest.mark.parametrize(
    "first, then",
    [
        ("Zoë", "ZOË"),  # case
        ("ZOË", "zoë"),
        ("Zoë", "Zoe\u0308"),  # the same letters, decomposed
        ("Zoe", "\u0396oe"),  # Greek capital zeta
        ("Zoe", "Z\u043e\u0435"),  # Cyrillic o and e
        ("\u0396oe", "Z\u043e\u0435"),
        ("Ali", "ALI"),
        ("Jo Li", "jo  li"),
    ],
)
def test_names_that_read_the_same_are_one_student(app, klass, first, then):
    http = app.test_client()
    join(http, klass, first)
    response = app.test_client().post("/join", data={"code": klass, "name": then})
    assert response.status_code == 409
    assert f"already called {first}" in response.get_data(as_text=True)
    _, state = connect(app, http, klass, "student")
    assert state["name"] == first  # shown as typed


def test_names_made_only_of_invisible_letters_are_refused(app, klass):
    response = app.test_client().post("/join", data={"code": klass, "name": "\u3164\u3164"})  # Hangul fillers
    assert response.status_code == 400 and "letters people can read" in response.get_data(as_text=True)


def test_an_old_database_gets_name_keys_and_keeps_its_look_alikes(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    schema = store.SCHEMA.replace("    name_key TEXT,  -- name_key(name): how the name reads; unique in a class (index below)\n", "")
    old.executescript(schema.replace(",\n    model TEXT  -- the name of the model that read it (webapp/models.py); NULL: before models had names", ""))
    assert "model" not in [r[1] for r in old.execute("PRAGMA table_info(submissions)")]
    assert "name_key" not in [r[1] for r in old.execute("PRAGMA table_info(students)")]
    old.execute("INSERT INTO classes (id, code, teacher_hash, created) VALUES (1, 'ABCDEF', 'x', 0)")
    for number, name in enumerate(["Zoë", "ZOË", "Ana"]):  # Zoë twice: accepted before keys
        old.execute("INSERT INTO students (class_id, name, token_hash, joined) VALUES (1, ?, ?, 0)", (name, str(number)))
    old.commit()
    old.close()
    app = create_app({"TESTING": True, "CLASSROOM_DB": str(path)})
    keys = sqlite3.connect(path).execute("SELECT name, name_key FROM students ORDER BY id").fetchall()
    assert keys == [("Zoë", "zoë"), ("ZOË", "zoë#2"), ("Ana", "ana")]
    assert app.test_client().post("/join", data={"code": "ABCDEF", "name": "zoe\u0308"}).status_code == 409
    join(app.test_client(), "ABCDEF", "Bo")
    assert "model" in [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(submissions)")]
    create_app({"TESTING": True, "CLASSROOM_DB": str(path)})  # opening it again changes nothing
    assert sqlite3.connect(path).execute("SELECT name_key FROM students ORDER BY id").fetchall() == [
        ("zoë",), ("zoë#2",), ("ana",), ("bo",)
    ]


def test_a_submission_keeps_whether_it_is_unlike_the_training_digits(app, teacher_http, klass):
    """The novelty verdict (model/novelty.py) read with the drawing, stored, sent to the
    teacher live and again on a reload, and in the export."""
    from model import novelty

    scribble = next(s for s in json.loads(novelty.STORED_TEST.read_text())["samples"] if s["kind"] == "scribble")
    teacher, _ = connect(app, teacher_http, klass, "teacher")
    _, ana, _ = student(app, klass, "Ana")
    ana.emit("submit", submission(7, fit_to_canvas(SEVEN, 400)))
    ana.emit("submit", submission(3, fit_to_canvas(scribble["strokes"], 400)))
    live = [e["submission"] for e in wait_for_events(teacher, "submission", count=2)]
    assert [s["unlike"] for s in live] == [False, True]
    _, state = connect(app, teacher_http, klass, "teacher")
    assert [s["unlike"] for s in state["submissions"]] == [False, True]
    exported = teacher_http.get(f"/class/{klass}/export.json").get_json()
    assert [s["unlike"] for s in exported["submissions"]] == [False, True]
    dataset = np.load(io.BytesIO(teacher_http.get(f"/class/{klass}/export.npz").data))
    assert list(dataset["unlike"]) == [0, 1]


def test_an_old_database_gets_the_novelty_column_and_its_drawings_no_verdict(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    schema = store.SCHEMA.replace("    unlike INTEGER,  -- 1: unlike the training digits (model/novelty.py); NULL: stored before that was kept\n", "")
    old.executescript(schema.replace(",\n    model TEXT  -- the name of the model that read it (webapp/models.py); NULL: before models had names", ""))
    assert not {"unlike", "model"} & {r[1] for r in old.execute("PRAGMA table_info(submissions)")}
    old.execute("INSERT INTO classes (id, code, teacher_hash, created) VALUES (1, 'ABCDEF', 'x', 0)")
    old.execute("INSERT INTO students (id, class_id, name, token_hash, joined, name_key) VALUES (1, 1, 'Ana', 't', 0, 'ana')")
    old.execute(
        "INSERT INTO submissions (class_id, student_id, strokes, width, height, image, intended, predicted, probabilities, created)"
        " VALUES (1, 1, '[]', 400, 400, ?, 7, 7, ?, 0)", (np.zeros((28, 28), "<f4").tobytes(), json.dumps([0.1] * 10)),
    )
    old.commit()
    old.close()
    opened = store.Store(path)
    klass = opened.find_class("ABCDEF")
    assert [s["unlike"] for s in opened.submissions(klass)] == [None]  # read before verdicts were kept: none
    ana = store.Student(1, klass.id, "Ana")
    opened.add_submission(ana, {"strokes": [], "width": 1, "height": 1}, np.zeros((28, 28)), 1, [0.1] * 10, "tutorial", True)
    opened.close()
    reopened = store.Store(path)  # opening it again changes nothing
    assert [s["unlike"] for s in reopened.submissions(klass)] == [None, True]
    assert [r["unlike"] for r in reopened.export(klass)[1]] == [None, True]
    reopened.close()
    assert {"unlike", "model"} <= {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(submissions)")}


def test_names_are_stored_as_typed_and_escaped_in_pages(app, teacher_http, klass):
    name = "<img src=x onerror=alert(1)>"
    http, client, state = student(app, klass, name)
    assert state["name"] == name
    html = http.get(f"/class/{klass}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and name not in html


def test_wrong_or_closed_codes_get_a_clear_error(app, teacher_http, klass):
    response = app.test_client().post("/join", data={"code": "ZZZZZZ", "name": "Ana"})
    assert response.status_code == 404 and "no class with the code" in response.get_data(as_text=True).lower()
    assert app.test_client().get("/join/ZZZZZZ").status_code == 404
    teacher, _ = connect(app, teacher_http, klass, "teacher")
    teacher.emit("close_class", {"closed": True})
    wait_for_events(teacher, "class_closed")
    response = app.test_client().post("/join", data={"code": klass, "name": "Bo"})
    assert response.status_code == 403 and "closed" in response.get_data(as_text=True).lower()


def wrong_codes(http, count):
    """`count` wrong codes from `http`'s address; the statuses they got."""
    return [http.post("/join", data={"code": f"ZZZZ{n:04}", "name": "Eve"}).status_code for n in range(count)]


def test_a_school_that_typed_wrong_codes_still_gets_in(app, teacher_http, klass):
    # Everyone here is one address (127.0.0.1), as a school behind one NAT is.
    ana_http, ana, _ = student(app, klass, "Ana")
    assert wrong_codes(app.test_client(), 15) == [404] * 15  # typos: told the code is wrong
    for code in (klass, f"{klass[:4]} {klass[4:]}".lower()):  # the right code, as shown or typed
        assert app.test_client().get(f"/join/{code}").status_code == 200
    new_students = [app.test_client() for _ in range(30)]  # a whole class joins at once
    for number, http in enumerate(new_students):
        assert http.get(f"/join/{klass}").status_code == 200
        assert http.post("/join", data={"code": klass, "name": f"S{number}"}).status_code == 302
    assert wrong_codes(app.test_client(), 5) == [404] * 5
    # The joined and the teacher are never counted: their pages, exports and sockets.
    assert ana_http.get(f"/class/{klass}").status_code == 200
    assert ana_http.get(f"/join/{klass}").status_code == 302
    for path in ("teach", "export.npz", "export.json", "qr.svg"):
        assert teacher_http.get(f"/class/{klass}/{path}").status_code == 200, path
    connect(app, teacher_http, klass, "teacher")
    connect(app, new_students[-1], klass, "student")
    ana.emit("submit", submission(7))
    wait_for_events(ana, "submitted")


def test_a_guesser_is_slowed_and_then_refused(app, teacher_http, klass):
    ana_http, _, _ = student(app, klass, "Ana")  # joined before, from the same address
    guesser = app.test_client()
    started = time.monotonic()
    statuses = wrong_codes(guesser, 200)
    seconds = time.monotonic() - started
    # 10 typos free, then look-ups paced: a burst of 120, then one a second (and a free one
    # each 6 s, as the typo budget refills).
    assert statuses[:130] == [404] * 130 and statuses[-1] == 429
    assert statuses.count(404) <= 131 + seconds * (1 + 1 / 6)
    refused = guesser.post("/join", data={"code": "ZZZZ9999", "name": "Eve"})
    assert refused.status_code == 429 and "wait a few seconds" in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"] == "2"
    sio = socketio.test_client(app, flask_test_client=guesser)
    for _ in range(3):  # the socket is paced too (a look-up a second may get through)
        sio.emit("join_class", {"code": "ZZZZ9999", "role": "student"})
    assert sum("wait a few seconds" in error for error in errors(sio)) >= 2
    # Its guesses cost only its own guesses: another address, and the class's own people, get in.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert elsewhere.post("/join", data={"code": klass, "name": "Bo"}).status_code == 302
    assert teacher_http.get(f"/class/{klass}/teach").status_code == 200
    assert ana_http.get(f"/class/{klass}").status_code == 200
    connect(app, teacher_http, klass, "teacher")
    connect(app, ana_http, klass, "student")


def test_many_addresses_guessing_at_once_are_paced_together(tmp_path):
    app = create_app({
        "TESTING": True, "CLASSROOM_DB": str(tmp_path / "c.sqlite3"),
        "WRONG_CODES_PER_MINUTE_SERVER": 20, "CODE_LOOKUPS_PER_MINUTE_UNDER_ATTACK": 30,
    })
    teacher = app.test_client()
    code = start_class(teacher)
    statuses, started = [], time.monotonic()
    for address in range(100):  # two wrong codes each: no one address is over its budget
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"10.9.{address}.1"
        statuses += wrong_codes(guesser, 2)
    seconds = time.monotonic() - started
    # 20 wrong codes, then 30 paced look-ups server-wide; then what the buckets refill.
    assert statuses[:50] == [404] * 50 and statuses[-1] == 429
    assert statuses.count(404) <= 51 + seconds * (20 + 30) / 60
    assert teacher.get(f"/class/{code}/teach").status_code == 200  # its teacher is never counted


def test_students_per_class_are_limited(tmp_path):
    app = create_app({"TESTING": True, "CLASSROOM_DB": str(tmp_path / "c.sqlite3"), "MAX_STUDENTS_PER_CLASS": 2})
    code = start_class(app.test_client())
    join(app.test_client(), code, "A")
    join(app.test_client(), code, "B")
    response = app.test_client().post("/join", data={"code": code, "name": "C"})
    assert response.status_code == 403 and "full" in response.get_data(as_text=True).lower()
