"""Latest wins: per client, one frame in work and at most one waiting; newer replaces older."""
import threading


class LatestWins:
    def __init__(self):
        self._lock = threading.Lock()
        self._waiting = {}
        self._busy = set()
        self.submitted = 0
        self.dropped = 0

    def submit(self, key, job):
        """Run `job` now, or leave it for the thread already working for `key`.

        A job still waiting when a newer one arrives is dropped, never queued: a client
        drawing faster than the server answers always gets its newest drawing next.
        """
        with self._lock:
            self.submitted += 1
            if self._waiting.pop(key, None) is not None:
                self.dropped += 1
            self._waiting[key] = job
            if key in self._busy:
                return
            self._busy.add(key)
        while True:
            with self._lock:
                job = self._waiting.pop(key, None)
                if job is None:
                    self._busy.discard(key)
                    return
            job()

    def forget(self, key):
        with self._lock:
            self._waiting.pop(key, None)
