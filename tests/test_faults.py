"""Fault injection: what a kill, a damaged checkpoint, a full disk or a user's slip leaves behind.

Every case checks what the user sees (exit code, one line, no traceback) and
that nothing already written is lost. Runs are smoke-sized (ResNet-8 on 128
synthetic images, 3 epochs). Kills are real process deaths
(tests/fault_injection.py: ``os._exit`` at a point of the loop, as ``kill -9``);
the other cases run the command line in this process, which is faster.
"""

import errno
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import REPO, run_cli

from keras_resnet_opt.config import make_config
from keras_resnet_opt.training import callbacks
from keras_resnet_opt.training.checkpoints import check_checkpoint_file, checkpoint_epochs
from keras_resnet_opt.training.run_folder import LOCK_FILE, read_history
from keras_resnet_opt.training.runner import train

NAME = "smoke-resnet8-padam-s0"
EPOCHS = 3
COMPARED = ("loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "learning_rate")
KILLED = 137


class Interrupted(BaseException):
    """Stops a run in this process between two epochs, the state a kill there leaves."""


def smoke_config(synthetic_dir, **overrides):
    return make_config("smoke", data_dir=str(synthetic_dir), **{"optimizer": "padam", "epochs": EPOCHS, **overrides})


def train_args(synthetic_dir, out, *extra):
    return ["--preset", "smoke", "--optimizer", "padam", "--epochs", str(EPOCHS), "--data-dir", str(synthetic_dir),
            "--output-dir", str(out / "runs"), "--saved-models-dir", str(out / "saved"), *extra]


def assert_one_error_line(err, *fragments):
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def assert_same_history(rows, reference):
    assert [r["epoch"] for r in rows] == [r["epoch"] for r in reference]
    for key in COMPARED:
        np.testing.assert_allclose([r[key] for r in rows], [r[key] for r in reference], rtol=1e-6, err_msg=key)


def stop_after(monkeypatch, epoch):
    end = callbacks.Checkpointer.on_epoch_end

    def on_epoch_end(self, e, logs=None):
        end(self, e, logs)
        if e + 1 == epoch:
            raise Interrupted

    monkeypatch.setattr(callbacks.Checkpointer, "on_epoch_end", on_epoch_end)


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KERAS_RESNET_OPT_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("KERAS_RESNET_OPT_DATA_DIR", raising=False)
        yield mp


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, synthetic_dir, module_cache):
    """The uninterrupted run every faulty one must end as."""
    out = tmp_path_factory.mktemp("reference")
    return train(smoke_config(synthetic_dir), out / "runs", out / "saved")


@pytest.fixture(scope="module")
def reference(uninterrupted):
    """The history of the uninterrupted run."""
    return uninterrupted.history


@pytest.fixture(scope="module")
def stopped_after_epoch_2(tmp_path_factory, synthetic_dir, module_cache):
    """A run folder as a kill right after epoch 2 leaves it (checkpoints of epochs 1 and 2)."""
    out = tmp_path_factory.mktemp("stopped")
    with pytest.MonkeyPatch.context() as mp:
        stop_after(mp, 2)
        with pytest.raises(Interrupted):
            train(smoke_config(synthetic_dir), out / "runs", out / "saved")
    assert checkpoint_epochs(out / "runs" / NAME / "checkpoints") == [1, 2]
    return out


def copy_of(folder, tmp_path):
    shutil.copytree(folder, tmp_path / "out")
    return tmp_path / "out"


# --- kills ------------------------------------------------------------------------


