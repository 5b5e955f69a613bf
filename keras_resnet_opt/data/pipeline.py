"""tf.data input pipelines: seeded augmentation that survives a resume.

Training data for epoch ``e`` is a pure function of ``(seed, e)``: the
shuffle order comes from a stateless permutation and every crop offset and
flip from stateless random ops seeded by ``(seed, e, batch)``. A run resumed
at epoch ``e`` therefore sees exactly the batches an uninterrupted run would,
which plain ``Dataset.shuffle`` (whose state lives in the iterator) cannot give.

Augmentation (4-pixel zero pad, random 32x32 crop, horizontal flip; He et al.
and the Padam scripts) runs on whole batches with vectorised gathers, which
is far cheaper on the CPU than a per-image ``map``. Images stay uint8 until
the end and come out as float32 in [0, 255]; the models normalise inside the
graph (``keras_resnet_opt.models.preprocessing``), or pass ``normalize=True``
for a model built without it.
"""

import math

import tensorflow as tf

from keras_resnet_opt.data.constants import CHANNEL_MEAN, CHANNEL_STD

PAD = 4


def steps_per_epoch(num_examples, batch_size):
    """Batches per epoch; the last partial batch is kept (PyTorch's default too)."""
    return math.ceil(num_examples / batch_size)


def normalize(images):
    """Per-channel standard scores of float images in [0, 255]."""
    mean = tf.constant([255.0 * m for m in CHANNEL_MEAN], dtype=tf.float32)
    std = tf.constant([255.0 * s for s in CHANNEL_STD], dtype=tf.float32)
    return (tf.cast(images, tf.float32) - mean) / std


def augment_batch(images, seed):
    """Pad by 4 with zeros, take a random 32x32 crop, flip half the images.

    Args:
        images: uint8 or float tensor ``[B, H, W, C]``.
        seed: int tensor of shape [2] for the stateless random ops.
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    padded = tf.pad(images, [[0, 0], [PAD, PAD], [PAD, PAD], [0, 0]])
    seeds = tf.random.experimental.stateless_split(seed, num=3)
    dy = tf.random.stateless_uniform([batch], seeds[0], minval=0, maxval=2 * PAD + 1, dtype=tf.int32)
    dx = tf.random.stateless_uniform([batch], seeds[1], minval=0, maxval=2 * PAD + 1, dtype=tf.int32)
    rows = dy[:, None] + tf.range(height)[None, :]
    cols = dx[:, None] + tf.range(width)[None, :]
    cropped = tf.gather(padded, rows, axis=1, batch_dims=1)
    cropped = tf.gather(cropped, cols, axis=2, batch_dims=1)
    flip = tf.random.stateless_uniform([batch], seeds[2]) < 0.5
    return tf.where(flip[:, None, None, None], tf.reverse(cropped, axis=[2]), cropped)


def _finish(images, labels, normalize_images):
    images = tf.cast(images, tf.float32)
    if normalize_images:
        images = normalize(images)
    return images, labels


def train_dataset(images, labels, batch_size, seed, first_epoch=0, last_epoch=1, augment=True, normalize_images=False):
    """Batches for epochs ``first_epoch .. last_epoch - 1``, back to back.

    Pass ``steps_per_epoch(len(images), batch_size)`` to ``model.fit`` with
    ``initial_epoch=first_epoch`` so Keras consumes exactly one epoch per epoch.
    """
    n = len(images)
    images = tf.constant(images)
    labels = tf.constant(labels, dtype=tf.int32)
    seed = tf.constant(seed, dtype=tf.int64)

    def one_epoch(epoch):
        order = tf.argsort(tf.random.stateless_uniform([n], tf.stack([seed, epoch])))
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size).enumerate()

        def gather(index, batch):
            x = tf.gather(images, batch)
            if augment:
                x = augment_batch(x, tf.stack([seed, epoch * 1_000_003 + index]))
            return _finish(x, tf.gather(labels, batch), normalize_images)

        return batches.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    epochs = tf.data.Dataset.range(first_epoch, last_epoch)
    return epochs.flat_map(one_epoch).prefetch(tf.data.AUTOTUNE)


def eval_dataset(images, labels, batch_size, normalize_images=False):
    """Un-augmented batches in order, for validation and test."""
    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype("int32"))).batch(batch_size)
    return ds.map(lambda x, y: _finish(x, y, normalize_images), num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )
