"""End-to-end runs on synthetic data: records, export, divergence, bad input.

Kills, damaged checkpoints and the other faults a run must survive are in test_faults.py.
"""

import contextlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO

from keras_resnet_opt.config import make_config
from keras_resnet_opt.model_card import write_card
from keras_resnet_opt.training.run_folder import COLUMNS
from keras_resnet_opt.training.runner import train


def smoke_config(data_dir, **overrides):
    return make_config("smoke", data_dir=str(data_dir), **overrides)


def run_script(script, *args, env=None):
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *args], capture_output=True, text=True, env=full_env, cwd=REPO
    )


def test_smoke_run_records_everything(tmp_path, synthetic_dir):
    config = smoke_config(synthetic_dir, optimizer="padam")
    result = train(config, tmp_path / "runs", tmp_path / "saved")
    run_dir = result.run_dir
    assert result.status == "finished" and not result.reused
    rows = json.loads((run_dir / "history.json").read_text())
    assert [r["epoch"] for r in rows] == [1, 2]
    header = (run_dir / "history.csv").read_text().splitlines()[0].split(",")
    assert header == list(COLUMNS)
    for row in rows:
        assert row["test_error"] == pytest.approx(1 - row["test_accuracy"])
        assert row["val_accuracy"] is not None and row["images_per_sec"] > 0
    # The preset decays the lr /10 at epoch 1 (smoke: boundaries (1,)).
    assert rows[1]["learning_rate"] == pytest.approx(rows[0]["learning_rate"] / 10, rel=1e-5)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["final"]["test_accuracy"] == rows[-1]["test_accuracy"]
    assert manifest["data"]["source"].startswith("binary") and len(manifest["data"]["checksum"]) == 64
    assert manifest["versions"]["keras"].startswith("3.") and manifest["peak_memory_mib"] > 0
    assert manifest["optimizer_config"]["partial"] == 0.125
    assert json.loads((run_dir / "config.json").read_text()) == config.to_dict()
    assert (run_dir / "model.keras").is_file() and (run_dir / "tensorboard").is_dir()
    assert (result.export_dir / "saved_model.pb").is_file()
    # What the claims report needs: the commit that ran, and per-image test predictions.
    assert set(manifest["code"]) >= {"commit", "dirty"} and set(manifest["threads"]) == {"intra_op", "inter_op"}
    # Everything installed, and no accelerator memory on a CPU-only machine.
    assert manifest["packages"]["tensorflow"] == tf.__version__ and "numpy" in manifest["packages"]
    peaks = manifest["peak_accelerator_memory_mib"]
    assert peaks is None or all(v > 0 for v in peaks.values())
    assert _hparams_logged(run_dir / "tensorboard") == {"optimizer": "padam", "seed": 0}
    predictions, labels = np.load(run_dir / "test_predictions.npy"), np.load(run_dir / "test_labels.npy")
    assert predictions.dtype == labels.dtype == np.uint8 and predictions.shape == labels.shape == (100,)
    assert float(np.mean(predictions == labels)) == pytest.approx(manifest["final"]["test_accuracy"], abs=1e-6)

    # A finished run is reported, not retrained.
    again = train(config, tmp_path / "runs", tmp_path / "saved")
    assert again.reused and again.manifest == manifest


