"""The campaign driver: order, parallel slots, dependencies, failures, resume by rerunning.

Jobs here are tiny Python scripts in a fake checkout, so the test runs in
seconds: each appends its name (and the arguments it got) to a log file.
"""

import json
import os
import runpy
import sys
from pathlib import Path

import pytest

from keras_resnet_opt.campaign import DONE, FAILED, load_plan, read_state, run_campaign

JOB = """
import sys, time
from pathlib import Path
name, code = sys.argv[1], int(sys.argv[2])
time.sleep(float(sys.argv[3]))
with open(Path(__file__).parent / "ran.txt", "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\\n")
if code:
    print(f"RuntimeError: {name} failed on purpose", file=sys.stderr)
    print("", file=sys.stderr)
raise SystemExit(code)
"""


@pytest.fixture
def checkout(tmp_path):
    code = tmp_path / "code"
    (code / "keras_resnet_opt").mkdir(parents=True)
    (code / "job.py").write_text(JOB)
    return code


def _plan(tmp_path, jobs):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"jobs": jobs}))
    return path


def _job(name, code=0, sleep=0.0, after=()):
    return {"name": name, "argv": ["job.py", name, str(code), str(sleep)], "after": list(after)}


def _ran(checkout):
    path = checkout / "ran.txt"
    return [line.split() for line in path.read_text().splitlines()] if path.is_file() else []


def test_jobs_run_in_order_with_threads_and_dependencies(tmp_path, checkout, monkeypatch):
    monkeypatch.setattr("keras_resnet_opt.campaign.POLL_S", 0.05)
    plan = _plan(tmp_path, [_job("a", sleep=0.3), _job("b"), _job("c", after=["a", "b"])])
    status = run_campaign(
        plan, tmp_path / "campaign", checkout, workers=2, threads=1, python=sys.executable, out=lambda _: None
    )
    assert status == {"a": DONE, "b": DONE, "c": DONE}
    ran = _ran(checkout)
    assert [r[0] for r in ran] == ["b", "a", "c"]  # b is quicker; c waits for both
    assert all(r[-2:] == ["--threads", "1"] for r in ran)
    state = read_state(tmp_path / "campaign")
    assert state["jobs"]["c"]["exit_code"] == 0 and (tmp_path / "campaign" / "logs" / "a.log").is_file()


def test_a_failure_blocks_its_dependents_and_a_rerun_skips_what_is_done(tmp_path, checkout, monkeypatch):
    monkeypatch.setattr("keras_resnet_opt.campaign.POLL_S", 0.05)
    plan = _plan(tmp_path, [_job("ok"), _job("bad", code=3), _job("needs-bad", after=["bad"])])
    lines = []
    quiet = dict(workers=1, threads=None, python=sys.executable, out=lines.append)
    status = run_campaign(plan, tmp_path / "campaign", checkout, **quiet)
    assert status == {"ok": DONE, "bad": FAILED, "needs-bad": None}
    assert [r[0] for r in _ran(checkout)] == ["ok", "bad"] and "--threads" not in _ran(checkout)[0]
    # The failure says why: the last line its log holds, in state.json and in the driver's output.
    assert read_state(tmp_path / "campaign")["jobs"]["bad"]["error"] == "RuntimeError: bad failed on purpose"
    assert any(line.endswith("bad: failed (exit 3): RuntimeError: bad failed on purpose") for line in lines)
    assert "error" not in read_state(tmp_path / "campaign")["jobs"]["ok"]

    # Rerun: nothing done is repeated, a failure stays failed unless retried.
    assert run_campaign(plan, tmp_path / "campaign", checkout, **quiet)["bad"] == FAILED
    assert len(_ran(checkout)) == 2
    plan = _plan(tmp_path, [_job("ok"), _job("bad"), _job("needs-bad", after=["bad"])])  # fixed
    status = run_campaign(plan, tmp_path / "campaign", checkout, retry_failed=True, **quiet)
    assert status == {"ok": DONE, "bad": DONE, "needs-bad": DONE}
    assert [r[0] for r in _ran(checkout)] == ["ok", "bad", "bad", "needs-bad"]


