"""Protection from clients that send too much: oversized messages and floods."""
import threading
import time


class RateLimiter:
    """A token bucket per client: `rate` messages a second on average, bursts up to `burst`."""

    def __init__(self, rate, burst, warn_every=1.0):
        self.rate, self.burst, self.warn_every = float(rate), float(burst), warn_every
        self._buckets = {}
        self._warned = {}
        self._lock = threading.Lock()

    def allow(self, key) -> bool:
        """Spend one token if there is one."""
        with self._lock:
            tokens, now = self._refill(key)
            allowed = tokens >= 1
            self._buckets[key] = (tokens - allowed, now)
            return allowed

    def exhausted(self, key) -> bool:
        """True when `key` has no whole token left; spends nothing."""
        with self._lock:
            return self._refill(key)[0] < 1

    def _refill(self, key):
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate), now

    def should_warn(self, key) -> bool:
        """At most one warning a `warn_every` seconds: a flood must not be answered by one."""
        now = time.monotonic()
        with self._lock:
            if now - self._warned.get(key, -self.warn_every) < self.warn_every:
                return False
            self._warned[key] = now
            return True

    def forget(self, key):
        with self._lock:
            self._buckets.pop(key, None)
            self._warned.pop(key, None)


def guard_message_size(server, limit, on_too_large):
    """Answer Socket.IO messages over `limit` bytes with an error instead of handling them.

    The Engine.IO transport can only hang up on a large message; checking here, before
    parsing, lets the client be told why while the connection stays up.
    """
    handle = server._handle_eio_message

    def guarded(eio_sid, data):
        if len(data) <= limit:
            return handle(eio_sid, data)
        # A dropped binary attachment would leave its event half-assembled: discard that too.
        server._binary_packet.pop(eio_sid, None)
        sid = server.manager.sid_from_eio_sid(eio_sid, "/")
        if sid is not None:
            on_too_large(sid, len(data))

    server.eio.on("message", guarded)
