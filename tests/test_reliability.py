"""Issue 17 (items 3, 7 and 10) against real server processes, the development server and
README's production command: malformed Socket.IO traffic is answered without a traceback,
a client that never reads is dropped with the server's memory bounded, and silent peers
are closed after the ping timeout while new visitors are served."""
import json
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import socketio as socketio_client
import websocket

from bench.load import server_pids, start_server
from tests.conftest import free_port
from tests.drawings import SEVEN
from webapp import frames

PING_INTERVAL, PING_TIMEOUT = 2, 2
SOCKET_SLACK = 2  # webapp/__init__.py: a socket read or write waits at most ping interval + timeout + 2 s
DRAW = {"seq": 1, "strokes": SEVEN, "width": 400, "height": 400}


def launch(kind, tmp_path, short_pings=True):
    """(process, url, log path): `python -m webapp` or README's gunicorn command, with a
    short heartbeat so that silent peers are found in seconds, or the default one."""
    log = tmp_path / f"{kind}.log"
    env = dict(CNNVIEW_PING_INTERVAL=str(PING_INTERVAL), CNNVIEW_PING_TIMEOUT=str(PING_TIMEOUT)) if short_pings else {}
    process, url = start_server(free_port(), database=tmp_path / f"{kind}.sqlite3", dev=kind == "dev", wait=60, env=env, log=log)
    return process, url, log


