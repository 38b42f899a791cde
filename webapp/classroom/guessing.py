"""How fast class codes can be guessed. A code is all a student needs to join, so guessing
must stay slow; but typos must never lock a school out, and a school is often one network
address (one NAT) for hundreds of people.

So: a right code is never refused for someone else's wrong ones while the address is within
its (generous) pace, anyone holding a valid cookie for the class is never counted at all,
and only an address that keeps typing wrong codes is slowed, and only while it does. See
README, "Guessing class codes", for what this leaves an attacker.
"""
import logging
import threading
import time

from limits.errors import StorageError

log = logging.getLogger(__name__)

SERVER = "*"  # the key of the server-wide buckets


class Buckets:
    """Token buckets by key: `per_minute` tokens a minute, at most `burst` saved up. A key
    whose bucket has filled up again is forgotten: addresses that stopped cost no memory."""

    def __init__(self, per_minute, burst):
        self.rate, self.burst = per_minute / 60, float(burst)
        self._buckets = {}  # key → (tokens, when)
        self._lock = threading.Lock()

    def tokens(self, key) -> float:
        with self._lock:
            return self._refill(key)

    def take(self, key) -> bool:
        """Spend one token if there is one."""
        with self._lock:
            tokens = self._refill(key)
            if tokens < 1:
                return False
            self._buckets[key] = (tokens - 1, time.monotonic())
            return True

    def _refill(self, key) -> float:
        tokens, when = self._buckets.get(key, (self.burst, 0.0))
        tokens = min(self.burst, tokens + (time.monotonic() - when) * self.rate)
        if tokens >= self.burst:
            self._buckets.pop(key, None)
        return tokens


class SharedBuckets:
    """The same allowance counted in Redis, for several processes (CNNVIEW_MESSAGE_QUEUE):
    with a count per process, three processes would let an address guess three times as
    fast. A moving window of `burst` look-ups over the time the bucket takes to fill
    (the `limits` library); one Redis round trip a check. While Redis does not answer,
    look-ups are let through (a restart must not lock every school out) and it is logged."""

    def __init__(self, per_minute, burst, storage, name):
        from limits import RateLimitItemPerSecond
        from limits.strategies import MovingWindowRateLimiter

        self.item = RateLimitItemPerSecond(int(burst), max(1, round(60 * burst / per_minute)), namespace="cnnview-codes")
        self.limiter = MovingWindowRateLimiter(storage)
        self.name = name

    def tokens(self, key) -> float:
        """1 when a look-up would be allowed, else 0 (how many is not needed)."""
        return float(self._ask(self.limiter.test, key))

    def take(self, key) -> bool:
        return self._ask(self.limiter.hit, key)

    def _ask(self, check, key) -> bool:
        try:
            return check(self.item, self.name, key)
        except StorageError as error:
            log.warning("wrong-code limiter: Redis did not answer (%s); letting this look-up through", str(error)[:100])
            return True


class TooFast(Exception):
    """This address (or, under attack, the server) looks codes up too fast: wait a little."""


class CodeGuard:
    """Counts wrong codes per address and server-wide, and paces code look-ups from
    addresses that are over their budget of wrong ones."""

    def __init__(self, config, redis_url=None):
        buckets = shared_buckets(redis_url) if redis_url else lambda per_minute, burst, name: Buckets(per_minute, burst)
        # Typos: an address may get this many codes wrong a minute without being slowed.
        self.wrong = buckets(config["WRONG_CODES_PER_MINUTE"], config["WRONG_CODES_PER_MINUTE"], "wrong")
        # Past that its look-ups, right or wrong, are paced: enough for a class of 30 behind
        # one NAT to open the link and send the form twice over, not enough to search codes.
        paced = config["CODE_LOOKUPS_PER_MINUTE_WHEN_GUESSING"]
        self.paced = buckets(paced, 2 * paced, "paced")
        # Many addresses guessing at once: past this many wrong codes a minute server-wide,
        # every look-up without a cookie shares one server-wide pace until it calms down.
        server = config["WRONG_CODES_PER_MINUTE_SERVER"]
        self.server_wrong = buckets(server, server, "server-wrong")
        under_attack = config["CODE_LOOKUPS_PER_MINUTE_UNDER_ATTACK"]
        self.server_paced = buckets(under_attack, under_attack, "server-paced")

    def look_up(self, address):
        """Before a code from `address` is answered: raises TooFast if it must wait."""
        under_attack = self.server_wrong.tokens(SERVER) < 1
        if not under_attack and self.wrong.tokens(address) >= 1:
            return
        if not self.paced.take(address) or (under_attack and not self.server_paced.take(SERVER)):
            raise TooFast()

    def was_wrong(self, address):
        self.wrong.take(address)
        self.server_wrong.take(SERVER)


def shared_buckets(redis_url):
    """A maker of SharedBuckets, all on one Redis connection pool."""
    from limits.storage import RedisStorage

    # Short timeouts: a join page must not hang on a Redis that does not answer.
    storage = RedisStorage(redis_url, wrap_exceptions=True, socket_timeout=2, socket_connect_timeout=2)
    return lambda per_minute, burst, name: SharedBuckets(per_minute, burst, storage, name)
