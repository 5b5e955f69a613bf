"""What a search writes beside its projects, merged with earlier searches of other optimizers:

    <output>                        {"best": {optimizer: {learning_rate, partial,
                                    weight_decay}}, "searches": {...}}, the format
                                    ``scripts/train.py --hparams`` reads
    <output dir>/trials.csv         one row per trial (`TRIAL_COLUMNS`)
    <output dir>/lr_sensitivity_<optimizer>.png, partial_sensitivity_padam.png
"""

import json
from pathlib import Path

import keras_tuner
import pandas as pd

from keras_resnet_opt.atomic import atomic_path, write_json
from keras_resnet_opt.config import safe_name_part
from keras_resnet_opt.optimizer_names import OPTIMIZER_NAMES
from keras_resnet_opt.search_files import TRIAL_COLUMNS
from keras_resnet_opt.study.plots_sweeps import plot_lr_sensitivity
from keras_resnet_opt.tuning.plots import plot_partial_sensitivity
from keras_resnet_opt.tuning.spaces import LEARNING_RATE, PARTIAL, TUNED_FIELDS, WEIGHT_DECAY
from keras_resnet_opt.tuning.tuners import RAN_BY

_COMPLETED = keras_tuner.engine.trial.TrialStatus.COMPLETED


def _float_or_none(value):
    return None if value is None else float(value)


def trials_table(tuner, optimizer, epochs):
    """One row per trial of ``tuner``'s oracle (columns `TRIAL_COLUMNS`), in trial order."""
    rows = []
    oracle = tuner.oracle
    for trial_id in sorted(oracle.trials, key=lambda t: (len(t), t)):
        trial = oracle.trials[trial_id]
        values = trial.hyperparameters.values
        ran_by = Path(tuner.project_dir) / f"trial_{trial_id}" / RAN_BY
        record = json.loads(ran_by.read_text()) if ran_by.is_file() else {}
        completed = trial.status == _COMPLETED
        rows.append({
            "optimizer": optimizer,
            "trial_id": str(trial_id),
            LEARNING_RATE: _float_or_none(values.get(LEARNING_RATE)),
            PARTIAL: _float_or_none(values.get(PARTIAL)),
            WEIGHT_DECAY: _float_or_none(values.get(WEIGHT_DECAY)),
            "val_accuracy": _float_or_none(trial.score) if completed else None,
            "status": str(trial.status).lower(),
            "epochs": int(values.get("tuner/epochs", epochs)),
            "tuner_id": record.get("tuner_id"),
            "replicas": record.get("replicas"),
            "train_loss": _float_or_none(trial.metrics.get_last_value("loss")) if completed else None,
        })
    return pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))


def best_values(tuner, space):
    """``({learning_rate, partial, weight_decay}, val_accuracy, trial_id)`` of the best
    completed trial (untuned fields None), or None when no trial completed."""
    completed = [t for t in tuner.oracle.get_best_trials(1) if t.status == _COMPLETED]
    if not completed:
        return None
    trial = completed[0]
    values = trial.hyperparameters.values
    tuned = set(space.tuned_names())
    best = {k: (float(values[k]) if k in tuned else None) for k in TUNED_FIELDS}
    return best, float(trial.score), str(trial.trial_id)


def first_failure(tuner):
    """The last line of the first failed trial's message ("no trial completed" if none)."""
    for trial in tuner.oracle.trials.values():
        if trial.message:
            return trial.message.strip().splitlines()[-1]
    return "no trial completed"


# What a replay of a finished search may write differently in its record: when, by
# which code and with how many threads; the rest is the search and its result.
_REPLAY_FIELDS = ("written", "code", "threads")


def write_best_hparams(path, best, records):
    """Merge ``best`` (and the search records) into the JSON at ``path``; returns the path.

    Entries of optimizers not searched now are kept, so searches of different
    optimizers can share one file. A record that says nothing new (a finished
    search run again, as a resumed campaign replays it, perhaps from another
    clone or commit) is kept as first written, with its ``written`` time and
    code: that is when and by what the search was done, and a replay must not
    rewrite a committed result file. Only the `_REPLAY_FIELDS` may differ.
    """
    path = Path(path)
    existing = json.loads(path.read_text()) if path.is_file() else {}
    if "best" not in existing:  # also accept a file in the unwrapped format
        existing = {"best": {k: v for k, v in existing.items() if isinstance(v, dict)}}
    searches = existing.setdefault("searches", {})
    existing["best"].update(best)
    for name, record in records.items():
        before = searches.get(name) or {}
        results = [{k: v for k, v in r.items() if k not in _REPLAY_FIELDS} for r in (before, record)]
        searches[name] = before if before and results[0] == results[1] else record
    write_json(path, existing)
    return path


def write_trials_table(path, trials, optimizers):
    """Replace the rows of ``optimizers`` in the CSV at ``path`` with ``trials``
    (registry order, then trial order). Returns ``(path, merged table)``."""
    path = Path(path)
    if path.is_file():
        old = pd.read_csv(path, dtype={"trial_id": str, "tuner_id": str})
        old = old[~old["optimizer"].isin(optimizers)]
        frames = [f for f in (old, trials) if len(f)]
        merged = pd.concat(frames, ignore_index=True) if frames else trials
    else:
        merged = trials
    order = {name: i for i, name in enumerate(OPTIMIZER_NAMES)}
    merged = merged.assign(_rank=merged["optimizer"].map(lambda o: order.get(o, len(order))),
                           _trial=merged["trial_id"].astype(int))
    merged = merged.sort_values(["_rank", "optimizer", "_trial"]).drop(columns=["_rank", "_trial"])
    merged = merged.reset_index(drop=True)
    with atomic_path(path) as tmp:
        merged.to_csv(tmp, index=False)
    return path, merged


def write_sensitivity_plots(folder, trials):
    """``lr_sensitivity_<optimizer>.png`` per optimizer with completed trials, and
    ``partial_sensitivity_<optimizer>.png`` for those with a p; returns the paths."""
    folder = Path(folder)
    done = trials[pd.to_numeric(trials["val_accuracy"], errors="coerce").notna()]
    written = []
    for name in dict.fromkeys(done["optimizer"]):
        rows = done[done["optimizer"] == name]
        path = folder / f"lr_sensitivity_{safe_name_part(name)}.png"
        plot_lr_sensitivity(rows, path=path)
        written.append(path)
        if pd.to_numeric(rows[PARTIAL], errors="coerce").notna().any():
            path = folder / f"partial_sensitivity_{safe_name_part(name)}.png"
            plot_partial_sensitivity(rows, optimizer=name, path=path)
            written.append(path)
    return written
