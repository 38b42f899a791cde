"""Several app processes as in production on several machines: PostgreSQL, Redis, three
app processes (README's production command each) and nginx, all real, from Debian's
packages (.ci/run installs them). A class works whichever process each of its people is
connected to, classes stay apart, the wrong-code limit is one limit, a Redis restart and
a killed process are lived through, and no acknowledged drawing is lost."""
import shutil
import subprocess
import tempfile
import threading
import time

import numpy as np
import pytest
import requests
import socketio as socketio_client

from bench.cluster import Cluster
from tests.cluster_clients import Person, join, start_class
from tests.drawings import SEVEN, fit_to_canvas
from tests.services import need_servers


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    need_servers()
    # Not under pytest's folder (private to root): PostgreSQL runs as `postgres`.
    folder = tempfile.mkdtemp(prefix="cnnview-cluster-")
    running = Cluster(folder, processes=3)
    try:
        yield running.start()
    finally:
        running.stop()
        shutil.rmtree(folder, ignore_errors=True)


def drawing(intended, strokes=SEVEN):
    return {"strokes": strokes, "width": 400, "height": 400, "intended": intended}


def test_a_class_works_with_its_teacher_and_students_on_different_processes(cluster, pen_test_samples):
    a, b, c = (cluster.url(port) for port in cluster.ports)
    teacher_http, code = start_class(a)
    teacher = Person(a, teacher_http, code, "teacher")
    projector = Person(c, teacher_http, code, "teacher")  # the teacher's second page, on a third process
    students = [Person(b, join(b, code, name), code, "student") for name in ("Ana", "Bo")]
    # Joined on B, counted on A: the count comes from Redis, the event through the queue.
    teacher.wait("class_roster", where=lambda r: r["online"] == 2 and r["joined"] == 2)

    samples = pen_test_samples[:4]
    for k, sample in enumerate(samples):
        students[k % 2].emit("submit", drawing(sample["label"], fit_to_canvas(sample["strokes"], 400)))
        students[k % 2].wait("submitted", k // 2 + 1)
    subs = teacher.wait("submission", 4)
    assert sorted(s["submission"]["name"] for s in subs) == ["Ana", "Ana", "Bo", "Bo"]
    matrix = np.array(subs[-1]["stats"]["matrix"])
    assert matrix.sum() == 4 and all(matrix[s["submission"]["intended"], s["submission"]["predicted"]] >= 1 for s in subs)
    assert projector.wait("submission", 4)[-1]["stats"] == subs[-1]["stats"]

    # Spotlight from A reaches the teacher's page on C; students never see it.
    first = subs[0]["submission"]["id"]
    teacher.emit("spotlight", {"id": first})
    assert projector.wait("spotlight")[0]["submission"]["id"] == first
    assert len(projector.seen("spotlight")[0]["frame"]) > 1000

    # Follow me: the teacher draws on A, students on B see it, a late joiner on C too.
    teacher.emit("follow", {"on": True})
    for student in students:
        student.wait("follow", where=lambda f: f["on"] is True)
    teacher.emit("draw", {"seq": 1, "strokes": SEVEN, "width": 400, "height": 400})
    own = teacher.wait("frame")[0]
    for student in students:
        assert student.wait("follow_frame")[0]["frame"] == own
    late = Person(c, join(c, code, "Cy"), code, "student")
    assert late.seen("class_state")[0]["following"] is True
    assert late.wait("follow_frame")[0]["frame"] == own and late.seen("follow_frame")[0]["strokes"] == SEVEN
    teacher.wait("class_roster", where=lambda r: r["online"] == 3)

    # Close: students everywhere are told, and new drawings are refused.
    teacher.emit("close_class", {"closed": True})
    late.wait("class_closed")
    students[0].wait("class_closed")
    students[0].emit("submit", drawing(7))
    assert "closed" in students[0].wait("error_message")[0]["error"]

    # Export from any process: every drawing, in order.
    exported = teacher_http.get(f"{b}/class/{code}/export.json").json()["submissions"]
    class_id = int(cluster.postgres.psql(f"SELECT id FROM classes WHERE code = '{code}'"))
    assert cluster.redis.subscribers(f"cnnview:follow:{class_id}") == 3  # A (teacher), B (students), C (late, projector)
    assert [r["id"] for r in exported] == sorted(s["submission"]["id"] for s in subs)

    teacher.emit("delete_class", {"code": code})
    for person in (*students, late, projector):
        assert person.wait("class_deleted")[0] == {"code": code}
    assert cluster.postgres.psql(f"SELECT COUNT(*) FROM classes WHERE code = '{code}'").strip() == "0"
    # Every process forgot its members of the class: none listens for its follow-me any more.
    deadline = time.time() + 5
    while cluster.redis.subscribers(f"cnnview:follow:{class_id}") and time.time() < deadline:
        time.sleep(0.1)
    assert cluster.redis.subscribers(f"cnnview:follow:{class_id}") == 0
    assert teacher_http.get(f"{c}/class/{code}/teach").status_code == 404
    for person in (teacher, projector, *students, late):
        person.close()


def test_twenty_classes_over_three_processes_each_hear_only_their_own(cluster):
    urls = [cluster.url(port) for port in cluster.ports]
    classes = []
    for number in range(20):
        here = [urls[(number + k) % 3] for k in range(3)]  # teacher on one process, students on the two others
        http, code = start_class(here[0])
        teacher = Person(here[0], http, code, "teacher")
        pupils = [Person(here[1 + k], join(here[1 + k], code, f"c{number}-s{k}"), code, "student") for k in range(2)]
        classes.append({"code": code, "teacher": teacher, "students": pupils, "number": number})
    for c in classes:
        if c["number"] % 2 == 0:
            c["teacher"].emit("follow", {"on": True})
    for c in classes:
        if c["number"] % 2 == 0:
            for pupil in c["students"]:
                pupil.wait("follow")
            c["teacher"].emit("draw", {"seq": 1, "strokes": SEVEN, "width": 400, "height": 400})
        for pupil in c["students"]:
            pupil.emit("submit", drawing(c["number"] % 10))
    for c in classes:
        subs = c["teacher"].wait("submission", 2)
        assert sorted(s["submission"]["name"] for s in subs) == [f"c{c['number']}-s0", f"c{c['number']}-s1"]
        assert max(s["stats"]["total"] for s in subs) == 2  # this class's figures, not the school's
        for pupil in c["students"]:
            pupil.wait("submitted")
            if c["number"] % 2 == 0:
                pupil.wait("follow_frame")
    time.sleep(1)  # anything sent to the wrong class would have arrived by now
    for c in classes:
        assert len(c["teacher"].seen("submission")) == 2
        for pupil in c["students"]:
            assert [s["name"] for s in pupil.seen("submitted")] == [pupil.seen("class_state")[0]["name"]]
            assert len(pupil.seen("follow_frame")) == (1 if c["number"] % 2 == 0 else 0)
            assert len(pupil.seen("follow")) == (1 if c["number"] % 2 == 0 else 0)
            assert not pupil.seen("submission") and not pupil.seen("class_roster")  # teachers' events only
        for person in (c["teacher"], *c["students"]):
            person.close()


def test_a_students_own_frames_stay_off_the_queue(cluster):
    """Only what is shared goes through Redis: 40 frames of a student's own drawing (160 KB)
    are sent by its process, not published to every process."""
    a = cluster.url(cluster.ports[0])
    http, code = start_class(a)
    student = Person(a, join(a, code, "Ana"), code, "student")
    student.wait("class_state")
    before = cluster.redis.stats()["total_net_input_bytes"]
    for seq in range(40):
        student.emit("draw", {"seq": seq, "strokes": SEVEN, "width": 400, "height": 400})
        student.wait("frame", seq + 1)
    published = cluster.redis.stats()["total_net_input_bytes"] - before
    assert sum(len(f) for f in student.seen("frame")) > 40 * 1000
    assert published < 20_000, published  # the background renewals and checks, not frames
    student.close()


def test_the_wrong_code_limit_is_one_limit_for_all_processes(cluster):
    """An address typing wrong codes at three processes gets the allowance of one: 10 wrong
    codes a minute, then 120 paced look-ups (2 minutes of 60), then 429."""
    urls = [cluster.url(port) for port in cluster.ports]
    guesser = {"X-Forwarded-For": "203.0.113.9"}  # its own address (nginx sets this header; the app trusts one proxy)
    answers = [requests.get(f"{urls[n % 3]}/join/ZZZZ{n:04d}", headers=guesser).status_code for n in range(200)]
    first_refusal = answers.index(429)
    assert set(answers[:first_refusal]) == {404} and 125 <= first_refusal <= 135, first_refusal
    # Another address is not slowed by that one.
    assert requests.get(f"{urls[1]}/join/ZZZZ9999", headers={"X-Forwarded-For": "203.0.113.10"}).status_code == 404


def test_a_redis_restart_mid_lesson_is_lived_through(cluster):
    a, b = cluster.url(cluster.ports[0]), cluster.url(cluster.ports[1])
    teacher_http, code = start_class(a)
    teacher = Person(a, teacher_http, code, "teacher")
    student = Person(b, join(b, code, "Ana"), code, "student")
    cluster.redis.stop()
    cluster.redis.start()  # same port, empty: nothing was saved
    # The queue's listeners reconnect (python-socketio waits 1, 2, 4 s between tries).
    deadline = time.time() + 40
    while not teacher.seen("submission") and time.time() < deadline:
        student.emit("submit", drawing(7))
        time.sleep(2)
    assert teacher.seen("submission"), "a drawing on B never reached the teacher on A after Redis came back"
    teacher.emit("follow", {"on": True})
    student.wait("follow", where=lambda f: f["on"])
    deadline = time.time() + 20
    while not student.seen("follow_frame") and time.time() < deadline:  # the follow-me listener reconnects too
        teacher.emit("draw", {"seq": 2, "strokes": SEVEN, "width": 400, "height": 400})
        time.sleep(1)
    assert student.seen("follow_frame")
    teacher.close()
    student.close()


def connections_to(port) -> int:
    """Established TCP connections to `port` (nginx's to that app process: one per WebSocket)."""
    out = subprocess.run(["ss", "-Htn", "state", "established", f"( dport = :{port} )"], capture_output=True, text=True).stdout
    return len(out.splitlines())


def test_a_killed_process_loses_no_acknowledged_drawing(cluster, pen_test_samples):
    """Students draw through nginx; one app process is killed with SIGKILL mid-lesson. Its
    clients reconnect through nginx to another process and go on; every drawing any
    client had acknowledged is in PostgreSQL."""
    lb = cluster.url()
    teacher_http, code = start_class(lb)
    assert f"{lb}/join/{code}" in teacher_http.get(f"{lb}/class/{code}/teach").text  # nginx passes the address on
    # The teacher's page as a browser connects: long-polling first, then the upgrade; the
    # polling requests must all reach one process (nginx's cookie).
    teacher = Person(lb, teacher_http, code, "teacher", reconnect=True, transports=("polling", "websocket"))
    deadline = time.time() + 10
    while teacher.transport() != "websocket" and time.time() < deadline:
        time.sleep(0.1)
    assert teacher.transport() == "websocket"  # upgraded, on the process its polling reached
    students = [Person(lb, join(lb, code, f"S{k}"), code, "student", reconnect=True) for k in range(9)]
    acknowledged, lock = [], threading.Lock()

    def lesson(k, student):
        """Send drawings one after the other; one unanswered (its process died) is sent again."""
        sent, deadline = 0, time.time() + 90
        while sent < 12 and time.time() < deadline:
            sample = pen_test_samples[(k * 12 + sent) % len(pen_test_samples)]
            before = len(student.seen("submitted"))
            try:
                student.emit("submit", drawing(sample["label"], fit_to_canvas(sample["strokes"], 400)))
                answer = student.wait("submitted", before + 1, timeout=3)[-1]
            except (AssertionError, socketio_client.exceptions.SocketIOError):
                time.sleep(0.2)
                continue  # not acknowledged, so not promised: sent again once reconnected
            with lock:
                acknowledged.append(answer["id"])
            sent += 1

    threads = [threading.Thread(target=lesson, args=(k, s)) for k, s in enumerate(students)]
    for thread in threads:
        thread.start()
    while len(acknowledged) < 20:
        time.sleep(0.05)
    victim = max(cluster.ports, key=connections_to)
    cluster.kill(victim)
    for thread in threads:
        thread.join(120)
    moved = [s for s in students if s.connects > 1]
    assert moved, "no client was connected to the killed process"
    assert len(acknowledged) == 12 * len(students)
    stored = cluster.postgres.psql(
        f"SELECT s.id FROM submissions s JOIN classes c ON c.id = s.class_id WHERE c.code = '{code}' ORDER BY s.id"
    ).split()
    assert sorted(acknowledged) == [int(i) for i in stored if int(i) in set(acknowledged)]  # every acknowledged one is there
    assert set(acknowledged) <= {int(i) for i in stored}
    # The lesson goes on for the teacher too: the gallery shows the drawings when the page comes back.
    states = len(teacher.seen("class_state"))
    teacher.emit("join_class", {"code": code, "role": "teacher"})
    assert len(teacher.wait("class_state", states + 1)[-1]["submissions"]) >= len(acknowledged)
    for person in (teacher, *students):
        person.close()
