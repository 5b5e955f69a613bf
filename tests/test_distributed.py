"""tf.distribute: a mirrored run over two logical CPUs equals a single-device run on the
same global batch, and two local workers under MultiWorkerMirroredStrategy end identical."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import REPO, free_port

pytestmark = pytest.mark.slow

_MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np, keras
    from keras_resnet_opt.config import make_config
    from keras_resnet_opt.training.runner import train
    data_dir, out = sys.argv[1], sys.argv[2]
    results = {}
    for strategy in ("default", "mirrored"):
        config = make_config("smoke", optimizer="padam", data_dir=data_dir, strategy=strategy, epochs=1,
                             run_name=strategy, deterministic=True)
        result = train(config, out + "/runs", out + "/saved")
        model = keras.saving.load_model(result.run_dir / "model.keras")
        np.savez(out + f"/{strategy}.npz", *model.get_weights())
        results[strategy] = {"replicas": result.manifest["replicas"], "history": result.history}
    print(json.dumps(results))
    """
)


def test_mirrored_equals_single_device(tmp_path, synthetic_dir):
    out = subprocess.run(
        [sys.executable, "-c", _MIRRORED_SCRIPT, str(synthetic_dir), str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_RESNET_OPT_CACHE": str(tmp_path / "cache")},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(out.stdout.strip().splitlines()[-1])
    assert results["default"]["replicas"] == 1 and results["mirrored"]["replicas"] == 2
    single, mirrored = results["default"]["history"][0], results["mirrored"]["history"][0]
    for key in ("loss", "test_loss", "test_accuracy"):
        assert mirrored[key] == pytest.approx(single[key], rel=1e-4, abs=1e-5), key
    a = np.load(tmp_path / "default.npz")
    b = np.load(tmp_path / "mirrored.npz")
    # Two half-batch gradients summed by the all-reduce round differently from one
    # full-batch sum; Padam's small denominators ((s + eps)^(1/4) can be ~1e-2)
    # amplify that float noise a little over 4 steps, hence atol 1e-4 on weights of ~0.1.
    for key in a.files:
        np.testing.assert_allclose(b[key], a[key], rtol=1e-3, atol=1e-4, err_msg=key)


def _train_args(out_dir, saved_dir, data_dir, strategy):
    return [sys.executable, str(REPO / "scripts" / "train.py"), "--preset", "smoke", "--optimizer", "padam",
            "--epochs", "1", "--strategy", strategy, "--deterministic", "--data-dir", str(data_dir), "--quiet",
            "--output-dir", str(out_dir), "--saved-models-dir", str(saved_dir)]


def test_two_local_workers_end_with_identical_weights(tmp_path, synthetic_dir):
    """Two MultiWorkerMirroredStrategy workers on 127.0.0.1 end bit-identical, and equal
    (within float tolerance) to a single-device run on the same global batch."""
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    base_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    launches = [
        (_train_args(tmp_path / f"w{index}", tmp_path / f"s{index}", synthetic_dir, "multiworker"),
         {**base_env, "KERAS_RESNET_OPT_CACHE": str(tmp_path / f"cache{index}"),
          "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})})
        for index in range(2)
    ]
    launches.append((_train_args(tmp_path / "single", tmp_path / "s-single", synthetic_dir, "default"),
                     {**base_env, "KERAS_RESNET_OPT_CACHE": str(tmp_path / "cache-single")}))
    procs = []
    try:
        for args, env in launches:
            procs.append(
                subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
            )
        outputs = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    import keras

    import keras_resnet_opt.models  # noqa: F401  (registers ZeroPadShortcut for loading)
    import keras_resnet_opt.optimizers  # noqa: F401

    run_dirs = [tmp_path / d / "smoke-resnet8-padam-s0" for d in ("w0", "w1", "single")]
    weights = [keras.saving.load_model(d / "model.keras").get_weights() for d in run_dirs]
    manifests = [json.loads((d / "manifest.json").read_text()) for d in run_dirs]
    assert [m["replicas"] for m in manifests] == [2, 2, 1]
    for a, b in zip(weights[0], weights[1]):
        np.testing.assert_array_equal(a, b)
    # Same tolerance, and for the same reason, as the mirrored test above.
    for a, b in zip(weights[0], weights[2]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    for key in ("train_loss", "test_loss", "test_accuracy"):
        assert manifests[0]["final"][key] == pytest.approx(manifests[2]["final"][key], rel=1e-4, abs=1e-5), key


_FIX_BRANCHES_SCRIPT = textwrap.dedent(
    """
    import json
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np, keras
    from keras_resnet_opt import distribute

    distribute.enable_multiworker_fit()
    strategy = tf.distribute.MirroredStrategy(devices=[d.name for d in tf.config.list_logical_devices("CPU")])
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (np.arange(64) % 3).astype("int64")

    def run(route_through_fix):
        # A worker with several local devices hands the fix PerReplica values; a
        # 2-device MirroredStrategy does the same, so route it through the fix's branches.
        distribute._is_multiworker = lambda s: route_through_fix
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = keras.Sequential(
                [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)]
            )
            model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
        # The per-step results the fix reduces reach callbacks as batch logs (the
        # epoch history reads the metric variables instead), so record those too.
        batch_logs = []
        record = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: batch_logs.append([float(logs["loss"]), float(logs["accuracy"])]))
        history = model.fit(data, epochs=2, verbose=0, callbacks=[record]).history
        evaluation = model.evaluate(data, verbose=0, return_dict=True)
        return {"history": history, "batch_logs": batch_logs, "evaluation": evaluation,
                "weights": [w.tolist() for w in model.get_weights()]}

    print(json.dumps({"keras": run(False), "fix": run(True)}))
    """
)


def test_multiworker_fix_matches_keras_on_per_replica_values(tmp_path):
    """The fix's branches for several local devices (PerReplica batches and metrics)
    give what Keras' own MirroredStrategy path gives."""
    out = subprocess.run(
        [sys.executable, "-c", _FIX_BRANCHES_SCRIPT], capture_output=True, text=True, cwd=REPO, timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(out.stdout.strip().splitlines()[-1])
    keras_path, fix = results["keras"], results["fix"]
    for key in ("loss", "accuracy"):
        assert fix["history"][key] == pytest.approx(keras_path["history"][key], rel=1e-6), key
    assert len(fix["batch_logs"]) == 8
    np.testing.assert_allclose(fix["batch_logs"], keras_path["batch_logs"], rtol=1e-6)
    assert fix["evaluation"] == pytest.approx(keras_path["evaluation"], rel=1e-6)
    for a, b in zip(fix["weights"], keras_path["weights"]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
