"""The Socket.IO side: a lesson to fuzz in, the tally of outcomes, the fuzzer that sends
each case on a raw WebSocket as a teacher, a student or an anonymous page, and the runners."""
import threading
import time
from collections import Counter, defaultdict

import requests
from hypothesis import HealthCheck, Phase, given, settings

from bench.common import drawing_states
from tests.rawsocket import Closed, RawSocket
from tests.fuzzing.cases import Case


def digits_for_fuzz(count=40):
    return [strokes for _, strokes in drawing_states(count)]


class Lesson:
    """A class started over HTTP: the teacher's session, a student's, the code."""

    def __init__(self, url, name="Fuzz"):
        self.url = url
        self.teacher = requests.Session()
        started = self.teacher.post(url + "/class", allow_redirects=False, timeout=30)
        assert started.status_code == 302, started.status_code
        self.code = started.headers["Location"].split("/")[2]
        self.student = requests.Session()
        joined = self.student.post(url + "/join", data={"code": self.code, "name": name}, allow_redirects=False, timeout=30)
        assert joined.status_code == 302, (joined.status_code, joined.text[:200])

    def cookie(self, role):
        session = {"teacher": self.teacher, "student": self.student}.get(role)
        return "; ".join(f"{k}={v}" for k, v in session.cookies.items()) if session else None


class Tally:
    def __init__(self):
        self.counts = defaultdict(Counter)  # kind -> outcome -> n
        self.examples = defaultdict(list)  # (kind, outcome) -> cases, shortest first
        self.lock = threading.Lock()

    def add(self, case, outcome, detail=""):
        with self.lock:
            self.counts[case.kind][outcome] += 1
            if outcome not in ("answered", "quiet", "hung up"):
                bucket = self.examples[(case.kind, outcome)]
                bucket.append((len(repr(case)), f"{case!r}{' -> ' + detail if detail else ''}"))
                bucket.sort()
                del bucket[3:]

    def total(self, outcome=None):
        return sum(c[outcome] if outcome else sum(c.values()) for c in self.counts.values())

    def report(self):
        lines = []
        for kind in sorted(self.counts):
            counts = self.counts[kind]
            lines.append(f"  {kind:34} " + ", ".join(f"{o} {n}" for o, n in sorted(counts.items())))
        for (kind, outcome), examples in sorted(self.examples.items()):
            for _, text in examples:
                lines.append(f"  {outcome.upper()} {kind}: {text[:400]}")
        return "\n".join(lines)


