"""Opening a recording with PyAV and finding its audio stream; no torch, so the CLI can check inputs early."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import IO, Any, Union

from ..errors import AudioDecodeError, InputNotFoundError, InputPermissionError, NoAudioStreamError

AudioSource = Union[str, os.PathLike, IO[bytes]]


def probe_audio(source: str | os.PathLike) -> None:
    """Raise the typed error ``decode_audio`` would raise on opening ``source`` (missing, unreadable, not media,
    no audio stream); reads only the container's header, so a batch learns of a bad file before models load."""
    name = describe(source)
    container = open_container(source, name)
    try:
        first_audio_stream(container, name)
    finally:
        container.close()


def open_container(source: AudioSource, name: str) -> Any:
    import av

    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise InputNotFoundError(f"{name} does not exist; check the path")
        if path.is_dir():
            raise AudioDecodeError(f"{name} is a directory, not an audio file")
        if not os.access(path, os.R_OK):
            raise InputPermissionError(f"{name} cannot be read; check its permissions")
        target: Any = str(path)
    else:
        target = source
    try:
        return av.open(target, mode="r", metadata_errors="ignore")
    except PermissionError as exc:
        raise InputPermissionError(f"{name} cannot be read; check its permissions") from exc
    except FileNotFoundError as exc:
        raise InputNotFoundError(f"{name} does not exist; check the path") from exc
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise AudioDecodeError(
            f"{name} is not a readable audio file ({reason(exc)}); check the file or convert it to wav/mp3"
        ) from exc


def first_audio_stream(container: Any, name: str) -> Any:
    if not container.streams.audio:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        raise NoAudioStreamError(f"{name} has no audio stream (streams: {', '.join(kinds)}); give a file with sound")
    return container.streams.audio[0]


def describe(source: AudioSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return f"'{os.fspath(source)}'"
    label = getattr(source, "name", None)
    if isinstance(label, str):
        return f"'{label}'"
    return "the audio stream" if not isinstance(source, io.BytesIO) else "the in-memory audio"


def reason(exc: BaseException) -> str:
    """FFmpeg's own short reason (its strerror, without the errno and the repeated path), else the first line."""
    text = getattr(exc, "strerror", None) or str(exc).strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    return text[:160]
