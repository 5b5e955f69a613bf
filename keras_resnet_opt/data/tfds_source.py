"""The default data source: TensorFlow Datasets' ``cifar10``."""

import os

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


def load_tfds_cifar10(tfds_data_dir=None):
    """Return ``{"train": (x, y), "test": (x, y)}`` from TFDS (honours ``TFDS_DATA_DIR``)."""
    import tensorflow_datasets as tfds

    data_dir = tfds_data_dir or os.environ.get("TFDS_DATA_DIR")
    try:
        train, test = tfds.load("cifar10", split=["train", "test"], as_supervised=True, data_dir=data_dir)
    except Exception as e:  # network errors surface as many different types
        raise DataError(f"Could not load TFDS 'cifar10' ({type(e).__name__}: {e}). {_HOW_TO_USE_A_LOCAL_COPY}") from e
    return {"train": _to_arrays(tfds, train), "test": _to_arrays(tfds, test)}


def _to_arrays(tfds, dataset):
    # Batched iteration rather than batch_size=-1, which aborts under tfds.testing.mock_data.
    images, labels = [], []
    for x, y in tfds.as_numpy(dataset.batch(10_000)):
        images.append(x)
        labels.append(y)
    return np.concatenate(images).astype(np.uint8), np.concatenate(labels).astype(np.int64)
