"""``kro-anchor-report RUN_DIR`` (``python scripts/anchor_report.py``): a finished run against its published number."""

import json
import sys

from keras_resnet_opt.cli.common import EXIT_ERROR, EXIT_OK, fail, make_parser

EXIT_CODES = {EXIT_OK: "summary.json and curves.png written", EXIT_ERROR: "an unexpected error"}


def build_parser():
    p = make_parser(
        "Summarise a finished run against a published test error: summary.json and curves.png.", EXIT_CODES
    )
    p.add_argument("run_dir", help="the finished run folder (holds manifest.json)")
    p.add_argument("--out", required=True, help="folder for summary.json and curves.png (required)")
    p.add_argument(
        "--published-error", type=float, default=8.75, help="published test error in %%; 8.75 is He et al.'s ResNet-20"
    )
    p.add_argument(
        "--source", default="He et al. 2016, Table 6 (ResNet-20)", help="where the published number comes from"
    )
    return p


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    from keras_resnet_opt.anchor import write_anchor_report

    try:
        summary = write_anchor_report(args.run_dir, args.out, args.published_error, args.source)
    except (ValueError, FileNotFoundError) as e:
        fail(str(e))
    print(json.dumps({
        k: summary[k] for k in ("final_test_error_pct", "published_test_error_pct", "difference_pp", "iterations")
    }))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
