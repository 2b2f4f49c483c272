"""``therapybridge live``: a live transcript in the terminal from a file, stdin or a microphone.

Registered on the main app by :func:`register`. At the end the offline pipeline runs once over the whole
recording and its transcript is written like ``transcribe``'s; the live one is kept as ``<stem>.live.json``.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import ConfigurationError, TherapyBridgeError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

logger = logging.getLogger(__name__)


def _echo(message: str) -> None:
    from ..redaction import scrub

    typer.echo(scrub(f"therapybridge: {message}"), err=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def live(
    input: str = typer.Option(..., "--input", "-i", help="A file, '-' for stdin (a container, or raw PCM with --raw) or 'mic'."),
    realtime: bool = typer.Option(False, "--realtime", help="Replay a file at its own pace (as if it were live)."),
    raw: Optional[str] = typer.Option(None, "--raw", help="stdin holds raw 16 kHz mono PCM: s16le or f32le."),
    output_dir: Path = typer.Option(Path("."), "--output-dir", "-o", help="Where to write <stem>.<ext> files."),
    formats: str = typer.Option("json,txt,srt,vtt", "--format", "-f", help="Formats of the final transcript."),
    name: Optional[str] = typer.Option(None, "--name", help="Output stem for stdin/mic (default live-<UTC time>)."),
    model: str = typer.Option("tiny.en", "--model", "-m", help="Whisper model of the live transcript."),
    final_model: Optional[str] = typer.Option(
        None, "--final-model", help="Whisper model of the final pass (default: transcribe's default).", show_default=False
    ),
    device: str = typer.Option("auto", "--device", "-d", help="auto, cpu, cuda or mps."),
    speakers: Optional[int] = typer.Option(None, "--speakers", "-n", min=1, help="Exact number of speakers."),
    min_speakers: Optional[int] = typer.Option(None, "--min-speakers", min=1, help="At least this many speakers."),
    max_speakers: Optional[int] = typer.Option(None, "--max-speakers", min=1, help="At most this many speakers."),
    language: Optional[str] = typer.Option(None, "--language", "-l", help="Language code (default: detect once)."),
    no_diarization: bool = typer.Option(False, "--no-diarization", help="No speakers (live and final)."),
    no_final_pass: bool = typer.Option(False, "--no-final-pass", help="The live transcript is the output."),
    chunk_seconds: float = typer.Option(0.5, "--chunk-seconds", help="Decode every this many seconds of audio."),
    mic_device: Optional[str] = typer.Option(None, "--mic-device", help="PortAudio input device (name or index)."),
) -> None:
    """Transcribe live: words appear as they are said, with speakers; the offline pass runs at the end."""
    from ..writers import FORMATS
    from .options import LiveOptions

    fmt = tuple(dict.fromkeys(f.strip().lower() for f in formats.split(",") if f.strip()))
    unknown = [f for f in fmt if f not in FORMATS]
    if unknown or not fmt:
        raise typer.BadParameter(f"unknown format(s) {', '.join(unknown) or '(none)'}; choose from {','.join(FORMATS)}")
    if raw is not None and input != "-":
        raise typer.BadParameter("--raw describes stdin; use it with --input -")
    if realtime and input in ("-", "mic"):
        raise typer.BadParameter("--realtime replays a file; stdin and the microphone are live already")
    try:
        options = LiveOptions(model=model, device=device, language=language, speakers=speakers,
                              min_speakers=min_speakers, max_speakers=max_speakers, diarization=not no_diarization,
                              chunk_seconds=chunk_seconds)
    except ConfigurationError as exc:
        _echo(f"error: {_first_line(exc)}")
        raise typer.Exit(EXIT_USAGE) from None
    stem = name or (Path(input).stem if input not in ("-", "mic") else time.strftime("live-%Y%m%d-%H%M%S", time.gmtime()))
    code = _run(options, input, realtime, raw, output_dir, fmt, stem, final_model, no_final_pass, mic_device)
    raise typer.Exit(code)


def _run(options: Any, source: str, realtime: bool, raw: Optional[str], output_dir: Path, formats: tuple[str, ...],
         stem: str, final_model: Optional[str], no_final_pass: bool, mic_device: Optional[str]) -> int:
    from .final import write_live
    from .models import LiveModels
    from .recording import Recording
    from .runner import run_live
    from .session import LiveSession

    try:
        blocks = _blocks(source, realtime, raw, mic_device)
        models = LiveModels.load(options)
    except TherapyBridgeError as exc:
        _echo(f"error: {_first_line(exc)}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _echo("interrupted before the session started; nothing was written")
        return EXIT_INTERRUPTED
    display = _Display()
    with Recording() as recording:
        with display:
            run = run_live(LiveSession(models, options), blocks, on_events=display, recording=recording)
        recording.close()
        if run.message:
            _echo(("error: " if run.error is not None else "") + run.message)
        try:
            written = write_live(run.transcript, output_dir, stem, formats if no_final_pass else ())
            if not no_final_pass and not run.interrupted and run.transcript.audio_seconds > 0:
                written += _final(options, source, recording.path, run, output_dir, formats, stem, final_model)
        except KeyboardInterrupt:
            _echo("interrupted during the final pass; the live transcript is kept as " + f"{stem}.live.json")
            return EXIT_INTERRUPTED
        except TherapyBridgeError as exc:
            _echo(f"error: {_first_line(exc)}")
            return EXIT_FAILED
    for path in written:
        logger.info("wrote %s", path)
    if run.interrupted:
        return EXIT_OK if source == "mic" else EXIT_INTERRUPTED
    return EXIT_FAILED if run.error is not None else EXIT_OK


def _final(options: Any, source: str, recorded: Path, run: Any, output_dir: Path, formats: tuple[str, ...], stem: str,
           final_model: Optional[str]) -> tuple[Path, ...]:
    """The offline pipeline once: over the file itself when it was heard to its end, else over what was heard."""
    from ..config import PipelineConfig
    from ..pipeline import AudioTranscriptionPipeline
    from .final import final_pass

    overrides: dict[str, Any] = {"device": options.device, "enable_diarization": options.diarization}
    if final_model:
        overrides["asr__model"] = final_model
    if options.language:
        overrides["asr__language"] = options.language
    pipeline = AudioTranscriptionPipeline(PipelineConfig.layered(None, overrides=overrides))
    whole_file = source not in ("-", "mic") and run.error is None and not run.interrupted
    _echo("final pass: transcribing the whole recording offline")
    _, paths = final_pass(
        pipeline, source if whole_file else recorded, output_dir, formats, stem=None if whole_file else stem,
        num_speakers=options.speakers, min_speakers=options.min_speakers, max_speakers=options.max_speakers,
    )
    return paths


def _blocks(source: str, realtime: bool, raw: Optional[str], mic_device: Optional[str]):
    from . import sources

    if source == "mic":
        device: Any = int(mic_device) if mic_device and mic_device.isdigit() else mic_device
        sources._sounddevice()  # a missing PortAudio is an error now, before any model loads
        return sources.microphone_blocks(device)
    if source == "-":
        stdin = sys.stdin.buffer
        return sources.raw_blocks(stdin, raw) if raw else sources.decoded_blocks(stdin)
    from ..audio.decode import AudioStream

    AudioStream(source, mono=True)._container.close()  # opens the file now: missing/unreadable is an error at once
    blocks = sources.decoded_blocks(source)
    return sources.paced(blocks) if realtime else blocks


class _Display:
    """One line per committed utterance on stdout; on a terminal, the open utterance and the partial words on a
    line that updates in place (rich)."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False, soft_wrap=True)
        self._live = None
        self._open: list[str] = []

    def __enter__(self) -> "_Display":
        if self.console.is_terminal:
            from rich.live import Live
            from rich.text import Text

            self._live = Live(Text(""), console=self.console, transient=True, auto_refresh=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def __call__(self, events: list[Any]) -> None:
        for event in events:
            data = event.to_dict()
            kind = data["type"]
            if kind == "committed":
                self._open.extend(w["text"] for w in data["words"])
            elif kind == "utterance":
                self._open = self._open[len(data["text"].split()):] if self._open else []
                self._print(f"[{_clock(data['start'])}] {data['speaker'] or 'SPEAKER ?'}: {data['text']}")
            elif kind == "relabel":
                self._print(f"[{_clock(data['at'])}] ({data['from']} is {data['to']})", style="dim")
            elif kind == "partial":
                self._update(" ".join(w["text"] for w in data["words"]))

    def _print(self, line: str, style: str | None = None) -> None:
        from rich.markup import escape

        text = escape(line)
        (self._live.console if self._live is not None else self.console).print(
            f"[{style}]{text}[/{style}]" if style else text)

    def _update(self, partial: str) -> None:
        if self._live is None:
            return
        from rich.text import Text

        line = Text(" ".join(self._open))
        if partial:
            line.append((" " if self._open else "") + partial, style="dim italic")
        self._live.update(line, refresh=True)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def register(app: typer.Typer) -> None:
    app.command(name="live")(live)
