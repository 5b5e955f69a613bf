"""Runs and searches written by older versions still resume, and a checkpoint whose
optimizer class is not what this version builds is refused with a clear error."""

import json

import keras
import pytest

from keras_resnet_opt.config import make_config
from keras_resnet_opt.optimizers import make_optimizer
from keras_resnet_opt.training import runner
from keras_resnet_opt.tuning import search


def _old_config_dict(config):
    """config.json as written before `lr_scaling` existed."""
    d = config.to_dict()
    del d["lr_scaling"]
    return d


def test_a_run_config_without_a_newer_field_still_matches(tmp_path):
    config = make_config("smoke", optimizer="sgdm")
    (tmp_path / runner.CONFIG).write_text(json.dumps(_old_config_dict(config)))
    runner._check_same_config(tmp_path, config, "an unfinished run")  # no error


def test_a_changed_field_is_named(tmp_path):
    config = make_config("smoke", optimizer="sgdm")
    (tmp_path / runner.CONFIG).write_text(json.dumps(_old_config_dict(config)))
    with pytest.raises(ValueError, match=r"a finished run with a different configuration \(fields \['lr_scaling'\]\)"):
        runner._check_same_config(tmp_path, make_config("smoke", optimizer="sgdm", lr_scaling="linear"), "a finished run")


def test_a_search_definition_without_a_newer_field_still_resumes(tmp_path):
    config = make_config("smoke", optimizer="adam")
    definition = {"space": {}, "tuner": "random", "tuner_options": {}, "objective": "val_accuracy",
                  "run": {k: v for k, v in _old_config_dict(config).items() if k not in ("data_dir", "run_name", "strategy")}}
    (tmp_path / search.DEFINITION).write_text(json.dumps(definition))
    wanted = search._defining(json.loads(json.dumps({**definition, "run": config.to_dict()})))
    search.check_definition(tmp_path, wanted, write=False)  # no error


def test_resuming_a_checkpoint_of_another_optimizer_class_is_refused(tmp_path):
    old = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="trained with SGD, but this version builds CoupledHeavyBallSGD.*--force"):
        runner._check_checkpoint_optimizer(tmp_path, old, make_optimizer("sgdm"))
    runner._check_checkpoint_optimizer(tmp_path, make_optimizer("sgdm"), make_optimizer("sgdm"))  # same class: fine
