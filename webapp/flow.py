"""Flow control for frames: each recipient has at most `window` frames sent and not yet
acknowledged; while the window is full only its newest frame waits, so the server holds a
few frames per client whatever the client reads, and a slow reader gets the newest state,
never a backlog."""
import threading
import time


class _Recipient:
    __slots__ = ("in_flight", "held", "full_since")

    def __init__(self):
        self.in_flight = 0
        self.held = None  # (event, payload) waiting for a free slot
        self.full_since = None


class FlowControl:
    def __init__(self, emit, connected, window=2, stall_seconds=15.0):
        """`emit(sid, event, payload, callback)` sends one message whose acknowledgement
        calls `callback`; `connected(sid)` says whether the client is still there. `window`
        None: no limit (for clients that cannot acknowledge, such as Flask-SocketIO's
        in-process test client)."""
        self._emit = emit
        self._connected = connected
        self.window = window
        self.stall_seconds = stall_seconds
        self._recipients = {}  # sid → {stream → _Recipient}
        self._lock = threading.Lock()

    def send(self, sid, event, payload, stream=None):
        """Send now if the window has room, else keep this as the one frame that waits."""
        if self.window is None:
            self._emit(sid, event, payload, None)
            return
        if not self._connected(sid):
            return  # a frame finished after its client left: nothing to keep for it
        with self._lock:
            recipient = self._recipients.setdefault(sid, {}).setdefault(stream or event, _Recipient())
            go = recipient.in_flight < self.window
            if go:
                recipient.in_flight += 1
            else:
                recipient.held = (event, payload)  # an older waiting frame is dropped here
                recipient.full_since = recipient.full_since or time.monotonic()
        if go:
            self._emit(sid, event, payload, self._on_ack(sid, recipient))

    def _on_ack(self, sid, recipient):
        def acked(*_):
            with self._lock:
                if recipient not in self._recipients.get(sid, {}).values():
                    return  # forgotten: the client left
                recipient.in_flight = max(0, recipient.in_flight - 1)
                recipient.full_since = None
                held, recipient.held = recipient.held, None
                if held:
                    recipient.in_flight += 1
            if held:
                self._emit(sid, *held, self._on_ack(sid, recipient))

        return acked

    def stalled(self, sid) -> bool:
        """True when a window of `sid`'s has been full for more than `stall_seconds`."""
        now = time.monotonic()
        with self._lock:
            streams = self._recipients.get(sid, {}).values()
            return any(r.full_since is not None and now - r.full_since > self.stall_seconds for r in streams)

    def forget(self, sid):
        """Release everything held for `sid` (it left)."""
        with self._lock:
            self._recipients.pop(sid, None)

    def held_frames(self) -> int:
        with self._lock:
            return sum(r.held is not None for streams in self._recipients.values() for r in streams.values())
