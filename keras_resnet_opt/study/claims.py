"""The pre-registered contrasts and claims of a study: the defaults, declaring them, reading them back.

A study decides only what it declared before its runs started, so that
neither the tests nor their margins nor the speed target can be picked after
seeing which way the results went. The declaration lives in the study's
``study.json`` under ``"preregistration"``; `preregister` writes it (the
grid runner calls it before starting any run; a campaign that starts runs
itself calls it the same way). Each item records when it was declared
(UTC, ISO 8601) and whether any run had already recorded a result then
(``after_results``): a claim added later is allowed, and the report marks it
"added after the results". Re-declaring an item unchanged keeps its original
time, so rerunning the grid to resume a study changes nothing; declaring it
differently after results exist moves the old one to ``superseded``, where
the report shows it.

What a declaration may hold (its schema, forms, measures and settings) and
how each item is checked live in `claim_schema`.
"""

import copy
import datetime
import json
from pathlib import Path

from keras_resnet_opt.atomic import write_json
from keras_resnet_opt.optimizer_names import OPTIMIZER_NAMES
from keras_resnet_opt.study.claim_schema import (
    DEFAULT_SETTINGS,
    DIFFERENCE,
    EQUIVALENCE,
    NON_INFERIORITY,
    PROTOCOL,
    SCHEMA,
    SECTION,
    TUNED,
    check_settings,
    normalise_claim,
    normalise_contrast,
    paired_test,
)
from keras_resnet_opt.study.layout import RUNS_DIR, STUDY_FILE
from keras_resnet_opt.training.run_folder import HISTORY_CSV, HISTORY_JSON, MANIFEST

# The study's comparison baseline.
BASELINE = "sgdm"
# A run that holds any of these has recorded a result (an epoch or its end).
RESULT_FILES = (HISTORY_CSV, HISTORY_JSON, MANIFEST)


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------
# Defaults
# ---------------------------------------------------------------------------


def default_contrasts(optimizers):
    """Each optimizer against sgdm, then padam against amsgrad and against adam (when run)."""
    optimizers = list(optimizers)
    pairs = [(o, BASELINE) for o in optimizers if o != BASELINE and BASELINE in optimizers]
    pairs += [("padam", o) for o in ("amsgrad", "adam") if "padam" in optimizers and o in optimizers]
    return [{"id": f"{a}-{b}", "a": a, "b": b} for a, b in dict.fromkeys(pairs)]


def default_claims(optimizers=None):
    """Claims (a)-(f): the Padam paper's three and the seed report's three.

    Args:
        optimizers: the study's planned optimizers; claim (e) compares Padam
            with each of the others. None: every registry optimizer.
    """
    optimizers = list(optimizers or OPTIMIZER_NAMES)
    tuned_only, either = [TUNED], [TUNED, PROTOCOL]
    faster_worse = []
    for name in ("adam", "amsgrad"):
        faster_worse += [
            paired_test(f"{name} converges faster", name, BASELINE, "time_to_target", DIFFERENCE, "lower"),
            paired_test(f"{name} generalises worse", name, BASELINE, "test_error", DIFFERENCE, "higher",
                        generalisation=True),
        ]
    others = [o for o in optimizers if o != "padam" and "(" not in o and ":" not in o]
    others = others or [o for o in OPTIMIZER_NAMES if o != "padam"]  # skipped when not run
    ranking = [paired_test(f"amsgrad below {o}", "amsgrad", o, "test_error", DIFFERENCE, "lower")
               for o in ("sgd", "adam", "nadam")]
    ranking += [paired_test(f"sgd above {o}", "sgd", o, "test_error", DIFFERENCE, "higher") for o in ("adam", "nadam")]
    claims = [
        {
            "id": "a", "source": "padam-paper", "rates": tuned_only,
            "statement": "Adam and AMSGrad converge faster than SGD-momentum but generalise worse.",
            "tests": faster_worse,
        },
        {
            "id": "b", "source": "padam-paper", "rates": tuned_only,
            "statement": "Padam (p = 1/8) converges about as fast as Adam and AMSGrad and generalises as well as "
            "SGD-momentum.",
            "tests": [
                paired_test("padam not slower than adam", "padam", "adam", "time_to_target", NON_INFERIORITY),
                paired_test("padam not slower than amsgrad", "padam", "amsgrad", "time_to_target", NON_INFERIORITY),
                paired_test("padam generalises like sgdm", "padam", BASELINE, "test_error", EQUIVALENCE,
                            generalisation=True),
            ],
        },
        {
            "id": "c", "source": "padam-paper", "rates": tuned_only,
            "statement": "The best p lies strictly between 0 and 1/2 (p -> 0 is SGD-momentum, p = 1/2 is AMSGrad).",
            "tests": [],
            "best_p": {"optimizer": "padam", "ends": [BASELINE, "amsgrad"], "selection": "val_error",
                       "metric": "test_error"},
        },
        {
            "id": "d", "source": "seed-report", "rates": either,
            "statement": "Padam underperforms AMSGrad (higher final test error).",
            "tests": [paired_test("padam above amsgrad", "padam", "amsgrad", "test_error", DIFFERENCE, "higher")],
        },
        {
            "id": "e", "source": "seed-report", "rates": either,
            "statement": "Padam's test-error curve is smoother than the other optimizers'.",
            "tests": [
                paired_test(f"padam smoother than {o}", "padam", o, "smoothness_test", DIFFERENCE, "lower", if_run=True)
                for o in others
            ],
        },
        {
            "id": "f", "source": "seed-report-garg", "rates": either,
            "statement": "Among SGD, Adam, Nadam and AMSGrad, AMSGrad ends with the lowest test error and SGD with "
            "the highest.",
            "tests": ranking,
        },
    ]  # fmt: skip
    for claim in claims:
        claim.setdefault("presets", None)
        claim.setdefault("best_p", None)
    return claims


