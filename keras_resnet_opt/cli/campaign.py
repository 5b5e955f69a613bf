"""``python scripts/campaign.py PLAN``: run a long study's jobs, K at a time, resumably."""

import argparse
import sys

from keras_resnet_opt.cli.common import fail


def build_parser():
    p = argparse.ArgumentParser(
        description=(
            "Run the jobs of a campaign plan (JSON) K at a time from a fixed code checkout; rerun the same "
            "command after an interruption: finished jobs are skipped and the rest resume (keras_resnet_opt/campaign.py)."
        ),
    )
    p.add_argument("plan", help="the plan JSON: {\"jobs\": [{\"name\", \"argv\", \"after\"}]}")
    p.add_argument("--campaign-dir", required=True, help="where state.json and logs/ are kept")
    p.add_argument("--code-dir", required=True, help="the checkout (at a fixed commit) every job runs from")
    p.add_argument("--workers", type=int, default=2, help="jobs at once (default: 2)")
    p.add_argument("--threads", type=int, default=1, help="--threads for each job (default: 1; 0 passes none)")
    p.add_argument("--retry-failed", action="store_true", help="rerun the jobs that failed before")
    p.add_argument(
        "--collect-into", metavar="REPO",
        help="run nothing: copy what the jobs wrote under --code-dir (results/, the He run's SavedModel) into "
        "the repository REPO, without heavy files (keras_resnet_opt.campaign.collect), and exit",
    )
    return p


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    from keras_resnet_opt.campaign import DONE, collect, run_campaign

    if args.collect_into:
        collect(args.code_dir, args.collect_into)
        return 0
    try:
        status = run_campaign(
            args.plan, args.campaign_dir, args.code_dir, workers=args.workers,
            threads=args.threads or None, retry_failed=args.retry_failed, out=lambda line: print(line, flush=True),
        )
    except (ValueError, FileNotFoundError) as e:
        fail(str(e))
    left = {name: s for name, s in status.items() if s != DONE}
    print(f"{len(status) - len(left)} of {len(status)} jobs done" + (f"; not done: {left}" if left else ""))
    return 0 if not left else 1


if __name__ == "__main__":
    raise SystemExit(main())
