"""One training run: `prepare_run`, ``model.fit``, records, resume and export.

A run lives in ``<output_dir>/<run-name>/`` (its files: training/run_folder.py)
and its export in ``<saved_models_dir>/<run-name>/``, a separate folder.
Rerunning an interrupted run resumes from the newest checkpoint that loads
and agrees with the history (falling back one epoch past a damaged one); the
data order and augmentation of each epoch depend only on ``(seed, epoch)``
(data/pipeline.py), so a resumed run is the same computation as an
uninterrupted one. A folder holding the same run (`config.RunConfig.defining`:
the data folder, the run name and the strategy may differ) is resumed or
reported; one holding another run is refused.
"""

import dataclasses
import datetime
import shutil
import time
import warnings
from pathlib import Path

import keras
import numpy as np

from keras_resnet_opt import environment
from keras_resnet_opt.atomic import atomic_path, write_json
from keras_resnet_opt.config import check_folder_name
from keras_resnet_opt.data.pipeline import eval_dataset, train_dataset
from keras_resnet_opt.training.callbacks import Checkpointer, DivergenceGuard, EpochRecorder, TestEvaluator
from keras_resnet_opt.training.checkpoints import DamagedCheckpointWarning, fallback_message, resume_checkpoint
from keras_resnet_opt.training.errors import CheckpointWriteError
from keras_resnet_opt.training.export import export_saved_model
from keras_resnet_opt.training.hparams import hparams_callback
from keras_resnet_opt.training.prepare import (
    build_run_optimizer,
    check_checkpoint_optimizer,
    initial_learning_rate,
    load_checkpoint,
    prepare_run,
)
from keras_resnet_opt.training.run_folder import (
    CHECKPOINT_DIR,
    FINAL_MODEL,
    MANIFEST,
    STATUS_DIVERGED,
    STATUS_FINISHED,
    TENSORBOARD_DIR,
    check_same_run,
    check_separate_folders,
    claim_run_dir,
    clear_run_dir,
    read_history,
    read_manifest,
    read_sessions,
    record_session,
    write_history,
    write_test_predictions,
)
from keras_resnet_opt.training.run_lock import run_folder_lock


@dataclasses.dataclass
class RunResult:
    run_dir: Path
    status: str  # run_folder.STATUS_FINISHED or STATUS_DIVERGED
    manifest: dict
    history: list
    export_dir: Path | None
    reused: bool = False  # True when a finished run was found and not retrained


def train(config, output_dir="runs", saved_models_dir="saved_models", force=False, verbose=0, command=None,
          wait=False, log=None):
    """Train (or resume, or report) the run described by ``config``.

    Args:
        config: a validated ``RunConfig``.
        output_dir: parent folder of run directories. Defaults to "runs".
        saved_models_dir: parent folder of SavedModel exports. Defaults to "saved_models".
        force: discard an existing run of the same name and start over.
        verbose: passed to ``model.fit`` (1 = progress bar, 2 = one line per epoch).
        command: the command line, recorded in the manifest.
        wait: when another process is training the same run folder, wait for
            it (then report or resume the run) instead of raising
            `RunFolderBusy`. Defaults to False.
        log: ``str -> None`` for progress lines ("Resuming ... from epoch 3
            of 8"); None prints nothing. Problems the user should know of
            (a damaged checkpoint skipped, a folder taken over) are warnings.

    Returns:
        RunResult. A diverged run returns status "diverged" (callers decide the exit code).

    Raises:
        ValueError: bad settings, or a folder holding another run.
        RunStopped: (training/errors.py) the folder is busy, a checkpoint
            could not be written, or none could be resumed from.
    """
    config.validate()
    name = check_folder_name(config.resolved_run_name())
    run_dir = Path(output_dir) / name
    export_dir = Path(saved_models_dir) / name
    check_separate_folders(run_dir, export_dir)
    initial_learning_rate(config)  # an unknown optimizer or a missing learning rate fails before anything is written
    log = log or (lambda message: None)

    if not force:
        finished = _finished_run(run_dir, export_dir, config)
        if finished is not None:
            return finished
    with run_folder_lock(run_dir, wait=wait, log=log):
        if force:
            clear_run_dir(run_dir)
        finished = _finished_run(run_dir, export_dir, config)  # another process may have finished it meanwhile
        if finished is not None:
            return finished
        claim_run_dir(run_dir, config)
        return _fit(config, run_dir, export_dir, verbose, command, log)


def _finished_run(run_dir, export_dir, config):
    manifest = read_manifest(run_dir)
    if manifest is None:
        return None
    check_same_run(run_dir, config, "a finished run")
    return RunResult(run_dir, manifest["status"], manifest, read_history(run_dir),
                     export_dir if export_dir.exists() else None, reused=True)


