"""A job's results: written with the project's writers into ``results/<id>/transcript.<ext>``, served from there.

The HTML page of a served transcript gets no audio link: the recording is deleted when the job ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..types import Transcript
from ..writers import HtmlWriter, Writer, get_writer, read_json
from ..writers.output import write_outputs

STEM = "transcript"
MEDIA_TYPES = {
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "rttm": "text/plain; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "analytics": "application/json",
    "analytics-csv": "text/csv; charset=utf-8",
    "live": "application/json",
}
# A live session's transcript as it was committed live (``format=live``); only live sessions have one.
LIVE_NAME = f"{STEM}.live.json"
# Served names that are a second file of a format (``--format analytics`` writes ``.analytics.json`` and ``.csv``).
SECOND_FILES = {"analytics-csv": ("analytics", "analytics.csv")}


def writer_for(format: str) -> Writer:
    return HtmlWriter(audio_src="") if format == "html" else get_writer(format)


def write_results(transcript: Transcript, directory: Path, formats: Sequence[str]) -> list[Path]:
    """``directory/transcript.<ext>`` for ``formats`` (JSON always, the source for the others), all or nothing."""
    names = list(dict.fromkeys(["json", *formats]))
    return write_outputs(transcript, directory, STEM, names, writers={name: writer_for(name) for name in names})


def result_text(directory: Path, format: str) -> str:
    """A result in ``format`` (a writer's format, or ``analytics-csv``): the file written for it, else rendered
    from the job's JSON transcript."""
    if format == "live":
        return (directory / LIVE_NAME).read_text(encoding="utf-8")
    name, extension = SECOND_FILES.get(format, (format, None))
    writer = writer_for(name)
    extension = extension or writer.extension
    path = directory / f"{STEM}.{extension}"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return writer.render_files(read_json(directory / f"{STEM}.json"))[extension]


def read_transcript(directory: Path) -> Transcript:
    return read_json(directory / f"{STEM}.json")
