"""The report end to end, from synthetic run directories in tmp_path."""

import os
import runpy
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pandas as pd
import pytest

from keras_resnet_opt.study import aggregate, report
from keras_resnet_opt.study.runs import load_study, write_run_dir

EPOCHS = 8  # early epoch = 2; second half = epochs 5-8
SEEDS = (0, 1, 2)


def curve(early, final, noise, seed, epochs=EPOCHS):
    """Test error: 0.9 at epoch 1, `early` at epoch 2, linear to `final`, alternating noise in the second half."""
    errors = np.concatenate([[0.9, early], np.linspace(early, final, epochs - 1)[1:]])
    errors = errors + 0.002 * seed
    second_half = np.arange(1, epochs + 1) > epochs / 2
    amplitude = noise * (1.0 + 0.1 * seed)
    errors[second_half] += amplitude * (-1.0) ** np.arange(second_half.sum())
    errors[-1] = final + 0.002 * seed  # the final value is exact, noise aside
    return errors


def history(errors):
    errors = np.asarray(errors, dtype=float)
    epochs = np.arange(1, len(errors) + 1)
    loss = 2.0 * errors + 0.05
    return pd.DataFrame(
        {
            "epoch": epochs, "loss": loss, "accuracy": 1.0 - errors + 0.05, "val_loss": loss,
            "val_accuracy": 1.0 - errors, "test_loss": loss, "test_accuracy": 1.0 - errors,
            "test_error": errors, "learning_rate": 0.1, "epoch_time_s": 30.0, "train_time_s": 25.0,
            "images_per_sec": 200.0, "step_time_ms": 50.0,
        }
    )  # fmt: skip


def write_run(
    study_dir, optimizer, seed, errors, partial=None, finished=True, model="resnet20", epochs=EPOCHS, subset=5000, prefix=""
):
    config = {
        "preset": "smoke", "model": model, "optimizer": optimizer, "seed": seed, "epochs": epochs,
        "batch_size": 128, "learning_rate": 0.1, "partial": partial, "weight_decay": 5e-4,
        "train_subset": subset, "val_size": 1000, "data_dir": "/data/cifar10", "lr_schedule": "step",
        "lr_boundaries": [3], "lr_decay_factor": 0.1,
    }  # fmt: skip
    frame = history(errors)
    manifest = None
    if finished:
        last = frame.iloc[-1]
        manifest = {
            "status": "finished", "diverged_at_epoch": None, "config": config,
            "final": {
                "test_accuracy": float(last["test_accuracy"]), "test_error": float(last["test_error"]),
                "test_loss": float(last["test_loss"]), "train_loss": float(last["loss"]),
                "train_accuracy": float(last["accuracy"]), "val_accuracy": float(last["val_accuracy"]),
            },
            "versions": {"tensorflow": "2.21.0", "keras": "3.15.0", "python": "3.11.9"},
            "device": "CPU (2 cores)", "data": {"source": "JPEG image folder", "checksum": "sha256:0123"},
            "peak_memory_mib": 900.0, "wall_time_s": 240.0, "command": "python scripts/train.py",
        }  # fmt: skip
    name = prefix + (f"{optimizer}-p{partial}-s{seed}" if partial else f"{optimizer}-s{seed}")
    write_run_dir(study_dir / "runs" / name, config, frame, manifest)


# (early test error, final test error, second-half noise) per optimizer.
CLAIMS_HOLD = {
    "sgdm": (0.60, 0.10, 0.03),
    "adam": (0.40, 0.15, 0.03),
    "amsgrad": (0.42, 0.14, 0.03),
    "padam": (0.41, 0.10, 0.0),
}
CLAIMS_FAIL = {
    "sgdm": (0.40, 0.15, 0.0),
    "adam": (0.60, 0.10, 0.0),
    "amsgrad": (0.62, 0.10, 0.0),
    "padam": (0.70, 0.20, 0.03),
}


