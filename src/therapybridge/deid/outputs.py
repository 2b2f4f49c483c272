"""Writing the de-identified variants beside the originals: ``<stem>.deid.<ext>`` for every requested format.

With ``rename=True`` (``--deidentify-names``) the variants are named ``<keyed hash>.deid.<ext>`` instead, so the
names do not repeat the input's (the keyed hash of ``therapybridge.redaction``: the same input gives the same name
on one machine, and the name cannot be turned back into the input's). The optional bleeped audio copy is
``<name>.deid.opus``; the HTML page links only to it, or to no recording when there is none. Every file is mode
0600; the text files are written all-or-nothing, and the audio copy is removed again if they fail.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputNotFoundError
from ..types import Transcript
from .audio import AUDIO_EXTENSION, write_bleeped
from .engine import Deidentifier
from .model import DeidOptions, DeidResult
from .transcript import deidentify_transcript

SUFFIX = "deid"
PAGE_TITLE = "De-identified"  # the page shows "De-identified – transcript"


def deid_name(stem: str, rename: bool) -> str:
    """The name the variants share, before their extension: ``<stem>.deid`` or ``<keyed hash>.deid``."""
    if rename:
        from ..redaction import redact_name

        return f"{redact_name(stem + '.x').removesuffix('.x')}.{SUFFIX}"
    return f"{stem}.{SUFFIX}"


def write_deidentified(
    transcript: Transcript,
    output_dir: str | os.PathLike[str],
    stem: str,
    formats: Sequence[str],
    *,
    deidentifier: Deidentifier | None = None,
    options: DeidOptions | None = None,
    audio_source: str | os.PathLike[str] | None = None,
    rename: bool = False,
) -> tuple[DeidResult, list[Path]]:
    """De-identify ``transcript`` and write its variants of ``formats`` (and, given ``audio_source``, the
    bleeped audio copy) into ``output_dir``; the result and the paths written."""
    from ..writers import get_writer
    from ..writers.html import HtmlWriter
    from ..writers.output import write_outputs

    directory = Path(output_dir)
    name = deid_name(stem, rename)
    audio_name = f"{name}.{AUDIO_EXTENSION}" if audio_source is not None else ""
    if audio_source is not None and not Path(audio_source).exists():
        raise InputNotFoundError(f"the recording to bleep is not there: {audio_source}")
    result = deidentify_transcript(transcript, deidentifier, options, audio_path=audio_name)
    names = list(dict.fromkeys(f.strip().lower() for f in formats))
    writers = {f: get_writer(f) for f in names}
    if "html" in writers:
        writers["html"] = HtmlWriter(audio_src=audio_name, title=PAGE_TITLE)
    written: list[Path] = []
    if audio_source is not None:
        directory.mkdir(parents=True, exist_ok=True)
        written.append(write_bleeped(audio_source, result.findings, directory / audio_name, result.options))
    try:
        written += write_outputs(result.transcript, directory, name, names, writers=writers)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return result, written
