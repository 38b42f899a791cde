"""The live classroom state that every app process must agree on: how many students are
online in a class, whether its teacher's "follow me" is on and the last frame of it (for
late joiners), and the follow-me frames themselves on their way to students connected
to other processes.

`MemoryState`: one process (the default, nothing to install). `RedisState`: several
processes or machines sharing one Redis (CNNVIEW_MESSAGE_QUEUE). Only what is shared goes
through Redis: a follow-me frame is published once, on its class's channel, which only
the processes with a member of that class listen to; every student's own frames stay in
its process (webapp/message_queue.py).
"""
import logging
import struct
import threading
import time

import orjson

log = logging.getLogger(__name__)

ONLINE_SECONDS = 30  # a process killed without a word stops counting its students after this
REFRESH_SECONDS = 10  # each process renews its students' places this often
KEEP_SECONDS = 86400  # follow-me keys of a class nobody touches any more go after a day
PREFIX = "cnnview:"
DELETED_CHANNEL = PREFIX + "deleted"  # class ids, as each class is deleted


class MemoryState:
    """Everything in this process's memory."""

    def __init__(self):
        self._online = {}  # class id → sids of students connected
        self._following = {}  # class id → the last follow-me payload (None: nothing yet)
        self._lock = threading.Lock()
        self.deliver = None  # (class id, origin sid, payload): the roster sends a follow frame on

    def start(self, roster):
        pass

    def joined(self, class_id, sid):
        with self._lock:
            self._online.setdefault(class_id, set()).add(sid)

    def left(self, class_id, sid):
        with self._lock:
            self._online.get(class_id, set()).discard(sid)

    def online(self, class_id) -> int:
        with self._lock:
            return len(self._online.get(class_id, ()))

    def set_following(self, class_id, on: bool):
        with self._lock:
            if on:
                self._following.setdefault(class_id, None)
            else:
                self._following.pop(class_id, None)

    def following(self, class_id):
        """(on, the last payload sent to the class)."""
        with self._lock:
            return class_id in self._following, self._following.get(class_id)

    def publish_follow(self, class_id, origin, payload):
        with self._lock:
            if class_id not in self._following:  # turned off while this frame was made
                return
            self._following[class_id] = payload
        self.deliver(class_id, origin, payload)

    def forget_class(self, class_id):
        with self._lock:
            self._online.pop(class_id, None)
            self._following.pop(class_id, None)


