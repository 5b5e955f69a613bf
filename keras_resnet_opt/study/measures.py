"""Per-run measures: one number per run and question, defined here once, before any comparison.

Every comparison in the report is a paired difference of one of these
measures between two optimizers' runs with the same seed. They are defined so
that none depends on another run's result (the validation-accuracy target is
declared in ``study.json`` before the runs start) and none on the machine's
load:

- final test error, validation error, train loss and train error: the
  manifest's ``final`` block where it holds a number, else the last history
  row. Train error = 1 - the train accuracy measured during the last epoch
  (with augmentation); the generalisation gap is test error minus it.
- time to target: the first epoch whose *validation* accuracy reaches the
  declared target, in epochs and optimizer steps, as a fraction of the
  training budget. A run that never reaches it is censored, not dropped: for
  the paired tests it counts as reaching the target at the first evaluation
  after training ends, ``(E + 1) / E`` of the budget (a restricted time, the
  "restricted mean survival time" idea), which ranks it behind every run
  that got there and ties it with another that did not; per optimizer the
  Kaplan-Meier median and "not reached in k of n" are reported.
- train loss at 25%, 50% and 100% of training: the mean training loss of
  the epoch at or just past that fraction, ``ceil(f * E)``; the second
  convergence measure, which needs no target.
- test error at 25% and 50% of training, read at the same epochs: with the
  final test error, the path an optimizer took to its end (the Padam paper's
  picture of adaptive methods ahead early and behind at the end).
- smoothness: the residual standard deviation of the per-epoch test (and
  validation) error around its centred 3-epoch moving average, computed only
  inside constant-learning-rate phases (`constant_lr_phases`), so a decay's
  own jump, which every optimizer shares, never counts as roughness.
- train-step time: the median ``step_time_ms`` after the first epoch (which
  includes compilation). Measured under whatever else ran on the machine, so
  it is shown and never decides a claim.
"""

import math

import numpy as np
import pandas as pd

from keras_resnet_opt.study import stats
from keras_resnet_opt.study.runs import Study, is_main_variant

# Fractions of the training budget at which the train loss is read.
LOSS_FRACTIONS = (0.25, 0.5, 1.0)
# ... and the test error part-way (at 100% it is the final test error).
ALONG_FRACTIONS = (0.25, 0.5)


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def column(history, name):
    """A history column as floats, or all-NaN when the run did not record it."""
    if name in history.columns:
        return history[name].astype(float)
    return pd.Series(np.nan, index=history.index)


def test_error_series(history):
    """Per-epoch test error: ``test_error``, else 1 - ``test_accuracy``."""
    if "test_error" in history.columns:
        return history["test_error"].astype(float)
    return 1.0 - column(history, "test_accuracy")


def val_error_series(history):
    return 1.0 - column(history, "val_accuracy")


def final_metrics(run):
    """Final test error and accuracy, val accuracy, train loss and train error of a run.

    From the manifest's ``final`` block where it holds a finite number, else
    from the last history row.
    """
    final = dict((run.manifest or {}).get("final") or {})
    last = run.history.iloc[-1] if len(run.history) else pd.Series(dtype=float)

    def pick(key, name):
        if _finite(final.get(key)):
            return float(final[key])
        value = last.get(name, math.nan) if len(last) else math.nan
        return float(value) if _finite(value) else math.nan

    test_accuracy = pick("test_accuracy", "test_accuracy")
    test_error = pick("test_error", "test_error")
    if math.isnan(test_error) and not math.isnan(test_accuracy):
        test_error = 1.0 - test_accuracy
    return {
        "test_error": test_error,
        "test_accuracy": 1.0 - test_error if not math.isnan(test_error) else test_accuracy,
        "train_loss": pick("train_loss", "loss"),
        "train_error": 1.0 - pick("train_accuracy", "accuracy"),
        "val_accuracy": pick("val_accuracy", "val_accuracy"),
    }


