"""The ``therapybridge`` command: thin, parse -> config -> pipeline, with exit codes 0 / 1 / 2.

Exit 0 when every input succeeded, 1 when any failed, 2 for usage errors, 130 when interrupted.
Errors are one line each on stderr; ``--debug`` adds tracebacks.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import typer

from .errors import ConfigurationError, RemoteNotAllowedError, TherapyBridgeError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

app = typer.Typer(
    name="therapybridge",
    help="Offline transcripts of therapy sessions: who said what and when, with a performance profiler.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
profiles_app = typer.Typer(help="Manage enrolled voice profiles.", no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")

_state: dict[str, Any] = {"debug": False}


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("therapybridge: %(levelname)s: %(message)s"))
    root = logging.getLogger("therapybridge")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # The profiler's console lines (stage started/failed …) are for -v; the error line already says what failed.
    logging.getLogger("therapybridge.perf").setLevel(logging.NOTSET if verbose else logging.ERROR)
    for noisy in ("faster_whisper", "httpx", "openai", "numba", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _error_line(source: str | None, exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if source and source not in message:
        message = f"{source}: {message}"
    return f"therapybridge: error: {message}"


def _echo_err(message: str) -> None:
    """A line on stderr; with --redact-paths the names of the inputs are hashed in it (therapybridge.redaction)."""
    from .redaction import scrub

    typer.echo(scrub(message), err=True)


def _fail(message: str, code: int) -> "typer.Exit":
    _echo_err(message)
    return typer.Exit(code)


def _install_signal_handlers() -> None:
    def _interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)


@app.callback()
def _main(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output (-vv for debug)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors (for bug reports)."),
) -> None:
    _configure_logging(verbose, quiet)
    _state["debug"] = debug
    _state["quiet"] = quiet
    _install_signal_handlers()


def _parse_formats(value: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    unknown = [f for f in formats if f not in allowed]
    if unknown or not formats:
        raise typer.BadParameter(f"unknown format(s) {', '.join(unknown) or '(none)'}; choose from {','.join(allowed)}")
    return formats


@app.command()
def transcribe(
    ctx: typer.Context,
    inputs: list[str] = typer.Argument(
        ..., metavar="INPUT", help="Audio files or directories of audio files.", show_default=False
    ),
    output_dir: Path = typer.Option(Path("."), "--output-dir", "-o", help="Where to write <stem>.<ext> files."),
    formats: str = typer.Option(
        "json,txt,srt,vtt", "--format", "-f", help="Comma-separated: json,txt,srt,vtt,rttm,html,analytics."
    ),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="Whisper model: tiny.en, base (default), a directory, or a hub name.",
        show_default=False,
    ),
    device: Optional[str] = typer.Option(None, "--device", "-d", help="auto (default), cpu, cuda or mps."),
    speakers: Optional[int] = typer.Option(None, "--speakers", "-n", help="Exact number of speakers.", min=1),
    min_speakers: Optional[int] = typer.Option(None, "--min-speakers", help="At least this many speakers.", min=1),
    max_speakers: Optional[int] = typer.Option(None, "--max-speakers", help="At most this many speakers.", min=1),
    no_diarization: bool = typer.Option(False, "--no-diarization", help="Skip speaker diarization (speakers null)."),
    channel_speakers: bool = typer.Option(
        False, "--channel-speakers",
        help="One speaker per channel (telehealth/phone recorders): diarize by channel; no speaker-count hints. "
             "Without it, by channel when a multi-channel recording looks like one speaker per channel.",
    ),
    no_channel_speakers: bool = typer.Option(
        False, "--no-channel-speakers", help="Never diarize by channel, even when each channel holds one speaker.",
    ),
    language: Optional[str] = typer.Option(None, "--language", "-l", help="Language code, e.g. en (default: detect)."),
    backend: Optional[str] = typer.Option(
        None, "--backend", help="local (default, offline) or openai (sends audio off the machine)."
    ),
    allow_remote: bool = typer.Option(
        False, "--allow-remote", help="Permit a remote backend to receive the audio (also THERAPYBRIDGE_ALLOW_REMOTE=1)."
    ),
    allow_download: bool = typer.Option(False, "--allow-download", help="Permit downloading a hub model by name (Whisper or pyannote)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Recognition batch size (default 8).", min=1),
    beam_size: Optional[int] = typer.Option(None, "--beam-size", help="Beam search width (default 5).", min=1),
    compute_type: Optional[str] = typer.Option(None, "--compute-type", help="CTranslate2 type (default int8 on CPU, float16 on CUDA)."),
    initial_prompt: Optional[str] = typer.Option(None, "--initial-prompt", help="Text that primes recognition (names, jargon)."),
    hotwords: Optional[str] = typer.Option(None, "--hotwords", help="Words to favour during recognition."),
    no_gap_recovery: bool = typer.Option(
        False, "--no-gap-recovery",
        help="Do not decode again the speech recognition skipped (nor mark what stays unrecognised).",
    ),
    profile: bool = typer.Option(False, "--profile", help="Write <stem>.perf.json/.perf.txt/.trace.json/.perf.html."),
    redact_paths: bool = typer.Option(
        False, "--redact-paths",
        help="Keyed hashes instead of input file names in everything printed, logged and written.",
    ),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="Skip inputs whose outputs are complete and current."),
    profiles_dir: Optional[Path] = typer.Option(
        None, "--profiles", help="Voice-profile store (default: $THERAPYBRIDGE_PROFILES_DIR or the user data dir)."
    ),
    no_roles: bool = typer.Option(False, "--no-roles", help="Do not label therapist/client from enrolled profiles."),
    config_file: Optional[Path] = typer.Option(
        None, "--config", help="TOML file with pipeline settings; options typed here take precedence."
    ),
    show: bool = typer.Option(False, "--show", help="Print the speaker-labelled transcript to stdout."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    ray: bool = typer.Option(False, "--ray", help="Run on a Ray cluster: a new local one, or --ray-address."),
    ray_address: Optional[str] = typer.Option(
        None, "--ray-address", help="auto (join the running cluster) or a Ray address; implies --ray."
    ),
    ray_workers: Optional[int] = typer.Option(
        None, "--ray-workers", min=1, help="Ray workers, each with its own loaded models (default: one per GPU, else CPU)."
    ),
    ray_transport: str = typer.Option(
        "auto", "--ray-transport", help="How inputs reach Ray workers: auto, path (shared filesystem) or bytes."
    ),
    deidentify: bool = typer.Option(
        False, "--deidentify",
        help="Also write <stem>.deid.<ext> of every format: names, places, dates, contacts, numbers replaced.",
    ),
    deidentify_audio: bool = typer.Option(
        False, "--deidentify-audio", help="Also write <stem>.deid.opus, every finding bleeped; implies --deidentify."
    ),
    deidentify_names: bool = typer.Option(
        False, "--deidentify-names", help="Name the de-identified outputs by a keyed hash, not the input's stem; "
        "implies --deidentify.",
    ),
) -> None:
    """Transcribe recordings into speaker-attributed transcripts."""
    from .writers import FORMATS

    fmt = _parse_formats(formats, tuple(FORMATS))
    if channel_speakers and no_channel_speakers:
        raise _fail("therapybridge: error: give --channel-speakers or --no-channel-speakers, not both", EXIT_USAGE)
    after = None
    if deidentify or deidentify_audio or deidentify_names:
        from .deid.cli import DeidStep

        after = DeidStep(output_dir, fmt, audio=deidentify_audio, rename=deidentify_names)
    with _setup_errors():
        config = _load_config(config_file, _typed_settings(ctx))
    # Inputs and the output directory are checked before the pipeline is built: a wrong path, a file that is not
    # audio or an unwritable -o fails in a moment, not after torch and the models have loaded.
    files, failed = _checked_inputs(inputs, config.perf.redact_paths)
    if not files:
        raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)
    with _setup_errors():
        from .writers.output import check_output_dir

        check_output_dir(output_dir)
    if skip_existing:
        # Up-to-date outputs are known from their JSON alone: an archive rerun with nothing new to do never
        # imports torch or builds the pipeline.
        files = _not_up_to_date(files, output_dir, fmt, config)
        if not files:
            raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)
    with _setup_errors():
        from .pipeline import AudioTranscriptionPipeline

        pipeline = AudioTranscriptionPipeline(config)
        if ray or ray_address:
            from .distributed import RayArchive, RayOptions

            pipeline = RayArchive(pipeline, RayOptions(address=ray_address, workers=ray_workers, transport=ray_transport))
    raise typer.Exit(_run_batch(pipeline, files, output_dir, fmt, show, no_progress, after, failed))


def _not_up_to_date(files: list[str], output_dir: Path, formats: tuple[str, ...], config: Any) -> list[str]:
    """``files`` whose outputs in ``output_dir`` are missing or stale; each of the others is reported skipped."""
    from .pipeline.provenance import is_up_to_date

    todo = []
    for path in files:
        if is_up_to_date(path, output_dir, formats, config):
            _say(f"{path}: up to date, skipped")
        else:
            todo.append(path)
    return todo


@contextmanager
def _setup_errors() -> Iterator[None]:
    """A configuration the run cannot start with: one line, and the exit status that says whose mistake it was."""
    try:
        yield
    except (ConfigurationError, RemoteNotAllowedError) as exc:
        raise _fail(_error_line(None, exc), EXIT_USAGE) from None
    except TherapyBridgeError as exc:
        raise _fail(_error_line(None, exc), EXIT_FAILED) from None


def _checked_inputs(inputs: list[str], redact_paths: bool) -> tuple[list[str], int]:
    """The recordings to process (directories expanded), and how many inputs failed, each reported in one line."""
    from .pipeline.inputs import check_input, expand_inputs

    if redact_paths:
        from .redaction import protect

        for raw in inputs:
            protect(raw)
    files, failures = expand_inputs(inputs)
    usable = []
    for source in files:
        try:
            check_input(source)
            usable.append(source)
        except TherapyBridgeError as exc:
            failures.append((source, exc))
    for source, exc in failures:
        _echo_err(_error_line(source, exc))
    return usable, len(failures)


# ``transcribe`` options that are not pipeline settings; every other option sets the configuration field of its own
# name (``--batch-size`` -> ``asr.batch_size``), or the one that ``_RENAMED`` gives with how its value converts.
_NOT_SETTINGS = frozenset({"inputs", "output_dir", "formats", "skip_existing", "config_file", "show", "no_progress",
                           "ray", "ray_address", "ray_workers", "ray_transport",
                           "deidentify", "deidentify_audio", "deidentify_names"})
_RENAMED: dict[str, tuple[str, Any]] = {
    "speakers": ("num_speakers", None),
    "profile": ("perf__enabled", None),
    "no_diarization": ("enable_diarization", lambda flag: not flag),
    "no_roles": ("roles__enabled", lambda flag: not flag),
    "no_gap_recovery": ("asr__gap_recovery", lambda flag: not flag),
    "channel_speakers": ("diarization__channel_speakers", lambda flag: True if flag else None),
    "no_channel_speakers": ("diarization__channel_speakers", lambda flag: False if flag else None),
    "profiles_dir": ("roles__profiles_dir", str),
}
_SPEAKER_HINTS = ("num_speakers", "min_speakers", "max_speakers")


def _typed_settings(ctx: typer.Context) -> dict[str, Any]:
    """The ``PipelineConfig.replace`` keys of the options the user typed; untyped ones leave lower layers alone."""
    from .config import PipelineConfig

    settings: dict[str, Any] = {}
    for name, value in ctx.params.items():
        source = ctx.get_parameter_source(name)
        if name in _NOT_SETTINGS or source is None or source.name != "COMMANDLINE":
            continue
        target, convert = _RENAMED.get(name, (name, None))
        key = target if "__" in target else PipelineConfig.key_for(target)
        settings[key] = convert(value) if convert is not None else value
    hints = [f"diarization__{hint}" for hint in _SPEAKER_HINTS]
    if any(key in settings for key in hints):  # the speaker-count hints replace each other as one setting
        settings.update({key: settings.get(key) for key in hints})
    return settings


def _load_config(config_file: Optional[Path], settings: dict[str, Any]):
    """Built-in defaults < ``config_file`` < the environment variables of ``config.ENVIRONMENT`` < typed options."""
    from .config import PipelineConfig

    return PipelineConfig.layered(config_file, overrides=settings)


def _run_batch(pipeline: Any, files: list[str], output_dir: Path, formats: tuple[str, ...], show: bool,
               no_progress: bool, after: Any = None, failed: int = 0) -> int:
    """``files``: checked recordings (``_checked_inputs``), the up-to-date ones already left out
    (``_not_up_to_date``); ``failed``: inputs that already failed that check.
    ``after(source, transcript)``: a step run on each file that succeeded (``--deidentify``); its failure is that
    file's failure."""
    progress = _Progress(len(files), enabled=not no_progress and not _state.get("quiet") and sys.stderr.isatty())
    sessions = []
    try:
        with progress:
            items = pipeline.process_many(files, output_dir=output_dir, formats=formats, on_start=progress.start)
            for item in items:
                progress.advance(item)
                if item.ok:
                    _report_success(item, show)
                    if item.performance is not None:
                        sessions.append(item.performance)
                    if after is not None and not _run_after(after, item):
                        failed += 1
                else:
                    failed += 1
                    _report_failure(item)
    except KeyboardInterrupt:
        _echo_err("therapybridge: interrupted; no partial outputs were left")
        return EXIT_INTERRUPTED
    except TherapyBridgeError as exc:
        _echo_err(_error_line(None, exc))
        return EXIT_FAILED
    if len(sessions) > 1:
        _write_batch_report(sessions, output_dir, pipeline.config.perf.redact_paths)
    return EXIT_FAILED if failed else EXIT_OK


