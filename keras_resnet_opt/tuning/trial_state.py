"""A tuning trial that survives an interruption: per-epoch checkpoint and history.

Keras Tuner retries a trial that was running when its search stopped, under
the same trial id, but from scratch. A 10-epoch trial of the cpu-budget study
takes half an hour on this project's CPUs, so `TrialRecorder` keeps, in the
trial's directory:

    resume/epoch-NNNN.keras   the newest finished epoch (weights, optimizer
                              slots, step counter = schedule position); removed
                              once the trial completes (`discard_resume_state`)
    history.csv               one row per finished epoch (kept: the trial's
                              curve, for the study's tuning report)

and `resume_point` tells ``ResNetHyperModel.fit`` where to continue. The data
of epoch ``e`` depends only on ``(seed, e)`` (data/pipeline.py), so a resumed
trial computes what an uninterrupted one would. The checkpoint is written
before the history row, so the history never claims an epoch that has no
checkpoint; rows past the checkpoint are dropped on resume.
"""

import shutil
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from keras_resnet_opt.atomic import atomic_path

RESUME_DIR = "resume"
TRIAL_HISTORY = "history.csv"


def _checkpoint(trial_dir, epoch):
    return Path(trial_dir) / RESUME_DIR / f"epoch-{epoch:04d}.keras"


def resume_point(trial_dir):
    """``(epoch, checkpoint path)`` of the newest finished epoch, or ``(0, None)``."""
    folder = Path(trial_dir) / RESUME_DIR
    epochs = [int(p.stem.split("-")[1]) for p in folder.glob("epoch-*.keras")] if folder.is_dir() else []
    if not epochs:
        return 0, None
    epoch = max(epochs)
    return epoch, _checkpoint(trial_dir, epoch)


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
    """After each epoch: atomic checkpoint, then the history row; older checkpoints go."""

    def __init__(self, trial_dir, rows):
        super().__init__()
        self.trial_dir = Path(trial_dir)
        self.rows = list(rows)

    def on_epoch_begin(self, epoch, logs=None):
        self._learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        newest = _checkpoint(self.trial_dir, epoch + 1)
        with atomic_path(newest) as tmp:
            self.model.save(tmp)
        row = {"epoch": epoch + 1}
        row.update({k: float(v) for k, v in (logs or {}).items() if isinstance(v, (float, int, np.floating, np.integer))})
        row["learning_rate"] = self._learning_rate  # at the start of the epoch, as a run's history
        self.rows.append(row)
        with atomic_path(self.trial_dir / TRIAL_HISTORY) as tmp:
            pd.DataFrame(self.rows).to_csv(tmp, index=False)
        for old in newest.parent.glob("epoch-*.keras"):
            if old != newest:
                old.unlink(missing_ok=True)
