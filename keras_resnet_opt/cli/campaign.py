"""``kro-campaign PLAN`` (``python scripts/campaign.py``): run a long study's jobs, K at a time, resumably."""

import math
import sys

from keras_resnet_opt.cli.common import EXIT_ERROR, EXIT_OK, fail, make_parser

EXIT_CODES = {
    EXIT_OK: "every job of the plan is done (or, with --collect-into, the files were copied; with --status, the "
    "table was printed)",
    EXIT_ERROR: "some jobs failed or could not start because a job they wait for failed (state.json, logs/), "
    "or an unexpected error",
}


def build_parser():
    p = make_parser(
        "Run the jobs of a campaign plan (JSON) K at a time from a fixed code checkout; rerun the same "
        "command after an interruption: finished jobs are skipped and the rest resume (keras_resnet_opt/campaign.py).",
        EXIT_CODES,
    )
    p.add_argument("plan", help="the plan JSON: {\"jobs\": [{\"name\", \"argv\", \"after\"}]}")
    p.add_argument("--campaign-dir", required=True, help="where state.json and logs/ are kept (required)")
    p.add_argument(
        "--code-dir", required=True,
        help="the checkout (at a fixed commit) every job runs from: its working directory and first PYTHONPATH entry "
        "(required)",
    )
    p.add_argument("--workers", type=int, default=2, help="jobs at once")
    p.add_argument("--threads", type=int, default=1, help="--threads for each job; 0 passes none")
    p.add_argument("--retry-failed", action="store_true", help="rerun the jobs that failed before")
    p.add_argument(
        "--collect-into", metavar="REPO",
        help="run nothing: copy what the plan's jobs wrote under --code-dir (their run folders and search projects, "
        "and what a job's `collect` names) into the repository REPO, without heavy files "
        "(keras_resnet_opt.campaign_collect.collect), and exit "
        "(default: run the plan)",
    )
    p.add_argument(
        "--status", action="store_true",
        help="run nothing: print each job's state and progress (a run's epochs, a search's trials) as a Markdown "
        "table, read from state.json and the jobs' own outputs, then a rough estimate of the time left at "
        "--workers at a time, and exit (default: run the plan)",
    )
    return p


def time_left_sentence(left, workers):
    """One line on the work left, in hours (`campaign.time_left`)."""
    if math.isnan(left["worker_s"]):
        text = f"Left: {left['jobs']} jobs; no run has recorded an epoch time yet, so no estimate."
    else:
        text = (
            f"Left: {left['jobs']} jobs, roughly {left['worker_s'] / 3600:.0f} worker-hours: about "
            f"{left['machine_s'] / 3600:.0f} hours of this machine at {workers} at a time (from the epoch times of "
            "the campaign's most recent runs)."
        )
    if left["unestimated"]:
        text += f" Not estimated: {', '.join(left['unestimated'])}."
    return text


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    from keras_resnet_opt.campaign import DONE, load_plan, progress, run_campaign
    from keras_resnet_opt.campaign_collect import collect
    from keras_resnet_opt.campaign_time import time_left

    if args.collect_into:
        try:
            jobs = load_plan(args.plan)
        except (ValueError, FileNotFoundError) as e:
            fail(str(e))
        collect(args.code_dir, args.collect_into, jobs)
        return EXIT_OK
    if args.status:
        try:
            rows = progress(args.plan, args.campaign_dir, args.code_dir)
        except (ValueError, FileNotFoundError) as e:
            fail(str(e))
        print("| Job | State | Progress |\n|---|---|---|")
        for name, state, text in rows:
            text = text.replace("|", "\\|")  # an error message must not split the table's row
            print(f"| {name} | {state} | {text} |")
        print(f"\n{sum(state == DONE for _, state, _ in rows)} of {len(rows)} jobs done.")
        left = time_left(args.plan, args.campaign_dir, args.code_dir, args.workers)
        if left["jobs"]:
            print(time_left_sentence(left, args.workers))
        return EXIT_OK
    try:
        status = run_campaign(
            args.plan, args.campaign_dir, args.code_dir, workers=args.workers,
            threads=args.threads or None, retry_failed=args.retry_failed, out=lambda line: print(line, flush=True),
        )
    except (ValueError, FileNotFoundError) as e:
        fail(str(e))
    left = {name: s for name, s in status.items() if s != DONE}
    print(f"{len(status) - len(left)} of {len(status)} jobs done" + (f"; not done: {left}" if left else ""))
    return EXIT_ERROR if left else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
