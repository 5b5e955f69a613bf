"""The descriptive table over seeds on synthetic run directories whose statistics are known by hand."""

import json
import math
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pandas as pd
import pytest
from run_dirs import write_run_dir

from keras_resnet_opt.study import aggregate
from keras_resnet_opt.study.runs import (
    display_name,
    is_main_variant,
    load_run,
    load_study,
    variant_of,
    variant_sort_key,
    workload_of,
)

# t_{0.975} with 2 degrees of freedom in closed form: (2q - 1) / sqrt(2 q (1 - q)), q = 0.975.
T_975_DF2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)


def make_config(optimizer="sgdm", seed=0, epochs=8, partial=None, model="resnet20", preset="smoke", **overrides):
    config = {
        "preset": preset, "model": model, "optimizer": optimizer, "seed": seed, "epochs": epochs,
        "batch_size": 128, "learning_rate": 0.1, "partial": partial, "weight_decay": 5e-4,
        "train_subset": None, "val_size": 5000, "data_dir": None, "lr_schedule": "step",
        "lr_boundaries": [], "lr_decay_factor": 0.1,
    }  # fmt: skip
    config.update(overrides)
    return config


def make_history(test_error, loss=None, epoch_time_s=10.0, step_time_ms=5.0, val_accuracy=None):
    test_error = np.asarray(test_error, dtype=float)
    epochs = np.arange(1, len(test_error) + 1)
    loss = np.linspace(2.0, 0.5, len(epochs)) if loss is None else np.asarray(loss, dtype=float)
    steps = 100
    step_time_ms = np.asarray(step_time_ms, dtype=float)
    return pd.DataFrame(
        {
            "epoch": epochs,
            "loss": loss,
            "accuracy": 1.0 - test_error + 0.05,
            "val_loss": loss,
            "val_accuracy": (1.0 - test_error) if val_accuracy is None else val_accuracy,
            "test_loss": loss,
            "test_accuracy": 1.0 - test_error,
            "test_error": test_error,
            "learning_rate": 0.1,
            "epoch_time_s": epoch_time_s,
            "train_time_s": step_time_ms * steps / 1000.0,
            "images_per_sec": 12800 / (step_time_ms * steps / 1000.0),
            "step_time_ms": step_time_ms,
        }
    )


def make_manifest(config, history, status="finished"):
    last = history.iloc[-1]
    return {
        "status": status,
        "diverged_at_epoch": int(last["epoch"]) if status == "diverged" else None,
        "config": config,
        "final": {
            "test_accuracy": float(last["test_accuracy"]),
            "test_error": float(last["test_error"]),
            "test_loss": float(last["test_loss"]),
            "train_loss": float(last["loss"]),
            "train_accuracy": float(last["accuracy"]),
            "val_accuracy": float(last["val_accuracy"]),
        },
        "versions": {"tensorflow": "2.21.0", "keras": "3.15.0", "python": "3.11.9"},
        "device": "CPU",
        "data": {"source": "image-folder JPEG copy", "checksum": "abc123"},
        "peak_memory_mib": 512.0,
        "wall_time_s": float(history["epoch_time_s"].sum()),
        "command": "train",
    }


def add_run(study_dir, name, config, history, finished=True, status="finished"):
    manifest = make_manifest(config, history, status) if finished else None
    return write_run_dir(study_dir / "runs" / name, config, history, manifest)


def test_mean_ci_matches_hand_computed_t_interval():
    mean, half, n = aggregate.mean_ci([0.10, 0.12, 0.14])
    # s = 0.02 (deviations -0.02, 0, 0.02; sum of squares 8e-4 over n - 1 = 2).
    assert n == 3
    assert mean == pytest.approx(0.12)
    assert half == pytest.approx(T_975_DF2 * 0.02 / math.sqrt(3))


def test_mean_ci_single_value_has_no_interval_and_ignores_nan():
    mean, half, n = aggregate.mean_ci([0.3, float("nan")])
    assert (mean, n) == (0.3, 1)
    assert math.isnan(half)
    assert aggregate.mean_ci([])[2] == 0


