"""``python scripts/train.py --optimizer padam``: one resumable training run."""

import argparse
import shlex
import sys

from keras_resnet_opt.cli.common import fail, quiet_tensorflow
from keras_resnet_opt.config import LR_SCALINGS, LR_SCHEDULES, PRECISIONS, STRATEGIES, make_config, preset_names

EXIT_DIVERGED = 3


def build_parser():
    p = argparse.ArgumentParser(
        description="Train a CIFAR-10 ResNet with one optimizer. Rerun the same command to resume.",
    )
    p.add_argument("--optimizer", help="registry name (sgd, sgdm, adam, nadam, amsgrad, adamw, padam) or module:Class")
    p.add_argument("--preset", default="cpu-quick", choices=preset_names(), help="recipe (default: cpu-quick)")
    p.add_argument("--model", help="resnet20/32/44/56/110 (any resnet<6n+2>) or resnet18")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, help="global batch size")
    p.add_argument("--lr", dest="learning_rate", type=float, help="initial learning rate")
    p.add_argument("--partial", type=float, help="Padam's p in [0, 0.5]")
    p.add_argument("--weight-decay", type=float, help="the optimizer's weight decay (coupled L2 except adamw)")
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
    p.add_argument("--train-subset", type=int, help="train on a stratified subset of this many images")
    p.add_argument("--val-size", type=int, help="validation images held out of the training split")
    p.add_argument("--output-dir", default="runs", help="parent of run directories (default: runs/)")
    p.add_argument("--saved-models-dir", default="saved_models", help="parent of SavedModel exports")
    p.add_argument("--run-name", help="run directory name (default: derived from the settings)")
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
        "--threads", type=int,
        help="TensorFlow threads for this process (intra- and inter-op; default: TF's, all cores). "
        "Not part of the run's configuration: it changes speed, not what is computed",
    )
    p.add_argument("--force", action="store_true", help="discard an existing run of this name and retrain")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
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
    try:
        config = config_from_args(args)
        if args.threads is not None:
            from keras_resnet_opt.environment import set_threads

            set_threads(args.threads)
        from keras_resnet_opt.optimizers import list_optimizers

        if ":" not in config.optimizer and config.optimizer not in list_optimizers():
            raise ValueError(f"Unknown optimizer {config.optimizer!r}. Valid optimizers: {', '.join(list_optimizers())} (or module:Class)")
        from keras_resnet_opt.data import DataError
        from keras_resnet_opt.training.runner import train

        result = train(
            config,
            output_dir=args.output_dir,
            saved_models_dir=args.saved_models_dir,
            force=args.force,
            verbose=0 if args.quiet else 1,
            command=shlex.join(["python", "scripts/train.py", *argv]),
        )
    except (ValueError, FileNotFoundError) as e:  # DataError is a ValueError
        fail(str(e))
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
