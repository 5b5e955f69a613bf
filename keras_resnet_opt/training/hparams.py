"""A run's settings on TensorBoard's HParams dashboard.

Every run folder's ``tensorboard/`` holds the run's curves; this adds its
configuration as hyperparameters, so that pointing TensorBoard at a whole
study (``tensorboard --logdir results/cpu-budget/runs``) shows one table of
runs, filterable by optimizer, learning rate, p or seed, next to their final
metrics. Keras Tuner writes the same for its trials (``tuning/search.py``
gives every search a TensorBoard callback: ``<project>/tensorboard/<trial>``).
"""

import dataclasses

from tensorboard.plugins.hparams import api as hparams_api


def run_hparams(config):
    """The config's fields as HParams values: numbers, strings and booleans kept,
    tuples written out, unset (None) fields left out (their defaults are in the manifest)."""
    values = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if value is None:
            continue
        if isinstance(value, (tuple, list, dict)):
            value = str(value)
        values[field.name] = value
    return values


def hparams_callback(log_dir, config, trial_id):
    """A Keras callback that writes ``config`` to TensorBoard's HParams plugin under ``log_dir``."""
    return hparams_api.KerasCallback(str(log_dir), run_hparams(config), trial_id=trial_id)
