"""``therapybridge deidentify TRANSCRIPT.json``, and the ``--deidentify`` step of ``therapybridge transcribe``.

``deidentify`` writes ``<stem>.deid.<ext>`` for each ``--format`` beside the transcript (or in ``-o DIR``); with
``--deidentify-audio`` also the bleeped copy of the recording the transcript names (``--audio PATH`` names another
one). Any transcript of ours is accepted, older schema versions included; anything else, or a missing file, is one
``therapybridge: error: …`` line on stderr, exit status 1, and nothing written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import ConfigurationError, TherapyBridgeError

EXIT_FAILED, EXIT_USAGE = 1, 2
DEFAULT_FORMATS = "json,txt,srt,vtt"


class DeidStep:
    """What ``transcribe --deidentify`` does after each file's outputs are written (the analyzer loaded once)."""

    def __init__(self, output_dir: Path, formats: Sequence[str], *, audio: bool, rename: bool) -> None:
        self.output_dir = output_dir
        self.formats = tuple(formats)
        self.audio = audio
        self.rename = rename
        self._deidentifier = None

    def __call__(self, source: str, transcript: Any) -> list[Path]:
        from . import Deidentifier
        from .outputs import write_deidentified

        if self._deidentifier is None:
            self._deidentifier = Deidentifier().load()
        _, paths = write_deidentified(transcript, self.output_dir, Path(source).stem, self.formats,
                                      deidentifier=self._deidentifier, audio_source=source if self.audio else None,
                                      rename=self.rename)
        for path in paths:
            logging.getLogger("therapybridge.cli").info("wrote %s", path)
        return paths


def deidentify(
    transcript: Path = typer.Argument(..., metavar="TRANSCRIPT.json", help="A JSON transcript written by therapybridge."),
    output_dir: Optional[Path] = typer.Option(
        None, "--output-dir", "-o", help="Where to write <stem>.deid.<ext> (default: beside the transcript)."
    ),
    formats: str = typer.Option(DEFAULT_FORMATS, "--format", "-f",
                                help="Comma-separated: json,txt,srt,vtt,rttm,html,analytics."),
    deidentify_audio: bool = typer.Option(
        False, "--deidentify-audio", help="Also write <stem>.deid.opus: the recording with every finding bleeped."
    ),
    audio: Optional[Path] = typer.Option(
        None, "--audio", help="The recording to bleep (default: the one the transcript names); implies "
        "--deidentify-audio.", show_default=False,
    ),
    deidentify_names: bool = typer.Option(
        False, "--deidentify-names", help="Name the outputs by a keyed hash instead of the transcript's stem."
    ),
) -> None:
    """Write de-identified copies of a saved transcript: names, places, dates, contacts and numbers replaced."""
    from ..cli import _error_line, _fail, _parse_formats
    from ..writers import FORMATS, read_json
    from .outputs import write_deidentified

    fmt = _parse_formats(formats, tuple(FORMATS))
    try:
        loaded = read_json(transcript)
        source = audio if audio is not None else (Path(loaded.audio.path) if deidentify_audio else None)
        _, paths = write_deidentified(loaded, output_dir or transcript.parent, transcript.stem, fmt,
                                      audio_source=source, rename=deidentify_names)
    except ConfigurationError as exc:
        raise _fail(_error_line(None, exc), EXIT_USAGE) from None
    except TherapyBridgeError as exc:
        raise _fail(_error_line(None, exc), EXIT_FAILED) from None
    for path in paths:
        typer.echo(f"therapybridge: wrote {path}", err=True)


def register(app: typer.Typer) -> None:
    app.command(name="deidentify")(deidentify)
