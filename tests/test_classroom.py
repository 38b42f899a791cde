"""Classroom mode over HTTP and Socket.IO test clients: joining, submitting, the teacher's
live gallery and matrix, spotlight, follow me, close, export, delete, isolation between
classes, and every teacher action refused to everyone else."""
import io
import json
import sqlite3
import time

import numpy as np
import pytest

from model.preprocess import strokes_to_input
from tests.classroom import connect, drain, join, start_class, submission, wait_for_events
from tests.drawings import ONE, SEVEN, fit_to_canvas
from model.parse_layers import describe_file
from model.forward import Forward
from webapp import create_app, frames, models, socketio
from webapp.classroom import store


@pytest.fixture
def teacher_http(app):
    return app.test_client()


@pytest.fixture
def klass(teacher_http):
    return start_class(teacher_http)


def student(app, code, name):
    http = app.test_client()
    join(http, code, name)
    client, state = connect(app, http, code, "student")
    return http, client, state


def errors(client):
    return [e["args"][0]["error"] for e in drain(client) if e["name"] == "error_message"]


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


# Drawing and submitting


def test_submissions_reach_the_teacher_with_live_accuracy_and_matrix(app, teacher_http, klass, pen_test_samples):
    teacher, state = connect(app, teacher_http, klass, "teacher")
    assert state["submissions"] == [] and state["stats"]["total"] == 0
    students = [student(app, klass, name)[1] for name in ("Ana", "Bo", "Cy")]
    rosters = wait_for_events(teacher, "class_roster", 6)  # each joins, then connects
    assert rosters[-1] == {"joined": 3, "online": 3}
    samples = [next(s for s in pen_test_samples if s["label"] == d) for d in (2, 5, 8)]
    sent = []
    for client, sample, meant in zip(students, samples, (2, 5, 3)):  # Cy means 3 but draws an 8
        strokes = fit_to_canvas(sample["strokes"], 400)
        client.emit("submit", submission(meant, strokes))
        (mine,) = wait_for_events(client, "submitted")
        sent.append((mine, strokes))
    updates = wait_for_events(teacher, "submission", 3)
    assert [u["submission"]["name"] for u in updates] == ["Ana", "Bo", "Cy"]
    for (mine, strokes), update in zip(sent, updates):
        assert update["submission"]["id"] == mine["id"]
        expected = strokes_to_input(strokes)
        assert np.array_equal(np.frombuffer(mine["thumbnail"], np.uint8).reshape(28, 28), np.rint(expected * 255))
    assert [m["predicted"] for m, _ in sent] == [2, 5, 8]
    assert [m["correct"] for m, _ in sent] == [True, True, False]
    stats = updates[-1]["stats"]
    assert stats["total"] == 3 and stats["correct"] == 2 and stats["accuracy"] == pytest.approx(2 / 3)
    matrix = np.array(stats["matrix"])
    assert matrix[2, 2] == matrix[5, 5] == matrix[3, 8] == 1 and matrix.sum() == 3
    # Reopening the teacher's view shows it all; a student sees only their own drawings.
    _, again = connect(app, teacher_http, klass, "teacher")
    assert [s["name"] for s in again["submissions"]] == ["Ana", "Bo", "Cy"] and again["stats"] == stats
    # Every thumbnail in one attachment, in the order of the list (the browser's client takes at most 10).
    assert again["thumbnails"] == b"".join(m["thumbnail"] for m, _ in sent)
    assert all("thumbnail" not in s for s in again["submissions"])
    ana_http = app.test_client()
    join(ana_http, klass, "Di")
    _, di_state = connect(app, ana_http, klass, "student")
    assert di_state["submissions"] == []


@pytest.mark.parametrize(
    "payload, words",
    [
        (submission(10), "0 to 9"),
        (submission("3"), "0 to 9"),
        (submission(True), "0 to 9"),
        (submission(3, strokes=[]), "draw a digit"),
        (submission(3, strokes=[[[0, float("nan")]]]), "NaN"),
        ({**submission(3), "width": -1}, "width"),
        ("not an object", "expected an object"),
    ],
)
def test_bad_submissions_get_an_error_and_nothing_is_stored(app, teacher_http, klass, payload, words):
    teacher, _ = connect(app, teacher_http, klass, "teacher")
    _, client, _ = student(app, klass, "Ana")
    client.emit("submit", payload)
    (error,) = errors(client)
    assert words in error
    assert {e["name"] for e in drain(teacher)} == {"class_roster"}  # who joined; no submission
    client.emit("submit", submission(7))
    assert wait_for_events(client, "submitted")[0]["predicted"] == 7