def build_study(study_dir, setup, extra=True):
    for optimizer, (early, final, noise) in setup.items():
        for seed in SEEDS:
            write_run(study_dir, optimizer, seed, curve(early, final, noise, seed))
    if extra:
        for seed in SEEDS:
            write_run(study_dir, "padam", seed, curve(0.45, 0.12, 0.0, seed), partial=0.25)
        write_run(study_dir, "adamw", 0, curve(0.5, 0.11, 0.01, 0))  # one seed: no interval
        write_run(study_dir, "sgdm", 7, [0.9, 0.8], finished=False)
    (study_dir / "study.json").write_text(
        '{"preset": "smoke", "optimizers": ["sgdm", "adam", "nadam"], "seeds": [0], "partial_sweep": [0.25],'
        ' "command": "python scripts/run_grid.py", "data_dir": "/data/cifar10"}'
    )
    return study_dir


def verdicts(summary):
    workload = summary["workload"].iloc[0]
    return [v.verdict for v in report.check_claims(summary, workload)]


@pytest.fixture(scope="module")
def hold_study(tmp_path_factory):
    """The study where every claim holds, reported once (PDFs too) and shared."""
    study_dir = build_study(tmp_path_factory.mktemp("hold"), CLAIMS_HOLD)
    report.write_report(study_dir, target_accuracy=0.5, pdf=True)
    return study_dir


def test_claims_hold_in_constructed_case(hold_study):
    summary = aggregate.summarize(load_study(hold_study))
    assert verdicts(summary) == [report.HOLDS] * 3
    text = (hold_study / "report.md").read_text()
    assert "Adaptive methods (adam, amsgrad) converge faster than SGD-momentum but generalise worse. **Holds.**" in text
    assert "Padam (p = 1/8) converges like Adam and generalises like SGD-momentum. **Holds.**" in text
    assert "Padam's test-error curve is smoother than the other optimizers'. **Holds.**" in text
    # adamw has one seed: listed, not counted.
    assert "padam vs adamw" in text and "not compared (one seed, no interval)" in text


def test_claims_fail_in_constructed_case(tmp_path):
    path = report.write_report(build_study(tmp_path, CLAIMS_FAIL, extra=False))
    summary = aggregate.summarize(load_study(tmp_path))
    assert verdicts(summary) == [report.DOES_NOT_HOLD] * 3
    assert path.read_text().count("**Does not hold.**") == 3


def test_overlapping_intervals_are_inconclusive_and_missing_optimizers_untestable(tmp_path):
    close = {"sgdm": (0.50, 0.12, 0.03), "adam": (0.49, 0.121, 0.03)}
    build_study(tmp_path, close, extra=False)
    summary = aggregate.summarize(load_study(tmp_path))
    claims = report.check_claims(summary, summary["workload"].iloc[0])
    assert [c.verdict for c in claims] == [report.INCONCLUSIVE, report.NOT_TESTABLE, report.NOT_TESTABLE]
    assert "padam" in claims[1].evidence[0]


def test_compare_intervals():
    assert report.compare_intervals(1.0, 0.1, 2.0, 0.1) == "lower"
    assert report.compare_intervals(2.0, 0.1, 1.0, 0.1) == "higher"
    assert report.compare_intervals(1.0, 0.6, 2.0, 0.6) == "overlap"
    assert report.compare_intervals(1.0, float("nan"), 2.0, 0.1) == "unknown"


