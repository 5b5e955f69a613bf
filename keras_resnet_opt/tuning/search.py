"""`run_search`: a Keras Tuner search per optimizer, resumable, optionally distributed.

Each optimizer gets its own Keras Tuner project, ``<directory>/<optimizer>/``
(``<optimizer>-p<p>`` when Padam's p is fixed; a plug-in "pkg.mod:Class" is
named "pkg.mod.Class", a valid folder name everywhere), and, with several
optimizers, every one the same tuner, number of trials, epochs and tuner seed
(equal budgets). The objective is the *final* epoch's accuracy on the
validation split (`options.OBJECTIVE`): the model a run ends with is the one
it delivers, so the tuner must not pick a rate for a lucky epoch in the
middle (Keras Tuner's default scores a trial by its best epoch). The test
split is never loaded into a trial.

Resume: a project directory is reused (Keras Tuner ``overwrite=False``), so
rerunning the same command continues an interrupted search and skips the
finished trials; a trial that was running when the search stopped is run
again from its last finished epoch (each trial keeps a per-epoch checkpoint in
its directory until it completes, and its per-epoch ``history.csv`` for good).
``overwrite=True`` deletes the project first. The search definition is
checked against the one stored in the project (tuning/definition.py). The
data is loaded before anything is written, so a wrong data folder fails first.

Distributed, two independent ways (tuning/tuners.py, docs/tuning.md), which
combine: Keras Tuner's chief and workers run different trials in parallel
processes, and ``config.strategy`` spreads each trial over several devices
with synchronised BatchNorm and the configured batch size as the global
batch, so a trial computes what it would on one device. Each trial records
the replicas it trained over (``replicas`` in ``trials.csv``).

The outputs (chief or single process) are tuning/outputs.py's.
"""

import dataclasses
import datetime
import shutil
from pathlib import Path

import keras
import pandas as pd

from keras_resnet_opt import environment
from keras_resnet_opt.config import RunConfig
from keras_resnet_opt.search_files import TRIAL_COLUMNS, TRIALS_CSV
from keras_resnet_opt.training.run_folder import TENSORBOARD_DIR
from keras_resnet_opt.tuning.definition import check_definition, project_name, search_definition
from keras_resnet_opt.tuning.hypermodel import ResNetHyperModel, load_search_data
from keras_resnet_opt.tuning.options import SearchOptions
from keras_resnet_opt.tuning.outputs import (
    best_values,
    first_failure,
    trials_table,
    write_best_hparams,
    write_sensitivity_plots,
    write_trials_table,
)
from keras_resnet_opt.tuning.spaces import search_space
from keras_resnet_opt.tuning.tuners import WORKER, distributed_role, make_tuner, trial_strategy

# The run fields every optimizer of one search shares: one data load and one strategy serve them all.
_SHARED = ("data_dir", "val_size", "split_seed", "train_subset", "strategy")


@dataclasses.dataclass
class SearchResult:
    """What a search process produced.

    ``role`` is None (single process), "chief" or "worker"; a worker's result
    has no best values or outputs (the chief writes them). ``failed`` names
    optimizers with no completed trial.
    """

    role: str | None
    optimizers: list
    best: dict
    val_accuracy: dict
    trials: pd.DataFrame
    output: Path | None = None
    trials_csv: Path | None = None
    plots: list = dataclasses.field(default_factory=list)
    failed: dict = dataclasses.field(default_factory=dict)


def _check_configs(configs):
    """The configs as a list: one per optimizer, all reading the same data."""
    configs = [configs] if isinstance(configs, RunConfig) else list(configs)
    if not configs:
        raise ValueError("A search needs the run config of at least one optimizer.")
    optimizers = [c.validate().optimizer for c in configs]
    if len(set(optimizers)) < len(optimizers):
        raise ValueError(f"Each optimizer is searched once. Received: {optimizers}")
    for field in _SHARED:
        values = {getattr(c, field) for c in configs}
        if len(values) > 1:
            raise ValueError(
                f"The optimizers of one search share their data and strategy; `{field}` differs: "
                f"{sorted(values, key=str)}"
            )
    return configs


