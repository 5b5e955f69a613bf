"""The descriptive statistics over seeds: the summary per optimizer, per-epoch curves, the profile.

Everything is computed per *workload* (model, preset, epochs, training subset:
see `runs.workload_of`) and per *variant* (optimizer, with Padam's p sweep
apart: see `runs.variant_of`), from the per-run measures of `measures` (which
defines each one). Only runs that ended (wrote a manifest) count; diverged
runs count too, and the table says how many diverged.

This module describes; it never compares. Its intervals are unpaired
two-sided 95% Student-t intervals over seeds, ``mean ± t_{0.975, n-1} * s /
sqrt(n)``, for reading one optimizer's spread; with one seed the interval is
undefined and reported as NaN ("n/a"). Whether two optimizers differ is
decided in `contrasts`, on paired differences, never from whether these
intervals overlap: overlap is absence of evidence, not evidence of equality,
and it ignores that runs with the same seed share their initial weights,
data order and augmentation.

Time to the validation-accuracy target is summarised by the Kaplan-Meier
median (runs that never reach it are censored at their last epoch, not
dropped) and "reached in k of n".

The frames here are numbers; `tables` writes them down (``summary.md``,
``.tex``, ``.csv`` through `export_summary`, re-exported below for the
callers that reach it here).
"""

import math

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from keras_resnet_opt.study import measures, stats
from keras_resnet_opt.study.runs import Study, is_main_variant, seed_key, variant_sort_key
from keras_resnet_opt.study.stats import CONFIDENCE
from keras_resnet_opt.study.tables import export_summary, fmt_setting, summary_to_latex, summary_to_markdown
from keras_resnet_opt.training.run_folder import STATUS_DIVERGED

# ---------------------------------------------------------------------------
# Intervals
# ---------------------------------------------------------------------------