def test_variant_grouping_rule():
    assert variant_of("padam", None) == "padam"
    assert variant_of("padam", 0.125) == "padam"
    assert variant_of("padam", 0.25) == "padam(p=0.25)"
    assert variant_of("padam", 0.0625) == "padam(p=0.0625)"
    assert variant_of("sgdm", 0.25) == "sgdm"  # p only means something for Padam
    assert is_main_variant("padam") and not is_main_variant("padam(p=0.25)")
    ordered = sorted(["padam(p=0.5)", "adam", "padam", "sgd", "padam(p=0.0625)", "zeta", "sgdm"], key=variant_sort_key)
    assert ordered == ["sgd", "sgdm", "adam", "padam", "padam(p=0.0625)", "padam(p=0.5)", "zeta"]
    # Shown names: a plug-in by its class, everything else as grouped.
    assert display_name("keras_resnet_opt.study.seed_port:SeedPortPadam") == "SeedPortPadam"
    assert display_name("my_opts:Padam2(p=0.25)") == "Padam2(p=0.25)"
    assert display_name("padam(p=0.25)") == "padam(p=0.25)" and display_name("sgdm") == "sgdm"


def test_summary_means_intervals_and_exclusion_of_unfinished(tmp_path):
    for seed, final in enumerate([0.10, 0.12, 0.14]):
        errors = np.linspace(0.8, final, 8)
        add_run(tmp_path, f"sgdm-s{seed}", make_config("sgdm", seed), make_history(errors))
    add_run(tmp_path, "adam-s0", make_config("adam", 0), make_history(np.linspace(0.6, 0.2, 8)))
    # An unfinished run with an absurd error: it must not move any statistic.
    add_run(tmp_path, "sgdm-s9", make_config("sgdm", 9), make_history([0.99, 0.99]), finished=False)

    study = load_study(tmp_path)
    assert [r.name for r in study.unfinished_runs] == ["sgdm-s9"]
    summary = aggregate.summarize(study, target_val_accuracy=0.5)
    assert list(summary["variant"]) == ["sgdm", "adam"]
    sgdm = summary.set_index("variant").loc["sgdm"]
    assert sgdm["n"] == 3 and sgdm["seeds"] == "0,1,2"
    assert sgdm["test_error_mean"] == pytest.approx(0.12)
    assert sgdm["test_error_ci"] == pytest.approx(T_975_DF2 * 0.02 / math.sqrt(3))
    # train accuracy = 1 - error + 0.05, so the generalisation gap is exactly 0.05.
    assert sgdm["gen_gap_mean"] == pytest.approx(0.05)
    assert sgdm["train_loss_mean"] == pytest.approx(0.5)
    assert sgdm["best_val_accuracy_mean"] == pytest.approx(1 - 0.12)
    adam = summary.set_index("variant").loc["adam"]
    assert adam["n"] == 1 and math.isnan(adam["test_error_ci"])


def test_p_sweep_runs_are_grouped_apart(tmp_path):
    for seed in range(2):
        add_run(tmp_path, f"padam-s{seed}", make_config("padam", seed, partial=0.125), make_history([0.5, 0.3]))
        add_run(tmp_path, f"padam-p25-s{seed}", make_config("padam", seed, partial=0.25), make_history([0.5, 0.4]))
    add_run(tmp_path, "padam-default", make_config("padam", 5, partial=None), make_history([0.5, 0.3]))
    summary = aggregate.summarize(load_study(tmp_path)).set_index("variant")
    assert list(summary.index) == ["padam", "padam(p=0.25)"]
    assert summary.loc["padam", "n"] == 3 and summary.loc["padam", "main"]
    assert summary.loc["padam(p=0.25)", "n"] == 2 and not summary.loc["padam(p=0.25)", "main"]
    assert summary.loc["padam(p=0.25)", "partial"] == 0.25
    assert summary.loc["padam", "partial"] == 0.125


