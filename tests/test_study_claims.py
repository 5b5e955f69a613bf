"""Pre-registration and verdicts on synthetic run folders whose answers are known by construction.

Final test errors are built per seed: a baseline with a large seed-to-seed
spread (so unpaired intervals are wide) and another optimizer offset from it
by chosen paired differences (so the paired test has a known t and p).
"""

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
from run_dirs import write_run_dir
from scipy import stats as scipy_stats

from keras_resnet_opt.study import aggregate, claim_schema, claims, contrasts, measures, report, report_claims, verdicts
from keras_resnet_opt.study.grid import write_study_file
from keras_resnet_opt.study.runs import load_study

EPOCHS = 8
BASE = {0: 0.30, 1: 0.40, 2: 0.50}  # sgdm's final test error per seed: a wide unpaired interval
T0 = "2026-01-01T00:00:00+00:00"
SETTINGS = {**claims.DEFAULT_SETTINGS, "min_epochs_generalisation": 5, "target_val_accuracy": 0.5,
            "learning_rates": {"smoke": "tuned"}}  # fmt: skip


def write_run(study_dir, optimizer, seed, final_error, partial=None, val_accuracy=None, epochs=EPOCHS, preset="smoke"):
    errors = np.linspace(0.9, final_error, epochs)
    val = 1.0 - errors if val_accuracy is None else np.asarray(val_accuracy, dtype=float)
    frame = pd.DataFrame(
        {
            "epoch": np.arange(1, epochs + 1), "loss": 2.0 * errors, "accuracy": 1.0 - errors + 0.02,
            "val_loss": 2.0 * errors, "val_accuracy": val, "test_loss": 2.0 * errors,
            "test_accuracy": 1.0 - errors, "test_error": errors, "learning_rate": 0.1,
            "epoch_time_s": 10.0, "train_time_s": 8.0, "images_per_sec": 100.0, "step_time_ms": 20.0,
        }
    )  # fmt: skip
    config = {
        "preset": preset, "model": "resnet20", "optimizer": optimizer, "seed": seed, "epochs": epochs,
        "batch_size": 128, "partial": partial, "train_subset": 1280, "lr_schedule": "constant", "lr_boundaries": [],
    }  # fmt: skip
    name = f"{optimizer}{'-p' + str(partial) if partial else ''}-s{seed}"
    write_run_dir(study_dir / "runs" / name, config, frame, {"status": "finished", "command": "train --hparams h"})


def build(study_dir, finals, partials=None):
    """``finals``: {optimizer: {seed: final test error}}; returns (study, run measures)."""
    for optimizer, by_seed in finals.items():
        for seed, error in by_seed.items():
            write_run(study_dir, optimizer, seed, error, partial=(partials or {}).get(optimizer))
    study = load_study(study_dir)
    return study, measures.run_measures(study, SETTINGS["target_val_accuracy"])


def offset(differences, base=BASE):
    return {seed: base[seed] + d for seed, d in zip(sorted(base), differences)}


def differences_with_p(p, sd=0.01, n=3):
    """Three paired differences whose two-sided paired t-test p is exactly `p` (positive mean)."""
    t = scipy_stats.t.ppf(1.0 - p / 2.0, n - 1)
    mean = t * sd / math.sqrt(n)
    return [mean - sd, mean, mean + sd]


def spec(a, b, metric="test_error", form="difference", direction="lower", margin=None, **extra):
    return {"part": f"{a} vs {b}", "a": a, "b": b, "metric": metric, "form": form, "direction": direction,
            "margin": margin, "generalisation": False, "if_run": False, **extra}  # fmt: skip


def workload(per_run):
    return per_run["workload"].iloc[0]


# ---------------------------------------------------------------------------
# Paired decisions
# ---------------------------------------------------------------------------


