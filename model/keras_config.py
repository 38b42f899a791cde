"""How a Keras 3 model's saved config reads: its layers in the order they compute (walked
back from the output of a functional model, through each layer call's serialised
tensors), and where each layer's weights are in model.weights.h5. Only what a model of
one input, one output and single-input layers needs (model/supported.py)."""
import re

from .supported import UnsupportedModel


def snake_case(name):
    # keras.src.utils.naming.to_snake_case: how Keras 3 names a layer's group in the weights file.
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def weight_groups(layers) -> dict:
    """Layer name → its group in model.weights.h5: under its class in snake case, numbered
    in layer order ("dense", "dense_1", ...), not under its own name."""
    groups, seen = {}, {}
    for entry in layers:
        base = snake_case(entry["class_name"])
        count = seen[base] = seen.get(base, -1) + 1
        groups[entry["config"]["name"]] = "layers/" + base + (f"_{count}" if count else "")
    return groups


def _history(tensor) -> str:
    """The producing layer's name from a serialised Keras tensor or a [name, node, index] list."""
    if isinstance(tensor, dict):
        return tensor["config"]["keras_history"][0]
    if isinstance(tensor, (list, tuple)) and tensor and isinstance(tensor[0], str):
        return tensor[0]
    raise UnsupportedModel(f"cannot read a layer's input {tensor!r}")


def _endpoints(value) -> list:
    """`input_layers` / `output_layers`: one [name, 0, 0] or a list of them."""
    if isinstance(value, dict):
        return [value]
    if value and isinstance(value[0], str):
        return [value]
    return list(value)


def _tensor_args(node):
    """The Keras tensors a layer call (one of its inbound nodes) takes."""
    out = []

    def walk(arg):
        if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
            out.append(arg)
        elif isinstance(arg, (list, tuple)):
            for item in arg:
                walk(item)
        elif isinstance(arg, dict):
            for item in arg.values():
                walk(item)

    if not isinstance(node, dict):
        raise UnsupportedModel("the model was saved by an older Keras: save it again with Keras 3")
    walk(node.get("args", []))
    walk(node.get("kwargs", {}))
    return out


def layer_chain(config, kind):
    """The layers in computation order as (entry, input name), the input's name and shape,
    and the layers not reachable from the output (for the caller to refuse or accept)."""
    entries = config.get("layers", [])
    if kind == "Sequential":
        body = [e for e in entries if e["class_name"] != "InputLayer"]
        inputs = [e for e in entries if e["class_name"] == "InputLayer"]
        if inputs:
            input_name = inputs[0]["config"]["name"]
            shape = inputs[0]["config"].get("batch_shape") or inputs[0]["config"].get("batch_input_shape")
        else:
            shape = config.get("build_input_shape")
            if shape is None and body:
                shape = body[0].get("build_config", {}).get("input_shape") or body[0]["config"].get("batch_input_shape")
            input_name = "input"
        if shape is None:
            raise UnsupportedModel("the model has no input shape (build it with keras.Input(shape=...))")
        chain, previous = [], input_name
        for entry in body:
            chain.append((entry, previous))
            previous = entry["config"]["name"]
        return input_name, tuple(shape[1:]), chain, []

    by_name = {e["config"]["name"]: e for e in entries}
    inputs = _endpoints(config.get("input_layers", []))
    outputs = _endpoints(config.get("output_layers", []))
    if len(inputs) != 1:
        raise UnsupportedModel(f"the model has {len(inputs)} inputs ({', '.join(_history(i) for i in inputs)}): one image input is supported")
    if len(outputs) != 1:
        raise UnsupportedModel(f"the model has {len(outputs)} outputs ({', '.join(_history(o) for o in outputs)}): one softmax output is supported")
    input_name = _history(inputs[0])
    input_entry = by_name[input_name]
    shape = input_entry["config"].get("batch_shape") or input_entry["config"].get("batch_input_shape")
    # Walk back from the output: every supported layer has one input.
    chain, name, seen = [], _history(outputs[0]), set()
    while name != input_name:
        entry = by_name[name]
        if name in seen:
            raise UnsupportedModel(f"layer '{name}' is used more than once")
        seen.add(name)
        nodes = entry.get("inbound_nodes", [])
        if len(nodes) != 1:
            raise UnsupportedModel(f"layer '{name}' ({entry['class_name']}) is called {len(nodes)} times: each layer once is supported")
        args = _tensor_args(nodes[0])
        if len(args) != 1:
            raise UnsupportedModel(f"layer '{name}' ({entry['class_name']}) takes {len(args)} inputs: layers with one input are supported")
        previous = _history(args[0])
        chain.append((entry, previous))
        name = previous
    chain.reverse()
    unused = [e for e in entries if e["class_name"] != "InputLayer" and e["config"]["name"] not in seen]
    return input_name, tuple(shape[1:]), chain, unused