def test_kills_through_epochs_and_saving_end_with_the_uninterrupted_history(tmp_path, synthetic_dir, uninterrupted):
    """One run killed five times in a row, each time somewhere else, then finished."""
    reference = uninterrupted.history
    args = train_args(synthetic_dir, tmp_path)
    run_dir = tmp_path / "runs" / NAME
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_RESNET_OPT_CACHE": str(tmp_path / "cache")}

    def run(*command):
        return subprocess.run([sys.executable, *command], capture_output=True, text=True, env=env, cwd=REPO)

    kills = [
        ("mid_epoch", 1, [], None),
        ("evaluation", 2, [], "Training"),
        ("checkpoint", 2, [1], "Resuming"),  # leaves a half-written temporary checkpoint
        ("before_history", 3, [1], "Resuming"),  # epoch 3's checkpoint without its history row
        ("export", 0, [1, 2], "Resuming"),  # the SavedModel written, not yet moved into place
    ]
    for point, epoch, recorded_before, first_word in kills:
        quiet = [] if point == "before_history" else ["--quiet"]
        out = run(str(REPO / "tests" / "fault_injection.py"), point, str(epoch), *args, *quiet)
        assert out.returncode == KILLED, f"{point}: {out.stderr[-2000:]}"
        if first_word:
            assert out.stdout.startswith(first_word), f"{point}: {out.stdout[:300]}"
        assert not (run_dir / "manifest.json").exists()
        rows = read_history(run_dir)
        # Nothing already written is lost: the rows there before are still there, unchanged.
        assert [r["epoch"] for r in rows][: len(recorded_before)] == recorded_before, point
        assert_same_history(rows, reference[: len(rows)])
        if point == "before_history":
            # Redirected output: one line per epoch, no progress-bar escapes, no TensorFlow start-up noise.
            lines = out.stdout.splitlines()
            assert lines[0] == f"Resuming {run_dir} from epoch 1 of 3" and lines[1] == "Epoch 2/3"
            assert lines[2].startswith("4/4 - ") and "loss:" in lines[2] and lines[3] == "Epoch 3/3"
            assert "\x1b" not in out.stdout and "\b" not in out.stdout
            for noise in ("cuInit", "absl::InitializeLog", "oneDNN", "cpu_feature_guard"):
                assert noise not in out.stderr, out.stderr

    final = run(str(REPO / "scripts" / "train.py"), *args, "--quiet")
    assert final.returncode == 0, final.stderr[-2000:]
    assert final.stdout.splitlines()[0] == f"Resuming {run_dir} from epoch 3 of 3"
    assert_same_history(read_history(run_dir), reference)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "finished" and manifest["resumed_from_epoch"] == 3
    assert (tmp_path / "saved" / NAME / "saved_model.pb").is_file()
    assert not (run_dir / "checkpoints").exists()
    import keras

    import keras_resnet_opt.models  # noqa: F401  (registers ZeroPadShortcut for loading)

    weights = keras.saving.load_model(run_dir / "model.keras").get_weights()
    expected = keras.saving.load_model(uninterrupted.run_dir / "model.keras").get_weights()
    for got, want in zip(weights, expected):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


# --- damaged checkpoints --------------------------------------------------------------


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _flip_bytes(path):
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _empty(path):
    path.write_bytes(b"")


def test_a_moved_data_folder_resumes_the_run_and_then_reports_it(tmp_path, capsys, synthetic_dir, reference,
                                                                stopped_after_epoch_2):
    # Where the data is read from does not define the run (config.NOT_DEFINING, the rule tuning uses too).
    out = copy_of(stopped_after_epoch_2, tmp_path)
    run_dir = out / "runs" / NAME
    moved = shutil.copytree(synthetic_dir, tmp_path / "moved" / synthetic_dir.name)

    code, stdout, stderr = run_cli(capsys, train_args(moved, out, "--quiet"))

    assert code == 0, stderr
    assert stdout.splitlines()[0] == f"Resuming {run_dir} from epoch 2 of {EPOCHS}"
    assert_same_history(read_history(run_dir), reference)
    assert json.loads((run_dir / "config.json").read_text())["data_dir"] == str(moved)
    code, stdout, stderr = run_cli(capsys, train_args(synthetic_dir, out, "--quiet"))  # the original folder again
    assert code == 0 and stdout.startswith("Already finished"), stderr


