"""Run folders for the study's tests, written the way the trainer writes them.

The study reads what `keras_resnet_opt.training` writes; writing the test
folders with the trainer's own writers (``write_history``, ``write_json``)
and file names keeps the tests on that contract rather than on a copy of it.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from keras_resnet_opt.atomic import atomic_path, write_json
from keras_resnet_opt.training.history import write_history
from keras_resnet_opt.training.runner import CONFIG, MANIFEST, TEST_LABELS, TEST_PREDICTIONS


def _write_array(path, values):
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(values, dtype=np.uint8))


def write_run_dir(run_dir, config, history, manifest=None, predictions=None, labels=None):
    """Write a run folder in the trainer's layout; returns it.

    Args:
        run_dir: the folder (created if needed).
        config: the run config, a flat dict (``config.json``).
        history: a DataFrame or a list of row dicts, one per epoch, in the
            trainer's columns (``history.json`` and ``history.csv``).
        manifest: ``manifest.json``; None leaves the run unfinished.
        predictions, labels: class per test image, saved as the trainer's
            ``.npy`` files when given.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / CONFIG, config)
    write_history(run_dir, pd.DataFrame(history).to_dict("records"))
    if manifest is not None:
        write_json(run_dir / MANIFEST, manifest)
    if predictions is not None:
        _write_array(run_dir / TEST_PREDICTIONS, predictions)
    if labels is not None:
        _write_array(run_dir / TEST_LABELS, labels)
    return run_dir
