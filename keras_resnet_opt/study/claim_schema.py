"""What a study may declare: the schema of its contrasts, claims and settings, and their checks.

The declaration lives in a study's ``study.json`` under ``"preregistration"``;
`claims.preregister` writes it and `claims.declared` reads it back. This
module holds only its vocabulary, so that the modules deciding and
reporting the tests (`contrasts`, `verdicts`, the report) depend on what a
test may say, not on how a declaration is written.

Schema (``study.json["preregistration"]``)::

    {
      "schema": 1,
      "written_at": "2026-12-04T15:30:00+00:00",      first written
      "optimizers": ["sgd", "sgdm", ...],   the plan the defaults were built for
      "settings": {
        "alpha": 0.05,                   each family's error rate (Holm)
        "min_seeds": 3,                  fewer paired seeds: "too few seeds"
        "equivalence_margin_pp": 1.0,    default margin of equivalence and
                                         non-inferiority tests, pp of test error
        "speed_margin_pp": 10.0,         the same for time to target, pp of the
                                         training budget
        "target_val_accuracy": 0.8,      steps-to-target target (validation
                                         accuracy, a fraction); null: none
        "min_epochs_generalisation": 30, fewer epochs: a "generalises" test is
                                         not decided (see `verdicts`)
        "learning_rates": {"cpu-budget": "tuned"},   per preset ("*": any):
                                         "tuned" | "protocol" | "untuned"
        "declared_at": "...", "after_results": false
      },
      "contrasts": [{"id": "adam-sgdm", "a": "adam", "b": "sgdm",
                     "declared_at": "...", "after_results": false}, ...],
      "claims": [{"id": "a", "source": "padam-paper", "statement": "...",
                  "rates": ["tuned"], "presets": null,
                  "tests": [{"part": "...", "a": "adam", "b": "sgdm",
                             "metric": "test_error", "form": "difference",
                             "direction": "higher", "margin": null,
                             "generalisation": true, "if_run": false}, ...],
                  "best_p": null,
                  "declared_at": "...", "after_results": false}, ...],
      "superseded": [{"kind": "claim", "superseded_at": "...", ...old item}]
    }

A contrast is ``a - b`` on final test error, two-sided, one Holm family for
all declared contrasts. A claim is a conjunction of tests, each a paired
contrast on one measure (`METRICS`) in one form (`FORMS`); its tests form
their own Holm family. ``direction`` says which way a difference is claimed
(a "lower" or "higher" than b); every measure here is better when lower, so
non-inferiority always means ``a - b < margin``. ``margin`` is in the
measure's unit (pp for errors, pp of the budget for time to target); null
takes the settings' default. ``generalisation`` marks a test about
generalisation, which needs enough epochs; ``if_run`` lets a test be skipped
(and said so) when one of its optimizers was not run, where a claim is about
"the others" whoever they are. ``rates`` lists the learning-rate regimes in
which the claim can be decided; ``presets`` (null: all) restricts it to some
workloads. ``best_p`` (claim (c)) replaces fixed tests by a selection on
validation error followed by paired tests on test error.
"""

import copy

from keras_resnet_opt.study.published import SOURCES as PUBLISHED_SOURCES

SECTION = "preregistration"
SCHEMA = 1

DIFFERENCE = "difference"
EQUIVALENCE = "equivalence"
NON_INFERIORITY = "non-inferiority"
FORMS = (DIFFERENCE, EQUIVALENCE, NON_INFERIORITY)

TUNED, PROTOCOL, UNTUNED = "tuned", "protocol", "untuned"
RATE_REGIMES = (TUNED, PROTOCOL, UNTUNED)

# measure -> (unit of its margins and differences, scale from the stored value
# to that unit, what it is). Every measure is better when lower.
METRICS = {
    "test_error": ("pp", 100.0, "final test error"),
    "test_error_25": ("pp", 100.0, "test error at 25% of training"),
    "test_error_50": ("pp", 100.0, "test error at 50% of training"),
    "val_error": ("pp", 100.0, "final validation error"),
    "train_error": ("pp", 100.0, "final train error"),
    "gen_gap": ("pp", 100.0, "generalisation gap (test error - train error)"),
    "time_to_target": ("pp of training", 100.0, "time to the validation-accuracy target"),
    "train_loss_25": ("loss", 1.0, "train loss at 25% of training"),
    "train_loss_50": ("loss", 1.0, "train loss at 50% of training"),
    "train_loss_100": ("loss", 1.0, "train loss at the end of training"),
    "smoothness_test": ("pp", 100.0, "test-error smoothness (residual SD)"),
    "smoothness_val": ("pp", 100.0, "validation-error smoothness (residual SD)"),
}

# The measures a null margin has a meaning for: the settings' defaults are pp of an error
# (equivalence_margin_pp) and pp of the training budget (speed_margin_pp, time to target).
# An equivalence or non-inferiority on any other measure (a loss, a smoothness) states its own.
DEFAULT_MARGIN_METRICS = ("test_error", "test_error_25", "test_error_50", "val_error", "train_error", "gen_gap",
                          "time_to_target")  # fmt: skip