def test_paired_interval_decides_where_unpaired_intervals_overlap(tmp_path):
    study, per_run = build(tmp_path, {"sgdm": BASE, "adam": offset([-0.049, -0.051, -0.050])})
    summary = aggregate.summarize(study).set_index("variant")
    adam_low = summary.loc["adam", "test_error_mean"] - summary.loc["adam", "test_error_ci"]
    adam_high = summary.loc["adam", "test_error_mean"] + summary.loc["adam", "test_error_ci"]
    sgdm_low = summary.loc["sgdm", "test_error_mean"] - summary.loc["sgdm", "test_error_ci"]
    assert sgdm_low < adam_high and adam_low < summary.loc["sgdm", "test_error_mean"]  # they overlap widely
    (outcome,) = contrasts.evaluate_family(contrasts.contrast_specs([{"id": "x", "a": "adam", "b": "sgdm"}]),
                                           per_run, workload(per_run), SETTINGS)  # fmt: skip
    assert outcome.paired.n == 3 and outcome.paired.t.mean == pytest.approx(-5.0)
    low, high = outcome.paired.t.interval()
    assert high < 0  # the paired interval excludes 0
    assert outcome.status == "lower"  # "differs: adam lower" in the report
    claimed = contrasts.evaluate_family(
        [spec("adam", "sgdm", direction="higher")], per_run, workload(per_run), SETTINGS
    )
    assert claimed[0].status == contrasts.CONTRADICTED


def test_equivalence_inside_the_margin_holds(tmp_path):
    study, per_run = build(tmp_path, {"sgdm": BASE, "padam": offset([0.001, -0.001, 0.0005])})
    (outcome,) = contrasts.evaluate_family([spec("padam", "sgdm", form="equivalence")], per_run,
                                           workload(per_run), SETTINGS)  # fmt: skip
    d = np.array([0.1, -0.1, 0.05])
    expected = max(scipy_stats.ttest_1samp(d, 1.0, alternative="less").pvalue,
                   scipy_stats.ttest_1samp(d, -1.0, alternative="greater").pvalue)  # fmt: skip
    assert outcome.margin == 1.0 and outcome.p == pytest.approx(expected)
    assert outcome.status == contrasts.HOLDS


def test_huge_spread_is_inconclusive_never_holds(tmp_path):
    study, per_run = build(tmp_path, {"sgdm": BASE, "padam": offset([0.10, -0.12, 0.03])})
    tests = [spec("padam", "sgdm", form="equivalence"), spec("padam", "sgdm", form="non-inferiority"),
             spec("padam", "sgdm", direction="lower")]  # fmt: skip
    outcomes = contrasts.evaluate_family(tests, per_run, workload(per_run), SETTINGS)
    assert [o.status for o in outcomes] == [contrasts.INCONCLUSIVE] * 3


def test_clearly_outside_the_margin_contradicts_equivalence(tmp_path):
    study, per_run = build(tmp_path, {"sgdm": BASE, "padam": offset([0.050, 0.052, 0.049])})
    (outcome,) = contrasts.evaluate_family([spec("padam", "sgdm", form="equivalence")], per_run,
                                           workload(per_run), SETTINGS)  # fmt: skip
    assert outcome.status == contrasts.CONTRADICTED


def test_two_seeds_are_too_few(tmp_path):
    study, per_run = build(tmp_path, {"sgdm": {0: 0.3, 1: 0.4}, "adam": {0: 0.2, 1: 0.301, 2: 0.5}})
    (outcome,) = contrasts.evaluate_family([spec("adam", "sgdm")], per_run, workload(per_run), SETTINGS)
    assert outcome.paired.seeds == (0, 1)  # only the shared seeds pair up
    assert outcome.status == contrasts.TOO_FEW_SEEDS and math.isnan(outcome.p_adjusted)
    claim = claims.normalise_claim({"id": "x", "statement": "adam lower", "tests": [spec("adam", "sgdm")]})
    regime = verdicts.workload_regime(study, workload(per_run), SETTINGS)
    verdict = verdicts.decide_claim(claim, per_run, workload(per_run), regime, SETTINGS)
    assert verdict.verdict == verdicts.TOO_FEW_SEEDS and "2 paired seed(s), fewer than 3" in verdict.reasons[0]


