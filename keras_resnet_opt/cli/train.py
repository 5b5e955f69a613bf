"""``kro-train --optimizer padam`` (``python scripts/train.py``): one resumable training run."""

import argparse
import dataclasses
import shlex
import sys

from keras_resnet_opt.cli.common import (
    EXIT_DIVERGED,
    EXIT_ERROR,
    EXIT_OK,
    add_data_dir,
    fail,
    import_tensorflow_quietly,
    make_parser,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
    progress_verbosity,
    quiet_tensorflow,
    show_warnings_as_lines,
)
from keras_resnet_opt.config import (
    LR_SCALINGS,
    LR_SCHEDULES,
    PER_OPTIMIZER,
    PRECISIONS,
    PRESETS,
    STRATEGIES,
    RunConfig,
    make_config,
    preset_names,
)
from keras_resnet_opt.config_file import merge_with_flags
from keras_resnet_opt.model_names import model_names
from keras_resnet_opt.optimizer_names import OPTIMIZER_NAMES
from keras_resnet_opt.training import run_folder
from keras_resnet_opt.training.errors import RunStopped

# The preset a run uses when neither --preset nor the --config file names one.
DEFAULT_PRESET = RunConfig.preset

EXIT_CODES = {
    EXIT_OK: "the run finished (or had finished before)",
    EXIT_ERROR: "the run stopped (another process trains this folder, a full disk, no usable checkpoint) "
    "or an unexpected error",
    EXIT_DIVERGED: "the run diverged (NaN/inf loss); its history up to there is kept",
}


def _field_default(field):
    return next(f.default for f in dataclasses.fields(RunConfig) if f.name == field)


def preset_default(field, base=None):
    """``(default: ...)`` for the flag of RunConfig ``field``: its default and the presets that set their own.

    Args:
        field: a RunConfig field.
        base: how to say the default when no preset sets it (default:
            RunConfig's value; for a bool, "on"/"off").
    """
    if base is None:
        value = _field_default(field)
        base = ("on" if value else "off") if isinstance(value, bool) else str(value)
    setters = [
        name for name in preset_names()
        if field in PRESETS[name] or any(field in values for values in PRESETS[name].get(PER_OPTIMIZER, {}).values())
    ]  # fmt: skip
    if not setters:
        return f"(default: {base})"
    if len(setters) == len(PRESETS) and field in PRESETS[DEFAULT_PRESET]:
        return f"(default: the preset's; {DEFAULT_PRESET}: {PRESETS[DEFAULT_PRESET][field]})"
    return f"(default: {base}; set by the preset{'s' if len(setters) > 1 else ''} {', '.join(setters)})"


