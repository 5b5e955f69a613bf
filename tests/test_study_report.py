"""The report end to end, from synthetic run directories in tmp_path whose verdicts are known."""

import json
import math
import os
import runpy
import shutil
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pandas as pd
import pytest
from run_dirs import write_run_dir
from scipy import stats as scipy_stats

from keras_resnet_opt.study import claims, contrasts, measures, report, report_caveats, report_contrasts
from keras_resnet_opt.study.runs import load_study

EPOCHS = 8
SEEDS = (0, 1, 2)
REPO = Path(__file__).resolve().parents[1]
# Seed effects shared by every optimizer (the pairing) and a little jitter of each run's own.
SEED_EFFECT = {0: 0.0, 1: 0.02, 2: 0.04}
JITTER = (0.0005, -0.0004, 0.0002)
# optimizer: (final test error, convergence rate k, roughness amplitude of the curve, p)
WORLD = {
    "sgd": (0.20, 0.3, 0.02, None),
    "sgdm": (0.10, 0.3, 0.02, None),
    "adam": (0.15, 2.0, 0.02, None),
    "nadam": (0.16, 2.0, 0.02, None),
    "amsgrad": (0.14, 2.0, 0.02, None),
    "padam": (0.10, 2.0, 0.0, None),
    "padam-p0.25": (0.07, 2.0, 0.0, 0.25),
    "padam-p0.0625": (0.12, 2.0, 0.0, 0.0625),
}
# Claims (a)-(f) in this world: adam/amsgrad reach the target sooner than sgdm and end
# higher; padam is as fast and ends like sgdm; p = 1/4 beats both ends; padam ends
# below amsgrad (so (d) is contradicted); padam's curve is the smooth one; amsgrad is
# lowest and sgd highest of sgd/adam/nadam/amsgrad.
EXPECTED = {"a": "Holds", "b": "Holds", "c": "Holds", "d": "Contradicted", "e": "Holds", "f": "Holds"}


def curve(final, k, roughness, seed, epochs=EPOCHS):
    t = np.arange(1, epochs + 1)
    errors = final + (0.9 - final) * np.exp(-k * t)
    amplitude = roughness * (1.0 + 0.02 * seed)
    errors[1:-1] += amplitude * (-1.0) ** t[1:-1]
    errors[-1] = final
    return errors


def write_run(study_dir, optimizer, seed, errors, partial=None, finished=True, model="resnet20", epochs=EPOCHS,
              subset=5000, prefix="", predictions=None, labels=None, preset="smoke", learning_rate=0.1):  # fmt: skip
    errors = np.asarray(errors, dtype=float)
    frame = pd.DataFrame(
        {
            "epoch": np.arange(1, len(errors) + 1), "loss": 2.0 * errors + 0.05, "accuracy": 1.0 - errors + 0.05,
            "val_loss": 2.0 * errors, "val_accuracy": 1.0 - errors, "test_loss": 2.0 * errors,
            "test_accuracy": 1.0 - errors, "test_error": errors, "learning_rate": 0.1, "epoch_time_s": 30.0,
            "test_eval_time_s": 5.0, "train_time_s": 25.0, "images_per_sec": 200.0, "step_time_ms": 50.0,
        }
    )  # fmt: skip
    config = {
        "preset": preset, "model": model, "optimizer": optimizer, "seed": seed, "epochs": epochs,
        "batch_size": 128, "learning_rate": learning_rate, "partial": partial, "weight_decay": 5e-4,
        "train_subset": subset, "val_size": 1000, "data_dir": "/data/cifar10", "lr_schedule": "constant",
        "lr_boundaries": [], "lr_decay_factor": 0.1,
    }  # fmt: skip
    manifest = None
    if finished:
        manifest = {
            "status": "finished", "diverged_at_epoch": None, "config": config, "final": {},
            "versions": {"tensorflow": "2.21.0", "keras": "3.15.0", "python": "3.11.9"},
            "device": "CPU (2 cores)", "data": {"source": "JPEG image folder", "checksum": "sha256:0123"},
            "peak_memory_mib": 900.0, "wall_time_s": 240.0, "command": "python scripts/train.py --hparams h.json",
        }  # fmt: skip
    name = prefix + (f"{optimizer}-p{partial}-s{seed}" if partial else f"{optimizer}-s{seed}")
    write_run_dir(study_dir / "runs" / name, config, frame, manifest, predictions, labels)