def _hparams_logged(log_dir):
    """The optimizer and seed the run wrote to TensorBoard's HParams plugin, read back from the event files."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    found = {}
    for events in log_dir.rglob("events.out.tfevents.*"):
        acc = event_accumulator.EventAccumulator(str(events.parent), size_guidance={"tensors": 0})
        acc.Reload()
        try:
            contents = acc.PluginTagToContent("hparams").values()
        except KeyError:
            continue  # Keras' train/ and validation/ logs
        for content in contents:
            data = plugin_data_pb2.HParamsPluginData.FromString(content)
            if data.HasField("session_start_info"):
                values = data.session_start_info.hparams
                found = {"optimizer": values["optimizer"].string_value, "seed": int(values["seed"].number_value)}
    return found


def test_export_then_evaluate_matches_model_evaluate(tmp_path, synthetic_dir):
    import keras

    from keras_resnet_opt.data import load_cifar10
    from keras_resnet_opt.data.pipeline import eval_dataset

    result = train(smoke_config(synthetic_dir, optimizer="sgdm"), tmp_path / "runs", tmp_path / "saved")
    model = keras.saving.load_model(result.run_dir / "model.keras")
    data = load_cifar10(str(synthetic_dir), val_size=0)
    expected = model.evaluate(eval_dataset(*data.test, 50), verbose=0, return_dict=True)["accuracy"]
    assert result.manifest["final"]["test_accuracy"] == pytest.approx(expected, abs=1e-6)

    out = run_script("evaluate.py", str(result.export_dir), "--data-dir", str(synthetic_dir), "--json",
                     "--confusion-png", str(tmp_path / "cm.png"))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["accuracy"] == pytest.approx(expected, abs=1e-6)
    assert report["error"] == pytest.approx(1 - expected, abs=1e-6)
    assert set(report["per_class_accuracy"]) == {
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"
    }
    assert sum(map(sum, report["confusion_matrix"])) == 100
    assert (tmp_path / "cm.png").stat().st_size > 1000

    # The model card's numbers are the run's and the export's, and its TensorFlow-only snippet works as written.
    card = write_card(result.run_dir, result.export_dir, evaluation=report, published=(8.75, "He et al. 2016"),
                      trained_on="2026-12-04").read_text()  # fmt: skip
    assert f"**{100 * (1 - expected):.2f}%** (final train loss" in card and "(difference +0.00 pp)" in card
    assert "Published: 8.75% (He et al. 2016)" in card and "finished 2026-12-04" in card
    assert "Not the same test copy" not in card
    # Both evaluate commands the card prints say where the data is, so they run as written.
    assert card.count(f"evaluate.py {result.export_dir} --data-dir ../shared/datasets/cifar10`") == 2
    snippet = card.split("```python\n", 1)[1].split("```", 1)[0]
    images, labels = data.test
    assert images.dtype == np.uint8
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(snippet, {"images": images, "labels": labels})  # noqa: S102 (the card's own code, run as a reader would)
    assert float(printed.getvalue().split(":")[1]) == pytest.approx(1 - expected, abs=1e-6)
    with pytest.raises(FileNotFoundError, match="not a SavedModel folder"):
        write_card(result.run_dir, tmp_path)


def test_diverging_run_stops_keeps_history_and_exits_nonzero(tmp_path, synthetic_dir):
    out = run_script("train.py", "--preset", "smoke", "--optimizer", "sgd", "--lr", "1e12", "--data-dir",
                     str(synthetic_dir), "--quiet", "--output-dir", str(tmp_path / "runs"),
                     "--saved-models-dir", str(tmp_path / "saved"))
    assert out.returncode == 3, out.stderr[-2000:]
    assert "diverged" in out.stderr
    run_dir = next((tmp_path / "runs").iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "diverged" and manifest["diverged_at_epoch"] == 1
    assert len(json.loads((run_dir / "history.json").read_text())) == 1
    assert not (tmp_path / "saved").exists() or not any((tmp_path / "saved").iterdir())


@pytest.mark.parametrize(
    "args,message",
    [
        (["--optimizer", "adagrad-x"], "Unknown optimizer 'adagrad-x'. Valid optimizers: sgd"),
        (["--optimizer", "padam", "--partial", "0.7"], "partial.*\\[0, 0.5\\].*0.7"),
        (["--optimizer", "sgdm", "--partial", "0.25"], "only applies to padam"),
        (["--optimizer", "padam", "--data-dir", "/nonexistent/cifar"], "/nonexistent/cifar.*does not exist"),
        (["--optimizer", "padam", "--model", "vgg"], "Unknown model 'vgg'"),
        (["--optimizer", "padam", "--hparams", "/nonexistent.json"], "does not exist"),
    ],
)
def test_bad_input_gets_a_clear_error(tmp_path, args, message):
    import re

    out = run_script("train.py", "--preset", "smoke", "--quiet", "--output-dir", str(tmp_path), *args)
    assert out.returncode == 2
    assert re.search(message, out.stderr), out.stderr[-2000:]
    assert "Traceback" not in out.stderr


def test_changed_config_in_unfinished_run_dir_is_refused(tmp_path, synthetic_dir):
    # Refused once an epoch has finished (a folder with none is taken over: test_faults.py).
    config = smoke_config(synthetic_dir, optimizer="adam")
    run_dir = tmp_path / "runs" / config.resolved_run_name()
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({**config.to_dict(), "epochs": 99}))
    (run_dir / "history.json").write_text(json.dumps([{"epoch": 1, "loss": 2.0}]))
    with pytest.raises(ValueError, match="different configuration.*epochs.*--force"):
        train(config, tmp_path / "runs", tmp_path / "saved")
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == 99  # untouched


@pytest.mark.parametrize("make_bad", ["missing", "not_saved_model", "keras_file"])
def test_evaluate_rejects_wrong_model_paths(tmp_path, make_bad):
    path = tmp_path / "model"
    if make_bad == "not_saved_model":
        path.mkdir()
    elif make_bad == "keras_file":
        path = tmp_path / "model.keras"
        path.write_bytes(b"zip")
    out = run_script("evaluate.py", str(path))
    assert out.returncode == 2
    assert str(path) in out.stderr and "Traceback" not in out.stderr


def test_evaluate_rejects_wrong_input_shape(tmp_path):
    import keras
    import tensorflow as tf

    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x), input_signature=[tf.TensorSpec((None, 28, 28, 1), tf.float32)])
    archive.write_out(str(tmp_path / "mnist"), verbose=False)
    from keras_resnet_opt.evaluation import ModelLoadError, load_serving_model

    with pytest.raises(ModelLoadError, match="expects inputs of shape"):
        load_serving_model(tmp_path / "mnist")


def test_hparams_file_feeds_the_config(tmp_path):
    path = tmp_path / "best.json"
    path.write_text(json.dumps({"best": {"padam": {"learning_rate": 0.05, "partial": 0.25}}}))
    config = make_config("smoke", hparams=path, optimizer="padam")
    assert (config.learning_rate, config.partial) == (0.05, 0.25)
    # Explicit flags win over the file.
    assert make_config("smoke", hparams=path, optimizer="padam", partial=0.0625).partial == 0.0625
    # Other optimizers are untouched.
    assert make_config("smoke", hparams=path, optimizer="adam").learning_rate is None


def test_no_augmentation_and_no_validation_split_run(tmp_path, synthetic_dir):
    # The seed-protocol arm trains without augmentation; he2016 without a validation split.
    config = smoke_config(synthetic_dir, optimizer="sgdm", augment=False, val_size=0, epochs=1)
    result = train(config, tmp_path / "runs", tmp_path / "saved")
    rows = result.history
    assert result.status == "finished" and rows[0].get("val_accuracy") is None
    assert result.manifest["data"]["val_images"] == 0 and result.manifest["config"]["augment"] is False


def test_batch_norm_over_parts_of_the_batch_trains_and_is_recorded(tmp_path, synthetic_dir):
    import keras

    from keras_resnet_opt.models.batch_norm import FusedBatchNormalization

    result = train(smoke_config(synthetic_dir, optimizer="sgdm", epochs=1, bn_groups=2), tmp_path / "r", tmp_path / "s")
    assert result.status == "finished"
    assert json.loads((result.run_dir / "config.json").read_text())["bn_groups"] == 2
    model = keras.saving.load_model(result.run_dir / "model.keras", compile=False)
    groups = {layer.groups for layer in model.layers if isinstance(layer, FusedBatchNormalization)}
    assert groups == {2}
    # A split that leaves a part of a batch uneven is refused before anything runs, naming the fix.
    with pytest.raises(ValueError, match=r"`bn_groups`=3 must divide every training batch: batch_size=32"):
        smoke_config(synthetic_dir, bn_groups=3)
    with pytest.raises(ValueError, match="synchronised across the real ones"):
        smoke_config(synthetic_dir, bn_groups=2, strategy="mirrored")
    # The config checks CIFAR-10's size (280 fit); the data loaded (236 training images: all there are) again.
    uneven = smoke_config(synthetic_dir, optimizer="sgdm", epochs=1, bn_groups=8, train_subset=280)
    with pytest.raises(ValueError, match=r"the last batch of an epoch, 12 of 236 training images"):
        train(uneven, tmp_path / "r2", tmp_path / "s2")


def test_the_model_card_times_every_session_of_a_resumed_run(tmp_path):
    """A run resumed at epoch 2: the card sums all its epochs' times, and still names the last session's part."""
    from run_dirs import write_run_dir

    from keras_resnet_opt.model_card import _time_line

    manifest = {"wall_time_s": 1800.0, "resumed_from_epoch": 2}
    run = write_run_dir(tmp_path / "r", {}, [{"epoch": e, "epoch_time_s": 1800.0} for e in (1, 2, 3)], manifest)
    line = _time_line(run, manifest)
    assert line.startswith("- Training time 1.5 h over every session, the sum of its 3 epochs' wall times")
    assert "the last session, resumed from epoch 2, took 0.5 h from start to export" in line
    write_run_dir(run, {}, [{"epoch": 1}, {"epoch": 2, "epoch_time_s": 1800.0}], manifest)  # an untimed epoch
    assert _time_line(run, manifest).startswith("- Wall time: the last session, resumed from epoch 2, took 0.5 h")
    one_session = {"wall_time_s": 7200.0, "resumed_from_epoch": 0}  # the manifest times the whole run
    assert _time_line(run, one_session).startswith("- Wall time 2.0 h in one session (start-up, training,")
