"""What the command lines say and write, apart from training itself: numbers checked by
flag, files readable like the user's others, output that suits a log file."""

import argparse
import os
import stat

import pytest

from keras_resnet_opt.atomic import write_json
from keras_resnet_opt.cli import common
from keras_resnet_opt.cli.evaluate import main as evaluate_main
from keras_resnet_opt.cli.search import main as search_main
from keras_resnet_opt.cli.train import main as train_main
from keras_resnet_opt.optimizer_names import OPTIMIZER_NAMES
from keras_resnet_opt.tuning.options import SearchOptions


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


def test_the_search_api_checks_initial_points_too():
    with pytest.raises(ValueError, match="initial_points.*--initial-points.*>= 1"):
        SearchOptions(tuner="bayesian", initial_points=-2).validate()


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


# Every command: its keras_resnet_opt.cli module, its console script (setup.cfg) and its script shell.
COMMANDS = {
    "train": ("kro-train", "scripts/train.py"),
    "evaluate": ("kro-evaluate", "scripts/evaluate.py"),
    "compare": ("kro-compare", "scripts/compare.py"),
    "report": ("kro-report", "scripts/report.py"),
    "search": ("kro-search", "tuning/search.py"),
    "campaign": ("kro-campaign", "scripts/campaign.py"),
    "anchor": ("kro-anchor-report", "scripts/anchor_report.py"),
    "jpeg_sensitivity": ("kro-jpeg-sensitivity", "scripts/jpeg_sensitivity.py"),
    "jpeg_copy": ("kro-jpeg-copy", "scripts/jpeg_copy.py"),
    "lr_decay_check": ("kro-lr-decay-check", "scripts/lr_decay_check.py"),
}
# Options whose values are a fixed list, named by dest.
FIXED_VALUES = ("preset", "tuner", "precision", "strategy", "lr_schedule", "lr_scaling", "learning_rates")


def _parser(module):
    import importlib

    return importlib.import_module(f"keras_resnet_opt.cli.{module}").build_parser()


def test_every_command_is_installed_and_its_shell_only_calls_its_main():
    import configparser

    from conftest import REPO

    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    scripts = dict(
        line.split(" = ") for line in setup["options.entry_points"]["console_scripts"].strip().splitlines()
    )
    assert scripts == {command: f"keras_resnet_opt.cli.{module}:main" for module, (command, _) in COMMANDS.items()}
    for module, (_, shell) in COMMANDS.items():
        text = (REPO / shell).read_text()
        assert f"from keras_resnet_opt.cli.{module} import main\n" in text and "sys.path" not in text
        assert text.rstrip().endswith('if __name__ == "__main__":\n    raise SystemExit(main())')


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_every_option_has_help_that_says_its_default(module):
    parser = _parser(module)
    formatter = common.HelpFormatter(parser.prog)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{module}: {action.option_strings or action.dest} has no help"
        takes_value = action.option_strings and action.nargs != 0
        if takes_value and not action.required:
            assert "default" in formatter._get_help_string(action), (
                f"{module}: {action.option_strings} hides its default"
            )
        if action.dest in FIXED_VALUES:
            assert action.choices, f"{module}: {action.option_strings} has fixed values but no choices"


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_every_help_lists_the_exit_codes(module):
    text = _parser(module).format_help()
    epilog = text[text.index("exit codes:"):]
    assert f"  {common.EXIT_OK}  " in epilog and f"  {common.EXIT_BAD_INPUT}  bad input" in epilog
    assert (f"  {common.EXIT_DIVERGED}  " in epilog) == (module == "train")


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_help_loads_no_heavy_library(module):
    # What keeps every --help well under a second: nothing it imports loads TensorFlow, Keras, pandas,
    # SciPy or matplotlib (each takes from 0.3 s to several seconds to import).
    import subprocess
    import sys

    probe = (
        "import sys, contextlib, io\n"
        f"from keras_resnet_opt.cli.{module} import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'pandas', 'scipy', 'matplotlib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_search_reads_a_config_file_under_its_flags(tmp_path):
    from keras_resnet_opt.cli.search import build_parser, search_settings

    path = tmp_path / "trials.toml"
    path.write_text('preset = "smoke"\nepochs = 3\nseed = 5\nlr_boundaries = [2]\n')
    args = build_parser().parse_args(["--optimizer", "all", "--config", str(path), "--seed", "6", "--max-trials", "4"])
    configs, options = search_settings(args)
    assert [c.optimizer for c in configs] == list(OPTIMIZER_NAMES)
    assert {(c.preset, c.epochs, c.seed, c.lr_boundaries) for c in configs} == {("smoke", 3, 6, (2,))}
    assert (options.tuner, options.max_trials) == ("random", 4)
    path.write_text('optimizer = "adam"\n')
    with pytest.raises(ValueError, match="takes it from --optimizer"):
        search_settings(build_parser().parse_args(["--optimizer", "sgd", "--config", str(path)]))


def test_the_lock_writer_answers_help_without_running_pip(monkeypatch, capsys):
    import runpy
    import subprocess

    from conftest import REPO

    main = runpy.run_path(str(REPO / "scripts" / "write_lock.py"))["main"]
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("pip ran for --help"))
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0 and "requirements.lock" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        main(["--output", "x"])
    assert stop.value.code == 2 and "unrecognized arguments: --output" in capsys.readouterr().err
