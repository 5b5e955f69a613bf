"""The report's notes on nadam and adamw state what the runs recorded, computed from their manifests."""

import pytest
from run_dirs import write_run_dir

from keras_resnet_opt.study import report
from keras_resnet_opt.study.optimizer_notes import optimizer_notes
from keras_resnet_opt.study.runs import load_study

HISTORY = [{"epoch": e, "loss": 1.0 / e, "accuracy": 0.5, "val_accuracy": 0.5, "test_error": 0.3} for e in (1, 2)]


def _run(study_dir, optimizer, seed, optimizer_config, lr, epochs=10, train_images=45000):
    config = {"optimizer": optimizer, "seed": seed, "model": "resnet20", "preset": "cpu-budget", "epochs": epochs,
              "batch_size": 128, "learning_rate": lr, "train_subset": None}  # fmt: skip
    manifest = {"status": "finished", "config": config, "initial_learning_rate": lr,
                "optimizer_config": optimizer_config,
                "data": {"train_images": train_images, "source": "image-folder:/x", "checksum": "c"},
                "final": {"test_error": 0.3, "train_loss": 0.5}}  # fmt: skip
    write_run_dir(study_dir / "runs" / f"{optimizer}-s{seed}", config, HISTORY, manifest)


def test_nadam_note_gives_dozats_momentum_at_the_end_of_the_runs_budget(tmp_path):
    _run(tmp_path, "nadam", 0, {"beta_1": 0.9, "coupled_weight_decay": 5e-4}, 3e-3)
    (line,) = [n for n in optimizer_notes(load_study(tmp_path)) if n.startswith("- nadam")]
    steps = 10 * 352  # ceil(45,000 / 128) steps an epoch
    assert f"({steps:,} steps)" in line and "from step 57 on" in line  # 0.5 x 0.96^57 < 0.05 < 0.5 x 0.96^56
    # Written out again: 0.9 (1 - 0.5 x 0.96^(0.004 x 3520)) = 0.647
    assert f"{0.9 * (1 - 0.5 * 0.96 ** (0.004 * steps)):.3f}" == "0.647" and "at 0.647 " in line


def test_adamw_note_sets_its_decoupled_shrink_beside_sgdms(tmp_path):
    _run(tmp_path, "adamw", 0, {"weight_decay": 0.5, "coupled_weight_decay": None}, 3.16228e-3)
    _run(tmp_path, "sgdm", 0, {"coupled_weight_decay": 5e-4, "momentum": 0.9}, 0.1)
    (line,) = [n for n in optimizer_notes(load_study(tmp_path)) if n.startswith("- adamw")]
    assert "wd = 0.5:" in line and "a shrink of 0.00158 per step" in line  # 3.16e-3 x 0.5
    assert "= 0.0005 per step at its rate 0.1" in line  # 0.1 x 5e-4 / (1 - 0.9)
    text = report.write_report(tmp_path).read_text()
    assert "Optimizers whose names alone can mislead, as run:" in text and line in text


def test_no_note_without_nadam_or_adamw_and_none_for_unfinished_runs(tmp_path):
    _run(tmp_path, "sgdm", 0, {"coupled_weight_decay": 5e-4, "momentum": 0.9}, 0.1)
    write_run_dir(tmp_path / "runs" / "nadam-s0", {"optimizer": "nadam", "seed": 0, "epochs": 10}, HISTORY)
    assert optimizer_notes(load_study(tmp_path)) == []


@pytest.mark.parametrize("missing", ["weight_decay", "data"])
def test_what_a_manifest_lacks_is_said_or_left_out_not_invented(tmp_path, missing):
    if missing == "weight_decay":
        _run(tmp_path, "adamw", 0, {}, 1e-3)
        assert "records no decoupled weight decay" in optimizer_notes(load_study(tmp_path))[2]
    else:
        _run(tmp_path, "nadam", 0, {"beta_1": 0.9}, 1e-3, train_images=None)
        assert "steps)" not in optimizer_notes(load_study(tmp_path))[2]
