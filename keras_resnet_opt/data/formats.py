"""Readers for the on-disk CIFAR-10 layouts people actually have.

Three layouts are recognised, each returning uint8 images ``[N, 32, 32, 3]``
and int64 labels ``[N]`` for the train and test splits:

* ``cifar-10-batches-py``: the official Python pickles. They are read with a
  restricted unpickler that only rebuilds builtins and numpy arrays, because
  a pickle can otherwise run arbitrary code.
* ``cifar-10-batches-bin``: the official binary records (1 label byte + 3072
  pixel bytes, channel-major), the archive TFDS downloads.
* an image-folder tree ``train/<class>/*`` and ``test/<class>/*`` of PNG or
  JPEG files (e.g. ``../shared/datasets/cifar10``).
"""

import io
import os
import pickle
from pathlib import Path

import numpy as np

from keras_resnet_opt.data.constants import CLASS_NAMES, IMAGE_SHAPE
from keras_resnet_opt.data.errors import DataError

PY_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
PY_TEST_FILES = ("test_batch",)
BIN_TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
BIN_TEST_FILES = ("test_batch.bin",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_PIXELS = int(np.prod(IMAGE_SHAPE))

LAYOUTS = ("python-pickle", "binary", "image-folder")


def detect_layout(data_dir, given_by="--data-dir"):
    """Return ``(layout, root)`` for a directory, looking one level down too.

    Args:
        data_dir: the directory.
        given_by: where the user gave it ("--data-dir", or the environment
            variable), so that the error names what to change.

    Raises:
        DataError: the directory is missing or holds none of the layouts.
    """
    data_dir = Path(data_dir)
    if given_by.startswith("--"):
        change = f"Pass {given_by} pointing at"
        instead = f"or omit {given_by} to use TFDS"
    else:
        change = f"Set {given_by} (now {str(data_dir)!r}) to"
        instead = f"or unset {given_by} to use TFDS (--data-dir overrides it)"
    if not data_dir.is_dir():
        raise DataError(
            f"CIFAR-10 directory {str(data_dir)!r} (from {given_by}) does not exist or is not a directory. "
            f"{change} cifar-10-batches-py, cifar-10-batches-bin or an image folder with train/<class>/ and "
            f"test/<class>/, {instead}."
        )
    candidates = [data_dir, data_dir / "cifar-10-batches-py", data_dir / "cifar-10-batches-bin"]
    for root in candidates:
        if (root / PY_TRAIN_FILES[0]).is_file():
            return "python-pickle", root
        if (root / BIN_TRAIN_FILES[0]).is_file():
            return "binary", root
    if (data_dir / "train").is_dir() or (data_dir / "test").is_dir():
        return "image-folder", data_dir
    raise DataError(
        f"No CIFAR-10 layout found in {str(data_dir)!r} (from {given_by}): expected data_batch_1 "
        "(cifar-10-batches-py), data_batch_1.bin (cifar-10-batches-bin), or train/ and "
        f"test/ folders of class sub-folders. Check the path, {instead}."
    )


def list_source_files(layout, root):
    """Every file the layout reads, sorted; used to fingerprint the source."""
    root = Path(root)
    if layout == "python-pickle":
        return [root / name for name in PY_TRAIN_FILES + PY_TEST_FILES]
    if layout == "binary":
        return [root / name for name in BIN_TRAIN_FILES + BIN_TEST_FILES]
    files = []
    for split in ("train", "test"):
        for class_dir, paths in _image_folder_split(root, split):
            files.extend(paths)
    return files


def read_layout(layout, root):
    """Decode a layout into ``{"train": (x, y), "test": (x, y)}``."""
    reader = {"python-pickle": _read_python, "binary": _read_binary, "image-folder": _read_image_folder}
    return reader[layout](Path(root))


# -- python pickles -----------------------------------------------------------------

# numpy moved ``core`` to ``_core`` in 2.0; pickles written by either name must load.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
    ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"),
    ("__builtin__", "object"),
    ("builtins", "object"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Rebuilds only the builtin and numpy types a CIFAR-10 batch contains."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")


def _load_pickle_batch(path):
    if not path.is_file():
        raise DataError(f"Missing CIFAR-10 batch file {str(path)!r}; the copy is incomplete.")
    try:
        with open(path, "rb") as f:
            batch = _RestrictedUnpickler(io.BytesIO(f.read()), encoding="bytes").load()
    except Exception as e:  # corrupt, truncated or hostile pickles all end here
        raise DataError(f"Cannot read CIFAR-10 batch {str(path)!r}: {e}. Re-download or re-extract it.") from e
    if not isinstance(batch, dict):
        raise DataError(f"{str(path)!r} is not a CIFAR-10 batch (expected a dict, got {type(batch).__name__}).")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise DataError(f"{str(path)!r} has no 'data'/'labels' entries; it is not a CIFAR-10 batch.")
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != _PIXELS or len(labels) != len(data):
        raise DataError(f"{str(path)!r} has data of shape {data.shape}; expected [N, {_PIXELS}] with N labels.")
    return _channel_major_to_images(data), labels


def _read_python(root):
    return {
        split: _concat([_load_pickle_batch(root / name) for name in names])
        for split, names in (("train", PY_TRAIN_FILES), ("test", PY_TEST_FILES))
    }


# -- binary records -----------------------------------------------------------------


def _load_binary_batch(path):
    if not path.is_file():
        raise DataError(f"Missing CIFAR-10 batch file {str(path)!r}; the copy is incomplete.")
    raw = np.fromfile(path, dtype=np.uint8)
    record = _PIXELS + 1
    if raw.size == 0 or raw.size % record:
        raise DataError(
            f"{str(path)!r} is {raw.size} bytes, not a whole number of {record}-byte CIFAR-10 "
            "records; the file is truncated or corrupt. Re-download it."
        )
    raw = raw.reshape(-1, record)
    return _channel_major_to_images(raw[:, 1:]), raw[:, 0].astype(np.int64)


def _read_binary(root):
    return {
        split: _concat([_load_binary_batch(root / name) for name in names])
        for split, names in (("train", BIN_TRAIN_FILES), ("test", BIN_TEST_FILES))
    }


# -- image folders ------------------------------------------------------------------


def _image_folder_split(root, split):
    """Yield ``(class_dir, sorted image paths)`` per class, validating names."""
    split_dir = root / split
    if not split_dir.is_dir():
        raise DataError(
            f"Missing split folder {str(split_dir)!r}: an image-folder copy needs both "
            "train/<class>/ and test/<class>/."
        )
    subdirs = sorted(p for p in split_dir.iterdir() if p.is_dir())
    unknown = [p.name for p in subdirs if p.name not in CLASS_NAMES]
    if unknown:
        raise DataError(
            f"Unknown class folder(s) {unknown} in {str(split_dir)!r}; expected only "
            f"{', '.join(CLASS_NAMES)}."
        )
    present = {p.name for p in subdirs}
    missing = [c for c in CLASS_NAMES if c not in present]
    if missing:
        raise DataError(f"Class folder(s) {missing} missing from {str(split_dir)!r}.")
    for name in CLASS_NAMES:
        class_dir = split_dir / name
        paths = sorted(p for p in class_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            raise DataError(f"Class folder {str(class_dir)!r} holds no PNG or JPEG images.")
        yield class_dir, paths


def _decode_image(path):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise DataError(f"Unreadable image {str(path)!r}: {e}. Replace or delete the file.") from e
    if array.shape != IMAGE_SHAPE:
        raise DataError(f"Image {str(path)!r} has shape {array.shape}; CIFAR-10 images are {IMAGE_SHAPE}.")
    return array


def _read_image_folder(root):
    splits = {}
    for split in ("train", "test"):
        images, labels = [], []
        for label, (_, paths) in enumerate(_image_folder_split(root, split)):
            images.extend(_decode_image(p) for p in paths)
            labels.extend([label] * len(paths))
        splits[split] = (np.stack(images), np.asarray(labels, dtype=np.int64))
    return splits


# -- shared -------------------------------------------------------------------------


def _channel_major_to_images(rows):
    """CIFAR stores each image as 1024 R, then G, then B bytes."""
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()


def _concat(parts):
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


def file_fingerprint(paths, root):
    """(relative path, size, mtime) of each file: cheap to compute, changes when the data does."""
    entries = []
    for p in paths:
        if not os.path.isfile(p):
            raise DataError(f"Missing CIFAR-10 file {str(p)!r}; the copy is incomplete. Re-download or re-extract it.")
        st = os.stat(p)
        entries.append(f"{os.path.relpath(p, root)}\t{st.st_size}\t{st.st_mtime_ns}")
    return "\n".join(entries)