@pytest.mark.parametrize("damage", [_truncate, _flip_bytes, _empty], ids=["truncated", "bit-flipped", "emptied"])
def test_a_damaged_newest_checkpoint_costs_one_epoch(tmp_path, capsys, synthetic_dir, reference, stopped_after_epoch_2,
                                                     damage):
    out = copy_of(stopped_after_epoch_2, tmp_path)
    run_dir = out / "runs" / NAME
    newest = run_dir / "checkpoints" / "epoch-0002.keras"
    damage(newest)

    code, stdout, stderr = run_cli(capsys, train_args(synthetic_dir, out, "--quiet"))

    assert code == 0, stderr
    assert "Traceback" not in stderr
    warned = [line for line in stderr.splitlines() if line.startswith("warning: Damaged checkpoint")]
    assert len(warned) == 1 and str(newest) in warned[0] and "resuming from epoch 1" in warned[0], stderr
    assert "history is cut back from epoch 2 to 1" in warned[0]
    assert stdout.splitlines()[0] == f"Resuming {run_dir} from epoch 1 of 3"
    assert_same_history(read_history(run_dir), reference)  # epochs 2 and 3 trained again, as the first time
    assert json.loads((run_dir / "manifest.json").read_text())["resumed_from_epoch"] == 1


def test_no_usable_checkpoint_says_what_to_delete_and_deletes_nothing(tmp_path, capsys, synthetic_dir,
                                                                      stopped_after_epoch_2):
    out = copy_of(stopped_after_epoch_2, tmp_path)
    run_dir = out / "runs" / NAME
    for epoch in (1, 2):
        _truncate(run_dir / "checkpoints" / f"epoch-{epoch:04d}.keras")
    before = {p.name: p.read_bytes() for p in (run_dir / "checkpoints").iterdir()}
    history = (run_dir / "history.json").read_text()

    code, _, stderr = run_cli(capsys, train_args(synthetic_dir, out, "--quiet"))

    assert code == 1
    assert_one_error_line(stderr, "No usable checkpoint", "epoch-0002.keras", "epoch-0001.keras",
                          f"Delete {str(run_dir)!r}", "--force")
    assert {p.name: p.read_bytes() for p in (run_dir / "checkpoints").iterdir()} == before
    assert (run_dir / "history.json").read_text() == history


# --- a full disk ----------------------------------------------------------------------


def test_a_full_disk_while_checkpointing_stops_cleanly_and_the_rerun_resumes(tmp_path, capsys, monkeypatch,
                                                                          synthetic_dir, reference):
    import keras

    save = keras.Model.save

    def disk_full_in_epoch_2(self, path, *args, **kwargs):
        if "epoch-0002" in str(path):
            with open(path, "wb") as f:
                f.write(b"PK\x03\x04 partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return save(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", disk_full_in_epoch_2)
    run_dir = tmp_path / "runs" / NAME
    code, _, stderr = run_cli(capsys, train_args(synthetic_dir, tmp_path, "--quiet"))

    assert code == 1
    assert_one_error_line(stderr, "epoch-0002.keras", "No space left on device", "rerunning the same command resumes")
    assert os.listdir(run_dir / "checkpoints") == ["epoch-0001.keras"]  # no half-written file left
    assert check_checkpoint_file(run_dir / "checkpoints" / "epoch-0001.keras") is None
    assert_same_history(read_history(run_dir), reference[:1])

    monkeypatch.setattr(keras.Model, "save", save)  # space freed
    code, stdout, stderr = run_cli(capsys, train_args(synthetic_dir, tmp_path, "--quiet"))
    assert code == 0, stderr
    assert stdout.splitlines()[0] == f"Resuming {run_dir} from epoch 1 of 3"
    assert_same_history(read_history(run_dir), reference)


# --- a failed start, unsafe names and folders ---------------------------------------------------------


