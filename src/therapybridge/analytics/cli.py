"""``therapybridge analytics TRANSCRIPT.json [-o DIR]``: recompute the session analytics of a saved transcript.

Writes ``<stem>.analytics.json`` and ``<stem>.analytics.csv`` beside the transcript (or in ``-o DIR``). Any
transcript of ours is accepted, older schema versions included; anything else, or a missing file, is one
``therapybridge: error: …`` line on stderr, exit status 1, and nothing written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigurationError, TherapyBridgeError

EXIT_FAILED, EXIT_USAGE = 1, 2


def _fail(exc: BaseException, code: int) -> typer.Exit:
    from ..redaction import scrub

    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    typer.echo(scrub(f"therapybridge: error: {message}"), err=True)
    return typer.Exit(code)


def analytics(
    transcript: Path = typer.Argument(..., metavar="TRANSCRIPT.json", help="A JSON transcript written by therapybridge."),
    output_dir: Optional[Path] = typer.Option(
        None, "--output-dir", "-o", help="Where to write <stem>.analytics.json/.csv (default: beside the transcript)."
    ),
    config_file: Optional[Path] = typer.Option(
        None, "--config", help="TOML file whose [analytics] section changes the definitions' constants."
    ),
) -> None:
    """Recompute the session analytics (talk time, latency, interruptions, silences) of a saved transcript."""
    from ..writers import read_json, write_outputs
    from . import compute_analytics

    try:
        options = None
        if config_file is not None:
            from ..config import PipelineConfig

            options = PipelineConfig.from_toml(config_file).analytics
        loaded = read_json(transcript)
        result = compute_analytics(loaded, options)
        paths = write_outputs(loaded.with_changes(analytics=result.to_dict()), output_dir or transcript.parent,
                              transcript.stem, ["analytics"])
    except ConfigurationError as exc:
        raise _fail(exc, EXIT_USAGE) from None
    except TherapyBridgeError as exc:
        raise _fail(exc, EXIT_FAILED) from None
    for path in paths:
        typer.echo(f"therapybridge: wrote {path}", err=True)


def register(app: typer.Typer) -> None:
    app.command(name="analytics")(analytics)
