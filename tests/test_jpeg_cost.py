"""The JPEG-cost comparison: runs on a damaged copy paired by seed with the same runs on the copy."""

import json

import numpy as np
import pytest
from scipy import stats

from keras_resnet_opt.study.jpeg_cost import PROVENANCE, jpeg_cost

CONFIG = {"preset": "cpu-budget", "model": "resnet20", "optimizer": "sgdm", "learning_rate": 0.1, "epochs": 10,
          "precision": "float32", "weight_decay": 5e-4}


def _run(runs_dir, name, seed, data, test_error, train_loss, status="finished", **changes):
    folder = runs_dir / name
    folder.mkdir(parents=True)
    config = {**CONFIG, "seed": seed, "data_dir": f"../{data}", "run_name": name, **changes}
    manifest = {"run_name": name, "status": status, "config": config,
                "data": {"source": f"image-folder:/{data}", "checksum": f"sum-{data}"},
                "final": {"test_error": test_error, "train_loss": train_loss}}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _study(tmp_path, damaged_errors=(0.21, 0.215, 0.2), original_errors=(0.19, 0.2, 0.185)):
    damaged, original = tmp_path / "jpeg-cost" / "runs", tmp_path / "budget" / "runs"
    for seed, (d, o) in enumerate(zip(damaged_errors, original_errors)):
        _run(damaged, f"jpeg-s{seed}", seed, "damaged", d, 0.5 + 0.01 * seed)
        _run(original, f"budget-sgdm-s{seed}", seed, "copy", o, 0.45)
    _run(original, "budget-adam-s0", 0, "copy", 0.3, 0.6, optimizer="adam", learning_rate=0.003)
    return damaged, original


def test_the_cost_is_the_paired_difference_with_its_t_interval(tmp_path):
    damaged, original = _study(tmp_path)
    (tmp_path / "jpeg-cost" / PROVENANCE).write_text(json.dumps({"source_checksum": "sum-copy", "jpeg_quality": 75}))
    _run(damaged, "jpeg-s3-unfinished", 3, "damaged", 0.0, 0.0, status="running")
    cost = jpeg_cost(damaged, original)
    differences = np.array([2.0, 1.5, 1.5])  # damaged - original, in points, seed by seed
    assert [p["test_error_difference_pp"] for p in cost["pairs"]] == pytest.approx(differences.tolist())
    assert [p["original_run"] for p in cost["pairs"]] == ["budget-sgdm-s0", "budget-sgdm-s1", "budget-sgdm-s2"]
    half = stats.t.ppf(0.975, 2) * differences.std(ddof=1) / np.sqrt(3)
    summary = cost["test_error_difference_pp"]
    assert summary["mean"] == pytest.approx(differences.mean(), abs=1e-3)
    assert summary["interval"] == pytest.approx([differences.mean() - half, differences.mean() + half], abs=1e-3)
    assert summary["p_two_sided"] == pytest.approx(stats.ttest_1samp(differences, 0).pvalue, abs=1e-4)
    assert cost["train_loss_difference"]["mean"] == pytest.approx(0.06, abs=1e-4)
    assert cost["n_pairs"] == 3 and cost["damage"]["jpeg_quality"] == 75
    assert cost["recipe"]["optimizer"] == "sgdm" and cost["damaged_data"]["checksum"] == "sum-damaged"


def test_a_run_without_an_identically_trained_partner_is_named_with_what_differs(tmp_path):
    damaged, original = _study(tmp_path)
    _run(damaged, "jpeg-s0-lr", 0, "damaged", 0.2, 0.5, learning_rate=0.3)
    with pytest.raises(ValueError, match=r"'jpeg-s0-lr' has no partner .* differs in learning_rate"):
        jpeg_cost(damaged, original)


def test_pairs_on_the_same_data_or_a_copy_of_other_data_are_refused(tmp_path):
    damaged, original = _study(tmp_path)
    _run(damaged, "jpeg-s5", 5, "copy", 0.2, 0.5)
    _run(original, "budget-sgdm-s5", 5, "copy", 0.2, 0.5)
    with pytest.raises(ValueError, match="trained on the same data"):
        jpeg_cost(damaged, original)
    damaged, original = _study(tmp_path / "other")
    (tmp_path / "other" / "jpeg-cost" / PROVENANCE).write_text(json.dumps({"source_checksum": "sum-elsewhere"}))
    with pytest.raises(ValueError, match="made from other data"):
        jpeg_cost(damaged, original)


