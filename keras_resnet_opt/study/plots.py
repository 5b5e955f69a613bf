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
- the sweep figures (Padam's p, the learning rate) are in `plots_sweeps`.
- `plot_performance_profile`: fraction of workloads within a factor tau of
  the best test error, per optimizer.
- `plot_budget_curves`: train loss and test error against epoch at several
  training budgets on the same axes.
"""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from keras_resnet_opt.atomic import atomic_path
from keras_resnet_opt.study import aggregate
from keras_resnet_opt.study.measures import first_epoch_after
from keras_resnet_opt.study.runs import display_name, is_main_variant, variant_sort_key

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


def new_axes():
    fig = Figure(figsize=FIGSIZE)
    return fig, fig.add_subplot()


def select_workload(frame, workload):
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
    curves, workload = select_workload(curves, workload)
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
        fig, ax = new_axes()
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


def plot_performance_profile(summary, path=None, pdf=False):
    """Performance profile across workloads (see `aggregate.performance_profile`).

    One step line per main variant: the fraction of workloads in which its
    final test error is within a factor tau of the best, against tau.
    """
    profile = aggregate.performance_profile(summary)
    colors = variant_colors(list(profile.columns))
    fig, ax = new_axes()
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