# ---------------------------------------------------------------------------
# Writing the declaration
# ---------------------------------------------------------------------------


def results_exist(study_dir):
    """True when any run under ``study_dir/runs`` has recorded a result (an epoch or a manifest)."""
    runs_dir = Path(study_dir) / RUNS_DIR
    if not runs_dir.is_dir():
        return False
    return any((run / name).is_file() for run in runs_dir.iterdir() if run.is_dir() for name in RESULT_FILES)


def read_claims_file(path, variants=None, taken=()):
    """The claims a user declares in a JSON file (``kro-compare --claims``), each checked.

    The file holds a list of claims, or ``{"claims": [...]}``, each in the
    schema of `claim_schema` (an ``id``, a ``statement`` and its ``tests``;
    docs/studies.md has a worked example). They are declared beside the
    default claims, so a study decides a user's own hypothesis by the same
    rules, and only if it was written down before the runs.

    Args:
        path: the JSON file.
        variants: the variants the study plans (``"padam(p=0.25)"`` for a p
            sweep's); a test naming another one fails here, not as "not
            testable" after the runs, unless it is marked ``if_run``. None:
            not checked.
        taken: claim ids already declared beside these (the defaults'); each
            claim of the file needs an id of its own.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, not a list of claims, a malformed claim, an id
            used twice, or a test of a variant the study does not plan;
            naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The claims file {path} does not exist.")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}).") from None
    items = data.get("claims") if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError(f'{path} must hold a list of claims (JSON objects), or {{"claims": [...]}}.')
    try:
        claims = [normalise_claim(item) for item in items]
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    ids = [claim["id"] for claim in claims]
    clashes = sorted({i for i in ids if i in taken or ids.count(i) > 1})
    if clashes:
        raise ValueError(
            f"{path}: claim id(s) {', '.join(map(repr, clashes))} are used twice or by a default claim "
            f"({', '.join(taken)}); give each claim an id of its own."
        )
    for claim in claims if variants is not None else ():
        for test in claim["tests"]:
            unplanned = [v for v in (test["a"], test["b"]) if v not in variants]
            if unplanned and not test["if_run"]:
                raise ValueError(
                    f"{path}: claim {claim['id']!r}, test {test['part']!r} compares {', '.join(unplanned)}, which "
                    f"this study does not plan (it plans {', '.join(variants)}). Add it to --optimizers (a p "
                    'sweep\'s variant to --partial), or mark the test "if_run": true.'
                )
    return claims


def read_study_file(study_dir):
    """The parsed ``study.json`` ({} when the study has none yet)."""
    path = Path(study_dir) / STUDY_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _content(item):
    return {k: v for k, v in item.items() if k not in ("declared_at", "after_results")}


def _merge(existing, declared, kind, stamp, superseded):
    """Keep unchanged items with their first time; stamp new ones; supersede changed ones."""
    by_id = {item["id"]: item for item in existing}
    merged = []
    for item in declared:
        old = by_id.pop(item["id"], None)
        if old is not None and _content(old) == _content(item):
            merged.append(old)
            continue
        if old is not None and old.get("after_results") is False and not stamp["after_results"]:
            pass  # changed before any result: nothing was seen, the new one simply replaces it
        elif old is not None:
            superseded.append({"kind": kind, "superseded_at": stamp["declared_at"], **old})
        merged.append({**item, **stamp})
    merged += by_id.values()  # declared earlier and not repeated now: still declared
    return merged


def preregister(
    study_dir,
    *,
    optimizers=None,
    target_val_accuracy=None,
    learning_rates=None,
    contrasts=None,
    claims=None,
    extra_claims=(),
    equivalence_margin_pp=1.0,
    speed_margin_pp=10.0,
    alpha=0.05,
    min_seeds=3,
    min_epochs_generalisation=30,
    now=None,
):
    """Declare a study's contrasts, claims and decision settings in ``study_dir/study.json``.

    Call it before any run starts. The rest of ``study.json`` (the grid's
    plan) is kept; so are items declared earlier: an unchanged item keeps its
    first declaration time, a changed one is re-stamped (and, once results
    exist, the old one is kept under ``superseded``). Items are marked
    ``after_results`` when any run had recorded a result at the time.

    Args:
        study_dir: the study directory (``runs/`` may not exist yet).
        optimizers: the planned optimizers (registry names) the default
            contrasts and claims are built for; None: study.json's
            ``optimizers``, else every registry optimizer.
        target_val_accuracy: validation accuracy (fraction) whose first epoch
            is the time-to-target; None: no speed test can be decided.
        learning_rates: ``{preset: "tuned" | "protocol" | "untuned"}`` ("*"
            for any preset): how the runs' learning rates were chosen.
        contrasts: ``[(a, b), ...]`` or dicts; None: `default_contrasts`.
        claims: claim dicts (see the module docstring); None: `default_claims`.
        extra_claims: claims added to those.
        equivalence_margin_pp: default equivalence / non-inferiority margin,
            percentage points of test error.
        speed_margin_pp: the same for time to target, percentage points of
            the training budget.
        alpha: each family's error rate.
        min_seeds: paired seeds a contrast needs before it decides anything.
        min_epochs_generalisation: epochs a run needs before a
            "generalises" test is decided.
        now: the declaration time (ISO string); None: the current UTC time.

    Returns:
        The ``preregistration`` section as written.

    Raises:
        ValueError: a setting, contrast or claim is malformed.
    """
    study_dir = Path(study_dir)
    study = read_study_file(study_dir)
    if optimizers is None:
        optimizers = study.get("optimizers") or OPTIMIZER_NAMES
    stamp = {"declared_at": now or now_utc(), "after_results": results_exist(study_dir)}
    settings = {
        "alpha": float(alpha),
        "min_seeds": int(min_seeds),
        "equivalence_margin_pp": float(equivalence_margin_pp),
        "speed_margin_pp": float(speed_margin_pp),
        "target_val_accuracy": None if target_val_accuracy is None else float(target_val_accuracy),
        "min_epochs_generalisation": int(min_epochs_generalisation),
        "learning_rates": dict(sorted((learning_rates or {}).items())),
    }
    check_settings(settings)
    contrasts = [normalise_contrast(c) for c in (default_contrasts(optimizers) if contrasts is None else contrasts)]
    claims = [normalise_claim(c) for c in [*(default_claims(optimizers) if claims is None else claims), *extra_claims]]
    for kind, items in (("contrast", contrasts), ("claim", claims)):
        ids = [item["id"] for item in items]
        if len(set(ids)) != len(ids):
            raise ValueError(f"Each {kind} needs its own id. Received ids: {ids}")

    old = study.get(SECTION) or {}
    superseded = list(old.get("superseded") or [])
    old_settings = old.get("settings")
    if old_settings is not None and _content(old_settings) == settings:
        settings = old_settings
    else:
        if old_settings is not None and (old_settings.get("after_results") or stamp["after_results"]):
            superseded.append({"kind": "settings", "superseded_at": stamp["declared_at"], **old_settings})
        settings = {**settings, **stamp}
    section = {
        "schema": SCHEMA,
        "written_at": old.get("written_at") or stamp["declared_at"],
        "optimizers": list(optimizers),
        "settings": settings,
        "contrasts": _merge(old.get("contrasts") or [], contrasts, "contrast", stamp, superseded),
        "claims": _merge(old.get("claims") or [], claims, "claim", stamp, superseded),
        "superseded": superseded,
    }
    write_json(study_dir / STUDY_FILE, {**study, SECTION: section})
    return section


# ---------------------------------------------------------------------------
# Reading it back
# ---------------------------------------------------------------------------


def declared(plan, optimizers=()):
    """The declaration a report tests: study.json's section, or the defaults marked as undeclared.

    Args:
        plan: the parsed study.json (or None).
        optimizers: the optimizers actually run, for the defaults.

    Returns:
        A section in the schema above; when study.json has none, the defaults
        with ``"declared": False`` and every item ``after_results`` (nothing
        was declared before the runs).
    """
    section = (plan or {}).get(SECTION)
    if section:
        section = copy.deepcopy(section)
        section["settings"] = {**DEFAULT_SETTINGS, **section.get("settings", {})}
        section["claims"] = [{**normalise_claim(c), **{k: c.get(k) for k in ("declared_at", "after_results")}}
                             for c in section.get("claims", [])]  # fmt: skip
        section["contrasts"] = [{**normalise_contrast(c), **{k: c.get(k) for k in ("declared_at", "after_results")}}
                                for c in section.get("contrasts", [])]  # fmt: skip
        section["declared"] = True
        return section
    optimizers = (plan or {}).get("optimizers") or list(optimizers)
    undeclared = {"declared_at": None, "after_results": True}
    return {
        "schema": SCHEMA,
        "written_at": None,
        "declared": False,
        "settings": {**DEFAULT_SETTINGS, **undeclared},
        "contrasts": [{**c, **undeclared} for c in default_contrasts(optimizers)],
        "claims": [{**normalise_claim(c), **undeclared} for c in default_claims(optimizers)],
        "superseded": [],
    }
