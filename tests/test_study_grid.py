"""The study grid's launcher: K runs per GPU, each pinned with CUDA_VISIBLE_DEVICES.

No training here: a fake launcher stands in for the training processes and
fake GPU lists stand in for the devices, so the placement is checked on any
machine in a fraction of a second.
"""

import collections
import json
import sys
import threading
import time

import pytest

from keras_resnet_opt.cli.compare import main as compare_main
from keras_resnet_opt.study.grid import (
    cell_config,
    cell_run_name,
    launch_run,
    placement_slots,
    plan_cells,
    run_study,
    train_command,
    visible_gpus,
)

COMMON = {"preset": "smoke"}


class FakeLauncher:
    """Records each launch's GPU and how many runs shared each GPU at once."""

    def __init__(self, seconds=0.05, codes=None):
        self.seconds = seconds
        self.codes = codes or {}
        self.lock = threading.Lock()
        self.running = collections.Counter()
        self.peak = collections.Counter()
        self.peak_total = 0
        self.launched = []  # (optimizer, seed, CUDA_VISIBLE_DEVICES or None)

    def __call__(self, command, env, log_path):
        gpu = env.get("CUDA_VISIBLE_DEVICES")
        optimizer = command[command.index("--optimizer") + 1]
        seed = int(command[command.index("--seed") + 1])
        with self.lock:
            self.launched.append((optimizer, seed, gpu))
            self.running[gpu] += 1
            self.peak[gpu] = max(self.peak[gpu], self.running[gpu])
            self.peak_total = max(self.peak_total, sum(self.running.values()))
        time.sleep(self.seconds)
        with self.lock:
            self.running[gpu] -= 1
        return self.codes.get((optimizer, seed), 0)


def _study(tmp_path, launcher, gpus, workers, optimizers=("sgd", "adam", "padam"), seeds=(0, 1, 2), **kwargs):
    cells = plan_cells(list(optimizers), list(seeds))
    lines = []
    codes = run_study(tmp_path / "study", cells, COMMON, workers=workers, gpus=gpus, launch=launcher,
                      log=lines.append, **kwargs)
    return cells, codes, lines


