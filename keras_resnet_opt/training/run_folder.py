"""A run folder: its layout, its readers and writers, and when its contents may be replaced.

The one place that names a run's files (the trainer writes them, the study,
the anchor report and the grid read them)::

    <output_dir>/<run-name>/
        config.json           the resolved RunConfig
        history.csv/.json     one row per completed epoch, `COLUMNS` (JSON is
                              the one resuming reads)
        checkpoints/          the newest two per-epoch ``.keras`` checkpoints
                              (training/checkpoints.py); removed once the run
                              is finished
        model.keras           the final model with optimizer state
        test_predictions.npy  the final model's predicted class per test image
        test_labels.npy       the true labels, in the same order (uint8 each), so
                              paired tests over test images (McNemar) need no data
        tensorboard/          TensorBoard logs
        sessions.json         one entry per process that trained the run (its
                              start, first epoch, device, threads, oneDNN,
                              commit), so a run resumed on another machine
                              says so
        manifest.json         written last: status (`STATUS_FINISHED` or
                              `STATUS_DIVERGED`), final metrics, versions, device,
                              data source and checksum, peak memory
        .run.lock             held while a process trains the run (training/run_lock.py)

Three rules keep what is already written:

- the run folder and the export folder are never the same and never one
  inside the other (`check_separate_folders`): an export replaces its whole
  folder, which would take the run's history and checkpoints with it;
- a folder holding finished epochs of another run (`config.RunConfig.defining`
  differs) is refused (`claim_run_dir`); one holding no finished epoch (a
  start that failed before its first epoch: no network, a wrong data folder)
  holds nothing to lose, so it is taken over, with a warning that says what
  changed;
- ``--force`` empties the folder but keeps its lock file
  (`clear_run_dir`), so the process that holds the lock keeps holding it.
"""

import json
import math
import numbers
import os
import re
import shutil
import warnings
from pathlib import Path

from keras_resnet_opt.atomic import atomic_path, write_json
from keras_resnet_opt.config import RunConfig

CONFIG = "config.json"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
CHECKPOINT_DIR = "checkpoints"
# A per-epoch checkpoint's name in CHECKPOINT_DIR: epoch-0007.keras.
CHECKPOINT_NAME = re.compile(r"^epoch-(\d+)\.keras$")
FINAL_MODEL = "model.keras"
TEST_PREDICTIONS = "test_predictions.npy"
TEST_LABELS = "test_labels.npy"
TENSORBOARD_DIR = "tensorboard"
MANIFEST = "manifest.json"
SESSIONS = "sessions.json"
LOCK_FILE = ".run.lock"

# The manifest's "status": how the run ended.
STATUS_FINISHED = "finished"
STATUS_DIVERGED = "diverged"

# The history's columns: the contract with keras_resnet_opt.study.
COLUMNS = (
    "epoch",  # 1-based
    "loss",  # training loss (with augmentation), mean over the epoch
    "accuracy",
    "val_loss",  # NaN when the run has no validation split
    "val_accuracy",
    "test_loss",
    "test_accuracy",
    "test_error",  # 1 - test_accuracy
    "learning_rate",  # at the start of the epoch
    "epoch_time_s",  # wall time including evaluation
    "test_eval_time_s",  # of which: the test-set evaluation
    "train_time_s",  # training steps only
    "images_per_sec",  # training images / train_time_s
    "step_time_ms",  # train_time_s / steps
)


class RunFolderReplaced(UserWarning):
    """A run folder with no finished epoch was taken over by a run with another configuration."""


# --- readers and writers --------------------------------------------------------


def read_history(run_dir):
    """Rows already recorded in ``run_dir`` (empty list when none), as written:
    an infinite or NaN loss is the string "inf" or "nan", a missing metric None."""
    path = Path(run_dir) / HISTORY_JSON
    if not path.is_file():
        return []
    return json.loads(path.read_text())


def epochs_seconds(rows):
    """Seconds of training in history `rows`: their ``epoch_time_s`` summed over every leg of a resumed run.

    None when there is no row or any epoch is untimed (missing, null or NaN),
    since the sum would then understate the run. The manifest's
    ``wall_time_s`` cannot give this: it times only the session that finished
    the run. One rule for the reports' Runs table and the model card.
    """
    times = [row.get("epoch_time_s") for row in rows]
    if not times or any(not isinstance(t, numbers.Real) or not math.isfinite(t) for t in times):
        return None  # numbers.Real: NumPy's scalars too, when the rows come from a DataFrame
    return float(sum(times))


def write_history(run_dir, rows):
    """Write ``history.csv`` and ``history.json`` atomically, in `COLUMNS`."""
    import pandas as pd  # here, not above: the grid's and compare.py's --help read this module's names

    run_dir = Path(run_dir)
    clean = [{k: _finite_or_none(row.get(k)) for k in COLUMNS} for row in rows]
    for row in clean:
        row["epoch"] = int(row["epoch"])
    frame = pd.DataFrame(clean, columns=list(COLUMNS))
    with atomic_path(run_dir / HISTORY_CSV) as tmp:
        frame.to_csv(tmp, index=False)
    write_json(run_dir / HISTORY_JSON, clean)