def build_world(study_dir, world=WORLD, seeds=SEEDS, declare=True):
    if declare:
        claims.preregister(
            study_dir, optimizers=["sgd", "sgdm", "adam", "nadam", "amsgrad", "padam"], target_val_accuracy=0.5,
            learning_rates={"smoke": "tuned"}, min_epochs_generalisation=5, now="2026-01-01T00:00:00+00:00",
            speed_margin_pp=25.0,  # two epochs of 8: the measure resolves one (12.5 pp), so a margin below it is moot
        )  # fmt: skip
    for index, (name, (final, k, roughness, p)) in enumerate(world.items()):
        optimizer = name.split("-")[0]
        for seed in seeds:
            jitter = JITTER[(seed + index) % 3]
            write_run(study_dir, optimizer, seed, curve(final + SEED_EFFECT[seed] + jitter, k, roughness, seed), p)
    return study_dir


def verdict_of(text, claim_id):
    line = next(line for line in text.splitlines() if line.startswith(f"- **({claim_id})**"))
    return line.rsplit("**", 2)[-2].rstrip(".")


@pytest.fixture(scope="module")
def world_study(tmp_path_factory):
    """The constructed world, reported once (PDFs too) and shared."""
    study_dir = build_world(tmp_path_factory.mktemp("world"))
    write_run(study_dir, "sgdm", 7, [0.9, 0.8], finished=False)
    manifest_path = study_dir / "runs" / "adam-s0" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "code": {"commit": "0123456789abcdef", "dirty": True}}))
    report.write_report(study_dir, pdf=True)
    return study_dir


def test_claims_a_to_f_decided_as_constructed(world_study):
    text = (world_study / "report.md").read_text()
    assert {c: verdict_of(text, c) for c in EXPECTED} == EXPECTED
    assert "Tested in: smoke: 8 epochs on the 5000-image training subset, learning rates tuned per optimizer" in text
    assert "Best interior p: padam(p=0.25) (p = 0.25)" in text
    assert "*(added after the results)*" not in text  # everything was declared before the runs
    # p = 1/4, not the main comparison's 1/8, was chosen on validation: its row is flagged under the table.
    assert "**padam(p=0.25) had more tuning than the other rows**: claim (c) chose its p (0.25)" in text


def test_no_more_tuning_flag_when_validation_chooses_the_main_p(tmp_path):
    world = {k: v for k, v in WORLD.items() if k != "padam-p0.25"}  # now padam (p = 1/8) is best on validation
    text = report.write_report(build_world(tmp_path, world)).read_text()
    assert "Best interior p: padam (p = 0.125)" in text and "had more tuning" not in text


def test_contrast_table_and_no_overlap_verdicts(world_study):
    text = (world_study / "report.md").read_text()
    assert "| adam - sgdm | 3 (0, 1, 2) | 5.00 |" in text and "differs: adam higher" in text
    assert "overlap" not in text.replace("an interval is never compared", "")
    assert not hasattr(report, "compare_intervals")
    table = pd.read_csv(world_study / "contrasts.csv")
    row = table[(table["family"] == "contrasts") & (table["a"] == "adam")].iloc[0]
    diffs = [(0.15 + JITTER[(s + 2) % 3]) - (0.10 + JITTER[(s + 1) % 3]) for s in SEEDS]
    assert row["mean"] == pytest.approx(np.mean(diffs) * 100)
    assert row["p"] == pytest.approx(scipy_stats.ttest_1samp(diffs, 0.0).pvalue)
    assert row["family_size"] == 7


def test_report_contents_and_files(world_study):
    for name in ("report.md", "summary.csv", "summary.md", "summary.tex", "curves.csv", "contrasts.csv",
                 "train_loss.png", "test_error.png", "contrasts.png", "p_sweep.png", "p_sweep.pdf",
                 "contrasts.pdf"):  # fmt: skip
        assert (world_study / name).is_file(), name
    text = (world_study / "report.md").read_text()
    assert "![Paired contrasts, resnet20 smoke (8 ep, 5000 train)](contrasts.png)" in text
    assert "`sgdm-s7`: sgdm, seed 7, 2/8 epochs recorded" in text  # unfinished, listed
    assert "| sgdm | 3 |" in text  # and left out of the statistics
    assert "| padam(p=0.25) | 3 |" in text
    assert "JPEG image folder (checksum sha256:0123)" in text and "CPU (2 cores)" in text
    assert "Speed: epochs and steps to a validation accuracy of 50%" in text
    assert "first written 2026-01-01T00:00:00+00:00" in text
    assert "| Code commit(s) | 0123456789ab (uncommitted changes) |" in text
    assert "no predictions saved (sgd, sgdm)" in text
    assert "No published number matches this setup" in text and "Context only" in text
    for caveat in ("subset of 5000", "JPEG re-encoding", "Few epochs", "Trained on CPU", "decide nothing"):
        assert caveat in text
    assert ("- Model: resnet20, where the published optimizer comparisons the claims come from trained resnet18, "
            "vgg16: a ranking") in text  # fmt: skip


