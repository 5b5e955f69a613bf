"""Copy what a campaign's jobs wrote in their clone back into the repository (`collect`).

The campaign (campaign.py) runs every job in a clone at a fixed commit; at
each stop, what those jobs wrote comes back into the working repository to be
committed: run folders, finished or not, tuning projects, the He run's
SavedModel, and the newest checkpoint of each hours-long run, so that it can
resume on whichever machine continues the campaign. The plan names what each
job writes (`campaign.Job.outputs`), so nothing else of the clone's (its older
copies of reports and declarations) comes back.
"""

import json
import os
import shutil
from pathlib import Path

from keras_resnet_opt.model_card import CARD
from keras_resnet_opt.training import run_folder
from keras_resnet_opt.tuning.options import RESUME_DIR

# What `collect` leaves behind: heavy files any run can regenerate (final
# .keras models, TensorBoard logs, Keras Tuner's per-trial weights, a tuning
# trial's resume point) and the per-epoch checkpoints of unfinished runs,
# except for jobs marked ``keep_checkpoints`` in the plan (runs that take
# hours, so their resume points travel with the repository to whichever
# machine continues them, until they finish).
SKIP_FILES = (run_folder.FINAL_MODEL, "checkpoint.weights.h5")  # the second: Keras Tuner's per-trial weights
SKIP_DIRS = (run_folder.TENSORBOARD_DIR, RESUME_DIR, run_folder.CHECKPOINT_DIR)


def _skipped(relative, job):
    """True for a file of `job`'s outputs that `collect` leaves behind (`relative` to the checkout)."""
    parts = relative.parts
    if parts[-1] in SKIP_FILES or parts[-1].startswith("."):  # dot files: atomic writes in flight
        return True
    # A model card lies in the export's folder but is written in the repository (model_card.py), not by a job.
    if parts[-1] == CARD and relative.parent in {Path(c) for c in job.collect}:
        return True
    for folder in parts[:-1]:
        if folder == run_folder.CHECKPOINT_DIR and job.keep_checkpoints:
            continue
        if folder in SKIP_DIRS:
            return True
    return False


def _read_histories(snapshot):
    """``{run folder: {file name: bytes}}``: each listed run's history files, read once, right after the listing.

    The history copied is the one read here, so the checkpoints copied beside
    it can be held to the epochs it records (`_copyable_checkpoint`).
    """
    histories = {}
    for path in snapshot:
        if path.name in (run_folder.HISTORY_JSON, run_folder.HISTORY_CSV):
            try:
                histories.setdefault(path.parent, {})[path.name] = path.read_bytes()
            except FileNotFoundError:
                continue
    return histories


def _recorded_epoch(history):
    """The last epoch a history.json's bytes record; 0 when it records none or cannot be read."""
    try:
        rows = json.loads(history.get(run_folder.HISTORY_JSON, b"[]"))
        return int(rows[-1]["epoch"]) if rows else 0
    except (ValueError, KeyError, TypeError, IndexError):
        return 0


def _copyable_checkpoint(path, listed, histories):
    """Whether a listed checkpoint of a kept run may be copied: a per-epoch checkpoint
    (no set-aside ``.damaged`` file), of an unfinished run, of an epoch the copied
    history records. A checkpoint ahead of its history would resume past a row the
    history never got (the campaign commit's trainer resumes from its newest
    checkpoint, whatever the history says)."""
    run = path.parent.parent
    epoch = run_folder.checkpoint_epoch(path.name)
    if epoch is None or run / run_folder.MANIFEST in listed:
        return False
    return epoch <= _recorded_epoch(histories.get(run, {}))


def _copy(path, target, data=None):
    """Copy ``path`` (or write ``data``) to ``target`` atomically when it differs; True when written."""
    if data is None:
        data = path.read_bytes()
    if target.is_file() and target.read_bytes() == data:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.collect")
    try:
        tmp.write_bytes(data)
        shutil.copystat(path, tmp)
    except FileNotFoundError:  # gone since it was read: the bytes are written all the same
        pass
    os.replace(tmp, target)
    return True


def _mirror_checkpoints(kept, checkpoints, listed, present, out):
    """Make the repository's checkpoint folder ``kept`` follow the clone's ``checkpoints`` as listed.

    A finished run needs no resume point: the folder goes. Otherwise epochs
    the clone has pruned go only once a newer copied one (``present``: names
    this collect copied or found identical) stands in the repository, so it
    holds the clone's checkpoints up to the newest its history records (one
    with the campaign commit's trainer, two with newer code), and never none.
    """
    files = sorted(p for p in kept.glob("*") if p.is_file())
    if checkpoints.parent / run_folder.MANIFEST in listed:
        for stale in files:
            stale.unlink()
            out(f"removed {stale} (the run has finished)")
    elif present:
        newest = max(run_folder.checkpoint_epoch(name) for name in present)
        for stale in files:
            epoch = run_folder.checkpoint_epoch(stale.name)
            if stale.name not in present and (epoch is None or epoch < newest):
                stale.unlink()
                out(f"removed {stale} (the run has moved past it)")
    if not any(kept.iterdir()):
        kept.rmdir()


def collect(code_dir, repo_dir, jobs, out=print):
    """Copy what the campaign's `jobs` wrote in ``code_dir`` into the repository at ``repo_dir``.

    Each job's outputs (`Job.outputs`: run folders, finished or not: config,
    history, manifest, test predictions; tuning projects: Keras Tuner's
    trial.json and oracle.json, each trial's history.csv; the He et al. run's
    SavedModel), without the heavy files in `SKIP_FILES`/`SKIP_DIRS`, and for
    a job marked ``keep_checkpoints`` its newest per-epoch checkpoint while it
    runs. Files are copied only when new or changed, atomically. Returns the
    repository paths written.

    The runs keep training while this copies. One listing of the clone's
    files, and each run's history read once right after it, serve the whole
    copy, so that whatever the trainer does meanwhile (write epoch N's
    checkpoint, then its history, then prune older checkpoints) the repository
    ends with a history and a checkpoint of an epoch that history records.
    """
    code_dir, repo_dir = Path(code_dir), Path(repo_dir)
    written = []
    for job in jobs:
        for top in job.outputs():
            source = code_dir / top
            if not source.exists():
                continue
            snapshot = sorted(p for p in source.rglob("*") if p.is_file())
            listed = set(snapshot)
            histories = _read_histories(snapshot) if job.keep_checkpoints else {}
            present = {}  # clone checkpoint folder -> names copied or already identical in the repository
            for path in snapshot:
                relative = path.relative_to(code_dir)
                if _skipped(relative, job):
                    continue
                is_checkpoint = path.parent.name == run_folder.CHECKPOINT_DIR
                if is_checkpoint and not _copyable_checkpoint(path, listed, histories):
                    continue
                try:
                    changed = _copy(path, repo_dir / relative, histories.get(path.parent, {}).get(path.name))
                except FileNotFoundError:  # pruned since the listing (an older checkpoint): nothing to copy
                    continue
                if changed:
                    written.append(repo_dir / relative)
                if is_checkpoint:
                    present.setdefault(path.parent, set()).add(path.name)
            if job.keep_checkpoints:
                for kept in sorted((repo_dir / top).rglob(run_folder.CHECKPOINT_DIR)):
                    checkpoints = code_dir / kept.relative_to(repo_dir)
                    _mirror_checkpoints(kept, checkpoints, listed, present.get(checkpoints, set()), out)
    out(f"collected {len(written)} changed file(s) into {repo_dir}")
    return written


__all__ = ["SKIP_DIRS", "SKIP_FILES", "collect"]
