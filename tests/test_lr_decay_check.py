"""scripts/lr_decay_check.py on synthetic data: the three variants agree until the
decay and the two momentum forms part after it; a rerun resumes."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def _run(out_dir, data_dir, epochs=2):
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "lr_decay_check.py"), "--preset", "smoke", "--epochs", str(epochs),
         "--data-dir", str(data_dir), "--output-dir", str(out_dir)],
        capture_output=True, text=True, cwd=REPO, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


def test_variants_agree_before_the_decay_and_part_after(tmp_path, synthetic_dir):
    out = _run(tmp_path / "check", synthetic_dir)
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads((tmp_path / "check" / "summary.json").read_text())
    frames = {
        v: pd.read_csv(tmp_path / "check" / f"batches-{v}.csv") for v in ("heavy-ball", "keras", "heavy-ball-constant")
    }
    decay = summary["decay_step"]
    heavy, keras_form = frames["heavy-ball"], frames["keras"]
    assert decay == 5  # smoke: 128 images / batch 32 = 4 steps an epoch, decay after epoch 1
    assert heavy[heavy.step < decay].learning_rate.tolist() == pytest.approx([0.1] * 4)
    assert heavy[heavy.step >= decay].learning_rate.tolist() == pytest.approx([0.01] * 4)
    assert frames["heavy-ball-constant"].learning_rate.tolist() == pytest.approx([0.1] * 8)
    before = lambda f: f[f.step <= decay].loss.tolist()  # noqa: E731  (step `decay` still feels no difference)
    assert before(heavy) == pytest.approx(before(keras_form), rel=1e-5)
    assert heavy[heavy.step > decay].loss.tolist() != pytest.approx(
        keras_form[keras_form.step > decay].loss.tolist(), rel=1e-5
    )
    assert (tmp_path / "check" / "loss_around_decay.png").stat().st_size > 0
    rerun = _run(tmp_path / "check", synthetic_dir)
    assert rerun.returncode == 0 and rerun.stdout.count("skip (done)") == 3
    other = _run(tmp_path / "check", synthetic_dir, epochs=3)
    assert other.returncode == 2 and "holds a check made with" in other.stderr


def test_batch_losses_undo_keras_size_weighted_running_mean():
    import keras

    from keras_resnet_opt.experiments.lr_decay_check import batch_losses_callback

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    rows = []
    callback = batch_losses_callback(rows, "v", batch_sizes=[4, 2])
    callback.set_model(model)
    callback.on_epoch_begin(0)
    # Batch losses 1.0 (4 images) and 4.0 (2 images): Keras logs running means 1.0, then (4*1 + 2*4) / 6 = 2.0.
    for batch, running_mean in enumerate([1.0, 2.0]):
        callback.on_train_batch_begin(batch)
        callback.on_train_batch_end(batch, {"loss": running_mean})
    assert [r["loss"] for r in rows] == pytest.approx([1.0, 4.0])
    assert [r["batch_size"] for r in rows] == [4, 2]
