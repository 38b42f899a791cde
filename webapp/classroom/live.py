"""Who is connected to which class, and the teacher's follow-me drawing: in memory, per
process (what must survive a restart is in the store)."""
import threading
from dataclasses import dataclass

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
    def __init__(self, socketio):
        self.socketio = socketio
        self._members = {}  # sid → Member
        self._following = {}  # class id → the last follow-me payload sent (None: nothing yet)
        self._lock = threading.Lock()
        self.flow = None  # events.py's FlowControl: follow-me frames go through each recipient's window

    def join(self, sid, member: Member):
        with self._lock:
            self._members[sid] = member

    def member(self, sid) -> Member:
        with self._lock:
            return self._members.get(sid)

    def leave(self, sid):
        with self._lock:
            return self._members.pop(sid, None)

    def online(self, class_id) -> int:
        """Students connected to the class now."""
        with self._lock:
            return sum(m.klass.id == class_id and m.role == "student" for m in self._members.values())

    def forget_class(self, class_id):
        """Drop every connection's membership of a deleted class, and its follow-me."""
        with self._lock:
            self._members = {sid: m for sid, m in self._members.items() if m.klass.id != class_id}
            self._following.pop(class_id, None)

    def announce(self, class_id, counts):
        self.socketio.emit("class_roster", counts, to=teacher_room(class_id))

    # Follow me
    def set_following(self, class_id, on: bool):
        with self._lock:
            if on:
                self._following.setdefault(class_id, None)
            else:
                self._following.pop(class_id, None)

    def following(self, class_id):
        """(on, the last payload sent to the class)."""
        with self._lock:
            return class_id in self._following, self._following.get(class_id)

    def follow_fanout(self, sid, message):
        """For a teacher drawing with follow-me on: a function that sends the frame made
        for them to the whole class too, with the strokes to show. None for anyone else.
        Each recipient has a window of its own: a slow phone gets the newest frame when it
        has taken the last, never a backlog, and holds up nobody else."""
        member = self.member(sid)
        if member is None or member.role != "teacher" or not self.following(member.klass.id)[0]:
            return None
        class_id = member.klass.id
        drawing = {key: message.get(key) for key in ("strokes", "width", "height")}

        def fanout(frame: bytes):
            payload = {**drawing, "frame": frame}
            with self._lock:
                if class_id not in self._following:  # turned off while this frame was made
                    return
                self._following[class_id] = payload
                recipients = [other for other, m in self._members.items() if m.klass.id == class_id and other != sid]
            for other in recipients:
                self.flow.send(other, "follow_frame", payload)

        return fanout

