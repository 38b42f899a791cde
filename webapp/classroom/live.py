"""Who is connected to which class, and the teacher's follow-me drawing. Connections are
this process's own; counts and follow me are shared between processes (shared.py). What
must survive a restart is in the store."""
import threading
from dataclasses import dataclass

from .shared import MemoryState
from .store import Class, Student


def class_room(class_id) -> str:
    """Everyone in a class: its students and its teacher's pages."""
    return f"class:{class_id}"


def teacher_room(class_id) -> str:
    """The teacher's pages only (a projector and a laptop, say): names and submissions go here."""
    return f"teach:{class_id}"


@dataclass(frozen=True)
class Member:
    klass: Class
    role: str  # "teacher" or "student"
    student: Student = None


class Roster:
    """Who is connected to this process (sid → Member), and through `state` (shared.py)
    what all processes agree on: online counts and follow me."""

    def __init__(self, socketio, state=None):
        self.socketio = socketio
        self.state = state = state or MemoryState()  # one process unless told otherwise
        self._members = {}  # sid → Member
        self._lock = threading.Lock()
        self.flow = None  # events.py's FlowControl: follow-me frames go through each recipient's window
        state.deliver = self.deliver_follow
        state.start(self)

    def join(self, sid, member: Member):
        with self._lock:
            self._members[sid] = member
        if member.role == "student":
            self.state.joined(member.klass.id, sid)

    def member(self, sid) -> Member:
        with self._lock:
            return self._members.get(sid)

    def leave(self, sid):
        with self._lock:
            member = self._members.pop(sid, None)
        if member is not None and member.role == "student":
            self.state.left(member.klass.id, sid)
        return member

    def online(self, class_id) -> int:
        """Students connected to the class now, on every process."""
        return self.state.online(class_id)

    def forget_class(self, class_id):
        """Drop every connection's membership of a deleted class, and its follow-me."""
        self.forget_local(class_id)
        self.state.forget_class(class_id)

    def forget_local(self, class_id):
        with self._lock:
            self._members = {sid: m for sid, m in self._members.items() if m.klass.id != class_id}

    # What the shared state asks of this process
    def local_classes(self) -> set:
        with self._lock:
            return {m.klass.id for m in self._members.values()}

    def local_students(self) -> list:
        with self._lock:
            return [(m.klass.id, sid) for sid, m in self._members.items() if m.role == "student"]

    def local_online(self, class_id) -> int:
        with self._lock:
            return sum(m.klass.id == class_id and m.role == "student" for m in self._members.values())

    def announce(self, class_id, counts):
        self.socketio.emit("class_roster", counts, to=teacher_room(class_id))

    # Follow me
    def set_following(self, class_id, on: bool):
        self.state.set_following(class_id, on)

    def following(self, class_id):
        """(on, the last payload sent to the class)."""
        return self.state.following(class_id)

    def follow_fanout(self, sid, message):
        """For a teacher drawing with follow-me on: a function that sends the frame made
        for them to the whole class too, with the strokes to show. None for anyone else."""
        member = self.member(sid)
        if member is None or member.role != "teacher" or not self.following(member.klass.id)[0]:
            return None
        class_id = member.klass.id
        drawing = {key: message.get(key) for key in ("strokes", "width", "height")}
        return lambda frame: self.state.publish_follow(class_id, sid, {**drawing, "frame": frame})

    def deliver_follow(self, class_id, origin, payload):
        """A follow-me frame to this process's members of the class, but its sender. Each
        recipient has a window of its own: a slow phone gets the newest frame when it has
        taken the last, never a backlog, and holds up nobody else."""
        with self._lock:
            recipients = [sid for sid, m in self._members.items() if m.klass.id == class_id and sid != origin]
        for sid in recipients:
            self.flow.send(sid, "follow_frame", payload)