def test_holm_changes_exactly_one_decision(tmp_path):
    finals = {"sgdm": BASE}
    for name, p in (("adam", 0.001), ("nadam", 0.03), ("amsgrad", 0.5)):
        finals[name] = offset(differences_with_p(p))
    study, per_run = build(tmp_path, finals)
    specs = contrasts.contrast_specs([{"id": n, "a": n, "b": "sgdm"} for n in ("adam", "nadam", "amsgrad")])
    outcomes = contrasts.evaluate_family(specs, per_run, workload(per_run), SETTINGS)
    assert [o.p for o in outcomes] == pytest.approx([0.001, 0.03, 0.5], rel=1e-6)
    # Unadjusted, nadam would differ (0.03 < 0.05); Holm multiplies it by 2.
    assert [o.p_adjusted for o in outcomes] == pytest.approx([0.003, 0.06, 0.5], rel=1e-6)
    assert [o.status for o in outcomes] == ["higher", contrasts.INCONCLUSIVE, contrasts.INCONCLUSIVE]
    alone = contrasts.evaluate_family(specs[1:2], per_run, workload(per_run), SETTINGS)
    assert alone[0].status == "higher"  # the same test outside the family decides


def test_censored_time_to_target_is_counted(tmp_path):
    reach = {  # epoch at which validation accuracy first reaches 0.5 (None: never)
        ("adam", 0): 2, ("adam", 1): 3, ("adam", 2): 2,
        ("sgdm", 0): None, ("sgdm", 1): None, ("sgdm", 2): 6,
    }  # fmt: skip
    for (optimizer, seed), epoch in reach.items():
        val = [0.6 if epoch is not None and e >= epoch else 0.4 for e in range(1, EPOCHS + 1)]
        write_run(tmp_path, optimizer, seed, 0.3, val_accuracy=val)
    per_run = measures.run_measures(load_study(tmp_path), 0.5)
    (faster,) = contrasts.evaluate_family([spec("adam", "sgdm", metric="time_to_target")], per_run,
                                          workload(per_run), SETTINGS)  # fmt: skip
    # Censored runs count as reaching it at epoch 9 of 8: (2 - 9, 3 - 9, 2 - 6) / 8, in pp of training.
    assert faster.paired.n == 3
    assert list(faster.paired.differences) == pytest.approx([-87.5, -75.0, -50.0])
    assert faster.paired.b_reached == (False, False, True)
    assert faster.status == contrasts.HOLDS
    # "Not slower" cannot rest on a seed where neither run got there.
    write_run(tmp_path, "padam", 0, 0.3, val_accuracy=[0.4] * EPOCHS)
    write_run(tmp_path, "padam", 1, 0.3, val_accuracy=[0.6] * EPOCHS)
    write_run(tmp_path, "padam", 2, 0.3, val_accuracy=[0.6] * EPOCHS)
    per_run = measures.run_measures(load_study(tmp_path), 0.5)
    (like,) = contrasts.evaluate_family([spec("padam", "sgdm", metric="time_to_target", form="non-inferiority")],
                                        per_run, workload(per_run), SETTINGS)  # fmt: skip
    assert like.status == contrasts.BOTH_CENSORED and like.paired.both_censored_seeds == (0,)


# ---------------------------------------------------------------------------
# Claims, regimes and the p selection
# ---------------------------------------------------------------------------


def decide(study, per_run, claim_id, settings=SETTINGS, optimizers=None):
    claim = next(c for c in claims.default_claims(optimizers) if c["id"] == claim_id)
    regime = verdicts.workload_regime(study, workload(per_run), settings)
    return verdicts.decide_claim(claims.normalise_claim(claim), per_run, workload(per_run), regime, settings)