@pytest.mark.parametrize(
    "jobs,message",
    [
        ([_job("a"), _job("a")], "twice"),
        ([_job("a", after=["zz"])], "unknown job"),
        ([_job("a", after=["b"]), _job("b", after=["a"])], "cycle"),
        ([_job("../escape")], "plain file names"),
        ([{"name": "a", "argv": []}], "non-empty `argv`"),
        # Without these flags neither `collect` nor `--status` would know the job's folder.
        ([{"name": "a", "argv": ["scripts/train.py", "--output-dir", "r"]}], "without --run-name: add `--run-name"),
        ([{"name": "a", "argv": ["tuning/search.py", "--optimizer", "sgd"]}], "without --directory"),
    ],
)
def test_bad_plans_are_refused_with_the_reason(tmp_path, jobs, message):
    with pytest.raises(ValueError, match=message):
        load_plan(_plan(tmp_path, jobs))


def test_missing_plan_and_wrong_checkout_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_plan(tmp_path / "nope.json")
    plan = _plan(tmp_path, [_job("a")])
    with pytest.raises(ValueError, match="not a checkout of this project"):
        run_campaign(plan, tmp_path / "campaign", tmp_path, out=lambda _: None)


def test_jobs_added_to_the_plan_while_it_runs_are_picked_up(tmp_path, checkout, monkeypatch):
    monkeypatch.setattr("keras_resnet_opt.campaign.POLL_S", 0.05)
    plan = _plan(tmp_path, [_job("first", sleep=0.5)])
    lines = []

    def out(line):
        lines.append(line)
        if "first: started" in line:  # the plan grows while "first" runs
            _plan(tmp_path, [_job("first", sleep=0.5), _job("added", after=["first"])])

    status = run_campaign(
        plan, tmp_path / "campaign", checkout, workers=1, threads=None, python=sys.executable, out=out
    )
    assert status == {"first": DONE, "added": DONE} and [r[0] for r in _ran(checkout)] == ["first", "added"]


