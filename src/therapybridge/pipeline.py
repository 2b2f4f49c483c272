"""``AudioTranscriptionPipeline``: audio in, a speaker-attributed transcript out.

The pipeline depends only on the stage packages' public interfaces. Models are loaded once per pipeline and
reused across files; every stage and sub-step is timed by a ``PerformanceLogger``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, redaction
from .align import align_transcript
from .asr import load_transcriber
from .audio import PreparedAudio, TimeMap, decode_audio, preprocess
from .config import PipelineConfig
from .device import resolve_device
from .diarization import diarize_channels, load_diarizer
from .diarization.base import DiarizationOptions, DiarizationResult, Diarizer
from .errors import ConfigurationError, EmptyAudioError, NoAudioFilesError, InputNotFoundError, ProcessingError, TherapyBridgeError
from .perf import PerformanceLogger, write_reports
from .types import SCHEMA_VERSION, AudioInfo, Segment, SpeakerInfo, SpeakerTurn, Transcript, UnrecognisedSpeech, Word
from .writers import get_writer, write_outputs

logger = logging.getLogger(__name__)

STAGE_PREPROCESS = "Audio Preprocessing"
STAGE_ASR = "Whisper Transcription"
STAGE_DIARIZATION = "Speaker Diarization"
STAGE_ALIGNMENT = "Speaker Alignment"
STAGE_WRITING = "Writing Outputs"

AUDIO_EXTENSIONS = frozenset(
    ".wav .mp3 .m4a .mp4 .aac .flac .ogg .oga .opus .webm .wma .aiff .aif .amr .mka .mkv .mov .3gp .caf".split()
)
DEFAULT_FORMATS = ("json", "txt", "srt", "vtt")
_PREFETCH_POLL_S = 0.1  # how often a prefetch blocked on the full queue looks whether the consumer went away


@dataclass(frozen=True)
class BatchItem:
    """The outcome of one input of a batch: a transcript, or the error that stopped it."""

    source: str
    transcript: Transcript | None = None
    error: TherapyBridgeError | None = None
    outputs: tuple[Path, ...] = ()
    skipped: bool = False
    performance: Any = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Prepared:
    """A preprocessed input waiting for recognition, with the logger that is timing it."""

    source: str
    perf: PerformanceLogger
    audio: PreparedAudio | None = None
    error: BaseException | None = None
    input_sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class AudioTranscriptionPipeline:
    """Transcribe recordings with speakers, offline by default.

    ``output_dir`` is where performance reports go when ``enable_performance_logging`` is on (the seed's usage);
    transcripts are written only when ``process(..., output_dir=…)`` asks for them.
    """

    def __init__(
        self,
        config: PipelineConfig | None = None,
        *,
        enable_performance_logging: bool | None = None,
        output_dir: str | Path | None = None,
        device: str | None = None,
        **overrides: Any,
    ) -> None:
        config = config or PipelineConfig()
        changes: dict[str, Any] = dict(overrides)
        if enable_performance_logging is not None:
            changes["perf__enabled"] = enable_performance_logging
        if output_dir is not None:
            changes["perf__output_dir"] = str(output_dir)
        if device is not None:
            changes["device"] = device
        self.config = config.replace(**changes) if changes else config
        self.device = resolve_device(self.config.device)
        self._transcriber = None
        self._diarizer: Diarizer | None = None
        self._asr_lock = threading.Lock()
        self._diarizer_lock = threading.Lock()
        self._background_load_s: dict[str, float] = {}
        self._reported_loads: set[str] = set()

    # ------------------------------------------------------------------ loading
    def load(self, *, profiler: Any = None) -> "AudioTranscriptionPipeline":
        """Load the recognition model and, if diarization is on, the diarization models (idempotent)."""
        self._get_transcriber(profiler)
        if self.config.enable_diarization:
            self._get_diarizer(profiler)
        return self

    def _get_transcriber(self, profiler: Any = None, *, background: bool = False):
        with _subprocess(profiler, "model_loading", model=self.config.asr.model, backend=self.config.backend) as span:
            with self._asr_lock:
                if self._transcriber is None:
                    self._transcriber = load_transcriber(
                        self.config.backend, self.config.asr, self.device, allow_remote=self.config.allow_remote
                    )
                self._load_timed("asr", self._transcriber.load, background)
            if not background:
                _note_background_load(span, self._background_load_s.pop("asr", None))
        return self._transcriber

    def _get_diarizer(self, profiler: Any = None, *, background: bool = False) -> Diarizer:
        with _subprocess(profiler, "model_loading", engine=self.config.diarizer) as span:
            with self._diarizer_lock:
                if self._diarizer is None:
                    self._diarizer = load_diarizer(
                        self.config.diarizer, self.device, allow_download=self.config.asr.allow_download
                    )
                self._load_timed("diarization", self._diarizer.load, background)
            if not background:
                _note_background_load(span, self._background_load_s.pop("diarization", None))
        return self._diarizer

    def _load_timed(self, key: str, load: Callable[[], None], background: bool) -> None:
        """Run ``load``; when it runs on the background loader, remember how long it took for the report."""
        started = time.perf_counter()
        load()
        if background and key not in self._reported_loads:
            self._reported_loads.add(key)
            self._background_load_s[key] = time.perf_counter() - started

    def _warm_load(self, enable_diarization: bool) -> None:
        """Load models in the background while the first input decodes; failures resurface in the stage."""
        try:
            self._get_transcriber(background=True)
            if enable_diarization:
                self._get_diarizer(background=True)
        except Exception:  # noqa: BLE001 - reported by the stage that needs the model
            logger.debug("background model loading failed", exc_info=True)

    # ------------------------------------------------------------------ single file
    def process(
        self,
        source: str | Path,
        *,
        enable_diarization: bool | None = None,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        output_dir: str | Path | None = None,
        formats: Sequence[str] = DEFAULT_FORMATS,
    ) -> Transcript:
        """Transcribe one recording; write ``formats`` into ``output_dir`` when it is given."""
        config = self._config_for_call(enable_diarization, num_speakers, min_speakers, max_speakers)
        prepared = self._prepare(str(source), config)
        item = self._finish(prepared, config, output_dir, formats)
        if item.error is not None:
            raise item.error
        assert item.transcript is not None
        return item.transcript

    def __call__(self, source: str | Path, **kwargs: Any) -> Transcript:
        return self.process(source, **kwargs)

    # ------------------------------------------------------------------ batches
    def process_many(
        self,
        sources: Iterable[str | Path],
        *,
        output_dir: str | Path | None = None,
        formats: Sequence[str] = DEFAULT_FORMATS,
        skip_existing: bool = False,
        on_start: Callable[[str, int, int], None] | None = None,
        **call_options: Any,
    ) -> Iterator[BatchItem]:
        """Process several recordings with one model load, preprocessing the next while the current is recognised.

        Each input yields a ``BatchItem``; a failed input is reported and the batch goes on. A caller that stops
        early (``break``, ``close()``) stops the prefetch thread and frees the audio it had decoded.
        """
        config = self._config_for_call(**call_options)
        paths = [str(s) for s in sources]
        if config.perf.redact_paths:
            for path in paths:
                redaction.protect(path)
        todo: list[str] = []
        for path in paths:
            if skip_existing and output_dir is not None and self._is_up_to_date(path, output_dir, formats, config):
                yield BatchItem(source=path, skipped=True)
            else:
                todo.append(path)
        if not todo:
            return
        loader = threading.Thread(target=self._warm_load, args=(config.enable_diarization,), daemon=True)
        loader.start()
        ahead: "queue.Queue[_Prepared]" = queue.Queue(maxsize=1)
        stop = threading.Event()
        producer = threading.Thread(
            target=self._prefetch, args=(todo, config, ahead, stop), name="therapybridge-prefetch", daemon=True
        )
        producer.start()
        try:
            for index, path in enumerate(todo):
                if on_start is not None:
                    on_start(path, index, len(todo))
                yield self._finish(ahead.get(), config, output_dir, formats)
            producer.join()
        finally:
            stop.set()
            _discard_queued(ahead)  # the producer drains too, after its last put: nothing stays behind
            # A model half-loaded in native code when the interpreter exits aborts the process: let it finish.
            loader.join()

    def _prefetch(
        self, paths: list[str], config: PipelineConfig, ahead: "queue.Queue[_Prepared]", stop: threading.Event
    ) -> None:
        """Preprocess ``paths`` one ahead of the consumer until done or ``stop`` is set (the caller went away)."""
        for index, path in enumerate(paths):
            if stop.is_set():
                break
            if index == 1 and self.device.type == "cpu":
                _run_at_idle_priority()  # from now on a file is being recognised: take only what it leaves idle
            prepared: _Prepared | None = self._prepare(path, config)
            while prepared is not None and not stop.is_set():
                try:
                    ahead.put(prepared, timeout=_PREFETCH_POLL_S)
                    prepared = None
                except queue.Full:
                    continue
            if prepared is not None:
                _discard(prepared)
        if stop.is_set():
            _discard_queued(ahead)

    # ------------------------------------------------------------------ stages
    def _config_for_call(
        self,
        enable_diarization: bool | None = None,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> PipelineConfig:
        changes: dict[str, Any] = {}
        if enable_diarization is not None:
            changes["enable_diarization"] = enable_diarization
        hints = {"num_speakers": num_speakers, "min_speakers": min_speakers, "max_speakers": max_speakers}
        if any(v is not None for v in hints.values()):
            changes["diarization"] = DiarizationOptions(
                **{**_asdict(self.config.diarization), **{k: v for k, v in hints.items() if v is not None}}
            )
        return self.config.replace(**changes) if changes else self.config

    def _new_perf_logger(self, config: PipelineConfig, source: str) -> PerformanceLogger:
        perf = config.perf
        return PerformanceLogger(
            name="AudioTranscriptionPipeline",
            output_dir=None,
            # Sampling a GPU that a CPU run does not use would only create a CUDA context for nothing; on a machine
            # without one, the monitor still runs so that every report says plainly that no GPU was present.
            enable_gpu_monitoring=perf.enabled and perf.gpu_monitoring and (
                self.device.type != "cpu" or not _cuda_available()
            ),
            verbose=perf.verbose,
            sample_interval=perf.sample_interval,
            redact_paths=perf.redact_paths,
            source=source,
        )

    def _prepare(self, source: str, config: PipelineConfig) -> _Prepared:
        if config.perf.redact_paths:
            redaction.protect(source)  # before anything below can log or raise with the name in it
        perf = self._new_perf_logger(config, source)
        perf.start_pipeline()
        prepared = _Prepared(source=source, perf=perf)
        try:
            _check_input(source)
            with perf.stage(STAGE_PREPROCESS):
                prepared.audio = preprocess(source, config.audio, device=self.device, profiler=perf)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread, re-raised there
            prepared.error = exc
        perf.start_wait()  # until _finish takes it up: in a batch, the previous file may still be running
        return prepared

    def _finish(
        self,
        prepared: _Prepared,
        config: PipelineConfig,
        output_dir: str | Path | None,
        formats: Sequence[str],
    ) -> BatchItem:
        perf = prepared.perf
        perf.end_wait()
        try:
            if prepared.error is not None:
                raise prepared.error
            assert prepared.audio is not None
            transcript = self._recognise_and_attribute(prepared.audio, config, perf, prepared.source)
            transcript = self._with_analytics(transcript, config, perf)
            if config.perf.redact_paths:
                transcript = transcript.with_changes(
                    audio=dataclasses.replace(transcript.audio, path=redaction.redact_name(prepared.source))
                )
            outputs: tuple[Path, ...] = ()
            if output_dir is not None:
                with perf.stage(STAGE_WRITING):
                    with perf.subprocess("write_transcripts", formats=",".join(formats)):
                        transcript = self._with_metrics(transcript, perf)
                        transcript, outputs = self.write_transcripts(transcript, prepared.source, output_dir, formats)
            session = perf.end_pipeline()
            transcript = self._with_metrics(transcript, perf)
            outputs += self._write_perf_reports(session, config, output_dir, prepared.source)
            return BatchItem(source=prepared.source, transcript=transcript, outputs=outputs, performance=session)
        except TherapyBridgeError as exc:
            _end_quietly(perf)
            return BatchItem(source=prepared.source, error=exc)
        except (KeyboardInterrupt, SystemExit):
            _end_quietly(perf)
            raise
        except MemoryError:
            _end_quietly(perf)
            return BatchItem(source=prepared.source, error=ProcessingError("ran out of memory while processing"))
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop a batch
            _end_quietly(perf)
            logger.debug("unexpected failure", exc_info=True)
            error = ProcessingError(f"processing failed: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            return BatchItem(source=prepared.source, error=error)

    def _recognise_and_attribute(
        self, audio: PreparedAudio, config: PipelineConfig, perf: PerformanceLogger, source: str
    ) -> Transcript:
        diarization: DiarizationResult | None = None
        turns: tuple[SpeakerTurn, ...] = ()
        if config.enable_diarization and self._diarize_concurrently(config):
            # Recognition and diarization share nothing until alignment: on a GPU they overlap well.
            pending: Future[tuple[DiarizationResult, tuple[SpeakerTurn, ...]]] = Future()
            worker = threading.Thread(target=_resolve, args=(pending, self._diarize, audio, config, perf, source))
            worker.start()
            try:
                asr, segments = self._recognise(audio, perf)
            finally:
                worker.join()
            diarization, turns = pending.result()
        else:
            asr, segments = self._recognise(audio, perf)
            if config.enable_diarization:
                diarization, turns = self._diarize(audio, config, perf, source)
        segments, unrecognised = self._recover_gaps(audio, asr, segments, diarization, config, perf)
        with perf.stage(STAGE_ALIGNMENT):
            aligned = align_transcript(segments, turns, config.align, profiler=perf, device=self.device)
            speakers = _speakers_in_order(aligned, diarization)
            if diarization is not None and config.roles.enabled and diarization.centroids:
                with perf.subprocess("role_labelling", speakers=len(speakers)):
                    speakers = self._label_roles(speakers, diarization, config)
        return Transcript(
            audio=AudioInfo(path=source, duration=audio.original_duration),
            language=asr.language,
            segments=aligned,
            speakers=speakers,
            provenance=self._provenance(config, asr.model, asr.model_sha256, diarization),
            turns=tuple(sorted(turns, key=lambda t: (t.start, t.end))),  # the diarizer's own, overlaps kept
            unrecognised=unrecognised,
        )

    def _recover_gaps(
        self, audio: PreparedAudio, asr: Any, segments: tuple[Segment, ...], diarization: DiarizationResult | None,
        config: PipelineConfig, perf: PerformanceLogger,
    ) -> tuple[tuple[Segment, ...], tuple[UnrecognisedSpeech, ...]]:
        """Decode again what the diarizer and the speech detector heard but recognition skipped (a sub-step of the
        recognition stage; therapybridge.asr.recovery). Works on the recogniser's clock, then restores the times."""
        transcriber = self._transcriber
        if not config.asr.gap_recovery or not hasattr(transcriber, "redecode"):
            return segments, ()
        from .asr._signal import mono_16k
        from .asr.recovery import merge_segments, recover_gaps

        # Channel diarization's turns are on the original clock, not the recogniser's: the speech detector alone.
        turns = diarization.turns if diarization is not None and not config.diarization.channel_speakers else ()
        with perf.stage(STAGE_ASR):
            with perf.subprocess("gap_recovery") as span:
                samples = mono_16k(_to_numpy(audio.waveform), audio.sample_rate)
                result = recover_gaps(transcriber, samples, asr.segments, turns, asr.speech, asr.language)
                _annotate(span, **result.counts())
        if not result.gaps:
            return segments, ()
        unrecognised = tuple(
            UnrecognisedSpeech(*audio.time_map.map_interval(u.start, u.end), u.speaker) for u in result.unrecognised
        )
        return restore_segment_times(merge_segments(result.kept, result.segments), audio.time_map), unrecognised

    def _label_roles(
        self, speakers: tuple[SpeakerInfo, ...], diarization: DiarizationResult, config: PipelineConfig
    ) -> tuple[SpeakerInfo, ...]:
        """Name the therapist (and the client) from enrolled voice profiles; neutral labels when none match."""
        from .roles.labelling import label_with_options

        return label_with_options([s.id for s in speakers], diarization.centroids, config.roles)

    def _recognise(self, audio: PreparedAudio, perf: PerformanceLogger) -> tuple[Any, tuple[Segment, ...]]:
        with perf.stage(STAGE_ASR):
            transcriber = self._get_transcriber(perf)
            asr = transcriber.transcribe(_to_numpy(audio.waveform), audio.sample_rate, profiler=perf)
            with perf.subprocess("restore_timestamps", segments=len(asr.segments)):
                return asr, restore_segment_times(asr.segments, audio.time_map)

    def _diarize(
        self, audio: PreparedAudio, config: PipelineConfig, perf: PerformanceLogger, source: str
    ) -> tuple[DiarizationResult, tuple[SpeakerTurn, ...]]:
        with perf.stage(STAGE_DIARIZATION):
            if config.diarization.channel_speakers:
                diarization = self._diarize_by_channel(source, config, perf)
                return diarization, diarization.turns
            diarizer = self._get_diarizer(perf)
            diarization = diarizer.diarize(audio.waveform, audio.sample_rate, config.diarization, profiler=perf)
            with perf.subprocess("restore_timestamps", turns=len(diarization.turns)):
                return diarization, restore_turn_times(diarization.turns, audio.time_map)

    def _diarize_concurrently(self, config: PipelineConfig) -> bool:
        """Overlap diarization with recognition: always on a GPU; on a CPU only when asked (it rarely pays there)."""
        if config.concurrent_stages == "auto":
            return self.device.type in ("cuda", "mps")
        return config.concurrent_stages == "on"

    def _diarize_by_channel(self, source: str, config: PipelineConfig, perf: PerformanceLogger) -> DiarizationResult:
        """One speaker per channel: decode every channel (original clock, so no time map) and compare levels."""
        with perf.subprocess("load_channels"):
            decoded = decode_audio(source)
        if decoded.channels < 2:
            raise ConfigurationError(
                f"{source}: --channel-speakers needs one speaker per channel, but the recording has 1 channel"
            )
        return diarize_channels(decoded.waveform, decoded.sample_rate, config.diarization, profiler=perf)

    def _with_analytics(self, transcript: Transcript, config: PipelineConfig, perf: PerformanceLogger) -> Transcript:
        """The transcript with its session analytics (therapybridge.analytics), unless they are turned off."""
        if not config.analytics.enabled:
            return transcript
        from .analytics import compute_analytics

        with perf.stage(STAGE_ALIGNMENT):
            with perf.subprocess("session_analytics", turns=len(transcript.turns)):
                # From the times as the JSON keeps them (ms), so `therapybridge analytics` on it finds the same.
                analytics = compute_analytics(Transcript.from_dict(transcript.to_dict()), config.analytics)
        return transcript.with_changes(analytics=analytics.to_dict())

    def _with_metrics(self, transcript: Transcript, perf: PerformanceLogger) -> Transcript:
        return transcript.with_changes(performance_metrics=perf.snapshot().metrics())

    def _provenance(
        self, config: PipelineConfig, model: str, model_sha256: str | None, diarization: DiarizationResult | None
    ) -> dict[str, Any]:
        settings = config.settings()
        settings["device"] = self.device.type
        if diarization is not None:
            settings["diarization_info"] = {k: v for k, v in diarization.info.items() if _is_plain(v)}
        return {
            "tool_version": __version__,
            "schema_version": SCHEMA_VERSION,
            "model": model,
            "model_sha256": model_sha256,
            "settings": settings,
            "settings_hash": _settings_hash(config),
        }

    def write_transcripts(
        self, transcript: Transcript, source: str, output_dir: str | Path, formats: Sequence[str],
        *, input_sha256: str | None = None,
    ) -> tuple[Transcript, tuple[Path, ...]]:
        """Write ``output_dir/<stem>.<ext>`` for a finished transcript, atomically, with the input's sha256 in its
        provenance (what ``--skip-existing`` checks): the one writer of ``process_many`` and of the Ray driver."""
        digest = input_sha256 or _file_sha256(source)
        transcript = transcript.with_changes(provenance={**transcript.provenance, "input_sha256": digest})
        return transcript, tuple(write_outputs(transcript, output_dir, Path(source).stem, formats))

    def is_up_to_date(self, source: str, output_dir: str | Path, formats: Sequence[str]) -> bool:
        """Whether ``source``'s outputs in ``output_dir`` are complete and current (``--skip-existing``)."""
        return self._is_up_to_date(source, output_dir, formats, self.config)

    def write_perf_reports(self, session: Any, output_dir: str | Path | None, source: str) -> tuple[Path, ...]:
        """``<stem>.perf.*`` for a finished file's performance session, when profiling is on."""
        return self._write_perf_reports(session, self.config, output_dir, source)

    def _write_perf_reports(
        self, session: Any, config: PipelineConfig, output_dir: str | Path | None, source: str
    ) -> tuple[Path, ...]:
        if not config.perf.enabled:
            return ()
        target = config.perf.output_dir or output_dir
        if target is None:
            return ()
        stem = Path(source).stem
        return tuple(write_reports(session, target, stem, redact_paths=config.perf.redact_paths))

    # ------------------------------------------------------------------ skip-existing
    def _is_up_to_date(self, source: str, output_dir: str | Path, formats: Sequence[str], config: PipelineConfig) -> bool:
        out = Path(output_dir)
        stem = Path(source).stem
        if "json" not in formats:
            return False
        paths = [out / f"{stem}.{ext}" for fmt in formats for ext in get_writer(fmt).file_extensions()]
        if not all(p.is_file() for p in paths):
            return False
        try:
            provenance = json.loads((out / f"{stem}.json").read_text(encoding="utf-8")).get("provenance", {})
            return (
                provenance.get("settings_hash") == _settings_hash(config)
                and provenance.get("input_sha256") == _file_sha256(source)
            )
        except (OSError, ValueError, TherapyBridgeError):
            return False


# ---------------------------------------------------------------------- time restoration
def restore_segment_times(segments: Sequence[Segment], time_map: TimeMap) -> tuple[Segment, ...]:
    """Put recognised words and segments back on the original clock (each word by its midpoint's chunk)."""
    words = [w for s in segments for w in s.words]
    timed = [w for w in words if w.start is not None and w.end is not None]
    mapped: dict[int, tuple[float, float]] = {}
    if timed:
        starts, ends = time_map.map_intervals(
            np.array([w.start for w in timed], dtype=np.float64), np.array([w.end for w in timed], dtype=np.float64)
        )
        mapped = {id(w): (float(s), float(e)) for w, s, e in zip(timed, starts, ends)}
    restored = []
    for segment in segments:
        new_words = tuple(
            Word(*mapped[id(w)], w.word, w.probability, w.speaker) if id(w) in mapped else w for w in segment.words
        )
        seg_start, seg_end = time_map.map_interval(segment.start, segment.end)
        word_times = [(w.start, w.end) for w in new_words if w.start is not None]
        if word_times:
            seg_start = min(seg_start, word_times[0][0])
            seg_end = max(seg_end, word_times[-1][1])
        restored.append(Segment(seg_start, seg_end, segment.text, new_words, segment.speaker))
    return tuple(restored)


def restore_turn_times(turns: Sequence[SpeakerTurn], time_map: TimeMap) -> tuple[SpeakerTurn, ...]:
    """Map speaker turns to the original clock, splitting a turn where preprocessing removed a pause."""
    spans = list(time_map.kept_spans)
    if not spans:
        return tuple(turns)
    lengths = np.array([end - start for start, end in spans], dtype=np.float64)
    trimmed_starts = np.concatenate(([0.0], np.cumsum(lengths)[:-1]))
    restored: list[SpeakerTurn] = []
    for turn in turns:
        first = max(int(np.searchsorted(trimmed_starts, turn.start, side="right")) - 1, 0)
        for index in range(first, len(spans)):
            chunk_start = trimmed_starts[index]
            chunk_end = chunk_start + lengths[index]
            if chunk_start >= turn.end:
                break
            lo, hi = max(turn.start, chunk_start), min(turn.end, chunk_end)
            if hi - lo <= 1e-6:
                continue
            offset = spans[index][0] - chunk_start
            restored.append(SpeakerTurn(float(lo + offset), float(hi + offset), turn.speaker))
    return tuple(restored)


# ---------------------------------------------------------------------- inputs
def expand_inputs(inputs: Iterable[str | Path]) -> tuple[list[str], list[tuple[str, TherapyBridgeError]]]:
    """Expand directories into their audio files (sorted); returns (files, errors for inputs that yield none)."""
    files: list[str] = []
    errors: list[tuple[str, TherapyBridgeError]] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = sorted(str(p) for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
            if found:
                files.extend(found)
            else:
                errors.append((str(raw), NoAudioFilesError(f"{raw}: directory contains no audio files")))
        else:
            files.append(str(raw))
    return files, errors


def _check_input(source: str) -> None:
    path = Path(source)
    if not path.exists():
        raise InputNotFoundError(f"{source}: no such file")
    if path.is_dir():
        raise ConfigurationError(f"{source}: is a directory; use process_many() or pass its files")
    if path.is_file() and path.stat().st_size == 0:
        raise EmptyAudioError(f"{source}: the file is empty (0 bytes)")


# ---------------------------------------------------------------------- small helpers
def _speakers_in_order(segments: Sequence[Segment], diarization: DiarizationResult | None) -> tuple[SpeakerInfo, ...]:
    if diarization is None:
        return ()
    seen: list[str] = []
    for segment in segments:
        for speaker in [segment.speaker, *(w.speaker for w in segment.words)]:
            if speaker is not None and speaker not in seen:
                seen.append(speaker)
    ordered = [s for s in diarization.speakers if s in seen] + [s for s in seen if s not in diarization.speakers]
    return tuple(SpeakerInfo(id=s, label=s) for s in ordered)


def _to_numpy(waveform: Any) -> np.ndarray:
    if hasattr(waveform, "detach"):
        waveform = waveform.detach().to("cpu").numpy()
    return np.ascontiguousarray(waveform, dtype=np.float32)


def _subprocess(profiler: Any, name: str, **metadata: Any):
    from contextlib import nullcontext

    return nullcontext() if profiler is None else profiler.subprocess(name, **metadata)


def _run_at_idle_priority() -> None:
    """Lower the calling thread (and the decoder threads it starts) to the lowest CPU priority.

    On the CPU, recognition and diarization already keep every core busy; a next-file decode at normal priority
    only takes turns with them (measured: a batch of five 23-minute files took 1.05x five single runs). At nice 19
    it runs on the cycles they leave idle, and at full speed once the current file is done and nothing else runs.
    Linux applies the nice value per thread; elsewhere this does nothing.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError) as exc:  # not Linux, or not permitted
        logger.debug("prefetch runs at normal priority: %s", exc)


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _resolve(future: Future, function: Callable[..., Any], *args: Any) -> None:
    """Run ``function`` on a worker thread and hand its result or exception to ``future``."""
    try:
        future.set_result(function(*args))
    except BaseException as exc:  # noqa: BLE001 - re-raised by future.result() in the caller
        future.set_exception(exc)


def _annotate(span: Any, **metadata: Any) -> None:
    if span is not None and hasattr(span, "set"):
        span.set(**metadata)


def _note_background_load(span: Any, seconds: float | None) -> None:
    """Record on the stage's model_loading span how long the overlapped background load took."""
    if seconds is not None and span is not None and hasattr(span, "set"):
        span.set(loaded_in_background=True, background_load_s=round(seconds, 3))


def _discard(prepared: _Prepared) -> None:
    """Drop a prefetched input nobody will process: free its audio and stop its performance logger's sampler."""
    prepared.audio = None
    _end_quietly(prepared.perf)


def _discard_queued(ahead: "queue.Queue[_Prepared]") -> None:
    while True:
        try:
            _discard(ahead.get_nowait())
        except queue.Empty:
            return


def _end_quietly(perf: PerformanceLogger) -> None:
    try:
        perf.end_pipeline()
    except Exception:  # noqa: BLE001 - the original error matters more
        logger.debug("could not close the performance session", exc_info=True)


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _settings_hash(config: PipelineConfig) -> str:
    blob = json.dumps(config.settings(), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob + __version__.encode()).hexdigest()[:16]


def _asdict(options: Any) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}


def _is_plain(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, type(None)))