def steps_per_epoch(run):
    """Optimizer steps per epoch: ceil(training images / batch), as the trainer counts.

    The training-set size comes from the manifest (``data.train_images``), else
    the config's ``train_subset``; failing both, from the recorded timing
    (``train_time_s / step_time_ms``). NaN when nothing says.
    """
    images = ((run.manifest or {}).get("data") or {}).get("train_images") or run.config.get("train_subset")
    batch = run.config.get("batch_size")
    if images and batch:
        return float(math.ceil(int(images) / int(batch)))
    timing = column(run.history, "train_time_s") * 1000.0 / column(run.history, "step_time_ms")
    timing = timing[np.isfinite(timing)]
    return float(round(timing.iloc[-1])) if len(timing) else math.nan


def time_to_target(run, target_val_accuracy):
    """When validation accuracy first reaches the target.

    Returns:
        ``{"reached", "epoch", "steps", "restricted"}``: the epoch and step
        count (NaN when never reached) and the restricted time as a fraction of
        the budget, ``epoch / E``, or ``(E + 1) / E`` for a run that never got
        there (see the module docstring). All NaN without a target or budget.
    """
    budget = run.epochs or run.epochs_completed
    if target_val_accuracy is None or not budget:
        return {"reached": False, "epoch": math.nan, "steps": math.nan, "restricted": math.nan}
    history = run.history
    hit = (column(history, "val_accuracy") >= float(target_val_accuracy)).to_numpy()
    if not hit.any():
        return {"reached": False, "epoch": math.nan, "steps": math.nan, "restricted": (budget + 1.0) / budget}
    epoch = float(history["epoch"].iloc[int(np.argmax(hit))])
    return {"reached": True, "epoch": epoch, "steps": epoch * steps_per_epoch(run), "restricted": epoch / budget}


def epoch_at(fraction, budget):
    """The epoch a measure "at `fraction` of training" is read after: the one at or just past it, ``ceil(f * E)``."""
    return max(1, math.ceil(fraction * budget - 1e-9))


def _at_fraction(run, fraction, series):
    """``series(history)`` at epoch `epoch_at` (NaN when that epoch is missing)."""
    budget = run.epochs or run.epochs_completed
    if not budget:
        return math.nan
    epoch = epoch_at(fraction, budget)
    row = run.history[run.history["epoch"] == epoch]
    return float(series(row).iloc[0]) if len(row) else math.nan


def train_loss_at(run, fraction):
    """Mean train loss of epoch ``ceil(fraction * E)`` (NaN when that epoch is missing)."""
    return _at_fraction(run, fraction, lambda history: column(history, "loss"))


def test_error_at(run, fraction):
    """Test error after epoch ``ceil(fraction * E)`` (NaN when that epoch is missing)."""
    return _at_fraction(run, fraction, test_error_series)


def constant_lr_phases(epochs, schedule="step", boundaries=()):
    """Epochs grouped by constant-learning-rate phase.

    Epoch e trains over (e - 1, e] of the budget. Under a step schedule it
    belongs to the phase after every boundary b <= e - 1, and is left out when
    a boundary falls strictly inside it (b in (e - 1, e): two rates in one
    epoch). A constant schedule is one phase; a schedule whose rate changes
    every step (cosine) has none.

    Args:
        epochs: the recorded epochs (1-based integers).
        schedule: "step", "constant" or another name (no constant phase).
        boundaries: step boundaries in epochs (fractions allowed).

    Returns:
        A list of lists of consecutive epochs, in order.
    """
    epochs = sorted(int(e) for e in epochs)
    if schedule == "constant" or (schedule == "step" and not boundaries):
        groups = {0: epochs}
    elif schedule == "step":
        bounds = sorted(float(b) for b in boundaries)
        groups = {}
        for e in epochs:
            if any(e - 1 < b < e for b in bounds):
                continue
            groups.setdefault(sum(b <= e - 1 for b in bounds), []).append(e)
    else:
        return []
    phases = []
    for _, members in sorted(groups.items()):
        run = [members[0]] if members else []
        for e in members[1:]:
            if e == run[-1] + 1:
                run.append(e)
            else:  # a missing epoch splits the phase: residuals never skip one
                phases.append(run)
                run = [e]
        if run:
            phases.append(run)
    return phases


