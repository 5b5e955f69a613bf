"""Run a long study as a queue of resumable commands, K at a time, across interruptions.

The cpu-budget and He et al. studies take tens of hours of a 2-core machine,
spread over many working sessions that each end by killing every process.
Each job of a campaign is one command of this project that already resumes
by itself when rerun (``scripts/train.py`` from its checkpoint,
``tuning/search.py`` from its Keras Tuner project and per-epoch trial
checkpoints), so the driver only has to:

- start the jobs of a plan in order, at most ``workers`` at once, each with
  ``--threads`` TensorFlow threads (two 1-thread runs make the most of 2
  cores: benchmarks/README.md, "Campaign throughput");
- start a job only when the jobs it names in ``after`` have succeeded;
- record each job's end (exit code, time) in ``state.json`` and its output in
  ``logs/<job>.log``, so a rerun of the driver skips what is done and
  restarts the rest, which then resume;
- read the plan again whenever it looks for a job to start, so jobs added
  to the plan while it runs (the final runs, once tuning has chosen their
  rates) are picked up without stopping the jobs in flight;
- run every job from one code checkout (``code_dir``, a clone at a fixed
  commit), so that work on the main tree does not change runs in flight:
  the checkout is each job's working directory and first ``PYTHONPATH``
  entry, so its scripts import the checkout's package, not the one installed
  (editable, from the main tree) in the venv. The runs' manifests record
  that commit (``environment.code_version`` reads the imported package's
  location).

A plan is JSON: ``{"jobs": [{"name": "tune-sgdm", "argv": ["tuning/search.py",
"--optimizer", "sgdm", ...], "after": []}, ...]}``; ``argv[0]`` is a script
path relative to ``code_dir``. A job may also name ``collect`` (folders it
writes besides its run folder or search project) and set
``keep_checkpoints``; see `Job`. The plan is the one list of what the
campaign writes: `collect` (campaign_collect.py) reads it to know what to copy back.

Pause for a benchmark window with ``kill -STOP -- -<pgid>`` and continue with
``kill -CONT -- -<pgid>`` (the driver and its jobs share a process group when
started with ``setsid``); ``state.json`` names the driver's pid.
"""

import dataclasses
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from keras_resnet_opt.atomic import write_json
from keras_resnet_opt.training import run_folder

STATE = "state.json"
LOGS = "logs"
DONE = "done"
FAILED = "failed"
POLL_S = 5.0
# The scripts whose output folder a job's arguments name: the run folder is
# --output-dir/--run-name, the search's project --directory.
TRAIN_SCRIPT = "scripts/train.py"
SEARCH_SCRIPT = "tuning/search.py"
# How many of a run's latest epoch times set its pace in `--status`.
RECENT_EPOCHS = 5


