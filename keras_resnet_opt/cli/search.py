"""``kro-search --optimizer padam`` (``python tuning/search.py``): a resumable hyperparameter search."""

import argparse
import sys

from keras_resnet_opt.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    add_data_dir,
    fail,
    import_tensorflow_quietly,
    make_parser,
    nonnegative_float,
    positive_float,
    positive_int,
    progress_verbosity,
    quiet_tensorflow,
    show_warnings_as_lines,
)
from keras_resnet_opt.config import STRATEGIES, RunConfig, preset_names
from keras_resnet_opt.config_file import merge_with_flags
from keras_resnet_opt.optimizer_names import OPTIMIZER_NAMES
from keras_resnet_opt.tuning.options import ALL, DEFAULT_DIRECTORY, TUNERS, SearchOptions, check_tuner, search_configs

EXIT_NO_COMPLETED_TRIAL = EXIT_ERROR
EXIT_CODES = {
    EXIT_OK: "the search finished (a distributed worker: its trials are done)",
    EXIT_NO_COMPLETED_TRIAL: "an optimizer has no completed trial, or an unexpected error",
}
# The flags that set the trials' RunConfig (the rest set the SearchOptions).
RUN_FLAGS = ("epochs", "data_dir", "train_subset", "val_size", "seed", "strategy")
_OPTION_DEFAULTS = SearchOptions()