def _run_after(after: Any, item: Any) -> bool:
    try:
        after(item.source, item.transcript)
    except TherapyBridgeError as exc:
        _echo_err(_error_line(item.source, exc))
        return False
    return True


def _write_batch_report(sessions: list[Any], output_dir: Path, redact_paths: bool) -> None:
    """One performance report across the files of a batch (batch.perf.json, .perf.txt, .trace.json, .perf.html)."""
    from .perf import PerformanceSession, write_reports

    try:
        combined = PerformanceSession.combine(sessions, pipeline_name="AudioTranscriptionPipeline (batch)")
        for path in write_reports(combined, output_dir, "batch", redact_paths=redact_paths):
            logging.getLogger("therapybridge.cli").info("wrote %s", path)
    except (TherapyBridgeError, OSError) as exc:
        _echo_err(_error_line("batch performance report", exc))


def _say(message: str) -> None:
    if not _state.get("quiet"):
        _echo_err(f"therapybridge: {message}")


def _report_success(item: Any, show: bool) -> None:
    transcript = item.transcript
    if show:
        from .writers import get_writer

        typer.echo(get_writer("txt").render(transcript))
    metrics = transcript.performance_metrics
    stages = metrics.get("stages", {})
    parts = ", ".join(f"{name} {stage.get('duration', 0.0):.1f}s" for name, stage in stages.items())
    n_speakers = len(transcript.speakers)
    _say(
        f"{item.source}: {transcript.audio.duration:.1f}s of audio, {len(transcript.segments)} segments, "
        f"{n_speakers} speaker{'s' if n_speakers != 1 else ''}; total {metrics.get('total_duration', 0.0):.1f}s"
        + (f" ({parts})" if parts else "")
    )
    for path in item.outputs:
        logging.getLogger("therapybridge.cli").info("wrote %s", path)


