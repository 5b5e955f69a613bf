"""A study's learning-rate searches, read back for its report: what was tried, what won, and what the runs used.

A study that tunes before its final runs keeps one search folder per
variant under ``STUDY/tuning/<name>/`` (the campaign's layout: ``sgdm``,
``padam``, ``padam-p0.25``, ...), each with the files
`keras_resnet_opt.search_files` names: ``trials.csv`` (written when the search
ends) and ``best_hparams.json`` (the winner and the search's record: grid,
starting points, seed, budget). A folder without ``trials.csv`` is a search
still running or never started; the report lists it as such.

What the report needs from them, and this module computes with pandas alone:

- per search, the final-epoch validation accuracy at every rate tried, the
  winner, and whether the winner sits on an edge of what was tried (a winner
  on an edge means the optimum may lie further out: the edge-extending grid
  keeps stepping out until it does not, or until its budget ends);
- the budget each search spent: the starting points and the extensions;
- whether the final runs of that variant used the chosen rate (a study whose
  runs trained at another rate than its tuning chose would not be what it says);
- whether the tuning seed is one no final run uses (selection must not see
  the final runs' seeds).
"""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from keras_resnet_opt.optimizer_names import PARTIAL_ENDS
from keras_resnet_opt.search_files import BEST_HPARAMS, TRIAL_COLUMNS, TRIALS_CSV
from keras_resnet_opt.study.aggregate import mean_ci
from keras_resnet_opt.study.runs import seed_key, variant_of, variant_sort_key

TUNING_DIR = "tuning"
COMPLETED = "completed"


@dataclasses.dataclass(frozen=True)
class Search:
    """One search folder, read.

    Attributes:
        name: the folder's name.
        path: the folder.
        trials: its ``trials.csv`` (one row per trial, a ``variant`` column
            added), or None while the search has not ended.
        record: the search's record from ``best_hparams.json``
            (``searches[optimizer]``), or None when absent.
    """

    name: str
    path: Path
    trials: pd.DataFrame | None
    record: dict | None

    @property
    def finished(self):
        return self.trials is not None


