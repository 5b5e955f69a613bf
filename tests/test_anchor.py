"""The anchor-run summary: final (never best) test error against the published one, in iterations."""

import json

import pytest

from keras_resnet_opt.anchor import summarize_anchor, write_anchor_report
from keras_resnet_opt.training.run_folder import write_history


def _run(tmp_path, finished=True):
    run_dir = tmp_path / "he2016-resnet20-sgdm-s0"
    rows = [{"epoch": e, "loss": 2.0 / e, "test_error": err, "test_accuracy": 1 - err}
            for e, err in ((1, 0.5), (2, 0.05), (3, 0.09))]  # epoch 2 is the best, epoch 3 the final
    write_history(run_dir, rows)
    if finished:
        manifest = {
            "config": {"batch_size": 128, "lr_boundaries": [32000 / 391, 48000 / 391], "precision": "float32"},
            "data": {"train_images": 50000, "source": "image-folder"},
            "final": {"epoch": 3, "test_error": 0.09, "train_loss": 2.0 / 3},
            "command": "python scripts/train.py --preset he2016", "device": "CPU",
            "code": {"commit": "abc", "dirty": False},
        }
        (run_dir / "manifest.json").write_text(json.dumps(manifest))
    return run_dir


def test_summary_uses_the_final_epoch_and_iterations(tmp_path):
    summary = summarize_anchor(_run(tmp_path), 8.75, "He et al. 2016")
    assert summary["final_test_error_pct"] == 9.0 and summary["difference_pp"] == 0.25
    assert summary["iterations"] == 3 * 391 and summary["decay_iterations"] == [32000, 48000]
    assert summary["code"]["commit"] == "abc"


def test_report_writes_summary_and_curves(tmp_path):
    summary = write_anchor_report(_run(tmp_path), tmp_path / "out", 8.75, "He et al. 2016")
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == summary
    assert (tmp_path / "out" / "curves.png").stat().st_size > 0


def test_unfinished_run_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no finished run"):
        summarize_anchor(_run(tmp_path, finished=False), 8.75, "x")


def test_cli_refuses_a_card_for_a_folder_that_is_not_a_saved_model(tmp_path, capsys):
    from keras_resnet_opt.cli.anchor import main

    with pytest.raises(SystemExit) as stop:
        main([str(_run(tmp_path)), "--out", str(tmp_path / "out"), "--saved-model", str(tmp_path / "nothing")])
    assert stop.value.code == 2
    assert "not a SavedModel folder" in capsys.readouterr().err


def test_a_second_run_is_drawn_beside_the_first_and_a_folder_without_epochs_is_refused(tmp_path, capsys):
    from keras_resnet_opt.cli.anchor import main

    run = _run(tmp_path)
    recipe = json.loads((run / "manifest.json").read_text())["config"]
    twin = tmp_path / "twin" / "he2016-jpeg-cost-resnet20-sgdm-s0"
    write_history(twin, [{"epoch": 1, "loss": 2.5, "test_error": 0.6, "test_accuracy": 0.4}])  # unfinished: fine
    (twin / "config.json").write_text(json.dumps(recipe))
    out = tmp_path / "out"
    assert main([str(run), "--out", str(out), "--compare", str(twin)]) == 0
    assert (out / "curves.png").stat().st_size > 0
    # Refused before anything is written: a folder with no epoch, and a run of another recipe.
    (twin.parent / "other").mkdir()
    write_history(twin.parent / "other", [{"epoch": 1, "loss": 2.5, "test_error": 0.6, "test_accuracy": 0.4}])
    (twin.parent / "other" / "config.json").write_text(json.dumps({**recipe, "batch_size": 64}))
    for folder, message in ((tmp_path / "nothing", "no recorded epoch"), (twin.parent / "other", "batch_size: 64")):
        fresh = tmp_path / "fresh"
        with pytest.raises(SystemExit) as stop:
            main([str(run), "--out", str(fresh), "--compare", str(folder)])
        assert stop.value.code == 2 and not fresh.exists()
        assert message in capsys.readouterr().err