@dataclasses.dataclass(frozen=True)
class Job:
    """One command of a campaign.

    Attributes:
        name: unique, a safe file name (its log is ``logs/<name>.log``).
        argv: the script (relative to the code checkout) and its arguments.
        after: names of jobs that must have succeeded first.
        threads: pass ``--threads`` to it (every training script takes it).
        collect: folders it writes besides the one its arguments name (the
            He run's SavedModel export), relative to the checkout.
        keep_checkpoints: `collect` copies its newest per-epoch checkpoint
            too, so that it can resume on another machine (hours-long runs
            only), and removes it from the repository once the run finishes.
    """

    name: str
    argv: tuple
    after: tuple = ()
    threads: bool = True
    collect: tuple = ()
    keep_checkpoints: bool = False

    def outputs(self):
        """The folders this job writes, relative to the checkout: what `collect` copies back.

        A training run's folder (``--output-dir``/``--run-name``), a search's
        project (``--directory``), and the plan's ``collect`` entries. Only
        these are copied, never the rest of the clone's tree: its results/
        also holds older, committed copies of what is written in the
        repository beside the runs (READMEs, study.json declarations,
        reports), which must not overwrite newer ones.
        """
        own = self.output_folder()
        return tuple(([own] if own else []) + [Path(c) for c in self.collect])

    def output_folder(self):
        """The folder its own arguments name, relative to the checkout; None for other scripts.

        The one place that reads it from the arguments, for `collect` and
        `progress` alike. `load_plan` refuses training and search jobs that
        leave it to the script's defaults (`missing_output_flag`).
        """
        script = self.argv[0]
        if script == TRAIN_SCRIPT and flag_value(self.argv, "--run-name"):
            return Path(flag_value(self.argv, "--output-dir") or "runs") / flag_value(self.argv, "--run-name")
        if script == SEARCH_SCRIPT and flag_value(self.argv, "--directory"):
            return Path(flag_value(self.argv, "--directory"))
        return None

    def missing_output_flag(self):
        """The flag a training or search job must pass for its folder to be known, if it lacks it; else None.

        Without ``--run-name`` a run's folder name is derived from its whole
        configuration, and without ``--directory`` a search writes under the
        script's default: the driver could neither collect nor report them.
        """
        flag = {TRAIN_SCRIPT: "--run-name", SEARCH_SCRIPT: "--directory"}.get(self.argv[0])
        return flag if flag and not flag_value(self.argv, flag) else None


