"""Tests of keras_resnet_opt.optimizers.registry: names, defaults, overrides,
plug-ins, and that docs/optimizers.md shows the table as it is."""

import os
import sys
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_resnet_opt.optimizer_names import OPTIMIZER_NAMES
from keras_resnet_opt.optimizers import (
    CoupledAdam,
    CoupledAdamW,
    CoupledHeavyBallSGD,
    CoupledNadam,
    CoupledWeightDecay,
    Padam,
    list_optimizers,
    make_optimizer,
    optimizer_defaults,
    registry,
)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ["sgd", "sgdm", "adam", "nadam", "amsgrad", "adamw", "padam"]


def test_list_optimizers():
    assert list_optimizers() == NAMES
    assert tuple(registry.OPTIMIZERS) == OPTIMIZER_NAMES  # the names and their order live there


def test_padam_defaults():
    optimizer = make_optimizer("padam")
    assert type(optimizer) is Padam
    assert optimizer.learning_rate.numpy() == pytest.approx(0.1)
    assert optimizer.partial == 0.125
    assert optimizer.amsgrad is True
    assert optimizer.beta_2 == 0.999
    assert optimizer.epsilon == 1e-8
    assert optimizer.coupled_weight_decay == 5e-4
    assert optimizer.weight_decay is None  # no Keras decoupled decay on top
    assert optimizer.decay_variables == "all"


@pytest.mark.parametrize(
    "name, cls, expected",
    [
        ("sgd", CoupledHeavyBallSGD, {"momentum": 0.0, "coupled_weight_decay": 5e-4}),
        ("sgdm", CoupledHeavyBallSGD, {"momentum": 0.9, "coupled_weight_decay": 5e-4}),
        (
            "adam",
            CoupledAdam,
            {"beta_2": 0.99, "amsgrad": False, "coupled_weight_decay": 1e-4},
        ),
        (
            "amsgrad",
            CoupledAdam,
            {"beta_2": 0.99, "amsgrad": True, "coupled_weight_decay": 1e-4},
        ),
        ("nadam", CoupledNadam, {"beta_2": 0.99, "coupled_weight_decay": 1e-4}),
        (
            "adamw",
            CoupledAdamW,
            {"beta_2": 0.99, "weight_decay": 0.05, "coupled_weight_decay": None},
        ),
    ],
)
def test_table_defaults(name, cls, expected):
    optimizer = make_optimizer(name)
    assert type(optimizer) is cls
    for key, value in expected.items():
        assert getattr(optimizer, key) == value, key
    defaults = optimizer_defaults(name)
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(
        defaults["learning_rate"]
    )


def test_paper_settings():
    # reference.md section 3 (ICLR 2019 reproducibility report of Padam).
    assert optimizer_defaults("sgdm") == {
        "learning_rate": 0.1,
        "momentum": 0.9,
        "weight_decay": 5e-4,
    }
    for name in ("adam", "amsgrad"):
        defaults = optimizer_defaults(name)
        assert defaults["learning_rate"] == 0.001
        assert defaults["beta_2"] == 0.99
        assert defaults["weight_decay"] == 1e-4
    padam = optimizer_defaults("padam")
    assert padam["learning_rate"] == 0.1
    assert padam["beta_2"] == 0.999
    assert padam["partial"] == 1 / 8
    assert padam["weight_decay"] == 5e-4
    assert padam["amsgrad"] is True


def test_decay_kinds():
    assert {n: registry.OPTIMIZERS[n].decay for n in NAMES} == {
        "sgd": "coupled",
        "sgdm": "coupled",
        "adam": "coupled",
        "amsgrad": "coupled",
        "nadam": "coupled",
        "adamw": "decoupled",
        "padam": "coupled",
    }


def test_defaults_are_a_copy():
    optimizer_defaults("padam")["learning_rate"] = 5.0
    assert optimizer_defaults("padam")["learning_rate"] == 0.1


