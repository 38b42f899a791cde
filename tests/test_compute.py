"""The frame worker process: the same frames as computing in place, errors per drawing,
and a worker that dies is replaced."""
import numpy as np

from model.preprocess import strokes_to_input
from tests.drawings import SEVEN, png_bytes
from webapp import frames
from webapp.compute import ComputeWorker, compute_batch
from webapp.inference import InferenceService


def test_worker_frames_equal_frames_made_in_place(network, pen_test_samples):
    worker = ComputeWorker(network.weights)
    service = InferenceService(network)
    drawings = [s["strokes"] for s in pen_test_samples[:12]]
    jobs = [("draw", strokes, seq) for seq, strokes in enumerate(drawings)]
    answers = worker.run(jobs)
    for seq, (strokes, (frame, error)) in enumerate(zip(drawings, answers)):
        # Alike, not bytewise: BLAS may sum in another order there (threads, batch size).
        alone = service.run(strokes_to_input(strokes))
        decoded = frames.decode(frame)
        assert error is None and decoded["seq"] == seq and decoded["digit"] == alone.digit
        np.testing.assert_allclose(decoded["probabilities"], alone.probabilities, atol=1e-6)
        np.testing.assert_array_equal(decoded["image"], alone.image)
        for name, layer in decoded["layers"].items():
            step = (layer["max"] - layer["min"]) / 255
            assert np.all(np.abs(layer["values"] - alone.layers[name].reshape(layer["shape"])) <= step + 1e-5), name


def test_each_drawing_gets_its_own_answer_or_error(network):
    answers = compute_batch(
        InferenceService(network),
        [("draw", SEVEN, 1), ("draw", [], 2), ("draw", [[[0, float("nan")]]], 3), ("image", b"nope", 4),
         ("image", png_bytes(np.pad(np.full((10, 4), 255), 9)), 5)],
    )
    assert frames.decode(answers[0][0])["digit"] == 7
    assert frames.decode(answers[1][0])["digit"] == -1  # nothing drawn: an empty frame
    assert answers[2][0] is None and "NaN" in answers[2][1]
    assert answers[3][0] is None and "not an image" in answers[3][1]
    assert frames.decode(answers[4][0])["seq"] == 5


def test_a_dead_worker_is_replaced(network):
    worker = ComputeWorker(network.weights)
    assert worker.run([("draw", SEVEN, 1)])[0][1] is None
    worker._process.kill()  # between batches: the next one starts a new worker
    worker._process.join(5)
    assert worker.run([("draw", SEVEN, 2)])[0][1] is None
    batch = [("draw", SEVEN, n) for n in range(300)]  # ~0.1 s of work: killed half way
    worker.send(batch)
    worker._process.kill()
    assert worker.receive() == [(None, ComputeWorker.FAILED)] * 300  # told, not hung
    frame, error = worker.run([("draw", SEVEN, 3)])[0]
    assert error is None and frames.decode(frame)["seq"] == 3
    # Two batches in flight and the worker dies after the first was sent: the first fails,
    # the second goes to the new worker and is answered, never mixed up with the first.
    worker.send(batch)
    worker._process.kill()
    worker._process.join(5)
    worker.send([("draw", SEVEN, 4)])
    assert worker.receive() == [(None, ComputeWorker.FAILED)] * 300
    frame, error = worker.receive()[0]
    assert error is None and frames.decode(frame)["seq"] == 4
