"""Per-epoch history: the columns every run records, written atomically as CSV and JSON."""

import json
import math
from pathlib import Path

import pandas as pd

from keras_resnet_opt.atomic import atomic_path, write_json

# The contract with keras_resnet_opt.study: one row per completed epoch.
COLUMNS = (
    "epoch",  # 1-based
    "loss",  # training loss (with augmentation), mean over the epoch
    "accuracy",
    "val_loss",  # NaN when the run has no validation split
    "val_accuracy",
    "test_loss",
    "test_accuracy",
    "test_error",  # 1 - test_accuracy
    "learning_rate",  # at the start of the epoch
    "epoch_time_s",  # wall time including evaluation
    "test_eval_time_s",  # of which: the test-set evaluation
    "train_time_s",  # training steps only
    "images_per_sec",  # training images / train_time_s
    "step_time_ms",  # train_time_s / steps
)

HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"


def read_history(run_dir):
    """Rows already recorded in ``run_dir`` (empty list when none)."""
    path = Path(run_dir) / HISTORY_JSON
    if not path.is_file():
        return []
    return json.loads(path.read_text())


def write_history(run_dir, rows):
    """Write both files atomically; JSON is the one resume reads."""
    run_dir = Path(run_dir)
    clean = [{k: _finite_or_none(row.get(k)) for k in COLUMNS} for row in rows]
    for row in clean:
        row["epoch"] = int(row["epoch"])
    frame = pd.DataFrame(clean, columns=list(COLUMNS))
    with atomic_path(run_dir / HISTORY_CSV) as tmp:
        frame.to_csv(tmp, index=False)
    write_json(run_dir / HISTORY_JSON, clean)


def _finite_or_none(value):
    """JSON has no NaN: missing metrics become null; inf/NaN losses are kept as strings."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return value
