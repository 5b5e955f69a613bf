"""The study grid: optimizer x seed (plus an optional Padam p sweep), run as resumable runs.

Each cell is an ordinary ``scripts/train.py`` run in its own process (so K of
them can share each GPU, and one crash cannot take the others down), with
its run directory under ``STUDY/runs/`` and its output in ``STUDY/logs/``. A
cell whose ``manifest.json`` exists is finished and skipped without starting
a process, so rerunning an interrupted study only does what is missing.

A cell's configuration is built here the way train.py builds it, with
`config.make_config`, from the settings every cell shares (``common``: the
preset and `make_config`'s other arguments) and the cell's own optimizer, seed
and p; its run name is that config's `resolved_run_name`. The same settings
are written out as the cell's train.py command line, which the run records.
"""

import concurrent.futures
import dataclasses
import json
import os
import queue
import shlex
import subprocess
import sys
from pathlib import Path

from keras_resnet_opt.atomic import write_json
from keras_resnet_opt.config import make_config
from keras_resnet_opt.optimizer_names import OPTIMIZER_NAMES, PADAM_DEFAULT_PARTIAL
from keras_resnet_opt.study.claim_schema import SECTION as PREREGISTRATION
from keras_resnet_opt.study.layout import LOGS_DIR, RUNS_DIR, STUDY_FILE
from keras_resnet_opt.training.run_folder import MANIFEST

# What `scripts/compare.py` runs without --optimizers: every registry optimizer
# but AdamW, the six that results/cpu-quick compared. AdamW joined for the
# cpu-budget study, which names it, so a default grid stays the one those
# committed results ran.
DEFAULT_OPTIMIZERS = tuple(name for name in OPTIMIZER_NAMES if name != "adamw")

# The module train.py's command runs (`python -m ...`).
TRAIN_MODULE = "keras_resnet_opt.cli.train"
# study.json's fields that a rewrite of the plan keeps: the declarations, and
# the hand-written title and design notes the report shows.
KEPT_STUDY_FIELDS = (PREREGISTRATION, "title", "design_notes")


@dataclasses.dataclass(frozen=True)
class Cell:
    """One run of the grid: an optimizer at a seed, and Padam's p when it is swept."""

    optimizer: str
    seed: int
    partial: float | None = None

    def settings(self):
        """The cell's own `make_config` arguments (p only when set)."""
        own = {"optimizer": self.optimizer, "seed": self.seed}
        if self.partial is not None:
            own["partial"] = float(self.partial)
        return own


def plan_cells(optimizers, seeds, partial_sweep=(), sweep_seed=0, default_partial=PADAM_DEFAULT_PARTIAL):
    """Seed-major order (every optimizer's first seed before any second seed), so a
    study cut short still covers every optimizer; the p sweep comes after the first
    seed. The sweep skips the default p, which the main padam cells already ran."""
    cells = [Cell(opt, seeds[0]) for opt in optimizers]
    cells += [Cell("padam", sweep_seed, p) for p in partial_sweep if p != default_partial]
    cells += [Cell(opt, seed) for seed in seeds[1:] for opt in optimizers]
    return cells


def cell_config(cell, common):
    """The cell's validated `RunConfig`, resolved as train.py resolves its flags.

    Args:
        cell: a `Cell`.
        common: `make_config` arguments every cell shares (``preset``,
            ``hparams``, ``model``, ``epochs``, ...); None values mean "not
            given", as for train.py's flags.

    Raises:
        ValueError: the settings do not make a valid config.
    """
    return make_config(**{**common, **cell.settings()})


def cell_run_name(cell, common):
    """The name of the cell's run folder: the one train.py derives from the same settings."""
    return cell_config(cell, common).resolved_run_name()


def _flags(settings):
    """`make_config` arguments as train.py flags (``train_subset``: ``--train-subset``), unset ones left out."""
    flags = []
    for key, value in settings.items():
        if value is not None:
            flags += [f"--{key.replace('_', '-')}", repr(float(value)) if key == "partial" else str(value)]
    return flags


def train_command(cell, common, runs_dir, saved_models_dir):
    """The cell's train.py process: the shared settings, where it writes, then the cell's own settings."""
    where = ["--output-dir", str(runs_dir), "--saved-models-dir", str(saved_models_dir), "--quiet"]
    return [sys.executable, "-m", TRAIN_MODULE, *_flags(common), *where, *_flags(cell.settings())]


def visible_gpus(environ=None):
    """The GPUs runs can be pinned to, as ``CUDA_VISIBLE_DEVICES`` values.

    The user's ``CUDA_VISIBLE_DEVICES`` wins, so a study can be confined to
    some GPUs: its entries in order (ordinals or UUIDs), cut at the first
    negative one as CUDA does; "" or "-1" means no GPU. Otherwise TensorFlow's
    physical GPUs, as ordinals ``0..G-1``. TensorFlow is asked in this process
    rather than in a probe subprocess: ``scripts/compare.py`` has already
    imported it (the optimizer registry loads Keras), listing physical devices
    does not initialise them (no CUDA context, no GPU memory held here), and
    every run is a fresh process, so the runs inherit nothing from it.
    """
    environ = os.environ if environ is None else environ
    value = environ.get("CUDA_VISIBLE_DEVICES")
    if value is not None:
        gpus = []
        for entry in (e.strip() for e in value.split(",")):
            if not entry or entry.startswith("-"):
                break
            gpus.append(entry)
        return gpus
    import tensorflow as tf

    return [str(i) for i in range(len(tf.config.list_physical_devices("GPU")))]


