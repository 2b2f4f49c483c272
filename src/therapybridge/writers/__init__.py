"""Output formats: each ``Writer`` declares its ``extension`` and renders a transcript to text.

``get_writer("srt").render(transcript)`` gives one format; ``write_outputs(transcript, out_dir, stem, formats)``
writes several atomically. ``FORMATS`` is a live read-only view of the registry (name -> writer), so a format
registered later with ``register_writer`` (the HTML page, for example) is offered by the CLI too.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType

from ..errors import ConfigurationError
from ..types import Transcript
from .base import Cue, Writer, clock, parse_clock, subtitle_cues
from .formats import JsonWriter, RttmWriter, SrtWriter, TxtWriter, VttWriter, paragraphs
from .output import write_outputs as _write_outputs
from .readers import parse_rttm, parse_srt, parse_txt, parse_vtt, read_json, transcript_from_dict

_REGISTRY: dict[str, Writer] = {}
FORMATS = MappingProxyType(_REGISTRY)


def register_writer(writer: Writer) -> Writer:
    """Offer ``writer`` under its ``format`` name (replacing any writer of that name)."""
    _REGISTRY[writer.format] = writer
    return writer


for _writer in (JsonWriter(), TxtWriter(), SrtWriter(), VttWriter(), RttmWriter()):
    register_writer(_writer)

from .html import HtmlWriter  # noqa: E402  (the transcript page, owned by the roles feature)

register_writer(HtmlWriter())

from .analytics import AnalyticsWriter  # noqa: E402  (the session analytics, therapybridge.analytics)

register_writer(AnalyticsWriter())


def get_writer(format: str) -> Writer:
    """The writer for a format name (case-insensitive)."""
    try:
        return _REGISTRY[format.strip().lower()]
    except KeyError:
        raise ConfigurationError(f"unknown output format {format!r}; choose from {', '.join(_REGISTRY)}") from None


def write_outputs(transcript: Transcript, out_dir: str | Path, stem: str, formats: Iterable[str]) -> list[Path]:
    """Write ``out_dir/<stem>.<ext>`` for every format, atomically and all-or-nothing; the paths written."""
    names = list(dict.fromkeys(f.strip().lower() for f in formats))
    writers = {name: get_writer(name) for name in names}
    if isinstance(writers.get("html"), HtmlWriter):
        # The page refers to the recording by a path relative to where the page itself is written.
        writers["html"] = HtmlWriter(output_dir=out_dir)
    return _write_outputs(transcript, out_dir, stem, names, writers=writers)


__all__ = [
    "FORMATS",
    "AnalyticsWriter",
    "Cue",
    "JsonWriter",
    "RttmWriter",
    "SrtWriter",
    "TxtWriter",
    "VttWriter",
    "Writer",
    "clock",
    "get_writer",
    "paragraphs",
    "parse_clock",
    "parse_rttm",
    "parse_srt",
    "parse_txt",
    "parse_vtt",
    "read_json",
    "register_writer",
    "subtitle_cues",
    "transcript_from_dict",
    "write_outputs",
]