def run_search(configs, options=None, verbose=0):
    """Search the hyperparameters of one optimizer, or of several with equal budgets.

    Args:
        configs: the `RunConfig` the trials train with (model, epochs, batch
            size, schedule, data, seed, strategy; its optimizer is the one
            searched, and its learning rate, p and weight decay the ones the
            trials replace), or a list of them, one per optimizer
            (`options.search_configs` builds them from a preset, "all"
            included). ``seed`` fixes initial weights, data order and the
            tuner's draws; ``strategy`` is the tf.distribute strategy each
            trial trains under, as ``scripts/train.py --strategy``.
        options: `SearchOptions` (tuner, trials, space, outputs); None = the defaults.
        verbose: 0 silent, 1 Keras Tuner's trial display and progress bars,
            2 the display and one line per epoch.

    Returns:
        `SearchResult`.

    Raises:
        ValueError: bad settings (unknown tuner, several optimizers under
            distributed tuning, ...).
        SearchDefinitionChanged: a project holds a different search.
    """
    options = (options or SearchOptions()).validate()
    configs = _check_configs(configs)
    optimizers = [c.optimizer for c in configs]
    role = distributed_role()
    if role is not None and len(optimizers) > 1:
        raise ValueError(
            "Distributed tuning searches one optimizer per run (the chief serves one oracle). "
            "Start the chief and workers once per optimizer; see docs/tuning.md."
        )
    directory = Path(options.directory)
    distribution = trial_strategy(configs[0].strategy, role)
    lr_points = options.lr_points if options.tuner == "edge-grid" else None
    spaces = [
        search_space(c.optimizer, options.tune_weight_decay, partial=options.partial, lr_center=options.lr_center,
                     lr_points=lr_points, lr_range=options.lr_range)
        for c in configs
    ]
    data_cache = {}

    def data():
        if "data" not in data_cache:  # one load for every optimizer of the search
            data_cache["data"] = load_search_data(configs[0])
        return data_cache["data"]

    if role is None:
        data()  # a wrong data folder or no network fails here, before any project is written

    tables, best, accuracy, failed, records = [], {}, {}, {}, {}
    for config, space in zip(configs, spaces):
        name = config.optimizer
        project = project_name(name, options.partial)
        project_dir = directory / project
        if options.overwrite and role != WORKER and project_dir.exists():
            shutil.rmtree(project_dir)
        definition = search_definition(config, space, options.tuner, options.grid, options.tuner_options())
        check_definition(project_dir, definition, write=role != WORKER)
        hypermodel = ResNetHyperModel(config, space, data, grid=options.grid)
        kt_tuner = make_tuner(options.tuner, hypermodel, directory, project, options.max_trials, config.epochs,
                              config.seed, options.hyperband_factor, options.initial_points, distribution, space=space)
        # Keras Tuner gives each trial its own folder under this one and logs
        # the trial's hyperparameters to TensorBoard's HParams dashboard.
        board = keras.callbacks.TensorBoard(log_dir=str(project_dir / TENSORBOARD_DIR), write_graph=False)
        kt_tuner.search(verbose=verbose, callbacks=[board])
        if role == WORKER:
            continue
        tables.append(trials_table(kt_tuner, name, config.epochs))
        found = best_values(kt_tuner, space)
        if found is None:
            failed[name] = first_failure(kt_tuner)
            continue
        best[name], accuracy[name], trial_id = found
        records[name] = _search_record(config, options, space, tables[-1], trial_id, accuracy[name], data().source,
                                       project_dir)

    trials = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(TRIAL_COLUMNS))
    result = SearchResult(role, optimizers, best, accuracy, trials, failed=failed)
    if role == WORKER:
        return result
    output = options.output_path
    result.output = write_best_hparams(output, best, records)
    result.trials_csv, merged = write_trials_table(output.parent / TRIALS_CSV, trials, optimizers)
    result.plots = write_sensitivity_plots(output.parent, merged)
    return result


def _search_record(config, options, space, table, trial_id, val_accuracy, data_source, project_dir):
    """The ``searches`` entry of the best-hyperparameters file for one optimizer."""
    return {
        "best_trial": trial_id,
        "val_accuracy": val_accuracy,
        "trials": int(len(table)),
        "completed": int((table["status"] == "completed").sum()),
        "max_trials": options.max_trials,
        "tuner": options.tuner,
        "epochs": config.epochs,
        "preset": config.preset,
        "train_subset": config.train_subset,
        "val_size": config.val_size,
        "seed": config.seed,
        "strategy": config.strategy,
        "space": space.to_dict(grid=options.grid),
        "data_source": data_source,
        "project_dir": str(project_dir),
        "code": environment.code_version(),
        "threads": environment.threads_used(),
        "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