def _number(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value


def _fixed_partial(record):
    """The p a search held fixed (its space's only value), or None."""
    space = (record or {}).get("space") or {}
    partial = space.get("partial")
    if isinstance(partial, dict) and len(partial.get("values") or []) == 1:
        return float(partial["values"][0])
    return None


def _read_record(path):
    """``searches[optimizer]`` of a ``best_hparams.json`` holding one search, else None."""
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as f:
        searches = json.load(f).get("searches") or {}
    return next(iter(searches.values())) if len(searches) == 1 else None


def read_search(folder):
    """Read one search folder into a `Search`.

    Raises:
        ValueError: ``trials.csv`` lacks the trial columns (not a search's table).
    """
    folder = Path(folder)
    record = _read_record(folder / BEST_HPARAMS)
    trials = None
    if (folder / TRIALS_CSV).is_file():
        trials = pd.read_csv(folder / TRIALS_CSV)
        missing = [c for c in ("optimizer", "learning_rate", "val_accuracy", "status") if c not in trials.columns]
        if missing:
            raise ValueError(
                f"{folder / TRIALS_CSV} is not a search's trials table: missing columns {missing} "
                f"(expected {', '.join(TRIAL_COLUMNS)})."
            )
        fixed = _fixed_partial(record)
        partial = [p if math.isfinite(p) else fixed for p in (_number(v) for v in trials.get("partial", []))]
        if "partial" not in trials.columns:
            partial = [fixed] * len(trials)
        trials["partial"] = partial
        trials["variant"] = [variant_of(o, p) for o, p in zip(trials["optimizer"], trials["partial"])]
    return Search(name=folder.name, path=folder, trials=trials, record=record)


def read_searches(study_dir):
    """Every search folder under ``study_dir/tuning`` (none when there is no such folder), by variant order."""
    root = Path(study_dir) / TUNING_DIR
    if not root.is_dir():
        return ()
    searches = [read_search(p) for p in sorted(root.iterdir()) if p.is_dir()]

    def key(search):
        variant = search.trials["variant"].iloc[0] if search.finished and len(search.trials) else search.name
        return variant_sort_key(variant)

    return tuple(sorted(searches, key=key))


def all_trials(searches):
    """The finished searches' trials in one frame (for the sensitivity figure); None if there are none."""
    frames = [s.trials for s in searches if s.finished and len(s.trials)]
    return pd.concat(frames, ignore_index=True) if frames else None


def _edge(rates, best):
    """Where the winner sits among the rates tried: "low edge", "high edge", "interior" or "single point"."""
    if len(rates) < 2:
        return "single point"
    if math.isclose(best, rates[0], rel_tol=1e-6):
        return "low edge"
    if math.isclose(best, rates[-1], rel_tol=1e-6):
        return "high edge"
    return "interior"


def _run_rates(study, variant):
    """The distinct learning rates the study's runs of `variant` were configured with, sorted."""
    if study is None:
        return ()
    rates = {_number(r.config.get("learning_rate")) for r in study.runs if r.variant == variant}
    return tuple(sorted(r for r in rates if math.isfinite(r)))


def search_rows(searches, study=None):
    """One row per search: what was tried, what won, the budget spent, what the runs used.

    Returns:
        A DataFrame with columns search, variant, optimizer, partial, status
        (finished / not finished), trials, completed, initial (starting points
        of the grid), rates (tuple, ascending: every rate tried, failed
        trials' too, as the tuner counts them), val_accuracy (tuple, the mean
        final-epoch validation accuracy of the completed trials at each rate,
        NaN where none completed), best_lr, best_val_accuracy, edge (where the
        winner sits among every rate tried), seed, epochs, val_size (the
        validation images selection used), run_rates (tuple), runs_match
        (True / False / None when no run of the variant exists).
    """
    rows = []
    for search in searches:
        record = search.record or {}
        space = record.get("space") or {}
        lr_space = space.get("learning_rate") or {}
        row = {
            "search": search.name, "variant": search.name, "optimizer": space.get("optimizer"),
            "partial": _fixed_partial(record), "status": "finished" if search.finished else "not finished",
            "trials": 0, "completed": 0, "initial": len(lr_space.get("initial") or ()), "rates": (),
            "val_accuracy": (), "best_lr": math.nan, "best_val_accuracy": math.nan, "edge": "",
            "seed": record.get("seed"), "epochs": record.get("epochs"), "val_size": record.get("val_size"),
            "run_rates": (), "runs_match": None,
        }  # fmt: skip
        if search.finished and len(search.trials):
            trials = search.trials
            tried = sorted({r for r in (_number(v) for v in trials["learning_rate"]) if math.isfinite(r)})
            done = trials[(trials["status"].astype(str) == COMPLETED) & trials["val_accuracy"].notna()]
            by_rate = done.groupby(done["learning_rate"].astype(float))["val_accuracy"].mean()
            row.update(
                variant=str(trials["variant"].iloc[0]), optimizer=str(trials["optimizer"].iloc[0]),
                trials=len(trials), completed=len(done), rates=tuple(tried),
                val_accuracy=tuple(float(by_rate.get(r, math.nan)) for r in tried),
            )  # fmt: skip
            partial = [p for p in trials["partial"] if p is not None and math.isfinite(p)]
            row["partial"] = float(partial[0]) if partial else row["partial"]
            if len(by_rate):
                best = float(by_rate.idxmax())
                row.update(best_lr=best, best_val_accuracy=float(by_rate.max()), edge=_edge(row["rates"], best))
        row["run_rates"] = _run_rates(study, row["variant"])
        if row["run_rates"] and math.isfinite(row["best_lr"]):
            row["runs_match"] = all(math.isclose(r, row["best_lr"], rel_tol=1e-4) for r in row["run_rates"])
        rows.append(row)
    return pd.DataFrame(rows)


def tuning_seed_check(rows, study):
    """``(tuning seeds, final-run seeds, overlap)``: selection must not see a seed a final run uses."""
    seeds = (_number(s) for s in rows.get("seed", pd.Series(dtype=object)))
    tuning = sorted({int(s) if s.is_integer() else s for s in seeds if math.isfinite(s)}, key=seed_key)
    finals = sorted({r.config.get("seed") for r in study.runs} if study is not None else set(), key=seed_key)
    return tuning, finals, sorted(set(tuning) & set(finals), key=seed_key)


def p_analysis(per_run, workload, ends=PARTIAL_ENDS):
    """Padam at each p (at its own tuned rate), with the two ends, from the final runs.

    Args:
        ends: ``{variant: the p it stands for}``, Padam's limits (`PARTIAL_ENDS`).

    Returns:
        A DataFrame, one row per variant with a p plus the `ends` that ran:
        variant, partial (0 for SGD-momentum's end, 1/2 for AMSGrad's), n,
        val_error_mean, val_error_ci, test_error_mean, test_error_ci (fractions;
        ci = half-width of the unpaired 95% t-interval), ordered by p.
    """
    rows = per_run[per_run["workload"] == workload]
    swept = rows[rows["partial"].notna()]
    if swept.empty:
        return pd.DataFrame()
    out = []
    end_p = dict(ends)
    for variant, group in rows.groupby("variant", sort=False):
        if variant in end_p:
            p = end_p[variant]
        elif group["partial"].notna().all():
            p = float(group["partial"].iloc[0])
        else:
            continue
        entry = {"variant": variant, "partial": p, "n": len(group), "end": variant in end_p}
        for metric in ("val_error", "test_error"):
            mean, half, _ = mean_ci(group[metric])
            entry[f"{metric}_mean"], entry[f"{metric}_ci"] = mean, half
        out.append(entry)
    frame = pd.DataFrame(out)
    order = np.lexsort((frame["end"].to_numpy(), frame["partial"].to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


__all__ = ["Search", "all_trials", "p_analysis", "read_search", "read_searches", "search_rows", "tuning_seed_check"]
