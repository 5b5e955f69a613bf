"""Tests of keras_resnet_opt.optimizers.Padam.

Modelled on Keras' own optimizer tests: a config round-trip, steps checked
against numbers computed by hand, a long run checked against an independent
NumPy implementation of the reference rule, then the options one by one, and
the training set-ups the project uses (.keras resume, mixed precision, XLA,
MirroredStrategy).

Which test catches each mistake seen in public ports of Padam
(reference.md section 1). Each row was checked by putting the mistake into
padam.py / coupled_decay.py and running this file: the tests listed failed.
`test_reference_detects_port_mistakes` also checks that the NumPy reference
moves far beyond the trajectory test's tolerance under each mistake.

| mistake                          | tests that fail with it                    |
|----------------------------------|--------------------------------------------|
| moment slots never written back  | two_steps_by_hand (step 2), trajectory_*,  |
|                                  | half_partial_is_keras_amsgrad              |
| exponent p instead of 2p         | two_steps_by_hand, coupled_decay_step_by_  |
|                                  | hand, denominator_floor, trajectory_*,     |
|                                  | half_partial, partial_power_equals_power   |
| bias correction applied twice    | two_steps_by_hand, coupled_decay_step_by_  |
|                                  | hand, denominator_floor, trajectory_*      |
| AMSGrad max missing              | two_steps_by_hand (step 2, element 1),     |
|                                  | trajectory_* (amsgrad cases), half_partial |
| eps added after the power        | two_steps_by_hand (element 2, tiny g),     |
|                                  | denominator_floor, trajectory_* (the quiet |
|                                  | element)                                   |
| weight decay accepted, ignored   | coupled_decay_step_by_hand, trajectory_*   |
|                                  | (decay cases); test_coupled_decay.py       |
| amsgrad off by default           | defaults, two_steps_by_hand (relies on the |
|                                  | default), slots_are_created_in_build       |
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import apply_gradient_steps

from keras_resnet_opt.optimizers import Padam

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------
# Helpers


def run_steps(optimizer, theta0, grads):
    """Applies `grads` (a sequence of arrays) one by one; returns the final theta."""
    return apply_gradient_steps(optimizer, theta0, grads)[-1]


def padam_reference(
    theta0, grads, lr, beta_1, beta_2, eps, partial, amsgrad, wd, mistake=None
):
    """The reference rule (reference.md section 1) in float64 NumPy.

    `mistake` reproduces one public-port mistake, to show the test would see it.
    """
    theta = np.asarray(theta0, "float64").copy()
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    v_max = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        g = np.asarray(g, "float64")
        if mistake != "ignore_wd":
            g = g + wd * theta
        m_new = beta_1 * m + (1 - beta_1) * g
        v_new = beta_2 * v + (1 - beta_2) * g * g
        if mistake != "no_writeback":
            m, v = m_new, v_new
        if amsgrad and mistake != "no_amsgrad_max":
            v_max = np.maximum(v_max, v_new)
            s = np.sqrt(v_max)
        else:
            s = np.sqrt(v_new)
        exponent = partial if mistake == "p_not_2p" else 2 * partial
        if mistake == "eps_after_power":
            denominator = s**exponent + eps
        else:
            denominator = (s + eps) ** exponent
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        if mistake == "double_bias":
            alpha = alpha / (1 - beta_1**t)
        theta = theta - alpha * m_new / denominator
    return theta


def changing_scale_gradients(steps=300, shape=(2, 5), seed=0):
    """Noisy gradients with a drift, whose scale drops 300x after step 50 and
    rises again at step 200: AMSGrad's max then differs from v for long.

    The last element (`QUIET`) gets tiny gradients of one sign (~1e-10, below
    eps), where only eps keeps the denominator away from zero.
    """
    rng = np.random.default_rng(seed)
    scale = np.where(
        np.arange(steps) < 50, 3.0, np.where(np.arange(steps) < 200, 0.01, 0.5)
    )
    noise = rng.normal(size=(steps,) + shape)
    grads = scale[:, None, None] * (noise + 0.3)
    grads[(slice(None),) + QUIET] = 1e-10 * (1.0 + np.abs(noise[(slice(None),) + QUIET]))
    return grads.astype("float32")


QUIET = (1, 4)  # index of the element with tiny gradients
THETA0 = np.linspace(-1.0, 1.0, 10).reshape(2, 5)
THETA0[QUIET] = 0.0  # so coupled decay adds nothing sizeable to its gradient
TRAJECTORY_RTOL = 2e-4  # float32 against float64 over 300 steps
TRAJECTORY_ATOL = 2e-5
QUIET_RTOL = 1e-3  # the quiet element moves ~1e-7: compare it relatively


def assert_trajectory_close(theta, expected):
    np.testing.assert_allclose(
        theta, expected, rtol=TRAJECTORY_RTOL, atol=TRAJECTORY_ATOL
    )
    np.testing.assert_allclose(theta[QUIET], expected[QUIET], rtol=QUIET_RTOL)


# --------------------------------------------------------------------------
# Construction and config


def test_defaults():
    optimizer = Padam()
    assert optimizer.learning_rate.numpy() == pytest.approx(0.1)
    assert optimizer.beta_1 == 0.9
    assert optimizer.beta_2 == 0.999
    assert optimizer.epsilon == 1e-8
    assert optimizer.partial == 0.125
    assert optimizer.amsgrad is True
    assert optimizer.coupled_weight_decay is None
    assert optimizer.weight_decay is None
    assert optimizer.decay_variables == "all"


def test_config_round_trip():
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        [100, 150], [0.1, 0.01, 0.001]
    )
    optimizer = Padam(
        learning_rate=schedule,
        beta_1=0.8,
        beta_2=0.99,
        epsilon=1e-6,
        partial=0.25,
        amsgrad=False,
        coupled_weight_decay=5e-4,
        decay_variables="kernels",
        clipnorm=1.0,
        use_ema=True,
        ema_momentum=0.9,
        gradient_accumulation_steps=2,
        name="my_padam",
    )
    config = optimizer.get_config()
    for key, value in {
        "beta_1": 0.8,
        "beta_2": 0.99,
        "epsilon": 1e-6,
        "partial": 0.25,
        "amsgrad": False,
        "coupled_weight_decay": 5e-4,
        "decay_variables": "kernels",
        "clipnorm": 1.0,
        "use_ema": True,
        "ema_momentum": 0.9,
        "gradient_accumulation_steps": 2,
        "name": "my_padam",
    }.items():
        assert config[key] == value, key
    restored = Padam.from_config(dict(config))  # from_config edits its argument
    assert restored.get_config() == config
    assert isinstance(
        restored._learning_rate, keras.optimizers.schedules.PiecewiseConstantDecay
    )

    # Keras' generic (de)serialisation finds the registered class.
    serialized = keras.optimizers.serialize(optimizer)
    assert serialized["registered_name"] == "keras_resnet_opt>Padam"
    again = keras.optimizers.deserialize(serialized)
    assert type(again) is Padam
    assert again.get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"partial": 0.7}, r"`partial` must be in \[0, 0.5\]. Received: partial=0.7"),
        ({"partial": -0.1}, r"`partial` must be in \[0, 0.5\]"),
        ({"beta_1": 1.0}, r"`beta_1` must be in \[0, 1\). Received: beta_1=1.0"),
        ({"beta_2": -0.5}, r"`beta_2` must be in \[0, 1\)"),
        ({"epsilon": 0.0}, r"`epsilon` must be > 0. Received: epsilon=0.0"),
        ({"learning_rate": -0.1}, r"`learning_rate` must be > 0"),
        ({"learning_rate": "fast"}, r"`learning_rate` must be a float > 0"),
        ({"coupled_weight_decay": -1e-4}, r"`coupled_weight_decay` must be >= 0"),
        ({"decay_variables": "biases"}, r"`decay_variables` must be one of"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Padam(**kwargs)


# --------------------------------------------------------------------------
# The rule


def test_two_steps_by_hand():
    # lr 0.1, beta_1 0.9, beta_2 0.999, eps 1e-8, p = 1/4 so the partial power
    # (2p = 1/2) is a square root; amsgrad from the default (on); theta0 = 0.
    # Element 2 has a tiny gradient, where eps-before-the-power matters.
    # rtol 1e-5: float32 rounds 1 - 0.999 by 1.3e-5 relative, which moves
    # theta by ~4e-6 relative; every port mistake moves it by 1e-4 or more.
    #
    # Step 1, g = [0.4, -0.1, 1e-6]:
    #   m = 0.1 g = [0.04, -0.01, 1e-7]
    #   v = vmax = 0.001 g^2 = [1.6e-4, 1e-5, 1e-15]
    #   sqrt(vmax) + eps = [0.0126491206406735, 0.0031622876601684, 4.16227766e-8]
    #   denom = sqrt(that) = [0.112468309495046, 0.0562342214329351, 2.04016608642e-4]
    #   alpha = 0.1 sqrt(1 - 0.999) / (1 - 0.9) = 0.0316227766016838
    #   theta = -alpha m / denom = [-0.0112468220581, 0.00562340436053, -1.55000991401e-5]
    theta1 = run_steps(Padam(partial=0.25), np.zeros(3), [[0.4, -0.1, 1e-6]])
    np.testing.assert_allclose(
        theta1, [-0.0112468220581, 0.00562340436053, -1.55000991401e-5], rtol=1e-5
    )
    # Step 2, g = [0.1, 0, 0]:
    #   m = 0.9 m + 0.1 g = [0.046, -0.009, 9e-8]
    #   v = 0.999 v + 0.001 g^2 = [1.6984e-4, 9.99e-6, 9.99e-16]
    #   vmax = max(vmax, v) = [1.6984e-4, 1e-5, 1e-15]  (elements 1, 2 keep step 1's)
    #   denom = sqrt(sqrt(vmax) + eps) = [0.114159001599155, 0.0562342214329351,
    #                                     2.04016608642e-4]
    #   alpha = 0.1 sqrt(1 - 0.999^2) / (1 - 0.9^2) = 0.0235316725327453
    #   theta = theta1 - alpha m / denom
    #         = [-0.0207288332998, 0.00938952839316, -2.58808742252e-5]
    theta2 = run_steps(
        Padam(partial=0.25), np.zeros(3), [[0.4, -0.1, 1e-6], [0.1, 0.0, 0.0]]
    )
    np.testing.assert_allclose(
        theta2, [-0.0207288332998, 0.00938952839316, -2.58808742252e-5], rtol=1e-5
    )


def test_coupled_decay_step_by_hand():
    # Zero gradient: the whole step comes from the decay term wd * theta.
    # p = 1/2 (exponent 1), lr 0.1, wd 0.1, theta0 = [2, -4]:
    #   g = wd theta = [0.2, -0.4]; m = 0.1 g = [0.02, -0.04]
    #   vmax = 0.001 g^2 = [4e-5, 1.6e-4]; denom = sqrt(vmax) + eps
    #        = [0.00632456532, 0.01264912064]
    #   alpha = 0.1 sqrt(1 - 0.999) / (1 - 0.9) = 0.0316227766016838
    #   theta = theta0 - alpha m / denom = [2 - 0.0999998419, -4 + 0.0999999209]
    theta = run_steps(
        Padam(partial=0.5, coupled_weight_decay=0.1), [2.0, -4.0], [[0.0, 0.0]]
    )
    np.testing.assert_allclose(theta, [1.9000001581, -3.9000000791], rtol=1e-6)


def test_denominator_floor_is_eps_to_the_2p():
    # With eps before the power, a vanishing gradient meets the floor
    # eps^(2p) = 1e-2 at p = 1/8, so the first step is alpha * m / 1e-2 with
    # m = 0.1 g. (With eps after the power the step would be ~3.4e5x larger.)
    g = 1e-20
    theta = run_steps(Padam(), [0.0], [[g]])
    alpha = 0.1 * np.sqrt(1 - 0.999) / (1 - 0.9)
    np.testing.assert_allclose(theta, [-alpha * 0.1 * g / 1e-2], rtol=1e-5)


@pytest.mark.parametrize("wd", [0.0, 1e-2], ids=["no_decay", "decay"])
@pytest.mark.parametrize("amsgrad", [True, False], ids=["amsgrad", "no_amsgrad"])
@pytest.mark.parametrize(
    "partial", [1 / 16, 1 / 8, 1 / 4, 1 / 2], ids=["p1_16", "p1_8", "p1_4", "p1_2"]
)
def test_trajectory_matches_numpy_reference(partial, amsgrad, wd):
    grads = changing_scale_gradients()
    kwargs = dict(lr=0.01, beta_1=0.9, beta_2=0.999, eps=1e-8)
    optimizer = Padam(
        learning_rate=kwargs["lr"],
        partial=partial,
        amsgrad=amsgrad,
        coupled_weight_decay=wd,
    )
    theta = run_steps(optimizer, THETA0, grads)
    expected = padam_reference(
        THETA0, grads, partial=partial, amsgrad=amsgrad, wd=wd, **kwargs
    )
    assert_trajectory_close(theta, expected)


@pytest.mark.parametrize("partial", [0.0, 0.3], ids=["p0_sgd_momentum", "p0_3_power"])
def test_trajectory_other_partials(partial):
    # p = 0 is SGD with bias-corrected EMA momentum (denominator 1); p = 0.3
    # takes the general power rather than square roots.
    grads = changing_scale_gradients(steps=100)
    theta = run_steps(Padam(learning_rate=0.01, partial=partial), THETA0, grads)
    expected = padam_reference(
        THETA0, grads, 0.01, 0.9, 0.999, 1e-8, partial, amsgrad=True, wd=0.0
    )
    assert_trajectory_close(theta, expected)


@pytest.mark.parametrize(
    "mistake",
    [
        "no_writeback",
        "p_not_2p",
        "double_bias",
        "no_amsgrad_max",
        "eps_after_power",
        "ignore_wd",
    ],
)
def test_reference_detects_port_mistakes(mistake):
    # Every mistake moves the 300-step trajectory (the p = 1/8, amsgrad, decay
    # case) far outside the tolerance the trajectory test allows.
    grads = changing_scale_gradients()
    args = (THETA0, grads, 0.01, 0.9, 0.999, 1e-8, 1 / 8, True, 1e-2)
    right = padam_reference(*args)
    wrong = padam_reference(*args, mistake=mistake)
    excess = np.abs(wrong - right) / (TRAJECTORY_ATOL + TRAJECTORY_RTOL * np.abs(right))
    quiet_excess = abs(wrong[QUIET] - right[QUIET]) / (QUIET_RTOL * abs(right[QUIET]))
    assert max(excess.max(), quiet_excess) > 10, mistake


def test_half_partial_is_keras_amsgrad():
    grads = changing_scale_gradients(steps=100)
    padam = run_steps(
        Padam(learning_rate=0.01, partial=0.5, epsilon=1e-7), THETA0, grads
    )
    adam = run_steps(
        keras.optimizers.Adam(learning_rate=0.01, epsilon=1e-7, amsgrad=True),
        THETA0,
        grads,
    )
    # Bit for bit: the same operations in the same order, (x) ** 1 being x.
    np.testing.assert_array_equal(padam, adam)


@pytest.mark.parametrize("partial", [1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 0.3])
def test_partial_power_equals_power(partial):
    # The square-root shortcuts (and the general power, p = 0.3) agree with
    # x ** (2p) to a few float32 ulps.
    x = np.geomspace(1e-8, 1e3, 200).astype("float32")
    got = Padam(partial=partial)._partial_power(tf.constant(x)).numpy()
    np.testing.assert_allclose(got, x.astype("float64") ** (2 * partial), rtol=1e-6)


def test_slots_are_created_in_build():
    variable = keras.Variable(np.zeros((3, 2), "float32"))
    optimizer = Padam()
    optimizer.build([variable])
    slots = [v for v in optimizer.variables if len(v.shape) == 2]
    assert len(slots) == 3  # momentum, velocity, velocity_max
    no_max = Padam(amsgrad=False)
    no_max.build([variable])
    assert len([v for v in no_max.variables if len(v.shape) == 2]) == 2


# --------------------------------------------------------------------------
# Options


def test_gradient_accumulation_updates_every_second_step():
    g1, g2 = np.array([0.4, -0.2]), np.array([0.2, 0.6])
    theta = run_steps(Padam(gradient_accumulation_steps=2), [1.0, 1.0], [g1])
    np.testing.assert_array_equal(theta, [1.0, 1.0])
    accumulated = run_steps(Padam(gradient_accumulation_steps=2), [1.0, 1.0], [g1, g2])
    single = run_steps(Padam(), [1.0, 1.0], [(g1 + g2) / 2])
    np.testing.assert_allclose(accumulated, single, rtol=1e-6)


def test_clipnorm_clips_before_the_update():
    g = np.array([30.0, -40.0])  # norm 50, clipped to norm 1
    clipped = run_steps(Padam(clipnorm=1.0), [1.0, 1.0], [g])
    manual = run_steps(Padam(), [1.0, 1.0], [g / 50.0])
    np.testing.assert_allclose(clipped, manual, rtol=1e-6)
    clipped_global = run_steps(Padam(global_clipnorm=1.0), [1.0, 1.0], [g])
    np.testing.assert_allclose(clipped_global, manual, rtol=1e-6)
    clipped_value = run_steps(Padam(clipvalue=0.5), [1.0, 1.0], [g])
    manual_value = run_steps(Padam(), [1.0, 1.0], [np.clip(g, -0.5, 0.5)])
    np.testing.assert_allclose(clipped_value, manual_value, rtol=1e-6)


def test_ema_keeps_an_average():
    optimizer = Padam(use_ema=True, ema_momentum=0.5)
    variable = keras.Variable(np.ones(2, "float32"), name="kernel")
    for _ in range(3):
        optimizer.apply([tf.constant([0.5, -0.5])], [variable])
    average = optimizer._model_variables_moving_average[0].numpy()
    assert np.all(np.isfinite(average))
    assert not np.allclose(average, variable.numpy())
    optimizer.finalize_variable_values([variable])
    np.testing.assert_array_equal(variable.numpy(), average)


def test_keras_decoupled_weight_decay_still_available():
    # Keras' weight_decay shrinks theta by lr * wd before the update; with a
    # zero gradient Padam's own step is zero.
    theta = run_steps(Padam(weight_decay=0.5), [2.0], [[0.0]])
    np.testing.assert_allclose(theta, [2.0 * (1 - 0.1 * 0.5)], rtol=1e-6)


# --------------------------------------------------------------------------
# Training set-ups


def tiny_model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(3),
        ]
    )


def tiny_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = rng.integers(0, 3, size=64)
    return x, y


def fit(model, optimizer, epochs=1, **compile_kwargs):
    x, y = tiny_data()
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        **compile_kwargs,
    )
    model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
    return model


def make_padam():
    return Padam(learning_rate=0.01, coupled_weight_decay=5e-4)


def test_keras_file_resume_matches_uninterrupted_training(tmp_path):
    model = tiny_model()
    initial = model.get_weights()
    fit(model, make_padam(), epochs=1)
    path = str(tmp_path / "mid.keras")
    model.save(path)

    loaded = keras.saving.load_model(path)
    assert type(loaded.optimizer) is Padam
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for saved, restored in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(saved.numpy(), restored.numpy())
    x, y = tiny_data()
    loaded.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)

    uninterrupted = tiny_model()
    uninterrupted.set_weights(initial)
    fit(uninterrupted, make_padam(), epochs=2)
    for resumed, reference in zip(loaded.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(resumed, reference, rtol=1e-6, atol=1e-7)


def test_jit_compile_matches_eager_graph():
    model = tiny_model()
    initial = model.get_weights()
    fit(model, make_padam(), jit_compile=True)
    reference = tiny_model()
    reference.set_weights(initial)
    fit(reference, make_padam(), jit_compile=False)
    for jitted, plain in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(jitted, plain, rtol=1e-5, atol=1e-6)


@pytest.fixture
def mixed_float16():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def test_mixed_float16_training(mixed_float16):
    model = fit(tiny_model(), make_padam())
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert type(optimizer.inner_optimizer) is Padam
    slots = [v for v in optimizer.inner_optimizer.variables if len(v.shape) > 0]
    assert slots and all(v.dtype == "float32" for v in slots)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert int(optimizer.inner_optimizer.iterations.numpy()) == 4
    # LossScaleOptimizer's config rebuilds the registered inner optimizer.
    config = keras.optimizers.serialize(optimizer)
    rebuilt = keras.optimizers.deserialize(config)
    assert type(rebuilt.inner_optimizer) is Padam


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    import keras
    from keras_resnet_opt.optimizers import Padam

    def model():
        # No BatchNorm: its per-replica batch statistics would differ.
        keras.utils.set_random_seed(0)
        return keras.Sequential([
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3),
        ])

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = rng.integers(0, 3, size=64)
    initial = model().get_weights()

    def train(strategy):
        with strategy.scope():
            m = model()
            m.set_weights(initial)
            m.compile(
                optimizer=Padam(learning_rate=0.01, coupled_weight_decay=5e-3),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            )
        m.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        return m.get_weights(), strategy.num_replicas_in_sync

    single, n1 = train(tf.distribute.OneDeviceStrategy("/cpu:0"))
    mirrored, n2 = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(single, initial))
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(single, mirrored))
    print(json.dumps({"replicas": [n1, n2], "moved": moved, "diff": diff}))
    """
)


def test_mirrored_strategy_matches_single_device():
    # Logical devices must be configured before TensorFlow initialises, which
    # it already has in this process: run in a fresh interpreter.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (REPO_ROOT, env.get("PYTHONPATH")) if p
    )
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == [1, 2]
    assert report["moved"] > 1e-3  # training did something
    assert report["diff"] < 1e-5, report