def _report_failure(item: Any) -> None:
    _echo_err(_error_line(item.source, item.error))
    if _state.get("debug") and item.error is not None:
        import traceback

        traceback.print_exception(item.error, file=sys.stderr)


class _Progress:
    """A rich progress bar on stderr: files done, the current file, audio hours done, the rate and an ETA."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self._progress = None
        self._task = None
        self._audio_s = 0.0

    def __enter__(self) -> "_Progress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[audio]}"),
                TimeRemainingColumn(), console=Console(stderr=True), transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("transcribing", total=self.total, audio="")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def start(self, source: str, index: int, total: int) -> None:
        if self._progress is not None:
            from .redaction import scrub

            self._progress.update(self._task, description=f"{scrub(Path(source).name)} ({index + 1}/{total})")

    def advance(self, item: Any = None) -> None:
        if self._progress is None:
            return
        if item is not None and item.transcript is not None:
            self._audio_s += float(item.transcript.audio.duration)
        elapsed = self._progress.tasks[0].elapsed or 0.0
        rate = f", {self._audio_s / elapsed:.1f}x real time" if elapsed > 0 and self._audio_s else ""
        self._progress.update(self._task, advance=1, audio=f"{self._audio_s / 3600:.2f} h audio{rate}")


@app.command()
def preprocess(
    source: Path = typer.Argument(..., help="Input recording."),
    output: Path = typer.Option(..., "--output", "-o", help="Output 16 kHz mono WAV; OUT.timemap.json is written beside it."),
    device: str = typer.Option("auto", "--device", "-d", help="auto, cpu, cuda or mps."),
    no_trim: bool = typer.Option(False, "--no-trim", help="Keep leading/trailing silence and long pauses."),
) -> None:
    """Decode, downmix, resample, trim silence and normalise loudness, keeping a time map."""
    from .audio import PreprocessOptions, preprocess as run_preprocess, save_prepared
    from .device import resolve_device

    try:
        options = PreprocessOptions(trim_silence=not no_trim, shorten_pauses=not no_trim)
        prepared = run_preprocess(str(source), options, device=resolve_device(device))
        save_prepared(prepared, output)
    except ConfigurationError as exc:
        raise _fail(_error_line(None, exc), EXIT_USAGE) from None
    except TherapyBridgeError as exc:
        raise _fail(_error_line(str(source), exc), EXIT_FAILED) from None
    _say(f"{source}: wrote {output} ({prepared.waveform.shape[-1] / prepared.sample_rate:.1f}s kept of "
         f"{prepared.original_duration:.1f}s)")


@app.command()
def report(
    perf_json: Path = typer.Argument(..., help="A <stem>.perf.json written by --profile."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="Default: beside the input."),
) -> None:
    """Re-render the text, trace and HTML performance reports from a saved .perf.json."""
    from .perf import render_reports_from_json

    try:
        paths = render_reports_from_json(perf_json, output_dir or perf_json.parent)
    except TherapyBridgeError as exc:
        raise _fail(_error_line(str(perf_json), exc), EXIT_FAILED) from None
    except (OSError, ValueError) as exc:
        raise _fail(_error_line(str(perf_json), exc), EXIT_FAILED) from None
    for path in paths:
        _say(f"wrote {path}")


@app.command()
def score(
    hypothesis: Path = typer.Argument(
        ..., metavar="HYP.json|HYP.rttm", help="Our transcript JSON, or an RTTM of hypothesis speaker turns."
    ),
    rttm: Path = typer.Option(..., "--rttm", help="Reference speaker turns (RTTM)."),
    stm: Optional[Path] = typer.Option(None, "--stm", help="Reference words (STM): adds WER, cpWER and WDER."),
    uem: Optional[Path] = typer.Option(None, "--uem", help="Scored regions (UEM); default: the whole recording."),
    collar: float = typer.Option(0.0, "--collar", min=0.0, help="Seconds forgiven each side of reference boundaries."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Score a transcript against reference files: DER, JER, missed/false alarm/confusion, WER, cpWER, WDER."""
    import json

    try:
        from .evaluation import format_score, score_transcript

        result = score_transcript(hypothesis, rttm, stm=stm, uem=uem, collar=collar)
    except ImportError as exc:
        raise _fail(f"therapybridge: error: scoring needs the eval extra (pip install 'therapybridge[eval]'): {exc}",
                    EXIT_FAILED) from None
    except TherapyBridgeError as exc:
        raise _fail(_error_line(None, exc), EXIT_FAILED) from None
    typer.echo(json.dumps(result.to_dict(), indent=2) if as_json else format_score(result))


def _register_optional_commands() -> None:
    """Commands that live with their feature's package (voice profiles, re-rendering, session analytics)."""
    from .analytics.cli import register as register_analytics

    register_analytics(app)
    from .deid.cli import register as register_deid  # Presidio and spaCy are imported only when it runs

    register_deid(app)
    from .server.cli import register as register_server  # `serve`: FastAPI is imported only when it starts

    register_server(app)
    from .live.cli import register as register_live  # `live`: models load only when a session starts

    register_live(app)
    try:
        from .roles.cli import register
    except ImportError:  # the feature is not built into this install
        return
    register(app, profiles_app)


_register_optional_commands()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("therapybridge: interrupted; no partial outputs were left", err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    main()