def load_plan(path):
    """The jobs of the plan at ``path``, checked: unique safe names, known dependencies, no cycles.

    Raises:
        ValueError: naming the job and the problem.
        FileNotFoundError: the plan does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Campaign plan {str(path)!r} does not exist.")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"Campaign plan {str(path)!r} is not valid JSON: {e}") from e
    jobs = []
    for entry in raw.get("jobs", []):
        name = entry.get("name", "")
        if not name or "/" in name or name.startswith(".") or name != name.strip():
            raise ValueError(f"Campaign job names must be plain file names. Received: {name!r}")
        argv = entry.get("argv")
        if not argv or not isinstance(argv, list):
            raise ValueError(f"Campaign job {name!r} needs a non-empty `argv` list.")
        collect_paths = tuple(str(c) for c in entry.get("collect", ()))
        if any(Path(c).is_absolute() or ".." in Path(c).parts for c in collect_paths):
            raise ValueError(f"Campaign job {name!r}: `collect` paths must lie inside the checkout. "
                             f"Received: {list(collect_paths)}")  # fmt: skip
        job = Job(name, tuple(str(a) for a in argv), tuple(entry.get("after", ())), bool(entry.get("threads", True)),
                  collect_paths, bool(entry.get("keep_checkpoints", False)))  # fmt: skip
        if flag := job.missing_output_flag():
            raise ValueError(f"Campaign job {name!r} runs {argv[0]} without {flag}: add `{flag} <folder>` to its "
                             "argv, so that the driver knows where its outputs are.")  # fmt: skip
        jobs.append(job)
    names = [j.name for j in jobs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Campaign plan {str(path)!r} names these jobs twice: {duplicates}")
    for job in jobs:
        unknown = [d for d in job.after if d not in names]
        if unknown:
            raise ValueError(f"Campaign job {job.name!r} waits for unknown job(s) {unknown}.")
    _check_acyclic(jobs)
    return jobs


def _check_acyclic(jobs):
    after = {j.name: set(j.after) for j in jobs}
    done = set()
    while after:
        ready = [n for n, deps in after.items() if deps <= done]
        if not ready:
            raise ValueError(f"Campaign jobs wait for each other in a cycle: {sorted(after)}")
        for n in ready:
            done.add(n)
            del after[n]


def read_state(campaign_dir):
    path = Path(campaign_dir) / STATE
    return json.loads(path.read_text()) if path.is_file() else {"jobs": {}}


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def job_environment(code_dir, environ=None):
    """A job's environment: ``environ`` (default: this process's) with ``code_dir`` first on ``PYTHONPATH``."""
    environ = os.environ if environ is None else environ
    path = [str(code_dir), *[p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    return {**environ, "PYTHONPATH": os.pathsep.join(path)}


def job_command(job, python, threads):
    command = [python, *job.argv]
    if job.threads and threads is not None:
        command += ["--threads", str(threads)]
    return command


def failure_reason(log_path, tail_bytes=65536, width=300):
    """The last non-empty line a failed job wrote (a traceback ends with the
    exception), cut to ``width`` characters; "" if its log cannot be read.

    Kept in state.json and printed with the failure, so that "failed (exit 1)"
    says why without opening the log: the campaign commit once failed two
    resumed runs on a checkpoint it could not load, and only the log said so.
    """
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - tail_bytes))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1]
    return last if len(last) <= width else last[: width - 3] + "..."


def run_campaign(plan_path, campaign_dir, code_dir, workers=2, threads=1, python=None, retry_failed=False, out=print):
    """Run the plan's unfinished jobs; return ``{job name: status}`` at the end.

    Args:
        plan_path: the plan JSON.
        campaign_dir: where ``state.json`` and ``logs/`` live.
        code_dir: the code checkout every job runs from (its working
            directory and first ``PYTHONPATH`` entry).
        workers: jobs at once. Defaults to 2.
        threads: ``--threads`` for each job; None passes nothing. Defaults to 1.
        python: the interpreter. Defaults to this one.
        retry_failed: rerun jobs that failed before. Defaults to False.
        out: where progress lines go.
    """
    if workers < 1:
        raise ValueError(f"`workers` must be >= 1. Received: workers={workers}")
    jobs = load_plan(plan_path)
    campaign_dir, code_dir = Path(campaign_dir), Path(code_dir).resolve()
    if not (code_dir / "keras_resnet_opt").is_dir():
        raise ValueError(
            f"`code_dir` {str(code_dir)!r} is not a checkout of this project (no keras_resnet_opt/ in it)."
        )
    (campaign_dir / LOGS).mkdir(parents=True, exist_ok=True)
    state = read_state(campaign_dir)
    state.update(driver_pid=os.getpid(), process_group=os.getpgid(0), code_dir=str(code_dir), started=_now())
    write_json(campaign_dir / STATE, state)
    python = python or sys.executable
    env = job_environment(code_dir)
    status = {name: record.get("status") for name, record in state["jobs"].items()}
    if retry_failed:
        status = {n: s for n, s in status.items() if s != FAILED}
    running = {}

    def stop_children(signum, frame):
        for process, _ in running.values():
            process.terminate()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop_children)
    while True:
        try:
            jobs = load_plan(plan_path)
        except (ValueError, FileNotFoundError) as e:  # a plan being edited: keep the last good one
            out(f"[{_now()}] plan not reloaded, keeping the previous one: {e}")
        for name, (process, log) in list(running.items()):
            code = process.poll()
            if code is None:
                continue
            log.close()
            del running[name]
            status[name] = DONE if code == 0 else FAILED
            record = {"status": status[name], "exit_code": code, "finished": _now()}
            reason = "" if code == 0 else failure_reason(campaign_dir / LOGS / f"{name}.log")
            if reason:
                record["error"] = reason
            state["jobs"][name] = record
            write_json(campaign_dir / STATE, state)
            out(f"[{_now()}] {name}: {status[name]} (exit {code})" + (f": {reason}" if reason else ""))
        pending = [j for j in jobs if status.get(j.name) is None and j.name not in running]
        blocked = [j for j in pending if any(status.get(d) == FAILED for d in j.after)]
        ready = [j for j in pending if j not in blocked and all(status.get(d) == DONE for d in j.after)]
        while ready and len(running) < workers:
            job = ready.pop(0)
            log = open(campaign_dir / LOGS / f"{job.name}.log", "a")
            log.write(f"\n=== {_now()} start: {' '.join(job_command(job, 'python', threads))}\n")
            log.flush()
            process = subprocess.Popen(
                job_command(job, python, threads), cwd=code_dir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            running[job.name] = (process, log)
            out(f"[{_now()}] {job.name}: started (pid {process.pid})")
        if not running:
            for job in blocked:
                out(f"[{_now()}] {job.name}: not started, a job it waits for failed")
            return {j.name: status.get(j.name) for j in jobs}
        time.sleep(POLL_S)


def flag_value(argv, name):
    """The value after ``name`` in `argv`, or None."""
    argv = list(argv)
    return argv[argv.index(name) + 1] if name in argv[:-1] else None


def recent_epoch_time(history, recent=RECENT_EPOCHS):
    """A run's pace: the median of its last `recent` epoch times after the first; None before it has one.

    The first epoch compiles (a resumed run's first epoch after the resume
    does too, and the median absorbs it); recent ones because a run that moved
    to another machine goes at that machine's pace. Of an even count, the upper
    median; rows without a time (none that this code writes) are skipped, so
    it may rest on fewer than `recent` epochs. One definition for the status
    table and the campaign's time left, so the two agree.
    """
    times = sorted(row["epoch_time_s"] for row in history[1:][-recent:] if row.get("epoch_time_s"))
    return times[len(times) // 2] if times else None


def _train_progress(job, code_dir, ended):
    """A run's epochs, and unless it has `ended` the hours it has left at its `recent_epoch_time`.

    So that whoever plans a stop can tell which runs finish before it (a
    finished run's folder is committed at the stop; an unfinished one resumes).
    A done or failed run has no time left to estimate.
    """
    run_dir = code_dir / job.output_folder()
    history = run_folder.read_history(run_dir)  # [] before the first epoch
    config = run_dir / run_folder.CONFIG
    planned = json.loads(config.read_text()).get("epochs") if config.is_file() else None
    if not config.is_file():
        return False, "not started"
    if not planned:
        return True, f"epoch {len(history)}"
    text = f"epoch {len(history)}/{planned}"
    pace = recent_epoch_time(history)
    if not ended and pace and len(history) < planned:
        text += f", about {(planned - len(history)) * pace / 3600:.1f} h left at its recent pace"
    return True, text


def _search_progress(job, code_dir, ended):  # searches are not estimated: `ended` is unused
    directory = code_dir / job.output_folder()
    trials = sorted(directory.glob("*/trial_*/trial.json"))
    statuses = [json.loads(t.read_text()).get("status", "") for t in trials]
    completed = sum(s == "COMPLETED" for s in statuses)
    text = f"{completed} trial(s) completed"
    for trial, status in zip(trials, statuses):
        history = trial.parent / "history.csv"
        if status == "RUNNING" and history.is_file():
            epochs = len(history.read_text().splitlines()) - 1
            text += f", trial {trial.parent.name.removeprefix('trial_')} at epoch {epochs}"
    return bool(trials), text


def progress(plan_path, campaign_dir, code_dir):
    """Each job's state as the campaign sees it: ``[(name, status, progress)]`` in plan order.

    Status is "done" or "failed" (state.json), "started" (it has outputs
    but has not ended), or "waiting"; progress reads the job's own outputs (a
    run's epochs, a search's completed trials), so it is right whether or not
    a driver is running now.
    """
    jobs = load_plan(plan_path)
    code_dir = Path(code_dir)
    records = read_state(campaign_dir)["jobs"]
    rows = []
    for job in jobs:
        record = records.get(job.name) or {}
        ended = record.get("status") in (DONE, FAILED)
        reader = {TRAIN_SCRIPT: _train_progress, SEARCH_SCRIPT: _search_progress}.get(job.argv[0])
        started, text = reader(job, code_dir, ended) if reader else (False, "")
        if record.get("status") == FAILED and record.get("error"):
            text += f"; {record['error']}"
        rows.append((job.name, record.get("status") or ("started" if started else "waiting"), text))
    return rows
