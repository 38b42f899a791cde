"""Frames are computed in a process of their own: preprocessing, every layer and encoding.

The Socket.IO process spends its core on messages; the frames for a batch of drawings
are made on the other core meanwhile, so the two add up instead of taking turns under
one GIL. The worker holds the network's weights as NumPy arrays (sent to it once, so it
never imports TensorFlow) and answers a batch with each drawing's frame or error.

Frames (69 KB each) travel through shared memory, not the pipe: read back from a pipe in
64 KB pieces they cost the Socket.IO process a seventh of its time. The pipe carries the
jobs in and, for each frame, where it lies in the shared buffer.
"""
import collections
import logging
import mmap
import multiprocessing
import os
import tempfile

from model.network import SHOWN_LAYERS, Network
from model.preprocess import EmptyDrawing, PreprocessError, image_to_input, strokes_to_input

from . import frames
from .inference import InferenceService

log = logging.getLogger(__name__)
PREPARE = {"draw": strokes_to_input, "image": image_to_input}
SLOT_BYTES = 64 * 70_000  # one batch's frames; two slots: one being written, one being read
FAILED = "internal error while running the network"


def compute_batch(service: InferenceService, jobs):
    """[(kind, payload, seq)] → [(frame bytes, None) or (None, error message)], one network pass."""
    answers, ready = [None] * len(jobs), []
    for i, (kind, payload, seq) in enumerate(jobs):
        try:
            ready.append((i, seq, PREPARE[kind](payload)))
        except EmptyDrawing:
            answers[i] = (frames.encode_empty(seq), None)
        except PreprocessError as error:
            answers[i] = (None, str(error))
        except Exception:
            log.exception("preprocessing failed")
            answers[i] = (None, "internal error while reading that drawing")
    if ready:
        images = [image for _, _, image in ready]
        for (i, seq, _), result in zip(ready, service.run_batch(images)):
            answers[i] = (frames.encode(seq, result, SHOWN_LAYERS), None)
    return answers


def _serve(requests, answers):
    weights, path = requests.recv()
    service = InferenceService(Network(weights))
    with open(path, "r+b") as file:
        shared = mmap.mmap(file.fileno(), 2 * SLOT_BYTES)
    answers.send("attached")
    while True:
        try:
            slot, jobs = requests.recv()
        except EOFError:  # the server is gone
            return
        try:
            answers.send(_place(compute_batch(service, jobs), shared, slot * SLOT_BYTES))
        except Exception:
            log.exception("frame batch failed")
            answers.send([(None, FAILED)] * len(jobs))


def _place(answers, shared, start):
    """Frames into the shared slot, replaced by their (offset, length); any that do not
    fit (a batch larger than the server's) stay in the answer as bytes."""
    at, placed = start, []
    for frame, error in answers:
        if frame is not None and at + len(frame) <= start + SLOT_BYTES:
            shared[at : at + len(frame)] = frame
            placed.append(((at, len(frame)), None))
            at += len(frame)
        else:
            placed.append((frame, error))
    return placed


class ComputeWorker:
    """One worker process, started on first use (so a pre-forking server starts it in the
    process that serves), restarted if it dies. Batches are answered in the order sent;
    the caller may send the next batch before receiving the last one's answers (no more
    than that), so the worker computes while the server sends frames out. One caller
    thread at a time."""

    FAILED = FAILED

    def __init__(self, weights):
        self._weights = weights
        self._requests = self._answers = self._process = self._shared = None
        self._generation = 0  # which worker process; batches sent to an earlier one fail
        self._outstanding = collections.deque()  # (size, generation, slot) of batches not yet received
        self._sent = 0

    def send(self, jobs):
        """Start on `jobs` ([(kind, payload, seq)], as `compute_batch` takes them)."""
        if len(self._outstanding) >= 2:
            raise RuntimeError("receive a batch's answers before sending a third")
        slot = self._sent % 2
        self._sent += 1
        try:
            if self._process is None or not self._process.is_alive():
                self._start()
            self._requests.send((slot, jobs))
        except (EOFError, OSError):
            self._lost()
        self._outstanding.append((len(jobs), self._generation, slot))

    def receive(self):
        """The answers to the oldest batch sent; waits cooperatively under gevent."""
        size, generation, slot = self._outstanding.popleft()
        if self._process is None or generation != self._generation:
            return [(None, FAILED)] * size
        try:
            _wait_readable(self._answers)
            answers = self._answers.recv()
        except (EOFError, OSError):
            self._lost()
            return [(None, FAILED)] * size
        return [(self._shared[frame[0] : frame[0] + frame[1]] if isinstance(frame, tuple) else frame, error)
                for frame, error in answers]

    def run(self, jobs):
        self.send(jobs)
        return self.receive()

    def _lost(self):
        log.error("the frame worker died; it is started again for the next batch")
        self._process = None

    def _start(self):
        for old in (self._requests, self._answers, self._shared):
            if old is not None:
                old.close()
        self._generation += 1
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        # Two one-way OS pipes, not a socket pair: gevent would make a socket pair non-blocking.
        their_requests, self._requests = context.Pipe(duplex=False)
        self._answers, their_answers = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve, args=(their_requests, their_answers), name="frame-worker", daemon=True
        )
        self._process.start()
        their_requests.close()
        their_answers.close()
        folder = "/dev/shm" if os.path.isdir("/dev/shm") else None  # memory, not disk, where there is one
        descriptor, path = tempfile.mkstemp(prefix="cnnview-frames-", dir=folder)
        try:
            os.ftruncate(descriptor, 2 * SLOT_BYTES)
            self._shared = mmap.mmap(descriptor, 2 * SLOT_BYTES)
            self._requests.send((self._weights, path))
            _wait_readable(self._answers)
            if self._answers.recv() != "attached":
                raise OSError("the frame worker did not start")
        finally:
            os.close(descriptor)
            os.unlink(path)  # both processes have it mapped: nothing is left behind


def off_loop(function, *args):
    """Call a slow function (TensorFlow's saliency gradient, ~7 ms) on a real thread when
    the server runs under gevent, so every other client is served meanwhile."""
    if gevent_patched():
        import gevent

        return gevent.get_hub().threadpool.apply(function, args)
    return function(*args)


def gevent_patched() -> bool:
    """True in a server started under gevent (the standard library patched for it)."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


def _wait_readable(connection):
    """Block until an answer is there: under gevent yield to other greenlets meanwhile."""
    if gevent_patched():
        from gevent.socket import wait_read

        wait_read(connection.fileno())
    else:
        connection.poll(None)
