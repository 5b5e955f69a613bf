"""Shared fixtures: tiny synthetic CIFAR-10 copies, an isolated cache, quiet TF."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import socket  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def run_cli(capsys, args):
    """``scripts/train.py ARGS`` in this process: ``(exit code, stdout, stderr)``."""
    from keras_resnet_opt.cli.train import main as train_main

    try:
        code = train_main(args)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err
# The real CIFAR-10 copy; tests that want it are skipped when it is absent.
REAL_DATA_DIR = Path(os.environ.get("KERAS_RESNET_OPT_REAL_DATA", REPO.parent / "shared" / "datasets" / "cifar10"))


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own decode cache and no data-dir default from the environment."""
    monkeypatch.setenv("KERAS_RESNET_OPT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("KERAS_RESNET_OPT_DATA_DIR", raising=False)
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory):
    """A 300-train / 100-test synthetic copy in the binary layout."""
    from keras_resnet_opt.data.synthetic import write_synthetic_cifar10

    return write_synthetic_cifar10(tmp_path_factory.mktemp("synthetic") / "cifar-10-batches-bin", "binary")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (local cluster tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def apply_gradient_steps(optimizer, theta0, grads):
    """Applies ``grads`` (a sequence of arrays) one by one, in a tf.function, to a
    variable named "kernel" starting at ``theta0``; returns theta after each step."""
    import keras
    import numpy as np
    import tensorflow as tf

    variable = keras.Variable(np.asarray(theta0, "float32"), name="kernel")
    optimizer.build([variable])

    @tf.function
    def step(gradient):
        optimizer.apply([gradient], [variable])

    thetas = []
    for gradient in grads:
        step(tf.constant(gradient, "float32"))
        thetas.append(variable.numpy().copy())
    return thetas
