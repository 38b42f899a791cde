"""Protection from clients that send too much or go silent: floods and dead sockets."""
import logging
import socket
import threading
import time

log = logging.getLogger(__name__)


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


HANG_UP = "cnnview.hang_up"  # in a WebSocket's WSGI environ: ends that connection now


def websocket_guard(wsgi_app, seconds):
    """WSGI middleware for WebSocket connections: their network socket hangs up when a read
    or a write waits more than `seconds`, the app can hang up on a client (environ[HANG_UP]),
    and a connection that Engine.IO cannot read ends without a traceback.

    Engine.IO declares a peer gone when it misses a pong, but the WebSocket layer
    (simple-websocket) keeps a thread blocked reading the socket, and under gevent a
    write to a peer that reads nothing blocks forever: the connection and its file stayed
    open for as long as the peer's kernel answered TCP, and one that kept sending was read
    from forever. With a timeout longer than the ping interval plus the ping timeout, a
    live client (it answers every ping) never hits it.
    """

    def app(environ, start_response):
        if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
            return wsgi_app(environ, start_response)
        key = "gunicorn.socket" if "gunicorn.socket" in environ else "werkzeug.socket"
        sock = environ.get(key)
        if sock is None:
            return wsgi_app(environ, start_response)
        sock.settimeout(seconds)
        environ[key] = _HangUpOnTimeout(sock)  # what simple-websocket reads and writes through
        environ[HANG_UP] = lambda: hang_up(sock)
        try:
            return wsgi_app(environ, start_response)
        except (StopIteration, ConnectionError):
            raise  # how simple-websocket tells the server that the connection is over
        except Exception as error:
            # A frame that is not an Engine.IO packet at all ("x"): Engine.IO raises out of
            # its reader. The client broke the protocol: hang up, as simple-websocket would.
            log.info("websocket closed: unreadable Engine.IO packet (%s)", str(error)[:80])
            hang_up(sock)
            raise ConnectionError() if key == "werkzeug.socket" else StopIteration()

    return app


class _HangUpOnTimeout:
    """A socket whose timed-out read or failed write hangs up the connection and reads as
    the peer having gone (simple-websocket then closes down cleanly, without a traceback)."""

    def __init__(self, sock):
        self._sock = sock

    def send(self, data):
        try:
            return self._sock.send(data)
        except OSError:
            # Timed out, or closed meanwhile by the reading side: simple-websocket's close()
            # expects a peer that is gone to raise BrokenPipeError, and lets anything else
            # out as a traceback.
            hang_up(self._sock)
            raise BrokenPipeError() from None

    def recv(self, size):
        try:
            return self._sock.recv(size)
        except (TimeoutError, socket.timeout):
            hang_up(self._sock)
            return b""

    def __getattr__(self, name):
        return getattr(self._sock, name)


def hang_up(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)  # the server's own file objects share this socket: end it for all
    except OSError:
        pass  # already gone


class QuietClientMistakes(logging.Filter):
    """Drops Engine.IO's "message handler error" traceback for the one packet python-socketio
    refuses by raising and packets.py cannot see coming: a binary event sent before the
    client joined the namespace (python-socketio drops it and the client stays)."""

    MISTAKES = {"Unexpected binary packet"}

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, ValueError) and str(error) in self.MISTAKES)


def quiet_client_mistakes():
    logger = logging.getLogger("engineio.server")
    if not any(isinstance(f, QuietClientMistakes) for f in logger.filters):
        logger.addFilter(QuietClientMistakes())


def raise_open_file_limit():
    """Every connection is a file: take the most this process is allowed (the soft limit
    is often 1,024, under gunicorn's 2,000 connections)."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else max(soft, 65536), hard))
    except (ImportError, ValueError, OSError):  # not on this system, or not allowed: keep the limit
        pass


def read_bodies_first(app):
    """Read every request body before a view does, so one the server cannot read (a broken
    chunked encoding, a client gone mid-upload) is a 400 for that client, not a traceback
    from wherever the view first touched `request.form` or `request.files`. The body is
    bounded by MAX_CONTENT_LENGTH, and form parsing then reads it from memory."""
    from flask import abort, request
    from werkzeug.exceptions import HTTPException

    @app.before_request
    def read_body():
        if request.method not in ("POST", "PUT", "PATCH"):
            return
        try:
            request.get_data()
        except HTTPException:
            raise  # already a proper answer (413 for an upload that is too large)
        except Exception as error:  # the server's own parser's errors: gunicorn's are not Werkzeug's
            abort(400, f"the request body could not be read ({type(error).__name__})")


def return_big_buffers_to_the_system():
    """glibc raises its mmap threshold after a large buffer is freed, so later messages of up
    to a megabyte come from the heap and the heap keeps its peak: a client streaming big
    messages left the server tens of MB larger. A fixed threshold (glibc's own default,
    128 KB) keeps such buffers in mmap, returned when freed. Frames (4 KB) stay below it."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "mallopt"):
            libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    except OSError:  # not glibc: nothing to tune
        pass


def trust_proxies(app, hops):
    """Behind `hops` proxies (deploy/cnnview.conf), the client's address and scheme are the
    ones they forward; with none, headers that claim them are ignored (anyone can send them)."""
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