def test_regeneration_is_byte_identical(world_study):
    names = ("report.md", "summary.csv", "summary.md", "summary.tex", "curves.csv", "contrasts.csv",
             "test_error.png", "contrasts.png", "p_sweep.pdf")  # fmt: skip
    before = {name: (world_study / name).read_bytes() for name in names}
    report.write_report(world_study, pdf=True)
    assert {name: (world_study / name).read_bytes() for name in names} == before
    assert not [p for p in world_study.iterdir() if p.name.startswith(".")]  # no temp files left


def test_regime_blocks_what_this_setting_cannot_decide(tmp_path):
    build_world(tmp_path, declare=False)
    claims.preregister(tmp_path, optimizers=["sgd", "sgdm", "adam", "nadam", "amsgrad", "padam"],
                       target_val_accuracy=0.5, learning_rates={"smoke": "untuned"})  # fmt: skip
    text = report.write_report(tmp_path).read_text()
    assert all(verdict_of(text, c) == "Not decided: this setting cannot decide it" for c in EXPECTED)
    assert "8 epochs, fewer than the 30 declared for a claim about generalisation" in text
    assert text.count("*(added after the results)*") == 6  # declared once results existed


def test_undeclared_study_tests_the_defaults_as_added_after_the_results(tmp_path):
    build_world(tmp_path, declare=False)
    text = report.write_report(tmp_path).read_text()
    assert "declares no contrasts or claims" in text
    assert "none declared: no speed test can be decided" in text
    assert verdict_of(text, "a") == "Not testable"  # needs the target nobody declared
    assert text.count("*(added after the results)*") == 6


def test_mcnemar_on_the_seed0_pair(tmp_path):
    labels = np.arange(100) % 10
    sgdm_pred = np.where(np.arange(100) < 60, labels, (labels + 1) % 10)  # right on 0-59
    adam_right = (np.arange(100) < 50) | ((np.arange(100) >= 60) & (np.arange(100) < 65))
    adam_pred = np.where(adam_right, labels, (labels + 3) % 10)  # right on 0-49 and 60-64
    world = {"sgdm": WORLD["sgdm"], "adam": WORLD["adam"]}
    for index, (name, (final, k, roughness, _)) in enumerate(world.items()):
        for seed in SEEDS:
            predictions = {"sgdm": sgdm_pred, "adam": adam_pred}[name] if seed == 0 else None
            write_run(tmp_path, name, seed,
                      curve(final + SEED_EFFECT[seed] + JITTER[(seed + index) % 3], k, roughness, seed),
                      predictions=predictions, labels=labels if seed == 0 else None)  # fmt: skip
    text = report.write_report(tmp_path).read_text()
    p = scipy_stats.binomtest(5, 15, 0.5).pvalue
    # adam - sgdm: 5 images only adam gets right, 10 only sgdm; test error +5 pp.
    row = next(line for line in text.splitlines() if line.startswith("| adam - sgdm | 0 |"))
    assert row.startswith("| adam - sgdm | 0 | 5 | 10 | 5.00 ± ")
    assert f"| {p:.4f} |" in row


def test_published_numbers_side_by_side_when_setup_matches(tmp_path):
    for seed in (0, 1):
        errors = np.linspace(0.5, 0.05 + 0.01 * seed, 200)
        write_run(tmp_path, "padam", seed, errors, model="resnet18", epochs=200, subset=None)
    text = report.write_report(tmp_path).read_text()
    assert "Where this study's setup matches a published one" in text
    # Published Padam ResNet-18: 94.94% accuracy = 5.06% error; this study: 5.50% mean.
    assert "| padam | resnet18 | padam | 200 | 5.06 | 5.50 ±" in text
    assert "No published number matches" not in text
    assert "- Model: resnet18, where the published optimizer comparisons the claims come from also trained vgg16:" \
        in text


def test_several_workloads_get_a_performance_profile_and_lr_sensitivity(tmp_path):
    for model, shift in (("resnet20", 0.0), ("resnet32", -0.02)):
        for optimizer, final in (("sgdm", 0.10), ("adam", 0.12)):
            for seed in (0, 1):
                write_run(tmp_path, optimizer, seed, curve(final + shift, 1.0, 0.01, seed), model=model,
                          prefix=f"{model}-")  # fmt: skip
    trials = pd.DataFrame({"optimizer": ["sgdm", "adam"], "learning_rate": [0.1, 0.001], "val_accuracy": [0.8, 0.7]})
    text = report.write_report(tmp_path, tuning_trials=trials).read_text()
    assert "![Performance profile](performance_profile.png)" in text
    assert "![Learning-rate sensitivity](lr_sensitivity.png)" in text
    assert (tmp_path / "train_loss-resnet32-smoke-8-ep-5000-train.png").is_file()
    assert (tmp_path / "contrasts-resnet32-smoke-8-ep-5000-train.png").is_file()
    # results, paired contrasts, claims, published numbers
    assert text.count("### resnet32 smoke (8 ep, 5000 train)") == 4