def test_no_target_is_derived_from_the_results(tmp_path):
    # Without a declared target the table has no time-to-target: it is never picked from the results.
    add_run(tmp_path, "a", make_config("sgdm", 0, epochs=2), make_history([0.5, 0.123]))
    summary = aggregate.summarize(load_study(tmp_path))
    assert math.isnan(summary["target_val_accuracy"].iloc[0]) and math.isnan(summary["target_epoch_median"].iloc[0])
    assert "| no target | - |" in aggregate.summary_to_markdown(summary)


def test_step_time_is_the_median_after_the_first_epoch(tmp_path):
    add_run(tmp_path, "sgd", make_config("sgd", 0, epochs=4), make_history([0.5, 0.4, 0.3, 0.2],
            step_time_ms=[100.0, 10.0, 14.0, 12.0]))  # fmt: skip
    add_run(tmp_path, "sgd1", make_config("sgd", 1, epochs=4), make_history([0.5, 0.4, 0.3, 0.2],
            step_time_ms=[90.0, 20.0, 20.0, 20.0]))  # fmt: skip
    row = aggregate.summarize(load_study(tmp_path)).iloc[0]
    assert row["step_time_ms_median"] == pytest.approx(np.median([12.0, 20.0]))  # per-run medians 12 and 20


def test_diverged_runs_are_counted(tmp_path):
    add_run(tmp_path, "ok", make_config("adam", 0, epochs=3), make_history([0.5, 0.4, 0.3]))
    bad = make_history([0.5, 0.9], loss=[1.0, float("inf")])
    add_run(tmp_path, "bad", make_config("adam", 1, epochs=3), bad, status="diverged")
    study = load_study(tmp_path)
    row = aggregate.summarize(study).iloc[0]
    assert (row["n"], row["n_diverged"]) == (2, 1)
    assert row["test_error_mean"] == pytest.approx(0.6)
    curves = aggregate.epoch_curves(study).set_index("epoch")
    # The infinite loss is left out of the curve; the epoch-3 point has one run.
    assert curves.loc[2, "loss_mean"] == pytest.approx(2.0 - 1.5 / 2)
    assert curves.loc[3, "n"] == 1


def test_epoch_curves_mean_and_interval(tmp_path):
    for seed, offset in enumerate([0.0, 0.02, 0.04]):
        add_run(tmp_path, f"s{seed}", make_config("sgdm", seed, epochs=2), make_history([0.5 + offset, 0.3 + offset]))
    curves = aggregate.epoch_curves(load_study(tmp_path))
    assert list(curves["epoch"]) == [1, 2]
    assert curves["test_error_mean"].tolist() == pytest.approx([0.52, 0.32])
    assert curves["test_error_ci"].tolist() == pytest.approx([T_975_DF2 * 0.02 / math.sqrt(3)] * 2)
    assert curves["n"].tolist() == [3, 3]


def test_workloads_are_summarised_separately(tmp_path):
    add_run(tmp_path, "a", make_config("sgdm", 0, model="resnet20"), make_history([0.5, 0.3]))
    add_run(tmp_path, "b", make_config("sgdm", 0, model="resnet32"), make_history([0.5, 0.2]))
    summary = aggregate.summarize(load_study(tmp_path))
    assert len(summary) == 2
    assert summary["workload"].tolist() == sorted(
        [workload_of(make_config(model="resnet20")), workload_of(make_config(model="resnet32"))]
    )


def test_performance_profile_fractions():
    summary = pd.DataFrame(
        {
            "workload": ["w1", "w1", "w2", "w2"],
            "variant": ["sgdm", "adam", "sgdm", "adam"],
            "main": [True] * 4,
            "test_error_mean": [0.10, 0.12, 0.20, 0.18],
        }
    )
    profile = aggregate.performance_profile(summary, taus=[1.0, 1.15, 1.2, 2.0])
    assert profile["sgdm"].tolist() == pytest.approx([0.5, 1.0, 1.0, 1.0])
    assert profile["adam"].tolist() == pytest.approx([0.5, 0.5, 1.0, 1.0])