class RedisState:
    """The same in Redis. Redis down (restarting) is logged and lived through: counts fall
    back to this process's own students, follow-me to off, and everything is back once it
    answers again (its students' places are renewed within REFRESH_SECONDS)."""

    def __init__(self, url, spawn):
        import redis

        self.redis_errors = (redis.RedisError, OSError)
        # Commands: short timeouts, a Redis that does not answer is an error, not a hang.
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)
        # The listener: no read timeout (redis-py would raise on a quiet channel), TCP
        # keep-alive to notice a Redis machine that vanished, and a health check each time
        # get_message is called after 30 s without traffic.
        self.listener = redis.Redis.from_url(url, socket_connect_timeout=5, socket_keepalive=True, health_check_interval=30)
        self._spawn = spawn
        self.deliver = None
        self._local = None
        self._warned = 0.0

    def start(self, roster):
        """Listen for follow-me frames and renew online places, in a background task."""
        self._local = roster
        self._spawn(self._listen)

    # Online students
    def joined(self, class_id, sid):
        self._try(lambda: self.redis.zadd(online_key(class_id), {sid: time.time() + ONLINE_SECONDS}))

    def left(self, class_id, sid):
        self._try(lambda: self.redis.zrem(online_key(class_id), sid))

    def online(self, class_id) -> int:
        def count():
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.zremrangebyscore(online_key(class_id), "-inf", time.time())
                pipe.zcard(online_key(class_id))
                return pipe.execute()[1]

        return self._try(count, fallback=lambda: self._local.local_online(class_id))

    # Follow me
    def set_following(self, class_id, on: bool):
        def write():
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(last_key(class_id))  # a new stage starts empty
                if on:
                    pipe.set(on_key(class_id), 1, ex=KEEP_SECONDS)
                else:
                    pipe.delete(on_key(class_id))
                pipe.execute()

        self._try(write)

    def following(self, class_id):
        def read():
            on, last = self.redis.mget(on_key(class_id), last_key(class_id))
            return on is not None, unpack(last)[1] if on is not None and last else None

        return self._try(read, fallback=lambda: (False, None))

    def publish_follow(self, class_id, origin, payload):
        """Keep the frame for late joiners and send it to every process with the class."""
        def send():
            if not self.redis.exists(on_key(class_id)):  # turned off while this frame was made
                return
            packed = pack(origin, payload)
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(last_key(class_id), packed, ex=KEEP_SECONDS)
                pipe.publish(follow_channel(class_id), packed)
                pipe.execute()

        self._try(send)

    def forget_class(self, class_id):
        """A deleted class: its keys go, and every process drops its members of it (they
        would go on being counted, and listened for, until they disconnect)."""
        def forget():
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.delete(online_key(class_id), on_key(class_id), last_key(class_id))
                pipe.publish(DELETED_CHANNEL, str(class_id))
                pipe.execute()

        self._try(forget)

    # The listener
    def _listen(self):
        """Forever: follow-me frames of the classes this process has members in, to them;
        every REFRESH_SECONDS this process's students' places renewed. Reconnects after
        Redis went away, waiting longer each time (at most 30 s between tries)."""
        pause = 1
        while True:
            try:
                self._serve(self.listener.pubsub(ignore_subscribe_messages=True))
            except self.redis_errors as error:
                self._warn(f"follow-me listener lost Redis ({error}); retrying in {pause} s")
                time.sleep(pause)
                pause = min(30, pause * 2)

    def _serve(self, pubsub):
        subscribed, renewed = set(), 0.0
        try:
            while True:
                wanted = {DELETED_CHANNEL, *(follow_channel(c) for c in self._local.local_classes())}
                if wanted - subscribed:
                    pubsub.subscribe(*(wanted - subscribed))
                if subscribed - wanted:
                    pubsub.unsubscribe(*(subscribed - wanted))
                subscribed = wanted
                if time.monotonic() - renewed > REFRESH_SECONDS:
                    self._renew()
                    renewed = time.monotonic()
                message = pubsub.get_message(timeout=0.2)
                if message and message["type"] == "message" and message["channel"] == DELETED_CHANNEL.encode():
                    self._local.forget_local(int(message["data"]))
                elif message and message["type"] == "message":
                    class_id = int(message["channel"].rsplit(b":", 1)[1])
                    origin, payload = unpack(message["data"])
                    self.deliver(class_id, origin, payload)
        finally:
            pubsub.close()

    def _renew(self):
        places = self._local.local_students()
        if not places:
            return
        until = time.time() + ONLINE_SECONDS
        with self.redis.pipeline(transaction=False) as pipe:
            for class_id, sid in places:
                pipe.zadd(online_key(class_id), {sid: until})
                pipe.expire(online_key(class_id), KEEP_SECONDS)
            pipe.execute()

    def _try(self, action, fallback=lambda: None):
        try:
            return action()
        except self.redis_errors as error:
            self._warn(f"Redis did not answer ({error}): going on without the shared state for now")
            return fallback()

    def _warn(self, text):
        # At most one line a few seconds: a Redis restart must not flood the log.
        if time.monotonic() - self._warned > 5:
            self._warned = time.monotonic()
            log.warning(text)


def online_key(class_id):
    return f"{PREFIX}online:{class_id}"


def on_key(class_id):
    return f"{PREFIX}follow:{class_id}:on"


def last_key(class_id):
    return f"{PREFIX}follow:{class_id}:last"


def follow_channel(class_id):
    return f"{PREFIX}follow:{class_id}"


_LENGTH = struct.Struct("<I")


def pack(origin, payload) -> bytes:
    """A follow-me payload as one Redis value: the frame's bytes as they are (no base64),
    after its drawing and the sender's sid as JSON."""
    meta = orjson.dumps({"origin": origin, **{k: v for k, v in payload.items() if k != "frame"}})
    return _LENGTH.pack(len(meta)) + meta + payload["frame"]


def unpack(data):
    (length,) = _LENGTH.unpack_from(data, 0)
    meta = orjson.loads(data[4 : 4 + length])
    origin = meta.pop("origin")
    return origin, {**meta, "frame": bytes(data[4 + length :])}


def make_state(url, spawn):
    return RedisState(url, spawn) if url else MemoryState()
