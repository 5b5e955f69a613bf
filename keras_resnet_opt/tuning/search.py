"""`run_search`: a Keras Tuner search per optimizer, resumable, optionally distributed.

Each optimizer gets its own Keras Tuner project, ``<directory>/<optimizer>/``
(``<optimizer>-p<p>`` when Padam's p is fixed; a plug-in "pkg.mod:Class" is
named "pkg.mod.Class", a valid folder name everywhere), and, with several optimizers,
every one the same tuner, number of trials, epochs and tuner seed (equal
budgets). The objective is the *final* epoch's accuracy on the validation
split (``hypermodel.OBJECTIVE``): the model a run ends with is the one it
delivers, so the tuner must not pick a rate for a lucky epoch in the middle
(Keras Tuner's default scores a trial by its best epoch). The test split is
never loaded into a trial.

Resume: a project directory is reused (Keras Tuner ``overwrite=False``), so
rerunning the same command continues an interrupted search and skips the
finished trials; a trial that was running when the search stopped is run
again from its last finished epoch (each trial keeps a per-epoch checkpoint in
its directory until it completes, and its per-epoch ``history.csv`` for good).
``overwrite=True`` deletes the project first. The search definition
(space, tuner, epochs, preset, data settings) is stored in the project as
``search_definition.json``; starting with a different one raises
`SearchDefinitionChanged` instead of mixing trials of two searches, unless
the project holds no finished trial and no trained epoch (a start that failed,
say on a wrong data folder): that one is replaced, with a warning. The data is
loaded before anything is written, so a wrong data folder fails first.

Distributed, two independent ways (docs/tuning.md), which combine:

- Keras Tuner's distributed mode runs *different trials in parallel
  processes*: with ``KERASTUNER_ORACLE_IP``, ``KERASTUNER_ORACLE_PORT`` and
  ``KERASTUNER_TUNER_ID`` set, the process whose id contains "chief" serves
  the oracle and writes the outputs; the others ("tuner0", "tuner1", ...) run
  trials.
- ``strategy`` ("mirrored", "multiworker") spreads *each trial over several
  devices* with tf.distribute, exactly as ``scripts/train.py --strategy``:
  the tuner builds and trains every trial's model under the strategy, with
  synchronised BatchNorm and the configured batch size as the global batch, so a
  trial computes what it would on one device. Each trial records the replicas
  it trained over (``replicas`` in ``trials.csv``).

Outputs (chief or single process), merged with those of earlier searches of
other optimizers at the same paths:

    <output>                        {"best": {optimizer: {learning_rate, partial,
                                    weight_decay}}, "searches": {...}}, the format
                                    ``scripts/train.py --hparams`` reads
    <output dir>/trials.csv         one row per trial
    <output dir>/lr_sensitivity_<optimizer>.png, partial_sensitivity_padam.png
"""

import dataclasses
import datetime
import json
import os
import shutil
import socket
import warnings
from pathlib import Path

import keras_tuner
import pandas as pd

from keras_resnet_opt import environment
from keras_resnet_opt.atomic import atomic_path, write_json
from keras_resnet_opt.config import STRATEGIES, RunConfig, make_config, safe_name_part
from keras_resnet_opt.optimizers.registry import check_optimizer_name, is_plugin, list_optimizers
from keras_resnet_opt.tuning.edge_grid import EdgeGridOracle
from keras_resnet_opt.tuning.hypermodel import OBJECTIVE, ResNetHyperModel, final_epoch_metrics, load_search_data
from keras_resnet_opt.tuning.spaces import LEARNING_RATE, PARTIAL, TUNED_FIELDS, WEIGHT_DECAY, search_space
from keras_resnet_opt.tuning.trial_state import TRIAL_HISTORY, discard_resume_state

# "edge-grid": the learning-rate grid that steps outward while the best rate is
# on an edge (tuning/edge_grid.py); the cpu-budget study's tuner.
TUNERS = ("random", "bayesian", "hyperband", "grid", "edge-grid")
DEFAULT_DIRECTORY = "tuning/runs"
BEST_HPARAMS = "best_hparams.json"
TRIALS_CSV = "trials.csv"
DEFINITION = "search_definition.json"
RAN_BY = "ran_by.json"  # in each trial directory: which tuner process ran it, over how many replicas
TRIAL_COLUMNS = (
    "optimizer", "trial_id", "learning_rate", "partial", "weight_decay", "val_accuracy", "status", "epochs", "tuner_id",
    "replicas", "train_loss",
)
# Keras Tuner reads seed 0 as "draw a random seed", so the tuner's seed is the
# search seed + 1: reproducible, and the same for every optimizer.
ORACLE_SEED_OFFSET = 1
# Config fields that do not change what a search computes. The strategy is one:
# with synchronised BatchNorm and the same global batch a trial computes the same
# on one device or several, so a search may be resumed on other hardware, and
# distributed workers may differ from the chief.
_NOT_DEFINING = ("data_dir", "run_name", "strategy")

ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_ORACLE_IP = "KERASTUNER_ORACLE_IP"
ENV_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"
CHIEF = "chief"
WORKER = "worker"


