"""One study directory analysed: its runs, declaration, measures, summary and decided tests.

`analyse(study_dir)` is what `report.write_report` writes out, and what the
comparison across budgets (`budgets`) reads for each study it puts side by
side: each study is decided under its own declaration (its own target, its
own contrasts), so putting two studies next to each other never re-decides
either.
"""

import dataclasses
from pathlib import Path

import pandas as pd

from keras_resnet_opt.study import aggregate, claims, contrasts, measures, verdicts
from keras_resnet_opt.study.runs import Study, load_study, seed_key, variant_sort_key


@dataclasses.dataclass(frozen=True)
class Analysis:
    """A study, read and decided.

    Attributes:
        study: the runs as read (`runs.Study`).
        declaration: what it declared (`claims.declared`).
        per_run: `measures.run_measures` of its ended runs.
        summary: `aggregate.summarize`.
        evaluations: per workload ``{"contrasts": [Outcome], "claims":
            [ClaimVerdict], "seeds": "0, 1, 2", "per_run": per_run}``.
        workloads: its workloads, in the summary's order.
    """

    study: Study
    declaration: dict
    per_run: pd.DataFrame
    summary: pd.DataFrame
    evaluations: dict
    workloads: tuple

    @property
    def path(self):
        return Path(self.study.path)


def evaluate(study, per_run, declaration, workloads):
    """Per workload: the declared contrasts' outcomes, the claims' verdicts, the seeds."""
    evaluations = {}
    settings = declaration["settings"]
    specs = contrasts.contrast_specs(declaration["contrasts"])
    for workload in workloads:
        rows = per_run[per_run["workload"] == workload]
        evaluations[workload] = {
            "contrasts": contrasts.evaluate_family(specs, per_run, workload, settings),
            "claims": verdicts.decide_claims(study, per_run, declaration, workload),
            "seeds": ", ".join(str(s) for s in sorted(set(rows["seed"]), key=seed_key)),
            "per_run": per_run,
        }
    return evaluations


def analyse(study_dir, runs_required=True):
    """Read `study_dir` and decide what it declared (``runs_required``: as `load_study`'s).

    Raises:
        FileNotFoundError: no ``runs/`` folder (with ``runs_required=False``:
            no ``runs/`` and no study.json).
        ValueError: a study.json that cannot be read.
    """
    study = load_study(study_dir, runs_required)
    declaration = claims.declared(study.plan, sorted({r.variant for r in study.runs}, key=variant_sort_key))
    target = declaration["settings"].get("target_val_accuracy")
    per_run = measures.run_measures(study, target)
    summary = aggregate.summarize(study, target, per_run=per_run)
    workloads = tuple(dict.fromkeys(summary["workload"])) if len(summary) else ()
    evaluations = evaluate(study, per_run, declaration, workloads)
    return Analysis(study, declaration, per_run, summary, evaluations, workloads)


__all__ = ["Analysis", "analyse", "evaluate"]
