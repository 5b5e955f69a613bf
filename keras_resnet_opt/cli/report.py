"""``kro-report STUDY_DIR`` (``python scripts/report.py``): a study's report.md, tables, paired tests, figures.

The report tests what the study declared in its study.json before the runs
(the speed target included); to add a claim or a target later, declare it
with `keras_resnet_opt.study.claims.preregister`, and the report marks it
"added after the results". All logic lives in
`keras_resnet_opt.study.report.write_report`.
"""

import sys

from keras_resnet_opt.cli.common import EXIT_BAD_INPUT, EXIT_ERROR, EXIT_OK, make_parser

EXIT_CODES = {
    EXIT_OK: "the report was written",
    EXIT_ERROR: "an unexpected error",
    EXIT_BAD_INPUT: "bad input: no runs/ folder in the study (or neither runs/ nor study.json in a --budget "
    "study), or a study.json or tuning table that cannot be read (one `error:` line)",
}


def build_parser():
    p = make_parser(
        "Write the report of a study directory: report.md, summary tables, paired tests and figures.", EXIT_CODES
    )
    p.add_argument("study_dir", help="study directory holding runs/<run-name>/ (and study.json)")
    p.add_argument("--pdf", action="store_true", help="also save every figure as PDF")
    p.add_argument(
        "--tuning-trials", metavar="CSV",
        help="CSV of tuning trials (optimizer, learning_rate, val_accuracy[, partial]) for the LR-sensitivity "
        "figure (default: the study's own searches, tuning/*/trials.csv, when it has any)",
    )
    p.add_argument(
        "--budget", metavar="STUDY_DIR", action="append", default=[],
        help="another study directory: the same comparison at another training budget, set beside this one in "
        "the section 'Across budgets'; one whose runs have not started (a study.json, no runs/) is shown as such "
        "(repeatable; default: none)",
    )
    return p


def parse_args(argv=None):
    return build_parser().parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from keras_resnet_opt.study.report import write_report  # pandas, SciPy, matplotlib: not for --help

    try:
        path = write_report(args.study_dir, args.pdf, args.tuning_trials, args.budget)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"Wrote {path}")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
