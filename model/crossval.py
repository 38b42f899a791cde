"""Judge training recipes on writers they never saw: `python -m model.crossval`.

Leave-writers-out cross-validation on the 30 writers of the pen training file: fold k
keeps 5 writers out (writers sorted by id, 6 folds), trains the tutorial's network on
MNIST and the other 25 writers' digits with the recipe, and reads the 5 writers' digits.
Writers 1-4 of the test file are never used here. Each fold's result is one JSON line
(appended to --results), so folds can run in separate processes or machines; then

    python -m model.crossval --report results.jsonl [...]

prints, per recipe, the held-out accuracy of every fold (mean and spread), per writer and
per digit, the commonest confusions and MNIST test accuracy. RECIPES below is the ladder
that README's table was measured with: each step adds one change to the one before.
"""
import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from .data import DEFAULT_PEN_TRAIN, load_mnist, load_pen_samples, render_pen_samples  # noqa: E402
from .evaluate import classification_report  # noqa: E402
from . import train  # noqa: E402

FOLDS = 6
ROUND_1 = {"stroke_variation": "basic", "pen_copies": 4, "label_smoothing": 0.0, "mnist_jitter": 0.0, "epochs": 16}


def _ladder(*steps):
    recipes, settings = {}, {}
    for name, change in steps:
        settings = {**settings, **change}
        recipes[name] = settings
    return recipes


# Each step keeps what the one before had and adds one change (README's table).
RECIPES = _ladder(
    ("round 1", ROUND_1),
    ("+ rich strokes", {"stroke_variation": "rich"}),
    ("+ label smoothing 0.1", {"label_smoothing": 0.1}),
    ("+ MNIST warps", {"mnist_jitter": 1.0}),
    ("+ 8 pen copies, 10 epochs", {"pen_copies": 8, "epochs": 10}),  # about as many images seen
    ("+ 16 epochs", {"epochs": 16}),
)
# Single changes to round 1, to see what each buys on its own.
RECIPES.update(
    {
        "round 1 + MNIST warps": {**ROUND_1, "mnist_jitter": 1.0},
        "round 1 + label smoothing 0.1": {**ROUND_1, "label_smoothing": 0.1},
        "round 1 + 8 pen copies, 12 epochs": {**ROUND_1, "pen_copies": 8, "epochs": 12},
        "round 1 + MNIST warps 0.5": {**ROUND_1, "mnist_jitter": 0.5},
    }
)


def recipe(name, **overrides):
    """The full settings of a named recipe: train's defaults, then the recipe's."""
    parser = argparse.ArgumentParser()
    train.add_recipe_arguments(parser)
    settings = parser.parse_args([])
    for key, value in {**RECIPES[name], **overrides}.items():
        setattr(settings, key, value)
    return settings


