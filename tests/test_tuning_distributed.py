"""Distributed tuning: a chief oracle and two workers as local processes on 127.0.0.1.

The commands are the ones docs/tuning.md gives, with a tiny model and
synthetic data. Every process is bounded by a timeout and killed in `finally`.
"""

import json
import os
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import REPO, free_port

TRIALS = 4
CHIEF_TIMEOUT_S = 420  # 4 trials over 2 workers take about a minute on 2 busy cores
WORKER_GRACE_S = 60


@pytest.mark.slow
def test_chief_and_two_workers_share_the_trials(tmp_path):
    from keras_resnet_opt.data.synthetic import write_synthetic_cifar10

    data_dir = write_synthetic_cifar10(tmp_path / "cifar-10-batches-bin")
    directory = tmp_path / "runs"
    command = [
        sys.executable, str(REPO / "tuning" / "search.py"),
        "--optimizer", "adam", "--tuner", "random", "--max-trials", str(TRIALS), "--epochs", "1",
        "--preset", "smoke", "--data-dir", str(data_dir), "--directory", str(directory), "--quiet",
    ]
    port = str(free_port())
    logs, procs = {}, {}
    try:
        for tuner_id in ("chief", "tuner0", "tuner1"):
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERASTUNER_TUNER_ID=tuner_id,
                       KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=port)
            logs[tuner_id] = open(tmp_path / f"{tuner_id}.log", "w+")
            procs[tuner_id] = subprocess.Popen(command, env=env, cwd=REPO, stdout=logs[tuner_id],
                                               stderr=subprocess.STDOUT)
        chief_rc = procs["chief"].wait(timeout=CHIEF_TIMEOUT_S)
        deadline = time.monotonic() + WORKER_GRACE_S
        worker_rcs = [procs[w].wait(timeout=max(1, deadline - time.monotonic())) for w in ("tuner0", "tuner1")]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        output = {}
        for tuner_id, log in logs.items():
            log.seek(0)
            output[tuner_id] = log.read()
            log.close()

    assert chief_rc == 0, output["chief"][-3000:]
    assert worker_rcs == [0, 0], output["tuner0"][-2000:] + output["tuner1"][-2000:]
    assert "the chief writes the results" in output["tuner0"]

    table = pd.read_csv(directory / "trials.csv", dtype={"trial_id": str})
    assert len(table) == TRIALS and set(table["status"]) == {"completed"}
    assert set(table["tuner_id"]) == {"tuner0", "tuner1"}, table  # the chief serves, the workers train
    assert table["learning_rate"].nunique() == TRIALS
    best = json.loads((directory / "best_hparams.json").read_text())
    assert best["searches"]["adam"]["completed"] == TRIALS
    assert best["best"]["adam"]["learning_rate"] == table.loc[table["val_accuracy"].idxmax(), "learning_rate"]
