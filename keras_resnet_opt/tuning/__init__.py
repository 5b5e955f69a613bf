"""Hyperparameter search with Keras Tuner: equal budgets per optimizer, resumable, distributable.

- `options`: what a search is asked to do, Keras-free (`SearchOptions`,
  `search_configs`, `TUNERS`), so a command line checks it before TensorFlow loads.
- `spaces`: the search space of each optimizer, centred on its registry default
  (`search_space`, `SearchSpace`).
- `hypermodel`: `ResNetHyperModel`, a trial prepared exactly like a training run
  (``training.prepare.prepare_run``, the tf.data pipeline, the validation split).
- `search`: `run_search`; `definition`: the search-definition check;
  `tuners`: the Keras Tuner tuners and distributed roles; `outputs`: the
  best-hyperparameters JSON for ``scripts/train.py --hparams``, trials table
  and sensitivity plots.
- `plots`: `plot_partial_sensitivity` (validation accuracy against Padam's p).

``python tuning/search.py --help`` is the command line; docs/tuning.md the guide.

The names below are imported on first use, so that importing
``keras_resnet_opt.tuning.options`` does not load TensorFlow or Keras Tuner.
"""

import importlib

_EXPORTS = {
    "OBJECTIVE": "options",
    "SearchOptions": "options",
    "TUNERS": "options",
    "search_configs": "options",
    "ResNetHyperModel": "hypermodel",
    "SearchData": "hypermodel",
    "load_search_data": "hypermodel",
    "SearchDefinitionChanged": "definition",
    "SearchResult": "search",
    "run_search": "search",
    "LR_SPAN": "spaces",
    "PARTIAL_GRID": "spaces",
    "SearchSpace": "spaces",
    "search_space": "spaces",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f"keras_resnet_opt.tuning.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
