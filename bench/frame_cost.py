"""Per-frame cost: strokes in → the binary frame out, against the tutorial's way.

    python -m bench.frame_cost [--frames 1000]

Both paths get the same drawing states of real pen digits and the same preprocessing.
Ours: NumPy forward pass of every layer + uint8 maps with per-map min/max.
Tutorial's: Keras `predict` on a multi-output model + every layer as JSON float lists.
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the server runs (webapp/__init__.py)

import numpy as np  # noqa: E402

from bench.common import drawing_states, percentiles  # noqa: E402
from model.network import DEFAULT_MODEL_PATH, SHOWN_LAYERS  # noqa: E402
from model.preprocess import strokes_to_input  # noqa: E402
from webapp import frames  # noqa: E402
from webapp.inference import get_service  # noqa: E402


def our_frame(service, seq, strokes):
    return frames.encode(seq, service.from_strokes(strokes), SHOWN_LAYERS)


def tutorial_frame(probe, strokes):
    outputs = probe.predict(strokes_to_input(strokes)[None, :, :, None], verbose=0)
    return json.dumps({name: out[0].tolist() for name, out in zip(SHOWN_LAYERS, outputs)})


def timed(function, summarise, items):
    """Time `function` on each item; keep only `summarise(result)`, computed untimed.

    Keeping every frame alive would make each new one land on fresh, page-faulting
    memory, which a server that sends and frees its frames never sees."""
    seconds, summaries = [], []
    for item in items:
        start = time.perf_counter()
        result = function(item)
        seconds.append(time.perf_counter() - start)
        summaries.append(summarise(result))
    return seconds, summaries


def our_summary(frame):
    return frames.HEADER.unpack_from(frame, 0)[3], len(frame)


def tutorial_summary(text):
    return int(np.argmax(json.loads(text)["output"])), len(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    args = parser.parse_args(argv)
    states = [strokes for _, strokes in drawing_states(args.frames)]
    # Ours first, before TensorFlow is even imported: its thread pools must not share the run.
    service = get_service(args.model)
    for strokes in states[:20]:
        our_frame(service, 0, strokes)
    ours, our_frames = timed(lambda s: our_frame(service, 1, s), our_summary, states)

    import keras

    model = keras.saving.load_model(args.model, compile=False)
    probe = keras.Model(model.inputs, [model.get_layer(name).output for name in SHOWN_LAYERS])
    for strokes in states[:20]:
        tutorial_frame(probe, strokes)
    theirs, their_frames = timed(lambda s: tutorial_frame(probe, s), tutorial_summary, states)

    agree = sum(a[0] == b[0] for a, b in zip(our_frames, their_frames))
    p50, p99 = percentiles(ours)
    t50, t99 = percentiles(theirs)
    print(f"frames {len(states)}; same prediction {agree}/{len(states)}")
    print(f"frame bytes: ours {np.mean([f[1] for f in our_frames]) / 1000:.1f} KB, tutorial {np.mean([f[1] for f in their_frames]) / 1000:.1f} KB")
    print(f"tutorial path p99 {t99:.2f} ms")
    print(f"frame p50 {p50:.3f} ms p99 {p99:.3f} ms; tutorial path p50 {t50:.2f} ms; speed-up {t50 / p50:.0f}×")
    return agree == len(states)


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
