"""Train the tutorial's CNN for real pen-drawn digits: `python -m model.train`.

MNIST plus the UCI pen trajectories, rendered through the app's own preprocessing
with random slant, rotation, wobble and pen width; MNIST itself gets small random
shifts, rotations and zooms. Writes the weights (no optimizer state), metrics.json and
top_patches.npz. `--architecture` picks the network: the tutorial's (the default, what the
app ships) or the deeper 3x3 one of model/deep.py; the model zoo (model/zoo/) is made with

    python -m model.train --pen-train '' --output model/zoo/mnist-only/mnist_cnn.keras
    python -m model.train --architecture deep3x3 --output model/zoo/deep3x3/mnist_cnn.keras
"""
import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

try:  # the data pipeline (and MNIST jitter) use tf.data; other Keras backends get plain batches
    import tensorflow as tf  # noqa: E402
except ImportError:  # e.g. KERAS_BACKEND=jax on a GPU machine without TensorFlow
    tf = None

from .architecture import build_model  # noqa: E402
from .deep import build_deep_model  # noqa: E402
from .data import DEFAULT_PEN_TEST, DEFAULT_PEN_TRAIN, augmented_pen_images, load_mnist, load_pen_samples, render_pen_samples  # noqa: E402
from .evaluate import evaluate_mnist, evaluate_pen, load_network  # noqa: E402
from .network import DEFAULT_MODEL_PATH  # noqa: E402
from .top_patches import DEFAULT_OUTPUT as TOP_PATCHES  # noqa: E402
from .top_patches import save as save_top_patches  # noqa: E402
from .top_patches import top_patches  # noqa: E402

# --architecture → the function that builds it (untrained).
ARCHITECTURES = {"tutorial": build_model, "deep3x3": build_deep_model}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--architecture", choices=sorted(ARCHITECTURES), default="tutorial", help="the network to train (default: the tutorial's)")
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default=str(DEFAULT_MODEL_PATH))
    parser.add_argument("--metrics", help="metrics file (default: metrics.json beside the model)")
    parser.add_argument("--mnist", help="mnist.npz (default: $MNIST_PATH, else Keras' download)")
    parser.add_argument("--pen-train", default=str(DEFAULT_PEN_TRAIN), help="pen digits to train on ('' for none)")
    parser.add_argument("--pen-copies", type=int, default=4, help="random variants of each pen digit")
    parser.add_argument("--mnist-jitter", type=float, default=0.0, help="random shift/zoom/rotation of MNIST images (0: none)")
    parser.add_argument("--holdout-writers", default="", help="pen-train writer ids kept out, for tuning")
    parser.add_argument("--limit", type=int, help="use only the first N MNIST and pen digits (quick checks)")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: its default, every core)")
    parser.add_argument("--pen-test", default=str(DEFAULT_PEN_TEST), help="pen digits to report on, never trained on")
    return parser.parse_args(argv)


def pen_training_set(samples, copies, seed):
    plain = render_pen_samples(samples)
    varied = augmented_pen_images(samples, copies, seed=seed)
    return np.concatenate([plain[0], varied[0]]), np.concatenate([plain[1], varied[1]])


def mnist_jitter(strength):
    """Random affine jitter of MNIST bitmaps; `strength` 1 is about ±11°, ±8% zoom, ±2 px."""
    return keras.Sequential(
        [
            keras.layers.RandomRotation(0.03 * strength, fill_mode="constant"),
            keras.layers.RandomZoom(0.08 * strength, fill_mode="constant"),
            keras.layers.RandomTranslation(0.06 * strength, 0.06 * strength, fill_mode="constant"),
        ]
    )


class ShuffledBatches(keras.utils.PyDataset):
    """Shuffled batches of arrays, reshuffled every epoch: the pipeline without jitter for
    Keras backends other than TensorFlow."""

    def __init__(self, x, y, batch_size, seed):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        picks = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.x[picks], self.y[picks]

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.x))


