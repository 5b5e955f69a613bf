"""The control arm's deliberately broken Padam port against a hand-written NumPy rule.

Each listed mistake must be present (and the correct Padam must differ from
it): no momentum memory, exponent p, double bias correction, no AMSGrad max.
"""

import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import apply_gradient_steps

from keras_resnet_opt.config import RunConfig
from keras_resnet_opt.optimizers import make_optimizer
from keras_resnet_opt.study.seed_port import SeedPortPadam
from keras_resnet_opt.training.prepare import build_run_optimizer

PLUGIN = "keras_resnet_opt.study.seed_port:SeedPortPadam"


def _port_rule(theta, grads, lr=0.1, b1=0.9, b2=0.999, eps=1e-8, p=0.125):
    thetas = []
    theta = np.asarray(theta, np.float64)
    for t, g in enumerate(grads, start=1):
        g = np.asarray(g, np.float64)
        m_hat = (1 - b1) * g / (1 - b1**t)
        v_hat = (1 - b2) * g**2 / (1 - b2**t)
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        theta = theta - alpha * m_hat / (np.sqrt(v_hat) + eps) ** p
        thetas.append(theta.copy())
    return thetas


def test_matches_the_port_rule_step_by_step():
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=(3, 2))
    grads = [rng.normal(scale=0.1, size=(3, 2)) for _ in range(25)]
    got = apply_gradient_steps(make_optimizer(PLUGIN, learning_rate=0.1), theta0, grads)
    for a, b in zip(got, _port_rule(theta0, grads)):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)


def test_first_step_by_hand_and_no_memory_between_steps():
    # t = 1, g = 0.5: m_hat = 0.5, v_hat = 0.25, denom = (0.5 + 1e-8)^(1/8), alpha = 0.1 * sqrt(0.001) / 0.1.
    expected = 1.0 - 0.1 * np.sqrt(0.001) / 0.1 * 0.5 / (0.5 + 1e-8) ** 0.125
    first = apply_gradient_steps(SeedPortPadam(), [1.0], [[0.5]])[0]
    assert first[0] == pytest.approx(expected, rel=1e-6)
    # Zero gradient after a large one: with momentum the weight would keep moving; the port stops dead.
    thetas = apply_gradient_steps(SeedPortPadam(), [1.0], [[0.5], [0.0], [0.0]])
    assert thetas[1][0] == thetas[0][0] == thetas[2][0]


def test_differs_from_the_correct_padam():
    rng = np.random.default_rng(1)
    grads = [rng.normal(scale=0.1, size=(4,)) for _ in range(10)]
    port = apply_gradient_steps(SeedPortPadam(), np.zeros(4), grads)[-1]
    correct = apply_gradient_steps(make_optimizer("padam", weight_decay=0.0), np.zeros(4), grads)[-1]
    assert not np.allclose(port, correct, rtol=1e-2)


def test_config_round_trips():
    opt = SeedPortPadam(learning_rate=0.05, partial=0.25)
    again = SeedPortPadam.from_config(opt.get_config())
    assert (again.partial, float(again.learning_rate)) == (0.25, pytest.approx(0.05))


FRESH_LOAD = """
import sys
import keras
from keras_resnet_opt.config import RunConfig
from keras_resnet_opt.training.prepare import load_checkpoint

path, how, plugin = sys.argv[1:4]
if how == "run":
    model = load_checkpoint(path, RunConfig(optimizer=plugin, learning_rate=0.1))
else:
    model = keras.saving.load_model(path)
print(type(model.optimizer).__name__, int(model.optimizer.iterations))
"""


@pytest.mark.parametrize("how", ["run", "plain"])
def test_a_checkpoint_resumes_in_a_fresh_process(tmp_path, how):
    """A resumed run starts in a new process, where nothing has imported the
    plug-in's module yet, so its registration alone cannot find the class: the
    campaign's commit 4f98e4a failed exactly there (two control-arm runs,
    2026-12-05). The run's loader names the class through `custom_objects`;
    Keras' plain loader, shown failing beside it, is what that commit used."""
    optimizer = build_run_optimizer(RunConfig(optimizer=PLUGIN, learning_rate=0.1), steps=4)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), batch_size=4, verbose=0)
    path = tmp_path / "epoch-0001.keras"
    model.save(path)

    done = subprocess.run(
        [sys.executable, "-c", FRESH_LOAD, str(path), how, PLUGIN], capture_output=True, text=True, timeout=300
    )
    if how == "run":
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split()[-2:] == ["SeedPortPadam", "2"]
    else:
        assert done.returncode != 0 and "Could not locate class 'SeedPortPadam'" in done.stderr
