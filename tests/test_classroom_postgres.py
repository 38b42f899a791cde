"""Every classroom test of tests/test_classroom.py and test_classroom_lessons.py again, with
the classes, students and drawings in PostgreSQL (CNNVIEW_DATABASE_URL) instead of the SQLite file."""
import threading

import pytest

from tests import test_classroom, test_classroom_lessons
from tests.classroom import connect, start_class, student, submission, wait_for_events
from tests.services import postgres, postgres_url  # noqa: F401  (fixtures)
from webapp import create_app

# Those read or write the SQLite file itself; test_deleting_… has a PostgreSQL twin below.
SQLITE_ONLY = {
    "test_an_old_database_gets_name_keys_and_keeps_its_look_alikes", "test_an_old_database_gets_the_novelty_column_and_its_drawings_no_verdict",
    "test_deleting_a_class_removes_everything_stored_for_it",
}
for module in (test_classroom, test_classroom_lessons):
    globals().update({name: test for name, test in vars(module).items() if name.startswith("test_") and name not in SQLITE_ONLY})


@pytest.fixture
def app(postgres_url):  # noqa: F811
    return create_app({"TESTING": True, "DATABASE_URL": postgres_url, "FRAME_WINDOW": None})


def test_deleting_a_class_removes_everything_stored_for_it_from_postgres(app, postgres, postgres_url, teacher_http, klass):  # noqa: F811
    other_teacher = app.test_client()
    other = start_class(other_teacher)
    _, keeper, _ = student(app, other, "Kim")
    keeper.emit("submit", submission(3))
    wait_for_events(keeper, "submitted")
    teacher, _ = connect(app, teacher_http, klass, "teacher")
    _, client, _ = student(app, klass, "Ana")
    client.emit("submit", submission(7))
    wait_for_events(client, "submitted")
    teacher.emit("delete_class", {"code": klass})
    assert wait_for_events(client, "class_deleted") == [{"code": klass}]
    schema = postgres_url.rsplit("%3D", 1)[1]
    counts = postgres.psql(f"SELECT (SELECT COUNT(*) FROM {schema}.classes), (SELECT COUNT(*) FROM {schema}.students), (SELECT COUNT(*) FROM {schema}.submissions)")
    assert counts.strip() == "1|1|1"  # only the other class is left, whole
    assert postgres.psql(f"SELECT name FROM {schema}.students").strip() == "Kim"


def test_an_old_postgres_database_gets_the_novelty_column(postgres_url):  # noqa: F811
    """Tables made before the novelty verdict was kept: opening adds the column, old rows
    read as no verdict, new ones keep theirs."""
    import numpy as np

    from webapp.classroom import store
    from webapp.database import Database

    old = Database(postgres_url)
    old.script([s.replace("        unlike INTEGER,\n", "") for s in store.POSTGRES_SCHEMA])
    assert "unlike" not in old.columns("submissions")
    (klass,) = old.write("INSERT INTO classes (code, teacher_hash, created) VALUES ('ABCDEFGH', 'x', 0) RETURNING id")
    (ana,) = old.write("INSERT INTO students (class_id, name, token_hash, joined, name_key) VALUES (:c, 'Ana', 't', 0, 'ana') RETURNING id", c=klass["id"])
    old.write(
        "INSERT INTO submissions (class_id, student_id, strokes, width, height, image, intended, predicted, probabilities, created)"
        " VALUES (:c, :s, '[]', 400, 400, :image, 7, 7, :p, 0)", c=klass["id"], s=ana["id"], image=np.zeros((28, 28), "<f4").tobytes(), p="[0.1]",
    )
    old.close()
    # Several processes start at once on it (gunicorn workers, machines): each adds the
    # column if it is still missing, and none fails because another just did.
    start, failures = threading.Barrier(4), []

    def open_it():
        start.wait()
        try:
            store.Store(postgres_url).close()
        except Exception as error:  # noqa: BLE001  (the test reports whatever it was)
            failures.append(repr(error))

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert failures == []
    opened = store.Store(postgres_url)
    found = opened.find_class("ABCDEFGH")
    opened.add_submission(store.Student(ana["id"], found.id, "Ana"), {"strokes": [], "width": 1, "height": 1}, np.zeros((28, 28)), 1, [0.1] * 10, None, False)
    opened.close()
    assert [s["unlike"] for s in store.Store(postgres_url).submissions(found)] == [None, False]
