"""Copy what a campaign's jobs wrote in their clone back into the repository (`collect`).

The campaign (campaign.py) runs every job in a clone at a fixed commit; at
each stop, what those jobs wrote comes back into the working repository to be
committed: run folders, finished or not, tuning projects, the He run's
SavedModel, and the newest checkpoint of each hours-long run, so that it can
resume on whichever machine continues the campaign. The plan names what each
job writes (`campaign.Job.outputs`), so nothing else of the clone's (its older
copies of reports and declarations) comes back.
"""

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


def _finished_runs_checkpoint(path, listed):
    """True for a per-epoch checkpoint of a run whose manifest is `listed`: a finished run, nothing resumes from it."""
    return path.parent.name == run_folder.CHECKPOINT_DIR and path.parent.parent / run_folder.MANIFEST in listed


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


def collect(code_dir, repo_dir, jobs, out=print):
    """Copy what the campaign's `jobs` wrote in ``code_dir`` into the repository at ``repo_dir``.

    Each job's outputs (`Job.outputs`: run folders, finished or not: config,
    history, manifest, test predictions; tuning projects: Keras Tuner's
    trial.json and oracle.json, each trial's history.csv; the He et al. run's
    SavedModel), without the heavy files in `SKIP_FILES`/`SKIP_DIRS`.
    Files are copied only when new or changed, atomically. Returns the
    repository paths written.
    """
    code_dir, repo_dir = Path(code_dir), Path(repo_dir)
    written = []
    for job in jobs:
        for top in job.outputs():
            source = code_dir / top
            if not source.exists():
                continue
            # One listing of the clone's files serves both the copy and the mirror below, so
            # that a run writing its next epoch meanwhile cannot leave the repository with a
            # history and no checkpoint that history vouches for (the trainer writes epoch
            # N's checkpoint, then its history, then prunes N-1).
            snapshot = sorted(p for p in source.rglob("*") if p.is_file())
            listed = set(snapshot)
            for path in snapshot:
                relative = path.relative_to(code_dir)
                if _skipped(relative, job) or _finished_runs_checkpoint(path, listed):
                    continue
                target = repo_dir / relative
                try:
                    if target.is_file() and target.read_bytes() == path.read_bytes():
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    tmp = target.with_name(f".{target.name}.collect")
                    shutil.copy2(path, tmp)
                except FileNotFoundError:  # pruned since the listing (an older checkpoint): nothing to copy
                    continue
                os.replace(tmp, target)
                written.append(target)
            # A kept checkpoint folder mirrors the clone's as listed: older epochs the run had
            # pruned go once a listed one is in the repository, so it holds one resume point,
            # not all of them, and never none; once the run has finished it needs none.
            if not job.keep_checkpoints:
                continue
            for kept in sorted((repo_dir / top).rglob(run_folder.CHECKPOINT_DIR)):
                checkpoints = code_dir / kept.relative_to(repo_dir)
                finished = checkpoints.parent / run_folder.MANIFEST in listed
                files = sorted(p for p in kept.glob("*") if p.is_file())
                if not finished and not any(checkpoints / p.name in listed for p in files):
                    continue  # the newest vanished before it could be copied: keep the older one
                for stale in files:
                    if finished:
                        stale.unlink()
                        out(f"removed {stale} (the run has finished)")
                    elif checkpoints / stale.name not in listed:
                        stale.unlink()
                        out(f"removed {stale} (the run has moved past it)")
                if not any(kept.iterdir()):
                    kept.rmdir()
    out(f"collected {len(written)} changed file(s) into {repo_dir}")
    return written


__all__ = ["SKIP_DIRS", "SKIP_FILES", "collect"]