def test_report_without_finished_runs(tmp_path):
    write_run(tmp_path, "sgdm", 0, [0.9, 0.8], finished=False)
    text = report.write_report(tmp_path).read_text()
    assert "No run has finished" in text and "`sgdm-s0`" in text


def test_title_and_design_notes_come_from_study_json(tmp_path):
    write_run(tmp_path, "sgdm", 0, curve(0.1, 0.3, 0.02, 0))
    assert report.write_report(tmp_path).read_text().startswith(f"# Optimizer study: {tmp_path.name}\n")
    assert "Design notes" not in (tmp_path / "report.md").read_text()
    notes = ["No AdamW arm: without weight decay its update is Adam's.", "SGD is read as `sgdm`."]
    (tmp_path / "study.json").write_text(json.dumps({"title": "the control arm", "design_notes": notes}))
    text = report.write_report(tmp_path).read_text()
    assert text.startswith("# Optimizer study: the control arm\n")
    setup = text.split("## Setup", 1)[1].split("## Runs", 1)[0]
    assert "Design notes (from `study.json`):\n\n- No AdamW arm" in setup and "- SGD is read as `sgdm`." in setup


def test_a_nested_studys_verdicts_stand_beside_this_studys(tmp_path):
    """A control arm in a subfolder: its own claims (one only it declares), lined up under the outer claims."""
    outer = build_world(tmp_path / "study")
    control = outer / "control"
    claims.preregister(
        control, optimizers=["sgd", "sgdm", "adam", "nadam", "amsgrad", "padam"], target_val_accuracy=0.5,
        learning_rates={"smoke": "tuned"}, min_epochs_generalisation=5, now="2026-01-01T00:00:00+00:00",
        extra_claims=[{"id": "z", "source": "padam-paper", "rates": ["tuned"], "statement": "Only the arm says so.",
                       "tests": [{"part": "padam above amsgrad", "a": "padam", "b": "amsgrad", "metric": "test_error",
                                  "form": "difference", "direction": "higher", "margin": None,
                                  "generalisation": False, "if_run": False}]}],
    )  # fmt: skip
    # In the arm Padam ends well above AMSGrad, so there (d) holds where the outer study contradicts it.
    build_world(control, {**WORLD, "padam": (0.25, 2.0, 0.0, None)}, declare=False)
    declared = json.loads((control / "study.json").read_text())
    # The arm states (f) its own way (as the real control arm reads the seed report's "SGD" as sgdm).
    for claim in declared["preregistration"]["claims"]:
        if claim["id"] == "f":
            claim["statement"] = "The arm's own reading of (f)."
    (control / "study.json").write_text(json.dumps({**declared, "title": "the control arm"}))
    (outer / "broken").mkdir()
    (outer / "broken" / "study.json").write_text("{}")  # no runs/: named, not fatal
    text = report.write_report(outer).read_text()
    section = text.split("## Studies kept inside this one\n", 1)[1].split("\n## ", 1)[0]
    assert "The control arm: 24 of 24 runs finished." in section
    rows = {line.split(" | ")[0].lstrip("| "): line.rstrip(" |").split(" | ")[1:]
            for line in section.splitlines() if line.startswith("| (")}  # fmt: skip
    assert rows["(d) Padam underperforms AMSGrad (higher final test error)."] == ["Contradicted", "Holds"]
    assert rows["(z) Only the arm says so."] == ["not declared here", "Holds"]
    # One id, two statements: a row each, never two hypotheses side by side in one row.
    here = next(k for k in rows if k.startswith("(f) here: "))
    assert rows[here][1] == "-" and rows[here][0] != "-"
    assert rows["(f) in `control/`: The arm's own reading of (f)."][0] == "-"
    assert "### `broken/`\n\nIt cannot be read:" in section
    # The top of the report points to the section; the claims of the outer study are unchanged by the arm.
    assert 'their verdicts: section "Studies kept inside this one"' in text
    assert {c: verdict_of(text, c) for c in EXPECTED} == EXPECTED


def test_plugin_optimizers_are_shown_by_class_and_kept_in_full_in_the_csv_files(tmp_path):
    plugin = "keras_resnet_opt.study.seed_port:SeedPortPadam"
    for seed in SEEDS:
        write_run(tmp_path, "sgdm", seed, curve(0.1 + SEED_EFFECT[seed], 0.3, 0.02, seed))
        write_run(tmp_path, plugin, seed, curve(0.3 + SEED_EFFECT[seed], 0.3, 0.02, seed), prefix="port-")
    text = report.write_report(tmp_path).read_text()
    note = next(line for line in text.splitlines() if line.startswith("Plug-in optimizers are named by their class"))
    assert f"`SeedPortPadam` is `{plugin}`" in note
    assert [line for line in text.splitlines() if plugin in line] == [note]  # the note alone names it in full
    assert "| SeedPortPadam | 3 |" in text and text.index(note) < text.index("## Runs")
    assert plugin in (tmp_path / "summary.csv").read_text()  # the data keep the name runs are grouped by
    (tmp_path / "none" / "runs").mkdir(parents=True)
    assert report.short_plugin_names("no plug-in here", load_study(tmp_path / "none")) == "no plug-in here"


