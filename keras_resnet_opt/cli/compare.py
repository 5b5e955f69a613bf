"""``kro-compare`` (``python scripts/compare.py``): declare the study's contrasts and claims, run every
optimizer x seeds, report.

The declaration (`keras_resnet_opt.study.claims.preregister`) is written to
``study.json`` before any run starts, so the report can tell what was fixed
in advance from what was added after the results.
"""

import shlex
import sys

from keras_resnet_opt.cli.common import (
    EXIT_DIVERGED,
    EXIT_ERROR,
    EXIT_OK,
    add_data_dir,
    fail,
    make_parser,
    positive_float,
    quiet_tensorflow,
)
from keras_resnet_opt.config import STRATEGIES, preset_names
from keras_resnet_opt.optimizer_names import check_optimizer_name, check_partial
from keras_resnet_opt.study.claim_schema import RATE_REGIMES, TUNED, UNTUNED
from keras_resnet_opt.study.grid import DEFAULT_OPTIMIZERS, check_workers, plan_cells, run_study, write_study_file

EXIT_CODES = {
    EXIT_OK: f"every run finished (a run that diverged, exit {EXIT_DIVERGED} of its own, is kept in the report "
    "as such)",
    EXIT_ERROR: "some runs failed (their logs are in STUDY_DIR/logs/) or an unexpected error",
}


def _floats(text):
    return [float(v) for v in text.split(",") if v]


def build_parser():
    p = make_parser("Compare optimizers over several seeds; rerun to resume.", EXIT_CODES)
    p.add_argument("--preset", default="cpu-quick", choices=preset_names(), help="recipe of every run")
    p.add_argument("--optimizers", default=",".join(DEFAULT_OPTIMIZERS), help="comma-separated registry names")
    p.add_argument("--seeds", type=int, default=2, help="seeds 0..N-1 per optimizer")
    p.add_argument(
        "--partial", dest="partial_sweep", type=_floats, default=[],
        help="Padam p sweep, e.g. 0.0625,0.125,0.25,0.5, one seed each (default: none)",
    )
    p.add_argument("--sweep-seed", type=int, default=0, help="the seed of the p sweep's runs")
    p.add_argument(
        "--hparams", metavar="FILE",
        help="tuned hyperparameters JSON from kro-search (tuning/search.py) (default: none, the registry's)",
    )
    p.add_argument(
        "--workers", type=int, default=1,
        help="runs per GPU, or runs at once on a CPU-only machine. Each run is its own process, "
        "pinned to one GPU with CUDA_VISIBLE_DEVICES (set it yourself to use only some GPUs); on a CPU every "
        "run already uses all cores, so K > 1 there shares them rather than adding speed",
    )
    p.add_argument("--study-dir", required=True, help="the study's folder, e.g. results/cpu-quick (required)")
    add_data_dir(p)
    p.add_argument("--model", help="model of every run (default: the preset's)")
    p.add_argument("--epochs", type=int, help="epochs of every run (default: the preset's)")
    p.add_argument("--train-subset", type=int, help="training images of every run (default: the preset's)")
    p.add_argument(
        "--strategy", choices=[s for s in STRATEGIES if s != "multiworker"],
        help="tf.distribute strategy of each run, as kro-train; with mirrored the runs are not pinned "
        "to one GPU (each spans every visible GPU), and --workers is the number of runs at once. Not "
        "multiworker: hosts that skip different finished cells would pair different runs in one all-reduce; "
        "run kro-train --strategy multiworker per cell instead (default: the preset's, one device)",
    )
    p.add_argument("--saved-models-dir", default="saved_models", help="parent of the runs' SavedModel exports")
    p.add_argument(
        "--target-val-accuracy", type=float,
        help="validation accuracy (fraction, e.g. 0.8) whose first epoch is each run's time to target; declared "
        "in study.json before the runs. Without it no speed claim can be decided (default: none)",
    )
    p.add_argument(
        "--equivalence-margin", type=positive_float, default=1.0,
        help="declared margin of the equivalence and non-inferiority tests, percentage points of test error",
    )
    p.add_argument(
        "--learning-rates", choices=RATE_REGIMES,
        help="how the runs' learning rates were chosen, declared for the preset: tuned (on validation, per "
        "optimizer), protocol (fixed by a reproduced protocol) or untuned (registry defaults) (default: tuned "
        "with --hparams, else untuned)",
    )
    p.add_argument(
        "--claims", metavar="FILE",
        help='JSON file of your own claims (a list, or {"claims": [...]}; docs/studies.md), declared in study.json '
        "beside the default ones before any run starts and decided in the report by the same rules (default: the "
        "default claims only)",
    )
    p.add_argument("--no-report", action="store_true", help="run the grid only; write no report")
    return p


