"""The rate check's declared follow-up: paired contrasts at a moved rate, checked against scipy."""

import json

import pandas as pd
import pytest
from scipy import stats as scipy_stats
from test_study_budgets import LONG, SEEDS, write_budget
from test_study_report import curve, write_run

from keras_resnet_opt.cli.report import main as report_main
from keras_resnet_opt.study import rate_check, rate_follow_up, report
from keras_resnet_opt.study.analysis import analyse

RATES = {"sgdm": 0.1, "adam": 0.003}
# adam at /3: lower than at its tuned rate (0.12) by about two points, with its own noise per seed
ADAM_D3 = {0: 0.100, 1: 0.118, 2: 0.143}
DECLARED = {
    "declared_at": "2026-01-02T00:00:00+00:00", "metric": "test_error", "alpha": 0.05, "seeds": list(SEEDS),
    "contrasts": [{"a": {"variant": "adam", "rate_factor": 0.3333}, "b": {"variant": "adam", "rate_factor": 1}},
                  {"a": {"variant": "adam", "rate_factor": 0.3333}, "b": {"variant": "sgdm", "rate_factor": 1}}],
}  # fmt: skip


def _study(tmp_path, seeds, declaration=DECLARED):
    study_dir = write_budget(tmp_path / "long", "b30", 30, LONG, rates=RATES)
    check = study_dir / rate_check.RATE_CHECK_DIR
    for seed in seeds:
        write_run(check, "adam", seed, curve(ADAM_D3[seed], 0.5, 0.0, seed, 30), preset="b30", epochs=30,
                  subset=None, learning_rate=0.00100003, prefix="d3-")  # six digits, as the plan writes it
    (check / rate_follow_up.DECLARATION).write_text(json.dumps(declaration))
    return study_dir


def _final(path):
    return pd.read_csv(path / "history.csv")["test_error"].iloc[-1]


def test_the_declared_contrasts_are_paired_t_tests_with_holm_over_the_family(tmp_path):
    study_dir = _study(tmp_path, SEEDS)
    study = analyse(study_dir).study
    rows = rate_follow_up.follow_up_rows(rate_check.rate_check_rows(study_dir, study), study,
                                         rate_follow_up.load_declaration(study_dir))  # fmt: skip
    runs, checks = study_dir / "runs", study_dir / "rate-check" / "runs"
    d3 = [_final(checks / f"d3-adam-s{s}") for s in SEEDS]
    expected_p = []
    for row, b in zip(rows.itertuples(), ("adam", "sgdm")):
        other = [_final(runs / f"{b}-s{s}") for s in SEEDS]
        differences = [x - y for x, y in zip(d3, other)]
        assert (row.a, row.b, row.seeds, row.n) == ("adam /3", f"{b} tuned", "0 1 2", 3)
        assert row.mean == pytest.approx(sum(differences) / 3)
        test = scipy_stats.ttest_rel(d3, other)
        assert row.p == pytest.approx(test.pvalue)
        low, high = test.confidence_interval(0.95)
        assert (row.low, row.high) == (pytest.approx(low), pytest.approx(high))
        expected_p.append(test.pvalue)
    # Holm over two: the smaller p doubled, the larger kept (never below the first)
    small, large = sorted(expected_p)
    holm = {small: min(1.0, 2 * small), large: max(min(1.0, 2 * small), large)}
    assert list(rows["p_holm"]) == [pytest.approx(holm[p]) for p in expected_p]
    assert list(rows["reading"]) == ["differs" if holm[p] <= 0.05 else "not shown" for p in expected_p]
    # adam's /3 runs beat its tuned ones by a steady ~2 points: that one is decided
    assert rows["reading"].iloc[0] == "differs"

    text = report.write_report(study_dir).read_text()
    assert "### Declared follow-up at another rate" in text
    assert "Contrasts declared at 2026-01-02T00:00:00+00:00" in text
    assert "| adam /3 - adam tuned | 0 1 2 |" in text and "Pending" not in text
    assert (study_dir / "rate_follow_up.csv").is_file()


def test_nothing_is_read_until_every_contrast_has_all_its_seeds(tmp_path):
    study_dir = _study(tmp_path, (0, 1))
    study = analyse(study_dir).study
    rows = rate_follow_up.follow_up_rows(rate_check.rate_check_rows(study_dir, study), study,
                                         rate_follow_up.load_declaration(study_dir))  # fmt: skip
    assert list(rows["n"]) == [2, 2] and list(rows["seeds"]) == ["0 1", "0 1"]
    assert list(rows["reading"]) == ["pending", "pending"] and rows["p_holm"].isna().all()
    text = report.write_report(study_dir).read_text()
    assert "Pending: not every contrast has all its declared seeds yet, so none is read." in text


def test_a_study_without_a_declaration_reports_no_follow_up(tmp_path):
    study_dir = _study(tmp_path, SEEDS)
    (study_dir / "rate-check" / rate_follow_up.DECLARATION).unlink()
    report.write_report(study_dir)
    assert "Declared follow-up" not in (study_dir / "report.md").read_text()
    assert not (study_dir / "rate_follow_up.csv").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [({"contrasts": [{"a": {"variant": "adam", "rate_factor": -1}, "b": {"variant": "sgdm", "rate_factor": 1}}]},
      "rate_factor must be a positive number"),
     ({"seeds": []}, "'seeds' must list the seeds"),
     ({"metric": "accuracy"}, "metric 'accuracy' is not one of"),
     ({"contrasts": [{"a": "adam", "b": {"variant": "sgdm", "rate_factor": 1}}]}, "contrast 1, a: expected")],
)  # fmt: skip
def test_a_bad_declaration_is_a_clear_error_that_names_the_field(tmp_path, capsys, change, message):
    study_dir = _study(tmp_path, (0,), {**DECLARED, **change})
    with pytest.raises(ValueError, match=message):
        rate_follow_up.load_declaration(study_dir)
    assert report_main([str(study_dir)]) == 2
    assert message in capsys.readouterr().err
