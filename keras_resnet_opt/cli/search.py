"""``python tuning/search.py --optimizer padam``: a resumable hyperparameter search."""

import argparse
import sys

from keras_resnet_opt.cli.common import (
    fail,
    import_tensorflow_quietly,
    nonnegative_float,
    positive_float,
    positive_int,
    progress_verbosity,
    quiet_tensorflow,
    show_warnings_as_lines,
)
from keras_resnet_opt.config import STRATEGIES, preset_names

EXIT_NO_COMPLETED_TRIAL = 1


def build_parser():
    p = argparse.ArgumentParser(
        description=(
            "Search learning rate (and Padam's p, optionally weight decay) on the validation split. "
            "Rerun the same command to resume; see docs/tuning.md for distributed tuning."
        ),
    )
    p.add_argument(
        "--optimizer", required=True,
        help="registry name (sgd, sgdm, adam, nadam, amsgrad, adamw, padam), all, or a plug-in package.module:Class "
        "(searched around --lr-center or over --lr-min..--lr-max; default: its class's learning rate)",
    )
    # Checked by run_search against keras_resnet_opt.tuning.search.TUNERS (importing it here would load TensorFlow).
    p.add_argument(
        "--tuner", default="random",
        help="random, bayesian, hyperband, grid, or edge-grid: half-decade learning-rate points around the centre "
        "that step outward while the best is on an edge (default: random)",
    )
    p.add_argument("--max-trials", type=positive_int, default=10, help="trials per optimizer; a cap for hyperband (default: 10)")
    p.add_argument("--epochs", type=positive_int, help="epochs per trial, hyperband's maximum (default: the preset's)")
    p.add_argument("--preset", default="cpu-quick", choices=preset_names(), help="recipe trials train with (default: cpu-quick)")
    p.add_argument("--data-dir", help="local CIFAR-10 copy (default: $KERAS_RESNET_OPT_DATA_DIR, else TFDS)")
    p.add_argument("--train-subset", type=positive_int, help="train on a stratified subset of this many images")
    p.add_argument("--val-size", type=positive_int, help="validation images held out of the training split (the objective)")
    p.add_argument("--seed", type=int, help="initial weights, data order and the tuner's draws")
    p.add_argument("--directory", default="tuning/runs", help="parent of the Keras Tuner projects (default: tuning/runs/)")
    p.add_argument("--overwrite", action="store_true", help="discard the existing search of these optimizers and start over")
    p.add_argument("--output", help="best-hyperparameters JSON (default: <directory>/best_hparams.json); table and plots go beside it")
    p.add_argument("--tune-weight-decay", action="store_true", help="also search the weight decay (log scale around the default)")
    p.add_argument("--hyperband-factor", type=positive_int, default=3, help="hyperband's reduction factor (default: 3)")
    p.add_argument("--initial-points", type=positive_int, help="bayesian: random trials before the model-based ones (default: 3 per hyperparameter)")
    p.add_argument(
        "--strategy", default="default", choices=STRATEGIES,
        help="tf.distribute strategy each trial trains under, as scripts/train.py: mirrored spreads one trial over "
        "this machine's GPUs, multiworker over the hosts in TF_CONFIG (default: default, one device). Not Keras "
        "Tuner's distributed mode (KERASTUNER_* variables), which runs different trials in parallel processes; "
        "the two combine (docs/tuning.md)",
    )
    p.add_argument("--partial", type=nonnegative_float, help="fix Padam's p at this value (its project is <optimizer>-p<p>)")
    p.add_argument(
        "--lr-center", type=positive_float,
        help="learning rate the space is centred on (default: the registry's; a plug-in's: its class's)",
    )
    p.add_argument(
        "--lr-min", type=positive_float,
        help="with --lr-max: search the learning rate over [lr-min, lr-max] (log scale) instead of two decades "
        "around the centre; not with edge-grid",
    )
    p.add_argument("--lr-max", type=positive_float, help="the top of the learning-rate range (see --lr-min)")
    p.add_argument("--lr-points", type=positive_int, default=3, help="edge-grid: starting points around the centre, odd (default: 3)")
    p.add_argument("--threads", type=positive_int, help="TensorFlow threads for this process (default: TF's, all cores)")
    p.add_argument("--quiet", action="store_true", help="no trial display or progress bars")
    return p


def _format_best(values):
    parts = [f"lr {values['learning_rate']:.4g}"]
    if values.get("partial") is not None:
        parts.append(f"p {values['partial']:g}")
    if values.get("weight_decay") is not None:
        parts.append(f"wd {values['weight_decay']:.3g}")
    return "  ".join(parts)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    show_warnings_as_lines()
    import_tensorflow_quietly()
    from keras_resnet_opt.tuning.search import run_search

    try:
        if args.threads is not None:
            from keras_resnet_opt.environment import set_threads

            set_threads(args.threads)
        result = run_search(
            args.optimizer,
            tuner=args.tuner,
            max_trials=args.max_trials,
            epochs=args.epochs,
            preset=args.preset,
            data_dir=args.data_dir,
            train_subset=args.train_subset,
            val_size=args.val_size,
            seed=args.seed,
            directory=args.directory,
            overwrite=args.overwrite,
            output=args.output,
            tune_weight_decay=args.tune_weight_decay,
            hyperband_factor=args.hyperband_factor,
            initial_points=args.initial_points,
            strategy=args.strategy,
            partial=args.partial,
            lr_center=args.lr_center,
            lr_points=args.lr_points,
            lr_min=args.lr_min,
            lr_max=args.lr_max,
            verbose=progress_verbosity(args.quiet),
        )
    except (ValueError, FileNotFoundError) as e:  # DataError and SearchDefinitionChanged are ValueErrors
        fail(str(e))
    if result.role == "worker":
        print(f"Worker finished its trials of {', '.join(result.optimizers)}; the chief writes the results.")
        return 0
    for name in result.optimizers:
        rows = result.trials[result.trials["optimizer"] == name]
        done = int((rows["status"] == "completed").sum())
        if name in result.best:
            print(f"{name}: best val accuracy {result.val_accuracy[name]:.4f}  {_format_best(result.best[name])}  "
                  f"({done}/{len(rows)} trials completed)")
        else:
            print(f"{name}: no completed trial ({len(rows)} trials): {result.failed.get(name)}", file=sys.stderr)
    print(f"Best hyperparameters: {result.output}")
    print(f"Trials table: {result.trials_csv}")
    for path in result.plots:
        print(f"Plot: {path}")
    if result.best:
        name = next(iter(result.best))
        print(f"Train with them: python scripts/train.py --optimizer {name} --hparams {result.output}")
    return EXIT_NO_COMPLETED_TRIAL if result.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
