"""The fused batch norm and the pooled shortcut compute what Keras' layers compute."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_resnet_opt.models import ZeroPadShortcut
from keras_resnet_opt.models.batch_norm import FusedBatchNormalization


@pytest.fixture
def policy(request):
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy("float32")


def _pair(shape):
    rng = np.random.default_rng(0)
    reference = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
    fused = FusedBatchNormalization(momentum=0.9, epsilon=1e-5)
    for layer in (reference, fused):
        layer.build(shape)
    gamma, beta = rng.uniform(0.5, 2.0, shape[-1]), rng.uniform(-1.0, 1.0, shape[-1])
    mean, var = rng.normal(size=shape[-1]), rng.uniform(0.5, 3.0, shape[-1])
    for layer in (reference, fused):
        layer.set_weights([gamma, beta, mean, var])
    return reference, fused


def _close(a, b, policy):
    a, b = (np.asarray(tf.cast(t, "float32")) for t in (a, b))
    # bf16 keeps 8 significant bits: compare at its resolution.
    rtol = 1e-5 if policy == "float32" else 1e-2
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(a).max())


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"], indirect=True)
def test_training_step_matches_keras(policy):
    shape = (8, 6, 6, 5)
    reference, fused = _pair(shape)
    rng = np.random.default_rng(1)
    x = tf.cast(tf.constant(rng.normal(2.0, 3.0, shape), "float32"), reference.compute_dtype)
    # A loss with a non-trivial gradient through the normalisation (a sum of
    # squares of a BN output is constant in the input).
    weights = tf.constant(rng.normal(size=shape), "float32")
    results = []
    for layer in (reference, fused):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.cast(y, "float32") ** 3 * weights)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append((y, grads, layer.moving_mean.numpy(), layer.moving_variance.numpy()))
    (y0, g0, m0, v0), (y1, g1, m1, v1) = results
    assert y1.dtype == y0.dtype
    _close(y0, y1, policy)
    for a, b in zip(g0, g1):
        _close(a, b, policy)
    np.testing.assert_allclose(m0, m1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v0, v1, rtol=1e-5, atol=1e-6)  # plain (biased) variance, as Keras averages


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"], indirect=True)
def test_inference_uses_moving_statistics(policy):
    shape = (4, 3, 3, 6)
    reference, fused = _pair(shape)
    x = tf.cast(tf.constant(np.random.default_rng(2).normal(size=shape), "float32"), reference.compute_dtype)
    _close(reference(x, training=False), fused(x, training=False), policy)


def test_single_value_per_channel_has_zero_variance():
    reference, fused = _pair((1, 1, 1, 3))
    x = tf.constant([[[[1.0, -2.0, 3.0]]]])
    reference(x, training=True)
    fused(x, training=True)
    np.testing.assert_allclose(fused.moving_variance.numpy(), reference.moving_variance.numpy(), atol=1e-7)
    assert np.all(np.isfinite(fused.moving_variance.numpy()))


def test_falls_back_to_keras_where_the_kernel_does_not_apply():
    layer = FusedBatchNormalization(axis=1)
    layer.build((2, 3, 4, 4))
    assert not layer._can_fuse(tf.zeros((2, 3, 4, 4)), None)
    dense = FusedBatchNormalization()
    dense.build((2, 5))
    assert not dense._can_fuse(tf.zeros((2, 5)), None)
    out = dense(tf.constant(np.arange(10, dtype="float32").reshape(2, 5)), training=True)
    assert out.shape == (2, 5)


def test_pooled_shortcut_is_the_strided_slice():
    x = tf.constant(np.random.default_rng(3).normal(size=(2, 7, 8, 4)), "float32")
    out = ZeroPadShortcut(8, 2)(x)
    expected = tf.pad(x[:, ::2, ::2, :], [[0, 0], [0, 0], [0, 0], [2, 2]])
    assert out.shape == (2, 4, 4, 8)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(ZeroPadShortcut(8, 2)(x) * 3.0)
    grad = tape.gradient(loss, x).numpy()
    expected_grad = np.zeros_like(grad)
    expected_grad[:, ::2, ::2, :] = 3.0
    np.testing.assert_array_equal(grad, expected_grad)


def test_groups_normalise_each_part_of_the_batch_as_keras_does_alone():
    # Two parts of 4 images: each normalised by its own statistics, as two devices without synchronised
    # batch norm would; the moving averages take the mean of the parts' means and plain variances.
    shape, groups = (8, 5, 5, 3), 2
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(1.0, 2.0, shape) + np.arange(8).reshape(8, 1, 1, 1), "float32")
    weights = tf.constant(rng.normal(size=shape), "float32")
    grouped = FusedBatchNormalization(groups=groups, momentum=0.9, epsilon=1e-5)
    grouped.build(shape)
    gamma, beta = rng.uniform(0.5, 2.0, 3), rng.uniform(-1.0, 1.0, 3)
    grouped.set_weights([gamma, beta, np.zeros(3), np.ones(3)])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = grouped(x, training=True)
        loss = tf.reduce_sum(y**3 * weights)
    dx, dgamma = tape.gradient(loss, [x, grouped.gamma])
    parts, expected_dx, expected_dgamma = [], [], 0.0
    for g in range(groups):
        part = slice(4 * g, 4 * (g + 1))
        alone = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
        alone.build((4, 5, 5, 3))
        alone.set_weights([gamma, beta, np.zeros(3), np.ones(3)])
        xg = x[part]
        with tf.GradientTape() as tape:
            tape.watch(xg)
            yg = alone(xg, training=True)
            loss_g = tf.reduce_sum(yg**3 * weights[part])
        g_dx, g_dgamma = tape.gradient(loss_g, [xg, alone.gamma])
        parts.append(yg)
        expected_dx.append(g_dx)
        expected_dgamma += g_dgamma
    np.testing.assert_allclose(y, tf.concat(parts, 0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, tf.concat(expected_dx, 0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dgamma, expected_dgamma, rtol=1e-4)
    halves = np.asarray(x).reshape(groups, 4, 5, 5, 3)
    means, variances = halves.mean(axis=(1, 2, 3)), halves.var(axis=(1, 2, 3))
    np.testing.assert_allclose(grouped.moving_mean, 0.1 * means.mean(0), rtol=1e-5)
    np.testing.assert_allclose(grouped.moving_variance, 0.9 + 0.1 * variances.mean(0), rtol=1e-5)
    # Inference reads the moving averages only; the configuration round-trips; bad settings are refused.
    moving = (np.asarray(x) - grouped.moving_mean.numpy()) / np.sqrt(grouped.moving_variance.numpy() + 1e-5)
    np.testing.assert_allclose(grouped(x, training=False), moving * gamma + beta, rtol=1e-4, atol=1e-5)
    assert FusedBatchNormalization.from_config(grouped.get_config()).groups == 2
    with pytest.raises(ValueError, match="positive integer"):
        FusedBatchNormalization(groups=0)
    with pytest.raises(ValueError, match="do not combine"):
        FusedBatchNormalization(groups=2, synchronized=True)
    with pytest.raises(tf.errors.InvalidArgumentError, match="split into 2 equal parts"):
        grouped(x[:7], training=True)
    # Where the fused kernel cannot run (here: a mask), inference still works; grouped training does not.
    mask = tf.ones(shape[:-1], "bool")
    np.testing.assert_allclose(grouped(x, training=False, mask=mask), moving * gamma + beta, rtol=1e-4, atol=1e-5)
    with pytest.raises(NotImplementedError, match="groups"):
        grouped(x, training=True, mask=mask)