def test_collect_copies_results_without_heavy_files(tmp_path):
    from keras_resnet_opt.campaign_collect import collect

    code, repo = tmp_path / "code", tmp_path / "repo"
    files = {
        "results/cpu-budget/runs/r-s0/manifest.json": True,
        "results/cpu-budget/runs/r-s0/test_predictions.npy": True,
        "results/cpu-budget/runs/r-s0/model.keras": False,
        "results/cpu-budget/runs/r-s0/tensorboard/events": False,
        "results/cpu-budget/runs/r-s1/checkpoints/epoch-0003.keras": False,  # unfinished, not the He run
        "results/cpu-budget/tuning/sgdm/sgdm/trial_0/trial.json": True,
        "results/cpu-budget/tuning/sgdm/sgdm/trial_0/history.csv": True,
        "results/cpu-budget/tuning/sgdm/sgdm/trial_0/checkpoint.weights.h5": False,
        "results/cpu-budget/tuning/sgdm/sgdm/trial_1/resume/epoch-0002.keras": False,
        "results/he2016/runs/he/checkpoints/epoch-0042.keras": True,  # travels: a 10-hour run
        "results/he2016/jpeg-cost/runs/j-s0/history.csv": True,
        "results/he2016/jpeg-cost/runs/j-s0/checkpoints/epoch-0003.keras": False,  # a 10-epoch run beside it
        "results/he2016/jpeg-cost/runs-164ep/j/checkpoints/epoch-0007.keras": True,  # the He run's twin: travels
        "results/he2016/jpeg-cost/runs-164ep/j/history.json": True,
        "results/he2016/jpeg-cost/runs-164ep/j/checkpoints/epoch-0008.keras": False,  # ahead of its history
        "results/he2016/jpeg-cost/runs-164ep/j/checkpoints/epoch-0006.keras.damaged": False,  # set aside on resume
        "results/he2016/runs/he/history.json": True,
        "results/he2016/runs/he/.history.tmp.json": False,  # an atomic write in flight
        "saved_models/he2016-resnet20-sgdm-s0/saved_model.pb": True,
        "saved_models/other/saved_model.pb": False,
        "results/cpu-quick/report.md": False,  # another study: the clone's copy is older than the repository's
        "results/campaign/plan.json": False,
        # Written in the repository beside the runs; the clone's copies are older.
        "results/he2016/README.md": False,
        "results/he2016/jpeg-cost/PROVENANCE.json": False,
        "results/cpu-budget/control/study.json": False,
        "saved_models/he2016-resnet20-sgdm-s0/README.md": False,
        "results/cpu-budget/control/runs/c-s0/manifest.json": True,
        "results/cpu-budget-30/rate-check/runs/r-s0/history.csv": True,
    }
    for name in files:
        (code / name).parent.mkdir(parents=True, exist_ok=True)
        (code / name).write_text(name)
    he, twin = code / "results/he2016/runs/he", code / "results/he2016/jpeg-cost/runs-164ep/j"
    (he / "history.json").write_text(json.dumps([{"epoch": 42}]))
    (twin / "history.json").write_text(json.dumps([{"epoch": 6}, {"epoch": 7}]))

    def run(output_dir, name):
        job = f"{output_dir.split('/')[1]}-{name}"  # job names are unique; run names only within their folder
        return {"name": job, "argv": ["scripts/train.py", "--output-dir", output_dir, "--run-name", name]}

    plan = _plan(tmp_path, [
        {**run("results/he2016/runs", "he"), "collect": ["saved_models/he2016-resnet20-sgdm-s0"],
         "keep_checkpoints": True},
        {"name": "tune-sgdm", "argv": ["tuning/search.py", "--directory", "results/cpu-budget/tuning/sgdm"]},
        run("results/cpu-budget/runs", "r-s0"), run("results/cpu-budget/runs", "r-s1"),
        run("results/he2016/jpeg-cost/runs", "j-s0"),
        {**run("results/he2016/jpeg-cost/runs-164ep", "j"), "keep_checkpoints": True},
        run("results/cpu-budget/control/runs", "c-s0"), run("results/cpu-budget-30/rate-check/runs", "r-s0"),
    ])  # fmt: skip
    jobs = load_plan(plan)
    written = collect(code, repo, jobs, out=lambda _: None)
    assert sorted(p.relative_to(repo).as_posix() for p in written) == sorted(n for n, keep in files.items() if keep)
    assert collect(code, repo, jobs, out=lambda _: None) == []  # nothing changed: nothing rewritten
    # The He run moves on: its new checkpoint arrives, the pruned one leaves the repository too.
    old = he / "checkpoints/epoch-0042.keras"
    old.rename(old.with_name("epoch-0043.keras"))
    (he / "history.json").write_text(json.dumps([{"epoch": 42}, {"epoch": 43}]))
    collect(code, repo, jobs, out=lambda _: None)
    assert [p.name for p in (repo / "results/he2016/runs/he/checkpoints").iterdir()] == ["epoch-0043.keras"]
    # The twin finishes: the trainer writes its manifest and drops its checkpoints, and so does the repository.
    (twin / "manifest.json").write_text("{}")
    written = collect(code, repo, jobs, out=lambda _: None)
    assert [p.name for p in written] == ["manifest.json"]
    assert (repo / "results/he2016/jpeg-cost/runs-164ep/j/manifest.json").is_file()
    assert not (repo / "results/he2016/jpeg-cost/runs-164ep/j/checkpoints").exists()
    # A finished run's checkpoint still in the clone (a copy put back on a new machine) is not collected either.
    (code / "results/he2016/runs/he/manifest.json").write_text("{}")
    collect(code, repo, jobs, out=lambda _: None)
    assert not (repo / "results/he2016/runs/he/checkpoints").exists()


def test_collect_paths_must_lie_inside_the_checkout(tmp_path):
    for bad in ("/etc", "../elsewhere"):
        with pytest.raises(ValueError, match="inside the checkout"):
            load_plan(_plan(tmp_path, [{**_job("a"), "collect": [bad]}]))


def test_the_committed_plan_is_what_make_plan_writes_and_names_every_output_once():
    repo = Path(__file__).resolve().parents[1]
    written = runpy.run_path(str(repo / "results/campaign/make_plan.py"))["plan"]()
    path = repo / "results/campaign/plan.json"
    assert json.loads(path.read_text()) == written
    jobs = load_plan(path)
    outputs = [out for job in jobs for out in job.outputs()]
    assert len(outputs) == len(set(outputs)) and all(job.outputs() for job in jobs)
    kept = {job.name for job in jobs if job.keep_checkpoints}
    # The hours-long runs: the He run, its twin, and the 30-epoch arm.
    assert kept == {"he2016-resnet20-sgdm-s0", "he2016-jpeg-cost-resnet20-sgdm-s0"} | {
        job.name for job in jobs if job.name.startswith("cpu-budget-30-")}