def make_dataset(mnist, pen, batch_size, seed, jitter_strength):
    x_mnist, y_mnist = mnist
    x_pen, y_pen = pen
    # Flag which images are MNIST bitmaps: only those get jittered (pen ones were varied as strokes).
    x = np.concatenate([x_mnist, x_pen])[..., None]
    y = np.concatenate([y_mnist, y_pen])
    is_mnist = np.concatenate([np.ones(len(x_mnist)), np.zeros(len(x_pen))]).astype(np.float32)
    if keras.backend.backend() != "tensorflow":
        if jitter_strength > 0:
            raise SystemExit("--mnist-jitter needs the TensorFlow backend (tf.data)")
        return ShuffledBatches(x, y, batch_size, seed)

    data = tf.data.Dataset.from_tensor_slices((x, y, is_mnist)).shuffle(len(x), seed=seed).batch(batch_size)
    if jitter_strength <= 0:
        return data.map(lambda images, labels, flags: (images, labels)).prefetch(2)
    jitter = mnist_jitter(jitter_strength)

    def augment(images, labels, flags):
        flags = tf.reshape(flags, (-1, 1, 1, 1))
        return flags * jitter(images, training=True) + (1 - flags) * images, labels

    return data.map(augment, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def main(argv=None):
    args = parse_args(argv)
    if args.threads and tf is not None:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    started = time.time()
    (x_train, y_train), (x_test, y_test) = load_mnist(args.mnist)
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    holdout = {int(w) for w in args.holdout_writers.split(",") if w}
    pen_samples = load_pen_samples(args.pen_train) if args.pen_train else []
    train_samples = [s for s in pen_samples if s["writer"] not in holdout][: args.limit]
    held_samples = [s for s in pen_samples if s["writer"] in holdout]
    print(f"rendering {len(train_samples)} pen digits x {args.pen_copies + 1} variants ...", flush=True)
    pen = pen_training_set(train_samples, args.pen_copies, args.seed) if train_samples else (x_train[:0], y_train[:0])
    dataset = make_dataset((x_train, y_train), pen, args.batch_size, args.seed, args.mnist_jitter)
    steps = len(dataset) * args.epochs

    build = ARCHITECTURES[args.architecture]
    model = build()
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=steps, alpha=0.02)
    model.compile(keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(dataset, epochs=args.epochs, validation_data=(x_test[..., None], y_test), verbose=1)
    trained_seconds = time.time() - started

    save_weights_only(model, args.output, build)
    network = load_network(args.output)
    metrics = {
        "architecture": args.architecture,
        "params": int(model.count_params()),
        **evaluate_mnist(network, x_test, y_test),
        "pen_accuracy": {},
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "pen_copies": args.pen_copies,
        "mnist_jitter": args.mnist_jitter,
        "seed": args.seed,
        "data": {
            "mnist_train": int(len(x_train)),
            "pen_train_file": Path(args.pen_train).name if args.pen_train else None,
            "pen_train_digits": len(train_samples),
            "pen_train_images": int(len(pen[0])),
            "holdout_writers": sorted(holdout),
        },
        "train_seconds": round(trained_seconds, 1),
        "trained_on": trained_on(),
        "versions": {
            "python": platform.python_version(),
            "keras_backend": keras.backend.backend(),
            "tensorflow": tf.__version__ if tf is not None else None,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
    }
    if held_samples:
        metrics["pen_accuracy"]["holdout_writers"] = evaluate_pen(network, held_samples)
    if args.pen_test and Path(args.pen_test).exists():
        metrics["pen_accuracy"][Path(args.pen_test).name] = evaluate_pen(network, load_pen_samples(args.pen_test))
    # The page's "what this filter responds to" must come from these weights, not old ones.
    save_top_patches(top_patches(network, x_test), Path(args.output).with_name(TOP_PATCHES.name))
    metrics_path = args.metrics or str(Path(args.output).with_name("metrics.json"))
    Path(metrics_path).write_text(json.dumps(metrics, indent=1) + "\n")
    summary = {k: v["accuracy"] for k, v in metrics["pen_accuracy"].items()}
    print(f"MNIST test accuracy {metrics['mnist_test_accuracy']:.4f}; pen accuracy {summary}; {trained_seconds:.0f} s")


def trained_on():
    """The processor training ran on, so that train_seconds can be read: "cpu", or the GPU."""
    if keras.backend.backend() == "jax":
        import jax

        device = jax.devices()[0]
        return "cpu" if device.platform == "cpu" else f"{device.platform}: {device.device_kind}"
    if tf is not None:
        gpus = tf.config.list_physical_devices("GPU")
        return ", ".join(tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus) or "cpu"
    return "unknown"


def save_weights_only(model, path, build=build_model):
    """Save a fresh, uncompiled copy (`build` makes the same architecture): the file holds
    the weights, not the optimizer's state."""
    clean = build()
    clean.set_weights(model.get_weights())
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    clean.save(path)


if __name__ == "__main__":
    main()
