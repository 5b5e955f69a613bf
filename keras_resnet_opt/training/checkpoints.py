"""Per-epoch checkpoints that survive a kill, a damaged file and a full disk.

A run (and a tuning trial) keeps its checkpoints in one folder as
``epoch-NNNN.keras``. Three rules make resuming from them safe:

- a checkpoint is written under a temporary name, read back (a complete
  ``.keras`` zip whose members match their CRCs), and only then given its
  name (`write_checkpoint`); a write that fails (a full disk) raises
  `CheckpointWriteError` and leaves every file already there untouched;
- the previous epoch's checkpoint is kept until the next one has been
  written and read back (`prune_checkpoints` keeps the newest `KEEP`), so a
  checkpoint damaged afterwards (truncated, bit-flipped, emptied) costs one
  epoch, not the run;
- on resume the newest checkpoint the history vouches for is loaded and its
  step counter compared with the epoch its name claims
  (`resume_checkpoint`); one that fails is set aside as ``*.damaged`` and
  the one before is tried. Only when none is usable does resuming stop, with
  `NoUsableCheckpoint`.

The history is written after the checkpoint of the same epoch, so a
checkpoint newer than the history's last row only means the run stopped while
saving: that epoch is trained again.
"""

import zipfile
from pathlib import Path

import keras

from keras_resnet_opt.atomic import atomic_path
from keras_resnet_opt.training.errors import CheckpointWriteError, NoUsableCheckpoint
from keras_resnet_opt.training.run_folder import checkpoint_epoch

# The newest two: the one a resume wants and the one it falls back to.
KEEP = 2
DAMAGED_SUFFIX = ".damaged"
# What every Keras 3 `.keras` file holds; without them it cannot load. These
# are Keras' names inside the zip, not files of a run folder (run_folder.py).
_MEMBERS = ("config.json", "model.weights.h5")


class DamagedCheckpointWarning(UserWarning):
    """A checkpoint failed to load on resume; training went on from the one before."""


def checkpoint_path(folder, epoch):
    """The checkpoint of ``epoch`` in ``folder``, named as `run_folder.CHECKPOINT_NAME` reads it back."""
    return Path(folder) / f"epoch-{epoch:04d}.keras"