def folds(samples, count=FOLDS):
    writers = sorted({s["writer"] for s in samples})
    size = -(-len(writers) // count)
    return [writers[k * size : (k + 1) * size] for k in range(count)]


def cached_pen_images(samples, settings, cache):
    """The recipe's pen images of every sample, kept in `cache` (a folder) when given, so
    that processes running other folds render them once."""
    key = f"pen-{settings.stroke_variation}-{settings.pen_copies}-{settings.seed}-{len(samples)}.npz"
    if cache and (Path(cache) / key).exists():
        with np.load(Path(cache) / key) as stored:
            return stored["images"], stored["labels"], stored["source"]
    images, labels, source = train.pen_images(samples, settings)
    if cache:
        Path(cache).mkdir(parents=True, exist_ok=True)
        partial = Path(cache) / f".{key}.{os.getpid()}.npz"
        np.savez(partial, images=images, labels=labels, source=source)
        partial.replace(Path(cache) / key)  # whole or absent, for the other processes
    return images, labels, source


def run_fold(name, settings, fold, writers, samples, mnist, cache):
    started = time.time()
    images, labels, source = cached_pen_images(samples, settings, cache)
    held = np.array([samples[i]["writer"] in writers for i in range(len(samples))])
    keep = ~held[source]
    model = train.train_model(settings, mnist[0], (images[keep], labels[keep]), verbose=0)
    held_samples = [s for s in samples if s["writer"] in writers]
    pen_x, pen_y = render_pen_samples(held_samples)
    predicted = model.predict(pen_x[..., None], batch_size=1000, verbose=0).argmax(axis=1)
    x_test, y_test = mnist[1]
    mnist_predicted = model.predict(x_test[..., None], batch_size=1000, verbose=0).argmax(axis=1)
    per_writer = defaultdict(lambda: [0, 0])
    for sample, ok in zip(held_samples, predicted == pen_y):
        per_writer[str(sample["writer"])][0] += int(ok)
        per_writer[str(sample["writer"])][1] += 1
    return {
        "recipe": name,
        "settings": train.recipe_of(settings),
        "fold": fold,
        "writers": writers,
        "correct": int((predicted == pen_y).sum()),
        "count": len(pen_y),
        "per_writer": dict(per_writer),
        "confusion": classification_report(pen_y, predicted)["confusion"],
        "mnist_test_accuracy": float((mnist_predicted == y_test).mean()),
        "seconds": round(time.time() - started, 1),
        "trained_on": train.trained_on(),
    }


def report(rows):
    """Per recipe: fold accuracies and their spread, per writer, per digit, confusions."""
    by_recipe = defaultdict(list)
    for row in rows:
        by_recipe[row["recipe"]].append(row)
    out = {}
    for name, results in by_recipe.items():
        results.sort(key=lambda r: r["fold"])
        accuracy = np.array([r["correct"] / r["count"] for r in results])
        confusion = np.sum([r["confusion"] for r in results], axis=0)
        errors = [(int(confusion[t, p]), f"{t}→{p}") for t in range(10) for p in range(10) if t != p and confusion[t, p]]
        out[name] = {
            "settings": results[0]["settings"],
            "folds": len(results),
            "held_out_accuracy": {"mean": round(float(accuracy.mean()), 4), "std": round(float(accuracy.std()), 4),
                                  "min": round(float(accuracy.min()), 4), "max": round(float(accuracy.max()), 4),
                                  "per_fold": [round(float(a), 4) for a in accuracy]},
            "pooled_accuracy": round(float(confusion.trace() / confusion.sum()), 4),
            "per_writer": dict(sorted(((w, round(c / n, 4)) for r in results for w, (c, n) in r["per_writer"].items()), key=lambda item: int(item[0]))),
            "per_digit": {str(d): round(float(confusion[d, d] / confusion[d].sum()), 4) for d in range(10)},
            "confusions": [f"{label} ×{count}" for count, label in sorted(errors, reverse=True)[:8]],
            "mnist_test_accuracy": {"mean": round(float(np.mean([r["mnist_test_accuracy"] for r in results])), 4),
                                    "min": round(float(np.min([r["mnist_test_accuracy"] for r in results])), 4)},
            "seconds_per_fold": round(float(np.mean([r["seconds"] for r in results])), 1),
            "trained_on": results[0]["trained_on"],
        }
    return out


def table(summary):
    lines = ["| recipe | held-out writers, mean of folds (min-max) | worst writer | MNIST test |", "| --- | --- | --- | --- |"]
    for name, s in summary.items():
        a = s["held_out_accuracy"]
        worst = min(s["per_writer"].items(), key=lambda item: item[1])
        lines.append(f"| {name} | {a['mean']:.2%} ({a['min']:.2%}-{a['max']:.2%}, {s['folds']} folds) "
                     f"| writer {worst[0]}: {worst[1]:.1%} | {s['mnist_test_accuracy']['mean']:.2%} |")
    return "\n".join(lines)


def keep_in_metrics(summary, recipes, path, sources):
    """The shipped model's metrics.json says how its recipe did on unseen writers, so that
    `python -m model.evaluate` can report it beside the figures it computes."""
    if not recipes or len(recipes) != 1 or recipes[0] not in summary:
        raise SystemExit("--metrics needs exactly one --recipe that the results hold")
    metrics = json.loads(Path(path).read_text())
    metrics["crossval"] = {"recipe": recipes[0], "results": sources, **summary[recipes[0]]}
    Path(path).write_text(json.dumps(metrics, indent=1, ensure_ascii=False) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", action="append", choices=sorted(RECIPES), help="recipes to run (default: all, in order)")
    parser.add_argument("--fold", action="append", type=int, help=f"folds to run, 0-{FOLDS - 1} (default: all)")
    parser.add_argument("--results", default="crossval.jsonl", help="JSON lines file the folds are appended to")
    parser.add_argument("--report", nargs="+", metavar="JSONL", help="only summarise these results files")
    parser.add_argument("--metrics", help="with --report and one --recipe: keep that recipe's summary in this metrics.json (as \"crossval\")")
    parser.add_argument("--mnist", help="mnist.npz (default: $MNIST_PATH, else ../shared/data, else Keras' download)")
    parser.add_argument("--pen-train", default=str(DEFAULT_PEN_TRAIN))
    parser.add_argument("--cache", help="folder that keeps rendered pen images between processes")
    parser.add_argument("--render-only", action="store_true", help="only render the recipes' pen images into --cache")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="processes rendering pen digits")
    parser.add_argument("--limit", type=int, help="about N MNIST and N pen digits only (quick checks)")
    parser.add_argument("--epochs", type=int, help="override every recipe's epochs (quick checks)")
    args = parser.parse_args(argv)
    if args.report:
        rows = [json.loads(line) for path in args.report for line in Path(path).read_text().splitlines() if line.strip()]
        summary = report(rows)
        json.dump(summary, sys.stdout, indent=1, ensure_ascii=False)
        print("\n\n" + table(summary))
        if args.metrics:
            keep_in_metrics(summary, args.recipe, args.metrics, args.report)
        return summary
    samples = load_pen_samples(args.pen_train)
    if args.limit:  # every k-th digit, so that every writer (every fold) keeps some
        samples = samples[:: max(1, len(samples) // args.limit)]
    (x_train, y_train), test = load_mnist(args.mnist)
    mnist = ((x_train[: args.limit], y_train[: args.limit]), test)
    overrides = {"jobs": args.jobs, **({"epochs": args.epochs} if args.epochs else {})}
    for name in args.recipe or RECIPES:
        settings = recipe(name, **overrides)
        if args.render_only:
            cached_pen_images(samples, settings, args.cache)
            continue
        for fold, writers in enumerate(folds(samples)):
            if args.fold is None or fold in args.fold:
                row = run_fold(name, settings, fold, writers, samples, mnist, args.cache)
                with open(args.results, "a") as out:
                    out.write(json.dumps(row) + "\n")
                print(f"{name} fold {fold}: {row['correct'] / row['count']:.2%} of writers {writers}; "
                      f"MNIST {row['mnist_test_accuracy']:.2%}; {row['seconds']} s", flush=True)


if __name__ == "__main__":
    main()
