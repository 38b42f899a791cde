"""Flow control (webapp/flow.py) and follow me through it (webapp/classroom/live.py): a
window of unacknowledged frames per recipient, only the newest frame waiting."""
import time

from webapp.classroom.live import Member, Roster
from webapp.classroom.store import Class, Student
from webapp.flow import FlowControl


class Wire:
    """What FlowControl sent, and the acknowledgements a client would send back."""

    def __init__(self):
        self.sent = []  # (sid, event, payload, callback)
        self.gone = set()

    def emit(self, sid, event, payload, callback):
        self.sent.append((sid, event, payload, callback))

    def connected(self, sid):
        return sid not in self.gone

    def payloads(self, sid):
        return [payload for to, _, payload, _ in self.sent if to == sid]

    def ack(self, sid):
        """Acknowledge the oldest unacknowledged message to `sid`."""
        for n, (to, event, payload, callback) in enumerate(self.sent):
            if to == sid and callback is not None:
                self.sent[n] = (to, event, payload, None)
                callback()
                return
        raise AssertionError(f"nothing to acknowledge for {sid}")


def test_at_most_two_frames_out_and_only_the_newest_waits():
    wire = Wire()
    flow = FlowControl(wire.emit, wire.connected, window=2)
    for n in range(1, 6):
        flow.send("a", "frame", n)
    assert wire.payloads("a") == [1, 2]  # 3 and 4 were replaced while waiting
    assert flow.held_frames() == 1
    wire.ack("a")
    assert wire.payloads("a") == [1, 2, 5]
    wire.ack("a")
    wire.ack("a")
    flow.send("a", "frame", 6)
    assert wire.payloads("a") == [1, 2, 5, 6] and flow.held_frames() == 0


def test_a_window_full_for_longer_than_the_stall_time_is_a_stall():
    wire = Wire()
    flow = FlowControl(wire.emit, wire.connected, window=2, stall_seconds=0.2)
    for n in range(3):
        flow.send("a", "frame", n)
    assert not flow.stalled("a")
    time.sleep(0.3)
    assert flow.stalled("a") and not flow.stalled("b")
    wire.ack("a")  # reading again
    assert not flow.stalled("a")


def test_streams_have_windows_of_their_own_and_leaving_releases_everything():
    wire = Wire()
    flow = FlowControl(wire.emit, wire.connected, window=2)
    for n in range(3):
        flow.send("a", "frame", n)
        flow.send("a", "follow_frame", -n)
    assert wire.payloads("a") == [0, 0, 1, -1]
    flow.forget("a")
    assert flow.held_frames() == 0
    wire.gone.add("a")
    wire.ack("a")  # a late acknowledgement sends nothing more
    flow.send("a", "frame", 9)  # nor does a frame finished after the client left
    assert wire.payloads("a") == [0, 0, 1, -1] and flow.held_frames() == 0


def test_no_window_for_clients_that_cannot_acknowledge():
    wire = Wire()
    flow = FlowControl(wire.emit, wire.connected, window=None)
    for n in range(5):
        flow.send("a", "frame", n)
    assert wire.payloads("a") == [0, 1, 2, 3, 4]


def test_follow_me_a_slow_student_gets_the_newest_frame_and_holds_up_nobody():
    wire = Wire()
    roster = Roster(socketio=None)
    roster.flow = FlowControl(wire.emit, wire.connected, window=2)
    klass = Class(1, "ABCDEF", False)
    roster.join("teacher", Member(klass, "teacher"))
    for n, sid in enumerate(("fast", "slow")):
        roster.join(sid, Member(klass, "student", Student(n, 1, sid)))
    roster.join("elsewhere", Member(Class(2, "GHIJKL", False), "student", Student(9, 2, "x")))
    roster.set_following(1, True)
    drawing = {"strokes": [[[0, 0], [1, 1]]], "width": 400, "height": 400}
    for n in range(10):
        roster.follow_fanout("teacher", drawing)(bytes([n]))
        wire.ack("fast")  # the fast phone takes every frame at once; the slow one none
    assert [p["frame"] for p in wire.payloads("fast")] == [bytes([n]) for n in range(10)]
    assert [p["frame"] for p in wire.payloads("slow")] == [b"\0", b"\1"]
    assert wire.payloads("teacher") == [] and wire.payloads("elsewhere") == []
    wire.ack("slow")
    assert wire.payloads("slow")[-1]["frame"] == b"\x09"  # the newest, not the backlog