def test_missing_runs_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="runs"):
        report.write_report(tmp_path)


def test_cli(tmp_path, capsys):
    build_world(tmp_path, {"sgdm": WORLD["sgdm"], "adam": WORLD["adam"]})
    main = runpy.run_path(str(REPO / "scripts" / "report.py"))["main"]
    assert main([str(tmp_path)]) == 0
    assert "report.md" in capsys.readouterr().out
    assert "Epochs to val 50% (median; reached)" in (tmp_path / "report.md").read_text()
    (tmp_path / "study.json").write_text(json.dumps({"preregistration": {"settings": {}, "claims": [{"id": "x"}]}}))
    assert main([str(tmp_path)]) == 2
    assert "needs an 'id' and a 'statement'" in capsys.readouterr().err


COMMITTED_STUDIES = sorted(
    p.parent for p in (REPO / "results").glob("**/contrasts.csv") if (p.parent / "runs").is_dir()
)


def _holm(p_values):
    """Holm's step-down adjustment, written out again for this check."""
    order = np.argsort(p_values)
    adjusted, running = np.empty(len(p_values)), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


@pytest.mark.parametrize("study_dir", COMMITTED_STUDIES, ids=lambda p: str(p.relative_to(REPO / "results")))
def test_committed_contrasts_equal_a_recomputation_from_the_histories(study_dir):
    """Every committed report's declared contrasts, recomputed here from history.csv alone (mean, CI, p, Holm)."""
    check_contrasts_against_histories(study_dir)


def test_the_recomputation_checks_decided_families(world_study):
    table = pd.read_csv(world_study / "contrasts.csv")
    assert table.loc[table["family"] == "contrasts", "p_holm"].notna().sum() >= 5
    check_contrasts_against_histories(world_study)


def check_contrasts_against_histories(study_dir):
    final = {}
    for path in (study_dir / "runs").glob("*/history.csv"):
        if not (path.parent / "manifest.json").is_file():
            continue  # unfinished: in no statistic
        config = json.loads((path.parent / "config.json").read_text())
        partial = config.get("partial")
        name = config["optimizer"] if partial in (None, 0.125) else f"{config['optimizer']}(p={partial:g})"
        subset = f", {config['train_subset']} train" if config.get("train_subset") else ""
        workload = f"{config['model']} {config['preset']} ({config['epochs']} ep{subset})"
        final[(workload, name, config["seed"])] = pd.read_csv(path)["test_error"].iloc[-1] * 100
    table = pd.read_csv(study_dir / "contrasts.csv")
    rows = table[(table["family"] == "contrasts") & (table["metric"] == "test_error")]
    assert len(rows)
    for workload, family in rows.groupby("workload"):
        for row in family.itertuples():
            seeds = sorted({s for w, o, s in final if (w, o) == (workload, row.a)}
                           & {s for w, o, s in final if (w, o) == (workload, row.b)})  # fmt: skip
            diffs = np.array([final[(workload, row.a, s)] - final[(workload, row.b, s)] for s in seeds])
            assert row.n == len(diffs) and row.mean == pytest.approx(diffs.mean(), abs=1e-9)
            if len(diffs) > 1:
                half = scipy_stats.t.ppf(0.975, len(diffs) - 1) * diffs.std(ddof=1) / np.sqrt(len(diffs))
                assert (row.ci95_low, row.ci95_high) == pytest.approx((diffs.mean() - half, diffs.mean() + half))
                assert row.p == pytest.approx(scipy_stats.ttest_1samp(diffs, 0.0).pvalue)
        decided = family[family["p_holm"].notna()]
        if len(decided):
            assert decided["p_holm"].to_numpy() == pytest.approx(_holm(decided["p"].to_numpy()))


def test_no_negative_zero_in_tables():
    from keras_resnet_opt.study.tables import fmt_interval, fmt_number, fmt_pm

    assert fmt_number(-1e-12) == "0.00" and fmt_number(-0.004) == "0.00" and fmt_number(-0.006) == "-0.01"
    assert fmt_interval(-1e-9, 1e-9) == "[0.00, 0.00]" and fmt_pm(-1e-9, 0.5, 100.0) == "0.00 ± 50.00"


