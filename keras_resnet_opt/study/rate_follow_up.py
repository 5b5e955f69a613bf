"""Declared paired contrasts at a rate other than the tuned one: the rate check's follow-up.

The rate check (`rate_check`) sets other rates beside the tuned one at a single
seed; it can show that an optimizer's best rate moved with the budget, but one
seed decides nothing. The follow-up trains the moved rate at the study's other
seeds and tests contrasts that were declared before those runs had results,
in ``STUDY/rate-check/declared.json``::

    {"declared_at": "2026-12-07T23:12:11+00:00", "metric": "test_error",
     "alpha": 0.05, "seeds": [0, 1, 2],
     "contrasts": [{"a": {"variant": "adam", "rate_factor": 0.3333},
                    "b": {"variant": "sgdm", "rate_factor": 1}}]}

A side is a variant at a factor of its tuned rate: factor 1 means the study's
own runs, any other factor the rate check's runs whose rate is that factor of
the study's (to 1e-3, so a rate written with six digits matches its factor).
Each contrast is the mean paired difference a - b over the declared seeds,
with its t-interval and two-sided paired-t p, and Holm's adjustment over the
declared family. Nothing is read until every contrast has all its seeds:
Holm over half a family, or a mean over some seeds, would be a different test
from the one declared.
"""

import json
import math
from pathlib import Path

import pandas as pd

from keras_resnet_opt.study import rate_check, stats
from keras_resnet_opt.study.rate_check import RATE_CHECK_DIR, factor_text

DECLARATION = "declared.json"  # inside the rate check's folder
METRICS = ("test_error", "val_error")  # columns of `rate_check.COLUMNS` a contrast may compare
COLUMNS = ("a", "b", "metric", "seeds", "n", "mean", "low", "high", "p", "p_holm", "reading")


def _side(raw, where):
    if not isinstance(raw, dict) or not isinstance(raw.get("variant"), str):
        raise ValueError(f"{where}: expected {{'variant': NAME, 'rate_factor': NUMBER}}, got {raw!r}.")
    factor = raw.get("rate_factor")
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 0:
        raise ValueError(f"{where}: rate_factor must be a positive number (1 is the tuned rate), got {factor!r}.")
    return raw["variant"], float(factor)


def load_declaration(study_dir):
    """The follow-up's declaration, checked; None when the study has none.

    Raises:
        ValueError: a declaration that cannot be read, naming the field to fix.
    """
    path = Path(study_dir) / RATE_CHECK_DIR / DECLARATION
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); fix or remove it.") from None
    metric = raw.get("metric", "test_error")
    if metric not in METRICS:
        raise ValueError(f"{path}: metric {metric!r} is not one of {sorted(METRICS)}.")
    seeds = raw.get("seeds")
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ValueError(f"{path}: 'seeds' must list the seeds the contrasts pair over, e.g. [0, 1, 2].")
    contrasts = raw.get("contrasts")
    if not isinstance(contrasts, list) or not contrasts:
        raise ValueError(f"{path}: 'contrasts' must list at least one {{'a': ..., 'b': ...}}.")
    pairs = [(_side(c.get("a"), f"{path}, contrast {i + 1}, a"), _side(c.get("b"), f"{path}, contrast {i + 1}, b"))
             for i, c in enumerate(contrasts)]  # fmt: skip
    return {"declared_at": raw.get("declared_at"), "metric": metric, "alpha": float(raw.get("alpha", 0.05)),
            "seeds": seeds, "contrasts": pairs}  # fmt: skip


def label(side):
    """``adam /3``, ``sgdm x3``, ``adam tuned``: a side as the report names it."""
    variant, factor = side
    return f"{variant} {factor_text(factor)}"


def side_values(checks, study, metric):
    """``{(variant, rate_factor, seed): final value}`` over the rate check's rows (``checks``, from
    `rate_check.rate_check_rows`) and every finished run of the study (factor 1, at every seed: a
    contrast against another variant's tuned runs needs seeds the check never ran)."""
    own = [rate_check.run_row(run, float(run.config["learning_rate"]))
           for run in study.ended_runs if run.status == "finished"]  # fmt: skip
    frames = [frame for frame in (pd.DataFrame(own, columns=rate_check.COLUMNS), checks) if not frame.empty]
    if not frames:
        return {}
    return {(r.variant, r.rate_factor, r.seed): getattr(r, metric) for r in pd.concat(frames).itertuples()}


def _value(values, side, seed):
    variant, factor = side
    for (v, f, s), value in values.items():
        if v == variant and s == seed and math.isclose(f, factor, rel_tol=1e-3):
            return value
    return None


def follow_up_rows(checks, study, declaration):
    """One row per declared contrast (`COLUMNS`; differences as fractions, ``seeds`` the paired ones),
    from the rate check's rows (``checks``, `rate_check.rate_check_rows`) and the study's runs.

    ``reading`` is "pending" while any contrast lacks one of the declared seeds; then
    "differs" where the Holm-adjusted p is at most alpha, else "not shown".
    """
    values = side_values(checks, study, declaration["metric"])
    rows = []
    for a, b in declaration["contrasts"]:
        seeds = [s for s in declaration["seeds"]
                 if _value(values, a, s) is not None and _value(values, b, s) is not None]  # fmt: skip
        t = stats.paired_t([_value(values, a, s) - _value(values, b, s) for s in seeds])
        low, high = t.interval()
        rows.append({"a": label(a), "b": label(b), "metric": declaration["metric"],
                     "seeds": " ".join(str(s) for s in seeds), "n": t.n, "mean": t.mean, "low": low, "high": high,
                     "p": t.p_two_sided()})  # fmt: skip
    complete = all(row["n"] == len(declaration["seeds"]) for row in rows)
    adjusted = stats.holm([row["p"] for row in rows]) if complete else [math.nan] * len(rows)
    for row, p_holm in zip(rows, adjusted):
        row["p_holm"] = float(p_holm)
        if not complete or not math.isfinite(p_holm):
            row["reading"] = "pending"
        else:
            row["reading"] = "differs" if p_holm <= declaration["alpha"] else "not shown"
    return pd.DataFrame(rows, columns=COLUMNS)


__all__ = ["DECLARATION", "follow_up_rows", "label", "load_declaration", "side_values"]
