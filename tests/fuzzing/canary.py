"""A canary page drawing real digits all along, and what the server's log must not hold."""
import threading
import time
from collections import Counter

import requests

from bench.common import drawing_states
from tests.rawsocket import Closed, RawSocket
from webapp.frames import HEADER


class Canary(threading.Thread):
    """A page drawing real digits, one drawing state at a time, ~`fps` a second: every
    state must get its frame (a miss: no frame within `timeout` s, or an error).

    On a raw WebSocket read in order by this one thread, not python-socketio's client:
    python-engineio's client handles each message on a thread of its own, so on a busy
    machine a frame's binary part can be handled before its header ("invalid literal for
    int() ... b'C'" in the client), the frame is lost and never acknowledged, and the
    server rightly drops a page whose frame window stays full."""

    def __init__(self, url, fps=20, timeout=5.0):
        super().__init__(daemon=True)
        self.url, self.period, self.timeout = url, 1.0 / fps, timeout
        self.states = [s for _, s in drawing_states(200)]
        self.stop = threading.Event()
        self.sent = self.framed = 0
        self.misses = []
        self.late = []
        self.disconnects = []
        self.started = time.monotonic()
        self.sock = RawSocket(url)

    def answer(self, seq, deadline):
        while (left := deadline - time.monotonic()) > 0:
            packet = self.sock.next_packet(left)
            if packet is None:
                return None
            name, data = packet.event
            if name == "frame" and isinstance(data, (bytes, bytearray)):
                got = HEADER.unpack_from(data, 0)[4]
                if got == seq:
                    return "frame"
                self.late.append(got)
            elif name == "error_message":
                got = data.get("seq") if isinstance(data, dict) else None
                if got in (seq, None):
                    return str(data.get("error") if isinstance(data, dict) else data)
        return None

    def run(self):
        seq = 0
        while not self.stop.is_set():
            seq += 1
            started = time.monotonic()
            try:
                if self.sock.closed:
                    self.sock = RawSocket(self.url)
                self.sock.emit("draw", {"seq": seq, "strokes": self.states[seq % len(self.states)], "width": 400, "height": 400})
                self.sent += 1
                answer = self.answer(seq, started + self.timeout)
            except (Closed, OSError, AssertionError) as error:
                self.disconnects.append((round(started - self.started, 1), repr(error)[:100]))
                self.misses.append((seq, f"disconnected: {error!r}"[:120], round(started - self.started, 1)))
                self.stop.wait(1.0)
                continue
            if answer == "frame":
                self.framed += 1
            else:
                self.misses.append((seq, answer or "no answer", round(started - self.started, 1)))
            self.stop.wait(max(0.0, self.period - (time.monotonic() - started)))

    def finish(self):
        """Stops drawing; True if the canary was never disconnected."""
        self.stop.set()
        self.join(30)
        self.sock.close()
        return not self.disconnects


def tracebacks(log_text):
    """Each logged traceback's last line (the exception), counted."""
    found = Counter()
    lines = log_text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or lines[j].startswith("Traceback") or not lines[j].strip()):
                j += 1
            found[lines[j][:200] if j < len(lines) else "?"] += 1
    return found


def alive(url):
    try:
        return requests.get(url + "/", timeout=10).status_code == 200
    except requests.RequestException:
        return False