def test_submissions_per_student_are_limited(tmp_path):
    app = create_app({"TESTING": True, "CLASSROOM_DB": str(tmp_path / "c.sqlite3"), "MAX_SUBMISSIONS_PER_STUDENT": 2})
    code = start_class(app.test_client())
    _, client, _ = student(app, code, "Ana")
    for _ in range(2):
        client.emit("submit", submission(7))
        wait_for_events(client, "submitted")
    client.emit("submit", submission(7))
    assert "the most one student can send" in errors(client)[0]


# The teacher's tools


def test_spotlight_shows_a_submission_with_every_layer(app, teacher_http, klass, network):
    teacher, _ = connect(app, teacher_http, klass, "teacher")
    _, client, _ = student(app, klass, "Ana")
    client.emit("submit", submission(1, ONE))
    (mine,) = wait_for_events(client, "submitted")
    teacher.emit("spotlight", {"id": mine["id"]})
    (shown,) = wait_for_events(teacher, "spotlight")
    assert shown["submission"]["name"] == "Ana" and shown["submission"]["id"] == mine["id"]
    frame = frames.decode(shown["frame"], network)
    expected = strokes_to_input(ONE)
    np.testing.assert_array_equal(frame["image"], expected)
    outputs = network.run(expected[None])
    assert frame["digit"] == mine["predicted"] == int(outputs["output"][0].argmax())
    assert set(frame["layers"]) == {"conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "dense1", "dense2", "output"}
    teacher.emit("spotlight", {"id": mine["id"] + 1000})
    assert "no such drawing" in errors(teacher)[0]


def test_follow_me_sends_the_teachers_drawing_and_maps_to_every_student(app, teacher_http, klass, network):
    teacher, _ = connect(app, teacher_http, klass, "teacher")
    students = [student(app, klass, name)[1] for name in ("Ana", "Bo")]
    teacher.emit("follow", {"on": True})
    for client in students:
        assert wait_for_events(client, "follow") == [{"on": True}]
    teacher.emit("draw", {"seq": 4, "strokes": SEVEN, "width": 400, "height": 400})
    (own,) = wait_for_events(teacher, "frame")
    for client in students:
        (follow,) = wait_for_events(client, "follow_frame")
        assert follow["strokes"] == SEVEN and follow["width"] == 400 and follow["frame"] == own
        assert frames.decode(follow["frame"], network)["digit"] == 7
    # A student who joins now sees the teacher's drawing at once.
    _, late, state = student(app, klass, "Cy")
    assert state["following"] is True
    assert wait_for_events(late, "follow_frame")[0]["frame"] == own
    # Clearing the pad clears the students' screens too.
    teacher.emit("draw", {"seq": 5, "strokes": [], "width": 400, "height": 400})
    assert frames.decode(wait_for_events(students[0], "follow_frame")[0]["frame"], network)["digit"] == -1
    teacher.emit("follow", {"on": False})
    assert wait_for_events(students[0], "follow") == [{"on": False}]
    teacher.emit("draw", {"seq": 6, "strokes": SEVEN, "width": 400, "height": 400})
    wait_for_events(teacher, "frame")
    for client in (students[1], late):  # the blank page, then off; nothing drawn after reaches them
        assert [(e["name"], e["args"][0].get("on")) for e in drain(client)] == [("follow_frame", None), ("follow", False)]


def test_closing_the_class_stops_submissions_until_reopened(app, teacher_http, klass):
    teacher, _ = connect(app, teacher_http, klass, "teacher")
    _, client, _ = student(app, klass, "Ana")
    teacher.emit("close_class", {"closed": True})
    assert wait_for_events(client, "class_closed") == [{"closed": True}]
    client.emit("submit", submission(7))
    assert "closed" in errors(client)[0]
    teacher.emit("close_class", {"closed": False})
    assert wait_for_events(client, "class_closed") == [{"closed": False}]
    client.emit("submit", submission(7))
    wait_for_events(client, "submitted")


def test_export_gives_the_drawings_as_a_dataset_and_the_strokes(app, teacher_http, klass):
    _, ana, _ = student(app, klass, "Ana")
    _, bo, _ = student(app, klass, "Bo")
    ana.emit("submit", submission(7, SEVEN))
    wait_for_events(ana, "submitted")
    bo.emit("submit", submission(4, ONE))  # a 1, meant as a 4
    wait_for_events(bo, "submitted")
    response = teacher_http.get(f"/class/{klass}/export.npz")
    assert response.status_code == 200 and f"class-{klass}.npz" in response.headers["Content-Disposition"]
    data = np.load(io.BytesIO(response.data))
    assert data["images"].shape == (2, 28, 28) and data["images"].dtype == np.uint8
    assert list(data["labels"]) == [7, 4] and list(data["predicted"]) == [7, 1]
    assert list(data["unlike"]) == [0, 0]  # both look like digits
    np.testing.assert_array_equal(data["images"][1], np.rint(strokes_to_input(ONE) * 255))
    strokes = teacher_http.get(f"/class/{klass}/export.json")
    assert strokes.status_code == 200 and "attachment" in strokes.headers["Content-Disposition"]
    records = json.loads(strokes.data)["submissions"]
    assert [(r["name"], r["intended"], r["strokes"]) for r in records] == [("Ana", 7, SEVEN), ("Bo", 4, ONE)]
    assert [r["id"] for r in records] == list(data["ids"])
    assert [r["model"] for r in records] == ["tutorial", "tutorial"]  # the model that read each drawing


def test_the_class_records_which_model_read_each_drawing(tmp_path):
    """A server whose default model is another: the class is read by it, each drawing says
    so (gallery, export), and the spotlight shows that model's own layers."""
    deep = models.SHIPPED["deep3x3"]
    app = create_app({"TESTING": True, "CLASSROOM_DB": str(tmp_path / "c.sqlite3"), "MODELS": [deep, models.SHIPPED["tutorial"]]})
    teacher_http = app.test_client()
    code = start_class(teacher_http)
    teacher, _ = connect(app, teacher_http, code, "teacher")
    _, client, _ = student(app, code, "Ana")
    client.emit("submit", submission(7, SEVEN))
    (mine,) = wait_for_events(client, "submitted")
    network = Forward(describe_file(deep))
    expected = network.run(strokes_to_input(SEVEN)[None])
    assert mine["model"] == "deep3x3" and mine["predicted"] == int(expected[network.description.shown_names[-1]][0].argmax())
    teacher.emit("spotlight", {"id": mine["id"]})
    (shown,) = wait_for_events(teacher, "spotlight")
    frame = frames.decode(shown["frame"], network)
    assert shown["submission"]["model"] == "deep3x3"
    assert list(frame["layers"]) == list(network.description.shown_names)
    assert [r["model"] for r in json.loads(teacher_http.get(f"/class/{code}/export.json").data)["submissions"]] == ["deep3x3"]


def test_deleting_a_class_removes_everything_stored_for_it(app, teacher_http, klass):
    other_teacher = app.test_client()
    other = start_class(other_teacher)
    _, keeper, _ = student(app, other, "Kim")
    keeper.emit("submit", submission(7))
    wait_for_events(keeper, "submitted")
    teacher, _ = connect(app, teacher_http, klass, "teacher")
    _, client, _ = student(app, klass, "Ana")
    client.emit("submit", submission(7))
    wait_for_events(client, "submitted")
    teacher.emit("delete_class", {"code": "WRONG"})
    assert "confirm" in errors(teacher)[0]
    teacher.emit("delete_class", {"code": klass})
    assert wait_for_events(client, "class_deleted") == [{"code": klass}]
    assert teacher_http.get(f"/class/{klass}/teach").status_code == 404
    client.emit("submit", submission(7))
    assert "join a class first" in errors(client)[0]
    database = sqlite3.connect(app.config["CLASSROOM_DB"])
    rows = database.execute(
        "SELECT (SELECT COUNT(*) FROM classes), (SELECT COUNT(*) FROM students), (SELECT COUNT(*) FROM submissions)"
    ).fetchone()
    assert rows == (1, 1, 1)  # only the other class is left, whole
    assert database.execute("SELECT name FROM students").fetchone() == ("Kim",)


# Roles and isolation


def test_only_the_teacher_can_act_for_the_class(app, teacher_http, klass):
    student_http, client, _ = student(app, klass, "Ana")
    client.emit("submit", submission(7))
    (mine,) = wait_for_events(client, "submitted")
    for event, payload in [
        ("spotlight", {"id": mine["id"]}),
        ("follow", {"on": True}),
        ("close_class", {"closed": True}),
        ("delete_class", {"code": klass}),
    ]:
        client.emit(event, payload)
        assert errors(client) == ["only the teacher can do that"], event
    # A student's cookies do not open the teacher's view, nor its exports.
    client.emit("join_class", {"code": klass, "role": "teacher"})
    assert "only the teacher who started" in errors(client)[0]
    for path in ("teach", "export.npz", "export.json"):
        assert student_http.get(f"/class/{klass}/{path}").status_code == 403
        assert app.test_client().get(f"/class/{klass}/{path}").status_code == 403
    # Not even a class's teacher can act for another class.
    other = start_class(app.test_client())
    teacher_http.get("/")  # same cookie jar: it holds the first class's teacher token only
    outsider = socketio.test_client(app, flask_test_client=teacher_http)
    outsider.emit("join_class", {"code": other, "role": "teacher"})
    assert "only the teacher who started" in errors(outsider)[0]
    assert teacher_http.get(f"/class/{other}/export.json").status_code == 403
    # Nobody who has not joined can submit, and the class still stands.
    stranger = socketio.test_client(app)
    stranger.emit("submit", submission(7))
    assert errors(stranger) == ["join a class first"]
    stranger.emit("join_class", {"code": klass, "role": "student"})
    assert "join the class first" in errors(stranger)[0]
    assert teacher_http.get(f"/class/{klass}/teach").status_code == 200


def test_twenty_classes_at_once_each_hear_only_their_own(app):
    classes = []
    for number in range(20):
        http = app.test_client()
        code = start_class(http)
        teacher, _ = connect(app, http, code, "teacher")
        pupils = [student(app, code, f"c{number}-s{k}")[1] for k in range(2)]
        classes.append({"code": code, "teacher": teacher, "students": pupils, "number": number})
    following = [c for c in classes if c["number"] % 2 == 0]
    for c in following:
        c["teacher"].emit("follow", {"on": True})
        c["teacher"].emit("draw", {"seq": 1, "strokes": SEVEN, "width": 400, "height": 400})
    # The follow frames come from the frame thread. Flask-SocketIO's test client puts binary
    # packets together in one global, so a submission sent while one is still arriving would
    # be taken for its attachment: the frames first, then the submissions.
    for c in following:
        wait_for_events(c["teacher"], "frame")
        for pupil in c["students"]:
            assert len(wait_for_events(pupil, "follow_frame")) == 1
    for c in classes:
        for pupil in c["students"]:
            pupil.emit("submit", submission(c["number"] % 10))
    for c in classes:
        teacher_events = drain(c["teacher"], settle=0.2)
        subs = [e["args"][0] for e in teacher_events if e["name"] == "submission"]
        assert sorted(s["submission"]["name"] for s in subs) == [f"c{c['number']}-s0", f"c{c['number']}-s1"]
        assert max(s["stats"]["total"] for s in subs) == 2  # this class's figures, not the school's
        for pupil in c["students"]:
            events = drain(pupil)
            names = [e["name"] for e in events]
            assert names.count("submitted") == 1
            assert all(e["args"][0]["name"].startswith(f"c{c['number']}-") for e in events if e["name"] == "submitted")
            assert names.count("follow") == (1 if c in following else 0)
            assert "follow_frame" not in names  # one drawing, one frame (taken above), to followers only
            assert "submission" not in names and "spotlight" not in names  # teachers' events only


def test_the_home_page_leads_a_teacher_back_to_their_classes(app, teacher_http, klass):
    assert f"/class/{klass}/teach" in teacher_http.get("/").get_data(as_text=True)
    assert f"/class/{klass}/teach" not in app.test_client().get("/").get_data(as_text=True)
