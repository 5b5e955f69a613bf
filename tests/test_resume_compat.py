"""Runs and searches written by older versions still resume, and a checkpoint whose
optimizer class is not what this version builds is refused with a clear error."""

import json

import keras
import pytest

from keras_resnet_opt.config import NOT_DEFINING, make_config
from keras_resnet_opt.optimizers import make_optimizer
from keras_resnet_opt.training import prepare, run_folder
from keras_resnet_opt.tuning import definition as definition_module


def _old_config_dict(config):
    """config.json as written before `lr_scaling` existed."""
    d = config.to_dict()
    del d["lr_scaling"]
    return d


def test_a_run_config_without_a_newer_field_still_matches(tmp_path):
    config = make_config("smoke", optimizer="sgdm")
    (tmp_path / run_folder.CONFIG).write_text(json.dumps(_old_config_dict(config)))
    run_folder.check_same_run(tmp_path, config, "an unfinished run")  # no error


def test_a_changed_field_is_named(tmp_path):
    config = make_config("smoke", optimizer="sgdm")
    (tmp_path / run_folder.CONFIG).write_text(json.dumps(_old_config_dict(config)))
    with pytest.raises(ValueError, match=r"a finished run with a different configuration \(fields \['lr_scaling'\]\)"):
        run_folder.check_same_run(tmp_path, make_config("smoke", optimizer="sgdm", lr_scaling="linear"),
                                  "a finished run")


def test_training_and_tuning_share_one_same_run_rule(tmp_path):
    # A moved data folder, another run name or strategy is still the same run, for a run as for a search.
    config = make_config("smoke", optimizer="sgdm", data_dir="/old/cifar10")
    moved = make_config("smoke", optimizer="sgdm", data_dir="/new/cifar10", run_name="renamed", strategy="mirrored")
    (tmp_path / run_folder.CONFIG).write_text(json.dumps(config.to_dict()))
    run_folder.check_same_run(tmp_path, moved, "a finished run")  # no error
    assert set(NOT_DEFINING) == {"data_dir", "run_name", "strategy"}
    assert definition_module.defining({"run": config.to_dict()}) == definition_module.defining({"run": moved.to_dict()})
    assert definition_module.defining({"run": config.to_dict()})["run"] == json.loads(json.dumps(config.defining()))


def test_a_search_definition_without_a_newer_field_still_resumes(tmp_path):
    config = make_config("smoke", optimizer="adam")
    stored = {"space": {}, "tuner": "random", "tuner_options": {}, "objective": "val_accuracy",
                  "run": {k: v for k, v in _old_config_dict(config).items() if k not in NOT_DEFINING}}
    (tmp_path / definition_module.DEFINITION).write_text(json.dumps(stored))
    wanted = definition_module.defining(json.loads(json.dumps({**stored, "run": config.to_dict()})))
    definition_module.check_definition(tmp_path, wanted, write=False)  # no error


def test_resuming_a_checkpoint_of_another_optimizer_class_is_refused(tmp_path):
    old = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="trained with SGD, but this version builds CoupledHeavyBallSGD.*--force"):
        prepare.check_checkpoint_optimizer(tmp_path, old, make_optimizer("sgdm"))
    prepare.check_checkpoint_optimizer(tmp_path, make_optimizer("sgdm"), make_optimizer("sgdm"))  # same class: fine
