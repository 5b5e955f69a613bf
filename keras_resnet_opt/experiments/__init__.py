"""Experiments: one-off checks that train through the same `training.prepare.prepare_run` as a run.

- `lr_decay_check`: per-batch train loss around a step decay, for the two
  forms of SGD-momentum (``scripts/lr_decay_check.py``).
"""
