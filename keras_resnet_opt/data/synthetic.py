"""Tiny, learnable, CIFAR-shaped data written in the real on-disk layouts.

Tests, benchmarks and examples use it so that they exercise the same reading
code as real runs without needing the real data or a network. Each class has
its own mean colour plus noise, so a small network's loss falls within a few
steps.
"""

import pickle
from pathlib import Path

import numpy as np

from keras_resnet_opt.data import formats
from keras_resnet_opt.data.constants import CLASS_NAMES, NUM_CLASSES


def synthetic_arrays(n, seed=0):
    """``(images uint8 [n, 32, 32, 3], labels int64 [n])`` with classes cycling 0..9."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % NUM_CLASSES
    palette = np.random.default_rng(1234).integers(30, 226, size=(NUM_CLASSES, 3))
    noise = rng.normal(0, 25, size=(n, 32, 32, 3))
    images = np.clip(palette[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8)
    return images, labels.astype(np.int64)


def write_synthetic_cifar10(directory, layout="binary", train_per_batch=60, test_size=100, seed=0):
    """Write a synthetic copy in ``layout`` ("binary", "python-pickle" or "image-folder").

    The training split has ``5 * train_per_batch`` images (five batch files,
    as in the official release). Returns the directory.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    train = [synthetic_arrays(train_per_batch, seed=seed + i) for i in range(5)]
    test = synthetic_arrays(test_size, seed=seed + 99)
    if layout == "binary":
        for name, (x, y) in zip(formats.BIN_TRAIN_FILES + formats.BIN_TEST_FILES, train + [test]):
            rows = np.concatenate([y[:, None].astype(np.uint8), _to_channel_major(x)], axis=1)
            rows.tofile(directory / name)
    elif layout == "python-pickle":
        for name, (x, y) in zip(formats.PY_TRAIN_FILES + formats.PY_TEST_FILES, train + [test]):
            batch = {b"batch_label": name.encode(), b"labels": y.tolist(), b"data": _to_channel_major(x)}
            with open(directory / name, "wb") as f:
                pickle.dump(batch, f, protocol=2)
    elif layout == "image-folder":
        from PIL import Image

        for split, parts in (("train", train), ("test", [test])):
            x = np.concatenate([p[0] for p in parts])
            y = np.concatenate([p[1] for p in parts])
            for i, (image, label) in enumerate(zip(x, y)):
                class_dir = directory / split / CLASS_NAMES[label]
                class_dir.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image).save(class_dir / f"{i:05d}.png")
    else:
        raise ValueError(f"Unknown layout {layout!r}. Valid layouts: binary, python-pickle, image-folder")
    return directory


def _to_channel_major(images):
    return images.transpose(0, 3, 1, 2).reshape(len(images), -1)