@pytest.mark.parametrize("padam_beta_2", [0.999, 0.99])
def test_caveats_say_how_train_error_is_measured_and_when_p_half_is_not_the_amsgrad_row(tmp_path, padam_beta_2):
    for seed in (0, 1):
        write_run(tmp_path, "amsgrad", seed, curve(0.2, 1.0, 0.01, seed))
        write_run(tmp_path, "padam", seed, curve(0.21, 1.0, 0.01, seed), partial=0.5)
    for run_dir in (tmp_path / "runs").iterdir():
        manifest = json.loads((run_dir / "manifest.json").read_text())
        beta_2 = padam_beta_2 if run_dir.name.startswith("padam") else 0.99
        manifest["optimizer_config"] = {"beta_1": 0.9, "beta_2": beta_2, "epsilon": 1e-8}
        manifest["config"]["augment"] = True
        (run_dir / "manifest.json").write_text(json.dumps(manifest))
        config = json.loads((run_dir / "config.json").read_text())
        (run_dir / "config.json").write_text(json.dumps({**config, "augment": True}))
    text = report.write_report(tmp_path).read_text()
    caveats = text.split("## What this study can and cannot show", 1)[1]
    assert "running averages over the last epoch's augmented batches" in caveats
    differs = "the p = 1/2 end of the p analysis is AMSGrad with Padam's settings" in caveats
    assert differs == (padam_beta_2 != 0.99)
    if differs:
        assert "amsgrad: beta_1 0.9, beta_2 0.99, epsilon 1e-08; padam(p=1/2): beta_1 0.9, beta_2 0.999" in caveats


def test_the_seeds_a_next_study_needs_come_from_this_studys_own_spread(tmp_path):
    claims.preregister(tmp_path, optimizers=["sgdm", "adam"], learning_rates={"smoke": "tuned"},
                       now="2026-01-01T00:00:00+00:00")  # fmt: skip
    # adam - sgdm = +1, +3, +2 pp: a paired SD of exactly 1 pp, one declared contrast (alpha / 1 = 0.05).
    for seed, difference in zip(SEEDS, (0.01, 0.03, 0.02)):
        base = 0.10 + SEED_EFFECT[seed]
        write_run(tmp_path, "sgdm", seed, curve(base, 0.3, 0.0, seed))
        write_run(tmp_path, "adam", seed, curve(base + difference, 0.3, 0.0, seed))
    text = report.write_report(tmp_path).read_text()
    line = next(line for line in text.splitlines() if line.startswith("Seeds for a next study"))
    assert "vary by 1.00 pp from seed to seed (pooled over 1 declared contrasts, df = 2" in line
    rows = {row.split(" | ")[0].lstrip("| "): row.strip("| ").split(" | ")[1:]
            for row in text.split(line, 1)[1].split("\n\n", 2)[1].splitlines()[2:]}  # fmt: skip
    # d = 1 at two-sided 0.05 and 80% power takes 10 pairs (the textbook value of the paired t-test).
    assert rows["a true difference of 1 pp, among the 1 declared contrasts"][:2] == ["0.05", "about 10"]
    assert rows["a true difference of 2 pp, in a claim of one test"][1] == "about 5"  # d = 2: 5 pairs (0.82)
    power_with_3 = rows["a true difference of 1 pp, among the 1 declared contrasts"][2]
    assert power_with_3 == f"{scipy_stats.nct.sf(scipy_stats.t.ppf(0.975, 2), 2, 3**0.5):.0%}"
    # The caveats say how large a difference three seeds could find (n = 3, SD 1: about 3.4 pp at 0.05).
    caveat = next(line for line in text.splitlines() if line.startswith("- 3 paired seeds: at this study's spread"))
    found = float(caveat.split("(a claim of one test: about ")[1].split(" pp")[0])
    shift = found * 3**0.5
    assert scipy_stats.nct.sf(scipy_stats.t.ppf(0.975, 2), 2, shift) == pytest.approx(0.8, abs=0.01)
    # With a spread of 0.1 pp two pairs would do, but a study needs its declared minimum of three.
    paired = contrasts.Paired("w", "adam", "sgdm", "test_error", (0, 1, 2), (1.0, 1.2, 1.1), (0.0, 0.0, 0.0))
    outcome = contrasts.Outcome({}, paired, None, 0.01, 0.01, 1.0, 1, "higher")
    table = report_contrasts.planning_lines([outcome], {"alpha": 0.05, "equivalence_margin_pp": 1.0, "min_seeds": 3})
    assert "| a true difference of 1 pp, among the 1 declared contrasts | 0.05 | about 3 |" in "\n".join(table)


