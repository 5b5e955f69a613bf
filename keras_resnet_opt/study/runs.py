"""Reading a study directory: one folder per training run, written by the trainer.

Layout (the contract with the training code)::

    STUDY/study.json                  the grid runner's plan (may be absent)
    STUDY/runs/<run>/config.json      resolved run config (flat JSON object)
    STUDY/runs/<run>/history.csv      one row per completed epoch (history.json too)
    STUDY/runs/<run>/manifest.json    written when the run ended (finished/diverged)
    STUDY/runs/<run>/test_predictions.npy, test_labels.npy
                                      the final model's class per test image and
                                      the true labels (uint8, same order); runs
                                      trained before they were saved lack them

A run without ``manifest.json`` is unfinished: it is listed in reports and left
out of every statistic. This module also owns the two grouping rules the rest
of ``keras_resnet_opt.study`` relies on: which *variant* a run belongs to
(``variant_of``) and which *workload* it trains (``workload_of``).
"""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from keras_resnet_opt.atomic import atomic_path, write_text

TEST_PREDICTIONS = "test_predictions.npy"
TEST_LABELS = "test_labels.npy"

# Optimizers with a "partial" exponent p and the p of the main comparison.
# p = 1/8 is what the Padam paper, README and reference scripts use (the
# reference class itself defaults to 1/4). This mirrors the default of Padam's
# `partial` in keras_resnet_opt.optimizers (and the grid runner's); it is
# repeated here so that reading results never imports TensorFlow or Keras.
DEFAULT_PARTIAL = {"padam": 0.125}

# Order in which optimizers appear in tables and legends: plain SGD first, the
# adaptive methods next, Padam (which interpolates between them) last.
OPTIMIZER_ORDER = ("sgd", "sgdm", "adam", "nadam", "amsgrad", "adamw", "padam")

STATUS_FINISHED = "finished"
STATUS_DIVERGED = "diverged"
STATUS_UNFINISHED = "unfinished"


def default_partial(optimizer):
    """The p of the main comparison for `optimizer`, or None if it has no p."""
    return DEFAULT_PARTIAL.get(optimizer)


def variant_of(optimizer, partial=None):
    """The variant label of a run: the one grouping rule for tables and plots.

    A run's variant is its optimizer's registry name, except for optimizers
    with a partial exponent (Padam) run at a non-default p, which are labelled
    ``"padam(p=0.25)"``: those form the p sweep, grouped apart from the main
    comparison. A missing p (None) means the default. `partial` is ignored for
    optimizers that have no p.
    """
    default = default_partial(optimizer)
    if default is None or partial is None:
        return optimizer
    partial = float(partial)
    if math.isclose(partial, default, rel_tol=1e-9, abs_tol=1e-12):
        return optimizer
    return f"{optimizer}(p={partial:g})"


def is_main_variant(variant):
    """True for the variants of the main comparison (no ``(p=...)`` suffix)."""
    return "(" not in variant


def variant_partial(optimizer, partial=None):
    """The p a run actually used (its default when unset), or None."""
    default = default_partial(optimizer)
    if default is None:
        return None
    return default if partial is None else float(partial)


def variant_sort_key(variant):
    """Sort key: known optimizers in `OPTIMIZER_ORDER`, sweeps by p, others by name."""
    base, _, rest = variant.partition("(")
    p = float(rest.rstrip(")").split("=", 1)[1]) if rest else -1.0
    rank = OPTIMIZER_ORDER.index(base) if base in OPTIMIZER_ORDER else len(OPTIMIZER_ORDER)
    return (rank, base, p, variant)


