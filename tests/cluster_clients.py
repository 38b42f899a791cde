"""A browser's part in the cluster tests: an HTTP session (its cookies: the class's, and
nginx's placement) and a Socket.IO client carrying them, which joins its class on every
(re)connection as the page does, acknowledges frames, and records every event.

The client is python-socketio's asyncio one, on one event loop thread shared by all: the
threaded client handles each incoming message in a thread of its own, so a binary
attachment can be read before its header (ValueError in the client, a lost event) when
two binary events arrive together, as `submitted` and `follow_frame` do."""
import asyncio
import threading

import requests
import socketio as socketio_client

from tests.classroom import cookie_header

_loop = None
_loop_lock = threading.Lock()


def loop():
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, daemon=True, name="socketio-clients").start()
        return _loop


def run(coroutine, timeout=60):
    return asyncio.run_coroutine_threadsafe(coroutine, loop()).result(timeout)


class Person:
    def __init__(self, url, session, code, role, reconnect=False, transports=("websocket",)):
        self.url, self.session, self.code, self.role = url, session, code, role
        self.events = {}
        self.connects = 0
        self.arrived = threading.Condition()
        self.client = run(self._make(reconnect))
        self.client.on("connect", self.joined)
        self.client.on("*", self.record)
        # Headers as a function: a fresh dict each (re)connection. Engine.IO's client deletes
        # the Cookie header from the dict it is given once it has used it, so a reconnection
        # with the same dict would come without the class's cookies.
        headers = lambda: {"Cookie": cookie_header(session)}  # noqa: E731
        run(self.client.connect(url, headers=headers, transports=list(transports), wait_timeout=20))
        self.wait("class_state")

    @staticmethod
    async def _make(reconnect):
        return socketio_client.AsyncClient(reconnection=reconnect, reconnection_delay=0.3, reconnection_delay_max=1)

    async def joined(self):
        with self.arrived:
            self.connects += 1
        await self.client.emit("join_class", {"code": self.code, "role": self.role})

    def record(self, event, data=None):
        with self.arrived:
            self.events.setdefault(event, []).append(data)
            self.arrived.notify_all()
        return True  # the acknowledgement frames wait for (each client has a window of 2)

    def emit(self, event, data):
        run(self.client.emit(event, data))

    @property
    def connected(self) -> bool:
        return self.client.connected

    def transport(self):
        return self.client.transport()

    def wait(self, event, count=1, timeout=30, where=lambda data: True):
        """The first `count` payloads of `event` that satisfy `where`."""
        def found():
            return [d for d in self.events.get(event, []) if where(d)]

        with self.arrived:
            assert self.arrived.wait_for(lambda: len(found()) >= count, timeout), (self.role, event, count, list(self.events))
            return found()[:count]

    def seen(self, event) -> list:
        with self.arrived:
            return list(self.events.get(event, []))

    def close(self):
        run(self.client.disconnect())


def start_class(url):
    """A teacher's session that started a class at `url`: (session, code)."""
    session = requests.Session()
    started = session.post(url + "/class", allow_redirects=False)
    assert started.status_code == 302, started.text[:300]
    return session, started.headers["Location"].split("/")[2]


def join(url, code, name):
    session = requests.Session()
    answer = session.post(url + "/join", data={"code": code, "name": name}, allow_redirects=False)
    assert answer.status_code == 302, answer.text[:300]
    return session
