"""Per-frame cost: strokes in → the binary frame out, against the tutorial's way.

    python -m bench.frame_cost [--frames 1000] [--model FILE.keras ...]

Default: each shipped model (webapp/models.py SHIPPED) in turn.

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
from model.parse_layers import describe_file  # noqa: E402
from webapp import frames  # noqa: E402
from webapp.models import SHIPPED  # noqa: E402
from webapp.service import InferenceService  # noqa: E402


def our_frame(service, seq, strokes):
    return frames.encode(seq, service.from_strokes(strokes))


def keras_layers(description):
    """The shown layers that are Keras layers of their own (a fused activation is not)."""
    return [layer.name for layer in description.shown if layer.name == layer.source]


def tutorial_frame(probe, names, service, strokes):
    image = service.prepare_strokes(strokes)
    outputs = probe.predict(image.reshape(1, *service.description.input_shape), verbose=0)
    return json.dumps({name: out[0].tolist() for name, out in zip(names, outputs)})


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
    return int(np.argmax(list(json.loads(text).values())[-1])), len(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--model", action="append", help="a .keras file (repeatable); default: each shipped model")
    parser.add_argument("--no-keras", action="store_true", help="time ours only (no TensorFlow)")
    args = parser.parse_args(argv)
    states = [strokes for _, strokes in drawing_states(args.frames)]
    paths = args.model or [str(path) for path in SHIPPED.values()]
    # Ours first, before TensorFlow is even imported: its thread pools must not share the run.
    ours = {path: measure_ours(path, states) for path in paths}
    agree = True
    for path in paths:
        service, times, summaries = ours[path]
        p50, p99 = percentiles(times)
        print(f"{path}: {len(states)} frames, {np.mean([f[1] for f in summaries]) / 1000:.1f} KB; frame p50 {p50:.3f} ms p99 {p99:.3f} ms")
        if not args.no_keras:
            agree &= compare_with_keras(path, service, states, summaries, p50)
    return agree


def measure_ours(path, states):
    service = InferenceService(describe_file(path))
    for strokes in states[:20]:
        our_frame(service, 0, strokes)
    times, summaries = timed(lambda s: our_frame(service, 1, s), our_summary, states)
    return service, times, summaries


def compare_with_keras(path, service, states, our_frames, p50):
    import keras

    model = keras.saving.load_model(path, compile=False)
    names = keras_layers(service.description)
    probe = keras.Model(model.inputs, [model.get_layer(name).output for name in names])
    for strokes in states[:20]:
        tutorial_frame(probe, names, service, strokes)
    theirs, their_frames = timed(lambda s: tutorial_frame(probe, names, service, s), tutorial_summary, states)
    agree = sum(a[0] == b[0] for a, b in zip(our_frames, their_frames))
    t50, t99 = percentiles(theirs)
    print(f"  same prediction {agree}/{len(states)}; tutorial path (Keras predict + JSON) {np.mean([f[1] for f in their_frames]) / 1000:.1f} KB, "
          f"p50 {t50:.2f} ms p99 {t99:.2f} ms; speed-up {t50 / p50:.0f}×")
    return agree == len(states)


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