def test_the_follow_up_plan_is_committed_parses_with_this_code_and_writes_nothing_the_main_plan_does():
    """The --bn-groups follow-up runs from a newer clone than the main campaign's: its flags must parse now."""
    from keras_resnet_opt.cli.train import build_parser, config_from_args

    repo = Path(__file__).resolve().parents[1]
    maker = runpy.run_path(str(repo / "results/campaign/make_plan.py"))
    for file_name, make in maker["PLANS"].items():
        assert json.loads((repo / "results/campaign" / file_name).read_text()) == make()
    follow_up = load_plan(repo / "results/campaign/plan-bn-groups.json")
    main_outputs = {out for job in load_plan(repo / "results/campaign/plan.json") for out in job.outputs()}
    assert not main_outputs & {out for job in follow_up for out in job.outputs()}
    assert [job.name for job in follow_up if job.keep_checkpoints] == [maker["BN_GROUPS_RUN"]]
    config = config_from_args(build_parser().parse_args(follow_up[0].argv[1:]))
    assert (config.preset, config.optimizer, config.model, config.bn_groups, config.seed) == (
        "he2016", "sgdm", "resnet20", 2, 0)


def test_the_adam_rate_follow_up_runs_adam_below_its_tuned_rate_beside_the_rate_check():
    """Its runs join the rate check's folder, so they must not clash with any run the main plan writes."""
    from keras_resnet_opt.cli.train import build_parser, config_from_args

    repo = Path(__file__).resolve().parents[1]
    maker = runpy.run_path(str(repo / "results/campaign/make_plan.py"))
    follow_up = load_plan(repo / "results/campaign/plan-adam-rate.json")
    main_outputs = {out for job in load_plan(repo / "results/campaign/plan.json") for out in job.outputs()}
    assert not main_outputs & {out for job in follow_up for out in job.outputs()}
    assert all(job.keep_checkpoints for job in follow_up)
    tuned = maker["tuned_rate"]("adam")
    configs = [config_from_args(build_parser().parse_args(job.argv[1:])) for job in follow_up]
    assert [(c.preset, c.optimizer, c.seed) for c in configs] == [("cpu-budget-30", "adam", s) for s in (1, 2, 0)]
    assert [round(tuned / c.learning_rate, 3) for c in configs] == [3.0, 3.0, 9.0]


PROBE = """
import json, os, sys
from pathlib import Path
import keras_resnet_opt
from keras_resnet_opt.environment import code_version
out = Path(__file__).resolve().parent.parent / "probe.json"
out.write_text(json.dumps({
    "pythonpath": os.environ.get("PYTHONPATH", ""),
    "package": keras_resnet_opt.__file__,
    "code": code_version(),
}))
"""


def test_jobs_import_the_checkouts_package_and_record_its_commit(tmp_path, monkeypatch):
    # A job is a script in a subfolder (as scripts/train.py is), so its own folder on sys.path does not
    # reach the checkout: only the driver's PYTHONPATH makes it import the checkout's package rather
    # than the one installed (editable) in the venv, and code_version() then names the checkout's commit.
    import shutil
    import subprocess
    from pathlib import Path

    import keras_resnet_opt.environment

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    monkeypatch.setattr("keras_resnet_opt.campaign.POLL_S", 0.05)
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    code = tmp_path / "code"
    (code / "keras_resnet_opt").mkdir(parents=True)
    (code / "keras_resnet_opt" / "__init__.py").write_text("")
    shutil.copy(Path(keras_resnet_opt.environment.__file__), code / "keras_resnet_opt" / "environment.py")
    (code / "scripts").mkdir()
    (code / "scripts" / "probe.py").write_text(PROBE)

    def git(*args):
        return subprocess.run(["git", "-C", str(code), *args], capture_output=True, text=True, check=True).stdout

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "fixed commit")
    commit = git("rev-parse", "HEAD").strip()
    plan = _plan(tmp_path, [{"name": "probe", "argv": ["scripts/probe.py"], "threads": False}])
    status = run_campaign(
        plan, tmp_path / "campaign", code, workers=1, threads=None, python=sys.executable, out=lambda _: None
    )
    assert status == {"probe": DONE}, (tmp_path / "campaign" / "logs" / "probe.log").read_text()
    probe = json.loads((code / "probe.json").read_text())
    assert probe["pythonpath"].split(os.pathsep) == [str(code.resolve()), "/elsewhere"]
    assert Path(probe["package"]).resolve() == (code / "keras_resnet_opt" / "__init__.py").resolve()
    assert probe["code"]["commit"] == commit and probe["code"]["dirty"] is False


