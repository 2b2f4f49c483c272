"""Reading outputs back: a validated JSON transcript, and the cues/turns of TXT, SRT, VTT and RTTM files."""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from ..errors import InputNotFoundError, TranscriptFormatError
from ..types import SpeakerTurn, Transcript
from .base import Cue, parse_clock

_ARROW = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)")
_TXT_HEADER = re.compile(r"^(?:(.*?)\s+)?\[(\d+:\d\d:\d\d\.\d+) - (\d+:\d\d:\d\d\.\d+)\]$")
_VOICE = re.compile(r"^<v(?:\.[^\s>]+)*\s+([^>]*)>(.*?)(?:</v>)?$", re.DOTALL)


def read_json(path: str | Path) -> Transcript:
    """A transcript from a JSON file written by this tool (possibly edited by hand), checked against the contract
    (``InputNotFoundError`` when there is no such file, ``TranscriptFormatError`` for any other problem)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputNotFoundError(f"no such transcript: {path}") from None
    except OSError as exc:
        raise TranscriptFormatError(f"cannot read transcript {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TranscriptFormatError(f"{path} is not a JSON transcript: {exc}") from exc
    return transcript_from_dict(data, source=str(path))


def transcript_from_dict(data: Any, source: str = "transcript") -> Transcript:
    """Validate a JSON-shaped transcript and build it; any problem is one readable TranscriptFormatError."""
    problem = _first_problem(data)
    if problem:
        raise TranscriptFormatError(f"{source} does not follow the transcript format: {problem}")
    return Transcript.from_dict(data)


def _first_problem(data: Any) -> str | None:
    if not isinstance(data, Mapping):
        return "the top level must be an object"
    audio = data.get("audio")
    if not isinstance(audio, Mapping) or not isinstance(audio.get("path"), str) or not _is_time(audio.get("duration")):
        return "'audio' must be an object with a string 'path' and a number 'duration'"
    if data.get("language") is not None and not isinstance(data["language"], str):
        return "'language' must be a string or null"
    speakers = data.get("speakers", [])
    if not isinstance(speakers, list):
        return "'speakers' must be a list"
    for n, speaker in enumerate(speakers):
        if not isinstance(speaker, Mapping) or not isinstance(speaker.get("id"), str):
            return f"speakers[{n}] must be an object with a string 'id'"
        if speaker.get("role") is not None and not isinstance(speaker["role"], str):
            return f"speakers[{n}].role must be a string or null"
    # "turns" is absent before schema 1.1, "unrecognised" before 1.2.
    problem = _list_problem(data.get("segments"), "segments", _segment_problem)
    problem = problem or _list_problem(data.get("turns", []), "turns", _turn_problem)
    problem = problem or _list_problem(data.get("unrecognised", []), "unrecognised", _unrecognised_problem)
    if problem:
        return problem
    for key in ("performance_metrics", "provenance", "analytics"):  # "analytics" is absent before schema 1.2
        if data.get(key) is not None and not isinstance(data[key], Mapping):
            return f"'{key}' must be an object"
    return None


def _list_problem(items: Any, key: str, item_problem: Callable[[Any, str], str | None]) -> str | None:
    if not isinstance(items, list):
        return f"'{key}' must be a list"
    return next((p for n, item in enumerate(items) if (p := item_problem(item, f"{key}[{n}]"))), None)


def _span_problem(span: Any, where: str) -> str | None:
    """What is wrong with an object that should have a numeric ``start`` no later than its ``end``."""
    if not isinstance(span, Mapping):
        return f"{where} must be an object"
    if not (_is_time(span.get("start")) and _is_time(span.get("end"))):
        return f"{where} needs numeric 'start' and 'end'"
    if span["end"] < span["start"]:
        return f"{where} ends before it starts"
    return None


def _turn_problem(turn: Any, where: str) -> str | None:
    problem = _span_problem(turn, where)
    if problem is None and not isinstance(turn.get("speaker"), str):
        return f"{where}.speaker must be a string"
    return problem


def _unrecognised_problem(span: Any, where: str) -> str | None:
    problem = _span_problem(span, where)
    if problem is None and span.get("speaker") is not None and not isinstance(span["speaker"], str):
        return f"{where}.speaker must be a string or null"
    return problem


def _segment_problem(segment: Any, where: str) -> str | None:
    problem = _span_problem(segment, where)
    if problem:
        return problem
    if not isinstance(segment.get("text", ""), str):
        return f"{where}.text must be a string"
    if segment.get("speaker") is not None and not isinstance(segment["speaker"], str):
        return f"{where}.speaker must be a string or null"
    words = segment.get("words", [])
    if not isinstance(words, list):
        return f"{where}.words must be a list"
    for k, word in enumerate(words):
        if not isinstance(word, Mapping) or not isinstance(word.get("word"), str):
            return f"{where}.words[{k}] must be an object with a string 'word'"
        for key in ("start", "end", "probability"):
            if word.get(key) is not None and not _is_time(word[key]):
                return f"{where}.words[{k}].{key} must be a number or null"
    return None


def _is_time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _split_label(text: str, speakers: Collection[str] | None) -> tuple[str | None, str]:
    """``("Label", "text")`` from ``"Label: text"``; with ``speakers`` given, only those labels count."""
    label, sep, rest = text.partition(": ")
    if sep and (speakers is None or label in speakers):
        return label, rest
    return None, text


def _blocks(text: str) -> list[list[str]]:
    return [block.splitlines() for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if block.strip()]


def parse_srt(text: str, speakers: Collection[str] | None = None) -> list[Cue]:
    """Cues of a SubRip file; a leading ``Label: `` becomes the cue's speaker (only known labels if given)."""
    cues = []
    for lines in _blocks(text):
        timing = next((i for i, line in enumerate(lines) if _ARROW.match(line)), None)
        if timing is None:
            continue
        start, end = _ARROW.match(lines[timing]).groups()  # type: ignore[union-attr]
        body = " ".join(line.strip() for line in lines[timing + 1 :])
        speaker, body = _split_label(body, speakers)
        cues.append(Cue(parse_clock(start), parse_clock(end), body, speaker))
    return cues


