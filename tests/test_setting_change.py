"""One setting changed (He et al.'s batch-norm batch): runs with it paired by seed with the same runs without."""

import json

import numpy as np
import pytest
from scipy import stats

from keras_resnet_opt.study.setting_change import setting_change

CONFIG = {"preset": "he2016", "model": "resnet20", "optimizer": "sgdm", "learning_rate": 0.1, "epochs": 164,
          "precision": "float32", "weight_decay": 1e-4, "data_dir": "../shared/datasets/cifar10"}


def _run(runs_dir, name, seed, test_error, train_loss, data="copy", status="finished", **changes):
    folder = runs_dir / name
    folder.mkdir(parents=True)
    config = {**CONFIG, "seed": seed, "run_name": name, **changes}
    manifest = {"run_name": name, "status": status, "config": config,
                "data": {"source": f"image-folder:/{data}", "checksum": f"sum-{data}"},
                "final": {"test_error": test_error, "train_loss": train_loss}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _pairs(tmp_path, changed_errors=(0.12, 0.11, 0.125), base_errors=(0.1213, 0.12, 0.13)):
    """Base runs written before bn_groups existed (their configs lack it), changed runs with bn_groups 2."""
    changed, base = tmp_path / "bn-groups" / "runs", tmp_path / "he" / "runs"
    for seed, (c, b) in enumerate(zip(changed_errors, base_errors)):
        _run(changed, f"bn2-s{seed}", seed, c, 0.05, bn_groups=2)
        _run(base, f"he-s{seed}", seed, b, 0.047)
    return changed, base


def test_the_effect_is_the_paired_difference_and_a_missing_setting_counts_as_its_default(tmp_path):
    changed, base = _pairs(tmp_path)
    _run(changed, "bn2-s3-unfinished", 3, 0.0, 0.0, status="running", bn_groups=2)
    effect = setting_change(changed, base, "bn_groups")
    differences = np.array([-0.13, -1.0, -0.5])  # changed - base, in points, seed by seed
    assert [p["test_error_difference_pp"] for p in effect["pairs"]] == pytest.approx(differences.tolist())
    assert [(p["changed_run"], p["base_run"]) for p in effect["pairs"]] == [
        ("bn2-s0", "he-s0"), ("bn2-s1", "he-s1"), ("bn2-s2", "he-s2")]
    assert (effect["setting"], effect["base_value"], effect["changed_value"]) == ("bn_groups", 1, 2)
    half = stats.t.ppf(0.975, 2) * differences.std(ddof=1) / np.sqrt(3)
    summary = effect["test_error_difference_pp"]
    assert summary["mean"] == pytest.approx(differences.mean(), abs=1e-3)
    assert summary["interval"] == pytest.approx([differences.mean() - half, differences.mean() + half], abs=1e-3)
    assert summary["p_two_sided"] == pytest.approx(stats.ttest_1samp(differences, 0).pvalue, abs=1e-4)
    assert effect["train_loss_difference"]["mean"] == pytest.approx(0.003, abs=1e-4)
    assert effect["recipe"]["preset"] == "he2016" and effect["data"]["checksum"] == "sum-copy"


def test_one_pair_is_a_point_figure_with_the_test_images_mcnemar(tmp_path):
    """The He run and its follow-up: one seed, so no interval; the images pair up (hand-counted discordant ones)."""
    from keras_resnet_opt.training.run_folder import write_test_predictions

    changed, base = _pairs(tmp_path, changed_errors=(0.11,), base_errors=(0.1213,))
    labels = np.arange(50) % 10
    base_pred, changed_pred = labels.copy(), labels.copy()
    base_pred[:7] = (labels[:7] + 1) % 10  # 7 images only the changed run gets right
    changed_pred[7:9] = (labels[7:9] + 1) % 10  # 2 only the base run gets right
    write_test_predictions(base / "he-s0", base_pred, labels)
    write_test_predictions(changed / "bn2-s0", changed_pred, labels)
    effect = setting_change(changed, base, "bn_groups")
    assert effect["n_pairs"] == 1 and effect["test_error_difference_pp"]["mean"] == pytest.approx(-1.13)
    assert effect["test_error_difference_pp"]["interval"] is None
    assert effect["test_error_difference_pp"]["p_two_sided"] is None
    images = effect["pairs"][0]["test_images"]
    assert (images["images"], images["only_base_right"], images["only_changed_right"]) == (50, 2, 7)
    assert images["mcnemar_p_exact"] == pytest.approx(stats.binomtest(2, 9, 0.5).pvalue, rel=1e-2)


def test_pairs_that_do_not_isolate_the_setting_are_refused_with_the_reason(tmp_path):
    changed, base = _pairs(tmp_path / "same")
    _run(changed, "bn1-s5", 5, 0.12, 0.05, bn_groups=1)
    _run(base, "he-s5", 5, 0.12, 0.05)
    with pytest.raises(ValueError, match="both have bn_groups=1; pair runs that differ in bn_groups"):
        setting_change(changed, base, "bn_groups")
    changed, base = _pairs(tmp_path / "data")
    _run(changed, "bn2-s5", 5, 0.12, 0.05, data="damaged", bn_groups=2)
    _run(base, "he-s5", 5, 0.12, 0.05)
    with pytest.raises(ValueError, match="trained on different data"):
        setting_change(changed, base, "bn_groups")
    changed, base = _pairs(tmp_path / "lr")
    _run(changed, "bn2-s0-lr", 0, 0.12, 0.05, bn_groups=2, learning_rate=0.05)
    with pytest.raises(ValueError, match=r"'bn2-s0-lr' has no partner .* differs in learning_rate\."):
        setting_change(changed, base, "bn_groups")
    changed, base = _pairs(tmp_path / "mixed")
    _run(changed, "bn4-s7", 7, 0.12, 0.05, bn_groups=4)
    _run(base, "he-s7", 7, 0.12, 0.05)
    with pytest.raises(ValueError, match="have bn_groups = 2, 4; keep one value per folder"):
        setting_change(changed, base, "bn_groups")


def test_an_unknown_setting_or_nothing_finished_is_a_clear_error(tmp_path):
    changed, base = _pairs(tmp_path)
    with pytest.raises(ValueError, match="Unknown setting 'bn_group'.*RunConfig field"):
        setting_change(changed, base, "bn_group")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No finished run"):
        setting_change(tmp_path / "empty", base, "bn_groups")


def test_the_anchor_command_writes_the_setting_change_beside_its_summary(tmp_path, capsys):
    from test_anchor import _run as anchor_run

    from keras_resnet_opt.cli.anchor import main

    changed, base = _pairs(tmp_path)
    out = tmp_path / "out"
    assert main([str(anchor_run(tmp_path)), "--out", str(out), "--setting-change", str(changed),
                 "--setting", "bn_groups", "--paired-with", str(base)]) == 0  # fmt: skip
    written = json.loads((out / "bn_groups_change.json").read_text())
    assert written == json.loads(json.dumps(setting_change(changed, base, "bn_groups")))
    assert "bn_groups 1 -> 2:" in capsys.readouterr().out
    for missing in (["--setting", "bn_groups"], ["--paired-with", str(base)]):
        with pytest.raises(SystemExit) as stop:
            main([str(anchor_run(tmp_path / "again")), "--out", str(out), "--setting-change", str(changed), *missing])
        assert stop.value.code == 2 and "go together" in capsys.readouterr().err