def test_a_failed_start_does_not_block_the_corrected_command(tmp_path, capsys, monkeypatch, synthetic_dir):
    # The README's two commands offline: the default source fails, then a local copy is given.
    monkeypatch.setenv("KERAS_RESNET_OPT_DATA_DIR", str(tmp_path / "not-there"))
    args = ["--preset", "smoke", "--optimizer", "padam", "--epochs", "1", "--output-dir", str(tmp_path / "runs"),
            "--saved-models-dir", str(tmp_path / "saved"), "--quiet"]
    code, _, stderr = run_cli(capsys, args)
    assert code == 2
    assert_one_error_line(stderr, "not-there", "KERAS_RESNET_OPT_DATA_DIR")
    assert json.loads((tmp_path / "runs" / NAME / "config.json").read_text())["data_dir"] is None

    # Where the data is read from does not define the run (config.NOT_DEFINING): the same run, now trained.
    code, stdout, stderr = run_cli(capsys, [*args, "--data-dir", str(synthetic_dir)])
    assert code == 0, stderr
    assert "never finished an epoch" not in stderr
    assert stdout.startswith("Training ") and "Finished:" in stdout
    assert json.loads((tmp_path / "runs" / NAME / "config.json").read_text())["data_dir"] == str(synthetic_dir)


def test_a_failed_start_with_other_settings_is_taken_over(tmp_path, capsys, monkeypatch, synthetic_dir):
    monkeypatch.setenv("KERAS_RESNET_OPT_DATA_DIR", str(tmp_path / "not-there"))
    args = ["--preset", "smoke", "--optimizer", "padam", "--epochs", "1", "--output-dir", str(tmp_path / "runs"),
            "--saved-models-dir", str(tmp_path / "saved"), "--quiet", "--run-name", NAME]
    code, _, stderr = run_cli(capsys, args)
    assert code == 2

    code, stdout, stderr = run_cli(capsys, [*args, "--data-dir", str(synthetic_dir), "--lr-schedule", "constant"])
    assert code == 0, stderr
    replaced = [line for line in stderr.splitlines() if "never finished an epoch" in line]
    assert len(replaced) == 1 and replaced[0].startswith("warning: ") and "['lr_schedule']" in replaced[0]
    assert stdout.startswith("Training ") and "Finished:" in stdout


@pytest.mark.parametrize("name", ["../escaped", "a/b", "..", ".hidden", "", "x" * 201])
def test_a_run_name_must_be_one_safe_folder_name(tmp_path, capsys, synthetic_dir, name):
    (tmp_path / "out").mkdir()
    code, _, stderr = run_cli(capsys, train_args(synthetic_dir, tmp_path / "out", "--run-name", name))
    assert code == 2
    assert_one_error_line(stderr, "`run_name` must be one folder name", "--output-dir")
    assert sorted(os.listdir(tmp_path)) == ["out"] and os.listdir(tmp_path / "out") == []  # nothing written


def test_the_export_never_overwrites_or_lands_in_the_run_folder(tmp_path, capsys, synthetic_dir):
    out = tmp_path / "out"
    code, _, stderr = run_cli(capsys, [*train_args(synthetic_dir, out, "--quiet"), "--epochs", "1"])
    assert code == 0, stderr
    run_dir = out / "runs" / NAME
    kept = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()}

    for output_dir, saved_models_dir in (
        (out / "runs", out / "runs"),  # the export would replace the run folder
        (out / "runs", run_dir),  # the export inside the run folder
        (out / "saved" / NAME, out / "saved"),  # the run folder inside the export
    ):
        code, _, stderr = run_cli(capsys, [*train_args(synthetic_dir, out, "--quiet"), "--epochs", "1",
                                           "--output-dir", str(output_dir),
                                           "--saved-models-dir", str(saved_models_dir)])
        assert code == 2
        assert_one_error_line(stderr, "would overwrite the run", "--saved-models-dir")
    assert {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()} == kept
    assert not (out / "saved" / NAME / NAME).exists()

    # --force retrains in the same folder, holding the same lock file throughout.
    inode = (run_dir / LOCK_FILE).stat().st_ino
    code, stdout, stderr = run_cli(capsys, [*train_args(synthetic_dir, out, "--quiet"), "--epochs", "1", "--force"])
    assert code == 0, stderr
    assert stdout.startswith("Training ") and f"Finished: {run_dir}" in stdout
    assert (run_dir / LOCK_FILE).stat().st_ino == inode


