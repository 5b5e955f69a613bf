"""Hyperparameter search: spaces, every tuner on synthetic data, resume, outputs, no test split.

Each search is a ResNet-8 on 128 synthetic images ("smoke" preset), 1-3 trials
of 1-2 epochs; most of a trial's time is tracing the train function.
"""

import json
import math

import numpy as np
import pandas as pd
import pytest

from keras_resnet_opt.cli.search import main
from keras_resnet_opt.config import make_config
from keras_resnet_opt.optimizers import list_optimizers, optimizer_defaults
from keras_resnet_opt.search_files import TRIAL_COLUMNS
from keras_resnet_opt.training import prepare as prepare_module
from keras_resnet_opt.tuning import hypermodel as hypermodel_module
from keras_resnet_opt.tuning import outputs
from keras_resnet_opt.tuning.definition import (
    SearchDefinitionChanged,
    SearchReplaced,
    check_definition,
    search_definition,
)
from keras_resnet_opt.tuning.hypermodel import ResNetHyperModel
from keras_resnet_opt.tuning.options import SearchOptions, search_configs
from keras_resnet_opt.tuning.search import run_search
from keras_resnet_opt.tuning.spaces import LR_SPAN, PARTIAL_GRID, grid_learning_rates, search_space
from keras_resnet_opt.tuning.tuners import distributed_role, trial_strategy


def _search(synthetic_dir, tmp_path, optimizer, epochs=1, train_subset=None, **options):
    """A search on the smoke preset, one epoch per trial unless told otherwise."""
    configs = search_configs(optimizer, "smoke", epochs=epochs, train_subset=train_subset, data_dir=str(synthetic_dir))
    return run_search(configs, SearchOptions(directory=tmp_path / "runs", **options), verbose=0)


def _completed(table):
    return table[table["status"] == "completed"]


# --- spaces (no training) ---------------------------------------------------


@pytest.mark.parametrize("name", list_optimizers())
def test_every_space_is_centred_on_the_registry_default(name):
    space = search_space(name)
    default = optimizer_defaults(name)["learning_rate"]
    low, high, centre = space.learning_rate
    assert centre == default
    assert math.isclose(low, default / LR_SPAN) and math.isclose(high, default * LR_SPAN)
    grid = grid_learning_rates(low, high, centre)
    assert default in grid and len(grid) == 5 and list(grid) == sorted(grid)
    if "partial" in optimizer_defaults(name):
        assert space.partial == (PARTIAL_GRID, optimizer_defaults(name)["partial"])
    else:
        assert space.partial is None
    assert space.weight_decay is None  # only behind the flag
    wd = search_space(name, tune_weight_decay=True).weight_decay
    assert wd[2] == optimizer_defaults(name)["weight_decay"] and wd[0] < wd[2] < wd[1]


def test_padam_partial_grid_is_the_papers_plus_amsgrad_end():
    assert PARTIAL_GRID == (1 / 16, 1 / 8, 1 / 4, 1 / 2)


def test_unknown_optimizer_and_tuner_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="Valid optimizers: .*padam"):
        search_space("lion")
    with pytest.raises(ValueError, match="Valid optimizers"):
        search_configs("lion", "smoke")
    with pytest.raises(ValueError, match="Valid tuners: random, bayesian, hyperband, grid"):
        run_search(search_configs("adam", "smoke"), SearchOptions(tuner="tpe", directory=tmp_path))
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_search_configs_follow_the_preset_per_optimizer():
    configs = search_configs("all", "cpu-budget", epochs=2, seed=3)
    assert [c.optimizer for c in configs] == list(list_optimizers())
    assert {c.optimizer: c.weight_decay for c in configs}["adamw"] == 0.5  # the preset's per-optimizer entry
    assert {c.epochs for c in configs} == {2} and {c.seed for c in configs} == {3}
    with pytest.raises(ValueError, match="share their data and strategy; `train_subset`"):
        run_search([make_config("smoke", optimizer="adam"), make_config("smoke", optimizer="sgd", train_subset=64)])
    with pytest.raises(ValueError, match="searched once"):
        run_search([make_config("smoke", optimizer="adam")] * 2)


def test_unknown_strategy_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ValueError, match="Valid strategies: default, mirrored, multiworker"):
        search_configs("adam", "smoke", strategy="horovod")
    with pytest.raises(SystemExit) as info:
        main(["--optimizer", "adam", "--strategy", "horovod", "--directory", str(tmp_path)])
    assert info.value.code == 2
    assert "invalid choice: 'horovod'" in capsys.readouterr().err