class SearchDefinitionChanged(ValueError):
    """A project directory holds a search with a different definition."""


class SearchReplaced(UserWarning):
    """A project with no finished trial was replaced by a search with another definition."""


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


def distributed_role():
    """None when not distributed, else "chief" or "worker", from Keras Tuner's variables.

    Raises:
        ValueError: ``KERASTUNER_ORACLE_IP`` is set without the port or the tuner id.
    """
    if ENV_ORACLE_IP not in os.environ:
        return None
    missing = [v for v in (ENV_ORACLE_PORT, ENV_TUNER_ID) if not os.environ.get(v)]
    if missing:
        raise ValueError(
            f"Distributed tuning needs {ENV_ORACLE_IP}, {ENV_ORACLE_PORT} and {ENV_TUNER_ID}; "
            f"{ENV_ORACLE_IP} is set but {', '.join(missing)} is not."
        )
    return CHIEF if CHIEF in os.environ[ENV_TUNER_ID] else WORKER


def resolve_optimizers(name):
    """``"all"`` -> every registry optimizer; a registry name or a plug-in -> [name]."""
    if name == "all":
        return list_optimizers()
    if is_plugin(name):
        return [check_optimizer_name(name)]  # its module must import
    if name not in list_optimizers():
        raise ValueError(
            f"Unknown optimizer {name!r}. Valid optimizers: {', '.join(list_optimizers())}, all, or a plug-in "
            "package.module:Class"
        )
    return [name]


def project_name(optimizer, partial=None):
    """The project folder of an optimizer's search: its name as a folder name, with the fixed p."""
    name = safe_name_part(optimizer)
    return name if partial is None else f"{name}-p{partial:g}"


def search_definition(config, space, tuner, grid=False, tuner_options=None):
    """The JSON-ready description of a search; two searches may share a project iff equal.

    The number of trials is not part of it, so a search can be extended.
    """
    definition = {
        "space": space.to_dict(grid=grid),
        "tuner": tuner,
        "tuner_options": dict(tuner_options or {}),
        "objective": OBJECTIVE,
        "run": config.to_dict(),
    }
    return _defining(json.loads(json.dumps(definition)))  # tuples -> lists, as read back


def _defining(definition):
    """``definition`` without the run fields in `_NOT_DEFINING` (also dropped from
    definitions stored before a field joined that list, so they still resume).

    The run config is read through `RunConfig`, so a field added since a
    definition was stored takes its default (what that search used) instead of
    counting as a change.
    """
    run = definition.get("run", {})
    if run:
        run = json.loads(json.dumps(RunConfig.from_dict(run).to_dict()))
    run = {k: v for k, v in run.items() if k not in _NOT_DEFINING}
    return {**definition, "run": run}


def _changed_keys(old, new, prefix=""):
    keys = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += _changed_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            keys.append(f"{prefix}{key}")
    return keys


def finished_work(project_dir):
    """How many trials of the project completed or trained at least one epoch."""
    done = 0
    for trial_dir in Path(project_dir).glob("trial_*"):
        state = trial_dir / "trial.json"
        try:
            completed = state.is_file() and json.loads(state.read_text()).get("status") == "COMPLETED"
        except ValueError:
            completed = False
        history = trial_dir / TRIAL_HISTORY
        trained = history.is_file() and len(history.read_text().strip().splitlines()) > 1
        done += completed or trained
    return done