def test_the_job_environment_puts_the_checkout_first_on_pythonpath(tmp_path):
    from keras_resnet_opt.campaign import job_environment

    assert job_environment(tmp_path, {"HOME": "/h"}) == {"HOME": "/h", "PYTHONPATH": str(tmp_path)}
    env = job_environment(tmp_path, {"PYTHONPATH": f"/a{os.pathsep}/b"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path), "/a", "/b"]
    assert job_environment(tmp_path, {"PYTHONPATH": ""})["PYTHONPATH"] == str(tmp_path)


def test_status_reads_progress_from_the_jobs_own_outputs(tmp_path, checkout, capsys):
    from keras_resnet_opt.cli.campaign import main
    from keras_resnet_opt.training.run_folder import write_history

    runs = "results/study/runs"
    plan = _plan(tmp_path, [
        {"name": "tune-a", "argv": ["tuning/search.py", "--optimizer", "a", "--directory", "results/tuning/a"]},
        {"name": "run-a", "argv": ["scripts/train.py", "--output-dir", runs, "--run-name", "run-a"],
         "after": ["tune-a"]},
        {"name": "run-b", "argv": ["scripts/train.py", "--output-dir", runs, "--run-name", "run-b"]},
        {"name": "other", "argv": ["job.py", "other", "0", "0"]},
    ])  # fmt: skip
    for trial, status in (("trial_0", "COMPLETED"), ("trial_1", "RUNNING")):
        folder = checkout / "results/tuning/a/a" / trial
        folder.mkdir(parents=True)
        (folder / "trial.json").write_text(json.dumps({"status": status}))
        (folder / "history.csv").write_text("epoch,loss\n1,2.0\n2,1.5\n")
    run_dir = checkout / runs / "run-b"
    write_history(run_dir, [{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.5}, {"epoch": 3, "loss": 1.2}])
    (run_dir / "config.json").write_text(json.dumps({"epochs": 10}))
    campaign = tmp_path / "campaign"
    campaign.mkdir()
    error = "TypeError: Could not locate class 'X' | see the log"
    (campaign / "state.json").write_text(json.dumps({"jobs": {"tune-a": {"status": "failed", "error": error}}}))
    assert main([str(plan), "--campaign-dir", str(campaign), "--code-dir", str(checkout), "--status"]) == 0
    out = capsys.readouterr().out
    assert ("| tune-a | failed | 1 trial(s) completed, trial 1 at epoch 2; "
            "TypeError: Could not locate class 'X' \\| see the log |") in out  # fmt: skip
    assert "| run-a | waiting | not started |" in out
    assert "| run-b | started | epoch 3/10 |" in out and "0 of 4 jobs done." in out
    assert "| other | waiting |  |" in out  # a script with no known output folder: no progress to read