def tuner_name(text):
    """argparse type of --tuner: one of `TUNERS`, refused in `check_tuner`'s words otherwise."""
    try:
        return check_tuner(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser():
    p = make_parser(
        "Search learning rate (and Padam's p, optionally weight decay) on the validation split. "
        "Rerun the same command to resume; see docs/tuning.md for distributed tuning.",
        EXIT_CODES,
    )
    p.add_argument(
        "--optimizer", required=True,
        help=f"registry name ({', '.join(OPTIMIZER_NAMES)}), {ALL}, or a plug-in package.module:Class "
        "(searched around --lr-center or over --lr-min..--lr-max; default: its class's learning rate) (required)",
    )
    p.add_argument(
        "--tuner", default=_OPTION_DEFAULTS.tuner, choices=TUNERS, type=tuner_name,
        help="edge-grid: half-decade learning-rate points around the centre that step outward while the best is "
        "on an edge; grid: every point of the space's grid; random, bayesian, hyperband: Keras Tuner's",
    )
    p.add_argument(
        "--max-trials", type=positive_int, default=_OPTION_DEFAULTS.max_trials,
        help="trials per optimizer; a cap for hyperband",
    )
    p.add_argument("--epochs", type=positive_int, help="epochs per trial, hyperband's maximum (default: the preset's)")
    p.add_argument(
        "--preset", choices=preset_names(),
        help=f"recipe trials train with (default: the --config file's, else {RunConfig.preset})",
    )
    p.add_argument(
        "--config", metavar="FILE",
        help="JSON or TOML file of RunConfig fields the trials train with, as kro-train --config (not optimizer: "
        "--optimizer names what is searched); flags given here override it (default: none)",
    )
    add_data_dir(p)
    p.add_argument(
        "--train-subset", type=positive_int,
        help="train on a stratified subset of this many images (default: the preset's)",
    )
    p.add_argument(
        "--val-size", type=positive_int,
        help="validation images held out of the training split, the objective (default: the preset's)",
    )
    p.add_argument("--seed", type=int, help="initial weights, data order and the tuner's draws (default: 0)")
    p.add_argument("--directory", default=DEFAULT_DIRECTORY, help="parent of the Keras Tuner projects")
    p.add_argument(
        "--overwrite", action="store_true", help="discard the existing search of these optimizers and start over"
    )
    p.add_argument(
        "--output",
        help="best-hyperparameters JSON (default: <directory>/best_hparams.json); table and plots go beside it",
    )
    p.add_argument(
        "--tune-weight-decay", action="store_true", help="also search the weight decay (log scale around the default)"
    )
    p.add_argument(
        "--hyperband-factor", type=positive_int, default=_OPTION_DEFAULTS.hyperband_factor,
        help="hyperband's reduction factor",
    )
    p.add_argument(
        "--initial-points", type=positive_int,
        help="bayesian: random trials before the model-based ones (default: 3 per hyperparameter)",
    )
    p.add_argument(
        "--strategy", choices=STRATEGIES,
        help="tf.distribute strategy each trial trains under, as kro-train: mirrored spreads one trial over "
        "this machine's GPUs, multiworker over the hosts in TF_CONFIG "
        f"(default: {RunConfig.strategy}, one device). Not Keras "
        "Tuner's distributed mode (KERASTUNER_* variables), which runs different trials in parallel processes; "
        "the two combine (docs/tuning.md)",
    )
    p.add_argument(
        "--partial", type=nonnegative_float,
        help="fix Padam's p at this value; its project is <optimizer>-p<p> (default: p is searched)",
    )
    p.add_argument(
        "--lr-center", type=positive_float,
        help="learning rate the space is centred on (default: the registry's; a plug-in's: its class's)",
    )
    p.add_argument(
        "--lr-min", type=positive_float,
        help="with --lr-max: search the learning rate over [lr-min, lr-max] (log scale) instead of two decades "
        "around the centre; not with edge-grid (default: two decades around the centre)",
    )
    p.add_argument(
        "--lr-max", type=positive_float, help="the top of the learning-rate range, see --lr-min (default: none)"
    )
    p.add_argument(
        "--lr-points", type=positive_int, default=_OPTION_DEFAULTS.lr_points,
        help="edge-grid: starting points around the centre, odd",
    )
    p.add_argument(
        "--threads", type=positive_int, help="TensorFlow threads for this process (default: TF's, all cores)"
    )
    p.add_argument("--quiet", action="store_true", help="no trial display or progress bars")
    return p


def _format_best(values):
    parts = [f"lr {values['learning_rate']:.4g}"]
    if values.get("partial") is not None:
        parts.append(f"p {values['partial']:g}")
    if values.get("weight_decay") is not None:
        parts.append(f"wd {values['weight_decay']:.3g}")
    return "  ".join(parts)


def search_settings(args):
    """The trials' `RunConfig` per optimizer and the `SearchOptions`, checked, from the flags and --config.

    Raises:
        ValueError, FileNotFoundError: bad settings, or a bad or missing file.
    """
    preset, fields = merge_with_flags(args.config, args.preset, {k: getattr(args, k) for k in RUN_FLAGS})
    if "optimizer" in fields:
        raise ValueError(f"--config file {args.config!r} sets `optimizer`; a search takes it from --optimizer.")
    configs = search_configs(args.optimizer, preset, **fields)
    options = SearchOptions(
        tuner=args.tuner, max_trials=args.max_trials, directory=args.directory, overwrite=args.overwrite,
        output=args.output, tune_weight_decay=args.tune_weight_decay, hyperband_factor=args.hyperband_factor,
        initial_points=args.initial_points, partial=args.partial, lr_center=args.lr_center,
        lr_points=args.lr_points, lr_min=args.lr_min, lr_max=args.lr_max,
    )  # fmt: skip
    return configs, options.validate()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    show_warnings_as_lines()
    try:
        configs, options = search_settings(args)  # bad input is refused before TensorFlow loads
        import_tensorflow_quietly()
        from keras_resnet_opt.tuning.search import run_search

        if args.threads is not None:
            from keras_resnet_opt.environment import set_threads

            set_threads(args.threads)
        result = run_search(configs, options, verbose=progress_verbosity(args.quiet))
    except (ValueError, FileNotFoundError) as e:  # DataError and SearchDefinitionChanged are ValueErrors
        fail(str(e))
    if result.role == "worker":
        print(f"Worker finished its trials of {', '.join(result.optimizers)}; the chief writes the results.")
        return EXIT_OK
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
        print(f"Train with them: kro-train --optimizer {name} --hparams {result.output}")
    return EXIT_NO_COMPLETED_TRIAL if result.failed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
