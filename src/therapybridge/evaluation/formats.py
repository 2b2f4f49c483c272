"""Reference files: RTTM speaker turns (read and write), STM utterances and UEM scoring regions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputNotFoundError, TranscriptFormatError
from ..types import SpeakerTurn

# STM: ``file channel speaker start end [<tags>] text``; the optional field in angle brackets holds comma-separated
# tags such as ``<backchannel>`` or NIST's ``<o,f0,male>``.
_STM_LINE = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+<([^>]*)>)?(?:\s+(.*))?$")


@dataclass(frozen=True)
class StmUtterance:
    """One STM line: who said what, and when (seconds)."""

    file: str
    channel: str
    speaker: str
    start: float
    end: float
    text: str
    tags: tuple[str, ...] = ()

    @property
    def backchannel(self) -> bool:
        return "backchannel" in self.tags

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "channel": self.channel, "speaker": self.speaker, "start": self.start,
                "end": self.end, "text": self.text, "tags": list(self.tags)}


def _read_text(path: str | Path, kind: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputNotFoundError(f"{path}: no such {kind} file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptFormatError(f"cannot read {kind} file {path}: {getattr(exc, 'strerror', None) or exc}") from exc


def read_rttm(path: str | Path) -> list[SpeakerTurn]:
    """The ``SPEAKER`` turns of an RTTM file (ends rounded to the microsecond to undo float noise)."""
    from ..writers import parse_rttm

    turns = parse_rttm(_read_text(path, "RTTM"))
    return [SpeakerTurn(t.start, round(t.end, 6), t.speaker) for t in turns]


def format_rttm(turns: Iterable[Any], uri: str) -> str:
    """RTTM text, one ``SPEAKER`` line per turn (anything with ``start``, ``end`` and ``speaker``)."""
    return "".join(
        f"SPEAKER {uri} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n" for t in turns
    )


def write_rttm(path: str | Path, turns: Iterable[Any], uri: str) -> None:
    """Write :func:`format_rttm` to ``path``."""
    Path(path).write_text(format_rttm(turns, uri), encoding="utf-8")


def read_stm(path: str | Path) -> list[StmUtterance]:
    """The utterances of an STM file; comment lines (``;;``) and blank lines are skipped."""
    utterances = []
    for n, line in enumerate(_read_text(path, "STM").splitlines(), start=1):
        if not line.strip() or line.startswith(";;"):
            continue
        match = _STM_LINE.match(line.strip())
        try:
            file, channel, speaker, start, end, tags, text = match.groups()  # type: ignore[union-attr]
            if float(end) < float(start):
                raise ValueError("ends before it starts")
            utterances.append(StmUtterance(file, channel, speaker, float(start), float(end), text or "",
                                           tuple(t.strip() for t in (tags or "").split(",") if t.strip())))
        except (AttributeError, ValueError) as exc:
            raise TranscriptFormatError(f"{path}: STM line {n} is malformed: expected "
                                        "'file channel speaker start end [<tags>] text'") from exc
    return utterances


def read_uem(path: str | Path) -> list[tuple[float, float]]:
    """The scored regions of a UEM file (``file channel start end`` per line)."""
    regions = []
    for n, line in enumerate(_read_text(path, "UEM").splitlines(), start=1):
        fields = line.split()
        if not fields or line.startswith(";;"):
            continue
        try:
            regions.append((float(fields[2]), float(fields[3])))
        except (IndexError, ValueError) as exc:
            raise TranscriptFormatError(f"{path}: UEM line {n} is malformed: expected 'file channel start end'") from exc
    return regions
