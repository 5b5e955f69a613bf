"""The report's Tuning, Padam-across-p, Across-budgets and rate-check sections, from synthetic studies whose
answers are known."""

import json
import os
import shutil

os.environ.setdefault("MPLBACKEND", "Agg")

import pandas as pd
import pytest
from test_study_report import JITTER, SEED_EFFECT, curve, write_run

from keras_resnet_opt.cli.report import main as report_main
from keras_resnet_opt.search_files import BEST_HPARAMS, TRIAL_COLUMNS, TRIALS_CSV
from keras_resnet_opt.study import budgets, claims, rate_check, report, report_tuning, tuning_results, verdicts
from keras_resnet_opt.study.analysis import analyse
from keras_resnet_opt.study.report_budgets import rate_check_section

SEEDS = (0, 1, 2)
OPTIMIZERS = ["sgdm", "adam", "amsgrad", "padam"]


def write_search(study_dir, name, optimizer, rates, accuracies, partial=None, initial=3, seed=100):
    """A finished search folder as `tuning/search.py` leaves it: trials.csv and best_hparams.json."""
    folder = study_dir / "tuning" / name
    folder.mkdir(parents=True)
    rows = [
        {"optimizer": optimizer, "trial_id": str(i), "learning_rate": lr, "partial": None, "weight_decay": None,
         "val_accuracy": acc, "status": "completed", "epochs": 10, "tuner_id": "tuner0", "replicas": 1,
         "train_loss": 0.5}
        for i, (lr, acc) in enumerate(zip(rates, accuracies))
    ]  # fmt: skip
    pd.DataFrame(rows, columns=list(TRIAL_COLUMNS)).to_csv(folder / TRIALS_CSV, index=False)
    best = max(zip(accuracies, rates))[1]
    space = {
        "optimizer": optimizer, "learning_rate": {"initial": list(rates[:initial]), "grid": sorted(rates)},
        "partial": None if partial is None else {"values": [partial], "default": partial},
    }  # fmt: skip
    record = {"space": space, "seed": seed, "epochs": 10, "tuner": "edge-grid", "trials": len(rates)}
    best_hparams = {"best": {optimizer: {"learning_rate": best, "partial": partial}}, "searches": {optimizer: record}}
    (folder / BEST_HPARAMS).write_text(json.dumps(best_hparams))
    return folder


def declare(study_dir, preset, target=0.5):
    claims.preregister(
        study_dir, optimizers=OPTIMIZERS, target_val_accuracy=target, learning_rates={preset: "tuned"},
        min_epochs_generalisation=30, now="2026-01-01T00:00:00+00:00",
    )  # fmt: skip


def write_budget(study_dir, preset, epochs, finals, rates=None):
    """Runs of `finals` ({variant: final test error}) at `epochs`, seeds 0-2, paired by a shared seed effect."""
    declare(study_dir, preset)
    for index, (optimizer, final) in enumerate(finals.items()):
        for seed in SEEDS:
            errors = curve(final + SEED_EFFECT[seed] + JITTER[(seed + index) % 3], 0.5, 0.0, seed, epochs)
            write_run(study_dir, optimizer, seed, errors, preset=preset, epochs=epochs, subset=None,
                      learning_rate=(rates or {}).get(optimizer, 0.1))  # fmt: skip
    return study_dir


# 10 epochs: adam ahead of sgdm; 30 epochs: sgdm ahead of adam (the paper's picture).
SHORT = {"sgdm": 0.20, "adam": 0.15, "amsgrad": 0.16, "padam": 0.18}
LONG = {"sgdm": 0.08, "adam": 0.12, "amsgrad": 0.11, "padam": 0.08}


@pytest.fixture(scope="module")
def two_budgets(tmp_path_factory):
    root = tmp_path_factory.mktemp("budgets")
    short = write_budget(root / "short", "b10", 10, SHORT)
    long = write_budget(root / "long", "b30", 30, LONG)
    return short, long


def test_a_claim_stated_differently_at_one_budget_is_not_lined_up(tmp_path):
    short = write_budget(tmp_path / "short", "b10", 10, SHORT)
    long = write_budget(tmp_path / "long", "b30", 30, LONG)
    shared = {claim["id"] for claim, _ in budgets.claim_rows(budgets.budgets([analyse(short), analyse(long)]))}
    assert "d" in shared
    declared = json.loads((long / "study.json").read_text())
    for claim in declared["preregistration"]["claims"]:
        if claim["id"] == "d":
            claim["statement"] = "Another hypothesis under the same id."
    (long / "study.json").write_text(json.dumps(declared))
    columns = budgets.budgets([analyse(short), analyse(long)])
    assert {claim["id"] for claim, _ in budgets.claim_rows(columns)} == shared - {"d"}