@pytest.mark.parametrize("name", NAMES)
def test_every_optimizer_steps(name):
    variable = keras.Variable(np.ones((2, 2), "float32"), name="kernel")
    optimizer = make_optimizer(name)
    optimizer.apply([tf.fill((2, 2), 0.5)], [variable])
    assert np.all(variable.numpy() < 1.0)


def test_overrides():
    optimizer = make_optimizer(
        "padam",
        learning_rate=0.05,
        partial=0.25,
        beta_1=0.8,
        beta_2=0.99,
        epsilon=1e-6,
        amsgrad=False,
        weight_decay=1e-3,
        decay_variables="kernels",
        clipnorm=2.0,
        gradient_accumulation_steps=2,
    )
    assert optimizer.learning_rate.numpy() == pytest.approx(0.05)
    assert (optimizer.partial, optimizer.beta_1, optimizer.beta_2) == (0.25, 0.8, 0.99)
    assert (optimizer.epsilon, optimizer.amsgrad) == (1e-6, False)
    assert optimizer.coupled_weight_decay == 1e-3
    assert optimizer.decay_variables == "kernels"
    assert optimizer.clipnorm == 2.0
    assert optimizer.gradient_accumulation_steps == 2

    sgdm = make_optimizer("sgdm", momentum=0.8, nesterov=True, weight_decay=None)
    assert (sgdm.momentum, sgdm.nesterov, sgdm.coupled_weight_decay) == (0.8, True, None)


def test_weight_decay_is_decoupled_for_adamw_only():
    adamw = make_optimizer("adamw", weight_decay=0.1)
    assert adamw.weight_decay == 0.1
    assert adamw.coupled_weight_decay is None
    assert make_optimizer("adamw", weight_decay=None).weight_decay == 0.0
    adam = make_optimizer("adam", weight_decay=0.1)
    assert adam.coupled_weight_decay == 0.1
    assert adam.weight_decay is None


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as error:
        make_optimizer("adagrad")
    message = str(error.value)
    assert "'adagrad'" in message
    for name in NAMES:
        assert name in message
    with pytest.raises(ValueError, match="Valid names: sgd, sgdm"):
        optimizer_defaults("rmsprop")


@pytest.mark.parametrize(
    "name, key", [("adam", "momentum"), ("sgdm", "partial"), ("padam", "nesterov")]
)
def test_unknown_override(name, key):
    with pytest.raises(ValueError, match=f"Unknown override.*'{key}'.*'{name}'"):
        make_optimizer(name, **{key: 0.5})


def test_raw_coupled_argument_is_not_an_override():
    # `weight_decay` is the one name for the defining decay.
    with pytest.raises(ValueError, match="coupled_weight_decay"):
        make_optimizer("sgdm", coupled_weight_decay=1e-4)


@pytest.mark.parametrize(
    "value, expected",
    [
        (np.float32(0.05), float(np.float32(0.05))),
        (np.float64(0.02), 0.02),
        (1, 1.0),
        (np.int64(2), 2.0),
        (np.array(0.03), 0.03),
    ],
)
def test_learning_rate_becomes_python_float(value, expected):
    optimizer = make_optimizer("sgdm", learning_rate=value)
    assert optimizer.get_config()["learning_rate"] == pytest.approx(expected)


def test_learning_rate_schedule_passes_through():
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([10], [0.1, 0.01])
    optimizer = make_optimizer("padam", learning_rate=schedule)
    assert optimizer._learning_rate is schedule


@pytest.mark.parametrize("value", [0.0, -0.1, float("nan"), "0.1", True])
def test_bad_learning_rate(value):
    with pytest.raises(ValueError, match="learning_rate"):
        make_optimizer("sgdm", learning_rate=value)


def test_numpy_hyperparameters_become_python_numbers():
    optimizer = make_optimizer("padam", partial=np.float32(0.25), beta_2=np.float64(0.99))
    assert type(optimizer.partial) is float and type(optimizer.beta_2) is float


