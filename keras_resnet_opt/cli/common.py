"""Pieces every command line shares: quiet TF start-up, checked numbers, readable errors.

A user reads what these commands print, often in a log file: so errors and
warnings are one line each (no traceback for bad input or for a run that
stopped on purpose), progress is one line per epoch when stdout is not a
terminal, and TensorFlow's start-up chatter (oneDNN, CPU features, the CUDA
probe that fails on every CPU-only machine) is dropped while anything else
it prints is kept.
"""

import argparse
import math
import os
import re
import sys
import tempfile
import warnings

# Lines TensorFlow writes to stderr while it loads and probes devices, none of
# which asks anything of the user: absl's notice before its log is set up, INFO
# and WARNING lines of the C++ log, the CPU-feature note's continuation, and the
# CUDA probe's error on machines without a GPU.
_START_UP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} \d\d:\d\d:\d\d"
    r"|To enable the following instructions:"
    r"|E\d{4} .*failed call to cuInit"
    r"|E\d{4} .*Unable to register cu(DNN|FFT|BLAS) factory)"
)


def quiet_tensorflow():
    """Hide TensorFlow's C++ INFO and WARNING logs unless the user set a level."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_tensorflow_quietly():
    """Import TensorFlow and Keras and list the devices, dropping the start-up noise.

    Some of it is printed before TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL``, so
    the stderr file descriptor is captured meanwhile and what is not noise is
    written back. A user who asks for logs (``TF_CPP_MIN_LOG_LEVEL`` 0 or 1)
    sees everything; a failure shows everything that was captured.
    """
    quiet_tensorflow()
    if "tensorflow" in sys.modules or os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("0", "1"):
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        failed = True
        try:
            import keras  # noqa: F401
            import tensorflow as tf

            tf.config.list_physical_devices()
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines()
            kept = lines if failed else [line for line in lines if not _START_UP_NOISE.match(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr)


def show_warnings_as_lines():
    """Print warnings as ``warning: <message>`` (no file name, line or source)."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {message}", file=file or sys.stderr)

    warnings.showwarning = show


def progress_verbosity(quiet):
    """``model.fit``'s verbose: 0 when quiet, the progress bar on a terminal, else
    one line per epoch (a bar in a log file is ANSI escapes and a line per step)."""
    if quiet:
        return 0
    return 1 if sys.stdout.isatty() else 2


def fail(message, code=2):
    """Print an error the user can act on and exit (no traceback for bad input)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _number(kind, text):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None


def positive_int(text):
    """argparse type: an integer >= 1."""
    value = _number(int, text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def nonnegative_int(text):
    """argparse type: an integer >= 0."""
    value = _number(int, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def positive_float(text):
    """argparse type: a finite number > 0 (``inf`` and ``nan`` are refused)."""
    value = _number(float, text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def nonnegative_float(text):
    """argparse type: a finite number >= 0."""
    value = _number(float, text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value