def test_contrast_movement_rules():
    assert budgets.movement(["lower", "higher"]) == budgets.REVERSED
    assert budgets.movement(["lower", "inconclusive"]) == budgets.APPEARS
    assert budgets.movement(["higher", "higher"]) == budgets.SAME
    assert budgets.movement(["inconclusive", "too few seeds"]) == budgets.UNDECIDED


def test_each_budget_keeps_its_own_decisions(two_budgets):
    short, long = two_budgets
    columns = budgets.budgets([analyse(short), analyse(long)])
    assert budgets.shared_variants(columns) == OPTIMIZERS
    changes = {(a, b): (outcomes, move) for a, b, outcomes, move in budgets.contrast_changes(columns)}
    outcomes, move = changes[("adam", "sgdm")]
    assert [o.status for o in outcomes.values()] == ["lower", "higher"] and move == budgets.REVERSED
    # padam = sgdm at 30 epochs up to the jitter: decided at 10 epochs only
    assert changes[("padam", "sgdm")][1] == budgets.APPEARS
    order = budgets.rankings(columns)
    assert list(order.values()) == [["adam", "amsgrad", "padam", "sgdm"], ["padam", "sgdm", "amsgrad", "adam"]]
    rows = budgets.budget_rows(columns)
    assert len(rows) == 8 and set(rows["epochs"]) == {10, 30}
    # the curves' train error is the test error less 5 pp, so every gap is 5 pp and every paired gap 0
    assert rows["gen_gap_mean"].round(6).eq(0.05).all()
    for _, _, by_budget in budgets.gap_contrasts(columns):
        assert all(abs(mean) < 1e-9 and n == 3 for mean, _, _, n in by_budget.values())


def test_the_papers_picture_is_read_from_the_test_error_along_training(two_budgets, tmp_path):
    short, long = two_budgets
    columns = budgets.budgets([analyse(short), analyse(long)])
    along = {(a, b): v for a, b, v in budgets.along_contrasts(columns)}
    readings = [budgets.picture(along[("adam", "sgdm")][w]) for _, w in columns]
    # adam ahead all along at 10 epochs, behind all along at 30: the picture needs both in one budget.
    assert readings == ["ahead early, ahead at the end", "behind early, behind at the end"]
    unclear = {"25%": (-1.0, -3.0, 1.0, 3), "50%": (-1.0, -3.0, 1.0, 3), "100%": (2.0, 0.5, 3.5, 3)}
    assert budgets.picture(unclear) == "no clear difference early, behind at the end"
    assert budgets.picture({**unclear, "50%": (-1.0, float("nan"), float("nan"), 1)}) == budgets.NOT_AVAILABLE
    # A budget where adam converges fast to a worse end: ahead at 25% and 50%, behind at 100%.
    picture = tmp_path / "picture"
    declare(picture, "b30")
    for seed in SEEDS:
        for optimizer, final, k in (("sgdm", 0.08, 0.1), ("adam", 0.12 + JITTER[seed], 1.5)):
            write_run(picture, optimizer, seed, curve(final + SEED_EFFECT[seed], k, 0.0, seed, 30), preset="b30",
                      epochs=30, subset=None)  # fmt: skip
    columns = budgets.budgets([analyse(short), analyse(picture)])
    (_, _, by_budget), = budgets.along_contrasts(columns, [("adam", "sgdm")])
    mean, low, high, n = by_budget[columns[1][1]]["25%"]
    assert n == 3 and high < 0 and by_budget[columns[1][1]]["100%"][1] > 0
    assert budgets.picture(by_budget[columns[1][1]]) == budgets.PICTURE
    text = report.write_report(short, budget_dirs=[picture]).read_text()
    row = next(line for line in text.splitlines() if line.startswith("| adam - sgdm | ") and "(30 ep)" in line)
    assert row.endswith("| ahead early, behind at the end: the paper's picture |")
    assert "(resnet20 b10 (10 ep): epochs 3, 5, 10; resnet20 b30 (30 ep): epochs 8, 15, 30);" in text


def test_report_across_budgets(two_budgets):
    short, long = two_budgets
    text = report.write_report(short, budget_dirs=[long]).read_text()
    assert "## Across budgets" in text
    assert f"python scripts/report.py {short} --budget {long}" in text
    assert "**The ranking flips with budget**: adam - sgdm" in text
    assert "| adam - sgdm | -5.00 pp: differs: adam lower | +4.00 pp: differs: adam higher | reversed |" in text
    claim_lines = [line for line in text.splitlines() if line.startswith("| (a) ")]
    assert len(claim_lines) == 1 and "Not decided: this setting cannot decide it" in claim_lines[0]
    for name in ("budget_curves.png", "budget_profile.png", "budgets.csv"):
        assert (short / name).is_file()
    assert report.write_report(short, budget_dirs=[long]).read_text() == text  # deterministic