def check_definition(project_dir, definition, write=True):
    """Compare ``definition`` with the one stored in ``project_dir``; store it if new.

    A project whose stored definition differs but which holds no finished
    work (`finished_work`) is deleted and started anew with ``definition``
    (when ``write``; a distributed worker leaves that to the chief), with a
    `SearchReplaced` warning.

    Raises:
        SearchDefinitionChanged: a different definition is stored in a
            project with finished work, or the directory holds Keras Tuner
            state but no definition.
    """
    project_dir = Path(project_dir)
    path = project_dir / DEFINITION
    hint = "Rerun with the original settings to resume it, pass --overwrite to discard it, or choose another --directory."
    if path.is_file():
        try:
            stored = _defining(json.loads(path.read_text()))
            changed = _changed_keys(stored, definition)
        except ValueError:  # unreadable, or written by a newer version
            changed = [f"{DEFINITION} unreadable"]
        if not changed:
            return
        if not write or finished_work(project_dir):
            raise SearchDefinitionChanged(
                f"{str(project_dir)!r} holds a search with a different definition (changed: {', '.join(changed)}). {hint}"
            )
        shutil.rmtree(project_dir)
        write_json(path, definition)
        warnings.warn(
            SearchReplaced(
                f"{str(project_dir)!r} held a search that never finished a trial, with a different definition "
                f"(changed: {', '.join(changed)}); it now holds this one."
            ),
            stacklevel=2,
        )
        return
    if (project_dir / "oracle.json").exists():
        raise SearchDefinitionChanged(
            f"{str(project_dir)!r} holds a Keras Tuner search without {DEFINITION}, so it cannot be checked "
            f"against this one. {hint}"
        )
    if write:
        write_json(path, definition)


class _RecordsTunerId:
    """What every tuner of the project adds to Keras Tuner's:

    - ``ran_by.json`` in each trial's directory: the tuner id and host as the
      trial starts, and once it has trained, the replicas its model trained
      over (read from the trained model, so it shows the strategy really applied);
    - the trial's directory passed to ``ResNetHyperModel.fit``, which keeps a
      per-epoch checkpoint and history there, so a retried trial resumes;
    - the trial scored by its final epoch (`final_epoch_metrics`), not Keras
      Tuner's best epoch.
    """

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        write_json(Path(self.get_trial_dir(trial.trial_id)) / RAN_BY,
                   {"tuner_id": self.tuner_id, "host": socket.gethostname()})

    def run_trial(self, trial, *args, **kwargs):
        trial_dir = Path(self.get_trial_dir(trial.trial_id))
        histories = super().run_trial(trial, *args, trial_dir=trial_dir, **kwargs)
        trained = [h.model for h in histories if getattr(h, "model", None) is not None]
        if trained:
            path = trial_dir / RAN_BY
            record = json.loads(path.read_text()) if path.is_file() else {}
            record["replicas"] = int(trained[-1].distribute_strategy.num_replicas_in_sync)
            write_json(path, record)
        discard_resume_state(trial_dir)
        return [final_epoch_metrics(h) for h in histories]


class _RandomSearch(_RecordsTunerId, keras_tuner.RandomSearch):
    pass


class _BayesianOptimization(_RecordsTunerId, keras_tuner.BayesianOptimization):
    pass


class _Hyperband(_RecordsTunerId, keras_tuner.Hyperband):
    pass


class _GridSearch(_RecordsTunerId, keras_tuner.GridSearch):
    pass


class _EdgeGrid(_RecordsTunerId, keras_tuner.Tuner):
    pass


def make_tuner(kind, hypermodel, directory, project_name, max_trials, epochs, seed, hyperband_factor=3,
               initial_points=None, distribution_strategy=None, space=None):
    """A Keras Tuner tuner of ``kind`` (one of `TUNERS`) maximising validation accuracy.

    ``max_trials`` caps every kind, Hyperband included (its brackets up to
    ``epochs`` with ``hyperband_factor`` are cut off there), and the
    edge-extending grid's extensions. With a ``distribution_strategy`` (a
    tf.distribute strategy) the tuner builds and trains every trial's model
    under it. "edge-grid" needs the `SearchSpace` (``space``) with its grid.
    """
    common = dict(
        hypermodel=hypermodel,
        distribution_strategy=distribution_strategy,
        objective=keras_tuner.Objective(OBJECTIVE, direction="max"),
        directory=str(directory),
        project_name=project_name,
        overwrite=False,  # resume; overwriting is done by run_search, before the definition check
        seed=seed + ORACLE_SEED_OFFSET,
    )
    if kind == "random":
        return _RandomSearch(max_trials=max_trials, **common)
    if kind == "bayesian":
        return _BayesianOptimization(max_trials=max_trials, num_initial_points=initial_points, **common)
    if kind == "grid":
        return _GridSearch(max_trials=max_trials, **common)
    if kind == "edge-grid":
        if space is None or space.lr_grid is None:
            raise ValueError("The edge-grid tuner needs a search space built with `lr_points`.")
        oracle = EdgeGridOracle(common.pop("objective"), space.lr_grid, space.lr_initial, max_trials,
                                seed=common.pop("seed"))
        return _EdgeGrid(oracle=oracle, **common)
    if kind == "hyperband":
        tuner = _Hyperband(max_epochs=epochs, factor=hyperband_factor, hyperband_iterations=1, **common)
        oracle = getattr(tuner.oracle, "_oracle", tuner.oracle)  # under the worker's gRPC client
        oracle.max_trials = max_trials
        return tuner
    raise ValueError(f"Unknown tuner {kind!r}. Valid tuners: {', '.join(TUNERS)}")


