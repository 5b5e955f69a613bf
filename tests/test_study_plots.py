"""The study figures: the right lines and legend labels, saved atomically."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from keras_resnet_opt.study import plots, plots_sweeps


def make_curves(variants, epochs=5, workload="resnet20 smoke (5 ep)"):
    rows = []
    for i, variant in enumerate(variants):
        for epoch in range(1, epochs + 1):
            rows.append(
                {
                    "workload": workload,
                    "variant": variant,
                    "main": "(" not in variant,
                    "epoch": epoch,
                    "n": 3,
                    "loss_mean": 2.0 / epoch + 0.1 * i,
                    "loss_ci": 0.05,
                    "test_error_mean": 0.5 / epoch + 0.01 * i,
                    "test_error_ci": 0.01 if i else np.nan,  # one variant with a single seed: no band
                }
            )
    return pd.DataFrame(rows)


def make_summary(rows, workload="w"):
    frame = pd.DataFrame(rows)
    frame.insert(0, "workload", workload)
    frame["main"] = ~frame["variant"].str.contains(r"\(")
    return frame


def legend_labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_train_loss_and_test_error_one_line_per_main_variant(tmp_path):
    curves = make_curves(["sgdm", "adam", "padam", "padam(p=0.25)"])
    fig = plots.plot_train_loss(curves, path=tmp_path / "train_loss.png")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 3  # the p sweep is not part of the main comparison
    assert legend_labels(ax) == ["sgdm", "adam", "padam"]
    assert ax.get_yscale() == "log"
    assert len(ax.collections) == 3  # one band each
    assert (tmp_path / "train_loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    fig = plots.plot_test_error(curves, variants=["adam", "padam(p=0.25)"])
    ax = fig.axes[0]
    assert legend_labels(ax) == ["adam", "padam(p=0.25)"]
    assert ax.get_lines()[0].get_ydata()[0] == pytest.approx(51.0)  # percent
    assert len(ax.collections) == 2 and ax.get_yscale() == "linear"


def test_band_is_skipped_without_interval():
    fig = plots.plot_test_error(make_curves(["sgdm"]))
    assert len(fig.axes[0].get_lines()) == 1 and len(fig.axes[0].collections) == 0


def test_several_workloads_need_a_choice():
    curves = pd.concat([make_curves(["sgdm"], workload="a"), make_curves(["sgdm", "adam"], workload="b")])
    with pytest.raises(ValueError, match="workload"):
        plots.plot_train_loss(curves)
    fig = plots.plot_train_loss(curves, workload="b")
    assert legend_labels(fig.axes[0]) == ["sgdm", "adam"]


def test_p_sweep_with_reference_lines(tmp_path):
    summary = make_summary(
        [
            {"variant": "sgdm", "optimizer": "sgdm", "partial": None, "test_error_mean": 0.07, "test_error_ci": 0.002},
            {"variant": "amsgrad", "optimizer": "amsgrad", "partial": None, "test_error_mean": 0.09,
             "test_error_ci": np.nan},
            {"variant": "padam", "optimizer": "padam", "partial": 0.125, "test_error_mean": 0.065,
             "test_error_ci": 0.003},
            {"variant": "padam(p=0.0625)", "optimizer": "padam", "partial": 0.0625, "test_error_mean": 0.068,
             "test_error_ci": 0.003},
            {"variant": "padam(p=0.25)", "optimizer": "padam", "partial": 0.25, "test_error_mean": 0.075,
             "test_error_ci": 0.004},
        ]
    )
    fig = plots_sweeps.plot_p_sweep(summary, path=tmp_path / "p_sweep.png", pdf=True)
    (ax,) = fig.axes  # no validation error in this summary: the test panel alone
    assert legend_labels(ax) == ["padam (each p at its tuned rate)", "sgdm (p → 0 end)",
                                 "sgdm: 95% t-interval over seeds", "amsgrad (p = 1/2 end)"]  # fmt: skip
    padam_line = ax.get_lines()[0]
    assert padam_line.get_linestyle() == "None"  # points: each p ran at its own rate, so no curve joins them
    assert padam_line.get_xdata().tolist() == [0.0625, 0.125, 0.25]
    assert padam_line.get_ydata().tolist() == pytest.approx([6.8, 6.5, 7.5])
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1/16", "1/8", "1/4", "1/2"]
    assert (tmp_path / "p_sweep.png").is_file() and (tmp_path / "p_sweep.pdf").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p_sweep.pdf", "p_sweep.png"]  # no temp files


def test_p_sweep_draws_no_interval_with_fewer_than_three_seeds():
    summary = make_summary(
        [
            {"variant": "sgdm", "optimizer": "sgdm", "partial": None, "test_error_mean": 0.6, "test_error_ci": 0.27,
             "n": 2},
            {"variant": "padam", "optimizer": "padam", "partial": 0.125, "test_error_mean": 0.53, "test_error_ci": 0.01,
             "n": 2},
            {"variant": "padam(p=0.25)", "optimizer": "padam", "partial": 0.25, "test_error_mean": 0.47,
             "test_error_ci": 0.02, "n": 3},
        ]
    )  # fmt: skip
    ax = plots_sweeps.plot_p_sweep(summary).axes[0]
    (bars,) = [c for c in ax.collections if len(c.get_segments())]
    assert [tuple(seg[:, 0]) for seg in bars.get_segments()] == [(0.25, 0.25)]  # only the 3-seed point
    assert not ax.patches  # no band around sgdm's 2-seed mean


def test_p_sweep_without_references():
    summary = make_summary(
        [
            {"variant": "padam(p=0.25)", "optimizer": "padam", "partial": 0.25, "test_error_mean": 0.1,
             "test_error_ci": 0.01}
        ]
    )
    ax = plots_sweeps.plot_p_sweep(summary).axes[0]
    assert len(ax.get_lines()) == 1 and legend_labels(ax) == ["padam (each p at its tuned rate)"]


def test_p_sweep_shows_the_validation_error_that_chooses_p_beside_the_test_error():
    summary = make_summary(
        [
            {"variant": "sgdm", "optimizer": "sgdm", "partial": None, "val_error_mean": 0.20, "val_error_ci": 0.01,
             "test_error_mean": 0.21, "test_error_ci": 0.01, "n": 3},
            {"variant": "padam", "optimizer": "padam", "partial": 0.125, "val_error_mean": 0.18,
             "val_error_ci": 0.01, "test_error_mean": 0.19, "test_error_ci": 0.01, "n": 3},
            {"variant": "padam(p=0.25)", "optimizer": "padam", "partial": 0.25, "val_error_mean": 0.17,
             "val_error_ci": 0.01, "test_error_mean": 0.2, "test_error_ci": 0.01, "n": 3},
        ]
    )  # fmt: skip
    val, test = plots_sweeps.plot_p_sweep(summary).axes
    assert "validation" in val.get_ylabel() and "chooses p" in val.get_ylabel() and "test" in test.get_ylabel()
    assert val.get_lines()[0].get_ydata().tolist() == pytest.approx([18.0, 17.0])
    assert test.get_lines()[0].get_ydata().tolist() == pytest.approx([19.0, 20.0])
    # sgdm's band has a legend entry of its own.
    assert "sgdm: 95% t-interval over seeds" in legend_labels(test)


def test_lr_sensitivity_from_csv(tmp_path):
    trials = pd.DataFrame(
        {
            "optimizer": ["sgdm", "sgdm", "sgdm", "adam", "adam", "padam", "padam"],
            "learning_rate": [0.01, 0.1, 0.1, 1e-3, 1e-2, 0.1, 0.1],
            "partial": [None, None, None, None, None, 0.125, 0.25],
            "val_accuracy": [0.6, 0.7, 0.8, 0.65, 0.5, 0.75, 0.7],
        }
    )
    trials.to_csv(tmp_path / "trials.csv", index=False)
    fig = plots_sweeps.plot_lr_sensitivity(tmp_path / "trials.csv", path=tmp_path / "lr.png")
    ax = fig.axes[0]
    assert legend_labels(ax) == ["sgdm", "adam", "padam", "padam(p=0.25)"]
    sgdm = ax.get_lines()[0]
    assert sgdm.get_xdata().tolist() == [0.01, 0.1]
    assert sgdm.get_ydata().tolist() == pytest.approx([60.0, 75.0])  # mean over the two trials at 0.1
    assert ax.get_xscale() == "log" and (tmp_path / "lr.png").is_file()
    # Four variants or more: the legend stands right of the axes, off the curves.
    renderer = FigureCanvasAgg(fig).get_renderer()
    assert ax.get_legend().get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1
    few = plots_sweeps.plot_lr_sensitivity(trials[trials["optimizer"] == "sgdm"]).axes[0]
    few_renderer = FigureCanvasAgg(few.figure).get_renderer()
    assert few.get_legend().get_window_extent(few_renderer).x1 <= few.get_window_extent(few_renderer).x1
    with pytest.raises(ValueError, match="val_accuracy"):
        plots_sweeps.plot_lr_sensitivity(trials.drop(columns="val_accuracy"))


def test_performance_profile_lines():
    summary = pd.DataFrame(
        {
            "workload": ["w1", "w1", "w1", "w2", "w2"],
            "variant": ["sgdm", "adam", "padam(p=0.25)", "sgdm", "adam"],
            "main": [True, True, False, True, True],
            "test_error_mean": [0.10, 0.12, 0.05, 0.20, 0.18],
        }
    )
    ax = plots.plot_performance_profile(summary).axes[0]
    assert legend_labels(ax) == ["sgdm", "adam"]
    sgdm = ax.get_lines()[0]
    assert sgdm.get_ydata()[0] == pytest.approx(0.5) and sgdm.get_ydata()[-1] == pytest.approx(1.0)


def make_per_run(variants, seeds=(0, 1), epochs=5, workload="resnet20 smoke (5 ep)"):
    rows = []
    for i, variant in enumerate(variants):
        for seed in seeds:
            for epoch in range(1, epochs + 1):
                rows.append({"workload": workload, "variant": variant, "main": "(" not in variant,
                             "run": f"{variant}-s{seed}", "seed": seed, "epoch": epoch,
                             "loss": 2.0 / epoch + 0.1 * i + 0.01 * seed,
                             "test_error": 0.5 / epoch + 0.01 * i + 0.02 * seed, "val_error": 0.5})  # fmt: skip
    return pd.DataFrame(rows)


def test_each_seed_thin_and_the_mean_thick():
    curves = make_curves(["sgdm", "adam"])
    fig = plots.plot_test_error(curves, per_run=make_per_run(["sgdm", "adam"], seeds=(0, 1, 2)))
    ax = fig.axes[0]
    widths = sorted(line.get_linewidth() for line in ax.get_lines())
    assert len(widths) == 2 * 3 + 2  # three seeds each, and each mean
    assert widths[:6] == [widths[0]] * 6 and widths[-1] > 2 * widths[0]
    assert legend_labels(ax) == ["sgdm", "adam"]  # the seeds stay out of the legend
    seed_line = ax.get_lines()[1]  # sgdm seed 1, in percent
    assert seed_line.get_ydata()[0] == pytest.approx((0.5 + 0.02) * 100)


def test_no_band_with_fewer_than_three_seeds_and_bands_stay_in_range():
    curves = make_curves(["sgdm", "adam"])
    curves["n"] = 2
    assert len(plots.plot_test_error(curves).axes[0].collections) == 0
    wide = make_curves(["sgdm", "adam"])
    wide["test_error_ci"] = 5.0  # a 500 pp half-width must still be drawn inside 0-100%
    ax = plots.plot_test_error(wide).axes[0]
    assert len(ax.collections) == 2
    ys = np.concatenate([path.vertices[:, 1] for band in ax.collections for path in band.get_paths()])
    assert ys.min() >= 0.0 and ys.max() <= 100.0


def test_forest_plot_draws_each_contrast_by_its_decision():
    rows = [
        {"label": "sgd - sgdm", "mean": 2.6, "low": 1.4, "high": 3.8, "n": 3, "decision": "differs"},
        {"label": "sgd - nadam", "mean": 2.8, "low": 0.3, "high": 5.2, "n": 3, "decision": "no clear difference"},
        {"label": "padam - sgdm", "mean": -0.5, "low": -12.0, "high": 11.0, "n": 2, "decision": "too few seeds"},
    ]
    ax = plots.plot_contrasts(rows).axes[0]
    markers = [line for line in ax.get_lines() if line.get_marker() == "s"]
    faces = [line.get_markerfacecolor() for line in markers]
    assert faces[0] != faces[1]  # an interval missing zero is not drawn as a decision the report did not make
    assert legend_labels(ax) == [plots.FOREST_STYLES[d][2] for d in ("differs", "no clear difference",
                                                                    "too few seeds")]  # fmt: skip
    assert not [line for line in ax.get_lines() if line.get_linestyle() == "--"]  # no margin unless asked


def test_curves_mark_the_learning_rate_drops_and_zoom_on_the_final_epochs():
    curves = make_curves(["sgdm", "adam"], epochs=10)
    per_run = make_per_run(["sgdm", "adam"], seeds=(0, 1, 2), epochs=10)
    fig = plots.plot_test_error(curves, per_run=per_run, drops=(5, 7.5))
    full, zoomed = fig.axes
    drops = sorted(line.get_xdata()[0] for line in full.get_lines() if line.get_linestyle() == ":")
    assert drops == [5.0, 7.5] and "learning-rate drop" in legend_labels(full)
    # The zoomed panel starts at the first epoch trained wholly at the lower rate, its range set by the lines.
    means = [line for line in zoomed.get_lines() if line.get_linewidth() > 2]
    assert means[0].get_xdata().tolist() == [6, 7, 8, 9, 10]
    drawn = np.concatenate([line.get_ydata() for line in zoomed.get_lines() if line.get_linestyle() == "-"])
    low, high = zoomed.get_ylim()
    assert low < drawn.min() and high > drawn.max() and high - low < 1.2 * (drawn.max() - drawn.min())
    # A boundary inside an epoch: that epoch trains at both rates, so the zoom starts after it.
    _, zoomed = plots.plot_test_error(curves, drops=(4.5,)).axes
    assert [line for line in zoomed.get_lines() if line.get_linewidth() > 2][0].get_xdata()[0] == 6
    # Without drops, one panel (the loss curves never zoom).
    assert len(plots.plot_test_error(curves).axes) == 1
    assert len(plots.plot_train_loss(curves, drops=(5,)).axes) == 1


def test_forest_plot_draws_intervals_and_the_margin(tmp_path):
    rows = [
        {"label": "adam - sgdm", "mean": -6.7, "low": -10.4, "high": -3.0, "n": 3, "decision": "differs"},
        {"label": "padam - sgdm", "mean": -5.7, "low": -32.2, "high": 20.8, "n": 2, "decision": "too few seeds"},
    ]
    fig = plots.plot_contrasts(rows, margin=1.0, path=tmp_path / "contrasts.png")
    ax = fig.axes[0]
    labels = dict(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())))
    assert labels == {1: "adam - sgdm (n=3)", 0: "padam - sgdm (n=2)"}  # the first row on top
    intervals = [c for c in ax.collections if c.get_segments()]
    spans = sorted(tuple(seg[:, 0]) for c in intervals for seg in c.get_segments())
    assert spans == [(-32.2, 20.8), (-10.4, -3.0)]
    margins = sorted(line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--")
    assert margins == [-1.0, 1.0]
    assert (tmp_path / "contrasts.png").is_file()
