"""JSON for Socket.IO packets: incoming ones parsed with orjson, about three times faster
than the standard library, and every drawing of every client is parsed.

Python-socketio takes any module with `dumps` and `loads`. What orjson refuses to parse
goes to the standard library: NaN, infinities and huge integers are not JSON, but a
client may still send them, and must be told what is wrong rather than be dropped.
Outgoing packets are small (a frame's is a placeholder for its binary part) and keep the
standard library, which, unlike orjson, never turns a NaN into null without a word.
"""
import json

import orjson


def loads(text, **kwargs):
    """Raises ValueError for anything it cannot read, as Engine.IO and Socket.IO expect of
    a parser: integers over Python's 4,300 digits are a ValueError already; nesting deeper
    than the interpreter's stack is made one."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def dumps(obj, **kwargs):
    return json.dumps(obj, **kwargs)
