"""Comparing optimizers from finished training runs: tables, figures, paired tests, verdicts.

Reads a study directory written by the training code (``runs/<run>/`` with
``config.json``, ``history.json``, ``manifest.json`` and, for runs that saved
them, the final test predictions) and the study's declarations in
``study.json``, and turns them into a descriptive table over seeds, the Padam
paper's figures, paired contrasts and claim-by-claim verdicts decided as a
referee would. Pure pandas, SciPy and matplotlib: nothing here imports Keras,
and only the grid asks TensorFlow for the GPUs (see `grid.visible_gpus`).

- `layout`: the names of a study directory's parts.
- `runs`: reading run directories; the variant and workload grouping rules
  and the order of variants and seeds.
- `measures`: the per-run measures every comparison is made on.
- `stats`: paired t, TOST, non-inferiority, Holm, McNemar, Kaplan-Meier,
  moving-average residuals.
- `aggregate`: the descriptive per-optimizer table, per-epoch curves, the
  performance profile.
- `tables`: every table and cell as text (Markdown, LaTeX), the summary's
  exports.
- `claim_schema`: what a declaration may hold, and its checks.
- `claims`: the default contrasts and claims; `preregister` declares them,
  `declared` reads them back.
- `contrasts`: paired contrasts and the decision of each declared test.
- `verdicts`: each claim decided in each workload, or why it cannot be.
- `plots`: the figures (curves, contrasts, budgets); `plots_sweeps`: Padam's
  p sweep and the learning-rate sensitivity.
- `published`: published CIFAR-10 numbers with their sources.
- `report`: `write_report(study_dir)`; its sections are in `report_sections`
  (setup, runs, published numbers), `report_caveats` (what the study can and
  cannot show), `report_contrasts` and `report_claims` (pre-registration,
  claims).
- `grid`: the optimizer x seed grid, each cell a train.py process.
- `run_pairs`: finished runs paired by seed across two folders, the same
  training but for one named difference; `jpeg_cost` (one more JPEG round
  of the data) and `setting_change` (one RunConfig setting, e.g. the
  batch-norm batch) report such pairs' differences.
- `seed_port`: the seed report's broken Padam port, a plug-in optimizer for
  the cpu-budget study's control arm (imports Keras; nothing above does).

The names below are imported on first use, so that importing a sibling such
as ``keras_resnet_opt.study.grid`` does not load SciPy or matplotlib.
"""

import importlib

_EXPORTS = {
    "RunRecord": "runs",
    "Study": "runs",
    "load_run": "runs",
    "load_study": "runs",
    "variant_of": "runs",
    "workload_of": "runs",
    "run_measures": "measures",
    "epoch_curves": "aggregate",
    "export_summary": "tables",
    "mean_ci": "aggregate",
    "performance_profile": "aggregate",
    "summarize": "aggregate",
    "preregister": "claims",
    "default_claims": "claims",
    "default_contrasts": "claims",
    "decide_claims": "verdicts",
    "write_report": "report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f"keras_resnet_opt.study.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