def checkpoint_epochs(folder):
    """Epochs with a checkpoint in ``folder``, ascending (temporary and set-aside files excluded)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(epoch for p in folder.iterdir() if (epoch := checkpoint_epoch(p.name)) is not None)


def check_checkpoint_file(path):
    """None when ``path`` is a complete ``.keras`` file, else what is wrong with it."""
    try:
        with zipfile.ZipFile(path) as archive:
            missing = [name for name in _MEMBERS if name not in archive.namelist()]
            if missing:
                return f"it lacks {', '.join(missing)}"
            broken = archive.testzip()
            if broken is not None:
                return f"its {broken} fails its CRC check"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        return f"it is not a complete .keras file ({type(e).__name__}: {_first_line(e)})"
    return None


def write_checkpoint(model, folder, epoch):
    """Write ``model`` (weights, optimizer state, step counter) as epoch ``epoch``'s checkpoint.

    Raises:
        CheckpointWriteError: the file could not be written or did not read
            back whole; nothing that was there before has changed.
    """
    path = checkpoint_path(folder, epoch)
    untouched = (
        f"the run stopped after training epoch {epoch}; the earlier checkpoints and the history are untouched, "
        "so rerunning the same command resumes"
    )
    try:
        with atomic_path(path) as tmp:
            model.save(tmp)
            problem = check_checkpoint_file(tmp)
            if problem is not None:
                raise CheckpointWriteError(
                    f"The checkpoint {str(path)!r} did not read back whole after writing ({problem}); {untouched}. "
                    "Check the disk."
                )
    except OSError as e:
        raise CheckpointWriteError(
            f"Could not write the checkpoint {str(path)!r} ({_first_line(e)}): {untouched} once that is fixed "
            "(free some space if the disk is full)."
        ) from e
    return path


def prune_checkpoints(folder, keep=KEEP):
    """Delete all but the newest ``keep`` checkpoints (set-aside damaged files stay)."""
    epochs = checkpoint_epochs(folder)
    for epoch in epochs[:-keep] if keep else epochs:
        checkpoint_path(folder, epoch).unlink(missing_ok=True)


def resume_checkpoint(folder, recorded_epoch, load, steps_per_epoch, final=None, first_epoch=0):
    """Load the newest checkpoint that is whole and agrees with the history.

    Args:
        folder: the checkpoints folder.
        recorded_epoch: the last epoch the history records (0 when none).
        load: ``path -> model``, called for each candidate (the caller's
            strategy scope and custom objects).
        steps_per_epoch: training steps per epoch; a checkpoint of epoch
            ``e`` must have taken ``e * steps_per_epoch`` steps.
        final: an optional ``(epoch, path)`` tried as well (a run's final
            ``model.keras``, whose checkpoints may already be gone).
        first_epoch: the epoch the optimizer's step counter started at (0,
            except for a tuning trial continued from another's weights).

    Returns:
        ``(epoch, model, damaged)``: ``(0, None, [])`` when there is nothing
        to resume from; ``damaged`` lists ``(path, problem)`` of the newer
        checkpoints that failed, already set aside as ``*.damaged``.

    Raises:
        NoUsableCheckpoint: the history records epochs but no checkpoint of
            them loads (the damaged ones are left where they are).
    """
    candidates = {(e, checkpoint_path(folder, e)) for e in checkpoint_epochs(folder)}
    if final is not None and Path(final[1]).is_file():
        candidates.add((int(final[0]), Path(final[1])))
    damaged = []
    for epoch, path in sorted(candidates, key=lambda c: c[0], reverse=True):
        if epoch > recorded_epoch:
            continue  # written, but the run stopped before the history row: train that epoch again
        problem = check_checkpoint_file(path)
        model = None
        if problem is None:
            try:
                model = load(path)
            except Exception as e:  # a damaged file fails in many ways (BadZipFile, h5py, ValueError, ...)
                problem = f"it does not load ({type(e).__name__}: {_first_line(e)})"
        if problem is None:
            steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
            if steps != (epoch - first_epoch) * steps_per_epoch:
                problem = f"its step counter is {steps}, not {epoch - first_epoch} epochs x {steps_per_epoch} steps"
        if problem is None:
            for bad, _ in damaged:
                bad.replace(bad.with_name(bad.name + DAMAGED_SUFFIX))
            return epoch, model, damaged
        damaged.append((path, problem))
    if damaged:
        listed = "; ".join(f"{str(p)!r}: {problem}" for p, problem in damaged)
        raise NoUsableCheckpoint(
            f"No usable checkpoint to resume from ({listed}). Delete {str(Path(folder).parent)!r} "
            "(or rerun with --force) to train this run again from the start."
        )
    if recorded_epoch > 0:
        raise NoUsableCheckpoint(
            f"{str(Path(folder).parent)!r} records {recorded_epoch} finished epoch(s) but holds no checkpoint to "
            "resume them from. Delete it (or rerun with --force) to train this run again from the start."
        )
    return 0, None, []


def fallback_message(damaged, epoch, recorded_epoch):
    """One line for the user: which checkpoint was damaged and where the run goes on from."""
    names = ", ".join(f"{str(p)!r} ({problem})" for p, problem in damaged)
    cut = f"; the history is cut back from epoch {recorded_epoch} to {epoch}" if recorded_epoch > epoch else ""
    return (
        f"Damaged checkpoint {names}, set aside as *{DAMAGED_SUFFIX}; resuming from epoch {epoch} instead{cut}, "
        "and the epochs after it are trained again."
    )


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