def workload_of(config):
    """The workload label of a run config: what was trained, apart from the optimizer.

    Runs of one workload differ only in optimizer settings and seed, so they can
    be compared. The label names the model, the preset, the epoch budget and,
    when not the full training set, the subset size.
    """
    label = f"{config.get('model')} {config.get('preset')} ({config.get('epochs')} ep"
    subset = config.get("train_subset")
    if subset:
        label += f", {subset} train"
    return label + ")"


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One run directory, read.

    Attributes:
        name: the run directory's name.
        path: the run directory.
        config: the resolved run config (``config.json``).
        history: one row per completed epoch, sorted by ``epoch``.
        manifest: ``manifest.json``, or None while the run is unfinished.
    """

    name: str
    path: Path
    config: dict
    history: pd.DataFrame
    manifest: dict | None

    @property
    def status(self):
        """"finished", "diverged" or "unfinished" (no manifest yet)."""
        if self.manifest is None:
            return STATUS_UNFINISHED
        return self.manifest.get("status", STATUS_FINISHED)

    @property
    def ended(self):
        """True when the run wrote its manifest (finished or diverged)."""
        return self.manifest is not None

    @property
    def optimizer(self):
        return self.config.get("optimizer")

    @property
    def variant(self):
        return variant_of(self.optimizer, self.config.get("partial"))

    @property
    def partial(self):
        return variant_partial(self.optimizer, self.config.get("partial"))

    @property
    def workload(self):
        return workload_of(self.config)

    @property
    def epochs(self):
        """The configured number of epochs."""
        return int(self.config.get("epochs") or 0)

    @property
    def epochs_completed(self):
        return int(self.history["epoch"].max()) if len(self.history) else 0


@dataclasses.dataclass(frozen=True)
class Study:
    """A study directory, read.

    Attributes:
        path: the study directory.
        runs: every readable run, sorted by name (finished, diverged, unfinished).
        unreadable: ``(run name, reason)`` for run folders that could not be read.
        plan: ``study.json`` (the grid runner's plan), or None when absent.
    """

    path: Path
    runs: tuple
    unreadable: tuple = ()
    plan: dict | None = None

    @property
    def ended_runs(self):
        """Runs with a manifest: the ones statistics are computed from."""
        return tuple(r for r in self.runs if r.ended)

    @property
    def unfinished_runs(self):
        return tuple(r for r in self.runs if not r.ended)


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_history(run_dir):
    """The per-epoch history of a run: ``history.csv``, else ``history.json``.

    Returns an empty frame with an ``epoch`` column when neither exists (a run
    that has not completed an epoch yet).
    """
    run_dir = Path(run_dir)
    if (run_dir / "history.csv").is_file():
        history = pd.read_csv(run_dir / "history.csv")
    elif (run_dir / "history.json").is_file():
        history = pd.DataFrame(_read_json(run_dir / "history.json"))
    else:
        return pd.DataFrame({"epoch": pd.Series([], dtype="int64")})
    if "epoch" not in history.columns:
        raise ValueError(f"History of {run_dir} has no 'epoch' column. Columns: {list(history.columns)}")
    history = history.apply(pd.to_numeric, errors="coerce")
    # A resumed run may repeat an epoch; the later row is the one that counts.
    history = history.dropna(subset=["epoch"]).drop_duplicates("epoch", keep="last")
    history["epoch"] = history["epoch"].astype("int64")
    return history.sort_values("epoch").reset_index(drop=True)


def load_run(run_dir):
    """Read one run directory into a `RunRecord`.

    Raises:
        FileNotFoundError: the directory has no ``config.json``.
    """
    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"Expected a run config at {config_path}; it does not exist.")
    manifest_path = run_dir / "manifest.json"
    manifest = _read_json(manifest_path) if manifest_path.is_file() else None
    return RunRecord(
        name=run_dir.name,
        path=run_dir,
        config=_read_json(config_path),
        history=read_history(run_dir),
        manifest=manifest,
    )


def load_study(study_dir):
    """Read every run under ``study_dir/runs`` (sorted by name) and ``study.json``.

    Run folders that cannot be read (no config, broken JSON or CSV) are kept in
    `Study.unreadable` with the reason rather than stopping the whole report.

    Raises:
        FileNotFoundError: ``study_dir/runs`` does not exist.
    """
    study_dir = Path(study_dir)
    runs_dir = study_dir / "runs"
    if not runs_dir.is_dir():
        raise FileNotFoundError(
            f"Expected a study directory with a runs/ folder; {runs_dir} does not exist."
        )
    runs, unreadable = [], []
    for run_dir in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        try:
            runs.append(load_run(run_dir))
        except (OSError, ValueError) as error:
            unreadable.append((run_dir.name, f"{type(error).__name__}: {error}"))
    plan_path = study_dir / "study.json"
    plan = _read_json(plan_path) if plan_path.is_file() else None
    return Study(path=study_dir, runs=tuple(runs), unreadable=tuple(unreadable), plan=plan)


def read_test_predictions(run_dir):
    """``(predictions, labels)`` saved by the trainer in `run_dir`, or None when absent.

    Both are integer arrays over the test images in the test split's order.

    Raises:
        ValueError: the two files hold different numbers of images.
    """
    run_dir = Path(run_dir)
    paths = run_dir / TEST_PREDICTIONS, run_dir / TEST_LABELS
    if not all(p.is_file() for p in paths):
        return None
    predictions, labels = (np.load(p, allow_pickle=False).astype(np.int64).ravel() for p in paths)
    if predictions.shape != labels.shape:
        raise ValueError(
            f"{run_dir}: {TEST_PREDICTIONS} has {predictions.size} entries but {TEST_LABELS} {labels.size}."
        )
    return predictions, labels


def _write_array(path, values):
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(values, dtype=np.uint8))


def write_run_dir(run_dir, config, history, manifest=None, predictions=None, labels=None):
    """Write a run directory in the trainer's layout (the inverse of `load_run`).

    For tests and for importing runs trained elsewhere. `history` is a
    DataFrame or a list of row dicts; it is written as both history.csv and
    history.json. No manifest means the run is unfinished. `predictions` and
    `labels` (class per test image) are written as the trainer's ``.npy`` files
    when given.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    history = pd.DataFrame(history)
    write_text(run_dir / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    write_text(run_dir / "history.csv", history.to_csv(index=False))
    rows = json.loads(history.to_json(orient="records"))
    write_text(run_dir / "history.json", json.dumps(rows, indent=1) + "\n")
    if manifest is not None:
        write_text(run_dir / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    if predictions is not None:
        _write_array(run_dir / TEST_PREDICTIONS, predictions)
    if labels is not None:
        _write_array(run_dir / TEST_LABELS, labels)
    return run_dir
