"""Decode once, then serve CIFAR-10 from a ``.npz`` in a user cache directory.

Decoding 60,000 JPEGs takes seconds to tens of seconds; the cached arrays load
in well under a second. The cache lives outside the data directory (which may
be read-only), is keyed by the layout and a fingerprint of the source files
(path, size, mtime), and stores a SHA-256 of its own arrays: a cache whose
checksum or shapes do not match is rebuilt, never trusted.
"""

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from keras_resnet_opt.atomic import atomic_path

CACHE_ENV = "KERAS_RESNET_OPT_CACHE"
_ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def default_cache_dir():
    """``$KERAS_RESNET_OPT_CACHE``, else ``$XDG_CACHE_HOME/keras_resnet_opt``, else ``~/.cache/...``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keras_resnet_opt"


def arrays_checksum(splits):
    """SHA-256 over the decoded arrays: the data's identity, whatever its file format."""
    digest = hashlib.sha256()
    for split in ("train", "test"):
        for array in splits[split]:
            array = np.ascontiguousarray(array)
            digest.update(f"{split}:{array.dtype}:{array.shape};".encode())
            digest.update(array.data)
    return digest.hexdigest()


def cache_file(cache_dir, layout, fingerprint):
    key = hashlib.sha256(f"{layout}\n{fingerprint}".encode()).hexdigest()[:20]
    return Path(cache_dir) / f"cifar10-{layout}-{key}.npz"


def load_cached(path):
    """Return ``(splits, checksum)`` from a cache file, or None if absent or not trustworthy."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in _ARRAYS}
            stored = str(f["checksum"])
        splits = {"train": (arrays["x_train"], arrays["y_train"]), "test": (arrays["x_test"], arrays["y_test"])}
        if arrays_checksum(splits) != stored:
            raise ValueError("checksum mismatch")
        return splits, stored
    except Exception:  # truncated zip, garbage, missing key, bit rot: rebuild
        # numpy's own message for a file that is not a zip talks about pickles
        # and allow_pickle, which is no help here: say what it means.
        warnings.warn(f"The CIFAR-10 cache {str(path)!r} is corrupt, rebuilding it.", stacklevel=2)
        return None


def save_cache(path, splits):
    """Write the arrays and their checksum atomically; returns the checksum."""
    checksum = arrays_checksum(splits)
    with atomic_path(path) as tmp:
        np.savez(
            tmp,
            x_train=splits["train"][0],
            y_train=splits["train"][1],
            x_test=splits["test"][0],
            y_test=splits["test"][1],
            checksum=np.asarray(checksum),
        )
    return checksum
