"""Latest wins, batched: per client at most one drawing waits, and one worker thread
answers every waiting client with a single pass through the network."""
import logging
import os
import threading

log = logging.getLogger(__name__)


class LatestWinsBatcher:
    def __init__(self, handle_batch, max_batch=64, capacity=None):
        """`handle_batch(jobs)` answers a list of jobs, as given to `submit`, in one go. It
        may instead return a function that finishes the answers: that is called once the
        next batch has been handed over, so the two overlap (frames computed elsewhere).
        `capacity`: at most that many clients waiting (None: no limit)."""
        self._handle_batch = handle_batch
        self.max_batch = max_batch
        self.capacity = capacity
        self._ready = threading.Condition()
        self._waiting = {}  # client → its newest job; dicts keep arrival order
        self._worker = None
        self._worker_pid = None  # the process the worker thread runs in (None: none runs)
        self.submitted = 0
        self.dropped = 0
        self.batches = 0

    def submit(self, key, job) -> bool:
        """Queue `job` for `key`, replacing (dropping) a job of theirs still waiting; False
        (and nothing queued) when `capacity` other clients are waiting already.

        The replacement keeps the client's place in line: moving it to the back would
        starve a client that draws faster than the line moves.
        """
        with self._ready:
            if self.capacity is not None and key not in self._waiting and len(self._waiting) >= self.capacity:
                return False
            self.submitted += 1
            self.dropped += key in self._waiting
            self._waiting[key] = job
            if self._worker_pid != os.getpid():
                # Started on first use, so a pre-forking server starts it in the worker process.
                # Not `Thread.is_alive()`: under gevent it yields to the hub, and a yield with
                # this lock held made every drawing's sender hold it for a turn of the event
                # loop; in a reconnect storm the batcher then waited seconds for it (#17).
                self._worker_pid = os.getpid()
                self._worker = threading.Thread(target=self._run, name="frame-batcher", daemon=True)
                self._worker.start()
            self._ready.notify()
        return True

    def forget(self, key):
        with self._ready:
            self._waiting.pop(key, None)

    def _run(self):
        try:
            self._serve()
        finally:
            self._worker_pid = None  # the next submit starts another

    def _serve(self):
        finish = None
        while True:
            with self._ready:
                while not self._waiting and finish is None:
                    self._ready.wait()
                keys = list(self._waiting)[: self.max_batch]
                jobs = [self._waiting.pop(key) for key in keys]
                self.batches += bool(jobs)
            started = self._call(self._handle_batch, jobs) if jobs else None
            if finish is not None:
                self._call(finish)
            finish = started

    @staticmethod
    def _call(function, *args):
        try:
            return function(*args)
        except Exception:  # the batcher must outlive any one bad batch
            log.exception("frame batch failed")
            return None