def trial_strategy(name, role=None):
    """The tf.distribute strategy trials train under, or None for the default one.

    None too on a distributed chief, which serves the oracle and never trains:
    creating a strategy there would take the GPUs the workers need.
    """
    if name == "default" or role == CHIEF:
        return None
    from keras_resnet_opt.distribute import make_strategy

    return make_strategy(name)


def _float_or_none(value):
    return None if value is None else float(value)


def trials_table(tuner, optimizer, epochs):
    """One row per trial of ``tuner``'s oracle (columns `TRIAL_COLUMNS`), in trial order."""
    rows = []
    oracle = tuner.oracle
    for trial_id in sorted(oracle.trials, key=lambda t: (len(t), t)):
        trial = oracle.trials[trial_id]
        values = trial.hyperparameters.values
        ran_by = Path(tuner.project_dir) / f"trial_{trial_id}" / RAN_BY
        record = json.loads(ran_by.read_text()) if ran_by.is_file() else {}
        completed = trial.status == keras_tuner.engine.trial.TrialStatus.COMPLETED
        rows.append({
            "optimizer": optimizer,
            "trial_id": str(trial_id),
            LEARNING_RATE: _float_or_none(values.get(LEARNING_RATE)),
            PARTIAL: _float_or_none(values.get(PARTIAL)),
            WEIGHT_DECAY: _float_or_none(values.get(WEIGHT_DECAY)),
            "val_accuracy": _float_or_none(trial.score) if completed else None,
            "status": str(trial.status).lower(),
            "epochs": int(values.get("tuner/epochs", epochs)),
            "tuner_id": record.get("tuner_id"),
            "replicas": record.get("replicas"),
            "train_loss": _float_or_none(trial.metrics.get_last_value("loss")) if completed else None,
        })
    return pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))


def best_values(tuner, space):
    """``({learning_rate, partial, weight_decay}, val_accuracy, trial_id)`` of the best
    completed trial (untuned fields None), or None when no trial completed."""
    completed = [t for t in tuner.oracle.get_best_trials(1)
                 if t.status == keras_tuner.engine.trial.TrialStatus.COMPLETED]
    if not completed:
        return None
    trial = completed[0]
    values = trial.hyperparameters.values
    tuned = set(space.tuned_names())
    best = {k: (float(values[k]) if k in tuned else None) for k in TUNED_FIELDS}
    return best, float(trial.score), str(trial.trial_id)


def _first_failure(tuner):
    for trial in tuner.oracle.trials.values():
        if trial.message:
            return trial.message.strip().splitlines()[-1]
    return "no trial completed"


