"""One training run: data, model, optimizer, ``model.fit``, records, resume and export.

A run lives in ``<output_dir>/<run-name>/``:

    config.json         the resolved RunConfig
    history.csv/.json   one row per completed epoch (training/history.py)
    checkpoints/        the newest two per-epoch ``.keras`` checkpoints
                        (weights, optimizer slots, step counter = schedule
                        position; training/checkpoints.py); removed once the
                        run is finished
    model.keras         the final model with optimizer state
    test_predictions.npy  the final model's predicted class per test image
    test_labels.npy     the true labels, in the same order (uint8 each), so
                        paired tests over test images (McNemar) need no data
    tensorboard/        TensorBoard logs
    manifest.json       written last: status, final metrics, versions, device,
                        data source and checksum, peak memory
    .run.lock           held while a process trains the run (training/run_lock.py)

and its export in ``<saved_models_dir>/<run-name>/``, a separate folder
(training/run_folder.py). Rerunning an interrupted run resumes from the newest
checkpoint that loads and agrees with the history (falling back one epoch
past a damaged one); the data order and augmentation of each epoch depend
only on ``(seed, epoch)`` (data/pipeline.py), so a resumed run is the same
computation as an uninterrupted one.
"""

import dataclasses
import json
import shutil
import time
import warnings
from pathlib import Path

from keras_resnet_opt.atomic import atomic_path, write_json
from keras_resnet_opt.config import check_folder_name
from keras_resnet_opt.training.errors import CheckpointWriteError
from keras_resnet_opt.training.history import read_history, write_history
from keras_resnet_opt.training.run_folder import (
    CHECKPOINT_DIR,
    CONFIG,  # noqa: F401  (re-exported: the run folder's file names live here and in run_folder)
    changed_fields,
    check_separate_folders,
    claim_run_dir,
    clear_run_dir,
    different_configuration_error,
)
from keras_resnet_opt.training.run_lock import run_folder_lock

MANIFEST = "manifest.json"
FINAL_MODEL = "model.keras"
TEST_PREDICTIONS = "test_predictions.npy"
TEST_LABELS = "test_labels.npy"


@dataclasses.dataclass
class RunResult:
    run_dir: Path
    status: str  # "finished" | "diverged"
    manifest: dict
    history: list
    export_dir: Path | None
    reused: bool = False  # True when a finished run was found and not retrained


def read_manifest(run_dir):
    path = Path(run_dir) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


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
    _check_same_config(run_dir, config, "a finished run")
    return RunResult(run_dir, manifest["status"], manifest, read_history(run_dir),
                     export_dir if export_dir.exists() else None, reused=True)


def _check_same_config(run_dir, config, what):
    """Raise if ``run_dir``'s config.json differs from ``config`` (training/run_folder.py)."""
    changed = changed_fields(run_dir, config)
    if changed:
        raise different_configuration_error(run_dir, what, changed)


def _fit(config, run_dir, export_dir, verbose, command, log):
    import keras

    from keras_resnet_opt import distribute, environment
    from keras_resnet_opt.data import load_cifar10
    from keras_resnet_opt.data.pipeline import eval_dataset, steps_per_epoch, train_dataset
    from keras_resnet_opt.training.callbacks import Checkpointer, DivergenceGuard, EpochRecorder, TestEvaluator
    from keras_resnet_opt.training.checkpoints import DamagedCheckpointWarning, fallback_message, resume_checkpoint

    started = time.time()
    environment.configure_run(config.seed, config.precision, config.deterministic)
    strategy = distribute.make_strategy(config.strategy)
    data = load_cifar10(config.data_dir, val_size=config.val_size, seed=config.split_seed, train_subset=config.train_subset)
    x_train, y_train = data.train
    steps = steps_per_epoch(len(x_train), config.batch_size)

    recorded = read_history(run_dir)
    recorded_epoch = min(recorded[-1]["epoch"] if recorded else 0, config.epochs)
    with strategy.scope():
        custom_objects = plugin_custom_objects(config)

        def load(path):
            import keras_resnet_opt.models  # noqa: F401  (registers ZeroPadShortcut)
            import keras_resnet_opt.optimizers  # noqa: F401  (registers Padam and the coupled classes)

            return keras.saving.load_model(path, custom_objects=custom_objects)

        start_epoch, model, damaged = resume_checkpoint(
            run_dir / CHECKPOINT_DIR, recorded_epoch, load, steps, final=(config.epochs, run_dir / FINAL_MODEL))
        if model is not None:
            optimizer = model.optimizer
            _check_checkpoint_optimizer(run_dir, optimizer, build_run_optimizer(config, steps))
        else:
            model = build_run_model(config)
            optimizer = build_run_optimizer(config, steps)
        model.compile(
            optimizer=optimizer,
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=config.jit_compile,
        )
    if damaged:
        warnings.warn(DamagedCheckpointWarning(fallback_message(damaged, start_epoch, recorded_epoch)), stacklevel=2)
    rows = [r for r in recorded if r["epoch"] <= start_epoch]
    if len(rows) < len(recorded):
        write_history(run_dir, rows)  # the history now agrees with the checkpoint the run goes on from
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
        keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard"), write_graph=False),
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
            from keras_resnet_opt.training.export import export_saved_model

            export_saved_model(model, export_dir)
        manifest = {
            "status": "finished" if diverged is None else "diverged",
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
            "replicas": int(strategy.num_replicas_in_sync),
            "peak_memory_mib": environment.peak_memory_mib(),
            "wall_time_s": time.time() - started,
            "resumed_from_epoch": start_epoch,
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
    import numpy as np

    from keras_resnet_opt.data.pipeline import eval_dataset

    images, labels = test
    probabilities = model.predict(eval_dataset(images, labels, batch_size), verbose=0)
    for name, values in ((TEST_PREDICTIONS, np.argmax(probabilities, axis=-1)), (TEST_LABELS, labels)):
        with atomic_path(Path(run_dir) / name) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, np.asarray(values, dtype=np.uint8))


