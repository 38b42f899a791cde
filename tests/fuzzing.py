"""The fuzz suite's machinery, shared by tests/test_fuzz.py (a few hundred cases, in CI) and
bench/fuzz.py (10,000 socket messages and 2,000 HTTP requests against gunicorn):

- hypothesis strategies for Socket.IO cases (every event with fuzzed fields, JSON with
  NaN/Infinity tokens, integers over 4,300 digits, deep nesting, data of the wrong type,
  binary packets whose attachment count does not match, packet types a client should not
  send, acks for unknown ids, other namespaces, Engine.IO junk) and HTTP cases (every
  route, fuzzed bodies, content types, codes, cookies, cross-site headers);
- a runner that sends each case on a raw WebSocket (tests/rawsocket.py) as a teacher, a
  student or an anonymous page, waits for its answer, then sends a sync event (an unknown
  event, whose error answer marks the end of the case's answers) and tallies outcomes;
- a canary client (python-socketio, as a real page) drawing real digits all along;
- a lesson (a class, a teacher, students) for the classroom events.

A case "aimed at an event" must be answered: `frame` or `error_message`, or the event's own
answer (`class_state`, `submitted`, `spotlight`, `follow`, `class_closed`,
`class_deleted`, or CONNECT_ERROR for a namespace). Outcomes: answered, silent (nothing
before the sync answer), disconnected (the server ended the connection where it should
not), internal (an `error_message` saying "internal error", i.e. a server bug)."""
import functools
import io
import json
import socket
import threading
import time
from collections import Counter, defaultdict
from urllib.parse import quote

import numpy as np
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image

from bench.common import drawing_states
from tests.rawsocket import Closed, RawSocket
from tests.drawings import decompression_bomb, png_bytes
from webapp.frames import HEADER

ANSWERS = {
    "draw": {"frame"}, "image": {"frame"}, "join_class": {"class_state"}, "submit": {"submitted"},
    "spotlight": {"spotlight"}, "follow": {"follow"}, "close_class": {"class_closed"}, "delete_class": {"class_deleted"},
}
EVENTS = sorted(ANSWERS)
ROLES = ("anon", "teacher", "student")

# ---------------------------------------------------------------------------------------
# JSON as text, so that it can hold what json.dumps never writes


BIG = "1" + "0" * 4400  # over Python's 4,300-digit limit for int()
SPECIAL_NUMBERS = [
    "NaN", "-NaN", "Infinity", "-Infinity", "1e308", "1e309", "-1e400", "1e-310", "5e-324", "-0", "0", "0.0",
    "1.5e99999", BIG, "-" + BIG, "9" * 4301, "1" + "0" * 400, "18446744073709551616", "-9223372036854775809",
    "4294967295", "4294967296", "-1", "3.5", "1E2", "100000", "400",
]
BAD_JSON = ["[1,]", "{", "}", "'x'", "undefined", "0x10", "01", "[", '{"a"}', '"\\x"', "\u0000", "[1 2]", "tru", ""]


def deep(depth, kind="["):
    return "[" * depth + "]" * depth if kind == "[" else '{"a":' * depth + "1" + "}" * depth


@functools.lru_cache(maxsize=None)
def jnum():
    return st.one_of(
        st.sampled_from(SPECIAL_NUMBERS),
        st.integers(-(2**70), 2**70).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
    )


@functools.lru_cache(maxsize=None)
def jstring():
    return st.text(max_size=30).map(json.dumps) | st.sampled_from(['"\\ud800"', '"\\u0000"', '"<script>x</script>"'])


@functools.lru_cache(maxsize=None)
def jvalue(max_leaves=12):
    """JSON text: any value, the nasty numbers and strings among the leaves."""
    leaves = st.one_of(st.sampled_from(["null", "true", "false"]), jnum(), jstring())
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=5).map(lambda xs: "[" + ",".join(xs) + "]"),
            st.dictionaries(st.text(max_size=8).map(json.dumps), children, max_size=5).map(
                lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"
            ),
        ),
        max_leaves=max_leaves,
    )


@functools.lru_cache(maxsize=None)
def jdeep():
    return st.builds(deep, st.sampled_from([30, 100, 500, 990, 1030, 3000, 20000]), st.sampled_from(["[", "{"]))


@functools.lru_cache(maxsize=None)
def jany():
    return st.one_of(jvalue(), jdeep(), st.sampled_from(BAD_JSON))