def _finite_or_none(value):
    """JSON has no NaN: missing metrics become null; inf/NaN losses are kept as strings."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return value


def checkpoint_epoch(name):
    """The epoch of a per-epoch checkpoint file name (``epoch-0007.keras`` -> 7); None for any other name."""
    match = CHECKPOINT_NAME.match(name)
    return int(match.group(1)) if match else None


def read_sessions(run_dir):
    """The processes that trained ``run_dir`` so far (`record_session`), oldest first; [] when none."""
    path = Path(run_dir) / SESSIONS
    if not path.is_file():
        return []
    try:
        sessions = json.loads(path.read_text())
    except ValueError:
        sessions = None
    if not isinstance(sessions, list) or not all(isinstance(entry, dict) for entry in sessions):
        # A record of where the run ran, not of what it learned: a damaged one
        # is set aside (kept for a reader) and the record starts again.
        damaged = path.with_name(path.name + ".damaged")
        os.replace(path, damaged)
        warnings.warn(f"{str(path)!r} was not a list of session entries; set aside as {damaged.name!r}", stacklevel=2)
        return []
    return sessions


def record_session(run_dir, session):
    """Append one process's entry (a dict) to ``sessions.json``, atomically; returns the list written.

    A run that is interrupted and resumed may finish on another machine than
    the one it started on; the manifest's ``device`` names only the last one,
    so this keeps every leg: which epoch each process started from and what
    it ran on.
    """
    sessions = [*read_sessions(run_dir), dict(session)]
    write_json(Path(run_dir) / SESSIONS, sessions)
    return sessions


def read_manifest(run_dir):
    """``manifest.json`` of ``run_dir``, or None while the run has not ended."""
    path = Path(run_dir) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def manifest_steps_per_epoch(manifest):
    """Optimizer steps per epoch of an ended run, as the trainer counts them: ceil(training images / batch)."""
    return math.ceil(manifest["data"]["train_images"] / manifest["config"]["batch_size"])


def write_test_predictions(run_dir, predictions, labels):
    """Write the predicted class of every test image and the true labels (uint8 each)."""
    import numpy as np

    for name, values in ((TEST_PREDICTIONS, predictions), (TEST_LABELS, labels)):
        with atomic_path(Path(run_dir) / name) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, np.asarray(values, dtype=np.uint8))


def read_test_predictions(run_dir):
    """``(predictions, labels)`` saved in ``run_dir`` (int64 arrays over the test
    images, in the test split's order), or None when absent (runs trained
    before they were saved lack them).

    Raises:
        ValueError: the two files hold different numbers of images.
    """
    import numpy as np

    run_dir = Path(run_dir)
    paths = run_dir / TEST_PREDICTIONS, run_dir / TEST_LABELS
    if not all(p.is_file() for p in paths):
        return None
    predictions, labels = (np.load(p, allow_pickle=False).astype(np.int64).ravel() for p in paths)
    if predictions.shape != labels.shape:
        raise ValueError(
            f"{run_dir}: {TEST_PREDICTIONS} has {predictions.size} entries but {TEST_LABELS} {labels.size}."
        )
    return predictions, labels


# --- what may be replaced ------------------------------------------------------------


def check_separate_folders(run_dir, export_dir):
    """Raise ValueError when the export would overwrite the run folder or be written inside it."""
    run, export = Path(run_dir).resolve(), Path(export_dir).resolve()
    if run == export or run in export.parents or export in run.parents:
        raise ValueError(
            f"The export folder {str(export_dir)!r} and the run folder {str(run_dir)!r} are the same or one holds "
            "the other, so the export would overwrite the run. Give --saved-models-dir and --output-dir different, "
            "separate folders (defaults: saved_models/ and runs/)."
        )


def changed_fields(run_dir, config):
    """Fields defining the run (`RunConfig.defining`) in which ``run_dir``'s
    config.json differs from ``config`` ([] when none is stored).

    The stored config is read through `RunConfig`, so a field added since it
    was written takes its default (which is what that run did) instead of
    counting as a change.
    """
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        return []
    existing = RunConfig.from_dict(json.loads(path.read_text())).defining()
    wanted = config.defining()
    return sorted(k for k in set(existing) | set(wanted) if existing.get(k) != wanted.get(k))


def check_same_run(run_dir, config, what):
    """Raise ValueError if ``run_dir`` holds ``what`` (e.g. "a finished run") of another run."""
    changed = changed_fields(run_dir, config)
    if changed:
        raise _different_configuration_error(run_dir, what, changed)


def _different_configuration_error(run_dir, what, changed):
    return ValueError(
        f"{str(run_dir)!r} holds {what} with a different configuration "
        f"(fields {changed}). Rerun with the same settings to resume or reuse it, pass --force to "
        "start over, or choose another --run-name/--output-dir."
    )


def claim_run_dir(run_dir, config):
    """Write config.json, or check it against an unfinished run's.

    The same run (equal `RunConfig.defining`) is resumed, and its config.json
    updated when a field that does not define it changed (the data folder
    moved, say), so that it holds the settings the run goes on with.

    Raises:
        ValueError: the folder holds finished epochs of a run with another
            configuration.
    """
    run_dir = Path(run_dir)
    path = run_dir / CONFIG
    if not path.is_file():
        write_json(path, config.to_dict())
        return
    try:
        changed = changed_fields(run_dir, config)
    except ValueError:  # unreadable, or written by a newer version
        changed = [f"{CONFIG} unreadable"]
    if not changed:
        if json.loads(path.read_text()) != config.to_dict():
            write_json(path, config.to_dict())
        return
    finished = read_history(run_dir)
    if finished:
        raise _different_configuration_error(run_dir, f"an unfinished run ({len(finished)} epoch(s) trained)", changed)
    for leftover in (CHECKPOINT_DIR, TENSORBOARD_DIR):
        shutil.rmtree(run_dir / leftover, ignore_errors=True)
    write_json(path, config.to_dict())
    warnings.warn(
        RunFolderReplaced(
            f"{str(run_dir)!r} held a run that never finished an epoch, with a different configuration "
            f"(fields {changed}); it now holds this run."
        ),
        stacklevel=2,
    )


def clear_run_dir(run_dir):
    """Delete everything in ``run_dir`` except its lock file (``--force``)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return
    for entry in run_dir.iterdir():
        if entry.name == LOCK_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
