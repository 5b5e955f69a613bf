"""Augmentation is exactly pad+crop+flip, deterministic per (seed, epoch), and eval is untouched."""

import numpy as np

from keras_resnet_opt.data.pipeline import augment_batch, eval_dataset, normalize, steps_per_epoch, train_dataset


def _images(n=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


def _is_crop_or_flipped_crop(out, image):
    padded = np.pad(image, ((4, 4), (4, 4), (0, 0)))
    for dy in range(9):
        for dx in range(9):
            window = padded[dy : dy + 32, dx : dx + 32]
            if np.array_equal(out, window) or np.array_equal(out, window[:, ::-1]):
                return True
    return False


def test_augmented_images_are_crops_of_padded_input():
    import tensorflow as tf

    images = _images()
    out = augment_batch(tf.constant(images), tf.constant([1, 2], dtype=tf.int64)).numpy()
    assert out.shape == images.shape and out.dtype == np.uint8
    for a, b in zip(out, images):
        assert _is_crop_or_flipped_crop(a, b)
    assert not np.array_equal(out, images)  # something actually moved


def test_both_flips_and_several_offsets_occur():
    import tensorflow as tf

    images = _images(256)
    out = augment_batch(tf.constant(images), tf.constant([5, 6], dtype=tf.int64)).numpy()
    unchanged = sum(np.array_equal(a, b) for a, b in zip(out, images))
    assert 0 <= unchanged < 30  # the identity crop without flip is 1 in 162


def test_eval_is_not_augmented_and_in_order():
    images = _images(10)
    labels = np.arange(10)
    batches = list(eval_dataset(images, labels, 4))
    got = np.concatenate([b[0].numpy() for b in batches])
    np.testing.assert_array_equal(got, images.astype(np.float32))
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), labels)


def test_train_epochs_are_a_function_of_seed_and_epoch():
    images, labels = _images(40), np.arange(40) % 10

    def epoch_batches(first, last, seed=0):
        return [(x.numpy(), y.numpy()) for x, y in train_dataset(images, labels, 16, seed, first, last)]

    full = epoch_batches(0, 3)
    resumed = epoch_batches(2, 3)
    assert len(full) == 3 * steps_per_epoch(40, 16)
    for (xa, ya), (xb, yb) in zip(full[-3:], resumed):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    # Different epochs see different orders; every image appears once per epoch.
    first_epoch_labels = np.concatenate([y for _, y in full[:3]])
    assert sorted(first_epoch_labels) == sorted(labels)
    assert not np.array_equal(full[0][1], full[3][1])
    other_seed = epoch_batches(0, 1, seed=1)
    assert not np.array_equal(full[0][0], other_seed[0][0])


def test_normalize_uses_channel_statistics():
    from keras_resnet_opt.data.constants import CHANNEL_MEAN, CHANNEL_STD

    pixel = np.array([[[[255 * m for m in CHANNEL_MEAN]]]], dtype=np.float32)
    np.testing.assert_allclose(normalize(pixel).numpy(), 0.0, atol=1e-5)
    pixel = pixel + np.array([255 * s for s in CHANNEL_STD], dtype=np.float32)
    np.testing.assert_allclose(normalize(pixel).numpy(), 1.0, atol=1e-5)
