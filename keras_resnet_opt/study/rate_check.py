"""Was the rate tuned at one budget still the right one at a longer budget? A one-seed check beside a study.

The 30-epoch arm trains every optimizer at the rate its 10-epoch search chose
on validation; a longer budget can move the best rate. ``STUDY/rate-check/runs/``
holds runs of the study's own configuration at other rates (3x and /3 of the
tuned one) for some optimizers, at one seed; `rate_check_rows` sets each
beside the study's run of the same optimizer, workload and seed. Selection
stays on validation: the rate with the lowest final validation error at that
seed is named, and the study's seed-to-seed spread of that error at the tuned
rate is shown beside it, so a reader can see whether the difference is
larger than what a change of seed does. One seed checks; it does not decide.
"""

import math
from pathlib import Path

import pandas as pd

from keras_resnet_opt.study.measures import final_metrics
from keras_resnet_opt.study.runs import load_study, variant_sort_key

RATE_CHECK_DIR = "rate-check"  # inside the study folder; its runs/ holds the check's runs
COLUMNS = ("variant", "workload", "seed", "learning_rate", "rate_factor", "val_error", "test_error", "train_loss",
           "run")  # fmt: skip


def is_tuned(rate_factor):
    """True for a run at the tuned rate (a factor of 1 up to float rounding)."""
    return math.isclose(rate_factor, 1.0, rel_tol=1e-6)


def factor_text(factor):
    """``tuned``, ``x3`` or ``/3``: a rate as a factor of the tuned one, as the reports write it."""
    if is_tuned(factor):
        return "tuned"
    return f"x{factor:.3g}" if factor > 1 else f"/{1.0 / factor:.3g}"


def run_row(run, tuned_rate):
    """A run as one row of `COLUMNS`: its rate as a factor of ``tuned_rate`` and its final errors."""
    rate = float(run.config["learning_rate"])
    final = final_metrics(run)
    return {
        "variant": run.variant, "workload": run.workload, "seed": run.config.get("seed"), "learning_rate": rate,
        "rate_factor": rate / tuned_rate, "val_error": 1.0 - final["val_accuracy"],
        "test_error": final["test_error"], "train_loss": final["train_loss"], "run": run.name,
    }  # fmt: skip


def rate_check_rows(study_dir, study):
    """One row per finished run of the check and per study run it is set beside.

    Returns:
        A DataFrame with `COLUMNS` (errors as fractions; ``rate_factor`` the
        run's rate over the study run's), ordered by variant, then rate; empty
        when the study has no check. A check run whose partner (same variant,
        workload and seed) has not finished yet is left out.
    """
    check_dir = Path(study_dir) / RATE_CHECK_DIR
    if not (check_dir / "runs").is_dir():
        return pd.DataFrame(columns=COLUMNS)
    partners = {(r.variant, r.workload, r.config.get("seed")): r for r in study.ended_runs if r.status == "finished"}
    rows, seen = [], set()
    for run in load_study(check_dir).ended_runs:
        partner = partners.get((run.variant, run.workload, run.config.get("seed")))
        if run.status != "finished" or partner is None:
            continue
        tuned = float(partner.config["learning_rate"])
        rows.append(run_row(run, tuned))
        if partner.name not in seen:
            seen.add(partner.name)
            rows.append(run_row(partner, tuned))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if frame.empty:
        return frame
    order = frame["variant"].map(variant_sort_key)
    return frame.assign(_order=order).sort_values(["_order", "learning_rate"]).drop(columns="_order").reset_index(
        drop=True
    )


def seed_spread(study, variant, workload):
    """Sample standard deviation (ddof 1) of the final validation error over the
    study's finished runs of ``variant`` at ``workload``; NaN under two runs."""
    values = [1.0 - final_metrics(r)["val_accuracy"] for r in study.ended_runs
              if r.status == "finished" and r.variant == variant and r.workload == workload]  # fmt: skip
    values = [v for v in values if math.isfinite(v)]
    return float(pd.Series(values).std(ddof=1)) if len(values) >= 2 else math.nan


def _compared(rows):
    """Per (variant, seed) of `rate_check_rows` that has the tuned run and another to compare:
    ``((variant, seed), its rows with a validation error, which of them is tuned, the tuned one's error)``."""
    for key, group in rows.groupby(["variant", "seed"], sort=False):
        group = group[group["val_error"].notna()]
        at_tuned = group["rate_factor"].map(is_tuned)
        if not at_tuned.any() or len(group) < 2:
            continue
        yield key, group, at_tuned, float(group.loc[at_tuned, "val_error"].iloc[0])


def best_on_validation(rows):
    """``{(variant, seed): (best rate_factor, its val error - the tuned rate's)}`` from
    `rate_check_rows`; a tie goes to the tuned rate, and a variant without a finite
    validation error (no validation split) is left out."""
    out = {}
    for key, group, at_tuned, tuned_error in _compared(rows):
        best = group.assign(_not_tuned=~at_tuned).sort_values(["val_error", "_not_tuned"]).iloc[0]
        out[key] = (float(best["rate_factor"]), float(best["val_error"]) - tuned_error)
    return out


def ties_with_tuned(rows):
    """``{(variant, seed): [rate_factor, ...]}``: the other rates whose final validation
    error equals the tuned rate's (the ties `best_on_validation` gives to the tuned rate)."""
    return {key: [float(f) for f in group.loc[~at_tuned & (group["val_error"] == tuned_error), "rate_factor"]]
            for key, group, at_tuned, tuned_error in _compared(rows)}  # fmt: skip