def test_nothing_finished_or_no_folder_is_a_clear_error(tmp_path):
    (tmp_path / "runs").mkdir()
    with pytest.raises(ValueError, match="No finished run"):
        jpeg_cost(tmp_path / "runs", tmp_path / "runs")
    with pytest.raises(ValueError, match="is not a folder of runs"):
        jpeg_cost(tmp_path / "missing", tmp_path / "runs")


def test_the_anchor_command_writes_jpeg_cost_json_beside_its_summary(tmp_path, capsys):
    from test_anchor import _run as anchor_run

    from keras_resnet_opt.cli.anchor import main

    damaged, original = _study(tmp_path)
    out = tmp_path / "out"
    assert main([str(anchor_run(tmp_path)), "--out", str(out), "--jpeg-cost", str(damaged),
                 "--paired-with", str(original)]) == 0  # fmt: skip
    assert json.loads((out / "jpeg_cost.json").read_text()) == json.loads(json.dumps(jpeg_cost(damaged, original)))
    assert "JPEG cost:" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        main([str(anchor_run(tmp_path)), "--out", str(out), "--jpeg-cost", str(damaged)])
    assert stop.value.code == 2 and "go together" in capsys.readouterr().err


def test_a_run_trained_twice_the_same_way_is_refused_not_counted_twice(tmp_path):
    damaged, original = _study(tmp_path)
    _run(damaged, "jpeg-s0-again", 0, "damaged", 0.22, 0.5)
    with pytest.raises(ValueError, match=r"'jpeg-s0' and 'jpeg-s0-again' .* were trained the same way"):
        jpeg_cost(damaged, original)


def test_one_pair_gives_its_difference_without_an_interval_under_a_name_of_its_own(tmp_path, capsys):
    """The He run's 164-epoch twin is one seed: a difference, no interval, no p; it lies beside jpeg_cost.json."""
    from test_anchor import _run as anchor_run

    from keras_resnet_opt.cli.anchor import main

    damaged, original = _study(tmp_path, damaged_errors=(0.21,), original_errors=(0.19,))
    cost = jpeg_cost(damaged, original)
    assert cost["n_pairs"] == 1 and cost["test_error_difference_pp"]["mean"] == pytest.approx(2.0)
    assert cost["test_error_difference_pp"]["interval"] is None
    assert cost["test_error_difference_pp"]["p_two_sided"] is None
    out = tmp_path / "out"
    assert main([str(anchor_run(tmp_path)), "--out", str(out), "--jpeg-cost", str(damaged), "--paired-with",
                 str(original), "--jpeg-cost-name", "jpeg_cost_164ep.json"]) == 0  # fmt: skip
    assert json.loads((out / "jpeg_cost_164ep.json").read_text())["n_pairs"] == 1
    assert not (out / "jpeg_cost.json").exists()


def test_a_pair_with_saved_predictions_gets_an_exact_mcnemar_test_over_the_test_images(tmp_path):
    """Two versions of the same images, in the same order: the images pair up; hand-counted discordant images."""
    from keras_resnet_opt.training.run_folder import write_test_predictions

    damaged, original = _study(tmp_path)
    labels = np.arange(40) % 10
    original_pred, damaged_pred = labels.copy(), labels.copy()
    original_pred[:3] = (labels[:3] + 1) % 10  # 3 images only the damaged run gets right
    damaged_pred[3:12] = (labels[3:12] + 1) % 10  # 9 only the original run gets right
    damaged_pred[30] = original_pred[30] = (labels[30] + 2) % 10  # both wrong: not discordant
    write_test_predictions(original / "budget-sgdm-s0", original_pred, labels)
    write_test_predictions(damaged / "jpeg-s0", damaged_pred, labels)
    pairs = jpeg_cost(damaged, original)["pairs"]
    images = pairs[0]["test_images"]
    assert (images["images"], images["only_original_right"], images["only_damaged_right"]) == (40, 9, 3)
    assert images["mcnemar_p_exact"] == pytest.approx(stats.binomtest(3, 12, 0.5).pvalue, rel=1e-2)
    half = stats.norm.ppf(0.975) * np.sqrt(12 - 6**2 / 40) / 40
    assert images["difference_half_width_pp"] == pytest.approx(100 * half, abs=0.01)
    assert pairs[1]["test_images"] is None  # seed 1 saved no predictions
    write_test_predictions(damaged / "jpeg-s0", damaged_pred, np.roll(labels, 1))
    with pytest.raises(ValueError, match="saved different test labels"):
        jpeg_cost(damaged, original)