def test_claim_d_holds_and_the_regime_rules_block_it(tmp_path):
    study, per_run = build(tmp_path, {"amsgrad": BASE, "padam": offset([0.030, 0.031, 0.029])})
    assert decide(study, per_run, "d").verdict == verdicts.HOLDS
    untuned = {**SETTINGS, "learning_rates": {"smoke": "untuned"}}
    blocked = decide(study, per_run, "d", untuned)
    assert blocked.verdict == verdicts.WRONG_REGIME and "untuned" in blocked.reasons[0]
    # The seed report's claim may be decided in its own protocol; the Padam paper's may not.
    protocol = {**SETTINGS, "learning_rates": {"*": "protocol"}}
    assert decide(study, per_run, "d", protocol).verdict == verdicts.HOLDS


def test_generalisation_needs_enough_epochs(tmp_path):
    study, per_run = build(tmp_path, {"sgdm": BASE, "padam": offset([0.001, -0.001, 0.0005]),
                                      "adam": BASE, "amsgrad": BASE})  # fmt: skip
    long_enough = decide(study, per_run, "b")
    assert long_enough.verdict != verdicts.WRONG_REGIME
    strict = {**SETTINGS, "min_epochs_generalisation": 30}
    verdict = decide(study, per_run, "b", strict)
    assert verdict.verdict == verdicts.WRONG_REGIME
    assert "8 epochs, fewer than the 30 declared" in verdict.reasons[0]
    assert "final train error padam 38.0%, sgdm 38.0%" in verdict.reasons[0]  # mean final error 40% - 2
    # The speed parts do not need a fitted training set: they are decided on their own.
    assert [o.spec["part"] for o in verdict.decidable] == [
        "padam not slower than adam", "padam not slower than amsgrad"
    ]
    assert all(o.decided and o.family_size == 2 for o in verdict.decidable)
    untuned = decide(study, per_run, "b", {**strict, "learning_rates": {"smoke": "untuned"}})
    assert untuned.verdict == verdicts.WRONG_REGIME and untuned.decidable == ()


def reaching_at(epoch):
    """Validation accuracy that first reaches the 50% target at `epoch`."""
    return [0.4] * (epoch - 1) + [0.6] * (EPOCHS - epoch + 1)


def test_a_part_contradicted_where_the_setting_can_decide_it_contradicts_the_claim(tmp_path):
    # Claim (a) at too few epochs for its generalisation parts; its speed parts are decidable, and adam is
    # consistently *slower* than sgdm: the conjunction is false whatever the other parts would say.
    for seed, (adam_epoch, error) in enumerate([(6, 0.3), (5, 0.4), (7, 0.5)]):
        write_run(tmp_path, "sgdm", seed, error, val_accuracy=reaching_at(2))
        write_run(tmp_path, "amsgrad", seed, error, val_accuracy=reaching_at(2))
        write_run(tmp_path, "adam", seed, error, val_accuracy=reaching_at(adam_epoch))
    study = load_study(tmp_path)
    per_run = measures.run_measures(study, SETTINGS["target_val_accuracy"])
    verdict = decide(study, per_run, "a", {**SETTINGS, "min_epochs_generalisation": 30})
    assert verdict.verdict == verdicts.CONTRADICTED
    assert "8 epochs, fewer than the 30 declared" in verdict.reasons[0]  # why the rest stays undecided
    statuses = {o.spec["part"]: o.status for o in verdict.decidable}
    assert statuses == {"adam converges faster": contrasts.CONTRADICTED,
                        "amsgrad converges faster": contrasts.INCONCLUSIVE}  # fmt: skip
    # The report says so, and neither it nor contrasts.csv gives a Holm p to a part this setting cannot decide.
    evaluation = {"contrasts": [], "claims": [verdict], "per_run": per_run, "seeds": "0, 1, 2"}
    text = "\n".join(report_claims.claims_section({workload(per_run): evaluation}, {"settings": SETTINGS}))
    assert "**Contradicted (in part; the setting cannot decide the rest).**" in text
    assert "Why the rest is not decided: 8 epochs" in text
    undecided = next(line for line in text.splitlines() if "adam generalises worse" in line)
    assert "Holm p" not in undecided and "in no family: this setting cannot decide it" in undecided
    table = report.tests_table({workload(per_run): evaluation}).set_index("test")
    assert table.loc["adam converges faster", "status"] == contrasts.CONTRADICTED
    assert table.loc["adam converges faster", "family_size"] == 2
    assert table.loc["adam generalises worse", "status"] == verdicts.WRONG_REGIME
    assert math.isnan(table.loc["adam generalises worse", "p_holm"])
    assert "not decided (regime)" not in undecided and undecided.endswith("**not decided**.")
    # A decidable part short of seeds leaves the claim undecided, as it would at enough epochs.
    shutil.rmtree(tmp_path / "runs" / "amsgrad-s2")
    study = load_study(tmp_path)
    per_run = measures.run_measures(study, SETTINGS["target_val_accuracy"])
    assert decide(study, per_run, "a", {**SETTINGS, "min_epochs_generalisation": 30}).verdict == verdicts.WRONG_REGIME
    assert decide(study, per_run, "a", SETTINGS).verdict == verdicts.TOO_FEW_SEEDS


