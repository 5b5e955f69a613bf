"""What a run ran on: versions, device, memory, and the global TF/Keras settings it needs."""

import os
import platform
import re
import resource
import subprocess
import sys
from pathlib import Path

# The number of TensorFlow threads a process uses (intra- and inter-op), read
# by `set_threads`' callers from the command line; recorded in every manifest.
THREADS_ENV = "KERAS_RESNET_OPT_THREADS"


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


# The vector and matrix extensions that decide which CPU kernels TensorFlow
# runs, most capable first: x86 `flags`, then ARM `Features` in /proc/cpuinfo.
VECTOR_ISAS = ("amx_tile", "avx512_bf16", "avx512_vnni", "avx512f", "avx_vnni", "avx2", "avx",
               "sme", "sve2", "sve", "asimd")
# A device string's CPU details as `cpu_model` writes them: " [family 25 model 1, AVX2]".
CPU_DETAILS = re.compile(r" \[[^\]]*\]")


def cpu_model(cpuinfo="/proc/cpuinfo"):
    """The CPU's name, with its family and model numbers and its most capable vector ISA where Linux says them.

    A virtual machine's name can be as bare as "AMD EPYC" for chips a
    generation apart, one with AVX-512 and one without, which run this
    project's convolutions at different speeds and with different kernels
    (`onednn_enabled`); the numbers and the ISA tell such machines apart in
    a run's manifest. ARM's cpuinfo names no model: its implementer and part
    numbers and its `Features` say the same there. Runs written before this
    (commit 4f98e4a among them) record the bare name alone.
    """
    fields = {}
    try:
        with open(cpuinfo) as f:
            for line in f:
                if not line.strip() and fields:
                    break  # the first processor's block says it for all
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    details = []
    if "cpu family" in fields and "model" in fields:
        details.append(f"family {fields['cpu family']} model {fields['model']}")
    elif "CPU implementer" in fields and "CPU part" in fields:
        details.append(f"implementer {fields['CPU implementer']} part {fields['CPU part']}")
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    isa = next((isa for isa in VECTOR_ISAS if isa in flags), None)
    if isa:
        details.append(isa.upper())
    return f"{name} [{', '.join(details)}]" if details else name


def _cpu_count():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def onednn_enabled():
    """Whether TensorFlow's oneDNN CPU kernels are on in this process (None when it cannot tell).

    TensorFlow turns them on by itself only on x86 CPUs with AVX512_VNNI,
    AVX512_BF16, AVX_VNNI or AMX; on others, an AVX2-only AMD EPYC here
    among them, ``TF_ENABLE_ONEDNN_OPTS=1`` turns them on. They change
    the speed (benchmarks/README.md, "Campaign throughput") and the float
    rounding, and without them TensorFlow's CPU convolutions train
    channels-last only; so every run records which kernels computed it. Read
    through a private TensorFlow module, hence the None.
    """
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return None


def peak_memory_mib():
    """Peak resident memory of this process (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def installed_packages():
    """Every distribution installed in this environment, ``{name: version}``, sorted by name.

    The manifest keeps the whole list, not only TensorFlow and Keras: a
    changed NumPy, oneDNN-carrying wheel or TFDS can change a run's numbers
    too, and a run should say exactly what produced it.
    """
    from importlib import metadata

    packages = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            packages[name] = dist.version
    return dict(sorted(packages.items(), key=lambda item: item[0].lower()))


def accelerator_peak_memory_mib():
    """Peak memory TensorFlow allocated on each GPU since the process started, ``{"GPU:0": MiB}``.

    ``None`` on a machine without a GPU (the manifest's ``peak_memory_mib``
    then is the whole story), or when TensorFlow cannot tell.
    """
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if not gpus:
        return None
    peaks = {}
    for gpu in gpus:
        name = gpu.name.split("device:")[-1]
        try:
            peaks[name] = tf.config.experimental.get_memory_info(name)["peak"] / 2**20
        except (ValueError, RuntimeError):
            return None
    return peaks


def set_threads(threads):
    """Use ``threads`` TensorFlow threads (intra- and inter-op); None leaves TF's default.

    Must run before TensorFlow executes its first op (the CLIs call it right
    after parsing). Two concurrent runs with one thread each make better use
    of a 2-core machine than one run with two (benchmarks/README.md, campaign
    throughput), which is how the long studies are run.
    """
    if threads is None:
        return
    if threads < 1:
        raise ValueError(f"`threads` must be >= 1. Received: threads={threads}")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    os.environ[THREADS_ENV] = str(threads)


def threads_used():
    """``{"intra_op": n, "inter_op": n}`` as TensorFlow reports them (0 = TF's default: all cores)."""
    import tensorflow as tf

    return {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def code_version():
    """The git commit of the code that runs, and whether its tree had uncommitted changes.

    Read from the package's own checkout (not the working directory), so a
    study run from a separate worktree at a fixed commit records that commit.
    ``{"commit": None, ...}`` when the package is not in a git checkout.
    """
    root = Path(__file__).resolve().parent.parent

    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None, "path": str(root)}
        status = git("status", "--porcelain", "--untracked-files=no", "--", "keras_resnet_opt", "scripts", "tuning")
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "path": str(root)}
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip()), "path": str(root)}


def configure_run(seed, precision="float32", deterministic=False):
    """Seed Python, NumPy and TF; set the dtype policy; optionally force op determinism."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(precision)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