@pytest.fixture(scope="module", params=["dev", "gunicorn"])
def server(request, tmp_path_factory):
    yield from serve(request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module", params=["dev", "gunicorn"])
def default_server(request, tmp_path_factory):
    """With the default heartbeat (25 s + 20 s): for clients that send for a while without
    reading (a pong waits behind what they sent), and so that what drops a client that
    stops reading is the flow-control stall (15 s), not a missed pong."""
    yield from serve(request.param, tmp_path_factory.mktemp(request.param), short_pings=False)


def serve(kind, tmp_path, short_pings=True):
    process, url, log = launch(kind, tmp_path, short_pings)
    yield {"url": url, "log": log, "process": process}
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:  # gunicorn waits for open WebSockets to finish
        process.kill()
        process.wait(10)


def no_tracebacks(server):
    log = server["log"].read_text()
    assert "Traceback" not in log, log[-3000:]


class Raw:
    """A Socket.IO client by hand over a WebSocket, to send what no real client library would."""

    def __init__(self, url):
        self.ws = websocket.create_connection(url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", timeout=10)
        assert self.ws.recv().startswith("0")  # Engine.IO open
        self.ws.send("40")
        assert self.ws.recv().startswith("40")  # Socket.IO connected

    def send(self, *messages):
        self.ws.settimeout(10)  # reading may have left a short one
        for message in messages:
            self.ws.send_binary(message) if isinstance(message, bytes) else self.ws.send(message)

    def next_event(self, timeout=10.0):
        """The next event's [name, data], answering pings and skipping binary parts."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.ws.settimeout(max(0.01, deadline - time.time()))
            try:
                message = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                break
            if message == "2":
                self.send("3")
            elif isinstance(message, str) and message[:2] in ("42", "45"):
                return json.loads(message[message.index("["):])  # after any attachment count and ack id
        return None

    def pump(self):
        """What has arrived by now, pings answered: a peer that stops answering them is
        closed after PING_INTERVAL + PING_TIMEOUT seconds."""
        events = []
        while (event := self.next_event(timeout=0.01)) is not None:
            events.append(event)
        return events

    def error(self, timeout=10.0):
        event = self.next_event(timeout)
        assert event is not None and event[0] == "error_message", event
        return event[1]["error"]


def big_int(digits):
    return "1" + "0" * (digits - 1)


MALFORMED = [
    (['42["draw",' + big_int(5000) + "]"], "4300 digits"),
    (['42["draw",{"seq":1,"strokes":[],"width":' + big_int(400) + ',"height":9}]'], "width"),
    (['42["draw",{"seq":1,"strokes":[],"width":1e308,"height":9}]'], "width"),
    (['42["draw",{"seq":1,"strokes":[],"width":400,"height":1e-310}]'], "height"),
    (['42["draw",{"seq":1,"strokes":[],"width":NaN,"height":9}]'], "width"),
    (['42["draw",{"seq":1,"strokes":[],"width":9,"height":-Infinity}]'], "height"),
    (["42" + "[" * 50_000 + "]" * 50_000], "nested too deeply"),
    (['42["draw",{"seq":1,"strokes":' + "[" * 3000 + "]" * 3000 + ',"width":9,"height":9}]'], ""),
    (["42garbage"], "not a Socket.IO packet"),
    (["4"], "empty message"),
    (['42["draw",5]'], "expected an object"),
    (['42["draw","scribble"]'], "expected an object"),
    (['42["submit",[1,2]]'], "expected an object"),
    (['42["join_class",{"code":1,"role":"student"}]'], ""),
    (['42[5,{}]'], "an event is a list"),
    (["42{}"], "an event is a list"),
    (["42[]"], "an event is a list"),
    (["42"], "an event is a list"),
    (['42["disconnect",{}]'], "not an event a client may send"),
    (['42["draw",{},{}]'], "takes one argument"),
    (['42["draw"]'], "takes one argument"),
    (['42/admin,["draw",{}]'], "no namespace"),
    (['44{"message":"no"}'], "packet type 4"),
    (["47"], "packet type 7"),
    (["4x"], "not a Socket.IO packet"),
    (["43"], "acknowledgement"),
    (["430[]"], "acknowledgement"),
    (['461-0[{"_placeholder":true,"num":0}]', b"x"], "packet type 6"),
    (['45999999999-["image",{"seq":1,"data":{"_placeholder":true,"num":0}}]'], "declares 999,999,999"),
    (['450-["image",{"seq":1}]'], "1 to 2 attachments"),
    (['451-["image",{"seq":1,"data":{"_placeholder":true,"num":0}}]', '42["draw",{}]'], "got a text message"),
    (['451-["image",{"seq":1,"data":{"_placeholder":true,"num":7}}]', b"\x89PNG"], "placeholders"),
    (['452-["image",{"seq":1,"data":{"_placeholder":true,"num":0}}]', b"a" * 600_000, b"b" * 600_000], "too large"),
    ([b"\x00\x01 a stray binary message"], "binary message"),
    (["42" + json.dumps(["draw", {"pad": "x" * 1_100_000}])], "too large"),
    (['42["hack_the_planet",{}]'], "unknown event"),
    (['42["*",{}]'], "not an event a client may send"),  # Flask-SocketIO's catch-all name
    # Engine.IO hands over a payload that reads as JSON as that value, not as text
    *[([message], "not a bare JSON value") for message in ("4null", "4true", "4false", "4-1", "4 7", "4Infinity", "4{}", "4[1]")],
]


@pytest.mark.parametrize("messages, words", MALFORMED, ids=[str(m[0])[:30] for m, _ in MALFORMED])
def test_malformed_socketio_packets_get_an_error_and_no_traceback(server, messages, words):
    client = Raw(server["url"])
    client.send(*messages)
    assert words in client.error()
    client.send('42["draw",{"seq":2,"strokes":[[[0,0],[0,90]]],"width":400,"height":400}]')
    event = client.next_event()
    if event and event[0] == "error_message":  # a refused packet's left-over part gets an error too
        event = client.next_event()
    assert event and event[0] == "frame"  # still connected and served
    no_tracebacks(server)


def test_packets_before_joining_are_dropped_quietly(server):
    ws = websocket.create_connection(server["url"].replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", timeout=10)
    ws.recv()
    ws.send('451-["image",{"seq":1,"data":{"_placeholder":true,"num":0}}]')  # before "40": not joined yet
    ws.send_binary(b"\x89PNG")
    ws.send('42["draw",{}]')
    ws.send("40")
    assert ws.recv().startswith("40")
    ws.send('42["draw",{"seq":2,"strokes":[[[0,0],[0,90]]],"width":400,"height":400}]')
    assert ws.recv().startswith("451-")  # the frame: joined and served
    no_tracebacks(server)


def test_unknown_ack_ids_are_ignored_quietly(server):
    client = Raw(server["url"])
    client.send("4399[]", "431[1,2]")
    client.send('42["draw",{"seq":2,"strokes":[[[0,0],[0,90]]],"width":400,"height":400}]')
    assert client.next_event()[0] == "frame"
    no_tracebacks(server)


def test_a_frame_that_is_not_engineio_hangs_up_without_traceback(server):
    client = Raw(server["url"])
    client.send("x: not an Engine.IO packet")
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError, websocket.WebSocketTimeoutException)):
        for _ in range(3):
            client.send("2")
            client.ws.settimeout(3)
            client.ws.recv()
            time.sleep(0.2)
    fresh = Raw(server["url"])
    fresh.send('42["draw",{"seq":2,"strokes":[[[0,0],[0,90]]],"width":400,"height":400}]')
    assert fresh.next_event()[0] == "frame"
    no_tracebacks(server)


def test_unknown_event_flood_is_answered_at_a_bounded_rate(default_server):
    server = default_server
    client = Raw(server["url"])
    start = time.time()
    client.send(*['42["nope",{}]'] * 3000)
    errors = []
    # Under gevent the first answers go out once the reader has been through what is waiting.
    while (event := client.next_event(timeout=3.0 if errors else 10.0)) is not None:
        errors.append(event[1]["error"])
    elapsed = time.time() - start
    # The token bucket: 400 at once, 200 a second after, then one "slow down" a second.
    assert len(errors) <= 400 + 200 * elapsed + elapsed + 1, (len(errors), elapsed)
    assert any("slow down" in e for e in errors), (len(errors), elapsed)
    no_tracebacks(server)


def server_rss_mb(pids):
    """The resident memory of these server processes, added up. Measured on the processes
    there at the start: a spare frame worker started meanwhile holds nothing of a client's."""
    total = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        for line in status.read_text().splitlines() if status.exists() else []:
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


class Drawer(threading.Thread):
    """A well-behaved client (python-socketio acknowledges every frame) drawing one state
    every 50 ms, while the server is abused. Latest wins, so a busy server may answer only
    the newest of several states: what counts is that answers keep coming."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.client = socketio_client.Client(reconnection=False)
        self.answers, self.sent, self.stop = [], 0, threading.Event()
        self.client.on("frame", lambda data: self.answers.append((time.time(), frames.HEADER.unpack_from(data)[-1])))
        self.client.connect(url, transports=["websocket"], wait_timeout=10)
        self.start()

    def run(self):
        while not self.stop.wait(0.05):
            self.sent += 1
            self.client.emit("draw", {**DRAW, "seq": self.sent})

    def finish(self):
        """(drawings sent, answers, the longest wait between answers in seconds); asserts
        the last drawing was answered."""
        started = time.time()
        self.stop.set()
        self.join()
        wait_for(lambda: self.answers and self.answers[-1][1] == self.sent, 10)
        self.client.disconnect()
        times = [started - 0.05 * self.sent] + [t for t, _ in self.answers]
        return self.sent, len(self.answers), max(b - a for a, b in zip(times, times[1:]))


def wait_for(condition, timeout):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.01)


def test_a_client_that_never_reads_is_dropped_and_the_server_stays_small(default_server):
    server = default_server
    warm = Drawer(server["url"])  # the frame worker started and warm before measuring
    time.sleep(1)
    warm.finish()
    pids = server_pids(server["process"].pid)
    before = server_rss_mb(pids)
    drawer = Drawer(server["url"])
    reader = Raw(server["url"])
    reader.ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and never reads again
    message = "42" + json.dumps(["draw", DRAW])
    start, peak, dropped_after = time.time(), before, None
    while time.time() - start < 30:
        try:
            reader.send(message)  # ~100 drawings a second, each answered with a 14 KB frame
        except (OSError, websocket.WebSocketException):
            dropped_after = time.time() - start
            break
        time.sleep(0.01)
        peak = max(peak, server_rss_mb(pids)) if int(time.time() * 10) % 10 == 0 else peak
    sent, answered, longest_wait = drawer.finish()
    after = server_rss_mb(pids)
    print(f"never-reading client: dropped after {dropped_after} s; server RSS {before:.0f} → peak {peak:.0f} → {after:.0f} MB")
    assert dropped_after is not None and 14 < dropped_after < 25  # STALL_SECONDS is 15
    assert peak - before < 50
    assert longest_wait < 1.5 and answered > 100, (sent, answered, longest_wait)  # the other client was answered throughout
    no_tracebacks(server)


def test_a_binary_stream_of_a_billion_attachments_is_refused_early(default_server):
    server = default_server
    pids = server_pids(server["process"].pid)
    before = server_rss_mb(pids)
    client = Raw(server["url"])
    client.send('45999999999-["image",{"seq":1,"data":{"_placeholder":true,"num":0}}]')
    assert "999,999,999" in client.error()
    part = b"\0" * 900_000
    events = []
    for n in range(100):  # 90 MB that no event is waiting for
        client.send(part)
        if n % 10 == 0:
            events += client.pump()
    while (event := client.next_event(timeout=2.0)) is not None:
        events.append(event)
    errors = sum(event[0] == "error_message" for event in events)
    assert 1 <= errors <= 100
    after = server_rss_mb(pids)
    print(f"90 MB of stray binary: server RSS {before:.0f} → {after:.0f} MB")
    assert after - before < 50
    no_tracebacks(server)


def open_or_closed(sock):
    """Read whatever is waiting without blocking: 'closed' once the server has hung up."""
    sock.setblocking(False)
    try:
        while True:
            if sock.recv(65536) == b"":
                return "closed"
    except BlockingIOError:
        return "open"
    except OSError:
        return "closed"


def test_silent_peers_are_closed_after_the_ping_timeout_and_new_visitors_served(server):
    peers = [Raw(server["url"]) for _ in range(100)]  # then silent: they never read or pong again
    quiet_since = time.time()
    drawer = Drawer(server["url"])
    time.sleep(3)
    sent, answered, longest_wait = drawer.finish()
    assert longest_wait < 1.5, (sent, answered, longest_wait)
    bound = PING_INTERVAL + PING_TIMEOUT + SOCKET_SLACK + 4  # + the server's scheduling and ours
    time.sleep(max(0, quiet_since + bound - time.time()))
    states = [open_or_closed(peer.ws.sock) for peer in peers]
    assert states.count("closed") == len(peers), f"{states.count('open')} of {len(peers)} still open after {bound} s"
    with urllib.request.urlopen(server["url"], timeout=5) as page:  # a new visitor's page load
        assert page.status == 200
    no_tracebacks(server)
