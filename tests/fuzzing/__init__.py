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
not), internal (an `error_message` saying "internal error", i.e. a server bug).

Its parts: cases.py (what is sent to Socket.IO), sockets.py (the lesson, the tally, the
socket fuzzer and its runners), web.py (the HTTP side), canary.py (a real page drawing
all along, and the log's tracebacks)."""
from tests.fuzzing.canary import Canary, alive, tracebacks
from tests.fuzzing.cases import corpus, socket_cases
from tests.fuzzing.sockets import Lesson, SocketFuzzer, digits_for_fuzz, run_socket_fuzz
from tests.fuzzing.web import HttpFuzzer, http_cases, raw_http_cases, run_http_fuzz

__all__ = [
    "Canary", "HttpFuzzer", "Lesson", "SocketFuzzer", "alive", "corpus", "digits_for_fuzz", "http_cases",
    "raw_http_cases", "run_http_fuzz", "run_socket_fuzz", "socket_cases", "tracebacks",
]