def test_time_left_follows_the_pace_of_the_campaigns_own_runs(tmp_path, checkout, capsys):
    from keras_resnet_opt.campaign_time import time_left
    from keras_resnet_opt.cli.campaign import main
    from keras_resnet_opt.training.run_folder import write_history

    runs = "results/study/runs"
    plan = _plan(tmp_path, [
        {"name": "tune", "argv": ["tuning/search.py", "--optimizer", "a", "--directory", "results/tuning/a"]},
        {"name": "a", "argv": ["scripts/train.py", "--output-dir", runs, "--run-name", "a"]},
        {"name": "b", "argv": ["scripts/train.py", "--output-dir", runs, "--run-name", "b"]},
        {"name": "c", "argv": ["scripts/train.py", "--preset", "cpu-budget-30", "--output-dir", runs,
                               "--run-name", "c"]},
    ])  # fmt: skip
    # The first epoch compiles (999 s); then 100, 110, 130 s for 45,000 training images: 110 s an epoch.
    times = (999.0, 100.0, 130.0, 110.0)
    for name, epochs in (("a", 4), ("b", 10)):
        write_history(checkout / runs / name, [{"epoch": i + 1, "loss": 1.0, "epoch_time_s": t}
                                               for i, t in enumerate(times)])  # fmt: skip
        (checkout / runs / name / "config.json").write_text(json.dumps({"epochs": epochs, "val_size": 5000}))
    campaign = tmp_path / "campaign"
    campaign.mkdir()
    (campaign / "state.json").write_text(json.dumps({"jobs": {"a": {"status": "done"}}}))
    left = time_left(plan, campaign, checkout, workers=2)
    # b: 6 epochs left; c (not started, resolved from its preset): 30 epochs of 45,000 images.
    assert left["worker_s"] == pytest.approx((6 + 30) * 110.0)
    assert left["machine_s"] == pytest.approx(30 * 110.0)  # the longest job bounds the wall time
    assert left["jobs"] == 3 and left["unestimated"] == ["tune"]
    assert main([str(plan), "--campaign-dir", str(campaign), "--code-dir", str(checkout), "--status"]) == 0
    out = capsys.readouterr().out
    assert "Left: 3 jobs, roughly 1 worker-hours: about 1 hours of this machine at 2 at a time" in out
    # Each run under way at its own recent pace: b has 6 epochs of 110 s (its median after the first) left.
    assert f"| b | started | epoch 4/10, about {6 * 110 / 3600:.1f} h left at its recent pace |" in out
    assert "| a | done | epoch 4/4 |" in out


def test_collect_into_needs_a_readable_plan(tmp_path, checkout, capsys):
    from keras_resnet_opt.cli.campaign import main

    argv = [str(tmp_path / "nope.json"), "--campaign-dir", str(tmp_path / "c"), "--code-dir", str(checkout),
            "--collect-into", str(tmp_path / "repo")]  # fmt: skip
    with pytest.raises(SystemExit):
        main(argv)
    assert "nope.json" in capsys.readouterr().err and not (tmp_path / "repo").exists()


def test_failure_reason_is_the_logs_last_line_cut_to_width(tmp_path):
    from keras_resnet_opt.campaign import failure_reason

    log = tmp_path / "job.log"
    log.write_text("epoch 1\nTraceback (most recent call last):\n  File x\nValueError: " + "v" * 400 + "\n\n  \n")
    reason = failure_reason(log)
    assert reason.startswith("ValueError: vvv") and reason.endswith("...") and len(reason) == 300
    assert failure_reason(tmp_path / "missing.log") == ""
    (tmp_path / "empty.log").write_text("\n")
    assert failure_reason(tmp_path / "empty.log") == ""


@pytest.mark.parametrize("moves", ["after the listing", "before the checkpoint's copy", "before the history's copy",
                                   "while the checkpoint is written"])