def test_default_strategy_and_a_chief_create_no_strategy():  # mirrored: test_tuning_distributed.py
    # The chief serves the oracle and never trains: a strategy there would only take the workers' GPUs.
    assert trial_strategy("default") is None
    assert trial_strategy("mirrored", role="chief") is None


def test_strategy_does_not_define_a_search_and_old_definitions_resume(tmp_path):
    space = search_space("adam")
    single = search_definition(make_config("smoke", optimizer="adam"), space, "random")
    mirrored = search_definition(make_config("smoke", optimizer="adam", strategy="mirrored"), space, "random")
    assert single == mirrored and "strategy" not in single["run"]
    # A project written when the strategy was still part of the definition resumes.
    old = json.loads(json.dumps(single))
    old["run"]["strategy"] = "default"
    (tmp_path / "search_definition.json").write_text(json.dumps(old))
    check_definition(tmp_path, mirrored)


def test_cli_reports_bad_settings_without_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--optimizer", "adam", "--tuner", "tpe", "--directory", str(tmp_path)])
    assert info.value.code == 2
    assert "Valid tuners" in capsys.readouterr().err


def test_distributed_environment_is_checked(monkeypatch, tmp_path):
    for var in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        monkeypatch.delenv(var, raising=False)
    assert distributed_role() is None
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    with pytest.raises(ValueError, match="KERASTUNER_ORACLE_PORT, KERASTUNER_TUNER_ID"):
        distributed_role()
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert distributed_role() == "chief"
    with pytest.raises(ValueError, match="one optimizer per run"):
        run_search(search_configs("all", "smoke"), SearchOptions(directory=tmp_path))
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner1")
    assert distributed_role() == "worker"


# --- searches -------------------------------------------------------------------


def test_random_search_cli_writes_hparams_that_train_py_reads(synthetic_dir, tmp_path, capsys):
    output = tmp_path / "results" / "best.json"
    code = main([
        "--optimizer", "padam", "--tuner", "random", "--max-trials", "2", "--epochs", "1", "--preset", "smoke",
        "--data-dir", str(synthetic_dir), "--directory", str(tmp_path / "runs"), "--output", str(output), "--quiet",
    ])
    assert code == 0
    assert "padam: best val accuracy" in capsys.readouterr().out

    best = json.loads(output.read_text())["best"]["padam"]
    assert set(best) == {"learning_rate", "partial", "weight_decay"}
    assert best["weight_decay"] is None  # not tuned: train.py keeps its default
    assert best["partial"] in PARTIAL_GRID
    low, high, _ = search_space("padam").learning_rate
    assert low <= best["learning_rate"] <= high

    config = make_config("smoke", hparams=str(output), optimizer="padam")
    assert (config.learning_rate, config.partial, config.weight_decay) == (best["learning_rate"], best["partial"], None)

    table = pd.read_csv(output.parent / "trials.csv", dtype={"trial_id": str})
    assert list(table.columns) == list(TRIAL_COLUMNS)
    assert list(table["trial_id"]) == ["0", "1"] and set(table["status"]) == {"completed"}
    assert list(table["replicas"]) == [1, 1]  # no --strategy: one device
    assert table["val_accuracy"].between(0, 1).all()
    top = table.loc[table["val_accuracy"].idxmax()]
    assert json.loads(output.read_text())["searches"]["padam"]["val_accuracy"] == pytest.approx(top["val_accuracy"])
    for name in ("lr_sensitivity_padam.png", "partial_sensitivity_padam.png"):
        assert (output.parent / name).stat().st_size > 0
    assert not (tmp_path / "runs" / "best_hparams.json").exists()  # --output moved it
    # Keras Tuner logged each trial (curves and HParams) under the project's tensorboard/.
    boards = {p.relative_to(tmp_path / "runs" / "padam" / "tensorboard").parts[0]
              for p in (tmp_path / "runs" / "padam" / "tensorboard").rglob("events.out.tfevents.*")}
    assert boards == {"0", "1"}


