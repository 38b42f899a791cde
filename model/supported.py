"""What this app can show of a Keras model, and the one error for the rest: its message
names the problem (a layer, the input, the output) and lists what is supported."""

ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "linear")
SUPPORTED_LAYERS = (
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "BatchNormalization",
    "Activation",
    "ReLU",
    "Softmax",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "Dense",
)
INPUT_SIZES = (28, 64)  # smallest and largest image side
SUPPORTED = (
    "Supported: Sequential or functional Keras models with one image input "
    f"(grayscale or RGB, {INPUT_SIZES[0]}x{INPUT_SIZES[0]} to {INPUT_SIZES[1]}x{INPUT_SIZES[1]}) and one softmax output, "
    "built from Conv2D (any kernel size and strides, 'same' or 'valid' padding, optional activation), "
    "MaxPooling2D, AveragePooling2D, BatchNormalization, Activation/ReLU/Softmax "
    f"({', '.join(ACTIVATIONS)}), Dropout, Flatten, GlobalAveragePooling2D and Dense."
)


class UnsupportedModel(ValueError):
    """A model this app cannot show. The message names the problem and what is supported."""

    def __init__(self, problem: str):
        super().__init__(f"{problem}. {SUPPORTED}")
        self.problem = problem
