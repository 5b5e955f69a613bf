"""Run folders for the study's tests, written the way the trainer writes them.

The study reads what `keras_resnet_opt.training` writes; writing the test
folders with the trainer's own writers (``write_history``, ``write_json``)
and file names keeps the tests on that contract rather than on a copy of it.
"""

from pathlib import Path

import pandas as pd

from keras_resnet_opt.atomic import write_json
from keras_resnet_opt.training.run_folder import CONFIG, MANIFEST, write_history, write_test_predictions


def write_run_dir(run_dir, config, history, manifest=None, predictions=None, labels=None):
    """Write a run folder in the trainer's layout; returns it.

    Args:
        run_dir: the folder (created if needed).
        config: the run config, a flat dict (``config.json``).
        history: a DataFrame or a list of row dicts, one per epoch, in the
            trainer's columns (``history.json`` and ``history.csv``).
        manifest: ``manifest.json``; None leaves the run unfinished.
        predictions, labels: class per test image, saved as the trainer's
            ``.npy`` files when both are given.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / CONFIG, config)
    write_history(run_dir, pd.DataFrame(history).to_dict("records"))
    if manifest is not None:
        write_json(run_dir / MANIFEST, manifest)
    if predictions is not None and labels is not None:
        write_test_predictions(run_dir, predictions, labels)
    return run_dir