def run_search(
    optimizer,
    tuner="random",
    max_trials=10,
    epochs=None,
    preset="cpu-quick",
    data_dir=None,
    train_subset=None,
    val_size=None,
    seed=None,
    directory=DEFAULT_DIRECTORY,
    overwrite=False,
    output=None,
    tune_weight_decay=False,
    hyperband_factor=3,
    initial_points=None,
    strategy="default",
    partial=None,
    lr_center=None,
    lr_points=3,
    verbose=0,
    lr_min=None,
    lr_max=None,
):
    """Search the hyperparameters of one optimizer, or of all with equal budgets.

    Args:
        optimizer: a registry name, a plug-in "package.module:Class", or "all".
        tuner: one of `TUNERS`. Defaults to "random".
        max_trials: trials per optimizer (a cap for Hyperband). Defaults to 10.
        epochs: epochs per trial (Hyperband's maximum); None = the preset's.
        preset: the recipe trials train with (model, batch size, schedule,
            subset, validation size). Defaults to "cpu-quick".
        data_dir, train_subset, val_size, seed: as ``scripts/train.py``;
            None = the preset's. ``seed`` fixes initial weights, data order
            and the tuner's draws.
        directory: parent of the Keras Tuner projects. Defaults to "tuning/runs".
        overwrite: discard existing projects and start over. Ignored by
            distributed workers (the chief decides). Defaults to False.
        output: best-hyperparameters JSON; None = ``<directory>/best_hparams.json``.
            The trials table and plots go beside it.
        tune_weight_decay: also search the weight decay. Defaults to False.
        hyperband_factor: Hyperband's reduction factor. Defaults to 3.
        initial_points: random trials before Bayesian optimisation starts;
            None = Keras Tuner's default (3 per hyperparameter).
        strategy: one of ``config.STRATEGIES``: the tf.distribute strategy
            each trial trains under, as ``scripts/train.py --strategy``
            ("mirrored": this machine's GPUs or logical CPUs; "multiworker":
            the hosts in ``TF_CONFIG``). Not Keras Tuner's distributed mode,
            which runs different trials in parallel processes. Defaults to
            "default" (one device).
        partial: fix Padam's p at this value (padam only); its project is
            then ``<optimizer>-p<p>``. None searches p where the tuner can.
        lr_center: the learning rate the space is centred on; None = the
            registry default (a plug-in's: its class's default).
        lr_points: the edge-extending grid's starting points (odd; "edge-grid"
            only). Defaults to 3.
        verbose: 0 silent, 1 Keras Tuner's trial display and progress bars,
            2 the display and one line per epoch.
        lr_min, lr_max: search the learning rate over ``[lr_min, lr_max]``
            (both or neither; not with "edge-grid"). None = two decades
            around the centre.

    Returns:
        `SearchResult`.

    Raises:
        ValueError: bad settings (unknown optimizer, tuner or preset, ...).
        SearchDefinitionChanged: a project holds a different search.
    """
    if tuner not in TUNERS:
        raise ValueError(f"Unknown tuner {tuner!r}. Valid tuners: {', '.join(TUNERS)}")
    if max_trials is None or max_trials < 1:
        raise ValueError(f"`max_trials` must be >= 1. Received: max_trials={max_trials}")
    if epochs is not None and epochs < 1:
        raise ValueError(f"`epochs` must be >= 1. Received: epochs={epochs}")
    if tuner == "hyperband" and hyperband_factor < 2:
        raise ValueError(f"`hyperband_factor` must be >= 2. Received: hyperband_factor={hyperband_factor}")
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}. Valid strategies: {', '.join(STRATEGIES)}")
    if tuner == "bayesian" and initial_points is not None and initial_points < 1:
        raise ValueError(f"`initial_points` (--initial-points) must be >= 1. Received: initial_points={initial_points}")
    if (lr_min is None) != (lr_max is None):
        raise ValueError("Give both --lr-min and --lr-max (the learning-rate range), or neither.")
    lr_range = None if lr_min is None else (lr_min, lr_max)
    optimizers = resolve_optimizers(optimizer)
    role = distributed_role()
    if role is not None and len(optimizers) > 1:
        raise ValueError(
            "Distributed tuning searches one optimizer per run (the chief serves one oracle). "
            "Start the chief and workers once per optimizer; see docs/tuning.md."
        )
    directory = Path(directory)
    output = Path(output) if output is not None else directory / BEST_HPARAMS
    grid = tuner in ("grid", "edge-grid")
    tuner_options = {"hyperband_factor": hyperband_factor} if tuner == "hyperband" else {}
    if tuner == "bayesian":
        tuner_options["initial_points"] = initial_points

    configs = {
        name: make_config(preset, optimizer=name, epochs=epochs, data_dir=data_dir, train_subset=train_subset,
                          val_size=val_size, seed=seed, strategy=strategy)
        for name in optimizers
    }
    distribution = trial_strategy(strategy, role)
    edge = tuner == "edge-grid"
    spaces = {
        name: search_space(name, tune_weight_decay, partial=partial, lr_center=lr_center,
                           lr_points=lr_points if edge else None, lr_range=lr_range)
        for name in optimizers
    }
    data_cache = {}

    def data():
        if "data" not in data_cache:  # one load for every optimizer of the search
            data_cache["data"] = load_search_data(next(iter(configs.values())))
        return data_cache["data"]

    if role is None:
        data()  # a wrong data folder or no network fails here, before any project is written

    tables, best, accuracy, failed, records = [], {}, {}, {}, {}
    for name in optimizers:
        config, space = configs[name], spaces[name]
        project = project_name(name, partial)
        project_dir = directory / project
        if overwrite and role != WORKER and project_dir.exists():
            shutil.rmtree(project_dir)
        definition = search_definition(config, space, tuner, grid, tuner_options)
        check_definition(project_dir, definition, write=role != WORKER)
        hypermodel = ResNetHyperModel(config, space, data, grid=grid)
        kt_tuner = make_tuner(tuner, hypermodel, directory, project, max_trials, config.epochs, config.seed,
                              hyperband_factor, initial_points, distribution, space=space)
        kt_tuner.search(verbose=verbose)
        if role == WORKER:
            continue
        tables.append(trials_table(kt_tuner, name, config.epochs))
        found = best_values(kt_tuner, space)
        if found is None:
            failed[name] = _first_failure(kt_tuner)
            continue
        best[name], accuracy[name], trial_id = found
        records[name] = {
            "best_trial": trial_id,
            "val_accuracy": accuracy[name],
            "trials": int(len(tables[-1])),
            "completed": int((tables[-1]["status"] == "completed").sum()),
            "max_trials": max_trials,
            "tuner": tuner,
            "epochs": config.epochs,
            "preset": preset,
            "train_subset": config.train_subset,
            "val_size": config.val_size,
            "seed": config.seed,
            "strategy": strategy,
            "space": space.to_dict(grid=grid),
            "data_source": data().source,
            "project_dir": str(project_dir),
            "code": environment.code_version(),
            "threads": environment.threads_used(),
            "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }

    trials = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(TRIAL_COLUMNS))
    result = SearchResult(role, optimizers, best, accuracy, trials, failed=failed)
    if role == WORKER:
        return result
    result.output = write_best_hparams(output, best, records)
    result.trials_csv, merged = write_trials_table(output.parent / TRIALS_CSV, trials, optimizers)
    result.plots = write_sensitivity_plots(output.parent, merged)
    return result


