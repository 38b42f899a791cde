"""Train the tutorial's CNN for real pen-drawn digits: `python -m model.train`.

MNIST plus the UCI pen trajectories, rendered through the app's own preprocessing
with random slant, rotation, wobble and pen width (model/augment.py); MNIST itself can get
a fresh random warp every batch. `python -m model.crossval` judges a recipe on writers it
never saw. Writes the weights (no optimizer state), metrics.json and
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

try:  # only to say which versions and processor trained the model; any Keras backend trains
    import tensorflow as tf  # noqa: E402
except ImportError:  # e.g. KERAS_BACKEND=jax on a GPU machine without TensorFlow
    tf = None

from .architecture import NUM_CLASSES, build_model  # noqa: E402
from .augment import pen_variants, warp_many  # noqa: E402
from .deep import build_deep_model  # noqa: E402
from .data import DEFAULT_PEN_TEST, DEFAULT_PEN_TRAIN, load_mnist, load_pen_samples  # noqa: E402
from .evaluate import evaluate_mnist, evaluate_pen, load_network  # noqa: E402
from .network import DEFAULT_MODEL_PATH  # noqa: E402
from .top_patches import DEFAULT_OUTPUT as TOP_PATCHES  # noqa: E402
from .top_patches import save as save_top_patches  # noqa: E402
from .top_patches import top_patches  # noqa: E402

# --architecture → the function that builds it (untrained).
ARCHITECTURES = {"tutorial": build_model, "deep3x3": build_deep_model}


def add_recipe_arguments(parser):
    """How a network is trained: what `model.crossval` compares recipe against recipe."""
    parser.add_argument("--architecture", choices=sorted(ARCHITECTURES), default="tutorial", help="the network to train (default: the tutorial's)")
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pen-copies", type=int, default=4, help="random variants of each pen digit")
    parser.add_argument("--stroke-variation", choices=("basic", "rich"), default="basic", help="rich: also move strokes apart and trim/extend their ends")
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--mnist-jitter", type=float, default=0.0, help="random warp of MNIST images, fresh each batch (1: ±11°, ±8%% zoom, ±2 px, elastic; 0: none)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="processes rendering pen digits")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    add_recipe_arguments(parser)
    parser.add_argument("--output", default=str(DEFAULT_MODEL_PATH))
    parser.add_argument("--metrics", help="metrics file (default: metrics.json beside the model)")
    parser.add_argument("--mnist", help="mnist.npz (default: $MNIST_PATH, else Keras' download)")
    parser.add_argument("--pen-train", default=str(DEFAULT_PEN_TRAIN), help="pen digits to train on ('' for none)")
    parser.add_argument("--holdout-writers", default="", help="pen-train writer ids kept out, for tuning")
    parser.add_argument("--limit", type=int, help="use only the first N MNIST and pen digits (quick checks)")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: its default, every core)")
    parser.add_argument("--pen-test", default=str(DEFAULT_PEN_TEST), help="pen digits to report on, never trained on")
    return parser.parse_args(argv)


def recipe_of(args):
    """The recipe's settings, as metrics.json and the cross-validation results record them."""
    keys = ("architecture", "epochs", "batch_size", "seed", "pen_copies", "stroke_variation", "label_smoothing", "mnist_jitter")
    return {key: getattr(args, key) for key in keys}


def pen_images(samples, recipe):
    """(images, labels, source sample index) of the pen digits as the recipe varies them."""
    if not samples:
        return np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return pen_variants(samples, recipe.pen_copies, recipe.seed, recipe.stroke_variation, recipe.jobs)


def epoch_data(x, y, is_mnist, recipe, epoch):
    """One epoch's training arrays, shuffled, with every MNIST image freshly warped (pen
    images were varied as strokes). Whole arrays, so each Keras backend feeds them its
    fastest way (TensorFlow's own pipeline; a Python generator is ~2x slower on 2 cores)."""
    order = np.random.default_rng([recipe.seed, epoch]).permutation(len(x))
    # Whole batches only: a last, smaller batch made TensorFlow compile the step again at the
    # end of every epoch (~23 s an epoch on 2 cores). The few left out differ every epoch.
    order = order[: max(len(x) // recipe.batch_size * recipe.batch_size, min(len(x), recipe.batch_size))]
    images = x[order]
    if recipe.mnist_jitter > 0:
        rows = np.flatnonzero(is_mnist[order])
        images[rows] = warp_many(images[rows], [recipe.seed, epoch], recipe.mnist_jitter)
    return images[..., None], np.eye(NUM_CLASSES, dtype=np.float32)[y[order]]


def train_model(recipe, mnist, pen, validation=None, verbose=1):
    """A network trained by `recipe` on MNIST (x, y) and pen (x, y) images."""
    keras.utils.set_random_seed(recipe.seed)
    x = np.concatenate([mnist[0], pen[0]])
    y = np.concatenate([mnist[1], pen[1]])
    is_mnist = np.arange(len(x)) < len(mnist[0])
    model = ARCHITECTURES[recipe.architecture]()
    steps = max(1, len(x) // recipe.batch_size) * recipe.epochs
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=steps, alpha=0.02)
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)
    model.compile(keras.optimizers.Adam(schedule), loss, metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])
    if validation is not None:
        validation = (validation[0][..., None], np.eye(NUM_CLASSES, dtype=np.float32)[validation[1]])
    for epoch in range(recipe.epochs):  # one fit per epoch: each epoch has its own warps
        images, labels = epoch_data(x, y, is_mnist, recipe, epoch)
        last = epoch == recipe.epochs - 1  # validating every epoch cost ~5% of the time
        model.fit(images, labels, batch_size=recipe.batch_size, epochs=epoch + 1, initial_epoch=epoch,
                  shuffle=False, validation_data=validation if last else None, verbose=verbose)
    return model


def main(argv=None):
    args = parse_args(argv)
    if args.threads and tf is not None:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    started = time.time()
    (x_train, y_train), (x_test, y_test) = load_mnist(args.mnist)
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    holdout = {int(w) for w in args.holdout_writers.split(",") if w}
    pen_samples = load_pen_samples(args.pen_train) if args.pen_train else []
    train_samples = [s for s in pen_samples if s["writer"] not in holdout][: args.limit]
    held_samples = [s for s in pen_samples if s["writer"] in holdout]
    print(f"rendering {len(train_samples)} pen digits x {args.pen_copies + 1} variants ...", flush=True)
    pen = pen_images(train_samples, args)
    model = train_model(args, (x_train, y_train), pen[:2], validation=(x_test, y_test))
    trained_seconds = time.time() - started

    build = ARCHITECTURES[args.architecture]
    save_weights_only(model, args.output, build)
    network = load_network(args.output)
    metrics = {
        **recipe_of(args),
        "params": int(model.count_params()),
        **evaluate_mnist(network, x_test, y_test),
        "pen_accuracy": {},
        "data": {
            "mnist_train": int(len(x_train)),
            "pen_train_file": Path(args.pen_train).name if args.pen_train else None,
            "pen_train_digits": len(train_samples),
            "pen_train_images": int(len(pen[0])),
            "holdout_writers": sorted(holdout),
        },
        "train_seconds": round(trained_seconds, 1),
        "trained_on": trained_on(),
        "versions": versions(),
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


def versions():
    return {
        "python": platform.python_version(),
        "keras_backend": keras.backend.backend(),
        "tensorflow": tf.__version__ if tf is not None else None,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


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
