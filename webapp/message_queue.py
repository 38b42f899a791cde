"""Socket.IO's Redis message queue (CNNVIEW_MESSAGE_QUEUE), for several app processes:
an event emitted on one reaches the clients of all.

python-socketio publishes every emit to every process, even one to a single client
connected right here; each drawing's frame is such an emit, and 200 clients at 10 frames
a second would push 8 MB/s of frames through Redis to every process (and risk Redis's
output-buffer limit for pub/sub clients, which disconnects a listener that falls 8 MB
behind). Emits to a client of this process are delivered directly instead: only events for
rooms (a class, its teacher's pages) and for clients elsewhere use the queue.
"""
import socket

from socketio import RedisManager

# Notice a Redis machine that vanished without closing the connection within ~1 minute
# (the listener waits for messages without a read timeout, which would fire on a quiet
# channel; TCP keep-alive probes are what ends a dead connection).
KEEPALIVE = {
    getattr(socket, name): value
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))
    if hasattr(socket, name)
}


class LocalFirstRedisManager(RedisManager):
    def emit(self, event, data, namespace=None, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        room = to or room
        if room is not None and self.is_connected(room, namespace or "/"):
            # A sid of this process (every client is alone in the room named after it).
            kwargs["ignore_queue"] = True
        return super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)


def client_manager(url):
    """The manager for SocketIO(client_manager=...), or None for one process."""
    if not url:
        return None
    options = {"socket_keepalive": True, "socket_keepalive_options": KEEPALIVE, "health_check_interval": 30}
    return LocalFirstRedisManager(url, channel="flask-socketio", redis_options=options)
