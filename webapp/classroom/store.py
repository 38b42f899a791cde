"""Classes, students and submissions: in one SQLite file (WAL mode) or in PostgreSQL
(webapp/database.py), each write committed and synced before it is acknowledged, so a
killed server loses nothing."""
import hashlib
import json
import secrets
import time
import unicodedata
from dataclasses import dataclass

import numpy as np
from disarm import skeleton_key

from ..database import Database, IntegrityError

# No 0/O or 1/I/L: a code read off a projector from the back of the room is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# 31^8 ≈ 8.5e11 codes: guessing one stays hopeless at the pace guessing.py allows. Classes
# started with 6-character codes keep them.
CODE_LENGTH = 8

SCHEMA = """
CREATE TABLE IF NOT EXISTS classes (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    teacher_hash TEXT NOT NULL,
    created REAL NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS students (
    id INTEGER PRIMARY KEY,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    joined REAL NOT NULL,
    name_key TEXT,  -- name_key(name): how the name reads; unique in a class (index below)
    UNIQUE (class_id, name COLLATE NOCASE)
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    student_id INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    strokes TEXT NOT NULL,
    width REAL NOT NULL,
    height REAL NOT NULL,
    image BLOB NOT NULL,
    intended INTEGER NOT NULL,
    predicted INTEGER NOT NULL,
    probabilities TEXT NOT NULL,
    unlike INTEGER,  -- 1: unlike the training digits (model/novelty.py); NULL: stored before that was kept
    created REAL NOT NULL,
    model TEXT  -- the name of the model that read it (webapp/models.py); NULL: before models had names
);
CREATE INDEX IF NOT EXISTS submissions_by_class ON submissions(class_id, id);
CREATE INDEX IF NOT EXISTS submissions_by_student ON submissions(student_id);
"""

