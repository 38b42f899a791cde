"""Pictures (HTTP uploads and the socket `image` event) are decoded in a worker process of
their own, never in the server's event loop and never in the frame worker: a big PNG takes
a second or more to decode, which would stall every drawing client's frames.

One picture at a time; socket clients' pictures are latest wins (a newer one replaces one
of theirs still waiting), and at most `capacity` wait in all: beyond that the sender is
told the server is busy, so uploads cannot pile up.
"""
import itertools
import threading

import numpy as np

from model.preprocess import EmptyDrawing, PreprocessError, check_picture

from .batcher import LatestWinsBatcher
from .compute import START_TIMEOUT

BUSY = "too many pictures are being read right now; try again in a few seconds"


class Busy(Exception):
    """The server cannot take this picture now (queue full, worker too slow): try again."""


class Pictures:
    def __init__(self, worker, capacity=4, shape=(28, 28, 1)):
        """`shape`: the network's input (height, width, channels)."""
        self.worker = worker
        h, w, c = shape
        self.shape = (h, w) if c == 1 else (h, w, c)
        self._queue = LatestWinsBatcher(self._answer, max_batch=1, capacity=capacity)
        self._requests = itertools.count()

    def submit(self, key, seq, data, deliver, fail):
        """A socket client's picture: its frame to `deliver(frame)`, or `fail(message)`."""
        def done(frame, error):
            if error is None:
                deliver(frame)
            else:
                fail(error)

        try:
            check_picture(data)
        except PreprocessError as refused:
            fail(str(refused))
            return
        if not self._queue.submit(("socket", key), (("image", data, seq), done)):
            fail(BUSY)

    def to_input(self, data: bytes) -> np.ndarray:
        """An uploaded picture's network input (for HTTP). Raises EmptyDrawing or
        PreprocessError for the picture, Busy when the server cannot read it now. Waits
        cooperatively under gevent (threading is patched there)."""
        check_picture(data)  # what the header refuses takes no place in the queue
        finished, answer = threading.Event(), []

        def done(values, error):
            answer.append((values, error))
            finished.set()

        if not self._queue.submit(("http", next(self._requests)), (("input", data, 0), done)):
            raise Busy(BUSY)
        # Bounded: each picture ahead of this one by the worker's timeout, plus one restart.
        if not finished.wait(START_TIMEOUT + (self._queue.capacity + 1) * self.worker.timeout):
            raise Busy(BUSY)
        [(values, error)] = answer
        if error in (self.worker.TOO_SLOW, self.worker.FAILED):
            raise Busy(error)
        if error is not None:
            # Empty bytes with the message: the worker found no digit in the picture.
            raise EmptyDrawing(error) if values == b"" else PreprocessError(error)
        return np.frombuffer(values, np.float32).reshape(self.shape)

    def _answer(self, jobs):
        [(job, done)] = jobs
        [(result, error)] = self.worker.run([job])
        done(result, error)
