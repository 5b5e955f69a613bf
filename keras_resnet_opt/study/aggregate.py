"""Statistics over seeds: the summary table, per-epoch curves and their exports.

Everything is computed per *workload* (model, preset, epochs, training subset:
see `runs.workload_of`) and per *variant* (optimizer, with Padam's p sweep
apart: see `runs.variant_of`). Only runs that ended (wrote a manifest) count;
diverged runs count too, and the table says how many diverged.

Intervals are two-sided 95% Student-t intervals over seeds,
``mean ± t_{0.975, n-1} * s / sqrt(n)`` with the sample standard deviation
``s``; with one seed the interval is undefined and reported as NaN ("n/a").

Definitions used by the table (all documented here, once):

- final metrics: from the manifest's ``final`` block when it holds a number,
  else the last history row. Test error = 1 - test accuracy.
- generalisation gap: final test error minus final train error, where train
  error = 1 - the train accuracy measured during the last epoch (with
  augmentation, so the gap is a lower bound of the clean-data gap).
- early epoch: the end of the first quarter of training,
  ``ceil(epochs / 4)`` (epoch 50 of 200, the reproducibility report's first
  checkpoint); "converges faster" is judged there.
- time to target: the first epoch whose test accuracy reaches the target,
  and the cumulative wall time (``epoch_time_s``, evaluation included) up to
  it; averaged over the seeds that reached it, with the count that did.
  Without an explicit target, each workload uses the lowest of its main
  variants' mean final test accuracies, rounded down to a whole percent: a
  level every optimizer reaches on average by the end.
- step overhead: median ``step_time_ms`` of the variant over all its runs
  and epochs (epoch 1, which includes compilation, left out when there are
  more) divided by the same for plain "sgd" in the same workload.
- smoothness of the test-error curve: mean absolute epoch-to-epoch change of
  test error over the second half of training (epochs > epochs / 2), leaving
  out the changes into the epochs around a step-schedule boundary b (epochs
  e with b <= e <= b + 2, whichever way the boundary is counted): the decay's
  own jump, which every optimizer shares. Lower is smoother; in percentage
  points per epoch in the tables.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from keras_resnet_opt.atomic import write_text
from keras_resnet_opt.study.runs import Study, is_main_variant, variant_sort_key

CONFIDENCE = 0.95


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
        quantile = stats.t.ppf(0.5 + confidence / 2.0, np.maximum(n - 1.0, 1.0))
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
# Per-run measures
# ---------------------------------------------------------------------------


def early_epoch(epochs):
    """The epoch at which early convergence is judged: the end of the first quarter."""
    return max(1, math.ceil(int(epochs) / 4))


def _test_error(history):
    if "test_error" in history.columns:
        return history["test_error"].astype(float)
    if "test_accuracy" in history.columns:
        return 1.0 - history["test_accuracy"].astype(float)
    return pd.Series(np.nan, index=history.index)


def _column(history, name):
    if name in history.columns:
        return history[name].astype(float)
    return pd.Series(np.nan, index=history.index)


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def final_metrics(run):
    """Final test error, test accuracy, train loss, train error and val accuracy of a run.

    Taken from the manifest's ``final`` block where it holds a finite number,
    else from the last history row.
    """
    final = dict((run.manifest or {}).get("final") or {})
    last = run.history.iloc[-1] if len(run.history) else pd.Series(dtype=float)

    def pick(key, column):
        if _finite(final.get(key)):
            return float(final[key])
        value = last.get(column, math.nan) if len(last) else math.nan
        return float(value) if _finite(value) else math.nan

    test_accuracy = pick("test_accuracy", "test_accuracy")
    test_error = pick("test_error", "test_error")
    if math.isnan(test_error) and not math.isnan(test_accuracy):
        test_error = 1.0 - test_accuracy
    train_accuracy = pick("train_accuracy", "accuracy")
    return {
        "test_error": test_error,
        "test_accuracy": 1.0 - test_error if not math.isnan(test_error) else test_accuracy,
        "train_loss": pick("train_loss", "loss"),
        "train_error": 1.0 - train_accuracy,
        "val_accuracy": pick("val_accuracy", "val_accuracy"),
    }


def epochs_to_target(history, target_accuracy):
    """``(epoch, seconds)`` at which test accuracy first reaches the target, else NaNs.

    Seconds are the cumulative ``epoch_time_s`` up to and including that epoch.
    """
    if target_accuracy is None or "test_accuracy" not in history.columns or not len(history):
        return math.nan, math.nan
    reached = history["test_accuracy"].astype(float) >= target_accuracy
    if not reached.any():
        return math.nan, math.nan
    position = int(np.argmax(reached.to_numpy()))
    seconds = _column(history, "epoch_time_s").cumsum().iloc[position]
    return float(history["epoch"].iloc[position]), float(seconds)


def curve_smoothness(history, epochs=None, lr_boundaries=()):
    """Mean absolute epoch-to-epoch change of test error over the second half of training.

    Args:
        history: per-epoch history (``epoch`` and ``test_error`` or ``test_accuracy``).
        epochs: the training length that defines "second half"; defaults to the
            last recorded epoch.
        lr_boundaries: step-schedule boundaries (epochs, may be fractional);
            the changes into epochs b..b + 2 are left out, as the decay itself
            causes them.

    Returns:
        The mean absolute change (test error as a fraction, per epoch), or NaN
        with fewer than one usable change.
    """
    if not len(history):
        return math.nan
    epochs = int(epochs if epochs else history["epoch"].max())
    frame = pd.DataFrame({"epoch": history["epoch"].to_numpy(), "err": _test_error(history).to_numpy()})
    frame = frame[frame["epoch"] > epochs / 2.0].sort_values("epoch")
    change = frame["err"].diff().abs()
    consecutive = frame["epoch"].diff() == 1
    near_boundary = pd.Series(False, index=frame.index)
    for boundary in lr_boundaries or ():
        near_boundary |= (frame["epoch"] >= float(boundary)) & (frame["epoch"] <= float(boundary) + 2)
    usable = consecutive & ~near_boundary & change.notna()
    return float(change[usable].mean()) if usable.any() else math.nan


def _step_times_after_warmup(history):
    times = _column(history, "step_time_ms")
    if len(history) > 1:
        times = times[history["epoch"] > history["epoch"].min()]
    return times.dropna().tolist()


def _ended_runs(runs):
    if isinstance(runs, Study):
        runs = runs.runs
    return [r for r in runs if r.ended]


def run_metrics(runs, target_accuracy=None):
    """One row per ended run with every per-run measure the summary averages.

    Args:
        runs: a `Study` or an iterable of `RunRecord`; unfinished runs are skipped.
        target_accuracy: test accuracy to time (a fraction), or None for the
            per-workload default (see the module docstring).
    """
    rows = []
    for run in _ended_runs(runs):
        history = run.history
        final = final_metrics(run)
        early = early_epoch(run.epochs or run.epochs_completed or 1)
        early_row = history[history["epoch"] == early]
        schedule = run.config.get("lr_schedule", "step")
        boundaries = (run.config.get("lr_boundaries") or ()) if schedule == "step" else ()
        val = _column(history, "val_accuracy").dropna()
        rows.append(
            {
                "run": run.name,
                "workload": run.workload,
                "variant": run.variant,
                "main": is_main_variant(run.variant),
                "optimizer": run.optimizer,
                "partial": run.partial,
                "seed": run.config.get("seed"),
                "status": run.status,
                "epochs": run.epochs,
                "epochs_completed": run.epochs_completed,
                "test_error": final["test_error"],
                "test_accuracy": final["test_accuracy"],
                "train_loss": final["train_loss"],
                "train_error": final["train_error"],
                "gen_gap": final["test_error"] - final["train_error"],
                "best_val_accuracy": float(val.max()) if len(val) else math.nan,
                "early_epoch": early,
                "early_test_error": float(_test_error(early_row).iloc[0]) if len(early_row) else math.nan,
                "early_train_loss": float(_column(early_row, "loss").iloc[0]) if len(early_row) else math.nan,
                "smoothness": curve_smoothness(history, run.epochs or None, boundaries),
                "step_times_ms": _step_times_after_warmup(history),
                "_history": history,
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    targets = resolve_targets(frame, target_accuracy)
    frame["target_accuracy"] = frame["workload"].map(targets)
    timed = [epochs_to_target(h, t) for h, t in zip(frame["_history"], frame["target_accuracy"])]
    frame["epochs_to_target"] = [e for e, _ in timed]
    frame["seconds_to_target"] = [s for _, s in timed]
    return frame.drop(columns="_history")


def resolve_targets(run_frame, target_accuracy=None):
    """Target test accuracy per workload: the given one, or the default rule.

    The default is the lowest of the workload's main variants' mean final test
    accuracies, rounded down to a whole percent (NaN if nothing finished).

    Raises:
        ValueError: `target_accuracy` is not a fraction in (0, 1].
    """
    workloads = sorted(run_frame["workload"].unique())
    if target_accuracy is not None:
        if not 0.0 < float(target_accuracy) <= 1.0:
            raise ValueError(
                f"`target_accuracy` must be a fraction in (0, 1]. Received: target_accuracy={target_accuracy}"
            )
        return {w: float(target_accuracy) for w in workloads}
    targets = {}
    for workload in workloads:
        rows = run_frame[(run_frame["workload"] == workload) & run_frame["main"]]
        if rows.empty:
            rows = run_frame[run_frame["workload"] == workload]
        means = rows.groupby("variant")["test_accuracy"].mean().dropna()
        targets[workload] = math.floor(means.min() * 100.0 + 1e-9) / 100.0 if len(means) else math.nan
    return targets


# ---------------------------------------------------------------------------
# The summary table
# ---------------------------------------------------------------------------

SUMMARY_COLUMNS = (
    "workload", "variant", "main", "optimizer", "partial", "n", "n_diverged", "seeds",
    "test_error_mean", "test_error_ci", "best_val_accuracy_mean", "train_loss_mean",
    "train_loss_ci", "train_error_mean", "gen_gap_mean", "gen_gap_ci", "early_epoch",
    "early_test_error_mean", "early_test_error_ci", "early_train_loss_mean",
    "early_train_loss_ci", "target_accuracy", "epochs_to_target_mean",
    "seconds_to_target_mean", "n_reached_target", "step_time_ms_median",
    "step_overhead_vs_sgd", "smoothness_mean", "smoothness_ci", "confidence",
)  # fmt: skip


def _seed_key(seed):
    return (0, seed, "") if isinstance(seed, (int, float)) else (1, 0, str(seed))


def _sort_summary(frame):
    keys = [(w, variant_sort_key(v)) for w, v in zip(frame["workload"], frame["variant"])]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return frame.iloc[order].reset_index(drop=True)


def summarize(runs, target_accuracy=None, confidence=CONFIDENCE):
    """The summary table: one row per (workload, variant) with means and intervals.

    Args:
        runs: a `Study` or an iterable of `RunRecord`; unfinished runs are left out.
        target_accuracy: test accuracy (fraction) for the time-to-target
            columns, or None for the per-workload default.
        confidence: coverage of the t-intervals (``*_ci`` columns are half-widths).

    Returns:
        A DataFrame with `SUMMARY_COLUMNS`, ordered by workload then variant
        (`runs.OPTIMIZER_ORDER`, the p sweep by p); empty if no run ended.
    """
    per_run = run_metrics(runs, target_accuracy)
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
            "n_diverged": int((group["status"] == "diverged").sum()),
            "seeds": ",".join(str(s) for s in sorted(group["seed"].tolist(), key=_seed_key)),
            "early_epoch": int(group["early_epoch"].max()),
            "target_accuracy": float(group["target_accuracy"].iloc[0]),
            "confidence": confidence,
        }
        for metric in ("test_error", "train_loss", "gen_gap", "early_test_error", "early_train_loss", "smoothness"):
            mean, half, _ = mean_ci(group[metric], confidence)
            row[f"{metric}_mean"], row[f"{metric}_ci"] = mean, half
        for metric in ("best_val_accuracy", "train_error", "epochs_to_target", "seconds_to_target"):
            row[f"{metric}_mean"] = mean_ci(group[metric], confidence)[0]
        row["n_reached_target"] = int(group["epochs_to_target"].notna().sum())
        times = [t for ts in group["step_times_ms"] for t in ts]
        row["step_time_ms_median"] = float(np.median(times)) if times else math.nan
        rows.append(row)
    summary = pd.DataFrame(rows)
    sgd_time = summary[summary["variant"] == "sgd"].set_index("workload")["step_time_ms_median"]
    summary["step_overhead_vs_sgd"] = summary["step_time_ms_median"] / summary["workload"].map(sgd_time).astype(float)
    return _sort_summary(summary)[list(SUMMARY_COLUMNS)]


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
                "partial": run.partial,
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


def _run_setting(run, key):
    """A hyperparameter as run, where None in the config means "the registry default".

    The config's value when set; else what the run recorded: the learning rate
    of its first epoch (history), the weight decay of the optimizer's config in
    the manifest (marked coupled or decoupled); else "default".
    """
    value = run.config.get(key)
    if value is not None:
        return value
    optimizer_config = (run.manifest or {}).get("optimizer_config") or {}
    if key == "learning_rate":
        first = _column(run.history, "learning_rate").dropna()
        return float(first.iloc[0]) if len(first) else "default"
    if key == "weight_decay":
        for name, kind in (("coupled_weight_decay", "coupled"), ("weight_decay", "decoupled")):
            if _finite(optimizer_config.get(name)) and optimizer_config[name]:
                return f"{optimizer_config[name]:g} ({kind})"
        return 0.0 if optimizer_config else "default"
    recorded = optimizer_config.get(key)
    return recorded if _finite(recorded) else "default"


def fmt_setting(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---------------------------------------------------------------------------
# Per-epoch curves and the performance profile
# ---------------------------------------------------------------------------


def epoch_curves(runs, metrics=("loss", "test_error"), confidence=CONFIDENCE):
    """Mean and interval half-width of each metric per (workload, variant, epoch).

    Non-finite values (a diverged run's inf/NaN loss) are left out, so ``n``
    (the runs behind a point) can drop at late epochs.

    Returns:
        Columns workload, variant, main, epoch, n, then ``<metric>_mean`` and
        ``<metric>_ci`` for each metric; ordered by workload, variant, epoch.
    """
    frames = []
    for run in _ended_runs(runs):
        history = run.history
        frame = pd.DataFrame({"epoch": history["epoch"].to_numpy()})
        for metric in metrics:
            values = _test_error(history) if metric == "test_error" else _column(history, metric)
            frame[metric] = values.replace([np.inf, -np.inf], np.nan).to_numpy()
        frame["workload"], frame["variant"] = run.workload, run.variant
        frames.append(frame)
    columns = ["workload", "variant", "main", "epoch", "n"] + [f"{m}_{s}" for m in metrics for s in ("mean", "ci")]
    if not frames:
        return pd.DataFrame(columns=columns)
    grouped = pd.concat(frames, ignore_index=True).groupby(["workload", "variant", "epoch"], sort=False)
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


# ---------------------------------------------------------------------------
# Exports: CSV, Markdown, LaTeX
# ---------------------------------------------------------------------------


def fmt_pm(mean, half, scale=1.0, digits=2):
    """``"mean ± half"``, ``"mean ± n/a"`` for an undefined interval, ``"n/a"`` for no value."""
    if mean is None or not math.isfinite(mean):
        return "n/a"
    text = f"{mean * scale:.{digits}f}"
    if half is None or not math.isfinite(half):
        return f"{text} ± n/a"
    return f"{text} ± {half * scale:.{digits}f}"


def fmt_value(value, scale=1.0, digits=2, suffix=""):
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value * scale:.{digits}f}{suffix}"


def _table_rows(summary):
    """(header, rows) of the human-readable summary for one workload."""
    target = summary["target_accuracy"].iloc[0] if len(summary) else math.nan
    target_text = f"{target * 100:g}%" if math.isfinite(target) else "target"
    confidence = summary["confidence"].iloc[0] if len(summary) else CONFIDENCE
    header = [
        "Optimizer",
        "n",
        f"Final test error % (± {confidence * 100:g}% CI)",
        "Best val acc %",
        "Final train loss",
        "Gen. gap (pp)",
        f"Epochs to {target_text}",
        f"Time to {target_text} (s)",
        "Step time vs sgd",
        "Smoothness (pp/epoch)",
    ]
    rows = []
    for r in summary.itertuples(index=False):
        n_text = f"{r.n}" + (f" ({r.n_diverged} diverged)" if r.n_diverged else "")
        reached = f" ({r.n_reached_target}/{r.n})"
        rows.append(
            [
                r.variant,
                n_text,
                fmt_pm(r.test_error_mean, r.test_error_ci, 100.0),
                fmt_value(r.best_val_accuracy_mean, 100.0),
                fmt_pm(r.train_loss_mean, r.train_loss_ci, 1.0, 4),
                fmt_value(r.gen_gap_mean, 100.0),
                fmt_value(r.epochs_to_target_mean, 1.0, 1) + reached,
                fmt_value(r.seconds_to_target_mean, 1.0, 1),
                fmt_value(r.step_overhead_vs_sgd, 1.0, 2, "x"),
                fmt_value(r.smoothness_mean, 100.0, 3),
            ]
        )
    return header, rows


TABLE_NOTE = (
    "± is the half-width of the {conf}% t-interval over seeds (n/a with one seed: the interval is "
    "undefined). Gen. gap = final test error - final train error. Epochs/time to target: mean over "
    "the seeds that reached it (reached/total in brackets). Smoothness: mean absolute epoch-to-epoch "
    "change of test error over the second half of training (lower is smoother)."
)


def _workloads(summary):
    return list(dict.fromkeys(summary["workload"]))


def summary_to_markdown(summary, workload=None):
    """Markdown table(s) of the summary: one per workload, headed by its name when several.

    Args:
        summary: the frame from `summarize`.
        workload: render only this workload (no heading).
    """
    workloads = [workload] if workload is not None else _workloads(summary)
    parts = []
    for name in workloads:
        header, rows = _table_rows(summary[summary["workload"] == name])
        lines = []
        if workload is None and len(workloads) > 1:
            lines += [f"### {name}", ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        parts.append("\n".join(lines))
    if not parts:
        return "(no finished runs)\n"
    conf = summary["confidence"].iloc[0] * 100
    return "\n\n".join(parts) + "\n\n" + TABLE_NOTE.format(conf=f"{conf:g}") + "\n"


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip


def latex_escape(text):
    """Escape LaTeX's special characters in plain text."""
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def _latex_cell(text):
    return latex_escape(text).replace("±", r"$\pm$")


def summary_to_latex(summary):
    """LaTeX tabular(s) of the summary (plain ``tabular`` and ``\\hline``; no packages needed)."""
    blocks = []
    for name in _workloads(summary):
        header, rows = _table_rows(summary[summary["workload"] == name])
        lines = [
            f"% {latex_escape(name)}",
            r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}",
            r"\hline",
            " & ".join(_latex_cell(h) for h in header) + r" \\",
            r"\hline",
        ]
        lines += [" & ".join(_latex_cell(c) for c in row) + r" \\" for row in rows]
        lines += [r"\hline", r"\end{tabular}"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def export_summary(summary, directory, stem="summary"):
    """Write ``<stem>.csv``, ``<stem>.md`` and ``<stem>.tex`` atomically; returns their paths."""
    directory = Path(directory)
    paths = {kind: directory / f"{stem}.{kind}" for kind in ("csv", "md", "tex")}
    write_text(paths["csv"], summary.to_csv(index=False, lineterminator="\n"))
    write_text(paths["md"], summary_to_markdown(summary))
    write_text(paths["tex"], summary_to_latex(summary))
    return paths