def test_same_order_without_a_flip(tmp_path):
    short = write_budget(tmp_path / "short", "b10", 10, SHORT)
    longer = write_budget(tmp_path / "long", "b30", 30, {k: v - 0.05 for k, v in SHORT.items()})
    text = report.write_report(short, budget_dirs=[longer]).read_text()
    assert "The order of the means is the same at every budget, and no declared contrast reverses." in text


def test_a_budget_without_finished_runs_compares_nothing(tmp_path):
    short = write_budget(tmp_path / "short", "b10", 10, SHORT)
    long = tmp_path / "long"
    declare(long, "b30")
    write_run(long, "sgdm", 0, [0.5, 0.4], preset="b30", epochs=30, subset=None, finished=False)
    text = report.write_report(short, budget_dirs=[long]).read_text()
    assert "No optimizer has finished runs at every budget yet." in text
    assert "| long (no finished run yet) | `long` | - | 50% |" in text
    assert "reverses" not in text and not (short / "budgets.csv").exists()
    # Before its first run writes anything, a declared budget has no runs/ folder at all: shown all the same.
    (long / "runs" / "sgdm-s0").rename(tmp_path / "moved")
    (long / "runs").rmdir()
    text = report.write_report(short, budget_dirs=[long]).read_text()
    assert "| long (no finished run yet) | `long` | - | 50% |" in text


def test_a_variant_missing_at_one_budget(tmp_path):
    short = write_budget(tmp_path / "short", "b10", 10, SHORT)
    long = write_budget(tmp_path / "long", "b30", 30, {k: v for k, v in LONG.items() if k != "amsgrad"})
    text = report.write_report(short, budget_dirs=[long]).read_text()
    assert "Not run at every budget, so left out of this section: amsgrad." in text
    assert "| amsgrad - sgdm | -4.00 pp: differs: amsgrad lower | not run | not run at every budget |" in text
    # a later report without --budget leaves no stale comparison behind
    report.write_report(short)
    assert not (short / "budgets.csv").exists() and not (short / "budget_curves.png").exists()


def test_failed_trials_count_as_tried(tmp_path):
    folder = write_search(tmp_path, "adam", "adam", [1e-4, 1e-3, 1e-2], [0.70, 0.78, 0.75])
    trials = pd.read_csv(folder / TRIALS_CSV)
    trials.loc[2, ["status", "val_accuracy"]] = ["failed", None]
    trials.to_csv(folder / TRIALS_CSV, index=False)
    row = tuning_results.search_rows(tuning_results.read_searches(tmp_path)).iloc[0]
    assert row.rates == (1e-4, 1e-3, 1e-2) and row.completed == 2
    assert row.edge == "interior"  # 1e-2 was tried (and failed): the winner is not on the grid's edge
    lines = "\n".join(report_tuning.tuning_section(tuning_results.search_rows(tuning_results.read_searches(tmp_path)),
                                                   ([100], [], [])))  # fmt: skip
    assert "0.01: failed" in lines


def test_cli_budget_flag(two_budgets, capsys):
    short, long = two_budgets
    assert report_main([str(short), "--budget", str(long)]) == 0
    assert "## Across budgets" in (short / "report.md").read_text()
    assert report_main([str(short), "--budget", str(short.parent / "missing")]) == 2
    assert "has neither" in capsys.readouterr().err  # no runs/, no study.json: a wrong path, not a budget to come


@pytest.fixture
def tuned_study(tmp_path):
    write_search(tmp_path, "sgdm", "sgdm", [0.0316, 0.1, 0.316], [0.78, 0.80, 0.75])
    # adam's first winner sat on the high edge; one extension found the optimum inside
    write_search(tmp_path, "adam", "adam", [3.16e-4, 1e-3, 3.16e-3, 1e-2], [0.67, 0.78, 0.79, 0.76])
    write_search(tmp_path, "padam-p0.25", "padam", [0.01, 0.0316, 0.1], [0.70, 0.74, 0.77], partial=0.25)
    (tmp_path / "tuning" / "amsgrad").mkdir()  # still running: no trials.csv yet
    declare(tmp_path, "b10")
    finals = {"sgdm": 0.20, "adam": 0.15, "amsgrad": 0.16, "padam": 0.18}
    write_budget(tmp_path, "b10", 10, finals, rates={"sgdm": 0.1, "adam": 0.001, "amsgrad": 0.001})
    for seed in SEEDS:
        errors = curve(0.17 + SEED_EFFECT[seed], 0.5, 0.0, seed, 10)
        write_run(tmp_path, "padam", seed, errors, partial=0.25, preset="b10", epochs=10, subset=None)
    return tmp_path


