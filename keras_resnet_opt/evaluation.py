"""Evaluate an exported SavedModel on the CIFAR-10 test split, with TensorFlow alone.

Nothing from the training code is needed to load the model, which is the
point of exporting it: ``tf.saved_model.load(path).serve(uint8 images)``.
"""

import dataclasses
from pathlib import Path

import numpy as np

from keras_resnet_opt.data.constants import CLASS_NAMES, IMAGE_SHAPE, NUM_CLASSES


class ModelLoadError(ValueError):
    """The path is not a usable exported classifier; the message says why and what to do."""


@dataclasses.dataclass
class Evaluation:
    accuracy: float
    error: float
    per_class_accuracy: dict
    confusion_matrix: list  # rows: true class, columns: predicted class
    num_examples: int

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class ServingModel:
    """A loaded SavedModel and its endpoint; holding ``loaded`` keeps its variables alive."""

    loaded: object
    serve: object
    input_dtype: object


def load_serving_model(path):
    """Load a SavedModel and return a ``ServingModel``, checking the input signature."""
    import tensorflow as tf

    path = Path(path)
    if not path.exists():
        raise ModelLoadError(
            f"No model at {str(path)!r}. Pass a folder under saved_models/ written by scripts/train.py."
        )
    if not (path / "saved_model.pb").is_file():
        hint = (
            " (a .keras file is a training checkpoint: evaluate its exported SavedModel under saved_models/)"
            if path.suffix == ".keras"
            else ""
        )
        raise ModelLoadError(f"{str(path)!r} is not a TensorFlow SavedModel: no saved_model.pb inside{hint}.")
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as e:
        raise ModelLoadError(f"Cannot load SavedModel {str(path)!r}: {e}") from e
    serve = getattr(loaded, "serve", None)
    if serve is None:
        signatures = getattr(loaded, "signatures", {})
        serve = signatures.get("serving_default") if signatures else None
    if serve is None:
        raise ModelLoadError(f"SavedModel {str(path)!r} has no 'serve' endpoint; export it with keras_resnet_opt.")
    specs = _input_specs(serve)
    if specs and tuple(specs[0].shape[1:]) != IMAGE_SHAPE:
        raise ModelLoadError(
            f"SavedModel {str(path)!r} expects inputs of shape {tuple(specs[0].shape)}; "
            f"CIFAR-10 images are (N, {', '.join(map(str, IMAGE_SHAPE))})."
        )
    return ServingModel(loaded, serve, specs[0].dtype if specs else tf.uint8)


def _input_specs(fn):
    try:
        concrete = fn.concrete_functions[0] if hasattr(fn, "concrete_functions") else fn
        return [s for s in concrete.structured_input_signature[0]]
    except (AttributeError, IndexError, TypeError):
        return []


def predict(model, images, batch_size=1000):
    """Class probabilities from a ``ServingModel`` for uint8 images, in batches."""
    import tensorflow as tf

    outputs = []
    for start in range(0, len(images), batch_size):
        batch = tf.convert_to_tensor(images[start : start + batch_size])
        if batch.dtype != model.input_dtype:
            batch = tf.cast(batch, model.input_dtype)
        result = model.serve(batch)
        if isinstance(result, dict):
            result = next(iter(result.values()))
        outputs.append(np.asarray(result))
    return np.concatenate(outputs)


def score(probabilities, labels):
    """Accuracy, error, per-class accuracy and confusion matrix from predictions."""
    predicted = probabilities.argmax(axis=1)
    labels = np.asarray(labels)
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    accuracy = float((predicted == labels).mean())
    return Evaluation(
        accuracy=accuracy,
        error=1.0 - accuracy,
        per_class_accuracy={name: float(a) for name, a in zip(CLASS_NAMES, per_class)},
        confusion_matrix=confusion.tolist(),
        num_examples=int(len(labels)),
    )


def evaluate_saved_model(path, images, labels, batch_size=1000):
    return score(predict(load_serving_model(path), images, batch_size), labels)


def plot_confusion_matrix(evaluation, path):
    """Save the confusion matrix as a PNG (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_resnet_opt.atomic import atomic_path

    matrix = np.asarray(evaluation.confusion_matrix)
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(NUM_CLASSES), CLASS_NAMES, rotation=45, ha="right")
    ax.set_yticks(range(NUM_CLASSES), CLASS_NAMES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"CIFAR-10 test: accuracy {evaluation.accuracy:.2%}")
    for i in range(NUM_CLASSES):
        for j in range(NUM_CLASSES):
            ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return path
