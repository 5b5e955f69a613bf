"""Write the report of a study directory: report.md, summary tables, paired tests and figures.

    python scripts/report.py STUDY_DIR [--pdf] [--tuning-trials trials.csv]

The report tests what the study declared in its study.json before the runs
(the speed target included); to add a claim or a target later, declare it
with `keras_resnet_opt.study.claims.preregister`, and the report marks it
"added after the results". All logic lives in
`keras_resnet_opt.study.report.write_report`.
"""

import argparse
import sys

from keras_resnet_opt.study.report import write_report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study_dir", help="study directory holding runs/<run-name>/ (and study.json)")
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
        path = write_report(args.study_dir, args.pdf, args.tuning_trials)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
