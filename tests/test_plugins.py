"""Plug-in optimizers ("package.module:Class") train, resume and tune like the registry's.

One is a Keras built-in given as a plug-in (Lion), one is defined in a test
module (tests/plugin_optimizers.py), as a user's own would be.
"""

import json

import pandas as pd
import pytest
from conftest import run_cli

from keras_resnet_opt.cli.train import main as train_main
from keras_resnet_opt.config import make_config
from keras_resnet_opt.training import callbacks
from keras_resnet_opt.training.prepare import initial_learning_rate
from keras_resnet_opt.tuning.options import SearchOptions, search_configs
from keras_resnet_opt.tuning.search import run_search
from keras_resnet_opt.tuning.spaces import search_space

LION = "keras.optimizers:Lion"
SIGN = "plugin_optimizers:SignDescent"


def smoke_args(tmp_path, synthetic_dir, optimizer, *extra):
    return ["--preset", "smoke", "--optimizer", optimizer, "--data-dir", str(synthetic_dir), "--quiet",
            "--output-dir", str(tmp_path / "runs"), "--saved-models-dir", str(tmp_path / "saved"), *extra]


def test_a_keras_optimizer_given_as_a_plugin_trains_with_its_own_default_rate(tmp_path, capsys, synthetic_dir):
    code, out, err = run_cli(capsys, smoke_args(tmp_path, synthetic_dir, LION, "--epochs", "1"))
    assert code == 0, err
    run_dir = tmp_path / "runs" / "smoke-resnet8-keras.optimizers.Lion-s0"  # no ':' in a folder name
    assert f"Finished: {run_dir}" in out
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["initial_learning_rate"] == 0.001  # keras.optimizers.Lion's default
    assert manifest["optimizer_config"]["class"] == "Lion" and manifest["config"]["optimizer"] == LION
    assert (tmp_path / "saved" / run_dir.name / "saved_model.pb").is_file()


def test_a_plugin_from_the_users_module_trains_and_resumes(tmp_path, capsys, monkeypatch, synthetic_dir):
    end = callbacks.Checkpointer.on_epoch_end

    class Interrupted(BaseException):
        pass

    def stop_after_epoch_1(self, epoch, logs=None):
        end(self, epoch, logs)
        if epoch == 0:
            raise Interrupted

    monkeypatch.setattr(callbacks.Checkpointer, "on_epoch_end", stop_after_epoch_1)
    args = smoke_args(tmp_path, synthetic_dir, SIGN, "--lr", "0.005")
    with pytest.raises(Interrupted):
        train_main(args)
    monkeypatch.setattr(callbacks.Checkpointer, "on_epoch_end", end)
    capsys.readouterr()

    # The checkpoint holds an unregistered class: the resume must load it all the same.
    code, out, err = run_cli(capsys, args)
    assert code == 0, err
    run_dir = tmp_path / "runs" / "smoke-resnet8-plugin_optimizers.SignDescent-lr0.005-s0"
    assert out.splitlines()[0] == f"Resuming {run_dir} from epoch 1 of 2"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["resumed_from_epoch"] == 1 and manifest["initial_learning_rate"] == 0.005
    # Each process that trained the run left its leg: where it started and on what.
    legs = manifest["sessions"]
    assert [leg["from_epoch"] for leg in legs] == [0, 1]
    assert all(leg["device"].startswith("CPU") and leg["started"].endswith("+00:00") for leg in legs)
    assert legs == json.loads((run_dir / "sessions.json").read_text())
    assert manifest["optimizer_config"]["class"] == "SignDescent"


@pytest.mark.parametrize(
    "optimizer,message",
    [
        ("plugin_optimizers:NoDefaultRate", "has no default learning rate.*pass --lr"),
        ("no_such_module:Opt", "Cannot import the module of optimizer plug-in 'no_such_module:Opt'"),
        ("plugin_optimizers:Missing", "has no attribute 'Missing'"),
    ],
)
def test_plugin_mistakes_get_one_line_and_write_nothing(tmp_path, capsys, synthetic_dir, optimizer, message):
    import re

    code, _, err = run_cli(capsys, smoke_args(tmp_path, synthetic_dir, optimizer))
    assert code == 2 and "Traceback" not in err
    assert re.search(message, err) and len([line for line in err.splitlines() if line.startswith("error:")]) == 1
    assert not (tmp_path / "runs").exists()


def test_initial_learning_rate_of_a_plugin():
    assert initial_learning_rate(make_config("smoke", optimizer=LION)) == 0.001
    assert initial_learning_rate(make_config("smoke", optimizer=LION, learning_rate=3e-4)) == 3e-4


# --- tuning --------------------------------------------------------------------


def test_plugin_search_spaces():
    low, high, centre = search_space(LION).learning_rate
    assert centre == 0.001 and low == pytest.approx(1e-4) and high == pytest.approx(1e-2)
    low, high, centre = search_space(LION, lr_range=(1e-5, 1e-3)).learning_rate
    assert (low, high, centre) == (1e-5, 1e-3, 1e-4)  # the geometric middle of the range
    assert search_space(SIGN, lr_center=0.02).learning_rate[2] == 0.02
    with pytest.raises(ValueError, match="no default learning rate to centre.*--lr-center, or --lr-min and --lr-max"):
        search_space("plugin_optimizers:NoDefaultRate")
    with pytest.raises(ValueError, match="0 < low < high"):
        search_space(LION, lr_range=(1e-2, 1e-4))
    with pytest.raises(ValueError, match="not a range"):
        search_space(LION, lr_range=(1e-4, 1e-2), lr_points=3)


def test_a_plugin_is_tuned_over_the_range_given_and_trains_with_the_result(tmp_path, synthetic_dir):
    result = run_search(search_configs(LION, "smoke", epochs=1, data_dir=str(synthetic_dir)),
                        SearchOptions(tuner="random", max_trials=2, directory=tmp_path / "tuning", lr_min=1e-4,
                                      lr_max=1e-2))
    assert result.failed == {}
    table = result.trials
    assert list(table["status"]) == ["completed", "completed"]
    assert table["learning_rate"].between(1e-4, 1e-2).all()
    assert (tmp_path / "tuning" / "keras.optimizers.Lion" / "search_definition.json").is_file()
    best = json.loads(result.output.read_text())["best"][LION]
    assert make_config("smoke", hparams=str(result.output), optimizer=LION).learning_rate == best["learning_rate"]
    assert (tmp_path / "tuning" / "lr_sensitivity_keras.optimizers.Lion.png").is_file()
    assert list(pd.read_csv(result.trials_csv)["optimizer"]) == [LION, LION]


def test_search_cli_needs_both_ends_of_a_range(tmp_path, capsys):
    from keras_resnet_opt.cli.search import main

    with pytest.raises(SystemExit) as info:
        main(["--optimizer", LION, "--lr-min", "1e-4", "--directory", str(tmp_path)])
    assert info.value.code == 2
    assert "both --lr-min and --lr-max" in capsys.readouterr().err
