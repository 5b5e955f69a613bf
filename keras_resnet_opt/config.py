"""Run configuration: one dataclass and the named presets, each citing its source.

Precedence when a run is resolved: preset < tuned hyperparameters file
(``--hparams``) < explicit command-line overrides. ``None`` in the optimizer
fields means "the registry's default for that optimizer"
(``keras_resnet_opt.optimizers.registry``), so those numbers live only there.
"""

import dataclasses
import json
import math
import re
from pathlib import Path

from keras_resnet_opt.model_names import cifar_depth
from keras_resnet_opt.optimizer_names import DEFAULT_PARTIAL, check_optimizer_name, check_partial

STRATEGIES = ("default", "mirrored", "multiworker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
LR_SCHEDULES = ("step", "cosine", "constant")
# How the initial learning rate follows a global batch other than the preset's:
# "none" keeps it (pass --lr yourself), "linear" multiplies it by batch / preset
# batch (Goyal et al. 2017). Never applied unless asked for.
LR_SCALINGS = ("none", "linear")
# A preset's key for fields that differ by optimizer ({optimizer: {field: value}}),
# e.g. AdamW's decoupled decay next to everyone else's coupled one.
PER_OPTIMIZER = "per_optimizer"
# A run name is one folder name, the same on every file system: no separator,
# no "." or "..", nothing hidden (a leading "." is how temporary files are named).
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+=-]*$")
MAX_NAME_LENGTH = 200
# The fields that do not change what a run computes, so that two configs that
# differ only in them describe the same run (training resumes it, a search
# resumes its project): where the data is read from (a moved copy is the same
# data), the folder's name, and the strategy (with synchronised BatchNorm and
# the same global batch, one device or several compute the same steps).
NOT_DEFINING = ("data_dir", "run_name", "strategy")


def safe_name_part(text):
    """``text`` as part of a folder name: characters other than letters, digits and
    ``. _ + = -`` become ``.`` (a plug-in optimizer "pkg.mod:Class" gives
    "pkg.mod.Class": a colon is not a valid file-name character everywhere)."""
    return re.sub(r"[^A-Za-z0-9._+=-]", ".", str(text))


def check_folder_name(name, what="run_name"):
    """Raise ValueError unless ``name`` is a single, portable folder name."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"`{what}` must be one folder name of letters, digits and . _ + = - (not starting with '.' or '-', "
            f"no '/', at most {MAX_NAME_LENGTH} characters). Received: {what}={name!r}. "
            "Choose where runs go with --output-dir."
        )
    return name


def check_strategy(name):
    """Return ``name`` if it is one of `STRATEGIES`, else raise ValueError listing them."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}. Valid strategies: {', '.join(STRATEGIES)}")
    return name


def check_bn_groups_split(groups, batch_size, train_images):
    """Raise ValueError unless `groups` divides every training batch, the last (partial) one of an epoch included."""
    last = train_images % batch_size or batch_size
    if batch_size % groups or last % groups:
        raise ValueError(
            f"`bn_groups`={groups} must divide every training batch: batch_size={batch_size} and the last batch "
            f"of an epoch, {last} of {train_images} training images. Pick a batch size (or a training-set size) "
            "that splits evenly."
        )


