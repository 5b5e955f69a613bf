"""``kro-anchor-report RUN_DIR`` (``python scripts/anchor_report.py``): a finished run against its published number."""

import json
import sys
from pathlib import Path

from keras_resnet_opt.atomic import write_json
from keras_resnet_opt.cli.common import EXIT_ERROR, EXIT_OK, fail, make_parser

EXIT_CODES = {
    EXIT_OK: "summary.json and curves.png written (and the model card with --saved-model, jpeg_cost.json or "
    "--jpeg-cost-name with --jpeg-cost, SETTING_change.json or --setting-change-name with --setting-change)",
    EXIT_ERROR: "an unexpected error",
}


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
    p.add_argument(
        "--saved-model", metavar="DIR",
        help="also write the model card (README.md) into this exported SavedModel folder (default: no card)",
    )
    p.add_argument(
        "--evaluation", metavar="JSON",
        help="the SavedModel's own evaluation, as `kro-evaluate DIR --json` prints it, for the card (default: none)",
    )
    p.add_argument(
        "--trained-on", metavar="YYYY-MM-DD", help="the date training finished, for the card (default: none)"
    )
    p.add_argument(
        "--compare", metavar="RUN_DIR", action="append", default=[],
        help="another run folder of the same recipe to draw beside the run in curves.png, finished or not "
        "(repeatable; default: none)",
    )
    p.add_argument(
        "--jpeg-cost", metavar="RUNS",
        help="also write jpeg_cost.json: the runs in RUNS, trained on a kro-jpeg-copy copy, paired by seed with "
        "those in --paired-with (keras_resnet_opt/study/jpeg_cost.py) (default: not written)",
    )
    p.add_argument(
        "--paired-with", metavar="RUNS",
        help="the runs the --jpeg-cost or --setting-change runs are paired with by seed: the same runs on the copy "
        "itself, without the change; required with either (default: none)",
    )
    p.add_argument(
        "--jpeg-cost-name", metavar="FILE", default="jpeg_cost.json",
        help="file name in --out for the --jpeg-cost comparison, so that several can lie side by side "
        "(default: jpeg_cost.json)",
    )
    p.add_argument(
        "--setting-change", metavar="RUNS",
        help="also write SETTING_change.json: the runs in RUNS, trained with --setting changed, paired by seed with "
        "those in --paired-with (keras_resnet_opt/study/setting_change.py) (default: not written)",
    )
    p.add_argument(
        "--setting", metavar="FIELD",
        help="the RunConfig field the --setting-change runs changed, e.g. bn_groups; required with it (default: none)",
    )
    p.add_argument(
        "--setting-change-name", metavar="FILE",
        help="file name in --out for the --setting-change comparison (default: SETTING_change.json)",
    )
    return p


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if bool(args.jpeg_cost or args.setting_change) != bool(args.paired_with):
        fail("--jpeg-cost or --setting-change and --paired-with go together: the changed runs and the same runs "
             "without the change.")
    if bool(args.setting_change) != bool(args.setting):
        fail("--setting-change and --setting go together: the changed runs and the RunConfig field they changed.")
    from keras_resnet_opt.anchor import write_anchor_report

    try:
        summary = write_anchor_report(args.run_dir, args.out, args.published_error, args.source, args.compare)
        if args.saved_model:
            from keras_resnet_opt.model_card import write_card

            evaluation = None
            if args.evaluation:  # `kro-evaluate --json` output: the JSON object is its last line
                with open(args.evaluation, encoding="utf-8") as f:
                    lines = f.read().strip().splitlines()
                if not lines:
                    raise ValueError(f"{args.evaluation} is empty; write it with `kro-evaluate DIR --json > FILE`.")
                evaluation = json.loads(lines[-1])
            card = write_card(args.run_dir, args.saved_model, evaluation=evaluation,
                              published=(args.published_error, args.source), trained_on=args.trained_on)  # fmt: skip
        if args.jpeg_cost:
            from keras_resnet_opt.study.jpeg_cost import jpeg_cost

            cost = jpeg_cost(args.jpeg_cost, args.paired_with)
            write_json(Path(args.out) / args.jpeg_cost_name, cost)
        if args.setting_change:
            from keras_resnet_opt.study.setting_change import setting_change

            change = setting_change(args.setting_change, args.paired_with, args.setting)
            write_json(Path(args.out) / (args.setting_change_name or f"{args.setting}_change.json"), change)
    except (ValueError, FileNotFoundError) as e:
        fail(str(e))
    print(json.dumps({
        k: summary[k] for k in ("final_test_error_pct", "published_test_error_pct", "difference_pp", "iterations")
    }))
    if args.saved_model:
        print(f"Wrote {card}")
    if args.jpeg_cost:
        print(f"JPEG cost: {json.dumps(cost['test_error_difference_pp'])} pp over {cost['n_pairs']} seed(s)")
    if args.setting_change:
        print(f"{args.setting} {change['base_value']!r} -> {change['changed_value']!r}: "
              f"{json.dumps(change['test_error_difference_pp'])} pp over {change['n_pairs']} seed(s)")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