def test_visible_gpus_honours_cuda_visible_devices():
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2,3"}) == ["2", "3"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": " 1 , 0 "}) == ["1", "0"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "GPU-8f2e,GPU-11aa"}) == ["GPU-8f2e", "GPU-11aa"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0,-1,2"}) == ["0"]  # CUDA stops at the first invalid id


def test_visible_gpus_asks_tensorflow_when_the_user_set_nothing():
    import tensorflow as tf

    expected = [str(i) for i in range(len(tf.config.list_physical_devices("GPU")))]
    assert visible_gpus({}) == expected


def test_slots_are_k_per_gpu_interleaved_or_k_on_the_cpu():
    assert placement_slots(["0", "1"], 2) == ["0", "1", "0", "1"]
    assert placement_slots(["3"], 3) == ["3", "3", "3"]
    assert placement_slots([], 2) == [None, None]
    with pytest.raises(ValueError, match="--workers must be >= 1"):
        placement_slots(["0"], 0)


def test_two_runs_per_gpu_on_two_gpus(tmp_path):
    launcher = FakeLauncher()
    cells, codes, lines = _study(tmp_path, launcher, gpus=["0", "1"], workers=2)

    assert sorted((o, s) for o, s, _ in launcher.launched) == sorted((c.optimizer, c.seed) for c in cells)
    assert codes == {cell_run_name(c, COMMON): 0 for c in cells}
    assert {gpu for _, _, gpu in launcher.launched} == {"0", "1"}  # every run pinned, both GPUs used
    assert max(launcher.peak.values()) <= 2
    assert launcher.peak_total <= 4
    assert any("on each of GPU 0, 1 (4 at once)" in line for line in lines)
    starts = [line for line in lines if line.startswith("start:")]
    assert len(starts) == len(cells) and all(line.endswith(("on GPU 0", "on GPU 1")) for line in starts)
    name = cell_run_name(cells[0], COMMON)
    header = (tmp_path / "study" / "logs" / f"{name}.log").read_text().splitlines()[0]
    assert header.startswith("# GPU ") and "keras_resnet_opt.cli.train" in header


def test_a_gpu_freed_by_a_finished_run_takes_the_next_cell(tmp_path):
    # One slot per GPU and 6 cells: each GPU runs cells one after the other, never two at once.
    launcher = FakeLauncher()
    _study(tmp_path, launcher, gpus=["0", "1"], workers=1, seeds=(0, 1))
    assert len(launcher.launched) == 6
    assert dict(launcher.peak) == {"0": 1, "1": 1}


def test_cpu_only_runs_k_at_once_without_pinning(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    launcher = FakeLauncher()
    cells, codes, lines = _study(tmp_path, launcher, gpus=[], workers=2, seeds=(0,))
    assert len(launcher.launched) == len(cells) == 3
    assert {gpu for _, _, gpu in launcher.launched} == {None}
    assert launcher.peak_total <= 2
    assert "not pinned to a GPU: 2 run(s) at once" in lines


def test_finished_cells_are_skipped_and_exit_codes_returned(tmp_path):
    cells = plan_cells(["sgd", "adam"], [0])
    done = cell_run_name(cells[0], COMMON)
    (tmp_path / "study" / "runs" / done).mkdir(parents=True)
    (tmp_path / "study" / "runs" / done / "manifest.json").write_text(json.dumps({"status": "finished"}))
    launcher = FakeLauncher(codes={("adam", 0): 3})
    lines = []
    codes = run_study(tmp_path / "study", cells, COMMON, workers=2, gpus=["0"], launch=launcher, log=lines.append)
    assert launcher.launched == [("adam", 0, "0")]
    assert codes == {done: 0, cell_run_name(cells[1], COMMON): 3}
    assert f"skip (finished): {done}" in lines
    assert any(line.startswith("exit 3:") and line.endswith("(on GPU 0)") for line in lines)


def test_default_launcher_appends_output_to_the_log(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("# header\n")
    code = launch_run([sys.executable, "-c", "import os; print(os.environ['MARK']); raise SystemExit(3)"],
                      {"MARK": "pinned"}, log)
    assert code == 3
    assert log.read_text() == "# header\npinned\n"


def test_a_cells_command_gives_train_py_the_config_the_grid_built(tmp_path):
    # The grid names a cell's run folder from its own RunConfig; train.py, started with the cell's command,
    # must resolve the same config, or a finished cell would not be recognised (and would be trained again).
    from keras_resnet_opt.cli.train import build_parser, config_from_args

    hparams = tmp_path / "tuned.json"
    hparams.write_text(json.dumps({"best": {"padam": {"learning_rate": 0.05, "partial": 0.25}}}))
    for common in (
        {"preset": "smoke"},
        {"preset": "cpu-quick", "hparams": str(hparams), "data_dir": "/data/c10", "model": "resnet32", "epochs": 3,
         "train_subset": 500, "strategy": None},
    ):  # fmt: skip
        for cell in plan_cells(["sgdm", "padam"], [0, 1], partial_sweep=[0.0625, 0.125]):
            command = train_command(cell, common, tmp_path / "runs", tmp_path / "saved")
            assert command[1:3] == ["-m", "keras_resnet_opt.cli.train"]
            resolved = config_from_args(build_parser().parse_args(command[3:]))
            assert resolved.to_dict() == cell_config(cell, common).to_dict()
            assert resolved.resolved_run_name() == cell_run_name(cell, common)


def test_compare_cli_refuses_zero_workers(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        compare_main(["--preset", "smoke", "--optimizers", "sgd", "--seeds", "1", "--workers", "0",
                      "--study-dir", str(tmp_path / "study"), "--no-report"])
    assert info.value.code == 2
    assert "--workers must be >= 1" in capsys.readouterr().err


def test_a_finished_study_starts_nothing_and_asks_for_no_gpu(tmp_path, monkeypatch):
    from keras_resnet_opt.study import grid

    cells = plan_cells(["sgd"], [0])
    done = tmp_path / "study" / "runs" / cell_run_name(cells[0], COMMON)
    done.mkdir(parents=True)
    (done / "manifest.json").write_text("{}")
    monkeypatch.setattr(grid, "visible_gpus", lambda: pytest.fail("asked for GPUs with nothing to run"))
    launcher = FakeLauncher()
    assert run_study(tmp_path / "study", cells, COMMON, launch=launcher, log=lambda line: None) == {done.name: 0}
    assert launcher.launched == []


def test_compare_declares_claims_before_any_run_starts(tmp_path, monkeypatch):
    from keras_resnet_opt.cli import compare

    study_dir = tmp_path / "study"
    seen = {}

    def fake_run_study(directory, cells, common, workers, saved_models_dir, gpus=None):
        seen.update(json.loads((study_dir / "study.json").read_text()))
        return {}

    monkeypatch.setattr(compare, "run_study", fake_run_study)
    argv = ["--preset", "smoke", "--optimizers", "sgdm,adam,padam", "--seeds", "3", "--study-dir", str(study_dir),
            "--target-val-accuracy", "0.6", "--hparams", "tuned.json", "--no-report"]  # fmt: skip
    assert compare.main(argv) == 0
    section = seen["preregistration"]
    assert section["settings"]["target_val_accuracy"] == 0.6
    assert section["settings"]["learning_rates"] == {"smoke": "tuned"}
    assert [c["id"] for c in section["contrasts"]] == ["adam-sgdm", "padam-sgdm", "padam-adam"]
    assert all(not c["after_results"] for c in section["claims"])
    # Resuming rewrites the plan and leaves the declaration, times included, as it was.
    assert compare.main(argv) == 0
    assert json.loads((study_dir / "study.json").read_text())["preregistration"] == section
    with pytest.raises(SystemExit):
        compare.main(argv[:-3] + ["--target-val-accuracy", "60", "--no-report"])


OWN_CLAIM = {
    "id": "g", "statement": "Padam at p = 1/4 ends below Adam.", "source": "our hypothesis",
    "tests": [{"part": "padam(p=0.25) below adam", "a": "padam(p=0.25)", "b": "adam", "metric": "test_error",
               "form": "difference", "direction": "lower"}],
}  # fmt: skip


def test_compare_declares_a_users_own_claims_beside_the_defaults(tmp_path, monkeypatch, capsys):
    from keras_resnet_opt.cli import compare

    study_dir = tmp_path / "study"
    monkeypatch.setattr(compare, "run_study", lambda *a, **k: {})
    claims_file = tmp_path / "claims.json"
    claims_file.write_text(json.dumps({"claims": [OWN_CLAIM]}))
    argv = ["--preset", "smoke", "--optimizers", "sgdm,adam,padam", "--seeds", "3", "--partial", "0.25",
            "--study-dir", str(study_dir), "--claims", str(claims_file), "--no-report"]  # fmt: skip
    assert compare.main(argv) == 0
    declared = json.loads((study_dir / "study.json").read_text())["preregistration"]["claims"]
    own = next(c for c in declared if c["id"] == "g")
    assert own["tests"][0]["a"] == "padam(p=0.25)" and own["rates"] == ["tuned"] and not own["after_results"]
    assert {"a", "b", "d"} <= {c["id"] for c in declared}  # the defaults stay

    # Each mistake stops before any run, naming the file and what to change.
    bad_cases = [
        ("[{", "is not valid JSON"),
        (json.dumps({"claim": []}), 'must hold a list of claims (JSON objects), or {"claims": [...]}'),
        (json.dumps([{**OWN_CLAIM, "statement": ""}]), "needs an 'id' and a 'statement'"),
        (json.dumps([{**OWN_CLAIM, "tests": [{**OWN_CLAIM["tests"][0], "a": "adm"}]}]),
         "compares adm, which this study does not plan (it plans sgdm, adam, padam, padam(p=0.25))"),
        (json.dumps([{**OWN_CLAIM, "id": "a"}]), "claim id(s) 'a' are used twice or by a default claim"),
    ]  # fmt: skip
    fresh = argv[:argv.index("--study-dir") + 1] + [str(tmp_path / "fresh")] + argv[argv.index("--study-dir") + 2:]
    for text, message in bad_cases:
        claims_file.write_text(text)
        for attempt in (argv, fresh):
            with pytest.raises(SystemExit) as stop:
                compare.main(attempt)
            err = capsys.readouterr().err
            assert stop.value.code == 2 and message in err, err
    assert not (tmp_path / "fresh").exists()  # nothing was written for a study whose claims file is bad
    # A test marked if_run may name what the study does not run; a missing file is named.
    claims_file.write_text(json.dumps([{**OWN_CLAIM, "tests": [{**OWN_CLAIM["tests"][0], "a": "nadam",
                                                                 "if_run": True}]}]))  # fmt: skip
    assert compare.main(argv) == 0
    with pytest.raises(SystemExit):
        compare.main(argv[:-3] + ["--claims", str(tmp_path / "nope.json"), "--no-report"])
    assert "nope.json does not exist" in capsys.readouterr().err


def test_rewriting_the_plan_keeps_the_declarations_title_and_design_notes(tmp_path):
    from keras_resnet_opt.study.grid import write_study_file

    (tmp_path / "study.json").write_text(json.dumps({
        "preset": "old", "preregistration": {"claims": []}, "title": "T", "design_notes": ["why"],
    }))  # fmt: skip
    write_study_file(tmp_path, preset="smoke", seeds=[0])
    assert json.loads((tmp_path / "study.json").read_text()) == {
        "preset": "smoke", "seeds": [0], "preregistration": {"claims": []}, "title": "T", "design_notes": ["why"],
    }  # fmt: skip
