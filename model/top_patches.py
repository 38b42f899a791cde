"""What each filter looks for: `python -m model.top_patches`.

For every conv1 and conv2 channel, the 9 MNIST test images that activate it most, each
cropped to the receptive field of its strongest unit (2x2 for conv1, 5x5 for conv2),
saved beside the model. Nine different images per channel, so one digit cannot fill them all.
"""
import argparse
from pathlib import Path

import numpy as np

from .data import load_mnist
from .network import DEFAULT_MODEL_PATH, Network
from .receptive import receptive_field, receptive_fields

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "top_patches.npz"
LAYERS = ("conv1", "conv2")
TOP = 9


def top_patches(network, images, batch_size=500):
    """layer → dict of patches (channels, 9, size, size) in 0..1, and where each came from."""
    best = {name: [] for name in LAYERS}  # per batch: (strongest value, its flat position) per image and channel
    for start in range(0, len(images), batch_size):
        outputs = network.run(images[start : start + batch_size])
        for name in LAYERS:
            maps = outputs[name]  # (n, h, w, c)
            flat = maps.reshape(len(maps), -1, maps.shape[-1])
            best[name].append((flat.max(axis=1), flat.argmax(axis=1)))
    result = {}
    for name in LAYERS:
        values = np.concatenate([v for v, _ in best[name]])  # (images, channels)
        where = np.concatenate([w for _, w in best[name]])
        width = network.run(images[:1])[name].shape[2]
        size = receptive_fields()[name][1]
        order = np.argsort(-values, axis=0, kind="stable")[:TOP].T  # (channels, 9) image indices
        patches = np.zeros((order.shape[0], TOP, size, size), np.float32)
        rows, cols = np.zeros(order.shape, np.int64), np.zeros(order.shape, np.int64)
        for channel, picks in enumerate(order):
            for k, index in enumerate(picks):
                rows[channel, k], cols[channel, k] = divmod(int(where[index, channel]), width)
                top, left, bottom, right = receptive_field(name, rows[channel, k], cols[channel, k])
                patches[channel, k, : bottom - top + 1, : right - left + 1] = images[index, top : bottom + 1, left : right + 1]
        result[name] = {
            "patches": patches,
            "images": order,
            "rows": rows,
            "cols": cols,
            "values": np.take_along_axis(values, order.T, axis=0).T,
        }
    return result


def save(result, path):
    np.savez_compressed(path, **{f"{name}_{key}": array for name, parts in result.items() for key, array in parts.items()})


def load(path=DEFAULT_OUTPUT):
    with np.load(path) as data:
        return {name: {key.split("_", 1)[1]: data[key] for key in data.files if key.startswith(name + "_")} for name in LAYERS}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    parser.add_argument("--mnist", help="mnist.npz (default: $MNIST_PATH, else Keras' download)")
    parser.add_argument("--limit", type=int, help="only the first N test images (quick checks)")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT))
    args = parser.parse_args(argv)
    (_, _), (x_test, _) = load_mnist(args.mnist)
    result = top_patches(Network.load(args.model), x_test[: args.limit])
    save(result, args.output)
    print(f"wrote {args.output}: " + ", ".join(f"{n} {r['patches'].shape}" for n, r in result.items()))


if __name__ == "__main__":
    main()
