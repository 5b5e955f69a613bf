"""Distributed tuning, both kinds: Keras Tuner's chief and workers, and --strategy.

Keras Tuner's mode: a chief oracle and two workers as local processes on
127.0.0.1, with the commands docs/tuning.md gives. ``--strategy mirrored``: a
search whose trial trains over 2 logical CPU devices, in a subprocess (the
devices must be configured before TensorFlow starts). Both use a tiny model
and synthetic data; every process is bounded by a timeout and killed in
`finally`.
"""

import json
import os
import subprocess
import sys
import textwrap
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


_MIRRORED_SEARCH = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from keras_resnet_opt.tuning.hypermodel import ResNetHyperModel
    from keras_resnet_opt.tuning.options import SearchOptions, search_configs
    from keras_resnet_opt.tuning.search import run_search
    fitted = []
    real_fit = ResNetHyperModel.fit
    def recording_fit(self, hp, model, *args, **kwargs):
        norms = [layer for layer in model.layers if "BatchNormalization" in type(layer).__name__]
        fitted.append({"replicas": int(model.distribute_strategy.num_replicas_in_sync),
                       "synchronized_bn": bool(norms) and all(layer.synchronized for layer in norms)})
        return real_fit(self, hp, model, *args, **kwargs)
    ResNetHyperModel.fit = recording_fit
    result = run_search(search_configs("adam", "smoke", epochs=1, strategy="mirrored", data_dir=sys.argv[1]),
                        SearchOptions(max_trials=1, directory=sys.argv[2]))
    record = json.loads(result.output.read_text())["searches"]["adam"]
    print(json.dumps({"fitted": fitted, "failed": result.failed, "record_strategy": record["strategy"],
                      "trials": result.trials.to_dict("records")}))
    """
)


@pytest.mark.slow
def test_mirrored_strategy_trains_each_trial_over_two_devices(tmp_path, synthetic_dir):
    out = subprocess.run(
        [sys.executable, "-c", _MIRRORED_SEARCH, str(synthetic_dir), str(tmp_path / "runs")],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_RESNET_OPT_CACHE": str(tmp_path / "cache")},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["failed"] == {}
    assert result["fitted"] == [{"replicas": 2, "synchronized_bn": True}]  # the model the trial trained
    (trial,) = result["trials"]
    assert trial["status"] == "completed" and 0 <= trial["val_accuracy"] <= 1
    assert trial["replicas"] == 2  # what trials.csv reports, read from the trained model
    assert result["record_strategy"] == "mirrored"
    # The strategy does not define the search: the same search resumes on one device.
    definition = json.loads((tmp_path / "runs" / "adam" / "search_definition.json").read_text())
    assert "strategy" not in definition["run"]
