"""Keras callbacks that turn ``model.fit`` into a resumable, fully recorded run.

Order matters and ``callbacks_for_run`` fixes it: timing first, then test
evaluation (so its numbers are in the logs), then the divergence guard, then
the checkpointer, which writes the checkpoint before the history so that the
history never claims an epoch that has no checkpoint.
"""

import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from keras_resnet_opt.atomic import atomic_path
from keras_resnet_opt.training.history import write_history

CHECKPOINT_DIR = "checkpoints"


def checkpoint_path(run_dir, epoch):
    return Path(run_dir) / CHECKPOINT_DIR / f"epoch-{epoch:04d}.keras"


def latest_checkpoint_epoch(run_dir):
    """Highest epoch with a complete checkpoint (atomic writes: present means whole), or 0."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return 0
    epochs = [int(p.stem.split("-")[1]) for p in folder.glob("epoch-*.keras")]
    return max(epochs, default=0)


def current_learning_rate(optimizer):
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class EpochRecorder(keras.callbacks.Callback):
    """Times each epoch's training steps and records the learning rate used."""

    def __init__(self, steps_per_epoch, num_examples):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.num_examples = num_examples

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._last_step = self._start
        self._lr = current_learning_rate(self.model.optimizer)

    def on_train_batch_end(self, batch, logs=None):
        self._last_step = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        train_time = max(self._last_step - self._start, 1e-9)
        logs.update(
            learning_rate=self._lr,
            train_time_s=train_time,
            images_per_sec=self.num_examples / train_time,
            step_time_ms=1000.0 * train_time / self.steps_per_epoch,
        )


class TestEvaluator(keras.callbacks.Callback):
    """Adds ``test_loss``, ``test_accuracy`` and ``test_error`` to each epoch's logs.

    Test error per epoch is what the papers plot; tuning never uses this
    callback, so the test split cannot leak into hyperparameter choice.
    """

    def __init__(self, test_dataset):
        super().__init__()
        self.test_dataset = test_dataset

    def on_epoch_end(self, epoch, logs=None):
        start = time.perf_counter()
        result = self.model.evaluate(self.test_dataset, verbose=0, return_dict=True)
        logs.update(
            test_loss=result["loss"],
            test_accuracy=result["accuracy"],
            test_error=1.0 - result["accuracy"],
            test_eval_time_s=time.perf_counter() - start,
        )


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or infinite loss and remembers where."""

    def __init__(self):
        super().__init__()
        self.diverged_at_epoch = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged_at_epoch = self._epoch
            self.model.stop_training = True


class Checkpointer(keras.callbacks.Callback):
    """After each epoch: atomic ``.keras`` checkpoint, then the history rows.

    Only the newest checkpoint is kept; older ones are deleted after the
    history that supersedes them is safely written.
    """

    def __init__(self, run_dir, history_rows, guard, crash_after_epoch=None):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.rows = history_rows
        self.guard = guard
        # Test hook: simulate `kill -9` right after an epoch is recorded.
        self.crash_after_epoch = crash_after_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {k: (float(v) if isinstance(v, (np.floating, np.integer, float, int)) else v) for k, v in (logs or {}).items()}
        row["epoch"] = epoch + 1
        row["epoch_time_s"] = time.perf_counter() - self._start
        self.rows.append(row)
        diverged = self.guard.diverged_at_epoch is not None
        newest = checkpoint_path(self.run_dir, epoch + 1)
        if not diverged:  # a NaN model is no checkpoint to resume from
            with atomic_path(newest) as tmp:
                self.model.save(tmp)
        write_history(self.run_dir, self.rows)
        if not diverged:
            for old in (self.run_dir / CHECKPOINT_DIR).glob("epoch-*.keras"):
                if old != newest:
                    old.unlink(missing_ok=True)
        if self.crash_after_epoch is not None and epoch + 1 >= self.crash_after_epoch:
            os._exit(137)