def check_workers(workers):
    """Raise ValueError unless ``workers`` (runs per GPU, or at once on a CPU) is >= 1."""
    if workers < 1:
        raise ValueError(f"--workers must be >= 1 (runs per GPU, or runs at once on a CPU). Received: {workers}")


def placement_slots(gpus, workers):
    """One entry per run that may go at once: each GPU id ``workers`` times, or, on a
    CPU-only machine, ``workers`` times None.

    The GPUs are interleaved (0, 1, 0, 1, ...) so the first runs spread over every
    GPU before any GPU takes a second one.

    Raises:
        ValueError: ``workers`` is below 1.
    """
    check_workers(workers)
    if not gpus:
        return [None] * workers
    return [gpu for _ in range(workers) for gpu in gpus]


def launch_run(command, env, log_path):
    """Run one training process to its end, its output appended to ``log_path``; its exit code."""
    with open(log_path, "a") as out:
        return subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def _where(gpu):
    return "CPU" if gpu is None else f"GPU {gpu}"


def run_study(study_dir, cells, common, workers=1, saved_models_dir="saved_models", log=print, gpus=None,
              launch=launch_run):
    """Run every unfinished cell; returns ``{run_name: exit_code}`` (0 for skipped).

    With G visible GPUs, ``workers`` runs share each GPU (K x G at once), each
    process seeing only its GPU through ``CUDA_VISIBLE_DEVICES`` and growing its
    memory as needed, so small ResNets can fill a large device. A run gives its
    place back when it ends, and the next waiting cell takes it. With no GPU,
    ``workers`` runs go at once on the CPU; each TensorFlow process already
    uses every core, so there K > 1 shares the cores rather than adding speed
    (on the 2-core machine here it gives no speed-up).

    Args:
        common: the `make_config` arguments every cell shares (see `cell_config`).
        gpus: GPU ids to place runs on; None = `visible_gpus()`. [] = pin
            nothing (a CPU-only machine, or runs that span every GPU).
        launch: ``launch(command, env, log_path) -> exit code``, which runs
            one cell's process; tests pass a fake one.
    """
    study_dir = Path(study_dir)
    runs_dir = study_dir / RUNS_DIR
    logs_dir = study_dir / LOGS_DIR
    logs_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")  # several runs per GPU
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    todo, codes = [], {}
    for cell in cells:
        name = cell_run_name(cell, common)
        if (runs_dir / name / MANIFEST).is_file():
            log(f"skip (finished): {name}")
            codes[name] = 0
        else:
            todo.append((name, cell))
    if not todo:
        return codes  # a finished study asks for no GPU
    gpus = visible_gpus() if gpus is None else list(gpus)
    slots = placement_slots(gpus, workers)
    if gpus:
        log(f"placing up to {workers} run(s) on each of GPU {', '.join(gpus)} ({len(slots)} at once)")
    else:
        log(f"not pinned to a GPU: {workers} run(s) at once")
    free = queue.SimpleQueue()
    for slot in slots:
        free.put(slot)

    def run_cell(item):
        name, cell = item
        command = train_command(cell, common, runs_dir, saved_models_dir)
        gpu = free.get()  # never waits: the pool has one thread per slot
        try:
            run_env = env if gpu is None else {**env, "CUDA_VISIBLE_DEVICES": gpu}
            log_path = logs_dir / f"{name}.log"
            with open(log_path, "a") as out:
                out.write(f"# {_where(gpu)}: {shlex.join(command)}\n")
            log(f"start: {name} on {_where(gpu)}")
            code = launch(command, run_env, log_path)
            log(f"{'done' if code == 0 else f'exit {code}'}: {name} (on {_where(gpu)})")
        finally:
            free.put(gpu)
        return name, code

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(slots)) as pool:
        for name, code in pool.map(run_cell, todo):
            codes[name] = code
    return codes


def write_study_file(study_dir, **fields):
    """Write the grid's plan to ``study_dir/study.json``, keeping its pre-registration.

    The pre-registration is the section `claims.preregister` writes; the
    study's ``title`` and ``design_notes`` (written by hand, read by the
    report) are kept too.

    The plan is rewritten on every (resumed) invocation; the declared contrasts
    and claims are not, so their declaration times stay those of the first
    declaration.
    """
    path = Path(study_dir) / STUDY_FILE
    kept = {}
    if path.is_file():
        old = json.loads(path.read_text())
        kept = {key: old[key] for key in KEPT_STUDY_FIELDS if old.get(key) is not None}
    write_json(path, {**fields, **kept})
