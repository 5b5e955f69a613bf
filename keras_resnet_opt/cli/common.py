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
import textwrap
import warnings

# What every command's exit status means; each command's --help lists the
# ones it uses (`exit_codes_epilog`), and the README's "Exit codes" table
# says the same. argparse exits with 2 for a bad flag, so bad input is 2 here
# too, whichever layer finds it.
EXIT_OK = 0
EXIT_ERROR = 1  # the work did not complete: a stopped run, failed jobs, an unexpected error
EXIT_BAD_INPUT = 2  # a flag, file or setting that cannot work: one `error:` line, nothing done
EXIT_DIVERGED = 3  # a training run stopped on a NaN/inf loss (its history up to there is kept)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` that shows every option's default and keeps the epilog's lines.

    An option whose help does not already say its default gets
    ``(default: VALUE)``; an option without a value (a flag) or whose default
    is None must say in its own words what happens when it is not given.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        unshown = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "default" in text or not action.option_strings or unshown:
            return text
        return f"{text} (default: %(default)s)"


# What 0 and 2 mean for every command; a command adds the codes it also uses.
_COMMON_EXIT_MEANINGS = {
    EXIT_OK: "success",
    EXIT_BAD_INPUT: "bad input (a flag, file or setting that cannot work): one `error:` line, nothing done",
}


def exit_codes_epilog(meanings):
    """The "exit codes" part of a command's ``--help``.

    Args:
        meanings: ``{code: what it means for this command}`` for the codes
            it uses besides 0 and 2 (which it may also reword).
    """
    meanings = {**_COMMON_EXIT_MEANINGS, **meanings}
    lines = [
        textwrap.fill(
            meanings[code], width=79, initial_indent=f"  {code}  ", subsequent_indent=" " * (4 + len(str(code)))
        )
        for code in sorted(meanings)
    ]
    return "exit codes:\n" + "\n".join(lines)


def make_parser(description, exit_codes, **kwargs):
    """An `argparse.ArgumentParser` with this project's conventions: defaults shown, exit codes in the epilog."""
    return argparse.ArgumentParser(
        description=description, epilog=exit_codes_epilog(exit_codes), formatter_class=HelpFormatter, **kwargs
    )

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


def add_data_dir(parser):
    """``--data-dir``, the same for every command that reads CIFAR-10 (the variable is
    `keras_resnet_opt.data.loader.DATA_DIR_ENV`, not imported here to keep ``--help`` light)."""
    parser.add_argument("--data-dir", help="local CIFAR-10 copy (default: $KERAS_RESNET_OPT_DATA_DIR, else TFDS)")


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


def fail(message, code=EXIT_BAD_INPUT):
    """Print an error the user can act on and exit (no traceback for bad input)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _number(kind, text):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
        ) from None


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
