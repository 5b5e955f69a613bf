"""A tuning trial that survives an interruption: per-epoch checkpoint and history.

Keras Tuner retries a trial that was running when its search stopped, under
the same trial id, but from scratch. A 10-epoch trial of the cpu-budget study
takes half an hour on this project's CPUs, so `TrialRecorder` keeps, in the
trial's directory:

    resume/epoch-NNNN.keras   the newest two finished epochs (weights,
                              optimizer slots, step counter = schedule
                              position; training/checkpoints.py, so a damaged
                              newest one costs an epoch); removed once the
                              trial completes (`discard_resume_state`)
    history.csv               one row per finished epoch (kept: the trial's
                              curve, for the study's tuning report)

and `resume_point` tells ``ResNetHyperModel.fit`` where to continue. The data
of epoch ``e`` depends only on ``(seed, e)`` (data/pipeline.py), so a resumed
trial computes what an uninterrupted one would. The checkpoint is written
before the history row, so the history never claims an epoch that has no
checkpoint; rows past the checkpoint are dropped on resume
(`resume_trial`).
"""

import shutil
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from keras_resnet_opt.atomic import atomic_path
from keras_resnet_opt.training.checkpoints import (
    DamagedCheckpointWarning,
    checkpoint_epochs,
    checkpoint_path,
    fallback_message,
    prune_checkpoints,
    resume_checkpoint,
    write_checkpoint,
)
from keras_resnet_opt.training.errors import NoUsableCheckpoint
from keras_resnet_opt.tuning.options import RESUME_DIR, TRIAL_HISTORY


def resume_point(trial_dir):
    """``(epoch, checkpoint path)`` of the newest checkpoint, or ``(0, None)`` (not checked: see `resume_trial`)."""
    epochs = checkpoint_epochs(Path(trial_dir) / RESUME_DIR)
    if not epochs:
        return 0, None
    return epochs[-1], checkpoint_path(Path(trial_dir) / RESUME_DIR, epochs[-1])


def resume_trial(trial_dir, load, steps_per_epoch, first_epoch=0):
    """``(epoch, model)`` to continue an interrupted trial from, or ``(first_epoch, None)``.

    The newest checkpoint that loads and agrees with the trial's history
    (training/checkpoints.py), past ``first_epoch`` (where a Hyperband trial
    continued from its parent started, with a fresh optimizer: its step
    counter counts from there). A damaged checkpoint is warned about and
    the one before used; with none usable the trial starts again.
    """
    rows = read_trial_history(trial_dir)
    recorded = int(max(r["epoch"] for r in rows)) if rows else 0
    folder = Path(trial_dir) / RESUME_DIR
    try:
        epoch, model, damaged = resume_checkpoint(folder, recorded, load, steps_per_epoch, first_epoch=first_epoch)
    except NoUsableCheckpoint as e:
        warnings.warn(DamagedCheckpointWarning(f"{e} The trial in {str(trial_dir)!r} starts again."), stacklevel=2)
        return first_epoch, None
    if damaged:
        warnings.warn(DamagedCheckpointWarning(fallback_message(damaged, epoch, recorded)), stacklevel=2)
    if epoch <= first_epoch:
        return first_epoch, None
    return epoch, model


def read_trial_history(trial_dir, up_to_epoch=None):
    """The recorded rows (list of dicts), only those up to ``up_to_epoch`` if given."""
    path = Path(trial_dir) / TRIAL_HISTORY
    if not path.is_file():
        return []
    rows = pd.read_csv(path).to_dict("records")
    return [r for r in rows if up_to_epoch is None or r["epoch"] <= up_to_epoch]


def discard_resume_state(trial_dir):
    """Drop the trial's resume checkpoints (its history stays)."""
    shutil.rmtree(Path(trial_dir) / RESUME_DIR, ignore_errors=True)


class TrialRecorder(keras.callbacks.Callback):
    """After each epoch: the checkpoint (written, read back), then the history row;
    checkpoints older than the previous epoch's go."""

    def __init__(self, trial_dir, rows):
        super().__init__()
        self.trial_dir = Path(trial_dir)
        self.rows = list(rows)

    def on_epoch_begin(self, epoch, logs=None):
        self._learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        folder = self.trial_dir / RESUME_DIR
        write_checkpoint(self.model, folder, epoch + 1)
        row = {"epoch": epoch + 1}
        row.update(
            {k: float(v) for k, v in (logs or {}).items() if isinstance(v, (float, int, np.floating, np.integer))}
        )
        row["learning_rate"] = self._learning_rate  # at the start of the epoch, as a run's history
        self.rows.append(row)
        with atomic_path(self.trial_dir / TRIAL_HISTORY) as tmp:
            pd.DataFrame(self.rows).to_csv(tmp, index=False)
        prune_checkpoints(folder)
