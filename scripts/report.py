"""Write the report of a study directory: report.md, summary tables and figures.

    python scripts/report.py STUDY_DIR [--target-accuracy 0.9] [--pdf] [--tuning-trials trials.csv]

All logic lives in `keras_resnet_opt.study.report.write_report`.
"""

import argparse
import sys

from keras_resnet_opt.study.report import write_report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study_dir", help="study directory holding runs/<run-name>/")
    parser.add_argument(
        "--target-accuracy",
        type=float,
        default=None,
        help="test accuracy (fraction, e.g. 0.9) for the time-to-target columns; "
        "default: the lowest mean final accuracy among the optimizers, rounded down to a percent",
    )
    parser.add_argument("--pdf", action="store_true", help="also save every figure as PDF")
    parser.add_argument(
        "--tuning-trials",
        default=None,
        help="CSV of tuning trials (optimizer, learning_rate, val_accuracy[, partial]) for the LR-sensitivity figure",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        path = write_report(args.study_dir, args.target_accuracy, args.pdf, args.tuning_trials)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