def test_search_rows(tuned_study):
    searches = tuning_results.read_searches(tuned_study)
    study = analyse(tuned_study).study
    rows = tuning_results.search_rows(searches, study).set_index("variant")
    assert list(rows.index) == ["sgdm", "adam", "amsgrad", "padam(p=0.25)"]
    assert rows.loc["sgdm", "best_lr"] == 0.1 and rows.loc["sgdm", "edge"] == "interior"
    assert rows.loc["sgdm", "runs_match"] is True
    assert rows.loc["adam", "trials"] == 4 and rows.loc["adam", "best_lr"] == 3.16e-3
    assert rows.loc["adam", "runs_match"] is False  # the runs trained at 1e-3, not the chosen 3.16e-3
    assert rows.loc["amsgrad", "status"] == "not finished"
    assert rows.loc["padam(p=0.25)", "edge"] == "high edge" and rows.loc["padam(p=0.25)", "partial"] == 0.25
    assert tuning_results.tuning_seed_check(rows.reset_index(), study) == ([100], [0, 1, 2], [])


def test_report_tuning_and_p_sections(tuned_study):
    text = report.write_report(tuned_study).read_text()
    tuning = text[text.index("## Tuning"):text.index("## Results")]
    sgdm = "| sgdm | - | 3/3 (0) | 0.0316: 78.00; **0.1: 80.00**; 0.316: 75.00 | 0.1 | 80.00 | interior | 0.1 (as "
    assert sgdm in tuning
    assert "| adam | - | 4/4 (1) |" in tuning and "0.001 (**not the chosen rate**)" in tuning
    assert "| amsgrad | - | - | search not finished |" in tuning
    assert "**high edge** (the optimum may lie higher)" in tuning
    assert "Tuning seed 100; final runs' seeds 0, 1, 2: disjoint" in tuning
    assert "![Learning-rate sensitivity](lr_sensitivity.png)" in tuning and (tuned_study / "tuning.csv").is_file()
    p_section = text[text.index("### Padam across p"):text.index("## Paired contrasts")]
    rows = [line.split(" | ")[0] for line in p_section.splitlines() if line.startswith("| ") and "---" not in line]
    # amsgrad's search has not finished, so its runs' rate was not chosen by it: marked
    assert rows[1:] == ["| sgdm (p -> 0 end)", "| padam", "| padam(p=0.25)",
                        "| amsgrad (**not at its search's chosen rate**) (p = 1/2 end)"]  # fmt: skip
    assert "Each p at its own tuned learning rate" in p_section


def test_the_p_choice_is_made_again_on_the_tuning_seed(tuned_study):
    write_search(tuned_study, "padam", "padam", [0.1, 0.316, 1.0], [0.76, 0.79, 0.74], partial=0.125)
    text = report.write_report(tuned_study).read_text()
    p_section = text[text.index("### Padam across p"):text.index("## Paired contrasts")]
    line = next(line for line in p_section.splitlines() if line.startswith("The same choice on the tuning seed"))
    assert "(seed 100, which no final run shares)" in line
    # The final runs choose p = 1/4 (its runs end 1 pp lower); the tuning seed prefers 1/8.
    assert "p = 0.125: 79.00%; p = 0.25: 77.00%. It picks p = 0.125, **a different p** from the final runs' " \
           "choice (p = 0.25)." in line
    study = analyse(tuned_study)
    assert verdicts.declared_p_selection(study.declaration, study.per_run, study.workloads[0]).partial == 0.25


def test_nested_study_is_linked(tuned_study):
    (tuned_study / "control").mkdir()
    (tuned_study / "control" / "study.json").write_text("{}")
    text = report.write_report(tuned_study).read_text()
    assert "`control/` (its report: [control/report.md](control/report.md))" in text


def test_unreadable_trials_table_is_a_clear_error(tmp_path, capsys):
    declare(tmp_path, "b10")
    write_run(tmp_path, "sgdm", 0, [0.5, 0.4], preset="b10", subset=None)
    (tmp_path / "tuning" / "sgdm").mkdir(parents=True)
    (tmp_path / "tuning" / "sgdm" / TRIALS_CSV).write_text("a,b\n1,2\n")
    assert report_main([str(tmp_path)]) == 2
    assert "not a search's trials table" in capsys.readouterr().err


