"""The study grid: optimizer x seed (plus an optional Padam p sweep), run as resumable runs.

Each cell is an ordinary ``scripts/train.py`` run in its own process (so K of
them can share a machine, and one crash cannot take the others down), with
its run directory under ``STUDY/runs/``. A cell whose ``manifest.json`` exists
is finished and skipped without starting a process, so rerunning an
interrupted study only does what is missing.
"""

import concurrent.futures
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from keras_resnet_opt.atomic import write_json

DEFAULT_OPTIMIZERS = ("sgd", "sgdm", "adam", "nadam", "amsgrad", "padam")


@dataclasses.dataclass(frozen=True)
class Cell:
    optimizer: str
    seed: int
    partial: float | None = None

    def train_args(self):
        args = ["--optimizer", self.optimizer, "--seed", str(self.seed)]
        if self.partial is not None:
            args += ["--partial", repr(float(self.partial))]
        return args


def plan_cells(optimizers, seeds, partial_sweep=(), sweep_seed=0, default_partial=0.125):
    """Seed-major order (every optimizer's first seed before any second seed), so a
    study cut short still covers every optimizer; the p sweep comes after the first
    seed. The sweep skips the default p, which the main padam cells already ran."""
    cells = [Cell(opt, seeds[0]) for opt in optimizers]
    cells += [Cell("padam", sweep_seed, p) for p in partial_sweep if p != default_partial]
    cells += [Cell(opt, seed) for seed in seeds[1:] for opt in optimizers]
    return cells


def cell_run_name(cell, common_args):
    """The run name train.py will derive, computed the same way (one source of truth)."""
    from keras_resnet_opt.cli.train import build_parser, config_from_args

    args = build_parser().parse_args(common_args + cell.train_args())
    return config_from_args(args).resolved_run_name()


def run_study(study_dir, cells, common_args, workers=1, saved_models_dir="saved_models", log=print):
    """Run every unfinished cell; returns ``{run_name: exit_code}`` (0 for skipped)."""
    study_dir = Path(study_dir)
    runs_dir = study_dir / "runs"
    logs_dir = study_dir / "logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    base = common_args + ["--output-dir", str(runs_dir), "--saved-models-dir", str(saved_models_dir), "--quiet"]
    env = dict(os.environ)
    env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")  # several runs per GPU
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    todo, codes = [], {}
    for cell in cells:
        name = cell_run_name(cell, common_args)
        if (runs_dir / name / "manifest.json").is_file():
            log(f"skip (finished): {name}")
            codes[name] = 0
        else:
            todo.append((name, cell))

    def launch(item):
        name, cell = item
        command = [sys.executable, "-m", "keras_resnet_opt.cli.train", *base, *cell.train_args()]
        log(f"start: {name}")
        with open(logs_dir / f"{name}.log", "a") as out:
            code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        log(f"{'done' if code == 0 else f'exit {code}'}: {name}")
        return name, code

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for name, code in pool.map(launch, todo):
            codes[name] = code
    return codes


def write_study_file(study_dir, **fields):
    write_json(Path(study_dir) / "study.json", fields)
