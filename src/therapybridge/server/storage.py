"""The data directory: the database, uploaded audio and results, private to the server's user (0700 / 0600).

::

    <data_dir>/jobs.sqlite3        the job store (WAL)
    <data_dir>/uploads/<id><ext>   a job's recording, deleted when the job ends unless --keep-audio
    <data_dir>/results/<id>/       transcript.<ext> for each format, deleted after the retention period or on DELETE
                                   (a live session's also transcript.live.json, the transcript as it was live)
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..audio.decode import AudioStream
from ..errors import InputError, TherapyBridgeError
from ..pipeline import AUDIO_EXTENSIONS

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^\w.\- ]+")


class UploadTooLarge(TherapyBridgeError):
    """An upload over ``--max-upload-mb``."""


class NotAudio(TherapyBridgeError):
    """An upload the decoder cannot read as audio; the message is the decoder's reason."""


class TooLong(TherapyBridgeError):
    """A recording longer than the synchronous endpoint takes."""


def safe_filename(name: str | None) -> str:
    """The upload's base name without directories or control characters (``upload`` when there is none)."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = _UNSAFE.sub("_", base)[:200].strip(". ")
    return base or "upload"


@dataclass(frozen=True)
class DataDir:
    """Paths under the data directory; ``ensure()`` creates them private."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "jobs.sqlite3"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def results(self) -> Path:
        return self.root / "results"

    def ensure(self) -> "DataDir":
        for directory in (self.root, self.uploads, self.results):
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
        return self

    def audio_path(self, job_id: str, filename: str) -> Path:
        suffix = Path(filename).suffix.lower()
        return self.uploads / f"{job_id}{suffix if suffix in AUDIO_EXTENSIONS else '.bin'}"

    def result_dir(self, job_id: str) -> Path:
        return self.results / job_id

    def live_dir(self, job_id: str) -> Path:
        """A live session's own results: the staging of a session without a final pass, or its live transcript
        while the final pass waits (the worker copies it beside the final results)."""
        return self.results / f".{job_id}.live"

    def save_upload(self, source: BinaryIO, target: Path, max_bytes: int) -> int:
        """Copy an upload to ``target`` (0600), at most ``max_bytes``; the size written."""
        size = 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                while block := source.read(_CHUNK):
                    size += len(block)
                    if size > max_bytes:
                        raise UploadTooLarge(f"the upload is larger than the server's limit of {max_bytes >> 20} MB")
                    out.write(block)
        except BaseException:
            remove_paths([target])
            raise
        return size


def check_upload_audio(path: Path, display_name: str, *, max_seconds: float | None = None) -> float | None:
    """Check with the project's decoder that ``path`` is audio (``NotAudio`` with its reason otherwise).

    With ``max_seconds``, decode it all and return its duration, raising ``TooLong`` past the limit; without, only
    the first chunk is decoded and None returned."""
    samples = 0
    try:
        stream = AudioStream(path, mono=True)
        for chunk in stream:
            samples += chunk.shape[-1]
            if max_seconds is None:
                return None
            if samples / stream.sample_rate > max_seconds:
                raise TooLong(f"the recording is longer than {max_seconds:g} s")
        return samples / stream.sample_rate
    except InputError as exc:
        raise NotAudio(public_message(exc, path, display_name)) from None


def public_message(exc: BaseException, path: Path | str, display_name: str) -> str:
    """The first line of an error's message, with the server's own path of the upload replaced by its name."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.replace(str(path), display_name)


def remove_paths(paths: Iterable[str | os.PathLike[str] | None]) -> None:
    """Remove files and directories, ignoring those already gone."""
    for path in paths:
        if not path:
            continue
        target = Path(path)
        try:
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:  # pragma: no cover - reported, nothing else to do
            logger.warning("could not remove a job file: %s", exc.strerror)
