"""How fast class codes can be guessed. A code is all a student needs to join, so guessing
must stay slow; but typos must never lock a school out, and a school is often one network
address (one NAT) for hundreds of people.

So: a right code is never refused for someone else's wrong ones while the address is within
its (generous) pace, anyone holding a valid cookie for the class is never counted at all,
and only an address that keeps typing wrong codes is slowed, and only while it does. See
README, "Guessing class codes", for what this leaves an attacker.
"""
import threading
import time

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


class TooFast(Exception):
    """This address (or, under attack, the server) looks codes up too fast: wait a little."""


class CodeGuard:
    """Counts wrong codes per address and server-wide, and paces code look-ups from
    addresses that are over their budget of wrong ones."""

    def __init__(self, config):
        # Typos: an address may get this many codes wrong a minute without being slowed.
        self.wrong = Buckets(config["WRONG_CODES_PER_MINUTE"], config["WRONG_CODES_PER_MINUTE"])
        # Past that its look-ups, right or wrong, are paced: enough for a class of 30 behind
        # one NAT to open the link and send the form twice over, not enough to search codes.
        paced = config["CODE_LOOKUPS_PER_MINUTE_WHEN_GUESSING"]
        self.paced = Buckets(paced, 2 * paced)
        # Many addresses guessing at once: past this many wrong codes a minute server-wide,
        # every look-up without a cookie shares one server-wide pace until it calms down.
        server = config["WRONG_CODES_PER_MINUTE_SERVER"]
        self.server_wrong = Buckets(server, server)
        self.server_paced = Buckets(config["CODE_LOOKUPS_PER_MINUTE_UNDER_ATTACK"], config["CODE_LOOKUPS_PER_MINUTE_UNDER_ATTACK"])

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
