"""The frame worker process: the same frames as computing in place, errors per drawing
(a poisoned drawing or a network fault fails alone), a worker that dies or hangs is
replaced; the picture queue is bounded."""
import contextlib
import os
import signal
import threading
import time

import numpy as np
import pytest

from model.preprocess import strokes_to_input
from tests.drawings import ONE, SEVEN, png_bytes
from webapp import compute, frame_decode
from webapp.compute import ComputeWorker
from webapp.frame_worker import UNREADABLE, compute_batch
from webapp.service import InferenceService
from webapp.pictures import BUSY, Busy, Pictures


def test_worker_frames_equal_frames_made_in_place(network, pen_test_samples):
    worker = ComputeWorker(network.description)
    service = InferenceService(network.description)
    drawings = [s["strokes"] for s in pen_test_samples[:12]]
    jobs = [("draw", strokes, seq) for seq, strokes in enumerate(drawings)]
    answers = worker.run(jobs)
    for seq, (strokes, (frame, error)) in enumerate(zip(drawings, answers)):
        # Alike, not bytewise: BLAS may sum in another order there (threads, batch size).
        alone = service.run(strokes_to_input(strokes))
        decoded = frame_decode.decode(frame, network)
        assert error is None and decoded["seq"] == seq and decoded["digit"] == alone.digit
        np.testing.assert_allclose(decoded["probabilities"], alone.probabilities, atol=1e-6)
        np.testing.assert_array_equal(decoded["image"], alone.image)
        for name, layer in decoded["layers"].items():
            # Within the format's bound (frame_decode.error_bound) of the worker's own floats, which
            # may differ from these by a rounding: half a step more.
            slack = frame_decode.step_size(layer) / 2 + 1e-5
            assert np.all(np.abs(layer["values"] - alone.layers[name].reshape(layer["shape"])) <= layer["error_bound"] + slack), name


def test_each_drawing_gets_its_own_answer_or_error(network):
    answers = compute_batch(
        InferenceService(network.description),
        [("draw", SEVEN, 1), ("draw", [], 2), ("draw", [[[0, float("nan")]]], 3), ("image", b"nope", 4),
         ("image", png_bytes(np.pad(np.full((10, 4), 255), 9)), 5)],
    )
    assert frame_decode.decode(answers[0][0], network)["digit"] == 7
    assert frame_decode.decode(answers[1][0], network)["digit"] == -1  # nothing drawn: an empty frame
    assert answers[2][0] is None and "NaN" in answers[2][1]
    assert answers[3][0] is None and "not an image" in answers[3][1]
    assert frame_decode.decode(answers[4][0], network)["seq"] == 5


def test_a_dead_worker_is_replaced(network):
    worker = ComputeWorker(network.description)
    assert worker.run([("draw", SEVEN, 1)])[0][1] is None
    worker._process.kill()  # between batches: the next one starts a new worker
    worker._process.join(5)
    assert worker.run([("draw", SEVEN, 2)])[0][1] is None
    batch = [("draw", SEVEN, n) for n in range(300)]  # ~0.1 s of work: killed half way
    worker.send(batch)
    worker._process.kill()
    assert worker.receive() == [(None, ComputeWorker.FAILED)] * 300  # told, not hung
    frame, error = worker.run([("draw", SEVEN, 3)])[0]
    assert error is None and frame_decode.decode(frame, network)["seq"] == 3
    # Two batches in flight and the worker dies after the first was sent: the first fails,
    # the second goes to the new worker and is answered, never mixed up with the first.
    worker.send(batch)
    worker._process.kill()
    worker._process.join(5)
    worker.send([("draw", SEVEN, 4)])
    assert worker.receive() == [(None, ComputeWorker.FAILED)] * 300
    frame, error = worker.receive()[0]
    assert error is None and frame_decode.decode(frame, network)["seq"] == 4


def nested(depth):
    """A point buried `depth` lists deep: 2 KB of JSON that overflows the pickler."""
    point = [0, 0]
    for _ in range(depth):
        point = [point]
    return [point]


def test_a_poisoned_drawing_fails_alone(network):
    worker = ComputeWorker(network.description)
    jobs = [("draw", SEVEN, 1), ("draw", nested(990), 2), ("draw", SEVEN, 3)]
    answers = worker.run(jobs)
    assert answers[1] == (None, UNREADABLE)
    for (frame, error), seq in ((answers[0], 1), (answers[2], 3)):
        assert error is None and frame_decode.decode(frame, network)["seq"] == seq and frame_decode.decode(frame, network)["digit"] == 7
    assert worker.run([("draw", SEVEN, 4)])[0][1] is None  # the same worker serves on