def test_a_sweep_run_at_every_seed_is_expected_at_every_seed(tmp_path):
    for seed in SEEDS:
        write_run(tmp_path, "sgdm", seed, curve(0.1 + SEED_EFFECT[seed], 0.3, 0.02, seed))
    for seed in (0, 1):
        write_run(tmp_path, "padam", seed, curve(0.1 + SEED_EFFECT[seed], 0.3, 0.02, seed), partial=0.25)
    plan = {"optimizers": ["sgdm"], "seeds": list(SEEDS), "partial_sweep": [0.25, 0.5]}
    (tmp_path / "study.json").write_text(json.dumps(plan))
    text = report.write_report(tmp_path).read_text()
    line = next(line for line in text.splitlines() if line.startswith("Planned in study.json"))
    assert line.endswith(": padam(p=0.25) seed 2, padam(p=0.5) seed 0, padam(p=0.5) seed 1, padam(p=0.5) seed 2.")
    # A sweep run at one seed only (as scripts/compare.py runs it) is complete once each p has a run.
    shutil.rmtree(tmp_path / "runs" / "padam-p0.25-s1")
    text = report.write_report(tmp_path).read_text()
    line = next(line for line in text.splitlines() if line.startswith("Planned in study.json"))
    assert line.endswith(": padam(p=0.5).")


def test_caveats_say_what_the_speed_and_smoothness_measures_can_resolve(world_study):
    text = (world_study / "report.md").read_text()
    caveats = text.split("## What this study can and cannot show", 1)[1]
    speed = next(line for line in caveats.splitlines() if line.startswith("- Times to target are whole epochs"))
    assert "with 3 paired seeds" in speed and "at least 1.01 epochs on average" in speed
    assert "(one epoch at every seed is not enough)" in speed
    # A constant schedule over 8 epochs is one phase: six inner epochs, enough not to warn.
    assert "Smoothness (" not in caveats
    setup = text.split("## Setup", 1)[1].split("## Runs", 1)[0]
    assert "| Training data | subset of 5000 images |" in setup


def test_a_step_schedule_is_marked_on_the_curves_and_limits_the_smoothness_measure(tmp_path):
    for optimizer in ("sgdm", "adam"):
        for seed in SEEDS:
            write_run(tmp_path, optimizer, seed, curve(0.1 + SEED_EFFECT[seed], 0.3, 0.02, seed, epochs=10), epochs=10)
    for path in (tmp_path / "runs").glob("*/config.json"):
        config = json.loads(path.read_text())
        path.write_text(json.dumps({**config, "lr_schedule": "step", "lr_boundaries": [5, 7.5]}))
    text = report.write_report(tmp_path).read_text()
    # Phases 1-5, 6-7 and 9-10 (epoch 8 straddles 7.5): only 2, 3 and 4 have a neighbour on each side.
    assert "rests on 3 residual epoch(s) per run" in text
    assert len(report.plots.plot_test_error(pd.read_csv(tmp_path / "curves.csv"),
                                            drops=(5.0, 7.5)).axes) == 2  # fmt: skip
    assert measures.lr_drops(load_study(tmp_path)) == {"resnet20 smoke (10 ep, 5000 train)": (5.0, 7.5)}
    # A boundary past the last epoch (a 200-epoch schedule cut to 10) drops nothing in these runs.
    for path in (tmp_path / "runs").glob("*/config.json"):
        config = json.loads(path.read_text())
        path.write_text(json.dumps({**config, "lr_boundaries": [5, 7.5, 100]}))
    assert measures.lr_drops(load_study(tmp_path)) == {"resnet20 smoke (10 ep, 5000 train)": (5.0, 7.5)}


def test_the_speed_caveat_needs_the_declared_seeds_and_reads_only_finite_medians():
    settings = {"target_val_accuracy": 0.5, "alpha": 0.05, "min_seeds": 3}
    summary = pd.DataFrame({"workload": ["w"] * 3, "main": [True] * 3, "n": [3, 3, 3],
                            "target_epoch_median": [5.0, 6.0, math.inf]})  # fmt: skip
    (line,) = report_caveats._speed_resolution_caveats(settings, summary)
    assert line.endswith("epochs 5 to 6; for 1 optimizer(s) most runs never reach it.")
    assert report_caveats._speed_resolution_caveats(settings, summary.assign(n=2)) == []


def test_a_speed_target_crossed_right_after_a_drop_is_said_to_be_the_drops_doing(tmp_path):
    claims.preregister(tmp_path, optimizers=["sgdm", "adam"], target_val_accuracy=0.5,
                       learning_rates={"smoke": "tuned"}, now="2026-01-01T00:00:00+00:00")  # fmt: skip
    falling = np.array([0.9, 0.8, 0.7, 0.6, 0.55, 0.45, 0.3, 0.25, 0.2, 0.15])  # validation 50% first at epoch 6
    for optimizer in ("sgdm", "adam"):
        for seed in SEEDS:
            write_run(tmp_path, optimizer, seed, falling + 0.001 * seed, epochs=10)
    for path in (tmp_path / "runs").glob("*/config.json"):
        config = json.loads(path.read_text())
        path.write_text(json.dumps({**config, "lr_schedule": "step", "lr_boundaries": [5, 7.5]}))
    text = report.write_report(tmp_path).read_text()
    line = next(line for line in text.splitlines() if line.startswith("- Speed ("))
    assert "6 of the 6 runs that reach the validation target reach it in the first epoch after a learning-rate " \
           "drop (epoch 6 or 9)" in line
    assert measures.first_epoch_after(5) == 6 and measures.first_epoch_after(7.5) == 9
    assert measures.first_epoch_after(81.84) == 83