def build_parser():
    registry = ", ".join(OPTIMIZER_NAMES)
    p = make_parser(
        "Train a CIFAR-10 ResNet with one optimizer. Rerun the same command to resume.\n\n"
        "Settings: the preset < tuned --hparams < the --config file < the flags given here.",
        EXIT_CODES,
    )
    p.add_argument(
        "--optimizer",
        help=f"registry name ({registry}) or a plug-in package.module:Class (e.g. keras.optimizers:Lion; its lr: "
        f"--lr, else the class's default) {preset_default('optimizer')}",
    )
    p.add_argument(
        "--preset", choices=preset_names(),
        help=f"recipe (default: the --config file's, else {DEFAULT_PRESET}; presets: keras_resnet_opt/config.py)",
    )
    p.add_argument(
        "--config", metavar="FILE",
        help="JSON or TOML file of RunConfig fields (keras_resnet_opt/config.py), e.g. lr_boundaries, which has no "
        "flag; flags given here override it (default: none)",
    )
    p.add_argument(
        "--model",
        help=f"{', '.join(model_names()[:-1])} (any resnet<6n+2>) or resnet18 {preset_default('model')}",
    )
    p.add_argument("--epochs", type=positive_int, help=f"epochs to train {preset_default('epochs')}")
    p.add_argument("--batch-size", type=positive_int, help=f"global batch size {preset_default('batch_size')}")
    registry_default = "the optimizer's registry default, docs/optimizers.md"
    p.add_argument(
        "--lr", dest="learning_rate", type=positive_float,
        help=f"initial learning rate {preset_default('learning_rate', registry_default)}",
    )
    p.add_argument(
        "--partial", type=nonnegative_float,
        help=f"Padam's p in [0, 0.5], padam only {preset_default('partial', registry_default)}",
    )
    p.add_argument(
        "--weight-decay", type=nonnegative_float,
        help="the optimizer's weight decay, coupled L2 except adamw "
        f"{preset_default('weight_decay', registry_default)}",
    )
    p.add_argument(
        "--lr-schedule", choices=LR_SCHEDULES,
        help=f"learning-rate schedule; step decays at the preset's boundaries {preset_default('lr_schedule')}",
    )
    p.add_argument(
        "--lr-scaling", choices=LR_SCALINGS,
        help="how the initial lr follows a --batch-size other than the preset's: none (scale it yourself "
        "with --lr) or linear (lr x batch / preset batch, where lr, from the registry, --lr or --hparams, is "
        f"read as the rate at the preset's batch); the manifest records the lr used {preset_default('lr_scaling')}",
    )
    p.add_argument(
        "--seed", type=int, help=f"initialisation, data order and augmentation seed {preset_default('seed')}",
    )
    p.add_argument(
        "--split-seed", type=int,
        help=f"seed of the validation split, the same for every run {preset_default('split_seed')}",
    )
    add_data_dir(p)
    p.add_argument(
        "--train-subset", type=positive_int,
        help=f"train on a stratified subset of this many images {preset_default('train_subset', 'all')}",
    )
    p.add_argument(
        "--val-size", type=nonnegative_int,
        help=f"validation images held out of the training split {preset_default('val_size')}",
    )
    p.add_argument("--output-dir", default="runs", help="parent of run directories")
    p.add_argument(
        "--saved-models-dir", default="saved_models",
        help="parent of SavedModel exports; never the run folder or inside it",
    )
    p.add_argument("--run-name", help="run folder name, one path component (default: derived from the settings)")
    p.add_argument(
        "--hparams", metavar="FILE",
        help="JSON of tuned hyperparameters from kro-search (tuning/search.py) (default: none)",
    )
    p.add_argument("--precision", choices=PRECISIONS, help=f"dtype policy {preset_default('precision')}")
    p.add_argument(
        "--jit", dest="jit_compile", action=argparse.BooleanOptionalAction, default=None,
        help=f"XLA, slower on a CPU {preset_default('jit_compile')}",
    )
    p.add_argument(
        "--deterministic", action=argparse.BooleanOptionalAction, default=None,
        help=f"bitwise-reproducible ops {preset_default('deterministic')}",
    )
    p.add_argument(
        "--strategy", choices=STRATEGIES,
        help=f"tf.distribute strategy; see README, Scaling out {preset_default('strategy')}",
    )
    p.add_argument(
        "--augment", action=argparse.BooleanOptionalAction, default=None,
        help=f"pad-crop-flip augmentation of training batches {preset_default('augment')}",
    )
    p.add_argument(
        "--bn-groups", type=positive_int,
        help="BatchNorm training statistics over this many equal parts of each batch, as that many devices "
        f"without synchronised batch norm compute them (He et al.: batch 128 on 2 GPUs) {preset_default('bn_groups')}",
    )
    p.add_argument(
        "--threads", type=positive_int,
        help="TensorFlow threads for this process, intra- and inter-op. Not part of the run's configuration: "
        "it changes speed, not what is computed (default: TF's, all cores)",
    )
    p.add_argument("--force", action="store_true", help="discard an existing run of this name and retrain")
    p.add_argument(
        "--wait", action="store_true",
        help="if another process is training this run folder, wait for it and then report or resume the run "
        f"(without it: say so and exit {EXIT_ERROR})",
    )
    p.add_argument(
        "--quiet", action="store_true",
        help="no progress (without it: a progress bar on a terminal, one line per epoch otherwise)",
    )
    return p


CONFIG_FLAGS = (
    "optimizer", "model", "epochs", "batch_size", "learning_rate", "partial", "weight_decay", "lr_schedule",
    "lr_scaling", "seed", "split_seed", "data_dir", "train_subset", "val_size", "run_name", "precision",
    "jit_compile", "deterministic", "strategy", "augment", "bn_groups",
)


def config_from_args(args):
    """The run's validated `RunConfig`: preset < --hparams < --config file < the flags given.

    Raises:
        ValueError, FileNotFoundError: bad settings, or a bad or missing file.
    """
    given = {k: getattr(args, k) for k in CONFIG_FLAGS}
    preset, fields = merge_with_flags(getattr(args, "config", None), args.preset, given)
    return make_config(preset, hparams=args.hparams, **fields)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    show_warnings_as_lines()
    try:
        config = config_from_args(args)  # RunConfig.validate: every check of the settings
        import_tensorflow_quietly()
        if args.threads is not None:
            from keras_resnet_opt.environment import set_threads

            set_threads(args.threads)
        from keras_resnet_opt.training.runner import train

        result = train(
            config,
            output_dir=args.output_dir,
            saved_models_dir=args.saved_models_dir,
            force=args.force,
            verbose=progress_verbosity(args.quiet),
            command=shlex.join(["python", "scripts/train.py", *argv]),
            wait=args.wait,
            log=lambda line: print(line, flush=True),
        )
    except (ValueError, FileNotFoundError) as e:  # DataError is a ValueError
        fail(str(e))
    except RunStopped as e:  # a busy folder, a full disk, no usable checkpoint: nothing lost
        fail(str(e), code=EXIT_ERROR)
    final = result.manifest["final"]
    if result.status == run_folder.STATUS_DIVERGED:
        print(
            f"Run {result.run_dir} diverged (NaN/inf loss) in epoch {result.manifest['diverged_at_epoch']}; "
            f"its history up to there is in {result.run_dir / run_folder.HISTORY_CSV}. Try a smaller --lr.",
            file=sys.stderr,
        )
        return EXIT_DIVERGED
    prefix = "Already finished (use --force to retrain)" if result.reused else "Finished"
    print(f"{prefix}: {result.run_dir}")
    print(
        f"  epochs {final['epoch']}  test accuracy {final['test_accuracy']:.4f}  test error {final['test_error']:.4f}  "
        f"train loss {final['train_loss']:.4f}"
    )
    if result.export_dir:
        print(f"  SavedModel: {result.export_dir}  (kro-evaluate {result.export_dir})")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