class SocketFuzzer:
    """Runs cases on three raw connections (anonymous, the lesson's teacher, its student),
    each paced under the server's message rate (200/s a client), one case at a time."""

    def __init__(self, url, lesson, answer_timeout=3.0, rate=120.0):
        self.url, self.lesson, self.timeout, self.interval = url, lesson, answer_timeout, 1.0 / rate
        self.sockets = {}
        self.last_send = defaultdict(float)
        self.tally = Tally()
        self.syncs = 0
        self.messages = 0
        self.seconds = Counter()
        self.timeline = []  # (monotonic time, case) to set beside canary misses
        self.last_kept = 0.0
        self.submitted = []  # ids of drawings the server acknowledged ("submitted")

    def socket(self, role):
        sock = self.sockets.get(role)
        if sock is None or sock.closed:
            sock = RawSocket(self.url, self.lesson.cookie(role))
            self.sockets[role] = sock
            if role != "anon":
                sock.emit("join_class", {"code": self.lesson.code, "role": role})
                self.wait_for(sock, {"class_state", "error_message"}, 10)
        return sock

    def pace(self, role, frames):
        for frame in frames:
            wait = self.last_send[role] + self.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.last_send[role] = time.monotonic()
            yield frame

    def wait_for(self, sock, names, timeout, sync=None):
        """The first packet that is one of `names` (or, with `sync`, the sync's own answer)."""
        deadline = time.monotonic() + timeout
        while True:
            packet = sock.next_packet(max(0.0, deadline - time.monotonic()))
            if packet is None:
                return None
            name, data = packet.event
            if name == "submitted" and isinstance(data, dict):
                self.submitted.append(data.get("id"))
            if packet.kind == 4:
                name = "connect_error"
            if sync and name == "error_message" and isinstance(data, dict) and sync in str(data.get("error")):
                return "sync"
            if name in names:
                return name, data

    def drain(self, sock):
        while (packet := sock.next_packet(0.0)) is not None:
            name, data = packet.event
            if name == "submitted" and isinstance(data, dict):
                self.submitted.append(data.get("id"))

    def lost(self):
        """Acknowledged drawings missing from the teacher's export."""
        exported = self.lesson.teacher.get(f"{self.url}/class/{self.lesson.code}/export.json", timeout=60).json()["submissions"]
        return sorted(set(self.submitted) - {r["id"] for r in exported})

    def run(self, case):
        started = time.monotonic()
        self.timeline.append((started, case))
        try:
            self._run(case)
        finally:
            self.seconds[case.kind] += time.monotonic() - started

    def keep_alive(self):
        """Reads the other pages' sockets now and then: their pings answered (a peer that
        misses pongs for 45 s is closed) and their follow frames acknowledged."""
        now = time.monotonic()
        if now - self.last_kept < 2.0:
            return
        self.last_kept = now
        for role, sock in list(self.sockets.items()):
            try:
                self.drain(sock)
            except Closed:
                sock.close()
                self.sockets.pop(role, None)
                self.tally.add(Case("idle page closed by the server", [], role=role), "disconnected")

    def _run(self, case):
        self.keep_alive()
        sock = self.socket(case.role)
        try:
            self.drain(sock)
            for frame in self.pace(case.role, case.frames):
                sock.send(frame)
                self.messages += 1
            first = None
            if case.expect == "answer":
                first = self.wait_for(sock, case.answers | {"connect_error"}, self.timeout)
            elif case.expect == "hangup":
                time.sleep(0.05)
            late = self.sync(sock, case)
        except Closed as closed:
            sock.close()
            self.sockets.pop(case.role, None)
            if case.expect == "hangup":
                self.tally.add(case, "hung up")
            else:
                self.tally.add(case, "disconnected", str(closed))
            return
        if case.expect == "hangup":  # whatever it did, start the next case on a fresh connection
            sock.close()
            self.sockets.pop(case.role, None)
        answer = first or late
        if answer and answer[0] == "error_message" and "internal error" in str(answer[1]):
            self.tally.add(case, "internal", str(answer[1])[:200])
        elif answer:
            self.tally.add(case, "answered")
        elif case.expect == "answer":
            self.tally.add(case, "silent")
        else:
            self.tally.add(case, "quiet")

    def sync(self, sock, case):
        """Sends an unknown event and reads until its error answer: every answer to the case
        has arrived by then. Returns an answer to the case seen on the way, if any."""
        late = None
        for attempt in range(3):  # a case that left a binary packet waiting takes the first sync as its part
            self.syncs += 1
            marker = f"fuzz-sync-{self.syncs}"
            for frame in self.pace(case.role, [f'42["{marker}",{{}}]']):
                sock.send(frame)
            deadline = time.monotonic() + self.timeout
            while True:
                found = self.wait_for(sock, case.answers | {"connect_error"}, max(0.0, deadline - time.monotonic()), sync=marker)
                if found == "sync":
                    return late
                if found is None:
                    break
                late = late or found
        if case.expect != "hangup":
            raise Closed("the sync event got no answer three times")
        return late

    def close(self):
        for sock in self.sockets.values():
            sock.close()

    def around(self, moment, before=6.0):
        """The cases sent in the `before` seconds up to `moment` (monotonic)."""
        return [case for t, case in self.timeline if moment - before <= t <= moment]


def run_socket_fuzz(fuzzer, families, examples, seed=0, derandomize=True):
    """About `examples` cases drawn by hypothesis, shared among `families` by weight (no
    shrinking: each example is a real round trip; failures are tallied, not raised)."""
    total = sum(weight for _, _, weight in families)
    for k, (_, strategy, weight) in enumerate(families):
        run_strategy(fuzzer, strategy, max(1, round(examples * weight / total)), seed + k, derandomize)


def run_strategy(fuzzer, strategy, examples, seed=0, derandomize=True):

    @settings(max_examples=examples, derandomize=derandomize, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck), print_blob=False)
    @given(strategy)
    def one(case):
        fuzzer.run(case)

    if not derandomize:
        one = seed_with(one, seed)
    one()


def seed_with(test, seed):
    from hypothesis import seed as hypothesis_seed

    return hypothesis_seed(seed)(test)