def test_bayesian_search_never_touches_the_test_split(synthetic_dir, tmp_path, monkeypatch):
    real_load = prepare_module.load_cifar10
    loads, evaluated = [], []

    class WithoutTest:
        def __init__(self, data):
            self.train, self.val, self.source, self.checksum = data.train, data.val, data.source, data.checksum

        @property
        def test(self):
            raise AssertionError("the test split was used by the search")

    def load_without_test(*args, **kwargs):
        loads.append(kwargs)
        return WithoutTest(real_load(*args, **kwargs))

    real_eval = hypermodel_module.eval_dataset

    def recording_eval(images, labels, batch_size, **kwargs):
        evaluated.append(len(images))
        return real_eval(images, labels, batch_size, **kwargs)

    monkeypatch.setattr(prepare_module, "load_cifar10", load_without_test)
    monkeypatch.setattr(hypermodel_module, "eval_dataset", recording_eval)
    # One random point, then one proposed by the Gaussian process.
    result = _search(synthetic_dir, tmp_path, "adam", tuner="bayesian", max_trials=2, initial_points=1)

    assert result.failed == {}
    assert list(result.trials["status"]) == ["completed", "completed"]
    assert result.trials["learning_rate"].nunique() == 2
    assert len(loads) == 1 and loads[0]["val_size"] == 64  # one load for the search, the smoke validation split
    assert evaluated == [64, 64]  # every evaluation is on the 64 validation images
    assert "adam" in json.loads(result.output.read_text())["best"]


def test_grid_search_starts_at_the_defaults_and_can_tune_weight_decay(synthetic_dir, tmp_path):
    result = _search(synthetic_dir, tmp_path, "adam", tuner="grid", max_trials=2, tune_weight_decay=True)

    defaults = optimizer_defaults("adam")
    table = result.trials
    assert list(table["status"]) == ["completed", "completed"]
    first, second = table.iloc[0], table.iloc[1]
    assert (first["learning_rate"], first["weight_decay"]) == (defaults["learning_rate"], defaults["weight_decay"])
    assert second["learning_rate"] == defaults["learning_rate"]  # the grid moves the last hyperparameter first
    assert second["weight_decay"] != defaults["weight_decay"]
    best = result.best["adam"]
    config = make_config("smoke", hparams=str(result.output), optimizer="adam")
    assert best["weight_decay"] is not None
    assert config.weight_decay == best["weight_decay"]


# Keras Tuner continues a Hyperband trial from the parent's weights with a new optimizer,
# so Keras says it skips the saved optimizer variables.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_hyperband_continues_the_best_trial_with_more_epochs(synthetic_dir, tmp_path):
    # max_epochs 2, factor 2: two 1-epoch trials, then the better one trained to epoch 2.
    result = _search(synthetic_dir, tmp_path, "adam", tuner="hyperband", epochs=2, hyperband_factor=2, max_trials=3)

    table = result.trials
    assert len(table) == 3 and set(table["status"]) == {"completed"}
    assert list(table["epochs"]) == [1, 1, 2]
    first_round = table.iloc[:2]
    best_first = first_round.loc[first_round["val_accuracy"].idxmax()]
    assert table.iloc[2]["learning_rate"] == best_first["learning_rate"]
    assert "adam" in result.best


def test_rerun_resumes_and_a_changed_definition_is_refused(synthetic_dir, tmp_path, monkeypatch):
    fits = []
    real_fit = ResNetHyperModel.fit

    def counting_fit(self, hp, model, *args, **kwargs):
        fits.append(hp.values["learning_rate"])
        return real_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(ResNetHyperModel, "fit", counting_fit)

    first = _search(synthetic_dir, tmp_path, "adam", max_trials=1)  # the "interrupted" search
    assert len(first.trials) == 1 and len(fits) == 1
    second = _search(synthetic_dir, tmp_path, "adam", max_trials=2)  # same command, larger budget
    assert len(fits) == 2, "the finished trial was run again"
    assert len(second.trials) == 2
    pd.testing.assert_series_equal(second.trials.iloc[0], first.trials.iloc[0], check_names=False)
    assert fits[1] == second.trials.iloc[1]["learning_rate"] != fits[0]

    for changed, field in (
        (dict(tune_weight_decay=True), "space.weight_decay"),
        (dict(epochs=2), "run.epochs"),
        (dict(tuner="bayesian"), "tuner"),
        (dict(train_subset=100), "run.train_subset"),
    ):
        with pytest.raises(SearchDefinitionChanged, match=rf"different definition \(changed: .*{field}"):
            _search(synthetic_dir, tmp_path, "adam", max_trials=2, **changed)
    assert len(fits) == 2

    restarted = _search(synthetic_dir, tmp_path, "adam", max_trials=1, tune_weight_decay=True, overwrite=True)
    assert len(fits) == 3
    assert len(restarted.trials) == 1 and not np.isnan(restarted.trials.iloc[0]["weight_decay"])


