"""CIFAR-10: loading from TFDS or any common local layout, splits, and tf.data pipelines."""

from keras_resnet_opt.data.constants import CHANNEL_MEAN, CHANNEL_STD, CLASS_NAMES, NUM_CLASSES
from keras_resnet_opt.data.errors import DataError
from keras_resnet_opt.data.loader import CIFAR10, DATA_DIR_ENV, load_cifar10, resolve_data_dir

__all__ = [
    "CHANNEL_MEAN",
    "CHANNEL_STD",
    "CIFAR10",
    "CLASS_NAMES",
    "DATA_DIR_ENV",
    "DataError",
    "NUM_CLASSES",
    "load_cifar10",
    "resolve_data_dir",
]
