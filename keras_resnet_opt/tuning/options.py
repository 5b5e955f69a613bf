"""What a search is asked to do, without importing Keras or Keras Tuner.

A search takes the `RunConfig` its trials train with (one per optimizer,
`search_configs`) and `SearchOptions`: the tuner, the budget, the space's
settings and where the outputs go. Both are checked here, so that a command
line can refuse bad input (and list the tuners in its ``--help``) before
TensorFlow loads.
"""

import dataclasses
from pathlib import Path

from keras_resnet_opt.config import make_config
from keras_resnet_opt.optimizer_names import OPTIMIZER_NAMES, check_optimizer_name
from keras_resnet_opt.search_files import BEST_HPARAMS

# "edge-grid": the learning-rate grid that steps outward while the best rate is
# on an edge (tuning/edge_grid.py); the cpu-budget study's tuner.
TUNERS = ("random", "bayesian", "hyperband", "grid", "edge-grid")
# The tuners that search a finite grid of points.
GRID_TUNERS = ("grid", "edge-grid")
# What a trial is scored by: the validation accuracy of its final epoch.
OBJECTIVE = "val_accuracy"
DEFAULT_DIRECTORY = "tuning/runs"
# A trial's folder: its per-epoch resume checkpoints (tuning/trial_state.py), and its history.
RESUME_DIR = "resume"
TRIAL_HISTORY = "history.csv"
ALL = "all"  # every registry optimizer, with equal budgets


def check_tuner(name):
    """Return ``name`` if it is one of `TUNERS`, else raise ValueError listing them."""
    if name not in TUNERS:
        raise ValueError(f"Unknown tuner {name!r}. Valid tuners: {', '.join(TUNERS)}")
    return name


def search_configs(optimizer, preset="cpu-quick", **overrides):
    """The validated `RunConfig` of each optimizer a search covers.

    Args:
        optimizer: a registry name, a plug-in "package.module:Class", or
            "all" (every registry optimizer, in table order).
        preset: the recipe trials train with (model, batch size, schedule,
            subset, validation size), its per-optimizer entries included.
        **overrides: `make_config` fields (``epochs``, ``data_dir``,
            ``train_subset``, ``val_size``, ``seed``, ``strategy``, ...);
            None = the preset's.

    Raises:
        ValueError: an unknown optimizer or preset, or a bad field.
    """
    names = list(OPTIMIZER_NAMES) if optimizer == ALL else [check_optimizer_name(optimizer)]
    return [make_config(preset, optimizer=name, **overrides) for name in names]


@dataclasses.dataclass(frozen=True)
class SearchOptions:
    """How to search, apart from what trials train (their `RunConfig`).

    Attributes:
        tuner: one of `TUNERS`. Defaults to "random".
        max_trials: trials per optimizer (a cap for Hyperband and for the
            edge-extending grid's extensions). Defaults to 10.
        directory: parent of the Keras Tuner projects. Defaults to "tuning/runs".
        overwrite: discard existing projects and start over. Ignored by
            distributed workers (the chief decides). Defaults to False.
        output: best-hyperparameters JSON; None = ``<directory>/best_hparams.json``.
            The trials table and plots go beside it.
        tune_weight_decay: also search the weight decay. Defaults to False.
        hyperband_factor: Hyperband's reduction factor. Defaults to 3.
        initial_points: random trials before Bayesian optimisation starts;
            None = Keras Tuner's default (3 per hyperparameter).
        partial: fix Padam's p at this value (padam only); its project is
            then ``<optimizer>-p<p>``. None searches p where the tuner can.
        lr_center: the learning rate the space is centred on; None = the
            registry default (a plug-in's: its class's default).
        lr_points: the edge-extending grid's starting points (odd; "edge-grid"
            only). Defaults to 3.
        lr_min, lr_max: search the learning rate over ``[lr_min, lr_max]``
            (both or neither; not with "edge-grid"). None = two decades
            around the centre.
    """

    tuner: str = "random"
    max_trials: int = 10
    directory: str | Path = DEFAULT_DIRECTORY
    overwrite: bool = False
    output: str | Path | None = None
    tune_weight_decay: bool = False
    hyperband_factor: int = 3
    initial_points: int | None = None
    partial: float | None = None
    lr_center: float | None = None
    lr_points: int = 3
    lr_min: float | None = None
    lr_max: float | None = None

    def validate(self):
        """Raise ValueError naming the setting, the bad value and what is allowed; returns self."""
        check_tuner(self.tuner)
        if self.max_trials is None or self.max_trials < 1:
            raise ValueError(f"`max_trials` must be >= 1. Received: max_trials={self.max_trials}")
        if self.tuner == "hyperband" and self.hyperband_factor < 2:
            raise ValueError(f"`hyperband_factor` must be >= 2. Received: hyperband_factor={self.hyperband_factor}")
        if self.tuner == "bayesian" and self.initial_points is not None and self.initial_points < 1:
            raise ValueError(
                f"`initial_points` (--initial-points) must be >= 1. Received: initial_points={self.initial_points}"
            )
        if (self.lr_min is None) != (self.lr_max is None):
            raise ValueError("Give both --lr-min and --lr-max (the learning-rate range), or neither.")
        return self

    @property
    def grid(self):
        """True for the tuners that search a finite grid."""
        return self.tuner in GRID_TUNERS

    @property
    def lr_range(self):
        """``(lr_min, lr_max)``, or None."""
        return None if self.lr_min is None else (self.lr_min, self.lr_max)

    @property
    def output_path(self):
        """Where the best hyperparameters go (the trials table and plots beside them)."""
        return Path(self.output) if self.output is not None else Path(self.directory) / BEST_HPARAMS

    def tuner_options(self):
        """The tuner's own settings, part of the search's definition."""
        if self.tuner == "hyperband":
            return {"hyperband_factor": self.hyperband_factor}
        if self.tuner == "bayesian":
            return {"initial_points": self.initial_points}
        return {}
