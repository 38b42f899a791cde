"""Classroom mode: a teacher starts a class, students join with a code and draw, and the
class sees together where the network is right and where it fails.

`store` keeps classes, students and submissions in SQLite or PostgreSQL; `live` knows who is connected
where; `views` serves the pages, the QR code and the exports; `events` the Socket.IO side.
"""
import unicodedata
from pathlib import Path

from flask import current_app, request

from .guessing import CodeGuard, TooFast
from .live import Roster
from .shared import make_state
from .store import Store, name_key

TEACHER_COOKIE = "cnnview_teacher_"
STUDENT_COOKIE = "cnnview_student_"


# How fast codes may be looked up by an address that keeps typing wrong ones, how many wrong
# codes a minute the whole server takes before it paces every look-up, and that pace.
GUESSING_DEFAULTS = {
    "CODE_LOOKUPS_PER_MINUTE_WHEN_GUESSING": 60,
    "WRONG_CODES_PER_MINUTE_SERVER": 600,
    "CODE_LOOKUPS_PER_MINUTE_UNDER_ATTACK": 1200,
}


class JoinRefused(ValueError):
    """A join that cannot go ahead; the message is written for the person joining."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status

    @property
    def headers(self) -> dict:
        # Paced look-ups get a token a second: a script that honours this gets in.
        return {"Retry-After": "2"} if self.status == 429 else {}


class Classroom:
    """Everything the classroom pages and events share, one per app."""

    def __init__(self, app, socketio):
        self.store = Store(database_url(app))
        self.roster = Roster(socketio, make_state(app.config["MESSAGE_QUEUE"], socketio.start_background_task))
        self.config = app.config
        for name, value in GUESSING_DEFAULTS.items():  # CNNVIEW_<NAME> in the environment still wins
            app.config.setdefault(name, value)
        self.codes = CodeGuard(app.config, app.config["MESSAGE_QUEUE"])
        self.models_in_use = {}  # class id → the model its teacher switched it to (a fine-tuned one)
        app.extensions["classroom"] = self

    def model_of(self, klass):
        """The model that reads the class's drawings: None for the server's default."""
        return self.models_in_use.get(klass.id)

    def use_model(self, klass, name):
        if name is None:
            self.models_in_use.pop(klass.id, None)
        else:
            self.models_in_use[klass.id] = name

    def counts(self, klass) -> dict:
        """What the teacher's page shows about who is there."""
        return {"joined": self.store.student_count(klass), "online": self.roster.online(klass.id)}

    # Hooks for the drawing events (webapp/events.py)
    def follow_fanout(self, sid, message):
        return self.roster.follow_fanout(sid, message)

    def disconnected(self, sid):
        member = self.roster.leave(sid)
        if member is not None and member.role == "student":
            self.roster.announce(member.klass.id, self.counts(member.klass))

    # Who is asking
    def find_class(self, code):
        """The class with `code`. Its teacher and students (by their cookies) are never
        limited; anyone else's look-ups are paced while their address keeps typing wrong
        codes (guessing.py). Raises JoinRefused."""
        klass = self.store.find_class(code)
        if klass is not None and (self.teacher_of(klass) or self.student_of(klass) is not None):
            return klass
        address = request.remote_addr or "?"
        try:
            self.codes.look_up(address)
        except TooFast:
            raise JoinRefused("too many wrong class codes from your network: wait a few seconds and try again", 429) from None
        if klass is None:
            self.codes.was_wrong(address)
            raise JoinRefused(f"there is no class with the code {str(code)[:12]!r}: check the code on the teacher's screen", 404)
        return klass

    def teacher_of(self, klass) -> bool:
        return self.store.is_teacher(klass, request.cookies.get(TEACHER_COOKIE + klass.code))

    def taught_here(self) -> list:
        """The classes whose teacher's cookie this browser holds: the teacher's way back."""
        found = []
        for name, token in request.cookies.items():
            klass = self.store.find_class(name[len(TEACHER_COOKIE):]) if name.startswith(TEACHER_COOKIE) else None
            if klass is not None and self.store.is_teacher(klass, token):
                found.append(klass)
        return found

    def student_of(self, klass):
        return self.store.find_student(klass, request.cookies.get(STUDENT_COOKIE + klass.code))

    def clean_name(self, raw) -> str:
        """A display name as typed, tidied: no control characters, single spaces, NFC."""
        if not isinstance(raw, str):
            raise JoinRefused("type your name")
        name = unicodedata.normalize("NFC", raw)
        name = " ".join("".join(ch for ch in name if unicodedata.category(ch)[0] != "C").split())
        limit = self.config["MAX_NAME_LENGTH"]
        if not name:
            raise JoinRefused("type your name")
        if len(name) > limit:
            raise JoinRefused(f"that name is too long: at most {limit} characters")
        if not name_key(name):  # all blanks or invisible characters: nobody could read it
            raise JoinRefused("type your name in letters people can read")
        return name


def database_url(app) -> str:
    """DATABASE_URL when given, else the SQLite file (its folder made if need be)."""
    if app.config["DATABASE_URL"]:
        return app.config["DATABASE_URL"]
    path = app.config["CLASSROOM_DB"] or Path(app.instance_path) / "classroom.sqlite3"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def get_classroom() -> Classroom:
    return current_app.extensions["classroom"]