def test_the_setup_says_which_runs_finished_on_which_machine_when_they_differ():
    from types import SimpleNamespace

    from keras_resnet_opt.study.report_sections import devices_row

    def run(name, device):
        return SimpleNamespace(name=name, manifest={"device": device})

    intel, amd = "CPU (Intel Xeon, 2 cores)", "CPU (AMD EPYC, 2 cores)"
    assert devices_row([run("a", intel), run("b", intel)]) == intel
    assert devices_row([]) == "unknown"
    row = devices_row([run("s0", intel)] + [run(f"r{i}", amd) for i in range(4)])
    assert row == f"{amd} (4 runs); {intel} (1 run: s0), by the machine each run finished on (its manifest's `device`)."
    resumed = run("r", intel)
    resumed.manifest["resumed_from_epoch"] = 4  # written before runs recorded their sessions
    assert devices_row([resumed, run("b", intel)]) == (
        f"{intel} (2 runs: b, r), by the machine each run finished on (its manifest's `device`). Resumed part-way by "
        "code that did not yet record each leg's machine, so the machine of their earlier epochs is not recorded "
        "(1 run: r).")
    moved = run("m", amd)
    moved.manifest["sessions"] = [{"from_epoch": 0, "device": intel}, {"from_epoch": 29, "device": amd}]
    assert devices_row([moved, run("b", amd)]) == (
        f"{amd} (2 runs: b, m), by the machine each run finished on (its manifest's `device`). Trained on more than "
        "one machine (1 run: m; their manifests' `sessions` say which epochs).")
    # A leg written before runs recorded their CPU's details is not a machine apart from the same name with them;
    # two different details are two machines.
    zen3 = "CPU (AMD EPYC [family 25 model 1, AVX2], 2 cores)"
    zen4 = "CPU (AMD EPYC [family 25 model 17, AVX512F], 2 cores)"
    bare = run("bare", zen3)
    bare.manifest["sessions"] = [{"from_epoch": 0, "device": amd}, {"from_epoch": 9, "device": zen3}]
    assert devices_row([bare]) == zen3
    bare.manifest["sessions"].append({"from_epoch": 12, "device": zen4})
    assert "Trained on more than one machine (1 run: bare;" in devices_row([bare])


def test_the_runs_table_times_every_leg_of_a_resumed_run(tmp_path):
    """Training time sums the history's epoch times (all legs), not the manifest's last-leg wall time."""
    from keras_resnet_opt.study.report_sections import runs_section
    from keras_resnet_opt.training.run_folder import read_history, write_history

    write_run(tmp_path, "sgdm", 0, [0.5, 0.4, 0.3, 0.2])
    write_run(tmp_path, "adam", 0, [0.5, 0.4, 0.3, 0.2])
    resumed = tmp_path / "runs" / "sgdm-s0"
    write_history(resumed, [{**row, "epoch_time_s": 900.0} for row in read_history(resumed)])
    manifest = json.loads((resumed / "manifest.json").read_text())
    (resumed / "manifest.json").write_text(json.dumps({**manifest, "wall_time_s": 1800.0, "resumed_from_epoch": 2}))
    older = tmp_path / "runs" / "adam-s0"  # a trainer that did not time its first epoch
    rows = read_history(older)
    write_history(older, [{k: v for k, v in rows[0].items() if k != "epoch_time_s"}, *rows[1:]])
    text = "\n".join(runs_section(load_study(tmp_path)))
    table = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert table["| sgdm-s0"].endswith("| 60 |")  # 4 x 900 s, not the last leg's 1,800 s
    assert table["| adam-s0"].endswith("| n/a |")
    assert "Training time (min)" in table["| Run"]


def test_epochs_seconds_reads_rows_from_json_and_from_a_frame():
    from keras_resnet_opt.training.run_folder import epochs_seconds

    assert epochs_seconds([{"epoch_time_s": 60.0}, {"epoch_time_s": 120}]) == 180.0
    assert epochs_seconds(pd.DataFrame({"epoch_time_s": [60, 120]}).to_dict("records")) == 180.0  # NumPy ints
    assert epochs_seconds([]) is None
    assert epochs_seconds([{"epoch_time_s": 60.0}, {"epoch_time_s": None}]) is None
    assert epochs_seconds(pd.DataFrame({"epoch_time_s": [60.0, float("nan")]}).to_dict("records")) is None