# --- two processes on one run folder ----------------------------------------------------------------


HOLD_LOCK = """
import sys
from keras_resnet_opt.training.run_lock import run_folder_lock
with run_folder_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()  # until the test says so
"""


def _hold_lock(run_dir):
    """Another process holding the run folder's lock, as one training the run does."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run_dir)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def _release(holder):
    holder.communicate("go\n")


def test_a_second_process_on_a_run_folder_skips_or_waits(tmp_path, capsys, synthetic_dir):
    run_dir = tmp_path / "runs" / NAME
    holder = _hold_lock(run_dir)
    try:
        code, _, stderr = run_cli(capsys, train_args(synthetic_dir, tmp_path, "--quiet"))
        assert code == 1
        assert_one_error_line(stderr, str(run_dir), "in use by another process", f"pid {holder.pid}", "--wait")
        assert os.listdir(run_dir) == [LOCK_FILE]  # it wrote nothing

        # With --wait it waits until the holder is done, then trains.
        outcome = {}
        waiter = threading.Thread(target=lambda: outcome.update(
            result=run_cli(capsys, [*train_args(synthetic_dir, tmp_path, "--quiet", "--wait"), "--epochs", "1"])))
        waiter.start()
        seen = ""
        for _ in range(1200):  # a guard, not a duration under test
            seen += capsys.readouterr().out
            if "Waiting for" in seen or not waiter.is_alive():
                break
            time.sleep(0.1)
        assert "Waiting for the other process (pid" in seen and not (run_dir / "config.json").exists()
    finally:
        _release(holder)
    waiter.join()
    code, stdout, stderr = outcome["result"]
    assert code == 0, stderr
    assert (run_dir / "manifest.json").is_file() and "Finished:" in stdout


def test_force_empties_the_run_folder_but_keeps_the_lock_it_holds(tmp_path):
    from keras_resnet_opt.training.run_folder import clear_run_dir
    from keras_resnet_opt.training.run_lock import run_folder_lock

    run_dir = tmp_path / NAME
    with run_folder_lock(run_dir) as lock:
        inode = lock.stat().st_ino
        (run_dir / "checkpoints").mkdir()
        (run_dir / "checkpoints" / "epoch-0001.keras").write_bytes(b"x")
        (run_dir / "history.json").write_text("[]")
        clear_run_dir(run_dir)  # what --force does, under the lock
        # Deleting the lock file while held would let a second process lock a new one.
        assert os.listdir(run_dir) == [LOCK_FILE] and lock.stat().st_ino == inode


def test_a_damaged_sessions_record_is_set_aside_not_fatal(tmp_path):
    from keras_resnet_opt.training.run_folder import read_sessions, record_session

    (tmp_path / "sessions.json").write_text('{"not": "a list"')
    with pytest.warns(UserWarning, match="set aside"):
        assert record_session(tmp_path, {"from_epoch": 4}) == [{"from_epoch": 4}]
    assert (tmp_path / "sessions.json.damaged").read_text() == '{"not": "a list"'
    assert read_sessions(tmp_path) == [{"from_epoch": 4}]
    (tmp_path / "sessions.json").write_text('[{"from_epoch": 0}, 7]')  # a list, but not of entries
    with pytest.warns(UserWarning, match="set aside"):
        assert read_sessions(tmp_path) == []
