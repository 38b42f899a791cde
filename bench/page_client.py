"""A Socket.IO client that acts as the drawing page does (static/js/stream.js), for
benchmarks: at most 2 drawing states without an answer, only the newest waiting and sent
when an answer comes, at most one state per animation frame (60 Hz), pen-up at once; every
`frame` and `follow_frame` acknowledged as it arrives. `Pen` draws real UCI pen digits
point by point."""
import asyncio
import os
import random
import sys
import time

from bench.common import fit
from model.data import DEFAULT_PEN_TRAIN, load_pen_samples

WINDOW = 2  # stream.js: drawing states out without an answer
ANSWER_TIMEOUT = 3.0  # stream.js: a missing answer must not stall the page
FRAME_HZ = 60  # animation frames a second: at most one drawing state each


class Page:
    """One browser page's Socket.IO link, as static/js/stream.js does it."""

    def __init__(self, name, ack_delay=0.0):
        import socketio

        from webapp.frames import HEADER

        self.header = HEADER
        self.name = name
        self.ack_delay = ack_delay
        self.sio = socketio.AsyncClient(reconnection=False, engineio_logger=bool(os.environ.get("CNNBENCH_DEBUG")))
        self.seq = 0
        self.pending = None
        self.scheduled = False
        self.in_flight = []
        self.retry = None
        self.sent = {}  # seq → when sent
        self.frames = {}  # seq → (when, bytes, digit) of `frame`
        self.follows = {}  # teacher's seq → (when, bytes) of `follow_frame`
        self.arrivals = []  # (when, bytes) of every frame and follow_frame
        self.errors = 0
        self.state = asyncio.Event()
        self.sio.on("frame", self.on_frame)
        self.sio.on("follow_frame", self.on_follow)
        self.sio.on("error_message", self.on_error)
        self.sio.on("class_state", lambda data: self.state.set())
        self.sio.on("disconnect", self.on_disconnect)
        self.closing = False
        self.gone = None  # why the connection ended, when it ended before the benchmark did

    async def close(self):
        self.closing = True
        await self.sio.disconnect()

    def on_disconnect(self, reason=None):
        if self.gone is None and not self.closing:
            self.gone = str(reason)
            print(f"{self.name}: disconnected ({reason}) at {time.strftime('%H:%M:%S')}", file=sys.stderr)

    async def connect(self, url, cookie=None):
        headers = {"Cookie": cookie} if cookie else {}
        await self.sio.connect(url, headers=headers, transports=["websocket"], wait_timeout=30)

    async def join(self, code, role):
        self.state.clear()
        await self.sio.emit("join_class", {"code": code, "role": role})
        await asyncio.wait_for(self.state.wait(), 30)

    # Incoming: acknowledged once taken (the ack goes when the handler returns).
    async def on_frame(self, data):
        now = time.perf_counter()
        _, _, _, digit, seq = self.header.unpack_from(data, 0)
        self.frames[seq] = (now, len(data), digit)
        self.arrivals.append((now, len(data)))
        await self.answered(seq)

    async def on_follow(self, payload):
        now = time.perf_counter()
        frame = payload["frame"]
        seq = self.header.unpack_from(frame, 0)[4]
        self.follows[seq] = (now, len(frame))
        self.arrivals.append((now, len(frame)))
        if self.ack_delay:
            await asyncio.sleep(self.ack_delay)  # a slow phone: takes its frames late

    async def on_error(self, error):
        self.errors += 1
        await self.answered(error.get("seq"))

    # Outgoing drawing states.
    async def draw(self, strokes, now=False):
        self.seq += 1
        self.pending = {"seq": self.seq, "strokes": strokes, "width": 400, "height": 400}
        if now:
            await self.flush(True)
        else:
            self.scheduled = True  # sent on the next animation frame
        return self.seq

    def skip(self):
        """The pad cleared, nothing to send (connection.js `skip`)."""
        self.seq += 1
        self.pending = None
        return self.seq

    async def animation_frame(self):
        if self.scheduled:
            await self.flush()

    async def answered(self, seq):
        if not isinstance(seq, int):
            return
        self.in_flight = [sent for sent in self.in_flight if sent > seq]
        if self.pending and not self.scheduled:
            await self.flush()

    async def flush(self, now=False):
        self.scheduled = False
        if not self.pending or self.gone is not None:
            return
        if not now and len(self.in_flight) >= WINDOW:
            if self.retry is None:
                self.retry = asyncio.get_running_loop().call_later(ANSWER_TIMEOUT, self._give_up_waiting)
            return
        if self.retry is not None:
            self.retry.cancel()
            self.retry = None
        payload, self.pending = self.pending, None
        self.in_flight.append(payload["seq"])
        self.sent[payload["seq"]] = time.perf_counter()
        try:
            await self.sio.emit("draw", payload)
        except socketio_errors().BadNamespaceError:
            self.gone = self.gone or "gone while sending"

    def _give_up_waiting(self):
        self.retry = None
        self.in_flight = []
        asyncio.ensure_future(self.flush())


def socketio_errors():
    import socketio

    return socketio.exceptions


class Pen:
    """Draws pen digits point by point at `rate` points a second, one state per animation
    frame, pen-up at once; returns (seq, time) of each digit's last pen-up."""

    def __init__(self, digits, rate, stroke_gap=0.2):
        self.digits = digits
        self.period = 1.0 / rate
        self.stroke_gap = stroke_gap
        self.lateness = []  # how late the client's own clock ticks were (its CPU)

    async def sleep_until(self, when):
        delay = when - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        self.lateness.append(max(0.0, time.perf_counter() - when))

    async def draw_digit(self, page, strokes):
        """One digit; `animation_frames` sends the scheduled states meanwhile."""
        current = []
        t = time.perf_counter()
        for stroke in strokes:
            current.append([])
            for point in stroke:
                await self.sleep_until(t)
                current[-1].append(point)
                await page.draw([list(s) for s in current])
                t += self.period
            await self.sleep_until(t)  # the pen lifts after its last point
            seq = await page.draw([list(s) for s in current], now=True)
            up = time.perf_counter()
            t = up + self.stroke_gap
        return seq, up


async def animation_frames(pages, until):
    """requestAnimationFrame for every page: scheduled states go out at 60 Hz."""
    period = 1.0 / FRAME_HZ
    t = time.perf_counter()
    while time.perf_counter() < until:
        for page in pages:
            await page.animation_frame()
        t += period
        await asyncio.sleep(max(0.0, t - time.perf_counter()))


def pen_digits(seed):
    samples = load_pen_samples(DEFAULT_PEN_TRAIN)
    random.Random(seed).shuffle(samples)
    return [(s["label"], fit(s["strokes"], 400)) for s in samples]