def first_epoch_after(boundary):
    """The first epoch trained wholly at the rate after a drop at `boundary` (epoch e trains over (e - 1, e])."""
    return math.ceil(float(boundary)) + 1


def lr_drops(study):
    """``{workload: epochs where the learning rate drops}``, for workloads whose runs share one step schedule.

    The curves mark them, so the fall right after a drop is not read as an
    optimizer's doing; runs that disagree on the schedule get no marks.
    """
    schedules = {}
    for run in study.ended_runs:
        config = run.config
        step = config.get("lr_schedule") == "step"
        epochs = float(config.get("epochs") or 0)
        # A boundary at or past the last epoch never drops the rate in this run.
        drops = tuple(float(b) for b in config.get("lr_boundaries") or () if 0 < float(b) < epochs) if step else ()
        schedules.setdefault(run.workload, set()).add(drops)
    return {w: next(iter(s)) for w, s in schedules.items() if len(s) == 1}


def run_phases(run):
    """`constant_lr_phases` of a run's recorded epochs under its own schedule."""
    epochs = run.history["epoch"].astype(int).tolist()
    return constant_lr_phases(epochs, run.config.get("lr_schedule", "step"), run.config.get("lr_boundaries") or ())


def smoothness(run, series="test"):
    """Residual SD of the run's per-epoch test (or "val") error inside constant-lr phases."""
    history = run.history
    errors = test_error_series(history) if series == "test" else val_error_series(history)
    by_epoch = dict(zip(history["epoch"].astype(int), errors))
    return stats.residual_sd([[by_epoch[e] for e in phase] for phase in run_phases(run)])


def residual_epochs(run):
    """How many epochs of the run give `smoothness` a residual (the inner epochs of its phases)."""
    return sum(len(stats.moving_average_residuals(phase)) for phase in run_phases(run))


def step_time_ms(run):
    """Median train-step time after the first epoch (which includes compilation)."""
    times = column(run.history, "step_time_ms")
    if len(run.history) > 1:
        times = times[run.history["epoch"] > run.history["epoch"].min()]
    times = times.dropna()
    return float(np.median(times)) if len(times) else math.nan


def ended_runs(runs):
    """The runs that wrote a manifest (finished or diverged), from a `Study` or an iterable."""
    if isinstance(runs, Study):
        runs = runs.runs
    return [r for r in runs if r.ended]


def run_measures(runs, target_val_accuracy=None):
    """One row per ended run with every measure above.

    Args:
        runs: a `Study` or an iterable of `RunRecord`; unfinished runs are skipped.
        target_val_accuracy: the declared validation-accuracy target (a
            fraction), or None (time-to-target columns are then NaN).
    """
    rows = []
    for run in ended_runs(runs):
        final = final_metrics(run)
        target = time_to_target(run, target_val_accuracy)
        val = column(run.history, "val_accuracy").dropna()
        row = {
            "run": run.name,
            "workload": run.workload,
            "preset": run.config.get("preset"),
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
            "val_error": 1.0 - final["val_accuracy"],
            "train_loss": final["train_loss"],
            "train_error": final["train_error"],
            "gen_gap": final["test_error"] - final["train_error"],
            "best_val_accuracy": float(val.max()) if len(val) else math.nan,
            "target_val_accuracy": math.nan if target_val_accuracy is None else float(target_val_accuracy),
            "target_reached": bool(target["reached"]),
            "target_epoch": target["epoch"],
            "target_steps": target["steps"],
            "time_to_target": target["restricted"],
            "steps_per_epoch": steps_per_epoch(run),
            "smoothness_test": smoothness(run, "test"),
            "smoothness_val": smoothness(run, "val"),
            "step_time_ms": step_time_ms(run),
        }
        for fraction in LOSS_FRACTIONS:
            row[f"train_loss_{int(fraction * 100)}"] = train_loss_at(run, fraction)
        for fraction in ALONG_FRACTIONS:
            row[f"test_error_{int(fraction * 100)}"] = test_error_at(run, fraction)
        rows.append(row)
    return pd.DataFrame(rows)
