"""The p-sensitivity figure of a search: validation accuracy against Padam's p.

The learning-rate figure is ``keras_resnet_opt.study.plots_sweeps.plot_lr_sensitivity``;
this one adds the p axis for optimizers that have one, in the same style
(matplotlib's object API, atomic saves through ``study.plots.save_figure``).
"""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from keras_resnet_opt.study.plots import FIGSIZE, VARIANT_COLORS, save_figure


def plot_partial_sensitivity(trials, optimizer="padam", path=None, pdf=False):
    """Validation accuracy (%) against p (log2 axis) for one optimizer's trials.

    Every trial is a point; the line joins the mean at each p. Each trial also
    had its own learning rate, so the spread at one p is partly the
    learning rate's doing.

    Args:
        trials: a DataFrame or CSV path with columns optimizer, partial,
            val_accuracy (as ``tuning/search.py`` writes).
        optimizer: whose trials to draw. Defaults to "padam".
        path: save to this path (PNG, and PDF with ``pdf``); None to only return.
        pdf: also save a PDF.

    Raises:
        ValueError: a required column is missing.
    """
    frame = pd.read_csv(trials) if not isinstance(trials, pd.DataFrame) else trials
    missing = [c for c in ("optimizer", "partial", "val_accuracy") if c not in frame.columns]
    if missing:
        raise ValueError(f"A trials table needs columns optimizer, partial, val_accuracy. Missing: {missing}")
    rows = frame[frame["optimizer"] == optimizer]
    p = pd.to_numeric(rows["partial"], errors="coerce")
    acc = pd.to_numeric(rows["val_accuracy"], errors="coerce") * 100.0
    keep = np.isfinite(p) & np.isfinite(acc) & (p > 0)
    p, acc = p[keep], acc[keep]

    fig = Figure(figsize=FIGSIZE)
    ax = fig.add_subplot()
    color = VARIANT_COLORS.get(optimizer, "black")
    mean = acc.groupby(p).mean().sort_index()
    ax.scatter(p, acc, color=color, alpha=0.4, s=14, linewidths=0)
    ax.plot(mean.index.to_numpy(), mean.to_numpy(), marker="o", color=color, label=f"{optimizer} (mean per p)")
    ax.set_xscale("log", base=2)
    ticks = sorted(set(p.tolist()))
    if ticks:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels(
            [f"1/{round(1 / t):d}" if t < 1 and abs(1 / t - round(1 / t)) < 1e-9 else f"{t:g}" for t in ticks]
        )
        ax.legend(frameon=False)
    ax.set_xlabel("p (log2 scale)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title(f"p sensitivity ({optimizer})")
    ax.grid(True, alpha=0.3)
    if path is not None:
        save_figure(fig, path, pdf)
    return fig

