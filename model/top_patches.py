"""What each filter looks for: `python -m model.top_patches [--model FILE.keras]`.

For every channel of every shown conv layer (conv1 and conv2 in the tutorial's network),
the 9 MNIST test images that activate it most, each cropped to the receptive field of its
strongest unit (2x2 for conv1, 5x5 for conv2), saved beside the model. Nine different
images per channel, so one digit cannot fill them all. The conv layers and their fields
come from the model's description (model.forward runs it).
"""
import argparse
from pathlib import Path

import numpy as np

from .data import load_mnist
from .evaluate import load_network
from .fields import receptive_fields as described_fields
from .network import DEFAULT_MODEL_PATH

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "top_patches.npz"
TOP = 9
PARTS = ("patches", "images", "rows", "cols", "values", "digits")


def conv_layers(network):
    """The layers to find patches for, and a function (layer, row, col) → the input box
    (top, left, bottom, right) a unit reads, and each layer's field size (rows, columns)."""
    description = network.description
    fields = described_fields(description)
    names = tuple(layer.name for layer in description.layers if layer.kind == "conv" and layer.name in description.shown_names)
    return names, lambda name, row, col: fields[name].box(row, col), {name: fields[name].size for name in names}


def top_patches(network, images, batch_size=500):
    """layer → dict of patches (channels, 9, size, size) in 0..1, and where each came from.
    `network`: a model.forward.Forward; every shown conv layer of it."""
    layers, field_of, sizes = conv_layers(network)
    best = {name: [] for name in layers}  # per batch: (strongest value, its flat position) per image and channel
    for start in range(0, len(images), batch_size):
        outputs = network.run(images[start : start + batch_size])
        for name in layers:
            maps = outputs[name]  # (n, h, w, c)
            flat = maps.reshape(len(maps), -1, maps.shape[-1])
            best[name].append((flat.max(axis=1), flat.argmax(axis=1)))
    result = {}
    for name in layers:
        values = np.concatenate([v for v, _ in best[name]])  # (images, channels)
        where = np.concatenate([w for _, w in best[name]])
        width = network.run(images[:1])[name].shape[2]
        order = np.argsort(-values, axis=0, kind="stable")[:TOP].T  # (channels, 9) image indices
        patches = np.zeros((order.shape[0], TOP, *sizes[name]), np.float32)
        rows, cols = np.zeros(order.shape, np.int64), np.zeros(order.shape, np.int64)
        for channel, picks in enumerate(order):
            for k, index in enumerate(picks):
                rows[channel, k], cols[channel, k] = divmod(int(where[index, channel]), width)
                top, left, bottom, right = field_of(name, rows[channel, k], cols[channel, k])
                patches[channel, k, : bottom - top + 1, : right - left + 1] = images[index, top : bottom + 1, left : right + 1]
        result[name] = {
            "patches": patches,
            "images": order,
            "rows": rows,
            "cols": cols,
            "values": np.take_along_axis(values, order.T, axis=0).T,
            # the whole digits the patches come from, as MNIST's own 8-bit grey levels: the
            # page shows each patch in its digit, and the app must run without MNIST
            "digits": with_digits(images, order),
        }
    return result


def with_digits(images, order) -> np.ndarray:
    """(channels, 9, h, w) uint8: image `order[channel, k]` of `images` (0..1) as grey levels."""
    return np.rint(np.clip(images[order], 0, 1) * 255).astype(np.uint8)


def save(result, path):
    np.savez_compressed(path, **{f"{name}_{key}": array for name, parts in result.items() for key, array in parts.items()})


def load(path=DEFAULT_OUTPUT):
    """layer → its parts, for every layer in the file, in the file's order (keys are
    "<layer>_<part>", and a layer name may itself hold an underscore)."""
    with np.load(path) as data:
        result = {}
        for key in data.files:
            name, part = key.rsplit("_", 1)
            if part in PARTS:
                result.setdefault(name, {})[part] = data[key]
        return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    parser.add_argument("--mnist", help="mnist.npz (default: $MNIST_PATH, else Keras' download)")
    parser.add_argument("--limit", type=int, help="only the first N test images (quick checks)")
    parser.add_argument("--output", help="default: top_patches.npz beside the model")
    args = parser.parse_args(argv)
    (_, _), (x_test, _) = load_mnist(args.mnist)
    result = top_patches(load_network(args.model), x_test[: args.limit])
    output = args.output or str(Path(args.model).with_name(DEFAULT_OUTPUT.name))
    save(result, output)
    print(f"wrote {output}: " + ", ".join(f"{n} {r['patches'].shape}" for n, r in result.items()))


if __name__ == "__main__":
    main()
