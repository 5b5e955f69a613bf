"""Hyperparameter search with Keras Tuner: equal budgets per optimizer, resumable, distributable.

- `spaces`: the search space of each optimizer, centred on its registry default
  (`search_space`, `SearchSpace`).
- `hypermodel`: `ResNetHyperModel`, a trial built exactly like a training run
  (``training.runner``'s builders, the tf.data pipeline, the validation split).
- `search`: `run_search`, the tuner factory, the search-definition check, and
  the outputs (best-hyperparameters JSON for ``scripts/train.py --hparams``,
  trials table, sensitivity plots).
- `plots`: `plot_partial_sensitivity` (validation accuracy against Padam's p).

``python tuning/search.py --help`` is the command line; docs/tuning.md the guide.
"""

from keras_resnet_opt.tuning.hypermodel import OBJECTIVE, ResNetHyperModel, SearchData, load_search_data
from keras_resnet_opt.tuning.search import TUNERS, SearchDefinitionChanged, SearchResult, run_search
from keras_resnet_opt.tuning.spaces import LR_SPAN, PARTIAL_GRID, SearchSpace, search_space

__all__ = [
    "LR_SPAN",
    "OBJECTIVE",
    "PARTIAL_GRID",
    "ResNetHyperModel",
    "SearchData",
    "SearchDefinitionChanged",
    "SearchResult",
    "SearchSpace",
    "TUNERS",
    "load_search_data",
    "run_search",
    "search_space",
]
