"""Declares the round-2 studies' contrasts, claims and targets before their final runs start.

    python results/campaign/preregister.py ROOT     # ROOT: the results/ folder the campaign writes

Run once on the campaign clone's results/ (where it can see whether any final
run has recorded a result yet, `study.claims.preregister`), then the
study.json files are committed with the runs. Every choice here is fixed
before any final run of these studies exists:

- learning rates: "tuned" for cpu-budget and cpu-budget-30 (the edge-grid
  searches on validation), "protocol" for the seed-protocol control arm;
- time-to-target: the first epoch at 70% validation accuracy at 10 epochs,
  80% at 30 epochs: round numbers below what ResNet-20 reaches at the end of
  either budget (about 80% and 88-90%), so that the measure is about speed and
  most runs reach it; fixed a priori, not from any run of these studies;
- equivalence and non-inferiority margin: 1 pp of test error (the claims
  issue's default), 10 pp of the training budget for time to target;
- the control arm adds one claim: the seed report's port underperforms AMSGrad
  in the seed report's own setting; and its claim (f) reads the seed report's
  "SGD" as that report ran it, SGD with momentum 0.9 (`control_claims`).
"""

import sys
from pathlib import Path

from keras_resnet_opt.study.claims import default_claims, preregister
from keras_resnet_opt.study.grid import write_study_file


def control_claims(optimizers):
    """The default claims, with claim (f)'s SGD read as the seed report read it.

    In the seed report's setting "SGD" was SGD with momentum 0.9 at lr 0.001
    (`../shared/docs/reference.md`, section 7), the control arm's `sgdm`; it
    runs no plain SGD. So (f) there ranks sgdm (the report's SGD), adam, nadam
    and amsgrad. Declared on 2026-12-05, before any control run had started.
    """
    claims = default_claims(optimizers)
    for claim in claims:
        if claim["id"] == "f":
            claim["statement"] = claim["statement"].replace(
                "Among SGD,", "Among SGD (in the seed report's setting, SGD with momentum 0.9: `sgdm`),")
            for test in claim["tests"]:
                test.update({k: "sgdm" for k in ("a", "b") if test[k] == "sgd"})
                test["part"] = test["part"].replace("sgd ", "sgdm ").replace(" sgd", " sgdm")
    return claims


PLAN = "results/campaign/plan.json (python results/campaign/make_plan.py), run by scripts/campaign.py"
DATA = "../shared/datasets/cifar10"
SEED_PORT = "keras_resnet_opt.study.seed_port:SeedPortPadam"
STUDIES = {
    "cpu-budget": dict(
        preset="cpu-budget", seeds=[0, 1, 2], partial_sweep=[0.0625, 0.125, 0.25, 0.5],
        optimizers=["sgd", "sgdm", "adam", "nadam", "amsgrad", "adamw", "padam"],
        target=0.70, rates={"cpu-budget": "tuned"},
    ),
    "cpu-budget-30": dict(
        preset="cpu-budget-30", seeds=[0, 1, 2], partial_sweep=[],
        optimizers=["sgdm", "adam", "amsgrad", "padam"], target=0.80, rates={"cpu-budget-30": "tuned"},
    ),
    "cpu-budget/control": dict(
        preset="seed-protocol", seeds=[0, 1, 2], partial_sweep=[],
        optimizers=["sgdm", "adam", "nadam", "amsgrad", "padam", SEED_PORT],  # no AdamW: see make_plan.py
        target=0.70, rates={"seed-protocol": "protocol"},
        claims=control_claims,
        extra=[{
            "id": "d-port", "source": "seed-report", "rates": ["protocol"],
            "statement": "The seed report's Padam port (its listed mistakes, reproduced) underperforms AMSGrad "
                         "in the seed report's own setting.",
            "tests": [{"part": "port above amsgrad", "a": SEED_PORT, "b": "amsgrad", "metric": "test_error",
                       "form": "difference", "direction": "higher", "margin": None, "generalisation": False,
                       "if_run": False}],
        }],
    ),
}


def main(root):
    for name, study in STUDIES.items():
        study_dir = Path(root) / name
        write_study_file(study_dir, command=PLAN, data_dir=DATA, optimizers=study["optimizers"],
                         partial_sweep=study["partial_sweep"], preset=study["preset"], seeds=study["seeds"])
        section = preregister(study_dir, optimizers=study["optimizers"], target_val_accuracy=study["target"],
                              learning_rates=study["rates"], extra_claims=study.get("extra", ()),
                              claims=study["claims"](study["optimizers"]) if "claims" in study else None)
        print(f"{study_dir / 'study.json'}: {len(section['contrasts'])} contrasts, {len(section['claims'])} claims, "
              f"after_results={section['settings']['after_results']}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results")
