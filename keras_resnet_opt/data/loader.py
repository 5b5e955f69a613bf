"""``load_cifar10``: one call from any source to train / validation / test arrays."""

import dataclasses
import os
from pathlib import Path

import numpy as np

from keras_resnet_opt.data import cache, formats, splits
from keras_resnet_opt.data.cache import arrays_checksum
from keras_resnet_opt.data.constants import IMAGE_SHAPE, NUM_CLASSES
from keras_resnet_opt.data.errors import DataError
from keras_resnet_opt.data.tfds_source import load_tfds_cifar10

DATA_DIR_ENV = "KERAS_RESNET_OPT_DATA_DIR"


@dataclasses.dataclass(frozen=True)
class CIFAR10:
    """Split arrays plus where they came from.

    ``train``, ``val`` and ``test`` are ``(images, labels)``: uint8
    ``[N, 32, 32, 3]`` and int64 ``[N]`` in the official class order.
    ``source`` describes the origin; ``checksum`` is the SHA-256 of the full
    decoded train and test arrays (before splitting), for manifests.
    """

    train: tuple
    val: tuple
    test: tuple
    source: str
    checksum: str


def resolve_data_dir(data_dir):
    """An explicit directory wins; else ``$KERAS_RESNET_OPT_DATA_DIR``; else None (TFDS)."""
    return data_dir or os.environ.get(DATA_DIR_ENV) or None


def load_cifar10(data_dir=None, val_size=5000, seed=0, train_subset=None, cache_dir=None):
    """Load CIFAR-10 from TFDS or a local copy, with a seeded stratified validation split.

    Args:
        data_dir: None for TFDS ``cifar10``; else a directory in any layout
            ``keras_resnet_opt.data.formats`` recognises. Defaults to None.
        val_size: training images held out for validation, stratified; 0 for
            none. Defaults to 5000 (He et al.'s 45k/5k split).
        seed: seeds the validation split and the subset. Defaults to 0.
        train_subset: keep only this many (stratified) training images after
            the split, for CPU-sized runs; None keeps all. Defaults to None.
        cache_dir: where decoded local copies are cached; defaults to
            ``keras_resnet_opt.data.cache.default_cache_dir()``.

    Raises:
        DataError: missing or corrupt data, with the file and the fix.
    """
    if not isinstance(val_size, (int, np.integer)) or val_size < 0:
        raise DataError(f"`val_size` must be a non-negative integer. Received: val_size={val_size!r}")
    given_by = "--data-dir" if data_dir else DATA_DIR_ENV
    data_dir = resolve_data_dir(data_dir)
    if data_dir is None:
        arrays = load_tfds_cifar10()
        source, checksum = "tfds:cifar10", arrays_checksum(arrays)
    else:
        arrays, source, checksum = _load_local(Path(data_dir), cache_dir, given_by)
    _validate(arrays, source)

    x, y = arrays["train"]
    kept, held = splits.stratified_holdout(y, int(val_size), seed)
    kept = kept[splits.stratified_subset(y[kept], train_subset, seed)]
    return CIFAR10(
        train=(x[kept], y[kept]),
        val=(x[held], y[held]),
        test=arrays["test"],
        source=source,
        checksum=checksum,
    )


def _load_local(data_dir, cache_dir, given_by="--data-dir"):
    layout, root = formats.detect_layout(data_dir, given_by)
    fingerprint = formats.file_fingerprint(formats.list_source_files(layout, root), root)
    path = cache.cache_file(cache_dir or cache.default_cache_dir(), layout, f"{root.resolve()}\n{fingerprint}")
    source = f"{layout}:{root.resolve()}"
    cached = cache.load_cached(path)
    if cached is not None:
        arrays, checksum = cached
        return arrays, source, checksum
    arrays = formats.read_layout(layout, root)
    _validate(arrays, source)
    checksum = cache.save_cache(path, arrays)
    return arrays, source, checksum


def _validate(arrays, source):
    for split in ("train", "test"):
        x, y = arrays[split]
        if len(x) == 0:
            raise DataError(f"The {split} split of {source} is empty.")
        if x.dtype != np.uint8 or x.shape[1:] != IMAGE_SHAPE:
            raise DataError(
                f"The {split} images of {source} have {x.dtype} {x.shape[1:]}; expected uint8 {IMAGE_SHAPE}."
            )
        if len(y) != len(x) or y.min() < 0 or y.max() >= NUM_CLASSES:
            raise DataError(f"The {split} labels of {source} are not {len(x)} values in 0..{NUM_CLASSES - 1}.")
