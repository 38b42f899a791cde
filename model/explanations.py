"""What each kind of layer does, in a sentence or two shown beside it in the app, with
the layer's own numbers ("each of the 24 filters slides a small 3×3 window ...").

The learning views' wording; `model.parse_layers` calls `explain` for every layer."""


def _size(shape):
    return f"{shape[0]}×{shape[1]}"


def _count(n, one, many=None):
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _stride_text(strides, window):
    if tuple(strides) == tuple(window):
        return ""
    if strides[0] == strides[1]:
        return f", moving {strides[0]} pixel{'s' if strides[0] != 1 else ''} at a time"
    return f", moving {strides[0]} rows and {strides[1]} columns at a time"


ACTIVATION_TEXT = {
    "relu": "ReLU keeps positive values and turns negatives into 0: only the places where a filter found its pattern stay lit.",
    "sigmoid": "Sigmoid squashes every value into 0…1: large positive values come close to 1, large negative ones close to 0.",
    "tanh": "Tanh squashes every value into −1…1: strong responses come close to ±1, and 0 stays 0.",
    "linear": "Linear: the values pass through unchanged.",
}


def explain(kind, params, in_shape, shape, is_output=False) -> str:
    """A short explanation of one layer, shown beside it in the app, with its own numbers."""
    if kind == "conv":
        f, (kh, kw), strides = params["filters"], params["kernel"], params["strides"]
        depth = f" ({in_shape[2]} maps deep)" if in_shape[2] > 1 else ""
        if tuple(strides) == (1, 1):
            step = ""
        else:
            step = f", {strides[0]} pixels at a time" if strides[0] == strides[1] else f", {strides[0]} rows and {strides[1]} columns at a time"
        text = (
            f"Convolution: each of the {f} filters slides a small {kh}×{kw} window of weights{depth} over its input{step} "
            f"and adds up weight × value (plus a bias) at every position, so each map shows where that filter's pattern appears."
        )
        if params["padding"] == "valid" and tuple(shape[:2]) != tuple(in_shape[:2]):
            text += f" Without padding the window stays inside the input, so the maps shrink from {_size(in_shape)} to {_size(shape)}."
        elif tuple(shape[:2]) != tuple(in_shape[:2]):
            text += f" The maps go from {_size(in_shape)} to {_size(shape)}."
        return text
    if kind == "activation":
        activation = params["activation"]
        if activation == "softmax":
            n = shape[0] if len(shape) == 1 else shape[-1]
            return f"Softmax turns the last {n} numbers into probabilities that add up to 100%: the largest is the prediction."
        return ACTIVATION_TEXT[activation]
    if kind in ("maxpool", "avgpool"):
        (ph, pw), strides = params["pool"], params["strides"]
        what = "keeps the largest value" if kind == "maxpool" else "keeps the average"
        name = "Max pooling" if kind == "maxpool" else "Average pooling"
        survive = "the strongest responses survive, wherever exactly they were" if kind == "maxpool" else "the responses are smoothed and kept, wherever exactly they were"
        if tuple(strides) == (ph, pw) and in_shape[0] == shape[0] * ph and in_shape[1] == shape[1] * pw and ph == pw:
            change = {2: "halves in size", 3: "shrinks to a third", 4: "shrinks to a quarter"}.get(ph, f"shrinks from {_size(in_shape)} to {_size(shape)}")
            return f"{name} {what} of every {ph}×{pw} block: the map {change} and {survive}."
        return f"{name} {what} of every {ph}×{pw} block{_stride_text(strides, (ph, pw))}: the maps go from {_size(in_shape)} to {_size(shape)} and {survive}."
    if kind == "batchnorm":
        what = f"each of the {shape[-1]} maps" if len(shape) == 3 else f"each of the {shape[0]} units"
        return (
            f"Batch normalisation rescales {what} with numbers learned in training: it subtracts the typical value, divides by "
            "the typical spread, then scales and shifts, so every layer gets inputs in a similar range."
        )
    if kind == "dropout":
        rate = params["rate"]
        part = "half" if rate == 0.5 else f"{rate:.0%}"
        return (
            f"Dropout switches off {part} of the units at random, only while training, so the network cannot lean on any "
            "single one. When drawing it does nothing."
        )
    if kind == "flatten":
        if len(in_shape) == 3:
            return f"Flatten lays all {in_shape[2]} maps of {_size(in_shape)} out in one row of {shape[0]:,} numbers for the dense layers."
        return "Flatten: the numbers are already one row; nothing changes."
    if kind == "gap":
        return (
            f"Global average pooling replaces each of the {in_shape[2]} maps of {_size(in_shape)} by its average: "
            f"{shape[0]} numbers, one per filter, however big the maps were."
        )
    if kind == "dense":
        units, activation = params["units"], params["activation"]
        if is_output and activation == "softmax":
            return (
                f"The last dense layer weighs all {in_shape[0]:,} numbers before it into {_count(units, 'score')}, one per class; "
                f"softmax turns them into probabilities that add up to 100%: the largest is the prediction."
            )
        after = {
            "relu": "; ReLU then keeps the positive ones",
            "sigmoid": "; sigmoid then squashes each into 0…1",
            "tanh": "; tanh then squashes each into −1…1",
            "softmax": "; softmax then turns them into probabilities",
            "linear": "",
        }[activation]
        return (
            f"Dense: every one of the {units:,} units weighs all {in_shape[0]:,} numbers before it and adds a bias{after}. "
            "Here the network combines the parts it found into digit-like evidence."
        )
    raise KeyError(kind)