def parse_vtt(text: str) -> list[Cue]:
    """Cues of a WebVTT file, speakers from ``<v Label>`` tags, entities unescaped."""
    blocks = _blocks(text.lstrip("\ufeff"))
    if not blocks or not blocks[0][0].startswith("WEBVTT"):
        raise TranscriptFormatError("not a WebVTT file: the first line must be WEBVTT")
    cues = []
    for lines in blocks[1:]:
        timing = next((i for i, line in enumerate(lines) if _ARROW.match(line)), None)
        if timing is None:
            continue  # NOTE / STYLE / REGION blocks
        start, end = _ARROW.match(lines[timing]).groups()  # type: ignore[union-attr]
        body = " ".join(line.strip() for line in lines[timing + 1 :])
        voice = _VOICE.match(body)
        speaker = html.unescape(voice.group(1)).strip() if voice else None
        if voice:
            body = voice.group(2)
        body = html.unescape(re.sub(r"</?[^>]+>", "", body))
        cues.append(Cue(parse_clock(start), parse_clock(end), body, speaker))
    return cues


def parse_txt(text: str) -> list[Cue]:
    """Paragraphs of a TXT transcript written by this tool (header line with label and times, then text)."""
    cues = []
    for lines in _blocks(text):
        header = _TXT_HEADER.match(lines[0].strip())
        if not header:
            raise TranscriptFormatError(f"not a therapybridge TXT transcript: unexpected header {lines[0][:60]!r}")
        label, start, end = header.groups()
        cues.append(Cue(parse_clock(start), parse_clock(end), " ".join(line.strip() for line in lines[1:]), label))
    return cues


def parse_rttm(text: str) -> list[SpeakerTurn]:
    """Speaker turns of the ``SPEAKER`` lines of an RTTM file."""
    turns = []
    for n, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        try:
            start, duration = float(fields[3]), float(fields[4])
            turns.append(SpeakerTurn(start, start + duration, fields[7]))
        except (IndexError, ValueError) as exc:
            raise TranscriptFormatError(f"RTTM line {n} is malformed: expected 10 space-separated fields") from exc
    return turns
