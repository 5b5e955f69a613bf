"""What a run ran on: versions, device, memory, and the global TF/Keras settings it needs."""

import platform
import resource
import sys


def versions():
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__}


def device_description():
    """GPU names when the Keras backend sees any, else the CPU model and core count.

    Asks the backend Keras runs on, so the benchmarks' bare paths can also
    describe a machine with JAX or PyTorch but no TensorFlow.
    """
    names = _gpu_names()
    if names:
        return f"{len(names)} x GPU ({', '.join(sorted(set(names)))})"
    return f"CPU ({cpu_model()}, {_cpu_count()} cores)"


def _gpu_names():
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    import tensorflow as tf

    return [
        tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
        for gpu in tf.config.list_physical_devices("GPU")
    ]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_count():
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def peak_memory_mib():
    """Peak resident memory of this process (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def configure_run(seed, precision="float32", deterministic=False):
    """Seed Python, NumPy and TF; set the dtype policy; optionally force op determinism."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(precision)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
