"""One training run: data, model, optimizer, ``model.fit``, records, resume and export.

A run lives in ``<output_dir>/<run-name>/``:

    config.json         the resolved RunConfig
    history.csv/.json   one row per completed epoch (training/history.py)
    checkpoints/        the newest per-epoch ``.keras`` checkpoint (weights,
                        optimizer slots, step counter = schedule position)
    model.keras         the final model with optimizer state
    test_predictions.npy  the final model's predicted class per test image
    test_labels.npy     the true labels, in the same order (uint8 each), so
                        paired tests over test images (McNemar) need no data
    tensorboard/        TensorBoard logs
    manifest.json       written last: status, final metrics, versions, device,
                        data source and checksum, peak memory

and its export in ``<saved_models_dir>/<run-name>/``. Rerunning an interrupted
run resumes from the newest checkpoint; the data order and augmentation of
each epoch depend only on ``(seed, epoch)`` (data/pipeline.py), so a resumed
run is the same computation as an uninterrupted one.
"""

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

from keras_resnet_opt.atomic import atomic_path, write_json
from keras_resnet_opt.config import RunConfig
from keras_resnet_opt.training.history import read_history

MANIFEST = "manifest.json"
CONFIG = "config.json"
TEST_PREDICTIONS = "test_predictions.npy"
TEST_LABELS = "test_labels.npy"
CRASH_ENV = "KERAS_RESNET_OPT_CRASH_AFTER_EPOCH"  # test hook: simulate kill -9 after an epoch


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


def train(config, output_dir="runs", saved_models_dir="saved_models", force=False, verbose=0, command=None):
    """Train (or resume, or report) the run described by ``config``.

    Args:
        config: a validated ``RunConfig``.
        output_dir: parent folder of run directories. Defaults to "runs".
        saved_models_dir: parent folder of SavedModel exports. Defaults to "saved_models".
        force: discard an existing run of the same name and start over.
        verbose: passed to ``model.fit`` (1 = progress bar).
        command: the command line, recorded in the manifest.

    Returns:
        RunResult. A diverged run returns status "diverged" (callers decide the exit code).
    """
    config.validate()
    name = config.resolved_run_name()
    run_dir = Path(output_dir) / name
    export_dir = Path(saved_models_dir) / name

    if force and run_dir.exists():
        shutil.rmtree(run_dir)
    manifest = read_manifest(run_dir)
    if manifest is not None:
        _check_same_config(run_dir, config, "a finished run")
        return RunResult(run_dir, manifest["status"], manifest, read_history(run_dir),
                         export_dir if export_dir.exists() else None, reused=True)
    _claim_run_dir(run_dir, config)
    return _fit(config, run_dir, export_dir, verbose, command)


def _check_same_config(run_dir, config, what):
    """Raise if ``run_dir``'s config.json differs from ``config``.

    The stored config is read through `RunConfig`, so a field added since it
    was written takes its default (which is what that run did) instead of
    counting as a change.
    """
    path = run_dir / CONFIG
    if not path.is_file():
        return
    existing = RunConfig.from_dict(json.loads(path.read_text())).to_dict()
    wanted = config.to_dict()
    changed = sorted(k for k in set(existing) | set(wanted) if existing.get(k) != wanted.get(k))
    if changed:
        raise ValueError(
            f"{str(run_dir)!r} holds {what} with a different configuration "
            f"(fields {changed}). Rerun with the same settings to resume or reuse it, pass --force to "
            "start over, or choose another --run-name/--output-dir."
        )


def _claim_run_dir(run_dir, config):
    """Write config.json, or check that an unfinished run there has the same config."""
    path = run_dir / CONFIG
    if path.is_file():
        _check_same_config(run_dir, config, "an unfinished run")
    else:
        write_json(path, config.to_dict())


def _fit(config, run_dir, export_dir, verbose, command):
    import keras

    from keras_resnet_opt import distribute, environment
    from keras_resnet_opt.data import load_cifar10
    from keras_resnet_opt.data.pipeline import eval_dataset, steps_per_epoch, train_dataset
    from keras_resnet_opt.training.callbacks import (
        Checkpointer,
        DivergenceGuard,
        EpochRecorder,
        TestEvaluator,
        checkpoint_path,
        latest_checkpoint_epoch,
    )

    started = time.time()
    environment.configure_run(config.seed, config.precision, config.deterministic)
    strategy = distribute.make_strategy(config.strategy)
    data = load_cifar10(config.data_dir, val_size=config.val_size, seed=config.split_seed, train_subset=config.train_subset)
    x_train, y_train = data.train
    steps = steps_per_epoch(len(x_train), config.batch_size)

    start_epoch = min(latest_checkpoint_epoch(run_dir), config.epochs)
    rows = [r for r in read_history(run_dir) if r["epoch"] <= start_epoch]
    with strategy.scope():
        if start_epoch:
            import keras_resnet_opt.optimizers  # noqa: F401  (registers Padam and the coupled classes)
            import keras_resnet_opt.models  # noqa: F401  (registers ZeroPadShortcut)

            model = keras.saving.load_model(checkpoint_path(run_dir, start_epoch))
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

    guard = DivergenceGuard()
    crash = os.environ.get(CRASH_ENV)
    callbacks = [
        EpochRecorder(steps, len(x_train)),
        TestEvaluator(eval_dataset(*data.test, config.eval_batch_size)),
        guard,
        Checkpointer(run_dir, rows, guard, crash_after_epoch=int(crash) if crash else None),
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
    if diverged is None:
        with atomic_path(run_dir / "model.keras") as tmp:
            model.save(tmp)
        save_test_predictions(model, data.test, config.eval_batch_size, run_dir)
        from keras_resnet_opt.training.export import export_saved_model

        export_saved_model(model, export_dir)
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
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
    """The run's initial learning rate: ``--lr`` or the registry's default, times
    the ``lr_scaling`` factor (1 unless ``--lr-scaling linear`` and a changed batch)."""
    from keras_resnet_opt.optimizers import optimizer_defaults

    base_lr = config.learning_rate
    if base_lr is None:
        base_lr = optimizer_defaults(config.optimizer).get("learning_rate")
        if base_lr is None:
            raise ValueError(f"Optimizer {config.optimizer!r} has no default learning rate; pass --lr.")
    return base_lr * config.lr_scale()


def build_run_optimizer(config, steps):
    """The configured optimizer with the preset's schedule (its lr default from the registry)."""
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
