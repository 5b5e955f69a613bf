"""The benchmark scripts still run against the current code (tiny sizes; no timing asserted)."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def _run(script, *args, env=None):
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        capture_output=True, text=True, cwd=REPO, timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    # The summary is the last JSON object printed at the start of a line.
    return json.loads(out.stdout[out.stdout.rfind("\n{") + 1:])


def test_throughput_reports_full_path_and_bare_keras(tmp_path):
    summary = _run("throughput.py", "--models", "resnet8", "--images", "64", "--epochs", "2", "--repeats", "1",
                   "--batch-size", "32", "--json")
    assert summary["keras_backend"] == "tensorflow"
    (row,) = summary["results"]
    assert row["model"] == "resnet8"
    assert row["full_path_images_per_s"] > 0 and row["bare_keras_images_per_s"] > 0
    assert row["ratio_full_over_bare"] == pytest.approx(
        row["full_path_images_per_s"] / row["bare_keras_images_per_s"], rel=0.01
    )


@pytest.mark.parametrize("onednn", [None, "1"], ids=["tf-default", "onednn-forced"])
def test_data_layout_times_both_layouts(onednn):
    env = {} if onednn is None else {"TF_ENABLE_ONEDNN_OPTS": onednn}
    summary = _run("data_layout.py", "--images", "64", "--epochs", "2", "--repeats", "1", "--batch-size", "32",
                   env=env)
    assert set(summary["images_per_s"]) == {"channels_last", "channels_first"}
    assert summary["images_per_s"]["channels_last"] > 0
    if onednn == "1" and summary["onednn"] is not None:
        assert summary["onednn"] is True  # the variable turns TensorFlow's oneDNN kernels on, and the run says so
    if summary["onednn"] is False and "channels_first" in summary["unsupported"]:
        # TensorFlow's own CPU kernels train channels-last only: said, not timed, no ratio.
        assert "NHWC" in summary["unsupported"]["channels_first"]
        assert summary["images_per_s"]["channels_first"] is None and summary["ratio_first_over_last"] is None
    else:
        assert summary["unsupported"] == {} and summary["images_per_s"]["channels_first"] > 0


def test_campaign_throughput_reports_both_configurations(tmp_path):
    path = tmp_path / "campaign.json"
    summary = _run("campaign_throughput.py", "--model", "resnet8", "--images", "32", "--epochs", "2",
                   "--batch-size", "16", "--repeats", "1", "--precisions", "float32", "--json", str(path))
    assert json.loads(path.read_text()) == summary
    rows = {(r["processes"], r["threads_each"], r["precision"]): r for r in summary["results"]}
    assert set(rows) == {(1, 2, "float32"), (2, 1, "float32")}
    assert all(r["total_images_per_s"] > 0 and r["per_process_images_per_s"] > 0 for r in rows.values())


def test_profile_attributes_op_time_and_the_fused_batch_norm_runs(tmp_path):
    path = tmp_path / "profile.json"
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "profile_step.py"), "--precision", "float32", "--steps", "2",
         "--warmup", "1", "--batch-size", "16", "--no-torch", "--json", str(path)],
        capture_output=True, text=True, cwd=REPO, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "| step wall time (unprofiled) |" in out.stdout
    tf_side = json.loads(path.read_text())["TensorFlow/Keras"]
    assert tf_side["categories"]["conv forward"] > 0 and tf_side["categories"]["batch norm backward"] > 0
    # The models' batch norm runs TensorFlow's fused kernel (forward and gradient), not Keras' separate ops.
    op_types = {name.rsplit(":", 1)[1] for name in tf_side["ops"]}
    assert any("FusedBatchNorm" in t and "Grad" not in t for t in op_types)
    assert any("FusedBatchNormGrad" in t for t in op_types)
    assert "SquaredDifference" not in op_types


def test_bn_groups_times_each_group_count_per_step_and_layer_alone(tmp_path):
    path = tmp_path / "bn_groups.json"
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bn_groups.py"), "--model", "resnet8", "--images", "96",
         "--batch-size", "32", "--repeats", "1", "--layer-rounds", "1", "--json", str(path)],
        capture_output=True, text=True, cwd=REPO, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    record = json.loads(path.read_text())
    for figures in (record["images_per_s"], record["layer_ms"]):
        assert set(figures) == {"1", "2"} and all(len(v) == 1 and v[0] > 0 for v in figures.values())
    assert "| 2 |" in out.stdout
    refused = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bn_groups.py"), "--groups", "1,3", "--batch-size", "32"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert refused.returncode == 2 and "do not split --batch-size 32" in refused.stderr