def test_a_network_fault_costs_only_its_drawing(network):
    one = strokes_to_input(ONE)

    class FailsOnAOne(InferenceService):
        def run_batch(self, images):
            if any(np.array_equal(image, one) for image in images):
                raise FloatingPointError("a fault in the network")
            return super().run_batch(images)

    answers = compute_batch(FailsOnAOne(network.description), [("draw", SEVEN, 1), ("draw", ONE, 2), ("draw", SEVEN, 3)])
    assert answers[1] == (None, ComputeWorker.FAILED)
    assert [frame_decode.decode(answers[i][0], network)["seq"] for i in (0, 2)] == [1, 3]


def test_a_stopped_worker_is_replaced_and_its_drawings_are_told(network):
    worker = ComputeWorker(network.description, timeout=1.0)
    assert worker.run([("draw", SEVEN, 1)])[0][1] is None
    stopped = worker.pid
    os.kill(stopped, signal.SIGSTOP)
    try:
        started = time.monotonic()
        worker.send([("draw", SEVEN, 2)])
        worker.send([("draw", SEVEN, 3)])  # pipelined behind it: told too, at once
        assert worker.receive() == [(None, ComputeWorker.TOO_SLOW)]
        assert worker.receive() == [(None, ComputeWorker.TOO_SLOW)]
        assert 1.0 <= time.monotonic() - started < 2.0
        frame, error = worker.run([("draw", SEVEN, 4)])[0]
        assert error is None and frame_decode.decode(frame, network)["seq"] == 4 and worker.pid != stopped
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(stopped, signal.SIGCONT)  # a failed assertion must not leave it stopped
    with pytest.raises(ProcessLookupError):
        os.kill(stopped, 0)  # killed and reaped, not left stopped


def test_a_full_pipe_to_a_stopped_worker_never_blocks_the_sender(network):
    """A stopped worker stops reading: a batch bigger than the pipe holds must not hang
    the server (under gevent a blocked write would stop every greenlet)."""
    worker = ComputeWorker(network.description, timeout=1.0)
    assert worker.run([("draw", SEVEN, 0)])[0][1] is None
    os.kill(worker.pid, signal.SIGSTOP)
    big = [[[float(i % 100), float(i % 37)] for i in range(9_000)]]  # ~150 KB pickled; a pipe holds 64 KB
    started = time.monotonic()
    worker.send([("draw", big, n) for n in range(12)])
    assert worker.receive() == [(None, ComputeWorker.TOO_SLOW)] * 12
    assert time.monotonic() - started < 2.5
    assert worker.run([("draw", SEVEN, 1)])[0][1] is None


def test_pictures_queue_is_bounded_and_answers_busy(network):
    """While the picture worker is stuck, at most `capacity` pictures wait; more are
    refused at once with a message, and the stuck one is told the worker was too slow."""
    pictures = Pictures(ComputeWorker(network.description, timeout=1.0, name="cnnview-picture"), capacity=2)
    photo = png_bytes(np.pad(np.full((10, 4), 255), 9))
    assert pictures.to_input(photo).shape == (28, 28)
    os.kill(pictures.worker.pid, signal.SIGSTOP)
    outcomes = []

    def upload():
        try:
            outcomes.append(pictures.to_input(photo).shape)
        except Busy as busy:
            outcomes.append(str(busy))

    threads = [threading.Thread(target=upload) for _ in range(5)]
    threads[0].start()
    deadline = time.monotonic() + 10
    while pictures._queue.batches < 2:  # the first upload is in the (stopped) worker
        assert time.monotonic() < deadline
        time.sleep(0.01)
    for thread in threads[1:]:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(90)
    assert outcomes.count(BUSY) == 2  # 1 stuck in the worker + 2 waiting; the 4th and 5th refused
    assert ComputeWorker.TOO_SLOW in outcomes and outcomes.count((28, 28)) == 2  # the waiting two: new worker


def test_a_spare_takes_over_at_once(network, monkeypatch):
    monkeypatch.setattr(compute, "SPARE_DELAY", 0.0)
    worker = ComputeWorker(network.description, timeout=1.0, spare=True)
    assert worker.run([("draw", SEVEN, 1)])[0][1] is None
    assert worker.run([("draw", SEVEN, 2)])[0][1] is None  # the spare is started by now
    spare = worker._spare[0].pid
    time.sleep(3)  # its imports done, as in a server that has run a while
    worker._process.kill()
    worker._process.join(5)
    started = time.monotonic()
    frame, error = worker.run([("draw", SEVEN, 3)])[0]
    assert error is None and frame_decode.decode(frame, network)["seq"] == 3 and worker.pid == spare
    assert time.monotonic() - started < 1.0  # no process start: the spare only gets its weights
