"""What the pipeline accepts as input: audio files, and directories of them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..audio.container import probe_audio
from ..errors import ConfigurationError, EmptyAudioError, InputNotFoundError, NoAudioFilesError, TherapyBridgeError

AUDIO_EXTENSIONS = frozenset(
    ".wav .mp3 .m4a .mp4 .aac .flac .ogg .oga .opus .webm .wma .aiff .aif .amr .mka .mkv .mov .3gp .caf".split()
)


def expand_inputs(inputs: Iterable[str | Path]) -> tuple[list[str], list[tuple[str, TherapyBridgeError]]]:
    """Expand directories into their audio files (sorted); returns (files, errors for inputs that yield none)."""
    files: list[str] = []
    errors: list[tuple[str, TherapyBridgeError]] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = sorted(str(p) for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
            if found:
                files.extend(found)
            else:
                errors.append((str(raw), NoAudioFilesError(f"{raw}: directory contains no audio files")))
        else:
            files.append(str(raw))
    return files, errors


def check_input(source: str) -> None:
    """Raise the typed error for an input that cannot be a recording: missing, a directory, empty, unreadable, not
    media, or media without sound. Only the container's header is read (``probe_audio``), and no torch is needed,
    so the CLI rejects bad inputs before any model loads."""
    path = Path(source)
    if not path.exists():
        raise InputNotFoundError(f"{source}: no such file")
    if path.is_dir():
        raise ConfigurationError(f"{source}: is a directory; use process_many() or pass its files")
    if path.is_file() and path.stat().st_size == 0:
        raise EmptyAudioError(f"{source}: the file is empty (0 bytes)")
    probe_audio(path)
