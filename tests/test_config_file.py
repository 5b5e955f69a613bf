"""``--config FILE``: RunConfig fields from JSON or TOML, overridden by the flags given, checked by key and type."""

import json

import pytest

from keras_resnet_opt.cli.train import build_parser, config_from_args
from keras_resnet_opt.cli.train import main as train_main
from keras_resnet_opt.config import make_config
from keras_resnet_opt.config_file import load_config_file


def resolve(*argv):
    return config_from_args(build_parser().parse_args(list(argv)))


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_json_file_sets_fields_flags_have_none_for(tmp_path):
    path = write(tmp_path, "run.json", json.dumps({"preset": "he2016", "epochs": 30, "lr_boundaries": [15, 22.5]}))
    config = resolve("--config", path)
    assert config.preset == "he2016" and config.epochs == 30 and config.lr_boundaries == (15, 22.5)
    assert config.optimizer == "sgdm" and config.learning_rate == 0.1  # the rest is the preset's
    assert config == make_config("he2016", epochs=30, lr_boundaries=(15, 22.5))


def test_a_toml_file_reads_the_same(tmp_path):
    path = write(tmp_path, "run.toml", 'preset = "smoke"\noptimizer = "adam"\nlearning_rate = 0.01\naugment = false\n')
    config = resolve("--config", path)
    assert (config.preset, config.optimizer, config.learning_rate, config.augment) == ("smoke", "adam", 0.01, False)


def test_flags_given_override_the_file_and_the_file_overrides_the_preset(tmp_path):
    path = write(tmp_path, "run.json", json.dumps({"preset": "smoke", "optimizer": "adam", "seed": 4, "epochs": 3}))
    config = resolve("--config", path, "--seed", "7", "--preset", "cpu-quick")
    assert (config.preset, config.seed) == ("cpu-quick", 7)  # the flags
    assert (config.optimizer, config.epochs) == ("adam", 3)  # the file, over cpu-quick's 8 epochs
    assert config.train_subset == 5000  # cpu-quick's, which the file does not set
    assert resolve().preset == "cpu-quick"  # neither flag nor file: the default preset


def test_the_file_overrides_tuned_hparams(tmp_path):
    hparams = write(tmp_path, "best.json", json.dumps({"best": {"adam": {"learning_rate": 0.003}}}))
    path = write(tmp_path, "run.json", json.dumps({"optimizer": "adam", "learning_rate": 0.02}))
    assert resolve("--hparams", hparams).learning_rate is None  # padam: nothing tuned for it
    assert resolve("--hparams", hparams, "--optimizer", "adam").learning_rate == 0.003
    assert resolve("--hparams", hparams, "--config", path).learning_rate == 0.02


def test_null_means_not_set(tmp_path):
    path = write(
        tmp_path, "run.json", json.dumps({"preset": "seed-protocol", "optimizer": "adam", "learning_rate": None})
    )
    assert resolve("--config", path).learning_rate == 0.001  # the preset's


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("run.json", '{"lr": 0.1}', "unknown key 'lr'.*Valid fields: preset, model, optimizer"),
        ("run.toml", 'learning_rat = 0.1', "unknown key 'learning_rat' \\(did you mean 'learning_rate'\\?\\)"),
        ("run.json", '{"epochs": "8"}', "`epochs` must be an integer. Received: epochs='8'"),
        ("run.json", '{"epochs": 8.5}', "`epochs` must be an integer"),
        ("run.json", '{"augment": 1}', "`augment` must be true or false"),
        ("run.json", '{"lr_boundaries": [1, "x"]}', "`lr_boundaries` must be a list of numbers"),
        ("run.json", '{"epochs": 8,}', "is not valid JSON"),
        ("run.toml", 'epochs = ', "is not valid TOML"),
        ("run.json", '[1, 2]', "one table of RunConfig fields"),
        ("run.yaml", 'epochs: 8', "must end in .json or .toml"),
    ],
)
def test_bad_files_are_refused_in_one_line_naming_the_problem(tmp_path, name, text, message):
    path = write(tmp_path, name, text)
    with pytest.raises(ValueError, match=message) as info:
        load_config_file(path)
    assert "\n" not in str(info.value) and path in str(info.value)


def test_values_are_checked_like_flags_after_the_merge(tmp_path):
    path = write(tmp_path, "run.json", json.dumps({"epochs": 0}))
    with pytest.raises(ValueError, match="`epochs` must be >= 1"):
        resolve("--config", path)


def test_the_command_refuses_a_missing_file_and_an_unknown_key_with_exit_2(tmp_path, capsys):
    for path, message in (
        (str(tmp_path / "nope.toml"), "does not exist"),
        (write(tmp_path, "run.json", '{"optimiser": "adam"}'), "unknown key 'optimiser' (did you mean 'optimizer'?)"),
    ):
        with pytest.raises(SystemExit) as info:
            train_main(["--config", path, "--output-dir", str(tmp_path / "runs")])
        err = capsys.readouterr().err
        assert info.value.code == 2 and "Traceback" not in err
        assert err.startswith("error: --config file") and message in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()
