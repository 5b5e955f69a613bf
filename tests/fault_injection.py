"""Run scripts/train.py and kill it, as ``kill -9`` would, at one point of the training loop.

    python tests/fault_injection.py POINT EPOCH [train.py arguments ...]

The process ends with ``os._exit(137)`` (no clean-up, no ``finally``, no
flushing: what ``kill -9`` leaves) when it reaches POINT of epoch EPOCH
(1-based):

    mid_epoch       after the epoch's second training step
    evaluation      as the epoch's test-set evaluation starts
    checkpoint      half-way through writing the epoch's checkpoint (a
                    truncated temporary file stays behind)
    before_history  the checkpoint is in place, its history row not written
    before_prune    the history is written, older checkpoints not yet deleted
    after_epoch     everything of the epoch is written
    export          the finished run's SavedModel is written but not yet
                    moved into place (EPOCH is ignored)

The points are set by wrapping the project's own functions here, so the
package carries no test hook.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KILLED = 137
POINTS = ("mid_epoch", "evaluation", "checkpoint", "before_history", "before_prune", "after_epoch", "export")


def kill():
    os._exit(KILLED)


def install(point, epoch):
    """Wrap the function where ``point`` lies so that it kills the process in ``epoch``."""
    import keras

    from keras_resnet_opt.training import callbacks, export

    if point == "mid_epoch":
        begin, batch_end = callbacks.EpochRecorder.on_epoch_begin, callbacks.EpochRecorder.on_train_batch_end

        def on_epoch_begin(self, e, logs=None):
            self._fault_epoch = e + 1
            begin(self, e, logs)

        def on_train_batch_end(self, batch, logs=None):
            batch_end(self, batch, logs)
            if self._fault_epoch == epoch and batch == 1:
                kill()

        callbacks.EpochRecorder.on_epoch_begin = on_epoch_begin
        callbacks.EpochRecorder.on_train_batch_end = on_train_batch_end
    elif point == "evaluation":
        evaluate = callbacks.TestEvaluator.on_epoch_end

        def on_epoch_end(self, e, logs=None):
            if e + 1 == epoch:
                kill()
            evaluate(self, e, logs)

        callbacks.TestEvaluator.on_epoch_end = on_epoch_end
    elif point == "checkpoint":
        save = keras.Model.save

        def half_save(self, path, *args, **kwargs):
            save(self, path, *args, **kwargs)
            if f"epoch-{epoch:04d}" in Path(path).name:
                data = Path(path).read_bytes()
                Path(path).write_bytes(data[: len(data) // 2])
                kill()

        keras.Model.save = half_save
    elif point == "before_history":
        write_history = callbacks.write_history

        def write(run_dir, rows):
            if rows and rows[-1]["epoch"] == epoch:
                kill()
            write_history(run_dir, rows)

        callbacks.write_history = write
    elif point == "before_prune":
        from keras_resnet_opt.training.checkpoints import checkpoint_epochs

        prune = callbacks.prune_checkpoints

        def prune_or_kill(folder, *args, **kwargs):
            if checkpoint_epochs(folder)[-1] == epoch:
                kill()
            prune(folder, *args, **kwargs)

        callbacks.prune_checkpoints = prune_or_kill
    elif point == "after_epoch":
        end = callbacks.Checkpointer.on_epoch_end

        def on_epoch_end(self, e, logs=None):
            end(self, e, logs)
            if e + 1 == epoch:
                kill()

        callbacks.Checkpointer.on_epoch_end = on_epoch_end
    elif point == "export":
        export.replace_directory = lambda src, dst: kill()
    else:
        raise SystemExit(f"unknown point {point!r}; one of {', '.join(POINTS)}")


def main(argv):
    point, epoch, *train_args = argv
    from keras_resnet_opt.cli.common import import_tensorflow_quietly

    import_tensorflow_quietly()  # as scripts/train.py would, before the wrappers import Keras
    install(point, int(epoch))
    from keras_resnet_opt.cli.train import main as train_main

    return train_main(train_args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