@pytest.mark.parametrize("epochs_moved", [1, 2])
def test_a_run_writing_its_next_epochs_during_a_collect_leaves_a_resume_point(tmp_path, monkeypatch, moves,
                                                                              epochs_moved):
    """The campaign commit's trainer keeps one checkpoint: at the end of epoch N it writes N's checkpoint, then
    the history, then prunes N-1, and on resume it starts from its newest checkpoint whatever the history says.
    A collect may list the clone's files before the trainer moves on and copy them after. Whatever it copies,
    the repository keeps a checkpoint, and none ahead of the history it holds (that would skip a history row)."""
    from keras_resnet_opt import campaign_collect
    from keras_resnet_opt.campaign_collect import collect

    code, repo = tmp_path / "code", tmp_path / "repo"
    run = code / "results/he2016/runs/he"
    (run / "checkpoints").mkdir(parents=True)

    def epoch(n, history=True, prune=True):  # what that trainer does at the end of epoch n
        (run / "checkpoints" / f"epoch-{n:04d}.keras").write_text(str(n))
        if history:
            (run / "history.json").write_text(json.dumps([{"epoch": e} for e in range(1, n + 1)]))
        for old in (run / "checkpoints").glob("*.keras"):
            if prune and old.name != f"epoch-{n:04d}.keras":
                old.unlink()

    jobs = load_plan(_plan(tmp_path, [{"name": "he", "keep_checkpoints": True,
                                       "argv": ["scripts/train.py", "--output-dir", "results/he2016/runs",
                                                "--run-name", "he"]}]))  # fmt: skip
    epoch(7)
    collect(code, repo, jobs, out=lambda _: None)
    epoch(8)
    moved = []

    def move_on():
        if not moved:
            moved.append(True)
            if moves == "while the checkpoint is written":  # epoch 9's checkpoint is there, its history not yet
                epoch(9, history=False, prune=False)
                return
            for n in range(9, 9 + epochs_moved):
                epoch(n)

    real_read, real_copy = campaign_collect._read_histories, campaign_collect._copy

    def read_histories(snapshot):
        if moves == "after the listing":
            move_on()
        return real_read(snapshot)

    def copy(path, target, data=None):
        name = {"before the checkpoint's copy": "epoch-0008.keras", "before the history's copy": "history.json"}
        if path.name == name.get(moves):
            move_on()
        return real_copy(path, target, data)

    if moves == "while the checkpoint is written":
        move_on()  # before the listing: the collect sees epoch 9's checkpoint beside epoch 8's history
    monkeypatch.setattr(campaign_collect, "_read_histories", read_histories)
    monkeypatch.setattr(campaign_collect, "_copy", copy)
    collect(code, repo, jobs, out=lambda _: None)
    assert moved
    kept = sorted(p.name for p in (repo / "results/he2016/runs/he/checkpoints").iterdir())
    history = json.loads((repo / "results/he2016/runs/he/history.json").read_text())[-1]["epoch"]
    assert kept, "no resume point left in the repository"
    assert int(kept[-1][6:10]) <= history, (kept, history)  # the history vouches for the newest checkpoint kept
    monkeypatch.undo()
    if moves == "while the checkpoint is written":
        epoch(9)  # the trainer finishes the epoch
    collect(code, repo, jobs, out=lambda _: None)  # the next collect catches up
    newest = 9 if moves == "while the checkpoint is written" else 8 + epochs_moved
    kept = sorted(p.name for p in (repo / "results/he2016/runs/he/checkpoints").iterdir())
    assert kept == [f"epoch-{newest:04d}.keras"]


def test_a_runs_pace_in_the_status_is_its_recent_one(tmp_path, checkout):
    """A run that moved to a slower machine part-way is timed at the new machine's pace."""
    from keras_resnet_opt.campaign import RECENT_EPOCHS, progress
    from keras_resnet_opt.campaign_time import time_left
    from keras_resnet_opt.training.run_folder import write_history

    runs = "results/study/runs"
    plan = _plan(tmp_path, [{"name": "r", "argv": ["scripts/train.py", "--output-dir", runs, "--run-name", "r"]}])
    times = [999.0] + [100.0] * 20 + [400.0] * RECENT_EPOCHS  # 20 fast epochs, then the slow machine
    write_history(checkout / runs / "r", [{"epoch": i + 1, "loss": 1.0, "epoch_time_s": t}
                                          for i, t in enumerate(times)])  # fmt: skip
    (checkout / runs / "r" / "config.json").write_text(json.dumps({"epochs": len(times) + 9}))
    (campaign := tmp_path / "campaign").mkdir()
    ((name, state, text),) = progress(plan, campaign, checkout)
    assert text == f"epoch {len(times)}/{len(times) + 9}, about {9 * 400 / 3600:.1f} h left at its recent pace"
    assert time_left(plan, campaign, checkout, workers=1)["worker_s"] == pytest.approx(9 * 400)  # the same pace
    (campaign / "state.json").write_text(json.dumps({"jobs": {"r": {"status": "failed"}}}))
    ((name, state, text),) = progress(plan, campaign, checkout)  # a failed run is not under way
    assert (state, text) == ("failed", f"epoch {len(times)}/{len(times) + 9}")