def t_half_width(std, n, confidence=CONFIDENCE):
    """Half-width of the two-sided t-interval for a mean of `n` values with sample std `std`.

    Works elementwise on arrays; NaN where n < 2 (undefined with one value).
    """
    std = np.asarray(std, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        quantile = scipy_stats.t.ppf(0.5 + confidence / 2.0, np.maximum(n - 1.0, 1.0))
        half = quantile * std / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return half if half.ndim else float(half)


def mean_ci(values, confidence=CONFIDENCE):
    """``(mean, half_width, n)`` of the finite values; half_width is NaN for n < 2."""
    x = np.asarray(list(values), dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, 0
    std = float(np.std(x, ddof=1)) if n > 1 else math.nan
    return float(np.mean(x)), float(t_half_width(std, n, confidence)), n


# ---------------------------------------------------------------------------
# The summary table
# ---------------------------------------------------------------------------

SUMMARY_COLUMNS = (
    "workload", "variant", "main", "optimizer", "partial", "n", "n_diverged", "seeds",
    "test_error_mean", "test_error_ci", "val_error_mean", "val_error_ci", "best_val_accuracy_mean",
    "train_loss_mean", "train_loss_ci", "train_error_mean", "gen_gap_mean", "gen_gap_ci",
    "train_loss_25_mean", "train_loss_50_mean", "target_val_accuracy", "target_epoch_median",
    "target_steps_median", "n_reached_target", "smoothness_test_mean", "smoothness_test_ci",
    "smoothness_val_mean", "step_time_ms_median", "confidence",
)  # fmt: skip


def _sort_summary(frame):
    keys = [(w, variant_sort_key(v)) for w, v in zip(frame["workload"], frame["variant"])]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return frame.iloc[order].reset_index(drop=True)


def censored_median(group, value):
    """Kaplan-Meier median of ``target_<value>`` (epoch or steps), censored at the run's end."""
    reached = group["target_reached"].to_numpy(dtype=bool)
    per_epoch = group["steps_per_epoch"].to_numpy(dtype=float) if value == "steps" else 1.0
    censor_at = group["epochs_completed"].to_numpy(dtype=float) * per_epoch
    times = np.where(reached, group[f"target_{value}"].to_numpy(dtype=float), censor_at)
    if not np.isfinite(times).all():
        return math.nan
    return stats.kaplan_meier_median(times, reached)


def summarize(runs, target_val_accuracy=None, confidence=CONFIDENCE, per_run=None):
    """The descriptive table: one row per (workload, variant) with means and unpaired intervals.

    Args:
        runs: a `Study` or an iterable of `RunRecord`; unfinished runs are left out.
        target_val_accuracy: the declared validation-accuracy target (a
            fraction) for the time-to-target columns, or None.
        confidence: coverage of the t-intervals (``*_ci`` columns are half-widths).
        per_run: `measures.run_measures` already computed for these runs.

    Returns:
        A DataFrame with `SUMMARY_COLUMNS`, ordered by workload then variant
        (`runs.variant_sort_key`: the optimizers' order, the p sweep by p); empty if
        no run ended.
    """
    per_run = measures.run_measures(runs, target_val_accuracy) if per_run is None else per_run
    if per_run.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    rows = []
    for (workload, variant), group in per_run.groupby(["workload", "variant"], sort=False):
        row = {
            "workload": workload,
            "variant": variant,
            "main": bool(group["main"].iloc[0]),
            "optimizer": group["optimizer"].iloc[0],
            "partial": group["partial"].iloc[0],
            "n": len(group),
            "n_diverged": int((group["status"] == STATUS_DIVERGED).sum()),
            "seeds": ",".join(str(s) for s in sorted(group["seed"].tolist(), key=seed_key)),
            "target_val_accuracy": float(group["target_val_accuracy"].iloc[0]),
            "confidence": confidence,
        }
        for metric in ("test_error", "val_error", "train_loss", "gen_gap", "smoothness_test"):
            mean, half, _ = mean_ci(group[metric], confidence)
            row[f"{metric}_mean"], row[f"{metric}_ci"] = mean, half
        for metric in ("best_val_accuracy", "train_error", "train_loss_25", "train_loss_50",
                       "smoothness_val"):  # fmt: skip
            row[f"{metric}_mean"] = mean_ci(group[metric], confidence)[0]
        has_target = math.isfinite(row["target_val_accuracy"])
        row["n_reached_target"] = int(group["target_reached"].sum()) if has_target else 0
        row["target_epoch_median"] = censored_median(group, "epoch") if has_target else math.nan
        row["target_steps_median"] = censored_median(group, "steps") if has_target else math.nan
        times = group["step_time_ms"].dropna()
        row["step_time_ms_median"] = float(np.median(times)) if len(times) else math.nan
        rows.append(row)
    return _sort_summary(pd.DataFrame(rows))[list(SUMMARY_COLUMNS)]


def variant_settings(runs):
    """Optimizer settings as run, per (workload, variant): lr, weight decay, p, schedule, batch.

    Covers every readable run (unfinished ones too). Values that differ between
    runs of a variant are listed, separated by "/".
    """
    rows = []
    for run in runs.runs if isinstance(runs, Study) else runs:
        rows.append(
            {
                "workload": run.workload,
                "variant": run.variant,
                "learning_rate": _run_setting(run, "learning_rate"),
                "weight_decay": _run_setting(run, "weight_decay"),
                "partial": run.partial if run.partial is not None else _run_setting(run, "partial", None),
                "lr_schedule": run.config.get("lr_schedule"),
                "batch_size": run.config.get("batch_size"),
            }
        )
    columns = ["workload", "variant", "learning_rate", "weight_decay", "partial", "lr_schedule", "batch_size"]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows, columns=columns)

    def distinct(values):
        seen = sorted({fmt_setting(v) for v in values})
        return "/".join(seen)

    table = frame.groupby(["workload", "variant"], sort=False).agg(distinct).reset_index()
    return _sort_summary(table)


def _run_setting(run, key, unknown="default"):
    """A hyperparameter as run, where None in the config means "the registry default".

    The config's value when set; else what the run recorded: the learning rate
    of its first epoch (history), the weight decay of the optimizer's config in
    the manifest (marked coupled or decoupled), any other key (a plug-in's p,
    which only its class knows) from that config too; else `unknown`.
    """
    value = run.config.get(key)
    if value is not None:
        return value
    optimizer_config = (run.manifest or {}).get("optimizer_config") or {}
    if key == "learning_rate":
        first = measures.column(run.history, "learning_rate").dropna()
        return float(first.iloc[0]) if len(first) else "default"
    if key == "weight_decay":
        for name, kind in (("coupled_weight_decay", "coupled"), ("weight_decay", "decoupled")):
            if _is_number(optimizer_config.get(name)) and optimizer_config[name]:
                return f"{optimizer_config[name]:g} ({kind})"
        return 0.0 if optimizer_config else "default"
    recorded = optimizer_config.get(key)
    return recorded if _is_number(recorded) else unknown


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# ---------------------------------------------------------------------------
# Per-epoch curves and the performance profile
# ---------------------------------------------------------------------------


CURVE_METRICS = ("loss", "test_error", "val_error")


def run_curves(runs):
    """Every ended run's per-epoch curves, long: one row per (run, epoch).

    Columns workload, variant, main, run, seed, epoch, and the `CURVE_METRICS`
    (train loss, test error, validation error as fractions); non-finite values
    (a diverged run's inf loss) become NaN. The figures draw each seed from it.
    """
    frames = []
    for run in measures.ended_runs(runs):
        history = run.history
        frame = pd.DataFrame({"epoch": history["epoch"].to_numpy()})
        values = {
            "loss": measures.column(history, "loss"),
            "test_error": measures.test_error_series(history),
            "val_error": measures.val_error_series(history),
        }
        for metric in CURVE_METRICS:
            frame[metric] = values[metric].replace([np.inf, -np.inf], np.nan).to_numpy()
        frame.insert(0, "seed", run.config.get("seed"))
        frame.insert(0, "run", run.name)
        frame.insert(0, "main", is_main_variant(run.variant))
        frame.insert(0, "variant", run.variant)
        frame.insert(0, "workload", run.workload)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["workload", "variant", "main", "run", "seed", "epoch", *CURVE_METRICS])
    return pd.concat(frames, ignore_index=True)