def common_settings(args):
    """The `make_config` arguments every cell shares (None: not given; each cell's train.py gets them as flags)."""
    return {
        "preset": args.preset, "hparams": args.hparams, "data_dir": args.data_dir, "model": args.model,
        "epochs": args.epochs, "train_subset": args.train_subset, "strategy": args.strategy,
    }  # fmt: skip


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    optimizers = [o for o in args.optimizers.split(",") if o]
    try:
        for name in optimizers:
            check_optimizer_name(name)
        for p in args.partial_sweep:
            check_partial(p)
    except ValueError as e:
        fail(str(e))
    if args.seeds < 1:
        fail(f"--seeds must be >= 1. Received: {args.seeds}")
    try:
        check_workers(args.workers)
    except ValueError as e:
        fail(str(e))
    if args.target_val_accuracy is not None and not 0 < args.target_val_accuracy <= 1:
        fail(f"--target-val-accuracy must be a fraction in (0, 1]. Received: {args.target_val_accuracy}")
    seeds = list(range(args.seeds))
    common = common_settings(args)
    cells = plan_cells(optimizers, seeds, args.partial_sweep, args.sweep_seed)
    try:
        from keras_resnet_opt.study.claims import default_claims, preregister, read_claims_file  # pandas: not --help
        from keras_resnet_opt.study.runs import variant_of

        # The user's claims are checked before anything is written, so a bad file leaves no half-made study.
        planned = list(dict.fromkeys(variant_of(cell.optimizer, cell.partial) for cell in cells))
        taken = [claim["id"] for claim in default_claims(optimizers)]
        own = read_claims_file(args.claims, planned, taken) if args.claims else ()
        write_study_file(
            args.study_dir, preset=args.preset, optimizers=optimizers, seeds=seeds,
            partial_sweep=args.partial_sweep, data_dir=args.data_dir,
            command=shlex.join(["python", "scripts/compare.py", *argv]),
        )
        rates = args.learning_rates or (TUNED if args.hparams else UNTUNED)
        preregister(
            args.study_dir, optimizers=optimizers, target_val_accuracy=args.target_val_accuracy,
            learning_rates={args.preset: rates}, equivalence_margin_pp=args.equivalence_margin, extra_claims=own,
        )
        # A replicated run wants every GPU, so only default-strategy runs are pinned to one.
        pin = args.strategy in (None, "default")
        codes = run_study(args.study_dir, cells, common, args.workers, args.saved_models_dir, gpus=None if pin else [])
    except (ValueError, FileNotFoundError) as e:
        fail(str(e))
    failed = {name: code for name, code in codes.items() if code not in (EXIT_OK, EXIT_DIVERGED)}
    diverged = [name for name, code in codes.items() if code == EXIT_DIVERGED]
    if diverged:
        print(f"diverged (kept in the report as such): {', '.join(diverged)}")
    if not args.no_report:
        from keras_resnet_opt.study.report import write_report

        path = write_report(args.study_dir)
        print(f"report: {path}")
    if failed:
        print(f"failed runs (see {args.study_dir}/logs/): {failed}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
