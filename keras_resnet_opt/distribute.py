"""tf.distribute strategies by name, so every entry point scales the same way.

``default`` is the single-device strategy; ``mirrored`` replicates over the
local GPUs (or logical CPU devices); ``multiworker`` reads the standard
``TF_CONFIG`` and all-reduces across hosts. The configured batch size is
always the global batch: each replica gets ``batch_size / replicas``, so the
optimizer sees exactly the gradients a single device would and no learning
rate rescaling is needed. If you change the global batch (``--batch-size``),
the learning rate stays as it was unless you ask: ``--lr-scaling linear``
multiplies it by batch / preset batch, or pass ``--lr`` yourself. Nothing
rescales it silently; the manifest records the rate used.

Multi-worker runs: start the same command on every host with its own
``TF_CONFIG`` and its own ``--output-dir``/``--saved-models-dir`` (the
worker with index 0 holds the canonical run directory; the others write
identical copies, since every worker ends with the same weights).

Keras 3.15's ``fit``/``evaluate`` do not run under MultiWorkerMirroredStrategy
as shipped (keras-team/keras#20585); `enable_multiworker_fit` fixes the two
places that break, and ``make_strategy("multiworker")`` turns it on.
"""

import os
import warnings

from keras_resnet_opt.config import check_strategy


def make_strategy(name="default"):
    """The tf.distribute strategy named ``name`` (one of `config.STRATEGIES`)."""
    check_strategy(name)
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
    # "multiworker"
    if "TF_CONFIG" not in os.environ:
        raise ValueError(
            "--strategy multiworker needs the TF_CONFIG environment variable "
            '(e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}).'
        )
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    enable_multiworker_fit()
    return strategy


TESTED_KERAS = "3.15."  # the Keras series enable_multiworker_fit was checked against


def _is_multiworker(strategy):
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def enable_multiworker_fit():
    """Make Keras 3.15's TensorFlow trainer work under MultiWorkerMirroredStrategy.

    Two things in ``keras.src.backend.tensorflow.trainer`` fail there
    (keras-team/keras#20585), both outside the training step itself:

    1. Before the first epoch, ``fit`` builds the model from one input batch,
       which it first averages across replicas with an eager ``strategy.reduce``;
       the collective implementation rejects that eager per-replica batch. Only
       the batch's shapes and dtypes matter for building, so this replica's own
       part of the batch is used instead.
    2. After each step the per-replica metric results (scalars) are averaged
       with ``strategy.reduce("MEAN", v, axis=0)``, and a scalar has no axis 0.
       Scalars are averaged across replicas with ``axis=None`` instead, which is
       what MirroredStrategy's path computes; everything else is left alone.

    Both replacements act only when the model's strategy is a
    MultiWorkerMirroredStrategy and defer to Keras otherwise, so installing
    them is harmless for every other run. Gradients, variables and the
    optimizer step are untouched: the all-reduce is Keras's and TensorFlow's
    own. ``tests/test_distributed.py`` runs two local workers and checks they
    end with identical weights. Remove this when an upgrade fixes the issue
    (the test then still passes without it).
    """
    import keras
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    if not keras.__version__.startswith(TESTED_KERAS):
        warnings.warn(
            f"keras_resnet_opt's multi-worker fix was written and tested for Keras {TESTED_KERAS}x; this is "
            f"Keras {keras.__version__}. If keras-team/keras#20585 is fixed there, enable_multiworker_fit can go.",
            stacklevel=2,
        )

    cls = tf_trainer.TensorFlowTrainer
    if getattr(cls, "_keras_resnet_opt_multiworker", False):
        return
    for name in ("_maybe_symbolic_build", "_symbolic_build"):
        if not hasattr(cls, name):
            raise RuntimeError(
                f"This Keras version has no TensorFlowTrainer.{name}, which the multi-worker fix in "
                "keras_resnet_opt/distribute.py replaces; check whether keras-team/keras#20585 is fixed "
                "and update or remove enable_multiworker_fit."
            )
    if not hasattr(tf_trainer, "reduce_per_replica"):
        raise RuntimeError(
            "This Keras version has no keras.src.backend.tensorflow.trainer.reduce_per_replica, which the "
            "multi-worker fix in keras_resnet_opt/distribute.py replaces; update or remove enable_multiworker_fit."
        )
    import tensorflow as tf

    keras_build = cls._maybe_symbolic_build
    keras_reduce = tf_trainer.reduce_per_replica

    def first_local(strategy, value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is None or not _is_multiworker(self._distribute_strategy):
            return keras_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = tree.map_structure(lambda v: first_local(self.distribute_strategy, v), next(batches))
            break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not _is_multiworker(strategy):
            return keras_reduce(values, strategy, reduction)

        def reduce(value):
            if tf.is_tensor(value) or isinstance(value, tf.distribute.DistributedValues):
                scalar = first_local(strategy, value).shape.rank == 0
                return strategy.reduce("MEAN", value, axis=None if scalar else 0)
            return value

        return tree.map_structure(reduce, values)

    cls._maybe_symbolic_build = maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    cls._keras_resnet_opt_multiworker = True