def test_untuned_rates_are_inferred_without_a_declaration(tmp_path):
    study, per_run = build(tmp_path, {"sgdm": BASE, "adam": BASE})
    regime = verdicts.workload_regime(study, workload(per_run), {**SETTINGS, "learning_rates": {}})
    assert regime.rates == claim_schema.TUNED  # every run was started with --hparams
    for run in study.runs:
        manifest = json.loads((run.path / "manifest.json").read_text())
        (run.path / "manifest.json").write_text(json.dumps({**manifest, "command": "train"}))
    regime = verdicts.workload_regime(load_study(tmp_path), workload(per_run), {**SETTINGS, "learning_rates": {}})
    assert regime.rates == claim_schema.UNTUNED and "inferred" in regime.rates_source


def test_best_p_is_selected_on_validation_never_on_test(tmp_path):
    finals = {"sgdm": BASE, "amsgrad": BASE}
    for seed in BASE:
        # p = 1/4 is best on validation and p = 1/16 on test: the claim must test p = 1/4.
        write_run(tmp_path, "padam", seed, BASE[seed] - 0.05, partial=0.25, val_accuracy=[0.9] * EPOCHS)
        write_run(tmp_path, "padam", seed, BASE[seed] - 0.10, partial=0.0625, val_accuracy=[0.5] * EPOCHS)
    study, per_run = build(tmp_path, finals)
    verdict = decide(study, per_run, "c")
    assert [o.spec["a"] for o in verdict.outcomes] == ["padam(p=0.25)", "padam(p=0.25)"]
    assert "Best interior p: padam(p=0.25) (p = 0.25)" in verdict.notes[0]
    assert verdict.verdict == verdicts.HOLDS


def test_missing_optimizer_makes_a_claim_untestable_and_if_run_tests_are_skipped(tmp_path):
    study, per_run = build(tmp_path, {"padam": offset([-0.01, -0.011, -0.009]), "sgdm": BASE})
    assert decide(study, per_run, "d").verdict == verdicts.NOT_TESTABLE
    smoother = decide(study, per_run, "e", optimizers=["sgdm", "adam", "padam"])
    assert [o.spec["b"] for o in smoother.outcomes] == ["sgdm"]
    assert any("Skipped (adam not run)" in note for note in smoother.notes)
    no_target = decide(study, per_run, "a", {**SETTINGS, "target_val_accuracy": None})
    assert no_target.verdict == verdicts.NOT_TESTABLE


def test_an_untestable_claim_names_each_missing_optimizer_once(tmp_path):
    # Claim (f) needs sgd and nadam; with neither run, two of its tests lack both.
    study, per_run = build(tmp_path, {"amsgrad": BASE, "adam": offset([0.01, 0.02, 0.03])})
    verdict = decide(study, per_run, "f")
    assert verdict.verdict == verdicts.NOT_TESTABLE
    assert verdict.reasons == ("needs runs of nadam and sgd",)