def obj(fields):
    """JSON text of an object: each (name, strategy) present or left out."""

    @st.composite
    def build(draw):
        parts = []
        for name, strategy in fields:
            if draw(st.integers(0, 9)) > 0:  # mostly present
                parts.append(f"{json.dumps(name)}:{draw(strategy)}")
        extra = draw(st.lists(st.tuples(st.text(max_size=6).map(json.dumps), jvalue(3)), max_size=2))
        parts += [f"{k}:{v}" for k, v in extra]
        return "{" + ",".join(parts) + "}"

    return build()


@functools.lru_cache(maxsize=None)
def point():
    coordinate = st.one_of(
        st.integers(0, 400).map(str), st.floats(0, 400).map(repr), jnum(),
    )
    return st.one_of(
        st.tuples(coordinate, coordinate).map(lambda p: f"[{p[0]},{p[1]}]"),
        st.lists(coordinate, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        jvalue(3),
    )


def strokes(digits):
    real = st.sampled_from(digits).map(lambda s: json.dumps(s, separators=(",", ":")))
    made = st.lists(st.lists(point(), max_size=8).map(lambda ps: "[" + ",".join(ps) + "]"), max_size=4).map(
        lambda ss: "[" + ",".join(ss) + "]"
    )
    many = st.sampled_from([5000, 20001, 70000]).map(lambda n: "[[" + ",".join(["[1,2]"] * n) + "]]")
    return st.one_of(real, real, made, many, jdeep(), jvalue(4))


@functools.lru_cache(maxsize=None)
def seq():
    return st.one_of(st.integers(0, 2**32 - 1).map(str), jnum(), jvalue(2))


@functools.lru_cache(maxsize=None)
def size():
    return st.one_of(st.just("400"), st.integers(-5, 200_000).map(str), jnum(), jvalue(2))


def code(real):
    """Class codes: the lesson's own (as typed: cases, spaces, dashes), wrong ones, junk."""
    return st.one_of(
        st.sampled_from(real).flatmap(
            lambda c: st.sampled_from([c, c.lower(), c[:4] + " " + c[4:], c[:4] + "-" + c[4:], c + "X", c[:-1]])
        ).map(json.dumps),
        st.text(alphabet="ABCDEFGHJKMNPQRSTUVWXYZ23456789", min_size=6, max_size=8).map(json.dumps),
        st.text(max_size=50).map(json.dumps),
        jvalue(2),
    )


def event_data(name, digits, codes):
    """The argument of event `name`, its fields fuzzed."""
    drawing = [("strokes", strokes(digits)), ("width", size()), ("height", size())]
    known = {
        "draw": [("seq", seq())] + drawing,
        "image": [("seq", seq()), ("data", jvalue(3))],
        "join_class": [("code", code(codes)), ("role", st.sampled_from(['"teacher"', '"student"', '"admin"', "null", "1"]) | jvalue(2))],
        "submit": drawing + [("intended", st.one_of(st.integers(-2, 11).map(str), jnum(), jvalue(2)))],
        "spotlight": [("id", st.one_of(st.integers(-1, 60).map(str), jnum(), jvalue(2)))],
        "follow": [("on", st.sampled_from(["true", "false", "1", '"yes"', "null"]) | jvalue(2))],
        "close_class": [("closed", st.sampled_from(["false", "false", "true", "1", "null"]) | jvalue(2))],
        # never the lesson's code: deleting it would end the lesson for the other cases
        "delete_class": [("code", st.one_of(st.text(max_size=12).map(json.dumps), jvalue(2)))],
    }
    real = st.sampled_from(digits).map(lambda s: json.dumps(s, separators=(",", ":")))
    valid = {  # well-formed messages, so that the handlers' deeper paths run too
        "draw": st.builds(lambda n, s: f'{{"seq":{n},"strokes":{s},"width":400,"height":400}}', st.integers(0, 2**32 - 1), real),
        "join_class": st.builds(lambda c, r: json.dumps({"code": c, "role": r}), st.sampled_from(codes), st.sampled_from(["teacher", "student"])),
        "submit": st.builds(lambda s, d: f'{{"strokes":{s},"width":400,"height":400,"intended":{d}}}', real, st.integers(0, 9)),
        "spotlight": st.integers(0, 40).map(lambda i: f'{{"id":{i}}}'),
        "follow": st.booleans().map(lambda on: json.dumps({"on": on})),
        # mostly reopening: a closed class refuses drawings, and the fuzz wants some accepted
        "close_class": st.sampled_from([False, False, False, True]).map(lambda closed: json.dumps({"closed": closed})),
    }
    if name in known:
        options = [obj(known[name]), obj(known[name]), jany()]
        if name in valid:
            options += [valid[name], valid[name]]
        return st.one_of(*options)
    return jany()


class Case:
    """Frames to send on one connection, what they must get, and how they are tallied.
    expect: "answer" (at least one answer), "any" (nothing required: acks for unknown
    ids, Engine.IO housekeeping), "hangup" (the server may end the connection; a fresh
    one is opened after)."""

    def __init__(self, kind, frames, expect="answer", role="anon", answers=()):
        self.kind, self.frames, self.expect, self.role = kind, list(frames), expect, role
        self.answers = {"error_message", *answers}

    def __repr__(self):
        shown = [f[:160] + f"...({len(f):,} chars)" if len(f) > 160 else f for f in self.frames]
        return f"[{self.role}] " + " + ".join(repr(f) for f in shown)


def text_event(name_json, args):
    return "42[" + ",".join([name_json, *args]) + "]"


def socket_cases(digits, codes):
    """Every kind of Socket.IO case: [(family, hypothesis strategy, weight)]."""
    role = st.sampled_from(ROLES)

    data_of = {name: event_data(name, digits, codes) for name in EVENTS}
    unknown_names = st.one_of(st.text(max_size=40), st.sampled_from(["message", "*", "", "frame", "error_message", "class_state", "__proto__", "toString"]))

    @st.composite
    def event(draw, name):
        if name == "unknown":
            name = draw(unknown_names)
        data = draw(data_of.get(name, jany()))
        arity = draw(st.sampled_from([1, 1, 1, 1, 1, 1, 1, 1, 0, 2]))
        args = [data] + [draw(jvalue(2)) for _ in range(arity - 1)] if arity else []
        kind = f"event:{name}" if name in ANSWERS else "event:unknown"
        if arity != 1:
            kind = f"event:arity {arity}"
        # classroom events mostly from the pages that may send them
        likely = {"submit": "student", "spotlight": "teacher", "follow": "teacher", "close_class": "teacher",
                  "delete_class": "teacher"}.get(name)
        who = draw(st.sampled_from([likely] * 3 + list(ROLES)) if likely else role)
        return Case(kind, [text_event(json.dumps(name), args)], role=who, answers=ANSWERS.get(name, ()))

    @st.composite
    def reserved(draw):
        name = draw(st.sampled_from(["connect", "disconnect", "\u0000malformed"]))
        return Case("event:reserved name", [text_event(json.dumps(name), [draw(jvalue(2))])], role=draw(role))

    @st.composite
    def bad_name(draw):
        name = draw(st.one_of(jnum(), st.sampled_from(["null", "true", "{}", "[]", '["draw"]']), jdeep()))
        return Case("event:name not a string", [text_event(name, [draw(jvalue(2))])], role=draw(role))

    @st.composite
    def not_a_list(draw):
        return Case("event:data not a list", ["42" + draw(st.one_of(jany(), st.sampled_from(["", "{}", "[]", '"draw"'])))], role=draw(role))

    @st.composite
    def packet_type(draw):
        # Socket.IO packet types a client does not send, and junk where the type goes
        first = draw(st.sampled_from(list("456789") + ["x", "/", " ", "-", "\u00e9", "", "null", "true", "false", "-", "{", "[", '"']))
        rest = draw(st.one_of(jany(), st.text(max_size=30), st.just("")))
        if first == "5":  # a binary event: leave it to the binary cases unless its header is broken
            rest = draw(st.sampled_from(["", "x", "-", "1", "[]", '-["draw",{}]']))
            return Case("packet:binary header broken", ["45" + rest, '42["draw",{}]'], role=draw(role))
        return Case(f"packet:type {first!r}", ["4" + first + rest], role=draw(role))

    @st.composite
    def ack(draw):
        ack_id = draw(st.one_of(st.just(""), st.just("0"), st.integers(1, 10**6).map(str), st.just("9" * 30)))
        body = draw(st.one_of(jany(), st.sampled_from(["[]", "[1,2]", "", "{}"])))
        try:
            quiet = int(ack_id or 0) > 0 and isinstance(json.loads(body), list)
        except (ValueError, RecursionError):
            quiet = False
        # An ack of an id this server never sent, with a list, is ignored quietly (README);
        # anything else is a malformed packet and gets an error.
        return Case("ack:unknown id" if quiet else "ack:malformed", ["43" + ack_id + body], expect="any" if quiet else "answer", role=draw(role))

    @st.composite
    def namespace(draw):
        name = draw(st.one_of(st.sampled_from(["/admin", "/x", "//", "/socket.io", "/" + "a" * 300]), st.text(min_size=1, max_size=20).map(lambda s: "/" + s.replace(",", "")).filter(lambda s: s.split("?")[0] != "/")))
        which = draw(st.sampled_from(["connect", "event", "ack"]))
        if which == "connect":
            body = draw(st.sampled_from(["", "{}", '{"token":1}', "[]", "x"]))
            return Case("namespace:connect", [f"40{name},{body}"], role=draw(role))
        if which == "event":
            return Case("namespace:event", [f'42{name},["draw",{{}}]'], role=draw(role))
        return Case("namespace:ack", [f"43{name},5[]"], role=draw(role))

    @st.composite
    def binary(draw):
        declared = draw(st.sampled_from([0, 1, 1, 1, 2, 2, 3, 5, 999_999_999, 10**40]))
        name = draw(st.sampled_from(["image", "image", "draw", "submit", "nope"]))
        nums = draw(st.lists(st.sampled_from([0, 1, 2, 7, -1, "0", None]), min_size=0, max_size=3))
        holders = ",".join(json.dumps({"_placeholder": True, "num": n}) for n in nums)
        first = json.dumps({"_placeholder": True, "num": nums[0]}) if nums else "null"
        payload = draw(st.sampled_from([
            f'{{"seq":1,"data":{first}}}',
            f'{{"seq":1,"data":[{holders}]}}',
            f"[{holders}]",
            '{"seq":1,"data":{"_placeholder":true}}',
            '{"_placeholder":true,"num":0}',
        ]))
        parts = draw(st.lists(st.sampled_from(["png", "junk", "empty", "big", "bomb"]), max_size=4))
        blobs = [ATTACHMENTS[p] for p in parts]
        frames = [f"45{declared}-[{json.dumps(name)},{payload}]"] + blobs
        if 0 < declared <= 3 and len(blobs) < declared:
            frames.append('42["draw",{}]')  # the next message: where the missing part was due
        if len(blobs) == declared:
            kind = "binary:count matches"
        else:
            kind = "binary:fewer parts" if len(blobs) < declared else "binary:more parts"
        if declared > 3:
            kind = "binary:huge count"
        return Case(kind, frames, role=draw(role), answers=ANSWERS.get(name, ()))

    @st.composite
    def stray(draw):
        blob = draw(st.sampled_from(["png", "junk", "empty"]))
        return Case("binary:stray frame", [ATTACHMENTS[blob]], role=draw(role))

    @st.composite
    def engineio(draw):
        frame = draw(st.sampled_from(["6", "3", "3probe", "2", "2probe", "5", "0", "0{}", "x", "9", " ", "\u00e9", "1"]))
        return Case("engineio:" + repr(frame[:1]), [frame], expect="hangup", role=draw(role))

    @st.composite
    def sio_connect_disconnect(draw):
        frame = draw(st.sampled_from(["40", "40{}", "41", "41/admin,", "40/,"]))
        return Case("packet:connect/disconnect", [frame], expect="hangup", role=draw(role))

    # (family, strategy, share of the cases): run family by family, so that every event
    # gets its share (hypothesis's choice among alternatives is far from uniform)
    return [
        *[(f"event {name}", event(name), 6) for name in EVENTS],
        ("event unknown", event("unknown"), 4), ("reserved names", reserved(), 2), ("names not strings", bad_name(), 2),
        ("data not a list", not_a_list(), 3), ("packet types", packet_type(), 4), ("acks", ack(), 3),
        ("namespaces", namespace(), 3), ("binary", binary(), 10), ("stray binary", stray(), 1),
        ("engine.io", engineio(), 1), ("connect/disconnect", sio_connect_disconnect(), 1),
    ]


def _png(size, value=255):
    return png_bytes(np.full((size, size), value, np.uint8))


def _digit_png():
    image = Image.new("L", (200, 200), 255)
    from PIL import ImageDraw

    ImageDraw.Draw(image).line([(60, 30), (140, 30), (90, 170)], fill=0, width=12)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


ATTACHMENTS = {
    "png": _digit_png(),
    "junk": bytes(range(256)) * 4,
    "empty": b"",
    "big": b"\x89PNG" + b"a" * 700_000,
    "bomb": decompression_bomb(),
}


def corpus(codes):
    """Fixed cases from the issue (each kind of packet the outside tester found broke)."""
    code = codes[0]
    cases = [
        Case("corpus:huge int", ['42["draw",' + BIG + "]"]),
        Case("corpus:huge int field", ['42["draw",{"seq":1,"strokes":[],"width":' + "1" * 5000 + ',"height":9}]'], answers={"frame"}),
        Case("corpus:1e308 coordinates", ['42["draw",{"seq":3,"strokes":[[[1e308,1e308],[-1e308,0]]],"width":400,"height":400}]'], answers={"frame"}),
        Case("corpus:subnormal coordinates", ['42["draw",{"seq":4,"strokes":[[[0,0],[1e-310,1e-315]]],"width":400,"height":400}]'], answers={"frame"}),
        Case("corpus:NaN token", ['42["draw",{"seq":5,"strokes":[[[NaN,1],[2,Infinity]]],"width":400,"height":400}]'], answers={"frame"}),
        Case("corpus:deep nesting", ["42" + deep(50_000)]),
        Case("corpus:deep strokes", ['42["draw",{"seq":6,"strokes":' + deep(990) + ',"width":400,"height":400}]'], answers={"frame"}),
        Case("corpus:data a number", ['42["draw",5]']),
        Case("corpus:data a string", ['42["submit","x"]'], role="student"),
        Case("corpus:zero-width drawing", ['42["draw",{"seq":7,"strokes":[[[5,5],[5,5]]],"width":400,"height":400}]'], answers={"frame"}),
        Case("corpus:999999999 attachments", ['45999999999-["image",{"seq":1,"data":{"_placeholder":true,"num":0}}]']),
        Case("corpus:attachment missing", ['451-["image",{"seq":1,"data":{"_placeholder":true,"num":0}}]', '42["draw",{}]']),
        Case("corpus:attachment extra", ['451-["image",{"seq":8,"data":{"_placeholder":true,"num":0}}]', ATTACHMENTS["png"], ATTACHMENTS["junk"]], answers={"frame"}),
        Case("corpus:oversized text", ["42" + json.dumps(["draw", {"pad": "x" * 1_100_000}])]),
        Case("corpus:oversized attachments", ['452-["image",{"seq":1,"data":[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]}]', b"a" * 600_000, b"b" * 600_000]),
        Case("corpus:ack unknown id", ["4399[]"], expect="any"),
        Case("corpus:ack without id", ["43[]"]),
        Case("corpus:binary ack", ['461-0[{"_placeholder":true,"num":0}]', b"x"]),
        Case("corpus:connect error from client", ['44{"message":"no"}']),
        Case("corpus:unknown namespace", ["40/admin,"], answers=set()),
        Case("corpus:unknown packet type", ["47"]),
        Case("corpus:reserved event", ['42["disconnect",{}]']),
        Case("corpus:join as teacher without rights", [f'42["join_class",{{"code":"{code}","role":"teacher"}}]'], answers={"class_state"}),
        Case("corpus:spotlight without class", ['42["spotlight",{"id":1}]']),
        Case("corpus:spotlight wrong id", ['42["spotlight",{"id":99999999999999999999}]'], role="teacher", answers={"spotlight"}),
        Case("corpus:submit huge canvas", ['42["submit",{"strokes":[[[0,0],[9,9]]],"width":1e999,"height":400,"intended":3}]'], role="student", answers={"submitted"}),
        Case("corpus:submit NaN intended", ['42["submit",{"strokes":[[[0,0],[9,9]]],"width":400,"height":400,"intended":NaN}]'], role="student", answers={"submitted"}),
        Case("corpus:image not binary", ['42["image",{"seq":1,"data":"aGVsbG8="}]'], answers={"frame"}),
        Case("corpus:image bomb", ['451-["image",{"seq":9,"data":{"_placeholder":true,"num":0}}]', ATTACHMENTS["bomb"]], answers={"frame"}),
        Case("corpus:image junk", ['451-["image",{"seq":10,"data":{"_placeholder":true,"num":0}}]', ATTACHMENTS["junk"]], answers={"frame"}),
        Case("corpus:stray binary", [b"\x00\x01 stray"]),
        Case("corpus:unknown event", ['42["hack_the_planet",{}]']),
        Case("corpus:event named *", ['42["*",{}]']),
    ]
    # Engine.IO reads a message whose payload does not start with a digit as JSON: these
    # reach Socket.IO as None, a bool, a number, a string, an object or a list, not text
    for payload in ["null", "true", "false", "-1", "-2.5", " 7", '"40"', '"x"', "{}", "[1]", '["draw",{}]']:
        cases.append(Case(f"corpus:Engine.IO JSON payload {payload}", ["4" + payload]))
    for case in cases:
        if case.kind.startswith("corpus:unknown namespace"):
            case.answers = {"error_message", "connect_error"}
    return cases


# ---------------------------------------------------------------------------------------
# The lesson and the runner


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


# ---------------------------------------------------------------------------------------
# HTTP


class HttpCase:
    def __init__(self, kind, method, path, cookie_role=None, **kwargs):
        self.kind, self.method, self.path, self.cookie_role, self.kwargs = kind, method, path, cookie_role, kwargs

    def __repr__(self):
        shown = {k: (v[:120] + b"..." if isinstance(v, bytes) and len(v) > 120 else v) for k, v in self.kwargs.items()}
        text = repr(shown)
        return f"{self.method} {self.path} [{self.cookie_role or 'no cookie'}] {text[:300]}"


def http_cases(digits, codes):
    """Every kind of HTTP request: [(family, hypothesis strategy, weight)]."""
    code_text = st.one_of(
        st.sampled_from(codes).flatmap(lambda c: st.sampled_from([c, c.lower(), c[:4] + "-" + c[4:], c[:4] + " " + c[4:]])),
        st.text(alphabet="ABCDEFGHJKMNPQRSTUVWXYZ23456789", min_size=6, max_size=8),
        st.text(max_size=40),
        st.sampled_from(["..", ".", "%00", "a" * 3000, "<script>"]),
    ).map(lambda s: quote(s, safe="") or "x")
    role = st.sampled_from([None, "teacher", "student"])
    content_type = st.sampled_from([
        "application/json", "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16",
        "text/plain", "application/x-www-form-urlencoded", "", "application/vnd.api+json",
    ])
    json_body = st.one_of(
        obj([("strokes", strokes(digits)), ("maps", st.sampled_from(["true", "false", "1", '"yes"']) | jvalue(2))]),
        obj([("strokes", strokes(digits))]),
        jany(),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    )
    query = st.sampled_from(["", "?maps=1", "?maps=true", "?maps=0", "?maps=%00", "?maps=" + "9" * 5000, "?x=1&maps=1&maps=2"])

    @st.composite
    def api_json(draw):
        path = draw(st.sampled_from(["/api/predict", "/api/saliency"])) + draw(query)
        body = draw(json_body).encode("utf-8", "surrogatepass")
        return HttpCase("http:api json", "POST", path, draw(role), data=body, headers={"Content-Type": draw(content_type)})

    @st.composite
    def api_upload(draw):
        path = draw(st.sampled_from(["/api/predict", "/api/saliency"])) + draw(query)
        field = draw(st.sampled_from(["image", "image", "image", "picture", ""]))
        blob = draw(st.sampled_from(list(HTTP_PICTURES)))
        files = {field or "file": ("x.png", HTTP_PICTURES[blob], draw(st.sampled_from(["image/png", "image/jpeg", "text/plain", ""])))}
        return HttpCase("http:api upload " + blob, "POST", path, draw(role), files=files)

    @st.composite
    def page(draw):
        c = draw(code_text)
        path = draw(st.sampled_from(["/", "/join", f"/join/{c}", f"/class/{c}", f"/class/{c}/teach", f"/class/{c}/qr.svg",
                                     f"/class/{c}/export.npz", f"/class/{c}/export.json", f"/class/{c}/teach?key={c}",
                                     "/static/../webapp/config.py", "/favicon.ico", "/api/predict", "/nope"]))
        return HttpCase("http:page", "GET", path, draw(role))

    @st.composite
    def form(draw):
        path = draw(st.sampled_from(["/join", "/join", "/class"]))
        data = {}
        if draw(st.booleans()):
            data["code"] = draw(st.one_of(st.sampled_from(codes), st.text(max_size=20)))
        if draw(st.booleans()):
            data["name"] = draw(st.one_of(st.text(max_size=50), st.sampled_from(["\u200b\u200b", "Zo\u00eb", "Z\u043e\u0435", "a" * 41, "<b>x</b>"])))
        headers = draw(st.sampled_from([{}, {"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"},
                                        {"Sec-Fetch-Site": "same-origin"}]))
        encoded = {k: v.encode("utf-8", "surrogatepass") for k, v in data.items()}
        return HttpCase("http:form " + path, "POST", path, draw(role), data=encoded, headers=headers, allow_redirects=False)

    @st.composite
    def method(draw):
        verb = draw(st.sampled_from(["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "GET", "POST"]))
        path = draw(st.sampled_from(["/", "/api/predict", "/api/saliency", "/class", "/join", f"/class/{codes[0]}/export.json"]))
        return HttpCase("http:method", verb, path, draw(role), data=draw(st.binary(max_size=50)))

    return [("api json", api_json(), 8), ("api upload", api_upload(), 3), ("pages", page(), 4), ("forms", form(), 3),
            ("methods", method(), 1)]


HTTP_PICTURES = {
    "digit": ATTACHMENTS["png"],
    "junk": ATTACHMENTS["junk"],
    "empty": b"",
    "bomb": ATTACHMENTS["bomb"],
    "1x1": _png(1),
    "blank": _png(64),
    "wide": png_bytes(np.zeros((1, 3000), np.uint8)),
    "truncated": ATTACHMENTS["png"][: len(ATTACHMENTS["png"]) // 2],
}


def raw_http_cases():
    """Requests no HTTP library writes: (name, bytes)."""
    return [
        ("http:raw garbage", b"\x00\x01\x02\r\n\r\n"),
        ("http:raw bad version", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n"),
        ("http:raw huge header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 100_000 + b"\r\n\r\n"),
        ("http:raw bad content-length", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n{}"),
        ("http:raw short body", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{}"),
        ("http:raw chunked junk", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
        ("http:raw bad multipart", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 20\r\nConnection: close\r\n\r\n--b\r\nbroken\r\n--b--\r\n"),
        ("http:raw over max length", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\nConnection: close\r\n\r\n{}"),
    ]


class HttpFuzzer:
    def __init__(self, url, lesson):
        self.url, self.lesson = url, lesson
        self.tally = Tally()
        self.statuses = Counter()

    def run(self, case):
        session = {"teacher": self.lesson.teacher, "student": self.lesson.student}.get(case.cookie_role) or requests.Session()
        try:
            response = session.request(case.method, self.url + case.path, timeout=30, **case.kwargs)
        except requests.RequestException as error:
            self.tally.add(case, "failed", repr(error)[:200])
            return
        status = response.status_code
        self.statuses[status] += 1
        if status >= 500:
            self.tally.add(case, f"HTTP {status}", response.text[:200])
        elif case.path.startswith("/api/") and status in (400, 413, 415, 422) and case.method == "POST" and not is_json_error(response):
            self.tally.add(case, "4xx without JSON error", f"{status} {response.text[:120]}")
        else:
            self.tally.add(case, "answered")

    def run_raw(self, kind, request):
        host, port = self.url.split("//")[1].split(":")
        case = HttpCase(kind, "RAW", "", data=request[:200])
        try:
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(request)
                sock.shutdown(socket.SHUT_WR)
                reply = b""
                while chunk := sock.recv(65536):
                    reply += chunk
        except OSError as error:  # closing on garbage is an answer too
            self.tally.add(case, "answered" if isinstance(error, ConnectionResetError) else "failed", repr(error))
            return
        line = reply.split(b"\r\n", 1)[0]
        parts = line.split()
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        if status:
            self.statuses[status] += 1
        self.tally.add(case, f"HTTP {status}" if status and status >= 500 else "answered", line.decode("latin-1")[:100])


def is_json_error(response):
    try:
        return isinstance(response.json().get("error"), str)
    except (ValueError, AttributeError):
        return False


def run_http_fuzz(fuzzer, families, examples, seed=0, derandomize=True):
    """About `examples` requests drawn by hypothesis, shared among `families` by weight."""
    total = sum(weight for _, _, weight in families)
    for k, (_, strategy, weight) in enumerate(families):
        run_strategy(fuzzer, strategy, max(1, round(examples * weight / total)), seed + k, derandomize)


# ---------------------------------------------------------------------------------------
# The canary


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
