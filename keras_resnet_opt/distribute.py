"""tf.distribute strategies by name, so every entry point scales the same way.

``default`` is the single-device strategy; ``mirrored`` replicates over the
local GPUs (or logical CPU devices); ``multiworker`` reads the standard
``TF_CONFIG`` and all-reduces across hosts. The configured batch size is
always the global batch: each replica gets ``batch_size / replicas``, so the
optimizer sees exactly the gradients a single device would and no learning
rate rescaling is needed. If you change the global batch yourself, scale the
learning rate explicitly with ``--lr`` (the linear-scaling rule, lr x new/old,
is the usual choice); nothing here rescales it silently.

Multi-worker runs: start the same command on every host with its own
``TF_CONFIG`` and its own ``--output-dir``/``--saved-models-dir`` (the
worker with index 0 holds the canonical run directory; the others write
identical copies, since every worker ends with the same weights).
"""

import os


def make_strategy(name="default"):
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if not tf.config.list_logical_devices("GPU"):
            # Without GPUs MirroredStrategy would use CPU:0 only; replicate over every
            # logical CPU device instead (tests configure two of them).
            cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
            return tf.distribute.MirroredStrategy(devices=cpus)
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "--strategy multiworker needs the TF_CONFIG environment variable "
                '(e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}).'
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"Unknown strategy {name!r}. Valid strategies: default, mirrored, multiworker")

