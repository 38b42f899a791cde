"""The frame worker process: given the network's description once (NumPy weights, so it
never imports TensorFlow), it answers each batch of drawings with every drawing's frame or
error, the frames written into the buffer it shares with the server. A process of its own
so frames are made on the second core while the Socket.IO process spends its own on
messages; webapp/compute.py starts and supervises it."""
import ctypes
import logging
import mmap
import os

import numpy as np

from model.preprocess import EmptyDrawing, PreprocessError

from . import frames
from .service import InferenceService

log = logging.getLogger(__name__)
SLOT_BYTES = 64 * 70_000  # one batch's frames; two slots: one being written, one being read
FAILED = "internal error while running the network"
UNREADABLE = "that drawing could not be read: send strokes as lists of [x, y] number pairs"


def _refused(payload):
    raise PreprocessError(UNREADABLE)


def _prepare(service, kind):
    """How a job's payload becomes the network's input. "input": a picture to the network's
    input only (for HTTP, which runs the network itself); "refused": a job the server could
    not even hand over (see webapp.compute._pack)."""
    if kind == "draw":
        return service.prepare_strokes
    if kind in ("image", "input"):
        return service.prepare_picture
    return _refused


def compute_batch(service: InferenceService, jobs):
    """[(kind, payload, seq)] → [(frame bytes, None) or (None, error message)], one network
    pass; each job's failure is its own."""
    answers, ready = [None] * len(jobs), []
    for i, (kind, payload, seq) in enumerate(jobs):
        try:
            image = _prepare(service, kind)(payload)
        except EmptyDrawing as empty:
            # A drawing's empty frame; for an input, no values and the reason.
            answers[i] = (b"", str(empty)) if kind == "input" else (frames.encode_empty(seq), None)
        except PreprocessError as error:
            answers[i] = (None, str(error))
        except Exception:
            log.exception("preprocessing failed")
            answers[i] = (None, "internal error while reading that drawing")
        else:
            if kind == "input":
                answers[i] = (image.astype(np.float32).tobytes(), None)
            else:
                ready.append((i, seq, image))
    for i, answer in _run_network(service, ready):
        answers[i] = answer
    return answers


def _run_network(service, ready):
    """[(index, seq, image)] → [(index, answer)]: all at once, or one by one if that fails,
    so a fault in one drawing costs no other its frame."""
    if not ready:
        return []
    try:
        results = service.run_batch([image for _, _, image in ready])
    except Exception:
        if len(ready) == 1:
            log.exception("the network failed on a drawing")
            return [(ready[0][0], (None, FAILED))]
        return [answer for job in ready for answer in _run_network(service, [job])]
    return [(i, (frames.encode(seq, result), None)) for (i, seq, _), result in zip(ready, results)]


def serve(requests, answers, name, niceness):
    """The process's whole life: (description, novelty, shared file's path), then
    (slot, jobs) batches until the server closes the pipe."""
    _name_process("cnnview-spare")  # until it has its network: a spare, or still starting
    os.nice(niceness)
    try:
        description, novelty, path = requests.recv()
    except EOFError:  # the server is gone before this (spare) worker was used
        return
    _name_process(name)
    service = InferenceService(description, novelty)
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


def _name_process(name):
    """Name the process as `ps`, `top` and /proc/PID/comm show it (Linux), so an operator
    (or a test) can tell the frame worker from the picture worker."""
    try:
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _place(answers, shared, start):
    """Frames into the shared slot, replaced by their (offset, length); any that do not
    fit (a batch larger than the server's) stay in the answer as bytes."""
    at, placed = start, []
    for frame, error in answers:
        if frame is not None and at + len(frame) <= start + SLOT_BYTES:
            shared[at : at + len(frame)] = frame
            placed.append(((at, len(frame)), error))
            at += len(frame)
        else:
            placed.append((frame, error))
    return placed