@dataclasses.dataclass
class RunConfig:
    """Everything that determines a training run; saved as ``config.json`` beside it."""

    preset: str = "cpu-quick"
    model: str = "resnet20"
    optimizer: str = "padam"
    epochs: int = 8
    batch_size: int = 128
    # Optimizer hyperparameters; None = the registry's default for `optimizer`.
    learning_rate: float | None = None
    partial: float | None = None
    weight_decay: float | None = None
    # Learning-rate schedule: "step" multiplies by lr_decay_factor at each boundary
    # (in epochs, fractional allowed so iteration-based recipes convert exactly).
    lr_schedule: str = "step"
    lr_boundaries: tuple = (4, 6)
    lr_decay_factor: float = 0.1
    lr_scaling: str = "none"  # one of LR_SCALINGS
    # Data.
    seed: int = 0  # initialisation, data order and augmentation
    split_seed: int = 0  # which images are held out; fixed so every run sees the same data
    data_dir: str | None = None
    val_size: int = 5000
    train_subset: int | None = None
    eval_batch_size: int = 500
    # 4-pixel pad + random crop + flip on the training batches (He et al., the
    # Padam scripts); off only to reproduce a protocol that trained without it.
    augment: bool = True
    # BatchNorm training statistics over this many equal parts of each batch,
    # as that many devices without synchronised batch norm compute them (He et
    # al. trained batch 128 on two GPUs: 2); 1 is the whole batch.
    bn_groups: int = 1
    # Execution.
    precision: str = "float32"
    jit_compile: bool = False
    deterministic: bool = False
    strategy: str = "default"
    run_name: str | None = None

    def resolved_run_name(self):
        """A readable default name: preset, model, optimizer, non-default knobs, seed."""
        if self.run_name:
            return self.run_name
        parts = [self.preset, self.model, safe_name_part(self.optimizer)]
        if self.partial is not None:
            parts.append(f"p{self.partial:g}")
        if self.learning_rate is not None:
            parts.append(f"lr{self.learning_rate:g}")
        if self.weight_decay is not None:
            parts.append(f"wd{self.weight_decay:g}")
        parts.append(f"s{self.seed}")
        return "-".join(parts)

    def validate(self):
        """Raise ValueError naming the field, the bad value and what is allowed."""
        checks = [
            (self.epochs >= 1, f"`epochs` must be >= 1. Received: epochs={self.epochs}"),
            (self.batch_size >= 1, f"`batch_size` must be >= 1. Received: batch_size={self.batch_size}"),
            (
                self.lr_schedule in LR_SCHEDULES,
                f"`lr_schedule` must be one of {LR_SCHEDULES}. Received: {self.lr_schedule!r}",
            ),
            (
                self.lr_scaling in LR_SCALINGS,
                f"`lr_scaling` must be one of {LR_SCALINGS}. Received: {self.lr_scaling!r}",
            ),
            (self.precision in PRECISIONS, f"`precision` must be one of {PRECISIONS}. Received: {self.precision!r}"),
            (self.val_size >= 0, f"`val_size` must be >= 0. Received: val_size={self.val_size}"),
            (
                self.learning_rate is None or (math.isfinite(self.learning_rate) and self.learning_rate > 0),
                f"`learning_rate` must be a finite number > 0. Received: learning_rate={self.learning_rate}",
            ),
            (
                self.weight_decay is None or (math.isfinite(self.weight_decay) and self.weight_decay >= 0),
                f"`weight_decay` must be a finite number >= 0. Received: weight_decay={self.weight_decay}",
            ),
            (
                self.train_subset is None or self.train_subset > 0,
                f"`train_subset` must be positive. Received: train_subset={self.train_subset}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        self._check_bn_groups()
        check_strategy(self.strategy)
        check_optimizer_name(self.optimizer)
        cifar_depth(self.model)  # raises with the valid names
        if self.run_name is not None:
            check_folder_name(self.run_name)
        if self.partial is not None:
            check_partial(self.partial)
            if self.optimizer not in DEFAULT_PARTIAL:
                raise ValueError(
                    f"`partial` only applies to {', '.join(DEFAULT_PARTIAL)}. "
                    f"Received: optimizer={self.optimizer!r}, partial={self.partial}"
                )
        return self

    def _check_bn_groups(self):
        """`bn_groups` must split every training batch, the last (partial) one of an epoch included."""
        groups = self.bn_groups
        if not (isinstance(groups, int) and not isinstance(groups, bool) and groups >= 1):
            raise ValueError(f"`bn_groups` must be an integer >= 1. Received: bn_groups={groups!r}")
        if groups == 1:
            return
        if self.strategy != "default":
            raise ValueError(
                f"`bn_groups` > 1 imitates unsynchronised devices on one; under strategy={self.strategy!r} batch "
                "norm is synchronised across the real ones. Use one or the other."
            )
        # CIFAR-10's size; prepare_run checks the data actually loaded again.
        check_bn_groups_split(groups, self.batch_size, self.expected_train_images())

    def expected_train_images(self):
        """The training images this config gets from CIFAR-10: its subset, but at most what the split leaves."""
        from keras_resnet_opt.data.constants import TRAIN_IMAGES  # here: the data package loads pandas

        split = TRAIN_IMAGES - self.val_size
        return min(self.train_subset or split, split)

    def defining(self):
        """`to_dict` without the `NOT_DEFINING` fields: two configs with equal
        ``defining()`` describe the same run."""
        return {k: v for k, v in self.to_dict().items() if k not in NOT_DEFINING}

    def reference_batch_size(self):
        """The preset's global batch: under ``lr_scaling="linear"`` every initial rate
        (the registry's default, ``--lr``, or a tuned ``--hparams`` value) is taken
        to be the rate for this batch. A rate tuned under another preset's batch is
        not converted: pass ``--lr`` for the preset's batch yourself in that case."""
        return PRESETS.get(self.preset, {}).get("batch_size", RunConfig.batch_size)

    def lr_scale(self):
        """The factor `lr_scaling` applies to the initial learning rate (1.0 for "none")."""
        if self.lr_scaling == "linear":
            return self.batch_size / self.reference_batch_size()
        return 1.0

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["lr_boundaries"] = list(self.lr_boundaries)
        return d

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"Unknown run config field(s) {unknown}. Valid fields: {sorted(known)}")
        d = dict(d)
        if "lr_boundaries" in d:
            d["lr_boundaries"] = tuple(d["lr_boundaries"])
        return cls(**d)


# He et al. 2016, sec. 4.2: batch 128, lr 0.1 /10 at 32k and 48k iterations,
# stop at 64k. They fixed this schedule on a 45k/5k split and then trained the
# reported models on all 50,000 images, which is what the preset does: an epoch
# is ceil(50,000 / 128) = 391 steps, the boundaries are the exact iterations
# (in fractional epochs), and 164 epochs = 64,124 steps is the first whole
# epoch at or past 64k iterations.
_HE2016_STEPS_PER_EPOCH = 391
_HE2016_EPOCHS = 164

_CPU_BUDGET = dict(
    model="resnet20",
    epochs=10,
    batch_size=128,
    lr_schedule="step",
    lr_boundaries=(5, 7.5),
    weight_decay=5e-4,
    val_size=5000,
    train_subset=None,
    per_optimizer={"adamw": {"weight_decay": 0.5}},
)

PRESETS = {
    "he2016": dict(
        model="resnet20",
        optimizer="sgdm",
        epochs=_HE2016_EPOCHS,
        batch_size=128,
        learning_rate=0.1,
        weight_decay=1e-4,
        lr_schedule="step",
        lr_boundaries=(32000 / _HE2016_STEPS_PER_EPOCH, 48000 / _HE2016_STEPS_PER_EPOCH),
        val_size=0,
        train_subset=None,
    ),
    # Padam reference scripts (Chen & Gu) and the ICLR 2019 reproducibility report:
    # ResNet-18, 200 epochs, batch 128, lr /10 at epochs 100 and 150; per-optimizer
    # lr / betas / wd from the optimizer registry. The scripts train on all 50k
    # images; a 5k validation split is kept here so tuning never sees the test set.
    "padam-paper": dict(
        model="resnet18",
        epochs=200,
        batch_size=128,
        lr_schedule="step",
        lr_boundaries=(100, 150),
        val_size=5000,
        train_subset=None,
    ),
    # Sized for 2 CPU cores: the padam-paper schedule shape (decay at 1/2 and 3/4 of
    # training) on ResNet-20 with a stratified 5,000-image training subset and a
    # 1,000-image validation split, 8 epochs. One run is about 5 minutes here
    # (benchmarks/README.md), yet the optimizers still separate (results/cpu-quick/).
    "cpu-quick": dict(
        model="resnet20",
        epochs=8,
        batch_size=128,
        lr_schedule="step",
        lr_boundaries=(4, 6),
        val_size=1000,
        train_subset=5000,
    ),
    # The cpu-budget study (results/cpu-budget/): ResNet-20 on the full 45k/5k
    # split, 10 epochs, lr /10 at 50% and 75% of the steps (the Padam paper's
    # schedule shape), one coupled L2 decay of 5e-4 for every optimizer (the
    # Padam reference scripts pass one --wd to every method) except AdamW, whose
    # decay is decoupled by definition (docs/optimizers.md explains its 0.5).
    # Learning rates come from the study's tuning (--hparams).
    "cpu-budget": _CPU_BUDGET,
    # The same protocol at 30 epochs (results/cpu-budget-30/): does the ranking
    # flip once the training set is nearly fitted?
    "cpu-budget-30": dict(_CPU_BUDGET, epochs=30, lr_boundaries=(15, 22.5)),
    # The seed report's own protocol (../shared/docs/reference.md section 7) on
    # ResNet-20, for the cpu-budget study's control arm: no augmentation, no
    # schedule, no weight decay, lr 0.001 for every optimizer (SGD with momentum
    # 0.9 included) and 0.1 for Padam, 10 epochs.
    "seed-protocol": dict(
        model="resnet20",
        epochs=10,
        batch_size=128,
        lr_schedule="constant",
        lr_boundaries=(),
        learning_rate=0.001,
        weight_decay=0.0,
        augment=False,
        val_size=5000,
        train_subset=None,
        per_optimizer={"padam": {"learning_rate": 0.1}},
    ),
    # Seconds, for tests and wiring checks: a tiny ResNet-8 on a few hundred images.
    "smoke": dict(
        model="resnet8",
        epochs=2,
        batch_size=32,
        lr_schedule="step",
        lr_boundaries=(1,),
        val_size=64,
        train_subset=128,
        eval_batch_size=256,
    ),
}


def preset_names():
    return sorted(PRESETS)


def make_config(preset="cpu-quick", hparams=None, **overrides):
    """Resolve a RunConfig: preset (its per-optimizer entries included), then tuned
    hparams for its optimizer, then overrides.

    Args:
        preset: a name from ``PRESETS``.
        hparams: a dict ``{optimizer: {field: value}}`` (as written by
            ``tuning/search.py``) or a path to such a JSON file, or None.
        **overrides: RunConfig fields; None values are ignored (not given).
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}. Valid presets: {', '.join(preset_names())}")
    fields = {"preset": preset, **PRESETS[preset]}
    per_optimizer = fields.pop(PER_OPTIMIZER, {})
    given = {k: v for k, v in overrides.items() if v is not None}
    optimizer = given.get("optimizer", fields.get("optimizer", RunConfig.optimizer))
    fields.update(per_optimizer.get(optimizer, {}))
    fields.update(tuned_hparams_for(hparams, optimizer))
    fields.update(given)
    return RunConfig.from_dict(fields).validate()


_TUNABLE = ("learning_rate", "partial", "weight_decay")


def tuned_hparams_for(hparams, optimizer):
    """The tuned fields for one optimizer from an hparams dict or JSON file ({} if none)."""
    if hparams is None:
        return {}
    if not isinstance(hparams, dict):
        path = Path(hparams)
        if not path.is_file():
            raise FileNotFoundError(f"--hparams file {str(path)!r} does not exist; run tuning/search.py first.")
        try:
            hparams = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"--hparams file {str(path)!r} is not valid JSON: {e}") from e
    best = hparams.get("best", hparams)
    values = best.get(optimizer, {})
    return {k: values[k] for k in _TUNABLE if values.get(k) is not None}