def _check_checkpoint_optimizer(run_dir, loaded, expected):
    """Refuse to resume with an optimizer class other than the one this code builds
    for the run's name (e.g. a checkpoint from before ``sgdm`` moved from Keras'
    SGD to HeavyBallSGD): the run would carry one label but two update rules."""
    loaded_class = type(getattr(loaded, "inner_optimizer", loaded)).__name__
    expected_class = type(getattr(expected, "inner_optimizer", expected)).__name__
    if loaded_class != expected_class:
        raise ValueError(
            f"{str(run_dir)!r} holds a checkpoint trained with {loaded_class}, but this version builds "
            f"{expected_class} for the same settings. Pass --force to retrain it from the start, or "
            "choose another --run-name/--output-dir."
        )


def build_run_model(config):
    from keras_resnet_opt.models import build_model

    # Under a distribution strategy BatchNorm must see the global batch, or a
    # replicated step would not equal the single-device step it stands for.
    return build_model(config.model, synchronized_bn=config.strategy != "default")


def initial_learning_rate(config):
    """The run's initial learning rate: ``--lr``, else the registry's default (a
    plug-in's: its class's own default), times the ``lr_scaling`` factor (1
    unless ``--lr-scaling linear`` and a changed batch).

    Raises:
        ValueError: an unknown optimizer, or a plug-in whose class has no
            default learning rate and no ``--lr``.
    """
    from keras_resnet_opt.optimizers.registry import default_learning_rate

    base_lr = config.learning_rate
    if base_lr is None:
        base_lr = default_learning_rate(config.optimizer)
        if base_lr is None:
            raise ValueError(
                f"Optimizer {config.optimizer!r} has no default learning rate (its class sets none); pass --lr."
            )
    return base_lr * config.lr_scale()


def plugin_custom_objects(config):
    """``custom_objects`` that let a checkpoint of a plug-in optimizer load in a
    fresh process: its class, and its coupled-decay version (registered as a
    side effect of `with_coupled_decay`). Empty for the registry's optimizers,
    which register themselves."""
    from keras_resnet_opt.optimizers import with_coupled_decay
    from keras_resnet_opt.optimizers.registry import is_plugin, optimizer_class

    if not is_plugin(config.optimizer):
        return {}
    klass = optimizer_class(config.optimizer)
    coupled = with_coupled_decay(klass)
    return {klass.__name__: klass, coupled.__name__: coupled}


def build_run_optimizer(config, steps):
    """The configured optimizer with the preset's schedule (its lr: `initial_learning_rate`)."""
    from keras_resnet_opt.optimizers import make_optimizer
    from keras_resnet_opt.training.schedules import make_schedule

    base_lr = initial_learning_rate(config)
    schedule = make_schedule(config.lr_schedule, base_lr, steps, config.epochs, config.lr_boundaries, config.lr_decay_factor)
    overrides = {"learning_rate": schedule}
    if config.weight_decay is not None:
        overrides["weight_decay"] = config.weight_decay
    if config.partial is not None:
        overrides["partial"] = config.partial
    return make_optimizer(config.optimizer, **overrides)


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
