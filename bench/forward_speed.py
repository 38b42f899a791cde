"""The forward pass (model.forward) of a model: CPU µs per image on batches of 1 and 8,
interleaved rounds. (The tutorial's hand-written pass it was compared with is gone: the
server runs this one for every model.)

    python -m bench.forward_speed [--model FILE.keras] [--rounds 7] [--seconds 0.3]
"""
import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from model.forward import Forward  # noqa: E402
from model.network import DEFAULT_MODEL_PATH  # noqa: E402
from model.parse_layers import describe_file  # noqa: E402


def per_image_us(run, images, seconds):
    """CPU time per image (the process's, BLAS on one thread as the server runs it): on a
    shared machine wall time mostly measures the neighbours."""
    run(images)
    count, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        run(images)
        count += 1
    return (time.process_time() - cpu) / count / len(images) * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args(argv)

    description = describe_file(args.model)
    generic = Forward(description)
    runners = {"generic": generic.run}
    rng = np.random.default_rng(0)
    h, w, c = description.input_shape
    for batch in (1, 8):
        images = rng.random((batch, h, w, c), dtype=np.float32)
        if c == 1:
            images = images[..., 0]
        times = {name: [] for name in runners}
        for _ in range(args.rounds):
            for name, run in runners.items():
                times[name].append(per_image_us(run, images, args.seconds))
        for name, values in times.items():
            print(f"batch {batch}: {name:12s} min {min(values):7.1f}  median {np.median(values):7.1f} µs/image")


if __name__ == "__main__":
    main()