def write_best_hparams(path, best, records):
    """Merge ``best`` (and the search records) into the JSON at ``path``; returns the path.

    Entries of optimizers not searched now are kept, so searches of different
    optimizers can share one file.
    """
    path = Path(path)
    existing = json.loads(path.read_text()) if path.is_file() else {}
    if "best" not in existing:  # also accept a file in the unwrapped format
        existing = {"best": {k: v for k, v in existing.items() if isinstance(v, dict)}}
    existing.setdefault("searches", {})
    existing["best"].update(best)
    existing["searches"].update(records)
    write_json(path, existing)
    return path


def write_trials_table(path, trials, optimizers):
    """Replace the rows of ``optimizers`` in the CSV at ``path`` with ``trials``.

    Returns ``(path, merged table)``.
    """
    path = Path(path)
    if path.is_file():
        old = pd.read_csv(path, dtype={"trial_id": str, "tuner_id": str})
        old = old[~old["optimizer"].isin(optimizers)]
        frames = [f for f in (old, trials) if len(f)]
        merged = pd.concat(frames, ignore_index=True) if frames else trials
    else:
        merged = trials
    order = {name: i for i, name in enumerate(list_optimizers())}
    merged = merged.assign(_rank=merged["optimizer"].map(lambda o: order.get(o, len(order))),
                           _trial=merged["trial_id"].astype(int))
    merged = merged.sort_values(["_rank", "optimizer", "_trial"]).drop(columns=["_rank", "_trial"])
    merged = merged.reset_index(drop=True)
    with atomic_path(path) as tmp:
        merged.to_csv(tmp, index=False)
    return path, merged


def write_sensitivity_plots(folder, trials):
    """``lr_sensitivity_<optimizer>.png`` per optimizer with completed trials, and
    ``partial_sensitivity_<optimizer>.png`` for those with a p; returns the paths."""
    from keras_resnet_opt.study.plots import plot_lr_sensitivity
    from keras_resnet_opt.tuning.plots import plot_partial_sensitivity

    folder = Path(folder)
    done = trials[pd.to_numeric(trials["val_accuracy"], errors="coerce").notna()]
    written = []
    for name in dict.fromkeys(done["optimizer"]):
        rows = done[done["optimizer"] == name]
        path = folder / f"lr_sensitivity_{safe_name_part(name)}.png"
        plot_lr_sensitivity(rows, path=path)
        written.append(path)
        if pd.to_numeric(rows[PARTIAL], errors="coerce").notna().any():
            path = folder / f"partial_sensitivity_{safe_name_part(name)}.png"
            plot_partial_sensitivity(rows, optimizer=name, path=path)
            written.append(path)
    return written