DEFAULT_SETTINGS = {
    "alpha": 0.05,
    "min_seeds": 3,
    "equivalence_margin_pp": 1.0,
    "speed_margin_pp": 10.0,
    "target_val_accuracy": None,
    "min_epochs_generalisation": 30,
    "learning_rates": {},
}

CLAIM_SOURCES = {
    "padam-paper": PUBLISHED_SOURCES["padam"],
    "seed-report": "Wu & Wu, Performance of ResNet Architecture With Different SGD Optimizers (the student "
    "report this project started from; ../shared/docs/seed-slides.txt, ../shared/docs/reference.md section 7).",
    "seed-report-garg": "The seed report's reproduction of Garg, Garg & Raina, Analysis of Gradient Descent "
    "Optimization Algorithms on ResNet (../shared/docs/reference.md section 7).",
}


def paired_test(part, a, b, metric, form, direction=None, margin=None, generalisation=False, if_run=False):
    """One test of a claim, every field named (see the schema above)."""
    return {
        "part": part, "a": a, "b": b, "metric": metric, "form": form, "direction": direction,
        "margin": margin, "generalisation": generalisation, "if_run": if_run,
    }  # fmt: skip


def _check_test(claim_id, test):
    where = f"Claim {claim_id!r}, test {test.get('part')!r}"
    for key in ("a", "b", "metric", "form"):
        if not test.get(key):
            raise ValueError(f"{where}: needs {key!r}. Received: {test}")
    if test["metric"] not in METRICS:
        raise ValueError(f"{where}: unknown metric {test['metric']!r}. Valid metrics: {sorted(METRICS)}")
    if test["form"] not in FORMS:
        raise ValueError(f"{where}: unknown form {test['form']!r}. Valid forms: {list(FORMS)}")
    if test["form"] == DIFFERENCE and test.get("direction") not in ("lower", "higher"):
        raise ValueError(
            f"{where}: a difference needs direction 'lower' or 'higher'. Received: {test.get('direction')!r}"
        )
    if test.get("margin") is not None and not float(test["margin"]) > 0:
        raise ValueError(f"{where}: a margin must be positive. Received: {test['margin']}")
    if test["form"] != DIFFERENCE and test.get("margin") is None and test["metric"] not in DEFAULT_MARGIN_METRICS:
        unit = METRICS[test["metric"]][0]
        raise ValueError(
            f"{where}: an {test['form']} test on {test['metric']} needs its own 'margin' (in {unit}): the default "
            "margins are pp of an error and pp of the training budget."
        )


def normalise_claim(claim):
    """A claim with every optional field filled in, checked.

    Raises:
        ValueError: naming the claim and what is wrong.
    """
    claim = copy.deepcopy(dict(claim))
    if not claim.get("id") or not claim.get("statement"):
        raise ValueError(f"A claim needs an 'id' and a 'statement'. Received: {claim}")
    claim.setdefault("source", "")
    claim.setdefault("rates", [TUNED])
    claim.setdefault("presets", None)
    claim.setdefault("best_p", None)
    tests = []
    for test in claim.get("tests") or []:
        test = {**paired_test(None, None, None, None, None), **test}
        _check_test(claim["id"], test)
        tests.append(test)
    claim["tests"] = tests
    bad = [r for r in claim["rates"] if r not in RATE_REGIMES]
    if bad:
        raise ValueError(f"Claim {claim['id']!r}: unknown learning-rate regime(s) {bad}. Valid: {list(RATE_REGIMES)}")
    if not tests and not claim["best_p"]:
        raise ValueError(f"Claim {claim['id']!r} declares no test.")
    return claim


def normalise_contrast(contrast):
    """A contrast as a dict with its id, from a dict or an ``(a, b)`` pair; ValueError if malformed."""
    if isinstance(contrast, (list, tuple)):
        a, b = contrast
        contrast = {"a": a, "b": b}
    contrast = dict(contrast)
    if not contrast.get("a") or not contrast.get("b") or contrast["a"] == contrast["b"]:
        raise ValueError(f"A contrast needs two different optimizers 'a' and 'b'. Received: {contrast}")
    contrast.setdefault("id", f"{contrast['a']}-{contrast['b']}")
    return contrast


def check_settings(settings):
    """Raise ValueError naming the first setting out of its range."""
    target = settings.get("target_val_accuracy")
    if target is not None and not 0.0 < float(target) <= 1.0:
        raise ValueError(f"`target_val_accuracy` must be a fraction in (0, 1]. Received: {target}")
    for key in ("alpha",):
        if not 0.0 < float(settings[key]) < 1.0:
            raise ValueError(f"`{key}` must be in (0, 1). Received: {settings[key]}")
    for key in ("equivalence_margin_pp", "speed_margin_pp"):
        if not float(settings[key]) > 0:
            raise ValueError(f"`{key}` must be positive. Received: {settings[key]}")
    if int(settings["min_seeds"]) < 2:
        raise ValueError(
            f"`min_seeds` must be >= 2 (a paired interval needs two pairs). Received: {settings['min_seeds']}"
        )
    bad = {k: v for k, v in (settings.get("learning_rates") or {}).items() if v not in RATE_REGIMES}
    if bad:
        raise ValueError(f"`learning_rates` values must be one of {list(RATE_REGIMES)}. Received: {bad}")