def test_directory_without_definition_is_refused(synthetic_dir, tmp_path):
    project = tmp_path / "runs" / "adam"
    project.mkdir(parents=True)
    (project / "oracle.json").write_text("{}")
    with pytest.raises(SearchDefinitionChanged, match="without search_definition.json"):
        _search(synthetic_dir, tmp_path, "adam", max_trials=1)


def test_outputs_of_separate_searches_merge(tmp_path):
    table = pd.DataFrame([
        {"optimizer": "padam", "trial_id": "0", "learning_rate": 0.1, "partial": 0.125, "weight_decay": None,
         "val_accuracy": 0.5, "status": "completed", "epochs": 1, "tuner_id": "tuner0"},
    ], columns=list(TRIAL_COLUMNS))
    path = tmp_path / "best.json"
    outputs.write_best_hparams(path, {"padam": {"learning_rate": 0.1, "partial": 0.125, "weight_decay": None}}, {})
    outputs.write_best_hparams(path, {"adam": {"learning_rate": 0.002, "partial": None, "weight_decay": None}}, {})
    assert set(json.loads(path.read_text())["best"]) == {"padam", "adam"}
    assert make_config("smoke", hparams=str(path), optimizer="adam").learning_rate == 0.002
    # A replayed search, from another clone and commit too, keeps its record as first written; a changed one
    # gets its new record.
    record = {"best_trial": "0", "val_accuracy": 0.5, "written": "2026-01-01T00:00:00+00:00", "threads": 1,
              "code": {"commit": "4f98e4a", "dirty": False, "path": "/root/kro/code"}}
    best = {"padam": {"learning_rate": 0.1, "partial": 0.125, "weight_decay": None}}
    outputs.write_best_hparams(path, best, {"padam": record})
    replay = {**record, "written": "2026-02-02T00:00:00+00:00", "threads": 2,
              "code": {"commit": "e517541", "dirty": True, "path": "/root/kro/code-2"}}
    outputs.write_best_hparams(path, best, {"padam": replay})
    assert json.loads(path.read_text())["searches"]["padam"] == record
    outputs.write_best_hparams(path, best, {"padam": {**record, "val_accuracy": 0.6, "written": "2026-03-03"}})
    assert json.loads(path.read_text())["searches"]["padam"] == {**record, "val_accuracy": 0.6, "written": "2026-03-03"}

    csv = tmp_path / "trials.csv"
    outputs.write_trials_table(csv, table, ["padam"])
    adam = table.assign(optimizer="adam", partial=None, learning_rate=0.002)
    _, merged = outputs.write_trials_table(csv, adam, ["adam"])
    assert list(merged["optimizer"]) == ["adam", "padam"]  # registry order
    _, merged = outputs.write_trials_table(csv, adam.assign(val_accuracy=0.7), ["adam"])
    assert len(merged) == 2 and merged.loc[merged["optimizer"] == "adam", "val_accuracy"].item() == 0.7


def test_a_wrong_data_folder_fails_before_anything_is_written(tmp_path):
    from keras_resnet_opt.data import DataError

    with pytest.raises(DataError, match="does not exist"):
        run_search(search_configs("adam", "smoke", epochs=1, data_dir=str(tmp_path / "missing")),
                   SearchOptions(directory=tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()


def test_a_project_without_a_finished_trial_is_replaced_not_refused(synthetic_dir, tmp_path):
    # What a start that failed inside its first trial leaves: a definition and no finished work.
    project = tmp_path / "runs" / "adam"
    project.mkdir(parents=True)
    stale = search_definition(make_config("smoke", optimizer="adam", epochs=7), search_space("adam"), "random")
    (project / "search_definition.json").write_text(json.dumps(stale))
    (project / "trial_0").mkdir()
    (project / "trial_0" / "trial.json").write_text(json.dumps({"status": "FAILED"}))

    with pytest.warns(SearchReplaced, match="never finished a trial.*run.epochs"):
        result = _search(synthetic_dir, tmp_path, "adam", max_trials=1)
    assert list(result.trials["status"]) == ["completed"]
    stored = json.loads((project / "search_definition.json").read_text())
    assert stored["run"]["epochs"] == 1
