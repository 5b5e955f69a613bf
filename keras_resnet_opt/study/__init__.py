"""Comparing optimizers from finished training runs: tables, figures, report.

Reads a study directory written by the training code (``runs/<run>/`` with
``config.json``, ``history.csv`` and, once ended, ``manifest.json``) and turns
it into a summary over seeds with 95% t-intervals, the Padam paper's figures,
and a Markdown report with claim-by-claim verdicts. Pure pandas, SciPy and
matplotlib: nothing here imports TensorFlow or Keras.

- `runs`: reading run directories; the variant and workload grouping rules.
- `aggregate`: per-run measures, the summary table, per-epoch curves, exports.
- `plots`: the figures.
- `published`: published CIFAR-10 numbers with their sources.
- `report`: `write_report(study_dir)`.

The names below are imported on first use, so that importing a sibling such
as ``keras_resnet_opt.study.grid`` does not load pandas, SciPy or matplotlib.
"""

import importlib

_EXPORTS = {
    "RunRecord": "runs",
    "Study": "runs",
    "load_run": "runs",
    "load_study": "runs",
    "variant_of": "runs",
    "workload_of": "runs",
    "epoch_curves": "aggregate",
    "export_summary": "aggregate",
    "mean_ci": "aggregate",
    "performance_profile": "aggregate",
    "summarize": "aggregate",
    "check_claims": "report",
    "write_report": "report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f"keras_resnet_opt.study.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
