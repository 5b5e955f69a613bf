"""HeavyBallSGD: SGD-momentum with a velocity of raw gradients (PyTorch's form).

Checked by hand, against an independent NumPy rule over a step-decay schedule
with coupled decay, against Keras' SGD (equal at a constant lr, different after
a decay, which is the point), against PyTorch when installed, and through a
`.keras` save and load.
"""

import keras
import numpy as np
import pytest
from conftest import apply_gradient_steps

from keras_resnet_opt.optimizers import CoupledHeavyBallSGD, HeavyBallSGD, make_optimizer


def reference(theta0, grads, lrs, momentum, wd=0.0, nesterov=False):
    """torch.optim.SGD's documented rule in NumPy (float64): v <- mu v + (g + wd theta)."""
    theta = np.asarray(theta0, "float64").copy()
    v = np.zeros_like(theta)
    out = []
    for t, (g, lr) in enumerate(zip(grads, lrs)):
        g = np.asarray(g, "float64") + wd * theta
        v = g if t == 0 else momentum * v + g  # PyTorch starts the buffer at g; the same as 0.9*0 + g
        direction = g + momentum * v if nesterov else v
        theta = theta - lr * direction
        out.append(theta.copy())
    return out


def test_steps_by_hand_across_a_learning_rate_drop():
    # lr 0.1, 0.1, then 0.01; mu 0.9; theta0 = 1; gradients 1, 1, 1.
    # v: 1, 1.9, 2.71. theta: 1 - 0.1 = 0.9; 0.9 - 0.19 = 0.71; 0.71 - 0.0271 = 0.6829.
    # Keras' SGD would take 0.71 + (0.9 * -0.19 - 0.01) = 0.529 at step 3.
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([1], [0.1, 0.01])  # steps 0,1 at 0.1
    thetas = apply_gradient_steps(HeavyBallSGD(learning_rate=schedule, momentum=0.9), [1.0], [[1.0]] * 3)
    np.testing.assert_allclose(np.concatenate(thetas), [0.9, 0.71, 0.6829], rtol=1e-6)
    keras_thetas = apply_gradient_steps(keras.optimizers.SGD(learning_rate=schedule, momentum=0.9), [1.0], [[1.0]] * 3)
    np.testing.assert_allclose(np.concatenate(keras_thetas), [0.9, 0.71, 0.529], rtol=1e-6)


def test_nesterov_step_by_hand():
    # v = 1, 1.9; direction g + 0.9 v = 1.9, 2.71; theta = 1 - 0.19 = 0.81, 0.81 - 0.271 = 0.539.
    thetas = apply_gradient_steps(HeavyBallSGD(learning_rate=0.1, momentum=0.9, nesterov=True), [1.0], [[1.0]] * 2)
    np.testing.assert_allclose(np.concatenate(thetas), [0.81, 0.539], rtol=1e-6)


@pytest.mark.parametrize("nesterov", [False, True])
def test_trajectory_matches_the_reference_rule_with_step_decay_and_coupled_decay(nesterov):
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=(3, 4))
    grads = [rng.normal(size=(3, 4)) for _ in range(60)]
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([19, 39], [0.1, 0.01, 0.001])
    lrs = [0.1] * 20 + [0.01] * 20 + [0.001] * 20
    optimizer = CoupledHeavyBallSGD(learning_rate=schedule, momentum=0.9, nesterov=nesterov, coupled_weight_decay=5e-4)
    got = apply_gradient_steps(optimizer, theta0, grads)
    want = reference(theta0, grads, lrs, 0.9, wd=5e-4, nesterov=nesterov)
    for t, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"step {t + 1}")


def test_equals_keras_sgd_at_a_constant_learning_rate():
    rng = np.random.default_rng(1)
    theta0 = rng.normal(size=8)
    grads = [rng.normal(size=8) for _ in range(40)]
    ours = apply_gradient_steps(HeavyBallSGD(learning_rate=0.05, momentum=0.9), theta0, grads)
    theirs = apply_gradient_steps(keras.optimizers.SGD(learning_rate=0.05, momentum=0.9), theta0, grads)
    np.testing.assert_allclose(ours[-1], theirs[-1], rtol=1e-5, atol=1e-6)


def test_without_momentum_it_is_keras_sgd():
    rng = np.random.default_rng(2)
    theta0 = rng.normal(size=5)
    grads = [rng.normal(size=5) for _ in range(5)]
    np.testing.assert_array_equal(apply_gradient_steps(HeavyBallSGD(learning_rate=0.1), theta0, grads)[-1],
                                  apply_gradient_steps(keras.optimizers.SGD(learning_rate=0.1), theta0, grads)[-1])


def test_matches_pytorch_sgd_across_a_decay():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    theta0 = rng.normal(size=6)
    grads = [rng.normal(size=6) for _ in range(30)]
    param = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=0.1, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[15], gamma=0.1)
    for g in grads:
        opt.zero_grad()
        param.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        sched.step()
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([14], [0.1, 0.01])
    ours = apply_gradient_steps(
        CoupledHeavyBallSGD(learning_rate=schedule, momentum=0.9, coupled_weight_decay=5e-4), theta0, grads
    )
    np.testing.assert_allclose(ours[-1], param.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_registry_sgd_rows_use_it():
    for name, momentum in (("sgd", 0.0), ("sgdm", 0.9)):
        optimizer = make_optimizer(name)
        assert isinstance(optimizer, HeavyBallSGD) and optimizer.momentum == momentum


def test_keras_file_round_trip_keeps_class_and_velocity(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=make_optimizer("sgdm", learning_rate=0.01), loss="mse")
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 2), "float32")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is CoupledHeavyBallSGD
    assert loaded.optimizer.coupled_weight_decay == 5e-4
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables) > 2  # iterations, lr, velocities
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