def test_exports_markdown_latex_csv(tmp_path):
    for seed, final in enumerate([0.10, 0.12, 0.14]):
        add_run(tmp_path, f"sgdm-s{seed}", make_config("sgdm", seed), make_history(np.linspace(0.8, final, 8)))
    add_run(tmp_path, "padam-p25", make_config("padam", 0, partial=0.25), make_history(np.linspace(0.8, 0.2, 8)))
    summary = aggregate.summarize(load_study(tmp_path), target_val_accuracy=0.5)
    paths = aggregate.export_summary(summary, tmp_path / "out")
    markdown = paths["md"].read_text()
    half = T_975_DF2 * 0.02 / math.sqrt(3) * 100
    assert f"| sgdm | 3 | 12.00 ± {half:.2f} |" in markdown
    assert "20.00 ± n/a" in markdown  # one seed: the interval is undefined
    latex = paths["tex"].read_text()
    assert r"\begin{tabular}" in latex and r"$\pm$" in latex and r"\%" in latex
    back = pd.read_csv(paths["csv"])
    assert back["test_error_mean"].tolist() == pytest.approx(summary["test_error_mean"].tolist())
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temp files left


def test_history_json_is_read_when_csv_is_absent(tmp_path):
    run_dir = add_run(tmp_path, "a", make_config("sgdm", 0, epochs=2), make_history([0.5, 0.3]))
    (run_dir / "history.csv").unlink()
    run = load_run(run_dir)
    assert run.history["test_error"].tolist() == pytest.approx([0.5, 0.3])
    assert run.status == "finished" and run.variant == "sgdm"


def test_trainer_history_json_with_inf_and_null(tmp_path):
    # The trainer writes non-finite losses as strings and missing metrics as null.
    run_dir = add_run(tmp_path, "a", make_config("adam", 0, epochs=2), make_history([0.5, 0.9]), status="diverged")
    (run_dir / "history.csv").unlink()
    rows = [
        {"epoch": 1, "loss": 1.5, "val_accuracy": None, "test_accuracy": 0.5, "test_error": 0.5},
        {"epoch": 2, "loss": "inf", "val_accuracy": None, "test_accuracy": 0.1, "test_error": 0.9},
    ]
    (run_dir / "history.json").write_text(json.dumps(rows))
    run = load_run(run_dir)
    assert run.status == "diverged"
    assert math.isinf(run.history["loss"].iloc[1]) and run.history["val_accuracy"].isna().all()
    row = aggregate.summarize([run]).iloc[0]
    assert math.isnan(row["best_val_accuracy_mean"]) and row["n_diverged"] == 1


def test_settings_fall_back_to_what_the_run_recorded(tmp_path):
    config = make_config("adam", 0, epochs=2, learning_rate=None, weight_decay=None)
    history = make_history([0.5, 0.4]).assign(learning_rate=[0.001, 0.0001])
    run_dir = add_run(tmp_path, "a", config, history)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["optimizer_config"] = {"learning_rate": "PiecewiseConstantDecay", "coupled_weight_decay": 1e-4}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    settings = aggregate.variant_settings(load_study(tmp_path)).iloc[0]
    assert (settings["learning_rate"], settings["weight_decay"]) == ("0.001", "0.0001 (coupled)")


def test_a_plug_ins_p_comes_from_its_recorded_config(tmp_path):
    # A plug-in's p is its class's default, absent from the run's config; the manifest records what it ran with.
    config = make_config("pkg.mod:Port", 0, epochs=2)
    run_dir = add_run(tmp_path, "port", config, make_history([0.5, 0.4]))
    add_run(tmp_path, "sgdm", make_config("sgdm", 0, epochs=2), make_history([0.5, 0.4]))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["optimizer_config"] = {"learning_rate": 0.1, "partial": 0.125}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    settings = aggregate.variant_settings(load_study(tmp_path)).set_index("variant")["partial"]
    assert settings.to_dict() == {"pkg.mod:Port": "0.125", "sgdm": "-"}
