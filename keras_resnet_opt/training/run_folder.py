"""Where a run may write, and when a folder's earlier contents may be replaced.

Three rules keep what is already written:

- the run folder and the export folder are never the same and never one
  inside the other (`check_separate_folders`): an export replaces its whole
  folder, which would take the run's history and checkpoints with it;
- a folder holding finished epochs of a run with another configuration is
  refused (`claim_run_dir`); one holding no finished epoch (a start that
  failed before its first epoch: no network, a wrong data folder) holds
  nothing to lose, so it is taken over, with a warning that says what
  changed;
- ``--force`` empties the folder but keeps its lock file
  (`clear_run_dir`), so the process that holds the lock keeps holding it.
"""

import json
import shutil
import warnings
from pathlib import Path

from keras_resnet_opt.atomic import write_json
from keras_resnet_opt.config import RunConfig
from keras_resnet_opt.training.history import read_history
from keras_resnet_opt.training.run_lock import LOCK_FILE

CONFIG = "config.json"
CHECKPOINT_DIR = "checkpoints"
TENSORBOARD_DIR = "tensorboard"


class RunFolderReplaced(UserWarning):
    """A run folder with no finished epoch was taken over by a run with another configuration."""


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
    """Fields in which ``run_dir``'s config.json differs from ``config`` ([] when none is stored).

    The stored config is read through `RunConfig`, so a field added since it
    was written takes its default (which is what that run did) instead of
    counting as a change.
    """
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        return []
    existing = RunConfig.from_dict(json.loads(path.read_text())).to_dict()
    wanted = config.to_dict()
    return sorted(k for k in set(existing) | set(wanted) if existing.get(k) != wanted.get(k))


def different_configuration_error(run_dir, what, changed):
    return ValueError(
        f"{str(run_dir)!r} holds {what} with a different configuration "
        f"(fields {changed}). Rerun with the same settings to resume or reuse it, pass --force to "
        "start over, or choose another --run-name/--output-dir."
    )


def claim_run_dir(run_dir, config):
    """Write config.json, or check it against an unfinished run's.

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
        return
    finished = read_history(run_dir)
    if finished:
        raise different_configuration_error(run_dir, f"an unfinished run ({len(finished)} epoch(s) trained)", changed)
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