def _fit(config, run_dir, export_dir, verbose, command, log):
    started = time.time()
    recorded = read_history(run_dir)
    recorded_epoch = min(recorded[-1]["epoch"] if recorded else 0, config.epochs)
    resumed = {}

    def resume(steps):
        epoch, model, damaged = resume_checkpoint(
            run_dir / CHECKPOINT_DIR, recorded_epoch, lambda path: load_checkpoint(path, config), steps,
            final=(config.epochs, run_dir / FINAL_MODEL))
        resumed.update(epoch=epoch, damaged=damaged)
        if model is not None:
            check_checkpoint_optimizer(run_dir, model.optimizer, build_run_optimizer(config, steps))
        return model

    run = prepare_run(config, resume=resume)
    model, data, steps = run.model, run.data, run.steps
    x_train, y_train = data.train
    start_epoch, damaged = resumed["epoch"], resumed["damaged"]
    if damaged:
        warnings.warn(DamagedCheckpointWarning(fallback_message(damaged, start_epoch, recorded_epoch)), stacklevel=2)
    rows = [r for r in recorded if r["epoch"] <= start_epoch]
    if len(rows) < len(recorded):
        write_history(run_dir, rows)  # the history now agrees with the checkpoint the run goes on from
    record_session(run_dir, {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "from_epoch": start_epoch,
        "device": environment.device_description(),
        "threads": environment.threads_used(),
        "onednn": environment.onednn_enabled(),
        "commit": environment.code_version().get("commit"),
    })
    if start_epoch:
        log(f"Resuming {run_dir} from epoch {start_epoch} of {config.epochs}")
    else:
        log(f"Training {run_dir}: {config.epochs} epochs of {config.model} with {config.optimizer}, seed {config.seed}")

    guard = DivergenceGuard()
    callbacks = [
        EpochRecorder(steps, len(x_train)),
        TestEvaluator(eval_dataset(*data.test, config.eval_batch_size)),
        guard,
        Checkpointer(run_dir, rows, guard),
        keras.callbacks.TensorBoard(log_dir=str(run_dir / TENSORBOARD_DIR), write_graph=False),
        hparams_callback(run_dir / TENSORBOARD_DIR, config, run_dir.name),
    ]
    val = eval_dataset(*data.val, config.eval_batch_size) if len(data.val[0]) else None
    if start_epoch < config.epochs:
        model.fit(
            train_dataset(x_train, y_train, config.batch_size, config.seed, start_epoch, config.epochs,
                          augment=config.augment),
            epochs=config.epochs,
            initial_epoch=start_epoch,
            steps_per_epoch=steps,
            validation_data=val,
            shuffle=False,  # the dataset is already shuffled, reproducibly, per epoch
            callbacks=callbacks,
            verbose=verbose,
        )

    diverged = guard.diverged_at_epoch
    final = rows[-1] if rows else {}
    try:
        if diverged is None:
            with atomic_path(run_dir / FINAL_MODEL) as tmp:
                model.save(tmp)
            save_test_predictions(model, data.test, config.eval_batch_size, run_dir)
            export_saved_model(model, export_dir)
        manifest = {
            "status": STATUS_FINISHED if diverged is None else STATUS_DIVERGED,
            "diverged_at_epoch": diverged,
            "run_name": run_dir.name,
            "config": config.to_dict(),
            "optimizer_config": _optimizer_summary(model.optimizer),
            "initial_learning_rate": initial_learning_rate(config),
            "lr_scale": config.lr_scale(),
            "final": {
                "epoch": final.get("epoch"),
                "test_accuracy": final.get("test_accuracy"),
                "test_error": final.get("test_error"),
                "test_loss": final.get("test_loss"),
                "train_loss": final.get("loss"),
                "train_accuracy": final.get("accuracy"),
                "val_accuracy": final.get("val_accuracy"),
            },
            "data": {
                "source": data.source,
                "checksum": data.checksum,
                "train_images": int(len(x_train)),
                "val_images": int(len(data.val[0])),
                "test_images": int(len(data.test[0])),
            },
            "versions": environment.versions(),
            "code": environment.code_version(),
            "device": environment.device_description(),
            "threads": environment.threads_used(),
            "onednn": environment.onednn_enabled(),
            "replicas": int(run.strategy.num_replicas_in_sync),
            "peak_memory_mib": environment.peak_memory_mib(),
            "peak_accelerator_memory_mib": environment.accelerator_peak_memory_mib(),
            "packages": environment.installed_packages(),
            "wall_time_s": time.time() - started,
            "resumed_from_epoch": start_epoch,
            "sessions": read_sessions(run_dir),
            "export_dir": str(export_dir) if diverged is None else None,
            "command": command,
        }
        write_json(run_dir / MANIFEST, manifest)
    except OSError as e:
        raise CheckpointWriteError(
            f"Could not write the finished run's files in {str(run_dir)!r} or {str(export_dir)!r} ({e}); its "
            "checkpoints and history are untouched, so rerunning the same command finishes it once that is fixed "
            "(free some space if the disk is full)."
        ) from e
    # Only now, with the manifest marking the run finished, are the checkpoints no longer needed.
    shutil.rmtree(run_dir / CHECKPOINT_DIR, ignore_errors=True)
    return RunResult(run_dir, manifest["status"], manifest, rows, export_dir if diverged is None else None)


def save_test_predictions(model, test, batch_size, run_dir):
    """Write the final model's predicted class for every test image, and the labels.

    A few kilobytes per run that let a report test two optimizers' difference
    image by image (McNemar on the same 10,000 images) instead of only
    comparing two accuracies.
    """
    images, labels = test
    probabilities = model.predict(eval_dataset(images, labels, batch_size), verbose=0)
    write_test_predictions(run_dir, np.argmax(probabilities, axis=-1), labels)


def _optimizer_summary(optimizer):
    """JSON-safe optimizer config (the inner optimizer under mixed precision)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    summary = {"class": type(inner).__name__}
    for key, value in inner.get_config().items():
        if isinstance(value, (int, float, str, bool)) or value is None:
            summary[key] = value
        elif isinstance(value, dict) and "class_name" in value:
            summary[key] = value.get("class_name")
    return summary
