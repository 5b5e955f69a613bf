"""What the command lines say and write, apart from training itself: numbers checked by
flag, files readable like the user's others, output that suits a log file."""

import os
import stat

import pytest

from keras_resnet_opt.atomic import write_json
from keras_resnet_opt.cli import common
from keras_resnet_opt.cli.evaluate import main as evaluate_main
from keras_resnet_opt.cli.search import main as search_main
from keras_resnet_opt.cli.train import main as train_main
from keras_resnet_opt.tuning.search import run_search


def exit_code_and_error(capsys, main, args):
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return info.value.code, err


@pytest.mark.parametrize(
    "main,args,flag",
    [
        (evaluate_main, ["saved_models/x", "--batch-size", "0"], "--batch-size"),
        (search_main, ["--optimizer", "adam", "--tuner", "bayesian", "--initial-points", "-2"], "--initial-points"),
        (search_main, ["--optimizer", "adam", "--max-trials", "0"], "--max-trials"),
        (search_main, ["--optimizer", "adam", "--lr-center", "inf"], "--lr-center"),
        (train_main, ["--optimizer", "sgd", "--lr", "inf"], "--lr"),
        (train_main, ["--optimizer", "sgd", "--lr", "nan"], "--lr"),
        (train_main, ["--optimizer", "sgd", "--epochs", "0"], "--epochs"),
        (train_main, ["--optimizer", "sgd", "--weight-decay", "-1"], "--weight-decay"),
        (train_main, ["--optimizer", "sgd", "--threads", "0"], "--threads"),
    ],
)
def test_bad_numbers_are_refused_naming_the_flag(capsys, main, args, flag):
    code, err = exit_code_and_error(capsys, main, args)
    assert code == 2
    assert f"argument {flag}:" in err.splitlines()[-1]


def test_the_search_api_checks_initial_points_too(tmp_path):
    with pytest.raises(ValueError, match="initial_points.*--initial-points.*>= 1"):
        run_search("adam", tuner="bayesian", initial_points=-2, directory=tmp_path)


@pytest.mark.parametrize("umask,file_mode", [(0o022, 0o644), (0o027, 0o640)])
def test_results_files_follow_the_umask(tmp_path, umask, file_mode):
    old = os.umask(umask)
    try:
        write_json(tmp_path / "manifest.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "manifest.json").stat().st_mode) == file_mode


def test_exports_follow_the_umask(tmp_path):
    import keras

    from keras_resnet_opt.training.export import export_saved_model

    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(inputs)))
    old = os.umask(0o022)
    try:
        path = export_saved_model(model, tmp_path / "export")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert stat.S_IMODE((path / "saved_model.pb").stat().st_mode) == 0o644


def test_progress_is_one_line_per_epoch_unless_on_a_terminal(monkeypatch):
    assert common.progress_verbosity(quiet=True) == 0
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert common.progress_verbosity(quiet=False) == 1
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert common.progress_verbosity(quiet=False) == 2


def test_start_up_noise_is_recognised_and_nothing_else():
    noise = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1796399449.408625   11157 port.cc:153] oneDNN custom operations are on.",
        "I0000 00:00:1796399449.409181   11157 cudart_stub.cc:31] Could not find cuda drivers on your machine.",
        "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow.",
        "E0000 00:00:1796399456.604564   11157 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
    ]
    kept = [
        "E0000 00:00:1796399456.604564   11157 some_op.cc:52] Out of memory while allocating",
        "Traceback (most recent call last):",
        "UserWarning: something the user should see",
    ]
    assert all(common._START_UP_NOISE.match(line) for line in noise)
    assert not any(common._START_UP_NOISE.match(line) for line in kept)


def test_warnings_print_as_one_line(capsys):
    import warnings

    with warnings.catch_warnings():
        common.show_warnings_as_lines()
        warnings.warn("checkpoint 'x' is damaged", UserWarning)
    assert capsys.readouterr().err == "warning: checkpoint 'x' is damaged\n"
