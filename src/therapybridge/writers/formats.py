"""The built-in formats: JSON (the full contract), TXT, SRT, WebVTT and RTTM."""

from __future__ import annotations

import json
import math
import re
from pathlib import PurePath
from typing import Any

from ..types import Transcript
from .base import Cue, Writer, clock, in_time_order, marker_cues, speaker_segments, subtitle_cues, wrap_lines


class JsonWriter(Writer):
    """The complete transcript in the JSON contract of DESIGN.md (no embeddings, times in seconds)."""

    format = "json"
    extension = "json"

    def render(self, transcript: Transcript) -> str:
        data = _finite(transcript.to_dict())
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    """NaN and infinities (a metric that could not be measured) become null: strict JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class TxtWriter(Writer):
    """Readable paragraphs: a header line ``Label  [HH:MM:SS.s - HH:MM:SS.s]`` then the text.

    Consecutive segments of one speaker form one paragraph; without diarization every segment is its own
    paragraph and the header carries only its times.
    """

    format = "txt"
    extension = "txt"

    def render(self, transcript: Transcript) -> str:
        blocks = []
        for cue in paragraphs(transcript):
            times = f"[{clock(cue.start, digits=1)} - {clock(cue.end, digits=1)}]"
            label = transcript.speaker_label(cue.speaker)
            header = f"{label}  {times}" if label else times
            blocks.append(f"{header}\n{cue.text}\n")
        return "\n".join(blocks)


def paragraphs(transcript: Transcript) -> list[Cue]:
    """Speaker turns as paragraphs: consecutive segments of one (known) speaker merged; unrecognised speech is a
    visible ``[inaudible …]`` marker in its speaker's paragraph."""
    segments = [Cue(s.start, s.end, s.text.strip(), s.speaker) for s in speaker_segments(transcript) if s.text.strip()]
    merged: list[Cue] = []
    for cue in in_time_order(segments, marker_cues(transcript)):
        last = merged[-1] if merged else None
        if last is not None and cue.speaker is not None and last.speaker == cue.speaker:
            merged[-1] = Cue(last.start, max(last.end, cue.end), f"{last.text} {cue.text}", last.speaker)
        else:
            merged.append(cue)
    return merged


class SrtWriter(Writer):
    """SubRip subtitles; each cue starts with ``Label: `` when the speaker is known."""

    format = "srt"
    extension = "srt"

    def render(self, transcript: Transcript) -> str:
        blocks = []
        for n, cue in enumerate(subtitle_cues(transcript), start=1):
            label = transcript.speaker_label(cue.speaker)
            text = f"{label}: {cue.text}" if label else cue.text
            lines = "\n".join(wrap_lines(text))
            blocks.append(f"{n}\n{clock(cue.start, ',')} --> {clock(cue.end, ',')}\n{lines}\n")
        return "\n".join(blocks)


def escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class VttWriter(Writer):
    """WebVTT subtitles with ``<v Label>`` voice tags (text escaped), readable by browsers' ``<track>``."""

    format = "vtt"
    extension = "vtt"

    def render(self, transcript: Transcript) -> str:
        blocks = ["WEBVTT\n"]
        for cue in subtitle_cues(transcript):
            label = transcript.speaker_label(cue.speaker)
            lines = "\n".join(escape_vtt(line) for line in wrap_lines(cue.text))
            if label:
                lines = f"<v {escape_vtt(label)}>{lines}</v>"
            blocks.append(f"{clock(cue.start)} --> {clock(cue.end)}\n{lines}\n")
        return "\n".join(blocks)


class RttmWriter(Writer):
    """NIST RTTM speaker turns, by speaker id (not label).

    The diarizer's own turns when the transcript carries them (overlapping lines of different speakers are
    kept); otherwise (no diarization, a transcript from before schema 1.1) one line per speaker-homogeneous
    segment. Touching or overlapping turns of one speaker are joined either way.
    """

    format = "rttm"
    extension = "rttm"

    def render(self, transcript: Transcript) -> str:
        file_id = rttm_file_id(transcript.audio.path)
        if transcript.turns:
            spans = [(t.start, t.end, t.speaker) for t in transcript.turns]
        else:
            spans = [(s.start, s.end, s.speaker) for s in speaker_segments(transcript) if s.speaker is not None]
        lines = []
        for start, end, speaker in _joined_by_speaker(spans):
            duration = max(end - start, 0.0)
            lines.append(f"SPEAKER {file_id} 1 {start:.3f} {duration:.3f} <NA> <NA> {speaker} <NA> <NA>")
        return "".join(line + "\n" for line in lines)


def rttm_file_id(path: str) -> str:
    """The recording's stem with whitespace replaced, as RTTM fields are space-separated."""
    stem = PurePath(path).stem or "audio"
    return re.sub(r"\s+", "_", stem)


def _joined_by_speaker(spans: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Spans in time order, each joined with its speaker's previous span when they touch or overlap.

    Other speakers' spans in between (an overlap, a backchannel) do not prevent the join. O(n log n).
    """
    joined: list[list[Any]] = []
    last_of: dict[str, list[Any]] = {}
    for start, end, speaker in sorted(spans, key=lambda span: (span[0], span[1])):
        last = last_of.get(speaker)
        if last is not None and start <= last[1]:
            last[1] = max(last[1], end)
        else:
            last_of[speaker] = [start, end, speaker]
            joined.append(last_of[speaker])
    return [(start, end, speaker) for start, end, speaker in joined]
