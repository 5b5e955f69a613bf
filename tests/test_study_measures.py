"""Per-run measures on synthetic run folders with known answers."""

import math

import numpy as np
import pandas as pd
import pytest
from run_dirs import write_run_dir

from keras_resnet_opt.study import aggregate, measures
from keras_resnet_opt.study.runs import load_run, load_study


def history(val_accuracy, test_error=None, loss=None):
    val_accuracy = np.asarray(val_accuracy, dtype=float)
    epochs = np.arange(1, len(val_accuracy) + 1)
    test_error = 1.0 - val_accuracy if test_error is None else np.asarray(test_error, dtype=float)
    loss = np.linspace(2.0, 1.0, len(epochs)) if loss is None else np.asarray(loss, dtype=float)
    return pd.DataFrame(
        {
            "epoch": epochs, "loss": loss, "accuracy": 1.0 - test_error, "val_loss": loss,
            "val_accuracy": val_accuracy, "test_loss": loss, "test_accuracy": 1.0 - test_error,
            "test_error": test_error, "learning_rate": 0.1, "epoch_time_s": 10.0, "test_eval_time_s": 2.0,
            "train_time_s": 4.0, "images_per_sec": 1000.0, "step_time_ms": 100.0,
        }
    )  # fmt: skip


def add_run(study_dir, name, frame, seed=0, epochs=None, optimizer="sgdm", train_images=1000, **config):
    config = {
        "preset": "smoke", "model": "resnet20", "optimizer": optimizer, "seed": seed,
        "epochs": epochs or len(frame), "batch_size": 128, "train_subset": None, "lr_schedule": "step",
        "lr_boundaries": [], **config,
    }  # fmt: skip
    manifest = {"status": "finished", "final": {}, "data": {"train_images": train_images}}
    return write_run_dir(study_dir / "runs" / name, config, frame, manifest)


def test_time_to_target_in_epochs_steps_and_restricted_fraction(tmp_path):
    run = load_run(add_run(tmp_path, "a", history([0.2, 0.35, 0.41, 0.5, 0.6])))
    assert measures.steps_per_epoch(run) == 8  # ceil(1000 / 128)
    got = measures.time_to_target(run, 0.40)
    assert got == {"reached": True, "epoch": 3.0, "steps": 24.0, "restricted": pytest.approx(3 / 5)}
    never = measures.time_to_target(run, 0.9)
    assert not never["reached"] and math.isnan(never["epoch"])
    assert never["restricted"] == pytest.approx(6 / 5)  # censored: one evaluation past the end
    assert math.isnan(measures.time_to_target(run, None)["restricted"])


def test_censored_runs_are_counted_in_the_summary_not_dropped(tmp_path):
    add_run(tmp_path, "s0", history([0.3, 0.45, 0.5, 0.5, 0.5]), seed=0)  # epoch 2
    add_run(tmp_path, "s1", history([0.3, 0.35, 0.38, 0.42, 0.5]), seed=1)  # epoch 4
    add_run(tmp_path, "s2", history([0.3, 0.32, 0.33, 0.35, 0.36]), seed=2)  # never (censored at 5)
    row = aggregate.summarize(load_study(tmp_path), target_val_accuracy=0.4).iloc[0]
    assert row["n_reached_target"] == 2
    # Kaplan-Meier: S(2) = 2/3, S(4) = 1/3 -> median 4; dropping the censored run would give 2.
    assert row["target_epoch_median"] == 4
    assert row["target_steps_median"] == 32
    per_run = measures.run_measures(load_study(tmp_path), 0.4).set_index("seed")
    assert per_run.loc[2, "time_to_target"] == pytest.approx(1.2) and not per_run.loc[2, "target_reached"]
    text = aggregate.summary_to_markdown(aggregate.summarize(load_study(tmp_path), 0.4))
    assert "| 4 (2/3) | 32 |" in text
    # Two of three reach 0.5 (epochs 3 and 5, the third censored at 5): the median is 5.
    assert aggregate.summarize(load_study(tmp_path), 0.5).iloc[0]["target_epoch_median"] == 5
    none = aggregate.summarize(load_study(tmp_path), target_val_accuracy=0.55)
    assert math.isinf(none.iloc[0]["target_epoch_median"])
    assert "not reached (0/3)" in aggregate.summary_to_markdown(none)


def test_train_loss_at_fractions_of_training(tmp_path):
    loss = [2.0, 1.8, 1.6, 1.4, 1.3, 1.2, 1.1, 1.0, 0.9, 0.8]
    run = load_run(add_run(tmp_path, "a", history(np.linspace(0.2, 0.7, 10), loss=loss)))
    # 10 epochs: 25% -> epoch ceil(2.5) = 3, 50% -> epoch 5, 100% -> epoch 10.
    assert [measures.train_loss_at(run, f) for f in (0.25, 0.5, 1.0)] == pytest.approx([1.6, 1.3, 0.8])
    # The test error is read at the same epochs; a run cut short has none at 50%.
    errors = [0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25]
    run = load_run(add_run(tmp_path, "b", history(np.linspace(0.2, 0.7, 10), test_error=errors)))
    assert [measures.test_error_at(run, f) for f in (0.25, 0.5)] == pytest.approx([0.7, 0.5])
    per_run = measures.run_measures([run])
    assert per_run.loc[0, ["test_error_25", "test_error_50"]].tolist() == pytest.approx([0.7, 0.5])
    short = load_run(add_run(tmp_path, "c", history(np.linspace(0.2, 0.4, 4), test_error=errors[:4]), epochs=10))
    assert measures.test_error_at(short, 0.25) == pytest.approx(0.7) and math.isnan(measures.test_error_at(short, 0.5))


def test_constant_lr_phases():
    assert measures.constant_lr_phases(range(1, 9), "step", [4, 6]) == [[1, 2, 3, 4], [5, 6], [7, 8]]
    # A fractional boundary (7.5) puts two rates in epoch 8: it belongs to no phase.
    assert measures.constant_lr_phases(range(1, 11), "step", [5, 7.5]) == [[1, 2, 3, 4, 5], [6, 7], [9, 10]]
    assert measures.constant_lr_phases(range(1, 5), "constant") == [[1, 2, 3, 4]]
    assert measures.constant_lr_phases(range(1, 5), "cosine") == []
    assert measures.constant_lr_phases([1, 2, 4, 5, 6], "constant") == [[1, 2], [4, 5, 6]]  # a gap splits


def test_smoothness_is_the_residual_sd_inside_constant_lr_phases(tmp_path):
    # Two phases of 5 epochs (boundary at 5), each a line plus alternating ±delta,
    # with a large drop at the boundary that must not count.
    delta = 0.02
    e = np.arange(10)
    errors = np.where(e < 5, 0.8 - 0.03 * e, 0.3 - 0.01 * e) + delta * (-1.0) ** e
    frame = history(1.0 - errors + 0.01, test_error=errors)
    run = load_run(add_run(tmp_path, "a", frame, lr_boundaries=[5]))
    assert measures.smoothness(run, "test") == pytest.approx(4 * delta / 3)
    assert measures.smoothness(run, "val") == pytest.approx(4 * delta / 3)
    # Without the boundary the jump lands inside one phase and the measure grows.
    jumpy = load_run(add_run(tmp_path, "b", frame, lr_boundaries=[]))
    assert measures.smoothness(jumpy, "test") > 4 * delta / 3 + 0.01
