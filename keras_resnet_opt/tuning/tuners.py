"""The Keras Tuner tuners a search runs, and the two ways a search is distributed.

- Keras Tuner's distributed mode runs *different trials in parallel
  processes*: with ``KERASTUNER_ORACLE_IP``, ``KERASTUNER_ORACLE_PORT`` and
  ``KERASTUNER_TUNER_ID`` set, the process whose id contains "chief" serves
  the oracle and writes the outputs; the others ("tuner0", "tuner1", ...) run
  trials (`distributed_role`).
- ``config.strategy`` ("mirrored", "multiworker") spreads *each trial over
  several devices* with tf.distribute, exactly as ``scripts/train.py
  --strategy`` (`trial_strategy`).

Every tuner here records, in each trial's directory, which process ran it and
over how many replicas (``ran_by.json``), keeps a per-epoch checkpoint and
history there so that a retried trial resumes (tuning/trial_state.py), and
scores a trial by its final epoch.
"""

import json
import os
import socket
from pathlib import Path

import keras_tuner

from keras_resnet_opt import distribute
from keras_resnet_opt.atomic import write_json
from keras_resnet_opt.tuning.edge_grid import EdgeGridOracle
from keras_resnet_opt.tuning.hypermodel import final_epoch_metrics
from keras_resnet_opt.tuning.options import OBJECTIVE, check_tuner
from keras_resnet_opt.tuning.trial_state import discard_resume_state

RAN_BY = "ran_by.json"  # in each trial directory: which tuner process ran it, over how many replicas
# Keras Tuner reads seed 0 as "draw a random seed", so the tuner's seed is the
# search seed + 1: reproducible, and the same for every optimizer.
ORACLE_SEED_OFFSET = 1

ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_ORACLE_IP = "KERASTUNER_ORACLE_IP"
ENV_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"
CHIEF = "chief"
WORKER = "worker"


def distributed_role():
    """None when not distributed, else "chief" or "worker", from Keras Tuner's variables.

    Raises:
        ValueError: ``KERASTUNER_ORACLE_IP`` is set without the port or the tuner id.
    """
    if ENV_ORACLE_IP not in os.environ:
        return None
    missing = [v for v in (ENV_ORACLE_PORT, ENV_TUNER_ID) if not os.environ.get(v)]
    if missing:
        raise ValueError(
            f"Distributed tuning needs {ENV_ORACLE_IP}, {ENV_ORACLE_PORT} and {ENV_TUNER_ID}; "
            f"{ENV_ORACLE_IP} is set but {', '.join(missing)} is not."
        )
    return CHIEF if CHIEF in os.environ[ENV_TUNER_ID] else WORKER


def trial_strategy(name, role=None):
    """The tf.distribute strategy trials train under, or None for the default one.

    None too on a distributed chief, which serves the oracle and never trains:
    creating a strategy there would take the GPUs the workers need.
    """
    if name == "default" or role == CHIEF:
        return None
    return distribute.make_strategy(name)


class _RecordsTunerId:
    """What every tuner of the project adds to Keras Tuner's:

    - ``ran_by.json`` in each trial's directory: the tuner id and host as the
      trial starts, and once it has trained, the replicas its model trained
      over (read from the trained model, so it shows the strategy really applied);
    - the trial's directory passed to ``ResNetHyperModel.fit``, which keeps a
      per-epoch checkpoint and history there, so a retried trial resumes;
    - the trial scored by its final epoch (`final_epoch_metrics`), not Keras
      Tuner's best epoch.
    """

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        write_json(Path(self.get_trial_dir(trial.trial_id)) / RAN_BY,
                   {"tuner_id": self.tuner_id, "host": socket.gethostname()})

    def run_trial(self, trial, *args, **kwargs):
        trial_dir = Path(self.get_trial_dir(trial.trial_id))
        histories = super().run_trial(trial, *args, trial_dir=trial_dir, **kwargs)
        trained = [h.model for h in histories if getattr(h, "model", None) is not None]
        if trained:
            path = trial_dir / RAN_BY
            record = json.loads(path.read_text()) if path.is_file() else {}
            record["replicas"] = int(trained[-1].distribute_strategy.num_replicas_in_sync)
            write_json(path, record)
        discard_resume_state(trial_dir)
        return [final_epoch_metrics(h) for h in histories]


class _RandomSearch(_RecordsTunerId, keras_tuner.RandomSearch):
    pass


class _BayesianOptimization(_RecordsTunerId, keras_tuner.BayesianOptimization):
    pass


class _Hyperband(_RecordsTunerId, keras_tuner.Hyperband):
    pass


class _GridSearch(_RecordsTunerId, keras_tuner.GridSearch):
    pass


class _EdgeGrid(_RecordsTunerId, keras_tuner.Tuner):
    pass


def make_tuner(kind, hypermodel, directory, project_name, max_trials, epochs, seed, hyperband_factor=3,
               initial_points=None, distribution_strategy=None, space=None):
    """A Keras Tuner tuner of ``kind`` (one of `TUNERS`) maximising validation accuracy.

    ``max_trials`` caps every kind, Hyperband included (its brackets up to
    ``epochs`` with ``hyperband_factor`` are cut off there), and the
    edge-extending grid's extensions. With a ``distribution_strategy`` (a
    tf.distribute strategy) the tuner builds and trains every trial's model
    under it. "edge-grid" needs the `SearchSpace` (``space``) with its grid.
    """
    check_tuner(kind)
    common = dict(
        hypermodel=hypermodel,
        distribution_strategy=distribution_strategy,
        objective=keras_tuner.Objective(OBJECTIVE, direction="max"),
        directory=str(directory),
        project_name=project_name,
        overwrite=False,  # resume; overwriting is done by run_search, before the definition check
        seed=seed + ORACLE_SEED_OFFSET,
    )
    if kind == "random":
        return _RandomSearch(max_trials=max_trials, **common)
    if kind == "bayesian":
        return _BayesianOptimization(max_trials=max_trials, num_initial_points=initial_points, **common)
    if kind == "grid":
        return _GridSearch(max_trials=max_trials, **common)
    if kind == "edge-grid":
        if space is None or space.lr_grid is None:
            raise ValueError("The edge-grid tuner needs a search space built with `lr_points`.")
        oracle = EdgeGridOracle(common.pop("objective"), space.lr_grid, space.lr_initial, max_trials,
                                seed=common.pop("seed"))
        return _EdgeGrid(oracle=oracle, **common)
    tuner = _Hyperband(max_epochs=epochs, factor=hyperband_factor, hyperband_iterations=1, **common)
    oracle = getattr(tuner.oracle, "_oracle", tuner.oracle)  # under the worker's gRPC client
    oracle.max_trials = max_trials
    return tuner
