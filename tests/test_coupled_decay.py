"""Tests of the coupled L2 weight decay mixin (keras_resnet_opt.optimizers).

The property that matters for a fair comparison: every optimizer sees exactly
`g + wd * theta` on the same variables, added after clipping and gradient
accumulation and once per real update.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_resnet_opt.optimizers import (
    CoupledAdam,
    CoupledAdamW,
    CoupledNadam,
    CoupledSGD,
    CoupledWeightDecay,
    Padam,
    with_coupled_decay,
)

WD = 0.05

# (coupled class, its plain Keras counterpart or None, constructor kwargs)
OPTIMIZERS = {
    "sgd": (CoupledSGD, keras.optimizers.SGD, dict(learning_rate=0.1)),
    "sgdm": (CoupledSGD, keras.optimizers.SGD, dict(learning_rate=0.1, momentum=0.9)),
    "adam": (CoupledAdam, keras.optimizers.Adam, dict(learning_rate=0.01)),
    "amsgrad": (
        CoupledAdam,
        keras.optimizers.Adam,
        dict(learning_rate=0.01, amsgrad=True),
    ),
    "nadam": (CoupledNadam, keras.optimizers.Nadam, dict(learning_rate=0.01)),
    "adamw": (
        CoupledAdamW,
        keras.optimizers.AdamW,
        dict(learning_rate=0.01, weight_decay=0.01),
    ),
    "padam": (Padam, None, dict(learning_rate=0.01)),
}


def variables():
    return [
        keras.Variable(np.array([[1.0, -2.0], [0.5, 3.0]], "float32"), name="kernel"),
        keras.Variable(np.array([0.25, -1.5], "float32"), name="bias"),
    ]


GRADS = [
    np.array([[0.3, -0.1], [0.2, 0.05]], "float32"),
    np.array([-0.2, 0.4], "float32"),
]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_same_effect_as_decay_added_to_the_gradient_by_hand(name):
    # Each coupled optimizer must move exactly as its plain version does when
    # the caller adds wd * theta to the gradient itself, step after step.
    coupled_class, plain_class, kwargs = OPTIMIZERS[name]
    if plain_class is None:  # Padam: compare with coupled_weight_decay=None
        plain_class = coupled_class
    coupled_vars, plain_vars = variables(), variables()
    coupled = coupled_class(coupled_weight_decay=WD, **kwargs)
    plain = plain_class(**kwargs)
    for _ in range(5):
        coupled.apply([tf.constant(g) for g in GRADS], coupled_vars)
        plain.apply(
            [tf.constant(g + WD * v.numpy()) for g, v in zip(GRADS, plain_vars)],
            plain_vars,
        )
    for got, expected in zip(coupled_vars, plain_vars):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


def test_sgd_decay_only_by_hand():
    # Zero gradient, plain SGD, lr 0.1, wd 0.05: theta <- theta (1 - 0.005).
    kernel, bias = variables()
    optimizer = CoupledSGD(learning_rate=0.1, coupled_weight_decay=WD)
    optimizer.apply([tf.zeros((2, 2)), tf.zeros(2)], [kernel, bias])
    np.testing.assert_allclose(
        kernel.numpy(), [[0.995, -1.99], [0.4975, 2.985]], rtol=1e-7
    )
    np.testing.assert_allclose(bias.numpy(), [0.24875, -1.4925], rtol=1e-7)


def dense_bn_model():
    return keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, name="dense"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Dense(2, name="head"),
        ]
    )


@pytest.mark.parametrize(
    "decay_variables, decayed",
    [
        ("all", {"kernel", "bias", "gamma", "beta"}),
        ("kernels", {"kernel"}),
    ],
)
def test_decay_variables_selects(decay_variables, decayed):
    model = dense_bn_model()
    for v in model.trainable_variables:  # nonzero everywhere (bias, beta are 0)
        v.assign(np.full(v.shape, 2.0, "float32"))
    optimizer = CoupledSGD(
        learning_rate=0.1, coupled_weight_decay=WD, decay_variables=decay_variables
    )
    optimizer.apply(
        [tf.zeros(v.shape) for v in model.trainable_variables],
        model.trainable_variables,
    )
    for v in model.trainable_variables:
        kind = v.path.split("/")[-1]
        expected = 2.0 * (1 - 0.1 * WD) if kind in decayed else 2.0
        np.testing.assert_allclose(v.numpy(), expected, rtol=1e-7, err_msg=v.path)


def test_decay_variables_also_restricts_keras_decoupled_decay():
    model = dense_bn_model()
    for v in model.trainable_variables:
        v.assign(np.full(v.shape, 2.0, "float32"))
    optimizer = CoupledAdamW(
        learning_rate=0.1, weight_decay=0.5, decay_variables="kernels"
    )
    optimizer.apply(
        [tf.zeros(v.shape) for v in model.trainable_variables],
        model.trainable_variables,
    )
    for v in model.trainable_variables:
        expected = 2.0 * (1 - 0.1 * 0.5) if v.path.endswith("kernel") else 2.0
        np.testing.assert_allclose(v.numpy(), expected, rtol=1e-7, err_msg=v.path)


def test_decay_is_added_after_clipping():
    # As in PyTorch (clip, then optimizer.step adds wd * theta): the decay
    # term is not clipped. g = 0, wd * theta = 5 > clipvalue 0.1.
    theta = keras.Variable(np.array([5.0], "float32"))
    optimizer = CoupledSGD(learning_rate=0.1, coupled_weight_decay=1.0, clipvalue=0.1)
    optimizer.apply([tf.zeros(1)], [theta])
    np.testing.assert_allclose(theta.numpy(), [4.5], rtol=1e-7)


def test_decay_once_per_accumulated_update():
    theta = keras.Variable(np.array([2.0], "float32"))
    optimizer = CoupledSGD(
        learning_rate=0.1, coupled_weight_decay=WD, gradient_accumulation_steps=2
    )
    optimizer.apply([tf.zeros(1)], [theta])
    np.testing.assert_array_equal(theta.numpy(), [2.0])
    optimizer.apply([tf.zeros(1)], [theta])
    np.testing.assert_allclose(theta.numpy(), [2.0 * (1 - 0.1 * WD)], rtol=1e-7)


def test_decay_sees_unscaled_gradients_under_loss_scaling():
    # LossScaleOptimizer divides by the loss scale before the inner update, so
    # the decay term is added to the true gradient: g = 1, theta = 2, wd 0.05.
    theta = keras.Variable(np.array([2.0], "float32"))
    optimizer = keras.optimizers.LossScaleOptimizer(
        CoupledSGD(learning_rate=0.1, coupled_weight_decay=WD),
        initial_scale=1024.0,
    )
    optimizer.apply([tf.constant([1.0 * 1024.0])], [theta])
    np.testing.assert_allclose(theta.numpy(), [2.0 - 0.1 * (1.0 + WD * 2.0)], rtol=1e-7)


def test_exclude_from_weight_decay_applies_to_coupled_decay():
    kernel, bias = variables()
    optimizer = CoupledSGD(learning_rate=0.1, coupled_weight_decay=WD)
    optimizer.exclude_from_weight_decay(var_list=[bias])
    optimizer.apply([tf.zeros((2, 2)), tf.zeros(2)], [kernel, bias])
    np.testing.assert_array_equal(bias.numpy(), [0.25, -1.5])
    np.testing.assert_allclose(kernel.numpy()[0, 0], 0.995, rtol=1e-7)


def test_no_decay_by_default():
    kernel, bias = variables()
    CoupledSGD(learning_rate=0.1).apply([tf.zeros((2, 2)), tf.zeros(2)], [kernel, bias])
    np.testing.assert_array_equal(kernel.numpy(), [[1.0, -2.0], [0.5, 3.0]])


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_config_round_trip(name):
    coupled_class, _, kwargs = OPTIMIZERS[name]
    optimizer = coupled_class(
        coupled_weight_decay=WD, decay_variables="kernels", **kwargs
    )
    config = optimizer.get_config()
    assert config["coupled_weight_decay"] == WD
    assert config["decay_variables"] == "kernels"
    assert coupled_class.from_config(dict(config)).get_config() == config
    serialized = keras.optimizers.serialize(optimizer)
    assert serialized["registered_name"] == f"keras_resnet_opt>{coupled_class.__name__}"
    restored = keras.optimizers.deserialize(serialized)
    assert type(restored) is coupled_class
    assert restored.get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"coupled_weight_decay": -1.0}, "`coupled_weight_decay` must be >= 0"),
        ({"coupled_weight_decay": "5e-4"}, "`coupled_weight_decay` must be a float"),
        ({"decay_variables": "bias"}, "`decay_variables` must be one of"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CoupledSGD(**kwargs)


class SignDescent(keras.optimizers.Optimizer):
    """A user optimizer: theta <- theta - lr * sign(g)."""

    def __init__(self, learning_rate=0.01, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        lr = tf.cast(learning_rate, variable.dtype)
        self.assign_sub(variable, lr * tf.sign(tf.cast(gradient, variable.dtype)))


def test_with_coupled_decay_on_a_user_optimizer():
    coupled_class = with_coupled_decay(SignDescent)
    assert issubclass(coupled_class, CoupledWeightDecay)
    assert issubclass(coupled_class, SignDescent)
    assert coupled_class.__name__ == "CoupledSignDescent"
    assert with_coupled_decay(SignDescent) is coupled_class  # cached
    assert with_coupled_decay(coupled_class) is coupled_class
    # Positive theta, tiny negative g: only the decay makes the sign positive.
    theta = keras.Variable(np.array([2.0], "float32"))
    coupled_class(learning_rate=0.1, coupled_weight_decay=WD).apply(
        [tf.constant([-0.01])], [theta]
    )
    np.testing.assert_allclose(theta.numpy(), [1.9], rtol=1e-7)
    # Registered under a package naming the user's module: no collisions.
    registered = keras.saving.get_registered_name(coupled_class)
    assert registered == f"keras_resnet_opt.coupled.{__name__}>CoupledSignDescent"
    restored = keras.optimizers.deserialize(
        keras.optimizers.serialize(coupled_class(coupled_weight_decay=WD))
    )
    assert type(restored) is coupled_class
    assert restored.coupled_weight_decay == WD


def test_padam_and_builtins_are_not_wrapped_twice():
    assert with_coupled_decay(Padam) is Padam
    assert with_coupled_decay(keras.optimizers.SGD) is CoupledSGD


def test_with_coupled_decay_rejects_non_optimizers():
    with pytest.raises(TypeError, match="keras.optimizers.Optimizer"):
        with_coupled_decay(dict)


def test_coupled_optimizer_trains_and_saves(tmp_path):
    model = dense_bn_model()
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = np.random.default_rng(1).normal(size=(32, 2)).astype("float32")
    model.compile(
        optimizer=CoupledSGD(learning_rate=0.01, momentum=0.9, coupled_weight_decay=5e-4),
        loss="mse",
    )
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "coupled.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.optimizer) is CoupledSGD
    assert loaded.optimizer.coupled_weight_decay == 5e-4
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
