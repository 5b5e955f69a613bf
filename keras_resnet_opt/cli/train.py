"""``python scripts/train.py --optimizer padam``: one resumable training run."""

import argparse
import shlex
import sys

from keras_resnet_opt.cli.common import (
    fail,
    import_tensorflow_quietly,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
    progress_verbosity,
    quiet_tensorflow,
    show_warnings_as_lines,
)
from keras_resnet_opt.config import LR_SCALINGS, LR_SCHEDULES, PRECISIONS, STRATEGIES, make_config, preset_names
from keras_resnet_opt.training.errors import RunStopped

EXIT_DIVERGED = 3


def build_parser():
    p = argparse.ArgumentParser(
        description="Train a CIFAR-10 ResNet with one optimizer. Rerun the same command to resume.",
    )
    p.add_argument(
        "--optimizer",
        help="registry name (sgd, sgdm, adam, nadam, amsgrad, adamw, padam) or a plug-in package.module:Class "
        "(e.g. keras.optimizers:Lion; its lr: --lr, else the class's default)",
    )
    p.add_argument("--preset", default="cpu-quick", choices=preset_names(), help="recipe (default: cpu-quick)")
    p.add_argument("--model", help="resnet20/32/44/56/110 (any resnet<6n+2>) or resnet18")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--batch-size", type=positive_int, help="global batch size")
    p.add_argument("--lr", dest="learning_rate", type=positive_float, help="initial learning rate")
    p.add_argument("--partial", type=nonnegative_float, help="Padam's p in [0, 0.5]")
    p.add_argument("--weight-decay", type=nonnegative_float, help="the optimizer's weight decay (coupled L2 except adamw)")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES)
    p.add_argument(
        "--lr-scaling", choices=LR_SCALINGS,
        help="how the initial lr follows a --batch-size other than the preset's: none (default; scale it yourself "
        "with --lr) or linear (lr x batch / preset batch, where lr, from the registry, --lr or --hparams, is "
        "read as the rate at the preset's batch); the manifest records the lr used",
    )
    p.add_argument("--seed", type=int, help="initialisation, data order and augmentation seed")
    p.add_argument("--split-seed", type=int, help="seed of the validation split (default 0 for every run)")
    p.add_argument("--data-dir", help="local CIFAR-10 copy (default: $KERAS_RESNET_OPT_DATA_DIR, else TFDS)")
    p.add_argument("--train-subset", type=positive_int, help="train on a stratified subset of this many images")
    p.add_argument("--val-size", type=nonnegative_int, help="validation images held out of the training split")
    p.add_argument("--output-dir", default="runs", help="parent of run directories (default: runs/)")
    p.add_argument(
        "--saved-models-dir", default="saved_models",
        help="parent of SavedModel exports (default: saved_models/; never the run folder or inside it)",
    )
    p.add_argument("--run-name", help="run folder name, one path component (default: derived from the settings)")
    p.add_argument("--hparams", help="JSON of tuned hyperparameters from tuning/search.py")
    p.add_argument("--precision", choices=PRECISIONS)
    p.add_argument("--jit", dest="jit_compile", action=argparse.BooleanOptionalAction, default=None, help="XLA (off by default: slower on CPU)")
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=None, help="bitwise-reproducible ops")
    p.add_argument("--strategy", choices=STRATEGIES)
    p.add_argument(
        "--augment", action=argparse.BooleanOptionalAction, default=None,
        help="pad-crop-flip augmentation of training batches (default: the preset's, on except seed-protocol)",
    )
    p.add_argument(
        "--threads", type=positive_int,
        help="TensorFlow threads for this process (intra- and inter-op; default: TF's, all cores). "
        "Not part of the run's configuration: it changes speed, not what is computed",
    )
    p.add_argument("--force", action="store_true", help="discard an existing run of this name and retrain")
    p.add_argument(
        "--wait", action="store_true",
        help="if another process is training this run folder, wait for it and then report or resume the run "
        "(default: say so and exit 1)",
    )
    p.add_argument(
        "--quiet", action="store_true",
        help="no progress (default: a progress bar on a terminal, one line per epoch otherwise)",
    )
    return p


CONFIG_FLAGS = (
    "optimizer", "model", "epochs", "batch_size", "learning_rate", "partial", "weight_decay", "lr_schedule", "lr_scaling",
    "seed", "split_seed", "data_dir", "train_subset", "val_size", "run_name", "precision", "jit_compile",
    "deterministic", "strategy", "augment",
)


def config_from_args(args):
    overrides = {k: getattr(args, k) for k in CONFIG_FLAGS}
    return make_config(args.preset, hparams=args.hparams, **overrides)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    show_warnings_as_lines()
    try:
        config = config_from_args(args)
        import_tensorflow_quietly()
        from keras_resnet_opt.optimizers.registry import is_plugin, list_optimizers

        names = list_optimizers()
        if config.optimizer not in names and not is_plugin(config.optimizer):
            raise ValueError(
                f"Unknown optimizer {config.optimizer!r}. Valid optimizers: {', '.join(names)} (or package.module:Class)"
            )
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
        fail(str(e), code=1)
    final = result.manifest["final"]
    if result.status == "diverged":
        print(
            f"Run {result.run_dir} diverged (NaN/inf loss) in epoch {result.manifest['diverged_at_epoch']}; "
            f"its history up to there is in {result.run_dir / 'history.csv'}. Try a smaller --lr.",
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
        print(f"  SavedModel: {result.export_dir}  (python scripts/evaluate.py {result.export_dir})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
