"""The default data source: TensorFlow Datasets' ``cifar10``.

Offline, TFDS retries the download for minutes before it gives up. So the
prepared copy is tried first without downloading, and when a download is
needed but its host cannot even be resolved, the same error comes at once.
"""

import contextlib
import logging
import os
import socket
import threading
from pathlib import Path

import numpy as np

from keras_resnet_opt.data.errors import DataError

_HOW_TO_USE_A_LOCAL_COPY = (
    "To use a local copy instead, pass --data-dir (or set KERAS_RESNET_OPT_DATA_DIR) to a "
    "cifar-10-batches-py, cifar-10-batches-bin or image-folder directory. To keep using TFDS "
    "offline, put the genuine cifar-10-binary.tar.gz (170,052,171 bytes, sha256 "
    "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd) in a folder DIR and run "
    "tfds.builder('cifar10').download_and_prepare(download_config="
    "tfds.download.DownloadConfig(manual_dir=DIR))."
)


# Where TFDS's cifar10 builder downloads the archive from
# (tensorflow_datasets/image_classification/cifar.py).
DOWNLOAD_HOST = "www.cs.toronto.edu"
RESOLVE_TIMEOUT_S = 10
# With a proxy the host is resolved by the proxy, not here.
_PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def load_tfds_cifar10(tfds_data_dir=None):
    """Return ``{"train": (x, y), "test": (x, y)}`` from TFDS (honours ``TFDS_DATA_DIR``).

    Raises:
        DataError: TFDS could not load or download it; within seconds when
            the download host cannot be resolved.
    """
    import tensorflow_datasets as tfds

    data_dir = tfds_data_dir or os.environ.get("TFDS_DATA_DIR")

    def load(download):
        return tfds.load("cifar10", split=["train", "test"], as_supervised=True, data_dir=data_dir, download=download)

    try:
        try:
            with _quiet_absl():  # "Variant folder ... has no dataset_info.json" when it is not prepared
                train, test = load(download=False)
        except AssertionError:  # TFDS's "could not find data": not prepared yet, so it must download
            problem = None if _archive_downloaded(data_dir) else unreachable(DOWNLOAD_HOST)
            if problem is not None:
                where = data_dir or "~/tensorflow_datasets"
                raise DataError(
                    f"Could not load TFDS 'cifar10': it is not prepared in {where} and {problem}. "
                    f"{_HOW_TO_USE_A_LOCAL_COPY}"
                ) from None
            train, test = load(download=True)
    except DataError:
        raise
    except Exception as e:  # network errors surface as many different types
        raise DataError(f"Could not load TFDS 'cifar10' ({type(e).__name__}: {e}). {_HOW_TO_USE_A_LOCAL_COPY}") from e
    return {"train": _to_arrays(tfds, train), "test": _to_arrays(tfds, test)}


def unreachable(host, timeout=RESOLVE_TIMEOUT_S):
    """None when ``host`` resolves (or a proxy will resolve it), else why not, in words.

    The lookup runs in a daemon thread so that a resolver that hangs costs
    ``timeout`` seconds, not the resolver's own retries.
    """
    if any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return None
    outcome = {}

    def resolve():
        try:
            socket.getaddrinfo(host, 443)
            outcome["ok"] = True
        except OSError as e:
            outcome["error"] = e

    thread = threading.Thread(target=resolve, daemon=True)
    thread.start()
    thread.join(timeout)
    if outcome.get("ok"):
        return None
    if "error" in outcome:
        return f"its download host {host} cannot be resolved ({outcome['error']}; is this machine offline?)"
    return f"its download host {host} did not resolve within {timeout} s (is this machine offline?)"


@contextlib.contextmanager
def _quiet_absl():
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _archive_downloaded(data_dir):
    """True when TFDS already holds the downloaded archive (it can prepare without the network)."""
    root = Path(data_dir).expanduser() if data_dir else Path.home() / "tensorflow_datasets"
    downloads = root / "downloads"
    return downloads.is_dir() and any(downloads.glob("*cifar-10-binary*"))


def _to_arrays(tfds, dataset):
    # Batched iteration rather than batch_size=-1, which aborts under tfds.testing.mock_data.
    images, labels = [], []
    for x, y in tfds.as_numpy(dataset.batch(10_000)):
        images.append(x)
        labels.append(y)
    return np.concatenate(images).astype(np.uint8), np.concatenate(labels).astype(np.int64)
