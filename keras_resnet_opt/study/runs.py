"""Reading a study directory: one folder per training run, written by the trainer.

Layout (the contract with the training code; the file names, readers and
status values are the trainer's, `keras_resnet_opt.training.run_folder`)::

    STUDY/study.json                  the grid runner's plan (may be absent)
    STUDY/runs/<run>/config.json      resolved run config (flat JSON object)
    STUDY/runs/<run>/history.json     one row per completed epoch (history.csv too)
    STUDY/runs/<run>/manifest.json    written when the run ended (finished/diverged)
    STUDY/runs/<run>/test_predictions.npy, test_labels.npy
                                      the final model's class per test image and
                                      the true labels (uint8, same order); runs
                                      trained before they were saved lack them

A run without ``manifest.json`` is unfinished: it is listed in reports and left
out of every statistic. This module also owns the grouping and ordering rules
the rest of ``keras_resnet_opt.study`` relies on: which *variant* a run belongs
to (``variant_of``), which *workload* it trains (``workload_of``), and the
order of variants and seeds in every table.
"""

import dataclasses
import json
import math
from pathlib import Path

import pandas as pd

from keras_resnet_opt.optimizer_names import DEFAULT_PARTIAL, OPTIMIZER_NAMES
from keras_resnet_opt.study.layout import RUNS_DIR, STUDY_FILE
from keras_resnet_opt.training.run_folder import CONFIG, STATUS_FINISHED, read_history, read_manifest

STATUS_UNFINISHED = "unfinished"  # no manifest yet (the trainer's statuses: STATUS_FINISHED, STATUS_DIVERGED)


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


def display_name(variant):
    """How reports and figures name a variant: a plug-in (``package.module:Class``) by its class alone.

    ``keras_resnet_opt.study.seed_port:SeedPortPadam`` fills a table column
    and a figure legend; ``SeedPortPadam`` does not. Only what is shown
    changes: run configs, CSV files and study.json keep the full name, which
    is what a run is grouped and declared by.
    """
    base, sep, rest = variant.partition("(")
    return base.rsplit(":", 1)[-1] + sep + rest


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
    """Sort key: known optimizers in `OPTIMIZER_NAMES` order, sweeps by p, others by name."""
    base, _, rest = variant.partition("(")
    p = float(rest.rstrip(")").split("=", 1)[1]) if rest else -1.0
    rank = OPTIMIZER_NAMES.index(base) if base in OPTIMIZER_NAMES else len(OPTIMIZER_NAMES)
    return (rank, base, p, variant)


def seed_key(seed):
    """Sort key for seeds: numbers in numeric order, then anything else by name."""
    return (0, seed, "") if isinstance(seed, (int, float)) else (1, 0, str(seed))


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


def history_frame(run_dir):
    """A run's per-epoch history as a numeric frame, one row per epoch, sorted.

    The rows are the trainer's own (`training.run_folder.read_history`: the
    ``history.json`` that resuming reads too), so the study and the trainer
    never disagree on what a run recorded. What this adds is what statistics
    need and the trainer's list of rows does not give: numbers everywhere (the
    trainer writes an infinite or NaN loss as the string "inf" or "nan",
    which become floats here, and a missing metric as null, which becomes
    NaN), and one row per epoch (should a resumed run have repeated an
    epoch, the later row counts). No history yet gives an empty frame with an
    ``epoch`` column.

    Raises:
        ValueError: the history is not valid JSON or its rows have no ``epoch``.
    """
    rows = read_history(run_dir)
    if not rows:
        return pd.DataFrame({"epoch": pd.Series([], dtype="int64")})
    history = pd.DataFrame(rows)
    if "epoch" not in history.columns:
        raise ValueError(f"History of {run_dir} has no 'epoch' column. Columns: {list(history.columns)}")
    history = history.apply(pd.to_numeric, errors="coerce")
    history = history.dropna(subset=["epoch"]).drop_duplicates("epoch", keep="last")
    history["epoch"] = history["epoch"].astype("int64")
    return history.sort_values("epoch").reset_index(drop=True)


def load_run(run_dir):
    """Read one run directory into a `RunRecord`.

    Raises:
        FileNotFoundError: the directory has no ``config.json``.
        ValueError: its config, manifest or history cannot be read.
    """
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG
    if not config_path.is_file():
        raise FileNotFoundError(f"Expected a run config at {config_path}; it does not exist.")
    manifest = read_manifest(run_dir)
    return RunRecord(
        name=run_dir.name,
        path=run_dir,
        config=_read_json(config_path),
        history=history_frame(run_dir),
        manifest=manifest,
    )


def load_study(study_dir, runs_required=True):
    """Read every run under ``study_dir/runs`` (sorted by name) and ``study.json``.

    Run folders that cannot be read (no config, broken JSON) are kept in
    `Study.unreadable` with the reason rather than stopping the whole report.
    With ``runs_required=False`` a declared study whose runs have not started
    (a study.json and no ``runs/`` yet) reads as a study without runs: a
    report can set such a study beside itself, as a budget still to come,
    before its first run writes anything.

    Raises:
        FileNotFoundError: ``study_dir/runs`` does not exist (and, with
            ``runs_required=False``, neither does ``study_dir/study.json``).
    """
    study_dir = Path(study_dir)
    runs_dir = study_dir / RUNS_DIR
    plan_path = study_dir / STUDY_FILE
    if not runs_dir.is_dir():
        if runs_required:
            raise FileNotFoundError(f"Expected a study directory with a runs/ folder; {runs_dir} does not exist.")
        if not plan_path.is_file():
            raise FileNotFoundError(
                f"Expected a study directory with a runs/ folder or a {STUDY_FILE}; {study_dir} has neither."
            )
    runs, unreadable = [], []
    for run_dir in sorted(p for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.is_dir() else ():
        try:
            runs.append(load_run(run_dir))
        except (OSError, ValueError) as error:
            unreadable.append((run_dir.name, f"{type(error).__name__}: {error}"))
    plan = _read_json(plan_path) if plan_path.is_file() else None
    return Study(path=study_dir, runs=tuple(runs), unreadable=tuple(unreadable), plan=plan)