def test_rate_check_sets_other_rates_beside_the_tuned_run_and_names_the_best_on_validation(tmp_path):
    long = write_budget(tmp_path / "long", "b30", 30, LONG)
    check = tmp_path / "long" / rate_check.RATE_CHECK_DIR
    # sgdm (tuned 0.1, final 0.08 at seed 0): x3 ends 1 point lower, /3 two points higher; adam: only /3, worse.
    for prefix, optimizer, rate, final in (("x3-", "sgdm", 0.3, 0.07), ("d3-", "sgdm", 0.1 / 3, 0.10),
                                           ("d3-", "adam", 0.1 / 3, 0.20)):  # fmt: skip
        write_run(check, optimizer, 0, curve(final, 0.5, 0.0, 0, 30), preset="b30", epochs=30, subset=None,
                  learning_rate=rate, prefix=prefix)  # fmt: skip
    write_run(check, "amsgrad", 0, [0.5, 0.4], preset="b30", epochs=30, subset=None, finished=False, prefix="u-")
    study = analyse(long).study
    rows = rate_check.rate_check_rows(long, study)
    assert list(zip(rows["variant"], rows["rate_factor"].round(4))) == [
        ("sgdm", 0.3333), ("sgdm", 1.0), ("sgdm", 3.0), ("adam", 0.3333), ("adam", 1.0)]
    tuned_sgdm = pd.read_csv(long / "runs" / "sgdm-s0" / "history.csv")["val_accuracy"].iloc[-1]
    assert rows["val_error"].iloc[1] == pytest.approx(1.0 - tuned_sgdm)
    best = rate_check.best_on_validation(rows)
    assert best[("sgdm", 0)] == pytest.approx((3.0, 0.07 - (1.0 - tuned_sgdm)))
    assert best[("adam", 0)][0] == 1.0
    # a tie goes to the tuned rate
    tie = rows.copy()
    tie.loc[tie["rate_factor"] > 2, "val_error"] = tie.loc[(tie["variant"] == "sgdm") & (tie["rate_factor"] == 1.0),
                                                           "val_error"].iloc[0]  # fmt: skip
    assert rate_check.best_on_validation(tie)[("sgdm", 0)] == (1.0, 0.0)
    tie_text = "\n".join(rate_check_section(tie, study))
    assert "- sgdm, seed 0: the tuned rate ties for the lowest final validation error with x3;" in tie_text
    # a winner inside the checked range is not said to be at its end
    inner = pd.concat([rows, rows.iloc[[2]].assign(rate_factor=9.0, learning_rate=0.9, val_error=0.5)])
    inner_text = "\n".join(rate_check_section(inner, study))
    assert "- sgdm, seed 0: the rate at x3 the tuned one (0.3) has the lowest" in inner_text
    assert "end of the checked range" not in inner_text.split("- sgdm, seed 0:")[1].split("\n")[0]
    spread = pd.Series([1.0 - pd.read_csv(long / "runs" / f"sgdm-s{s}" / "history.csv")["val_accuracy"].iloc[-1]
                        for s in SEEDS]).std(ddof=1)  # fmt: skip
    assert rate_check.seed_spread(study, "sgdm", rows["workload"].iloc[0]) == pytest.approx(spread)

    text = report.write_report(long).read_text()
    assert "## Was the tuned rate still right at this budget?" in text
    assert "| sgdm | 0 | 0.3 | x3 | 7.00 |" in text
    assert (f"- sgdm, seed 0: the rate at x3 the tuned one (0.3) has the lowest final validation error, "
            f"{100 * (1 - tuned_sgdm) - 7:.2f} pp") in text
    assert "It is the end of the checked range, so the optimum may lie further out." in text
    assert f"{100 * 2**0.5 * spread:.2f} pp here" in text
    assert "- adam, seed 0: the tuned rate has the lowest final validation error" in text
    assert (long / "rate_check.csv").is_file()
    shutil.rmtree(check / "runs")  # a rate-check folder without runs/ reports nothing, and breaks nothing
    assert "Was the tuned rate" not in report.write_report(long).read_text()
    assert not (long / "rate_check.csv").exists()


def test_rate_sources_of_one_search_per_variant_are_said_once():
    from keras_resnet_opt.study.report_budgets import _folded_paths

    paths = ["results/s/tuning/adam/best_hparams.json", "results/s/tuning/sgdm/best_hparams.json", "other/h.json"]
    assert _folded_paths(paths) == ["`results/s/tuning/<variant>/best_hparams.json` (2 files)", "`other/h.json`"]
    assert _folded_paths(["a/b/h.json"]) == ["`a/b/h.json`"]
