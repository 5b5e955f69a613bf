"""One process per run folder: an OS file lock held for the whole of a run.

Two processes training one run folder would overwrite each other's
checkpoints and history. The lock (``filelock``: ``flock`` on POSIX,
``LockFileEx`` on Windows) lives in the run folder as ``.run.lock`` and is
released by the operating system when its holder exits, however it exits
(``kill -9`` included), so a crash never leaves a stale lock behind. The
holder writes its pid and host into the file so that the other process can
say who holds it.
"""

import contextlib
import datetime
import os
import socket
from pathlib import Path

import filelock

from keras_resnet_opt.training.errors import RunFolderBusy
from keras_resnet_opt.training.run_folder import LOCK_FILE


@contextlib.contextmanager
def run_folder_lock(run_dir, wait=False, log=None):
    """Hold ``run_dir``'s lock inside the ``with`` block.

    Args:
        run_dir: the run folder (created if missing).
        wait: when another process holds the lock, wait for it instead of
            raising. Defaults to False.
        log: ``str -> None`` for the line saying that it waits.

    Raises:
        RunFolderBusy: another process holds the lock and ``wait`` is False.
    """
    path = Path(run_dir) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(path)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        holder = _holder(path)
        if not wait:
            raise RunFolderBusy(
                f"{str(run_dir)!r} is in use by another process{holder}, which is training this run. Rerun this "
                "command once it has finished (it will then report or resume the run), or add --wait to wait for it."
            ) from None
        if log is not None:
            log(f"Waiting for the other process{holder} that is training {run_dir} to finish ...")
        lock.acquire()
    try:
        _record_holder(path)
        yield path
    finally:
        lock.release()


def _record_holder(path):
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    with contextlib.suppress(OSError):
        with open(path, "w") as f:  # a second descriptor: the lock is on the file, not on this one
            f.write(f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n")


def _holder(path):
    with contextlib.suppress(OSError):
        text = Path(path).read_text().strip()
        if text:
            return f" ({text})"
    return ""
