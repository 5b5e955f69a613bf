"""Keras callbacks that turn ``model.fit`` into a resumable, fully recorded run.

Order matters and ``runner._fit`` fixes it: timing first, then test
evaluation (so its numbers are in the logs), then the divergence guard, then
the checkpointer, which writes the checkpoint before the history so that the
history never claims an epoch that has no checkpoint.
"""

import math
import time
from pathlib import Path

import keras
import numpy as np

from keras_resnet_opt.training.checkpoints import prune_checkpoints, write_checkpoint
from keras_resnet_opt.training.errors import CheckpointWriteError
from keras_resnet_opt.training.run_folder import CHECKPOINT_DIR, write_history


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
    """After each epoch: the checkpoint (written, read back), then the history rows,
    then the checkpoints older than the previous epoch's go (training/checkpoints.py).

    Writing the checkpoint first means the history never claims an epoch that
    has no checkpoint; keeping the previous one means a checkpoint damaged
    later costs one epoch. A write that fails (a full disk) stops the run
    with `CheckpointWriteError`, the earlier files untouched.
    """

    def __init__(self, run_dir, history_rows, guard):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.rows = history_rows
        self.guard = guard

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {
            k: (float(v) if isinstance(v, (np.floating, np.integer, float, int)) else v)
            for k, v in (logs or {}).items()
        }
        row["epoch"] = epoch + 1
        row["epoch_time_s"] = time.perf_counter() - self._start
        diverged = self.guard.diverged_at_epoch is not None
        folder = self.run_dir / CHECKPOINT_DIR
        if not diverged:  # a NaN model is no checkpoint to resume from
            write_checkpoint(self.model, folder, epoch + 1)
        try:
            write_history(self.run_dir, [*self.rows, row])
        except OSError as e:
            raise CheckpointWriteError(
                f"Could not write the history of epoch {epoch + 1} in {str(self.run_dir)!r} ({e}): the run stopped; "
                "the history up to the epoch before is untouched, so rerunning the same command resumes once that "
                "is fixed (free some space if the disk is full)."
            ) from e
        self.rows.append(row)
        if not diverged:
            prune_checkpoints(folder)
