"""The frame worker's supervisor, in the server: starts the worker process (webapp/
frame_worker.py) and a spare, hands it batches through a non-blocking pipe, and kills and
replaces one that dies or hangs. Frames come back through shared memory, the pipe carrying
only where each lies: read from a pipe in 64 KB pieces they cost the Socket.IO process a
seventh of its time."""
import collections
import logging
import mmap
import multiprocessing
import os
import pickle
import struct
import tempfile
import threading
import time

from .frame_worker import FAILED, SLOT_BYTES, serve
from .waits import wait_readable, wait_writable

log = logging.getLogger(__name__)
TOO_SLOW = "the network took too long to answer; please try again"
TIMEOUT = 2.0  # seconds a batch may take before its worker is taken as hung and replaced
START_TIMEOUT = 60.0  # a new worker imports NumPy and Pillow, more on a busy machine
SPARE_DELAY = 2.0  # seconds a worker serves before its spare is started


class ComputeWorker:
    """One worker process, started on first use (so a pre-forking server starts it in the
    process that serves) or by `warm`, replaced if it dies or hangs. Batches are answered
    in the order sent; the caller may send the next batch before receiving the last one's
    answers (no more than that), so the worker computes while the server sends frames out.
    One caller thread at a time.

    A worker that takes longer than `timeout` seconds over a batch (stopped, swapping,
    stuck) is killed: that batch and any sent after it are answered with TOO_SLOW, and the
    next batch starts a new worker. Nothing here blocks the server's event loop: under
    gevent both waiting for answers and writing jobs yield to other greenlets."""

    FAILED = FAILED
    TOO_SLOW = TOO_SLOW

    def __init__(self, description, timeout=TIMEOUT, name="cnnview-frames", niceness=0, spare=False, novelty=None):
        """`niceness`: the process's nice increment; the picture worker's 10 leaves the CPU
        to the frame worker and the server first when a core is short. `spare`: keep a
        second process started and imported, so a worker that dies or hangs is replaced
        at once (a new process takes a second or more to import) at the cost of its
        memory. `description`: the network's (model.description.NetworkDescription), with
        its weights; pickled to each process once, with `novelty` (model.novelty.Novelty
        or None), the statistics its frames' "unlike the training digits" flag needs."""
        self._description = description
        self._novelty = novelty
        self.timeout = timeout
        self.name = name
        self.niceness = niceness
        self.spare = spare
        self._spare = None  # (process, requests, answers): started, waiting for its weights
        self._attached_at = 0.0
        self._requests = self._answers = self._process = self._shared = None
        self._generation = 0  # which worker process; batches sent to an earlier one fail
        self._failure = {}  # generation → why its unanswered batches failed
        self._outstanding = collections.deque()  # (size, generation, slot) of batches not yet received
        self._sent = 0
        self._starting = threading.Lock()
        self._attached = False
        self._shared_path = None

    @property
    def pid(self):
        process = self._process
        return process.pid if process is not None else None

    def warm(self):
        """Start the worker now rather than on the first batch (at server start-up, so a
        client's first frame waits for no process start): launched at once, so its imports
        (~1 s) overlap the rest of the server's start, and attached in the background. Once:
        a page served asks again, and a launched worker is left to its first batch (which
        replaces it if it died). Read before the lock, which an attaching worker holds for a
        second or more, so a page is never held up here."""
        if self._process is not None:
            return
        with self._starting:
            if self._process is not None:
                return
            self._launch()
        threading.Thread(target=self._attach_quietly, name=f"{self.name}-start", daemon=True).start()

    def _attach_quietly(self):
        try:
            self._ensure_started()
        except (EOFError, OSError):
            self._lost()

    def send(self, jobs):
        """Start on `jobs` ([(kind, payload, seq)], as `frame_worker.compute_batch` takes them)."""
        if len(self._outstanding) >= 2:
            raise RuntimeError("receive a batch's answers before sending a third")
        slot = self._sent % 2
        self._sent += 1
        try:
            self._ensure_started()
            _write(self._requests, _pack(slot, jobs), self.timeout)
        except TimeoutError:
            self._hung()
        except (EOFError, OSError):
            self._lost()
        self._outstanding.append((len(jobs), self._generation, slot))

    def receive(self):
        """The answers to the oldest batch sent; waits cooperatively under gevent."""
        size, generation, slot = self._outstanding.popleft()
        if self._process is None or generation != self._generation:
            return [(None, self._failure.get(generation, FAILED))] * size
        try:
            if not wait_readable(self._answers, self.timeout):
                self._hung()
                return [(None, TOO_SLOW)] * size
            answers = self._answers.recv()
        except (EOFError, OSError):
            self._lost()
            return [(None, FAILED)] * size
        return [(self._shared[frame[0] : frame[0] + frame[1]] if isinstance(frame, tuple) else frame, error)
                for frame, error in answers]

    def run(self, jobs):
        self.send(jobs)
        return self.receive()

    def _hung(self):
        log.error("the %s worker gave no answer in %g s: it is killed and replaced", self.name, self.timeout)
        self._stop(TOO_SLOW)

    def _lost(self):
        log.error("the %s worker died; it is started again for the next batch", self.name)
        self._stop(FAILED)

    def _stop(self, reason):
        """Kill the worker (if any); its unanswered batches are answered with `reason`."""
        process, self._process = self._process, None
        if process is not None:
            self._failure = {self._generation: reason}
            process.kill()  # SIGKILL: a stopped (SIGSTOP) process dies too
            process.join(1)

    def _ensure_started(self):
        with self._starting:
            if self._process is None or not self._process.is_alive():
                self._launch()
            if not self._attached:
                self._attach()
            if self._spare_due():
                self._discard_spare()
                self._spare = self._spawn()

    def _spare_due(self) -> bool:
        """A spare is wanted and missing, and the first worker has served SPARE_DELAY
        seconds (spawned at once, its imports would slow a starting server's first
        frames); after a replacement at once, as faults come together."""
        if not self.spare or (self._spare is not None and self._spare[0].is_alive()):
            return False
        return self._generation > 1 or time.monotonic() - self._attached_at >= SPARE_DELAY

    def _launch(self):
        """A worker process, not yet attached: the spare (already imported) if there is
        one, else a new one, which imports while the server goes on."""
        self._stop(FAILED)
        for old in (self._requests, self._answers, self._shared):
            if old is not None:
                old.close()
        self._forget_shared_file()
        self._generation += 1
        self._attached = False
        self._process, self._requests, self._answers = self._take_spare()
        self._map_shared()

    def _take_spare(self):
        """(process, requests, answers): the spare, started now if there is none alive."""
        if self._spare is None or not self._spare[0].is_alive():
            self._discard_spare()
            self._spare = self._spawn()
        spare, self._spare = self._spare, None
        return spare

    def _map_shared(self):
        """Two slots of shared memory for the launched worker to map while attaching."""
        folder = "/dev/shm" if os.path.isdir("/dev/shm") else None  # memory, not disk, where there is one
        descriptor, self._shared_path = tempfile.mkstemp(prefix="cnnview-frames-", dir=folder)
        try:
            os.ftruncate(descriptor, 2 * SLOT_BYTES)
            self._shared = mmap.mmap(descriptor, 2 * SLOT_BYTES)
        finally:
            os.close(descriptor)

    def _spawn(self):
        """(process, requests, answers): a new worker process, importing; it waits for
        its weights."""
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        # Two one-way OS pipes, not a socket pair: gevent would make a socket pair non-blocking.
        their_requests, requests = context.Pipe(duplex=False)
        answers, their_answers = context.Pipe(duplex=False)
        # Writes that never block: a stopped worker with a full pipe must not freeze the
        # server (under gevent a blocking write would stop every greenlet).
        os.set_blocking(requests.fileno(), False)
        process = context.Process(
            target=serve, args=(their_requests, their_answers, self.name, self.niceness), name=self.name, daemon=True
        )
        process.start()
        their_requests.close()
        their_answers.close()
        return process, requests, answers

    def _discard_spare(self):
        if self._spare is not None:
            process, requests, answers = self._spare
            self._spare = None
            process.kill()
            process.join(1)
            requests.close()
            answers.close()

    def _attach(self):
        """Hand the launched worker its network and the shared buffer; wait until it has them."""
        try:
            _write(self._requests, pickle.dumps((self._description, self._novelty, self._shared_path), pickle.HIGHEST_PROTOCOL), START_TIMEOUT)
            if not wait_readable(self._answers, START_TIMEOUT) or self._answers.recv() != "attached":
                raise OSError(f"the {self.name} worker did not start")
            self._attached = True
            self._attached_at = time.monotonic()
        finally:
            self._forget_shared_file()

    def _forget_shared_file(self):
        """Unlink the buffer's file once both processes have it mapped: nothing is left behind."""
        if self._shared_path is not None:
            os.unlink(self._shared_path)
            self._shared_path = None


def _pack(slot, jobs):
    """The batch, pickled. A job that cannot be (lists nested a thousand deep overflow the
    pickler's recursion) is replaced by a refusal, so it fails alone."""
    try:
        return pickle.dumps((slot, jobs), pickle.HIGHEST_PROTOCOL)
    except Exception:
        return pickle.dumps((slot, [_picklable(job) for job in jobs]), pickle.HIGHEST_PROTOCOL)


def _picklable(job):
    try:
        pickle.dumps(job, pickle.HIGHEST_PROTOCOL)
        return job
    except Exception:
        log.warning("a drawing that cannot be handed to the worker was refused")
        return ("refused", None, job[2])


def _write(connection, payload, timeout):
    """Send pickled bytes as Connection.send would (a 4-byte length, then the bytes) on a
    non-blocking pipe, waiting for room cooperatively; TimeoutError after `timeout` s."""
    data = memoryview(struct.pack("!i", len(payload)) + payload)
    deadline = time.monotonic() + timeout
    while data:
        try:
            data = data[os.write(connection.fileno(), data) :]
        except BlockingIOError:
            if not wait_writable(connection.fileno(), deadline - time.monotonic()):
                raise TimeoutError from None