# The same tables in PostgreSQL's types; names are unique in a class whatever their case,
# as SQLite's NOCASE makes them (for ASCII letters; name keys cover the rest).
POSTGRES_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS classes (
        id BIGSERIAL PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        teacher_hash TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        closed INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS students (
        id BIGSERIAL PRIMARY KEY,
        class_id BIGINT NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        joined DOUBLE PRECISION NOT NULL,
        name_key TEXT
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS students_by_name ON students (class_id, lower(name))",
    """CREATE TABLE IF NOT EXISTS submissions (
        id BIGSERIAL PRIMARY KEY,
        class_id BIGINT NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
        student_id BIGINT NOT NULL REFERENCES students(id) ON DELETE CASCADE,
        strokes TEXT NOT NULL,
        width DOUBLE PRECISION NOT NULL,
        height DOUBLE PRECISION NOT NULL,
        image BYTEA NOT NULL,
        intended INTEGER NOT NULL,
        predicted INTEGER NOT NULL,
        probabilities TEXT NOT NULL,
        unlike INTEGER,
        created DOUBLE PRECISION NOT NULL,
        model TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS submissions_by_class ON submissions(class_id, id)",
    "CREATE INDEX IF NOT EXISTS submissions_by_student ON submissions(student_id)",
]


class NameTaken(ValueError):
    """Someone in the class already has a name that reads the same; args[0] is theirs."""


def name_key(name: str) -> str:
    """How a name reads, for telling students apart: "Zoë" and "ZOË", or Latin "Zoe", Greek
    "Ζoe" and Cyrillic "Zое", give one key. Unicode TR39 confusable skeletons, case-folded.

    ASCII letters are case-folded before the skeleton, other characters each map to their
    skeleton first: the skeleton alone reads capital I as l (so "ALI" would not match
    "Ali"), and case folding alone turns Greek "Ζ" into "ζ", which looks like no Latin letter.
    """
    name = unicodedata.normalize("NFKC", name)
    return skeleton_key("".join(ch.casefold() if ch.isascii() else skeleton_key(ch) for ch in name))


def token_hash(token: str) -> str:
    """Only hashes are stored: a copied database file hands out no teacher rights."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Class:
    id: int
    code: str
    closed: bool


@dataclass(frozen=True)
class Student:
    id: int
    class_id: int
    name: str


class Store:
    def __init__(self, url):
        """`url`: a PostgreSQL URL, or the path of the SQLite file."""
        self.db = Database(str(url))
        if self.db.postgres:
            self.db.script(POSTGRES_SCHEMA)
        else:
            with self.db.engine.connect() as connection:  # several statements: the driver's own script
                connection.connection.driver_connection.executescript(SCHEMA)
        self._add_name_keys()
        self._add_columns()

    def _add_columns(self):
        """A database from before models had names, or before the novelty verdict was kept,
        gets the column; its old submissions keep NULL there (no verdict, not "like a digit")."""
        columns = self.db.columns("submissions")
        added = {"model": "TEXT", "unlike": "INTEGER"}
        self.db.script([f"ALTER TABLE submissions ADD COLUMN {self._if_new()}{name} {kind}" for name, kind in added.items() if name not in columns])

    def _if_new(self):
        """PostgreSQL can be told to add a column only if it is missing: several processes
        starting at once on an old database would otherwise race to add it, and all but one
        fail. (SQLite cannot, and its database belongs to one process.)"""
        return "IF NOT EXISTS " if self.db.postgres else ""

    def _add_name_keys(self):
        """A database from before name keys gets the column, each student's key, and the
        index that keeps keys unique in a class. Look-alike names already in one class
        stay (the later ones get a key of their own); new ones are refused."""
        statements = [] if "name_key" in self.db.columns("students") else [f"ALTER TABLE students ADD COLUMN {self._if_new()}name_key TEXT"]
        self.db.script(statements)
        rows = self.db.query("SELECT id, class_id, name FROM students WHERE name_key IS NULL ORDER BY id")
        taken = {(row["class_id"], row["name_key"]) for row in self.db.query("SELECT class_id, name_key FROM students")}
        for row in rows:
            key = name_key(row["name"])
            if (row["class_id"], key) in taken:
                key += f"#{row['id']}"
            taken.add((row["class_id"], key))
            self.db.write("UPDATE students SET name_key = :key WHERE id = :id", key=key, id=row["id"])
        self.db.script(["CREATE UNIQUE INDEX IF NOT EXISTS students_by_name_key ON students(class_id, name_key)"])

    def close(self):
        self.db.close()

    # Classes
    def create_class(self):
        """A new class: (Class, teacher token). Only the token's hash is kept."""
        token = secrets.token_urlsafe(24)
        for _ in range(20):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            try:
                (row,) = self.db.write(
                    "INSERT INTO classes (code, teacher_hash, created) VALUES (:code, :hash, :now) RETURNING id",
                    code=code, hash=token_hash(token), now=time.time(),
                )
            except IntegrityError:  # that code is taken: draw another
                continue
            return Class(row["id"], code, False), token
        raise RuntimeError("could not find a free class code")

    def find_class(self, code):
        rows = self.db.query("SELECT id, code, closed FROM classes WHERE code = :code", code=normalise_code(code))
        return Class(rows[0]["id"], rows[0]["code"], bool(rows[0]["closed"])) if rows else None

    def is_teacher(self, klass: Class, token) -> bool:
        if not isinstance(token, str) or not token:
            return False
        rows = self.db.query("SELECT teacher_hash FROM classes WHERE id = :id", id=klass.id)
        return bool(rows) and secrets.compare_digest(rows[0]["teacher_hash"], token_hash(token))

    def set_closed(self, klass: Class, closed: bool) -> Class:
        self.db.write("UPDATE classes SET closed = :closed WHERE id = :id", closed=int(closed), id=klass.id)
        return Class(klass.id, klass.code, closed)

    def delete_class(self, klass: Class):
        """The class and everything stored for it (students and submissions cascade)."""
        self.db.write("DELETE FROM classes WHERE id = :id", id=klass.id)

    # Students
    def add_student(self, klass: Class, name: str):
        """A new student: (Student, their token). No two names in a class read the same
        (see name_key); NameTaken carries the name already there."""
        token = secrets.token_urlsafe(24)
        key = name_key(name)
        try:
            (row,) = self.db.write(
                "INSERT INTO students (class_id, name, token_hash, joined, name_key)"
                " VALUES (:class_id, :name, :hash, :now, :key) RETURNING id",
                class_id=klass.id, name=name, hash=token_hash(token), now=time.time(), key=key,
            )
        except IntegrityError:
            rows = self.db.query(
                "SELECT name FROM students WHERE class_id = :class_id AND (name_key = :key OR lower(name) = lower(:name))",
                class_id=klass.id, key=key, name=name,
            )
            raise NameTaken(rows[0]["name"] if rows else name) from None
        return Student(row["id"], klass.id, name), token

    def find_student(self, klass: Class, token):
        if not isinstance(token, str) or not token:
            return None
        rows = self.db.query(
            "SELECT id, name FROM students WHERE class_id = :class_id AND token_hash = :hash",
            class_id=klass.id, hash=token_hash(token),
        )
        return Student(rows[0]["id"], klass.id, rows[0]["name"]) if rows else None

    def student_count(self, klass: Class) -> int:
        return self.db.query("SELECT COUNT(*) AS n FROM students WHERE class_id = :id", id=klass.id)[0]["n"]

    # Submissions
    def add_submission(self, student: Student, drawing, image: np.ndarray, intended: int, probabilities, model=None, unlike=None) -> dict:
        """Store a drawing (`{"strokes", "width", "height"}`) with what the network named
        `model` made of it; `image`: the drawing as a 28x28 MNIST-style picture; `unlike`:
        whether it is unlike the training digits (model/novelty.py), None: not known."""
        probabilities = [round(float(p), 6) for p in probabilities]
        (row,) = self.db.write(
            "INSERT INTO submissions (class_id, student_id, strokes, width, height, image, intended, predicted,"
            " probabilities, unlike, created, model) VALUES (:class_id, :student_id, :strokes, :width, :height, :image, :intended,"
            " :predicted, :probabilities, :unlike, :now, :model) RETURNING id",
            class_id=student.class_id, student_id=student.id, strokes=json.dumps(drawing["strokes"], separators=(",", ":")),
            width=drawing["width"], height=drawing["height"], image=np.asarray(image, "<f4").tobytes(),
            intended=intended, predicted=int(np.argmax(probabilities)), probabilities=json.dumps(probabilities),
            unlike=None if unlike is None else int(bool(unlike)), now=time.time(), model=model,
        )
        return self.submission(student.class_id, row["id"])

    def count_submissions(self, student: Student) -> int:
        return self.db.query("SELECT COUNT(*) AS n FROM submissions WHERE student_id = :id", id=student.id)[0]["n"]

    _SUMMARIES = (
        "SELECT s.id, s.student_id, t.name, s.image, s.intended, s.predicted, s.probabilities, s.unlike, s.created, s.model"
        " FROM submissions s JOIN students t ON t.id = s.student_id WHERE s.class_id = :class_id"
    )
    # With the strokes: only the export needs them, and they are most of a row's bytes.
    _ROWS = _SUMMARIES.replace(" s.image,", " s.image, s.strokes, s.width, s.height,")

    def submission(self, class_id, submission_id):
        """One submission as the pages show it, only if it belongs to `class_id`."""
        rows = self.db.query(self._SUMMARIES + " AND s.id = :id", class_id=class_id, id=submission_id)
        return summary(rows[0]) if rows else None

    def submission_drawing(self, class_id, submission_id):
        """(28x28 picture, strokes, model name) of one submission of `class_id`, or None."""
        rows = self.db.query(
            "SELECT image, strokes, model FROM submissions WHERE class_id = :class_id AND id = :id",
            class_id=class_id, id=submission_id,
        )
        return (image_of(rows[0]), json.loads(rows[0]["strokes"]), rows[0]["model"]) if rows else None

    def submissions(self, klass: Class, student: Student = None) -> list:
        if student is None:
            rows = self.db.query(self._SUMMARIES + " ORDER BY s.id", class_id=klass.id)
        else:
            rows = self.db.query(
                self._SUMMARIES + " AND s.student_id = :student_id ORDER BY s.id", class_id=klass.id, student_id=student.id
            )
        return [summary(row) for row in rows]

    def stats(self, klass: Class) -> dict:
        """Class accuracy and the 10x10 confusion matrix (rows: intended, columns: predicted)."""
        matrix = [[0] * 10 for _ in range(10)]
        rows = self.db.query(
            "SELECT intended, predicted, COUNT(*) AS n FROM submissions WHERE class_id = :class_id"
            " GROUP BY intended, predicted",
            class_id=klass.id,
        )
        for row in rows:
            matrix[row["intended"]][row["predicted"]] = row["n"]
        total = sum(map(sum, matrix))
        correct = sum(matrix[d][d] for d in range(10))
        return {"total": total, "correct": correct, "accuracy": correct / total if total else None, "matrix": matrix}

    def export(self, klass: Class):
        """Everything submitted to the class, oldest first: (images (N, 28, 28) float32, records)."""
        rows = self.db.query(self._ROWS + " ORDER BY s.id", class_id=klass.id)
        images = np.stack([image_of(row) for row in rows]) if rows else np.zeros((0, 28, 28), np.float32)
        records = [
            {
                "id": row["id"], "student": row["student_id"], "name": row["name"], "intended": row["intended"],
                "predicted": row["predicted"], "probabilities": json.loads(row["probabilities"]),
                "unlike": unlike_of(row), "created": row["created"], "model": row["model"], "width": row["width"], "height": row["height"],
                "strokes": json.loads(row["strokes"]),
            }
            for row in rows
        ]
        return images, records


def image_of(row) -> np.ndarray:
    return np.frombuffer(row["image"], "<f4").reshape(28, 28)


def unlike_of(row):
    """True or False: the novelty verdict when it was read; None: stored before it was kept."""
    return None if row["unlike"] is None else bool(row["unlike"])


def summary(row) -> dict:
    """A submission as the pages show it; the 28x28 input as bytes 0-255 for the thumbnail."""
    return {
        "id": row["id"],
        "student": row["student_id"],
        "name": row["name"],
        "intended": row["intended"],
        "predicted": row["predicted"],
        "correct": row["intended"] == row["predicted"],
        "confidence": round(max(json.loads(row["probabilities"])), 4),
        "unlike": unlike_of(row),
        "created": row["created"],
        "model": row["model"],
        "thumbnail": np.clip(np.rint(image_of(row) * 255), 0, 255).astype(np.uint8).tobytes(),
    }


def grouped(code: str) -> str:
    """A code as shown, in two groups to read off a projector: "ABCD EFGH" ("ABC DEF")."""
    half = len(code) // 2
    return f"{code[:half]} {code[half:]}"


def normalise_code(code) -> str:
    """Codes are typed by hand: ignore case, spaces and dashes."""
    return "".join(ch for ch in str(code).upper() if ch.isalnum())[: CODE_LENGTH * 2]
