"""A class at work, over HTTP and Socket.IO test clients: submitting, the teacher's live
gallery and matrix, spotlight, follow me, close, export, delete, isolation between classes,
and every teacher action refused to everyone else."""
import io
import json
import sqlite3

import numpy as np
import pytest

from model.forward import Forward
from model.parse_layers import describe_file
from model.preprocess import strokes_to_input
from tests.classroom import connect, drain, errors, join, start_class, student, submission, wait_for_events
from tests.drawings import ONE, SEVEN, fit_to_canvas
from webapp import create_app, frame_decode, models, socketio


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
    frame = frame_decode.decode(shown["frame"], network)
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
        assert frame_decode.decode(follow["frame"], network)["digit"] == 7
    # A student who joins now sees the teacher's drawing at once.
    _, late, state = student(app, klass, "Cy")
    assert state["following"] is True
    assert wait_for_events(late, "follow_frame")[0]["frame"] == own
    # Clearing the pad clears the students' screens too.
    teacher.emit("draw", {"seq": 5, "strokes": [], "width": 400, "height": 400})
    assert frame_decode.decode(wait_for_events(students[0], "follow_frame")[0]["frame"], network)["digit"] == -1
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
    frame = frame_decode.decode(shown["frame"], network)
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
