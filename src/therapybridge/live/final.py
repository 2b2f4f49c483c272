"""The final pass: the ordinary offline pipeline, run once over the whole recording of a live session."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..writers import write_outputs
from .transcript import LiveTranscript

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline import AudioTranscriptionPipeline
    from ..types import Transcript

LIVE_SUFFIX = "live"  # <stem>.live.json


def final_pass(
    pipeline: "AudioTranscriptionPipeline",
    source: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    formats: Sequence[str],
    *,
    stem: str | None = None,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> tuple["Transcript", tuple[Path, ...]]:
    """Transcribe ``source`` with ``pipeline`` and write ``formats`` as ``transcribe`` does.

    With ``stem`` (a recorded stream whose temporary file name means nothing) the outputs are named after it and
    the transcript's audio path is the stem; otherwise they are exactly ``transcribe``'s outputs for ``source``."""
    transcript = pipeline.process(source, num_speakers=num_speakers, min_speakers=min_speakers,
                                  max_speakers=max_speakers)
    if stem is None:
        return pipeline.write_transcripts(transcript, str(source), output_dir, formats)
    transcript = dataclasses.replace(transcript, audio=dataclasses.replace(transcript.audio, path=stem))
    return transcript, tuple(write_outputs(transcript, output_dir, stem, formats))


def write_live(live: LiveTranscript, output_dir: str | os.PathLike[str], stem: str,
               formats: Sequence[str] = ()) -> tuple[Path, ...]:
    """Write ``<stem>.live.json`` (always) and, when ``formats`` are given (``--no-final-pass``), the live
    transcript in those formats as ``<stem>.<ext>``; every file 0600 and written atomically."""
    transcript = live.to_transcript(stem)
    paths = list(write_outputs(transcript, output_dir, stem, formats)) if formats else []
    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{stem}.{LIVE_SUFFIX}.json"
    temp = directory / f".{stem}.{LIVE_SUFFIX}.json.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({**live.to_dict(), "audio": transcript.audio.to_dict()}, handle, indent=2, ensure_ascii=False)
    os.replace(temp, target)
    return (*paths, target)
