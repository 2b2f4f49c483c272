"""Writing a set of output files all-or-nothing: rendered first, written to temporary files, then renamed."""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import OutputError
from ..types import Transcript
from .base import Writer

logger = logging.getLogger(__name__)

_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


def write_outputs(
    transcript: Transcript, out_dir: str | Path, stem: str, formats: Iterable[str], *, writers: Mapping[str, Writer]
) -> list[Path]:
    """Write ``out_dir/stem.<ext>`` for each format, mode 0600; either every file is written or none is.

    Everything is rendered in memory first, then written to hidden temporary files in ``out_dir`` (same file
    system, so the final ``os.replace`` is atomic), and only renamed into place once all of them are complete.
    """
    directory = Path(out_dir)
    rendered = [
        (directory / f"{stem}.{extension}", content)
        for f in formats
        for extension, content in writers[f].render_files(transcript).items()
    ]
    _make_dir(directory)
    temps: list[tuple[str, Path]] = []
    placed: list[Path] = []
    try:
        for target, content in rendered:
            temps.append((_write_temp(directory, stem, content), target))
        for temp, target in temps:
            os.replace(temp, target)
            placed.append(target)
    except OSError as exc:
        _discard([temp for temp, _ in temps] + [str(p) for p in placed])
        raise OutputError(_explain(exc, directory)) from exc
    except BaseException:
        _discard([temp for temp, _ in temps] + [str(p) for p in placed])
        raise
    logger.debug("wrote %d output file(s) to %s", len(placed), directory)
    return placed


def check_output_dir(out_dir: str | Path) -> None:
    """Raise ``OutputError`` now if ``out_dir`` could not be made or written to (a file in its way, no write
    permission), so a run fails before its first recording is processed rather than after. Creates nothing."""
    directory = Path(out_dir)
    nearest = directory
    while not nearest.exists() and nearest.parent != nearest:
        nearest = nearest.parent
    if not nearest.is_dir():
        raise OutputError(_not_a_directory(directory))
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise OutputError(_not_writable(directory))


def _make_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(_explain(exc, directory)) from exc
    if not directory.is_dir():
        raise OutputError(_not_a_directory(directory))


def _write_temp(directory: Path, stem: str, content: str) -> str:
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{stem}.", suffix=".tmp")  # created with mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
    except BaseException:
        _discard([temp])
        raise
    return temp


def _discard(paths: Iterable[str]) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError:  # pragma: no cover - nothing more we can do
            logger.warning("could not remove incomplete output file %s", path)


def _explain(exc: OSError, directory: Path) -> str:
    if exc.errno in _NO_SPACE:
        return f"not enough space to write the outputs in {directory}; free some space or choose another with -o"
    if exc.errno in _DENIED:
        return _not_writable(directory)
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return _not_a_directory(directory)
    return f"cannot write the outputs in {directory}: {exc.strerror or exc}"


def _not_writable(directory: Path) -> str:
    return f"output directory {directory} is not writable; choose another with -o"


def _not_a_directory(directory: Path) -> str:
    return f"output path {directory} is not a directory; choose another with -o"
