"""Pieces every command line shares: quiet TF logs, readable errors."""

import os
import sys


def quiet_tensorflow():
    """Hide TensorFlow's C++ start-up chatter unless the user asked for it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def fail(message, code=2):
    """Print an error the user can act on and exit (no traceback for bad input)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)