def test_report_contents_and_files(hold_study):
    tmp_path = hold_study
    for name in ("report.md", "summary.csv", "summary.md", "summary.tex", "curves.csv", "train_loss.png",
                 "test_error.png", "p_sweep.png", "p_sweep.pdf", "train_loss.pdf"):  # fmt: skip
        assert (tmp_path / name).is_file(), name
    path = tmp_path / "report.md"
    text = path.read_text()
    assert "![Training loss, resnet20 smoke (8 ep, 5000 train)](train_loss.png)" in text
    assert "![Padam p sweep, resnet20 smoke (8 ep, 5000 train)](p_sweep.png)" in text
    assert "`sgdm-s7`: sgdm, seed 7, 2/8 epochs recorded" in text  # unfinished, listed
    assert "| sgdm | 3 |" in text  # and left out of the statistics
    assert "| padam(p=0.25) | 3 |" in text
    assert "| adamw | 1 | 11.00 ± n/a |" in text
    assert "JPEG image folder (checksum sha256:0123)" in text and "CPU (2 cores)" in text
    assert "keras 3.15.0; python 3.11.9; tensorflow 2.21.0" in text
    assert "Planned in study.json but without a run directory: nadam seed 0." in text
    # The setup does not match any published one: context only, with the caveat.
    assert "No published number matches this setup" in text
    assert "Context only" in text and "| padam | resnet18 | padam | 200 | 5.06 |" in text
    for caveat in ("subset of 5000", "JPEG re-encoding", "Few epochs", "Trained on CPU"):
        assert caveat in text


def test_regeneration_is_byte_identical(hold_study):
    names = ("report.md", "summary.csv", "summary.md", "summary.tex", "curves.csv", "test_error.png", "p_sweep.pdf")
    before = {name: (hold_study / name).read_bytes() for name in names}
    report.write_report(hold_study, target_accuracy=0.5, pdf=True)
    assert {name: (hold_study / name).read_bytes() for name in names} == before
    assert not [p for p in hold_study.iterdir() if p.name.startswith(".")]  # no temp files left


def test_published_numbers_side_by_side_when_setup_matches(tmp_path):
    for seed in (0, 1):
        errors = np.linspace(0.5, 0.05 + 0.01 * seed, 200)
        write_run(tmp_path, "padam", seed, errors, model="resnet18", epochs=200, subset=None)
    text = report.write_report(tmp_path, target_accuracy=0.9).read_text()
    assert "Where this study's setup matches a published one" in text
    # Published Padam ResNet-18: 94.94% accuracy = 5.06% error; this study: 5.50% mean.
    assert "| padam | resnet18 | padam | 200 | 5.06 | 5.50 ±" in text
    assert "No published number matches" not in text


def test_several_workloads_get_a_performance_profile_and_lr_sensitivity(tmp_path):
    for model, shift in (("resnet20", 0.0), ("resnet32", -0.02)):
        for optimizer, final in (("sgdm", 0.10), ("adam", 0.12)):
            for seed in (0, 1):
                errors = curve(0.5, final + shift, 0.01, seed)
                write_run(tmp_path, optimizer, seed, errors, model=model, prefix=f"{model}-")
    trials = pd.DataFrame({"optimizer": ["sgdm", "adam"], "learning_rate": [0.1, 0.001], "val_accuracy": [0.8, 0.7]})
    text = report.write_report(tmp_path, tuning_trials=trials).read_text()
    assert "![Performance profile](performance_profile.png)" in text
    assert "![Learning-rate sensitivity](lr_sensitivity.png)" in text
    assert (tmp_path / "train_loss-resnet32-smoke-8-ep-5000-train.png").is_file()
    assert text.count("### resnet32 smoke (8 ep, 5000 train)") == 3  # results, claims, published numbers


def test_report_without_finished_runs(tmp_path):
    write_run(tmp_path, "sgdm", 0, [0.9, 0.8], finished=False)
    text = report.write_report(tmp_path).read_text()
    assert "No run has finished" in text and "`sgdm-s0`" in text


def test_missing_runs_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="runs"):
        report.write_report(tmp_path)


def test_cli(tmp_path, capsys):
    build_study(tmp_path, CLAIMS_HOLD, extra=False)
    script = Path(__file__).resolve().parents[1] / "scripts" / "report.py"
    main = runpy.run_path(str(script))["main"]
    assert main([str(tmp_path), "--target-accuracy", "0.6"]) == 0
    assert "report.md" in capsys.readouterr().out
    assert "Epochs to 60%" in (tmp_path / "report.md").read_text()
    assert main([str(tmp_path), "--target-accuracy", "60"]) == 2
    assert "target_accuracy=60" in capsys.readouterr().err
