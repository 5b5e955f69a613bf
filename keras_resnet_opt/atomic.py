"""Atomic file writes: a reader (or a crash) sees the old file or the new one, never half.

Every artefact the project writes (histories, manifests, checkpoints, caches,
exports, reports) goes through here, so an interrupted run never leaves a
corrupt file behind. The temporary file ``tempfile.mkstemp`` creates is
private (0600); before it takes the target's name it gets the mode any other
file the user writes gets (0666 less the umask), so results are as readable
as the user's other files.
"""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path next to ``path``; on success move it into place.

    The temporary name keeps ``suffix`` (default: the target's suffix) because
    some writers (``model.save``) insist on an extension.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        _fsync_file(tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def current_umask():
    """The process umask, read without changing it where the system allows.

    ``os.umask`` can only be read by setting it, which for an instant would
    give files other threads create (TensorBoard's writer, say) the wrong
    mode; Linux reports it in /proc instead.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path, text):
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def replace_directory(src, dst):
    """Move a fully written directory ``src`` to ``dst``, replacing any old one.

    ``os.replace`` cannot overwrite a non-empty directory, so the old one is
    first renamed aside and only deleted once the new one is in place.
    """
    src, dst = Path(src), Path(dst)
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(dst, old)
    os.replace(src, dst)
    _fsync_dir(dst.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _json_default(obj):
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _fsync_file(path):
    if os.path.isfile(path):
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def _fsync_dir(path):
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