# ---------------------------------------------------------------------------
# Pre-registration
# ---------------------------------------------------------------------------

OPTIMIZERS = ["sgd", "sgdm", "adam", "nadam", "amsgrad", "padam"]


def test_preregister_writes_the_declared_schema_before_runs(tmp_path):
    write_study_file(tmp_path, preset="cpu-budget", optimizers=OPTIMIZERS, seeds=[0, 1, 2])
    section = claims.preregister(tmp_path, target_val_accuracy=0.8, learning_rates={"cpu-budget": "tuned"}, now=T0)
    stored = json.loads((tmp_path / "study.json").read_text())
    assert stored["preset"] == "cpu-budget" and stored["preregistration"] == section
    assert section["schema"] == 1 and section["written_at"] == T0
    assert [c["id"] for c in section["contrasts"]] == [
        "sgd-sgdm",
        "adam-sgdm",
        "nadam-sgdm",
        "amsgrad-sgdm",
        "padam-sgdm",
        "padam-amsgrad",
        "padam-adam",
    ]
    assert [c["id"] for c in section["claims"]] == ["a", "b", "c", "d", "e", "f"]
    assert section["settings"]["equivalence_margin_pp"] == 1.0
    assert section["settings"]["target_val_accuracy"] == 0.8
    assert all(item["after_results"] is False and item["declared_at"] == T0
               for item in section["contrasts"] + section["claims"] + [section["settings"]])  # fmt: skip
    # The grid rewrites its plan on every resume; the declaration stays.
    write_study_file(tmp_path, preset="cpu-budget", optimizers=OPTIMIZERS, seeds=[0, 1, 2, 3])
    assert json.loads((tmp_path / "study.json").read_text())["preregistration"] == section


def test_late_declarations_are_marked_and_unchanged_ones_keep_their_time(tmp_path):
    claims.preregister(tmp_path, optimizers=OPTIMIZERS, target_val_accuracy=0.8, now=T0)
    write_run(tmp_path, "sgdm", 0, 0.3)  # a result exists from here on
    later = "2026-02-01T00:00:00+00:00"
    extra = {"id": "g", "statement": "adam below nadam", "source": "a referee",
             "tests": [spec("adam", "nadam")]}  # fmt: skip
    section = claims.preregister(tmp_path, optimizers=OPTIMIZERS, target_val_accuracy=0.7, extra_claims=[extra],
                                 now=later)  # fmt: skip
    by_id = {c["id"]: c for c in section["claims"]}
    assert by_id["a"]["declared_at"] == T0 and by_id["a"]["after_results"] is False
    assert by_id["g"]["declared_at"] == later and by_id["g"]["after_results"] is True
    assert section["settings"]["after_results"] is True and section["settings"]["target_val_accuracy"] == 0.7
    assert [(s["kind"], s["target_val_accuracy"]) for s in section["superseded"]] == [("settings", 0.8)]
    assert section["written_at"] == T0


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="unknown metric"):
        claims.normalise_claim({"id": "x", "statement": "s", "tests": [spec("a", "b", metric="accuracy")]})
    with pytest.raises(ValueError, match="direction"):
        claims.normalise_claim({"id": "x", "statement": "s", "tests": [spec("a", "b", direction=None)]})
    # A default margin is pp of an error or of the budget: a loss's equivalence must state its own.
    like = spec("a", "b", metric="train_loss_100", form="equivalence", direction=None)
    with pytest.raises(ValueError, match=r"needs its own 'margin' \(in loss\)"):
        claims.normalise_claim({"id": "x", "statement": "s", "tests": [like]})
    assert claims.normalise_claim({"id": "x", "statement": "s", "tests": [{**like, "margin": 0.05}]})["tests"]
    with pytest.raises(ValueError, match="target_val_accuracy"):
        claims.preregister("/nonexistent-study", target_val_accuracy=80)
