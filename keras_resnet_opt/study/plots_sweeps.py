"""The sweep figures: Padam's p across the final runs, and the learning rate across a search's trials.

Drawn like every study figure (`plots`: matplotlib's object API, atomic
saves, one colour per optimizer).

- `plot_p_sweep`: Padam's final validation and test error against p (log2
  axis), with SGD-momentum (the p -> 0 limit) and AMSGrad (p = 1/2) as
  reference lines.
- `plot_lr_sensitivity`: validation accuracy against learning rate from a
  tuning-trials table (`read_trials`).
"""

import os

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from keras_resnet_opt.optimizer_names import DEFAULT_PARTIAL, PARTIAL_ENDS
from keras_resnet_opt.study.plots import (
    FIGSIZE,
    MIN_BAND_SEEDS,
    SPARE_COLORS,
    VARIANT_COLORS,
    new_axes,
    save_figure,
    select_workload,
    variant_colors,
)
from keras_resnet_opt.study.runs import display_name, variant_of, variant_sort_key

# Reference lines of the p-sweep plot: the limits Padam interpolates between.
_END_LABELS = {0.0: "p → 0 end", 0.5: "p = 1/2 end"}
P_SWEEP_REFERENCES = tuple(
    (name, f"{name} ({_END_LABELS[p]})", style) for (name, p), style in zip(PARTIAL_ENDS.items(), (":", "--"))
)



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
    summary, workload = select_workload(summary, workload)
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
    fig, ax = new_axes()
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
