"""How long a campaign has left: each unfinished run's epochs, at the pace of the campaign's own recent runs.

A rough estimate for whoever plans the sessions a long campaign still needs
(``scripts/campaign.py --status`` prints it). It reads only the plan, the
campaign's ``state.json`` and the runs' own histories, so it follows the
machine the campaign runs on now; searches are not estimated.
"""

import json
from pathlib import Path

from keras_resnet_opt.campaign import DONE, TRAIN_SCRIPT, flag_value, load_plan, read_state, recent_epoch_time
from keras_resnet_opt.config import RunConfig, make_config
from keras_resnet_opt.training import run_folder


def _job_config(job, code_dir):
    """A train job's `RunConfig`: its run folder's config.json once written, else resolved from its flags.

    The flags are resolved as train.py resolves them, without the tuned
    hparams (they set rates, not the epochs or the data); None when they
    cannot be (a plug-in, or a field or flag this code does not know).
    """
    written = code_dir / job.output_folder() / run_folder.CONFIG
    flags = {field: flag_value(job.argv, "--" + field.replace("_", "-"))
             for field in ("model", "epochs", "train_subset", "val_size")}  # fmt: skip
    try:
        if written.is_file():
            return RunConfig.from_dict(json.loads(written.read_text()))
        return make_config(
            flag_value(job.argv, "--preset") or "cpu-quick",
            **{k: v if k == "model" or v is None else int(v) for k, v in flags.items()},
        )
    except ValueError:
        return None


# How many of the most recently written run histories set the pace `time_left` extrapolates.
RECENT_RUNS = 4


def time_left(plan_path, campaign_dir, code_dir, workers):
    """A rough estimate of the work left: ``{"jobs", "worker_s", "machine_s", "unestimated"}``.

    Each unfinished train job's epochs left, times its training images, times
    the seconds per training image per epoch that this campaign's own
    most recently written runs took (each one's `recent_epoch_time`,
    evaluation included). So it follows the machine the campaign runs on now.
    ``machine_s`` spreads the work over `workers`, but never below the
    longest job left. Searches, and jobs whose config cannot be resolved, are
    named in ``unestimated``.
    """
    code_dir = Path(code_dir)
    records = read_state(campaign_dir)["jobs"]
    paces, left, unestimated = [], [], []
    for job in load_plan(plan_path):
        config = _job_config(job, code_dir) if job.argv[0] == TRAIN_SCRIPT else None
        history = run_folder.read_history(code_dir / job.output_folder()) if config else []
        epoch_s = recent_epoch_time(history)
        if epoch_s:
            written = (code_dir / job.output_folder() / run_folder.HISTORY_JSON).stat().st_mtime
            paces.append((written, epoch_s / config.expected_train_images()))
        if (records.get(job.name) or {}).get("status") == DONE:
            continue
        if config is None:
            unestimated.append(job.name)
            continue
        left.append(max(0, config.epochs - len(history)) * config.expected_train_images())
    recent = sorted(p for _, p in sorted(paces)[-RECENT_RUNS:])
    pace = recent[len(recent) // 2] if recent else float("nan")
    worker_s = sum(left) * pace
    longest = max(left, default=0) * pace
    return {
        "jobs": len(left) + len(unestimated),
        "worker_s": worker_s,
        "machine_s": max(worker_s / max(1, workers), longest),
        "unestimated": unestimated,
    }
