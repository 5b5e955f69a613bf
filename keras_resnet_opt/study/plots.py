"""The study's figures, drawn with matplotlib's object API (no pyplot, no global state).

Each ``plot_*`` function returns its `matplotlib.figure.Figure` (so callers and
tests can inspect lines and legend labels) and, given a path, saves it as PNG
(and PDF with ``pdf=True``) atomically: into a temporary file in the same
folder, then ``os.replace``. Saved files carry no timestamp, so the same data
gives the same bytes.

- `plot_train_loss`, `plot_test_error`: the Padam paper's two figures: each
  seed as a thin line and the mean over seeds as a thick one per optimizer,
  so a reader sees the spread itself; a t-band is drawn only where at least
  `MIN_BAND_SEEDS` seeds stand behind it (with two, a t-interval is wider
  than the data and runs past any sensible range).
- `plot_contrasts`: the forest plot of the paired contrasts, each with its
  95% paired interval, drawn by the decision the report made.
- `plot_p_sweep`: Padam's final validation and test error against p (log2
  axis), with SGD-momentum (the p -> 0 limit) and AMSGrad (p = 1/2) as
  reference lines.
- `plot_lr_sensitivity`: validation accuracy against learning rate from a
  tuning-trials table.
- `plot_performance_profile`: fraction of workloads within a factor tau of
  the best test error, per optimizer.
- `plot_budget_curves`: train loss and test error against epoch at several
  training budgets on the same axes.
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from keras_resnet_opt.atomic import atomic_path
from keras_resnet_opt.optimizer_names import DEFAULT_PARTIAL, PARTIAL_ENDS
from keras_resnet_opt.study import aggregate
from keras_resnet_opt.study.measures import first_epoch_after
from keras_resnet_opt.study.runs import display_name, is_main_variant, variant_of, variant_sort_key

FIGSIZE = (6.4, 4.2)
DPI = 120

# One colour per optimizer across every figure; Padam's p sweep and unknown
# names take the spare colours in order of appearance.
VARIANT_COLORS = {
    "sgd": "tab:gray",
    "sgdm": "tab:blue",
    "adam": "tab:orange",
    "nadam": "tab:brown",
    "amsgrad": "tab:green",
    "adamw": "tab:purple",
    "padam": "tab:red",
}
SPARE_COLORS = ("tab:pink", "tab:olive", "tab:cyan", "black", "gold", "navy", "teal", "maroon")

# Fewer seeds than this at an epoch: no band (the lines show the seeds instead).
MIN_BAND_SEEDS = 3

# Reference lines of the p-sweep plot: the limits Padam interpolates between.
_END_LABELS = {0.0: "p → 0 end", 0.5: "p = 1/2 end"}
P_SWEEP_REFERENCES = tuple(
    (name, f"{name} ({_END_LABELS[p]})", style) for (name, p), style in zip(PARTIAL_ENDS.items(), (":", "--"))
)


def variant_colors(variants):
    """Colour for each variant: fixed for the known optimizers, spares for the rest."""
    colors, spare = {}, iter(SPARE_COLORS * 4)
    for variant in variants:
        colors[variant] = VARIANT_COLORS.get(variant) or next(spare)
    return colors


def save_figure(fig, path, pdf=False):
    """Save `fig` as ``path`` with suffix .png (and .pdf) atomically; returns the paths."""
    path = Path(path)
    # No "Software" (PNG) or creation date (PDF): the bytes depend on the data only.
    formats = [("png", {"Software": None})] + ([("pdf", {"CreationDate": None})] if pdf else [])
    written = []
    for fmt, metadata in formats:
        target = path.with_suffix(f".{fmt}")
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata, bbox_inches="tight")
        written.append(target)
    return written


def _new_axes():
    fig = Figure(figsize=FIGSIZE)
    return fig, fig.add_subplot()


def _select_workload(frame, workload):
    workloads = list(dict.fromkeys(frame["workload"]))
    if workload is None:
        if len(workloads) > 1:
            raise ValueError(f"Several workloads in the data; pass `workload`. Received workloads: {workloads}")
        workload = workloads[0] if workloads else None
    return frame[frame["workload"] == workload], workload


def _draw_curves(ax, curves, per_run, metric, scale, log, variants, colors, limits, window=None):
    """Per-seed thin lines, the mean as a thick line, and a t-band where `MIN_BAND_SEEDS` seeds stand behind it.

    ``window`` (first epoch) restricts the drawing to the epochs from there on; returns the drawn values, so a
    zoomed panel can set its y-range from the lines rather than from the bands.
    """
    drawn = []

    def keep(frame):
        return frame if window is None else frame[frame["epoch"] >= window]

    for variant in variants:
        if per_run is not None and len(per_run):
            own = keep(per_run[per_run["variant"] == variant])
            for _, seed_rows in own.groupby("run", sort=True):
                seed_rows = seed_rows.sort_values("epoch")
                values = seed_rows[metric].to_numpy(dtype=float) * scale
                ax.plot(seed_rows["epoch"].to_numpy(), values, color=colors[variant], linewidth=0.7, alpha=0.45)
                drawn.append(values)
        rows = keep(curves[curves["variant"] == variant]).sort_values("epoch")
        epochs = rows["epoch"].to_numpy()
        mean = rows[f"{metric}_mean"].to_numpy(dtype=float) * scale
        half = rows[f"{metric}_ci"].to_numpy(dtype=float) * scale
        ax.plot(epochs, mean, color=colors[variant], label=display_name(variant), linewidth=2.2)
        drawn.append(mean)
        band = np.isfinite(half) & np.isfinite(mean) & (rows["n"].to_numpy(dtype=float) >= MIN_BAND_SEEDS)
        if band.any():
            low, high = mean - half, mean + half
            if log:  # a band reaching below zero cannot be drawn on a log axis
                low = np.maximum(low, mean * 1e-3)
            if limits is not None:
                low, high = np.clip(low, *limits), np.clip(high, *limits)
            ax.fill_between(epochs, low, high, where=band, color=colors[variant], alpha=0.2, linewidth=0)
    return np.concatenate(drawn) if drawn else np.array([])


def _mark_drops(ax, drops):
    """Dotted vertical lines where the learning rate drops (epochs, fractions allowed), one legend entry."""
    for index, epoch in enumerate(sorted(drops)):
        ax.axvline(float(epoch), color="black", linestyle=":", linewidth=1.0, label="learning-rate drop" if index == 0
                   else None)  # fmt: skip


def _plot_curves(curves, metric, scale, ylabel, log, workload, variants, path, pdf, per_run=None, limits=None,
                 drops=(), zoom=False):  # fmt: skip
    curves, workload = _select_workload(curves, workload)
    if per_run is not None and len(per_run):
        per_run = per_run[per_run["workload"] == workload]
    if variants is None:
        variants = [v for v in dict.fromkeys(curves["variant"]) if is_main_variant(v)]
    variants = sorted(variants, key=variant_sort_key)
    colors = variant_colors(variants)
    # The zoom starts at the first epoch trained wholly at the lower rate.
    after = [e for e in sorted(set(curves["epoch"].astype(int))) if drops and e >= first_epoch_after(min(drops))]
    zoom = zoom and len(after) >= 2
    if zoom:
        fig = Figure(figsize=(FIGSIZE[0] * 2, FIGSIZE[1]))
        ax, zoomed = fig.subplots(1, 2)
    else:
        fig, ax = _new_axes()
    _draw_curves(ax, curves, per_run, metric, scale, log, variants, colors, limits)
    _mark_drops(ax, drops)
    axes = [ax]
    if zoom:
        start = after[0]
        values = _draw_curves(zoomed, curves, per_run, metric, scale, log, variants, colors, limits, window=start)
        values = values[np.isfinite(values)]
        if values.size:  # the range of the lines: a wide two-seed band must not set it
            pad = 0.08 * max(values.max() - values.min(), 1e-6)
            zoomed.set_ylim(values.min() - pad, values.max() + pad)
        _mark_drops(zoomed, [d for d in drops if d >= start])
        zoomed.set_title(f"from epoch {start}, after the first drop (y-range of the lines)")
        axes.append(zoomed)
    for each in axes:
        if log:
            each.set_yscale("log")
        each.set_xlabel("epoch")
        each.set_ylabel(ylabel)
        each.grid(True, which="major", alpha=0.3)
    if workload is not None:
        ax.set_title(str(workload))
    if variants:
        ax.legend(frameon=False)
    if path is not None:
        save_figure(fig, path, pdf)
    return fig


def plot_train_loss(curves, workload=None, path=None, pdf=False, variants=None, per_run=None, drops=()):
    """Training loss (log scale) against epoch: thin line per seed, thick mean per variant.

    Args:
        curves: the frame from `aggregate.epoch_curves` (needs ``loss_*`` columns and ``n``).
        workload: which workload to draw; may be omitted when there is one.
        path: save to this path (PNG, and PDF with `pdf`); None to only return.
        pdf: also save a PDF.
        variants: variants to draw; defaults to the main comparison (no p sweep).
        per_run: the frame from `aggregate.run_curves`, for the per-seed lines;
            None draws the means only.
        drops: epochs where the learning rate drops, marked with dotted lines
            (a drop explains a sudden fall that is not the optimizer's doing).
    """
    return _plot_curves(curves, "loss", 1.0, "training loss", True, workload, variants, path, pdf, per_run,
                        drops=drops)  # fmt: skip


def plot_test_error(curves, workload=None, path=None, pdf=False, variants=None, per_run=None, drops=()):
    """Test error (%) against epoch (arguments as `plot_train_loss`); bands kept inside 0-100%.

    With ``drops``, a second panel zooms in on the epochs after the first drop,
    with its y-range set by the lines: the final epochs, where the tested
    differences are a point or two, cannot be read on an axis that spans the
    first epoch's error.
    """
    return _plot_curves(
        curves, "test_error", 100.0, "test error (%)", False, workload, variants, path, pdf, per_run, (0.0, 100.0),
        drops=drops, zoom=True,
    )


# How the forest plot draws each decision: (colour, marker face, label).
FOREST_STYLES = {
    "differs": ("black", "black", "differs (Holm-adjusted p <= alpha)"),
    "no clear difference": ("dimgray", "white", "no clear difference (inconclusive)"),
    "too few seeds": ("silver", "white", "too few seeds to decide"),
}


def plot_contrasts(rows, margin=None, path=None, pdf=False, title=None, unit="pp"):
    """Forest plot of paired contrasts: mean difference and its 95% paired interval each.

    The interval is the unadjusted 95% paired t-interval, while a contrast is
    decided by its Holm-adjusted p: an interval that misses zero can still be
    undecided. Each row is therefore drawn by its decision (`FOREST_STYLES`),
    with a legend, so the picture cannot be read as a decision the report did
    not make.

    Args:
        rows: dicts with ``label``, ``mean``, ``low``, ``high`` (in `unit`),
            ``n`` (paired seeds) and ``decision`` (a `FOREST_STYLES` key).
        margin: an equivalence margin to draw as dashed lines at ``±margin``
            with the band between them shaded; None (the report's choice:
            its contrasts are difference tests) draws none.
        path: save to this path (PNG, and PDF with `pdf`); None to only return.
        pdf: also save a PDF.
        title: the axes title.
        unit: the x-axis unit.
    """
    height = max(FIGSIZE[1], 0.45 * len(rows) + 1.5)
    fig = Figure(figsize=(FIGSIZE[0], height))
    ax = fig.add_subplot()
    ys = np.arange(len(rows))[::-1]
    shown = set()
    for y, row in zip(ys, rows):
        decision = row["decision"]
        color, face, label = FOREST_STYLES[decision]
        if np.isfinite(row["low"]) and np.isfinite(row["high"]):
            ax.hlines(y, row["low"], row["high"], color=color, linewidth=1.6)
        if np.isfinite(row["mean"]):
            ax.plot([row["mean"]], [y], marker="s", color=color, markerfacecolor=face, markersize=6,
                    linestyle="none", label=None if decision in shown else label)  # fmt: skip
            shown.add(decision)
    ax.axvline(0.0, color="black", linewidth=0.8)
    if margin is not None:
        ax.axvspan(-margin, margin, color="tab:green", alpha=0.12, linewidth=0)
        for x in (-margin, margin):
            ax.axvline(x, color="tab:green", linestyle="--", linewidth=1.0)
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{row['label']} (n={row['n']})" for row in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(f"paired difference a - b ({unit}): mean, unadjusted 95% t-interval")
    ax.set_title(title or "Paired contrasts")
    ax.grid(True, axis="x", alpha=0.3)
    if shown:
        ax.legend(frameon=True, framealpha=0.9, fontsize="small", loc="best")
    if path is not None:
        save_figure(fig, path, pdf)
    return fig


def _fraction_label(p):
    inverse = 1.0 / p
    return f"1/{inverse:.0f}" if abs(inverse - round(inverse)) < 1e-9 else f"{p:g}"


def _seed_counts(rows):
    """Seeds behind each summary row (``n``); a table without the column counts as enough."""
    return rows["n"].to_numpy(dtype=float) if "n" in rows.columns else np.full(len(rows), np.inf)


def _half_widths(rows, measure):
    """Interval half-widths in % (NaN where the summary has none for `measure`: no bar is drawn)."""
    column = f"{measure}_ci"
    return rows[column].to_numpy(dtype=float) * 100.0 if column in rows.columns else np.full(len(rows), np.nan)


def _p_sweep_panel(ax, summary, measure, ylabel, tuned):
    """One panel of `plot_p_sweep`: Padam's final ``measure`` at each p, and the two ends as reference lines."""
    ticks = set()
    for optimizer in sorted(DEFAULT_PARTIAL):
        rows = summary[summary["optimizer"] == optimizer].sort_values("partial")
        if rows.empty:
            continue
        p = rows["partial"].to_numpy(dtype=float)
        mean = rows[f"{measure}_mean"].to_numpy(dtype=float) * 100.0
        half = _half_widths(rows, measure)
        color = VARIANT_COLORS.get(optimizer, SPARE_COLORS[0])
        # Points, not a line: each p ran at its own rate, so the values are not one curve in p.
        rates = {True: "each p at its tuned rate", False: "rates not tuned for each p"}.get(tuned)
        ax.plot(p, mean, marker="o", linestyle="none", color=color, label=f"{optimizer} ({rates})" if rates
                else optimizer)  # fmt: skip
        bars = np.isfinite(half) & (_seed_counts(rows) >= MIN_BAND_SEEDS)
        if bars.any():
            ax.vlines(p[bars], (mean - half)[bars], (mean + half)[bars], color=color, linewidth=1.5)
        ticks.update(p.tolist())
    for variant, label, style in P_SWEEP_REFERENCES:
        row = summary[summary["variant"] == variant]
        if row.empty or not np.isfinite(row[f"{measure}_mean"].iloc[0]):
            continue
        value = float(row[f"{measure}_mean"].iloc[0]) * 100.0
        ax.axhline(value, color=VARIANT_COLORS[variant], linestyle=style, label=label)
        half = float(_half_widths(row, measure)[0])
        if np.isfinite(half) and _seed_counts(row)[0] >= MIN_BAND_SEEDS:
            ax.axhspan(value - half, value + half, color=VARIANT_COLORS[variant], alpha=0.1, linewidth=0,
                       label=f"{variant}: 95% t-interval over seeds")  # fmt: skip
        if variant == "amsgrad":  # the axis reaches the p = 1/2 end the line stands for
            ticks.add(0.5)
    ax.set_xscale("log", base=2)
    if ticks:
        ordered = sorted(ticks)
        ax.xaxis.set_major_locator(FixedLocator(ordered))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([_fraction_label(p) for p in ordered])
    ax.set_xlabel("p (partial exponent, log2 scale)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)


def plot_p_sweep(summary, workload=None, path=None, pdf=False, tuned=True):
    """Padam's final validation and test error (%) against p on a log2 axis, with interval bars where n >= 3.

    The left panel is validation error, on which claim (c) chooses p; the
    right one (the only one when the summary has no validation error) is
    test error, which never takes part in the choice. Each p is a point of
    its own (it ran at its own tuned rate), not a curve. SGD-momentum (the
    p -> 0 end) and AMSGrad (the p = 1/2 end, at its own betas) are drawn as
    horizontal reference lines when the study has them.

    Args:
        summary: the frame from `aggregate.summarize`.
        workload: which workload to draw; may be omitted when there is one.
        path: save to this path (PNG, and PDF with `pdf`); None to only return.
        pdf: also save a PDF.
        tuned: whether each p's rate was tuned for it (the legend says so);
            None when unknown (the legend says nothing about rates).
    """
    summary, workload = _select_workload(summary, workload)
    panels = [("test_error", "final test error (%)")]
    if "val_error_mean" in summary.columns and np.isfinite(summary["val_error_mean"].to_numpy(dtype=float)).any():
        panels.insert(0, ("val_error", "final validation error (%): chooses p"))
    fig = Figure(figsize=(FIGSIZE[0] * len(panels), FIGSIZE[1]))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (measure, ylabel) in zip(axes, panels):
        _p_sweep_panel(ax, summary, measure, ylabel, tuned)
    if workload is not None:
        fig.suptitle(f"Padam p sweep: {workload}")
    if axes[-1].get_lines():
        axes[-1].legend(frameon=False, fontsize="small")
    if path is not None:
        save_figure(fig, path, pdf)
    return fig


def read_trials(trials):
    """A tuning-trials table from a DataFrame or a CSV path, with a ``variant`` column added.

    Required columns: optimizer, learning_rate, val_accuracy; ``partial`` is
    optional (Padam's p; a non-default p makes its own variant).

    Raises:
        ValueError: a required column is missing.
    """
    frame = pd.read_csv(trials) if isinstance(trials, (str, os.PathLike)) else pd.DataFrame(trials).copy()
    missing = [c for c in ("optimizer", "learning_rate", "val_accuracy") if c not in frame.columns]
    if missing:
        raise ValueError(
            "A tuning-trials table needs columns optimizer, learning_rate, val_accuracy "
            f"(and optionally partial). Missing: {missing}; received columns: {list(frame.columns)}"
        )
    partial = frame["partial"] if "partial" in frame.columns else pd.Series([None] * len(frame), index=frame.index)
    frame["variant"] = [
        variant_of(o, None if p is None or (isinstance(p, float) and np.isnan(p)) else p)
        for o, p in zip(frame["optimizer"], partial)
    ]
    return frame


def plot_lr_sensitivity(trials, path=None, pdf=False):
    """Validation accuracy (%) against learning rate (log axis), one line per variant.

    The line joins the mean over trials at each learning rate; the individual
    trials are drawn as faint points.

    Args:
        trials: a DataFrame or CSV path (see `read_trials`).
        path: save to this path (PNG, and PDF with `pdf`); None to only return.
        pdf: also save a PDF.
    """
    frame = read_trials(trials)
    frame = frame[np.isfinite(frame["learning_rate"].astype(float)) & (frame["learning_rate"].astype(float) > 0)]
    variants = sorted(dict.fromkeys(frame["variant"]), key=variant_sort_key)
    colors = variant_colors(variants)
    fig, ax = _new_axes()
    for variant in variants:
        rows = frame[frame["variant"] == variant]
        lr = rows["learning_rate"].astype(float)
        acc = rows["val_accuracy"].astype(float) * 100.0
        mean = acc.groupby(lr).mean().sort_index()
        ax.scatter(lr, acc, color=colors[variant], alpha=0.3, s=12, linewidths=0)
        ax.plot(mean.index.to_numpy(), mean.to_numpy(), marker="o", color=colors[variant], label=display_name(variant))
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title("Learning-rate sensitivity")
    ax.grid(True, alpha=0.3)
    if len(variants) > 3:
        # A study's ten searches span four decades of rate: inside the axes the
        # legend would sit on the curves, so it goes to the right of them.
        ax.legend(frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    elif variants:
        ax.legend(frameon=False)
    if path is not None:
        save_figure(fig, path, pdf)
    return fig


def plot_performance_profile(summary, path=None, pdf=False):
    """Performance profile across workloads (see `aggregate.performance_profile`).

    One step line per main variant: the fraction of workloads in which its
    final test error is within a factor tau of the best, against tau.
    """
    profile = aggregate.performance_profile(summary)
    colors = variant_colors(list(profile.columns))
    fig, ax = _new_axes()
    taus = profile.index.to_numpy(dtype=float)
    for variant in profile.columns:
        ax.plot(taus, profile[variant].to_numpy(), drawstyle="steps-post", color=colors[variant],
                label=display_name(variant))
    ax.set_xlabel("tau (final test error / best in the workload)")
    ax.set_ylabel("fraction of workloads within tau")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title(f"Performance profile over {summary['workload'].nunique()} workloads")
    ax.grid(True, alpha=0.3)
    if len(profile.columns):
        ax.legend(frameon=False, loc="lower right")
    if path is not None:
        save_figure(fig, path, pdf)
    return fig


# Line styles of the budgets in `plot_budget_curves`, in the order given.
BUDGET_STYLES = ("--", "-", ":", "-.")
STYLE_NAMES = {"--": "dashed", "-": "solid", ":": "dotted", "-.": "dash-dot"}


def plot_budget_curves(curves, variants, path=None, pdf=False):
    """Train loss and test error against epoch, every budget on the same axes (one style per budget).

    Args:
        curves: `aggregate.epoch_curves` of every budget, concatenated (the
            ``workload`` column tells the budgets apart).
        variants: the variants to draw (those every budget ran).
    """
    workloads = list(dict.fromkeys(curves["workload"]))
    colors = variant_colors(variants)
    fig = Figure(figsize=(FIGSIZE[0] * 2, FIGSIZE[1]))
    axes = fig.subplots(1, 2)
    for ax, metric, scale, label in ((axes[0], "loss", 1.0, "training loss"),
                                     (axes[1], "test_error", 100.0, "test error (%)")):  # fmt: skip
        for index, workload in enumerate(workloads):
            style = BUDGET_STYLES[index % len(BUDGET_STYLES)]
            for variant in variants:
                rows = curves[(curves["workload"] == workload) & (curves["variant"] == variant)]
                if rows.empty:
                    continue
                ax.plot(rows["epoch"].to_numpy(), rows[f"{metric}_mean"].to_numpy(dtype=float) * scale, linestyle=style,
                        color=colors[variant], label=f"{display_name(variant)}, {workload}")  # fmt: skip
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{label}, mean over seeds")
        ax.set_yscale("log" if metric == "loss" else "linear")
        ax.grid(True, alpha=0.3)
    axes[1].legend(frameon=False, fontsize="x-small")
    styles = [STYLE_NAMES[BUDGET_STYLES[i % len(BUDGET_STYLES)]] for i in range(len(workloads))]
    fig.suptitle("; ".join(f"{style}: {w}" for style, w in zip(styles, workloads)))
    if path is not None:
        save_figure(fig, path, pdf)
    return fig
