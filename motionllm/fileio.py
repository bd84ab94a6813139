"""File helpers shared by every writer: outputs appear whole or not at all."""
from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path
from typing import Iterator


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only if the block succeeds.

    The temporary file keeps the destination's suffix, so writers that choose a codec by extension
    (imageio, numpy's .npy/.npz) behave as they would for the real name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; it replaces `path` (a folder) only if the block succeeds."""
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)
        old = tmp.with_suffix(".old")
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_output_path(path: str | os.PathLike, what: str = "output") -> Path:
    """A path a command will write, checked before any work: one-line MotionLLMError if it is a folder, its
    folder does not exist (we never create folders we were not asked to) or cannot be written."""
    from motionllm.errors import MotionLLMError

    path = Path(path)
    if str(path) in ("", "-") or path.name in ("", ".", ".."):
        raise MotionLLMError(f"{what} '{path}': not a file name")
    if path.is_dir():
        raise MotionLLMError(f"{what} '{path}' is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise MotionLLMError(f"{what} '{path}': the folder '{folder}' does not exist (create it first)")
    try:  # the one check that tells the truth for root, read-only mounts and ACLs: writing there
        fd, probe = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".probe", dir=folder)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise MotionLLMError(f"{what} '{path}': cannot write to '{folder}' ({reason})") from None
    os.close(fd)
    os.unlink(probe)
    return path


@contextlib.contextmanager
def command_outputs(*paths: str | os.PathLike | None) -> Iterator[tuple[Path | None, ...]]:
    """The output files of one command, all or none: each is checked first (`check_output_path`), the block
    writes to temporary paths beside them (same suffixes; None stays None), and they replace the real paths
    only if the whole block succeeds. A command that fails part-way (a failed --render after its motion was
    written) leaves nothing behind, and an existing file is replaced only on success."""
    for path in paths:
        if path is not None:
            check_output_path(path)
    with contextlib.ExitStack() as stack:
        yield tuple(None if path is None else stack.enter_context(atomic_path(path)) for path in paths)


def save_npy(path: str | os.PathLike, array) -> None:
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


@contextlib.contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing): serialises work between processes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
