"""What the Socket.IO fuzzer sends: JSON as text (so that it can hold what json.dumps
never writes), hypothesis strategies for every event's fields, the cases built from
them and a fixed corpus."""
import functools
import io
import json

import numpy as np
from hypothesis import strategies as st
from PIL import Image

from tests.drawings import decompression_bomb, png_bytes


ANSWERS = {
    "draw": {"frame"}, "image": {"frame"}, "join_class": {"class_state"}, "submit": {"submitted"},
    "spotlight": {"spotlight"}, "follow": {"follow"}, "close_class": {"class_closed"}, "delete_class": {"class_deleted"},
}
EVENTS = sorted(ANSWERS)
ROLES = ("anon", "teacher", "student")


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


def solid_png(size, value=255):
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