def epoch_curves(runs, metrics=("loss", "test_error"), confidence=CONFIDENCE):
    """Mean and (unpaired) interval half-width of each metric per (workload, variant, epoch).

    Non-finite values (a diverged run's inf/NaN loss) are left out, so ``n``
    (the runs behind a point) can drop at late epochs.

    Returns:
        Columns workload, variant, main, epoch, n, then ``<metric>_mean`` and
        ``<metric>_ci`` for each metric; ordered by workload, variant, epoch.
    """
    long = run_curves(runs)
    columns = ["workload", "variant", "main", "epoch", "n"] + [f"{m}_{s}" for m in metrics for s in ("mean", "ci")]
    if long.empty:
        return pd.DataFrame(columns=columns)
    grouped = long.groupby(["workload", "variant", "epoch"], sort=False)
    out = grouped.size().rename("n").reset_index()
    for metric in metrics:
        agg = grouped[metric].agg(["mean", "std", "count"]).reset_index(drop=True)
        out[f"{metric}_mean"] = agg["mean"].to_numpy()
        out[f"{metric}_ci"] = t_half_width(agg["std"].to_numpy(), agg["count"].to_numpy(), confidence)
    out["main"] = out["variant"].map(is_main_variant)
    keys = [(w, variant_sort_key(v), e) for w, v, e in zip(out["workload"], out["variant"], out["epoch"])]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return out.iloc[order].reset_index(drop=True)[columns]


def performance_profile(summary, taus=None, metric="test_error_mean"):
    """Performance profile of the main variants across workloads.

    For each workload, a variant's ratio is its `metric` over the best (lowest)
    in that workload; its profile at tau is the fraction of all workloads in
    which its ratio is at most tau (a workload it was not run on counts as a
    miss).

    Returns:
        A DataFrame indexed by tau (every ratio that occurs, 1 and a margin
        above the largest) with one column per variant.
    """
    main = summary[summary["main"].astype(bool)]
    table = main.pivot_table(index="workload", columns="variant", values=metric, aggfunc="first")
    table = table[sorted(table.columns, key=variant_sort_key)]
    ratios = table.div(table.min(axis=1), axis=0).replace([np.inf, -np.inf], np.nan)
    if taus is None:
        finite = ratios.to_numpy()[np.isfinite(ratios.to_numpy())]
        top = float(finite.max()) if finite.size else 1.0
        taus = sorted({1.0, *finite.round(12).tolist(), round(max(top * 1.05, top + 0.05), 12)})
    n_workloads = len(table.index)
    profile = {
        variant: [float((ratios[variant] <= tau).sum()) / n_workloads if n_workloads else math.nan for tau in taus]
        for variant in table.columns
    }
    return pd.DataFrame(profile, index=pd.Index(list(taus), name="tau"))


__all__ = [
    "CURVE_METRICS", "SUMMARY_COLUMNS", "censored_median", "epoch_curves", "export_summary", "mean_ci",
    "performance_profile", "run_curves", "summarize", "summary_to_latex", "summary_to_markdown", "t_half_width",
    "variant_settings",
]  # fmt: skip