def test_plugin_by_module_and_class():
    optimizer = make_optimizer("keras.optimizers:RMSprop", learning_rate=0.01)
    assert type(optimizer) is keras.optimizers.RMSprop
    # With weight_decay, the same mixin adds coupled decay.
    coupled = make_optimizer(
        "keras.optimizers:RMSprop", learning_rate=0.01, weight_decay=1e-4
    )
    assert isinstance(coupled, keras.optimizers.RMSprop)
    assert isinstance(coupled, CoupledWeightDecay)
    assert coupled.coupled_weight_decay == 1e-4
    assert coupled.weight_decay is None


class HalfStep(keras.optimizers.Optimizer):
    """A plug-in: theta <- theta - 0.5 * lr * g."""

    def __init__(self, learning_rate=0.1, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        self.assign_sub(variable, 0.5 * tf.cast(learning_rate, variable.dtype) * gradient)


@pytest.fixture
def plugin_module(monkeypatch):
    module = types.ModuleType("my_optimizer_plugins.half")
    module.HalfStep = HalfStep
    package = types.ModuleType("my_optimizer_plugins")
    monkeypatch.setitem(sys.modules, "my_optimizer_plugins", package)
    monkeypatch.setitem(sys.modules, "my_optimizer_plugins.half", module)
    return module


def test_plugin_from_user_module(plugin_module):
    optimizer = make_optimizer(
        "my_optimizer_plugins.half:HalfStep", learning_rate=0.2, weight_decay=0.5
    )
    theta = keras.Variable(np.array([1.0], "float32"))
    optimizer.apply([tf.constant([0.0])], [theta])
    # g = 0 + 0.5 * 1 -> theta = 1 - 0.5 * 0.2 * 0.5
    np.testing.assert_allclose(theta.numpy(), [0.95], rtol=1e-7)
    with pytest.raises(ValueError, match="Unknown override.*'partial'"):
        make_optimizer("my_optimizer_plugins.half:HalfStep", partial=0.1)


def test_plugin_errors():
    with pytest.raises(ValueError, match="Cannot import"):
        make_optimizer("no_such_module_xyz:Opt")
    with pytest.raises(ValueError, match="has no attribute"):
        make_optimizer("keras.optimizers:NoSuchOptimizer")
    with pytest.raises(ValueError, match="not a subclass"):
        make_optimizer("keras.layers:Dense")


def test_plugin_by_registered_name():
    @keras.saving.register_keras_serializable(package="registry_test")
    class DoubleStep(HalfStep):
        def update_step(self, gradient, variable, learning_rate):
            lr = tf.cast(learning_rate, variable.dtype)
            self.assign_sub(variable, 2.0 * lr * gradient)

    optimizer = make_optimizer("registry_test>DoubleStep", learning_rate=0.05)
    assert type(optimizer) is DoubleStep
    with pytest.raises(ValueError, match="Valid names"):
        make_optimizer("registry_test>Missing")


def test_plugin_padam_by_path_takes_weight_decay_as_coupled():
    optimizer = make_optimizer(
        "keras_resnet_opt.optimizers:Padam", weight_decay=5e-4, partial=0.25
    )
    assert type(optimizer) is Padam
    assert optimizer.coupled_weight_decay == 5e-4


def test_docs_show_the_current_table():
    with open(os.path.join(REPO_ROOT, "docs", "optimizers.md")) as f:
        docs = f.read()
    assert registry.defaults_table_markdown() in docs, (
        "docs/optimizers.md is out of date: paste the output of "
        "`python -m keras_resnet_opt.optimizers.registry` into it"
    )


def test_default_learning_rate_of_table_names_and_plugins(plugin_module):
    from keras_resnet_opt.optimizers.registry import default_learning_rate, is_plugin

    assert default_learning_rate("padam") == 0.1
    assert default_learning_rate("keras.optimizers:Lion") == 0.001  # the class's own default
    assert default_learning_rate("my_optimizer_plugins.half:HalfStep") == 0.1
    assert is_plugin("keras.optimizers:Lion") and not is_plugin("adam")
    with pytest.raises(ValueError, match="Valid names"):
        default_learning_rate("lion")
