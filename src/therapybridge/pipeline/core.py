"""``AudioTranscriptionPipeline``: audio in, a speaker-attributed transcript out.

The pipeline depends only on the stage packages' public interfaces. Models are loaded once per pipeline and
reused across files (``models.py``); a batch prepares the next file while the current one runs (``prefetch.py``);
provenance and ``--skip-existing`` live in ``provenance.py``. Every stage and sub-step is timed by a
``PerformanceLogger``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import redaction
from ..align import align_transcript
from ..audio import PreparedAudio, decode_audio, preprocess
from ..config import PipelineConfig
from ..device import resolve_device
from ..diarization import diarize_if_channel_speakers
from ..diarization.base import DiarizationResult
from ..errors import ConfigurationError, ProcessingError, TherapyBridgeError
from ..perf import PerformanceLogger, write_reports
from ..types import AudioInfo, Segment, SpeakerInfo, SpeakerTurn, Transcript, UnrecognisedSpeech
from ..writers import write_outputs
from .inputs import check_input
from .models import PipelineModels
from .prefetch import Prefetcher
from .provenance import build_provenance, file_sha256, is_up_to_date

logger = logging.getLogger(__name__)

STAGE_PREPROCESS = "Audio Preprocessing"
STAGE_ASR = "Whisper Transcription"
STAGE_DIARIZATION = "Speaker Diarization"
STAGE_ALIGNMENT = "Speaker Alignment"
STAGE_WRITING = "Writing Outputs"

DEFAULT_FORMATS = ("json", "txt", "srt", "vtt")


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
        self.models = PipelineModels(self.config, self.device)

    def load(self, *, profiler: Any = None) -> "AudioTranscriptionPipeline":
        """Load the recognition model and, if diarization is on, the diarization models (idempotent)."""
        self.models.transcriber(profiler)
        if self.config.enable_diarization:
            self.models.diarizer(profiler)
        return self

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
        item = self.process_item(
            source, output_dir=output_dir, formats=formats, enable_diarization=enable_diarization,
            num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers,
        )
        if item.error is not None:
            raise item.error
        assert item.transcript is not None
        return item.transcript

    def __call__(self, source: str | Path, **kwargs: Any) -> Transcript:
        return self.process(source, **kwargs)

    def process_item(
        self,
        source: str | Path,
        *,
        output_dir: str | Path | None = None,
        formats: Sequence[str] = DEFAULT_FORMATS,
        **call_options: Any,
    ) -> BatchItem:
        """Like :meth:`process`, but a failure comes back in the ``BatchItem`` instead of being raised (what the
        service's and the Ray cluster's workers use)."""
        config = self._config_for_call(**call_options)
        return self._finish(self._prepare(str(source), config), config, output_dir, formats)

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
            if skip_existing and output_dir is not None and is_up_to_date(path, output_dir, formats, config):
                yield BatchItem(source=path, skipped=True)
            else:
                todo.append(path)
        if not todo:
            return
        loader = threading.Thread(target=self.models.warm, args=(config.enable_diarization,), daemon=True)
        loader.start()
        try:
            with Prefetcher(
                todo, lambda path: self._prepare(path, config), _discard, idle_after_first=self.device.type == "cpu"
            ) as ahead:
                for index, path in enumerate(todo):
                    if on_start is not None:
                        on_start(path, index, len(todo))
                    yield self._finish(ahead.take(), config, output_dir, formats)
        finally:
            # A model half-loaded in native code when the interpreter exits aborts the process: let it finish.
            loader.join()

    # ------------------------------------------------------------------ one input, start to end
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
            changes["diarization"] = dataclasses.replace(
                self.config.diarization, **{k: v for k, v in hints.items() if v is not None}
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
            check_input(source)
            with perf.stage(STAGE_PREPROCESS):
                prepared.audio = preprocess(source, config.audio, device=self.device, profiler=perf)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread, re-raised there
            prepared.error = exc
        perf.start_wait()  # until _finish takes it up: in a batch, the previous file may still be running
        return prepared

    def _finish(
        self, prepared: _Prepared, config: PipelineConfig, output_dir: str | Path | None, formats: Sequence[str]
    ) -> BatchItem:
        perf = prepared.perf
        perf.end_wait()
        try:
            if prepared.error is not None:
                raise prepared.error
            assert prepared.audio is not None
            transcript = self._transcript(prepared.audio, config, perf, prepared.source)
            outputs: tuple[Path, ...] = ()
            if output_dir is not None:
                with perf.stage(STAGE_WRITING):
                    with perf.subprocess("write_transcripts", formats=",".join(formats)):
                        # The metrics of what came before the writing: the files and the result say the same.
                        transcript = transcript.with_changes(performance_metrics=perf.snapshot().metrics())
                        transcript, outputs = self.write_transcripts(transcript, prepared.source, output_dir, formats)
            session = perf.end_pipeline()
            if output_dir is None:
                transcript = transcript.with_changes(performance_metrics=session.metrics())
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

    def _transcript(self, audio: PreparedAudio, config: PipelineConfig, perf: PerformanceLogger, source: str) -> Transcript:
        """Recognition, diarization, gap recovery, alignment and roles, then analytics: the finished transcript."""
        transcript = self._recognise_and_attribute(audio, config, perf, source)
        transcript = self._with_analytics(transcript, config, perf)
        if config.perf.redact_paths:
            transcript = transcript.with_changes(
                audio=dataclasses.replace(transcript.audio, path=redaction.redact_name(source))
            )
        return transcript

    # ------------------------------------------------------------------ stages
    def _recognise_and_attribute(
        self, audio: PreparedAudio, config: PipelineConfig, perf: PerformanceLogger, source: str
    ) -> Transcript:
        diarization: DiarizationResult | None = None
        turns: tuple[SpeakerTurn, ...] = ()
        by_channel = self._diarize_by_channel(audio, source, config, perf) if config.enable_diarization else None
        if by_channel is not None and by_channel[0].info.get("speaker_channels") and config.asr.per_channel:
            return self._recognise_channels(audio, *by_channel, config, perf, source)
        if by_channel is not None:
            diarization, turns = by_channel[0], by_channel[0].turns
            asr, segments = self._recognise(audio, config, perf)
        elif config.enable_diarization and self._diarize_concurrently(config):
            # Recognition and diarization share nothing until alignment: on a GPU they overlap well.
            pending: Future[tuple[DiarizationResult, tuple[SpeakerTurn, ...]]] = Future()
            worker = threading.Thread(target=_resolve, args=(pending, self._diarize, audio, config, perf, source))
            worker.start()
            try:
                asr, segments = self._recognise(audio, config, perf)
            finally:
                worker.join()
            diarization, turns = pending.result()
        else:
            asr, segments = self._recognise(audio, config, perf)
            if config.enable_diarization:
                diarization, turns = self._diarize(audio, config, perf, source)
        segments, unrecognised = self._recover_gaps(audio, asr, segments, diarization, config, perf)
        with perf.stage(STAGE_ALIGNMENT):
            aligned = align_transcript(segments, turns, config.align, profiler=perf, device=self.device)
        return self._assemble(audio, aligned, turns, unrecognised, asr, asr.language, diarization, config, perf,
                              source)

    def _assemble(
        self, audio: PreparedAudio, segments: tuple[Segment, ...], turns: Sequence[SpeakerTurn],
        unrecognised: tuple[UnrecognisedSpeech, ...], asr: Any, language: str | None,
        diarization: DiarizationResult | None, config: PipelineConfig, perf: PerformanceLogger, source: str,
    ) -> Transcript:
        """The transcript of attributed ``segments``, with its speakers in order of appearance (roles labelled)."""
        with perf.stage(STAGE_ALIGNMENT):
            speakers = _speakers_in_order(segments, diarization)
            if diarization is not None and config.roles.enabled and diarization.centroids:
                with perf.subprocess("role_labelling", speakers=len(speakers)):
                    speakers = self._label_roles(speakers, diarization, config)
        return Transcript(
            audio=AudioInfo(path=source, duration=audio.original_duration),
            language=language,
            segments=segments,
            speakers=speakers,
            provenance=build_provenance(config, self.device.type, asr.model, asr.model_sha256, diarization),
            turns=tuple(sorted(turns, key=lambda t: (t.start, t.end))),  # the diarizer's own, overlaps kept
            unrecognised=unrecognised,
        )

    def _recognise_channels(
        self, audio: PreparedAudio, diarization: DiarizationResult, channels: np.ndarray, sample_rate: int,
        config: PipelineConfig, perf: PerformanceLogger, source: str,
    ) -> Transcript:
        """One speaker per channel: each channel recognised on its own, the other side's bleed silenced, every
        word given its channel's speaker (therapybridge.asr.channels); there is nothing left to align."""
        from ..asr.channels import recognise_channels
        from ..diarization.channels import own_voice

        with perf.stage(STAGE_ASR):
            transcriber = self.models.transcriber(perf)
            with perf.subprocess("channel_recognition", channels=len(diarization.speakers)):
                found = recognise_channels(
                    transcriber, channels, sample_rate, diarization.turns, diarization.info["speaker_channels"],
                    diarization.speakers, own_voice(channels, sample_rate), recover=config.asr.gap_recovery,
                    levels=config.audio, profiler=perf,
                )
        return self._assemble(audio, found.segments, diarization.turns, found.unrecognised, found.results[0],
                              found.language, diarization, config, perf, source)

    def _recognise(
        self, audio: PreparedAudio, config: PipelineConfig, perf: PerformanceLogger
    ) -> tuple[Any, tuple[Segment, ...]]:
        with perf.stage(STAGE_ASR):
            transcriber = self.models.transcriber(perf)
            gain = original_level_gain(audio) if config.asr.decode_original_level else 1.0
            asr = transcriber.transcribe(audio.numpy(), audio.sample_rate, profiler=perf, decode_gain=gain)
            with perf.subprocess("restore_timestamps", segments=len(asr.segments)):
                return asr, audio.time_map.map_segments(asr.segments)

    def _recover_gaps(
        self, audio: PreparedAudio, asr: Any, segments: tuple[Segment, ...], diarization: DiarizationResult | None,
        config: PipelineConfig, perf: PerformanceLogger,
    ) -> tuple[tuple[Segment, ...], tuple[UnrecognisedSpeech, ...]]:
        """Decode again what the diarizer and the speech detector heard but recognition skipped (a sub-step of the
        recognition stage; therapybridge.asr.recovery). Works on the recogniser's clock, then restores the times."""
        transcriber = self.models.loaded_transcriber
        if not config.asr.gap_recovery or not hasattr(transcriber, "redecode"):
            return segments, ()
        from ..asr._signal import mono_16k
        from ..asr.recovery import merge_segments, recover_gaps

        # Channel diarization's turns are on the original clock, not the recogniser's: the speech detector alone.
        speech_detector_only = diarization is None or diarization.info.get("engine") == "channels"
        turns = () if speech_detector_only else diarization.turns
        with perf.stage(STAGE_ASR):
            with perf.subprocess("gap_recovery") as span:
                samples = mono_16k(audio.numpy(), audio.sample_rate)
                result = recover_gaps(transcriber, samples, asr.segments, turns, asr.speech, asr.language,
                                      levels=config.audio)
                if hasattr(span, "set"):
                    span.set(**result.counts())
        if not result.gaps:
            return segments, ()
        unrecognised = tuple(
            UnrecognisedSpeech(*audio.time_map.map_interval(u.start, u.end), u.speaker) for u in result.unrecognised
        )
        return audio.time_map.map_segments(merge_segments(result.kept, result.segments)), unrecognised

    def _diarize(
        self, audio: PreparedAudio, config: PipelineConfig, perf: PerformanceLogger, source: str
    ) -> tuple[DiarizationResult, tuple[SpeakerTurn, ...]]:
        with perf.stage(STAGE_DIARIZATION):
            diarizer = self.models.diarizer(perf)
            diarization = diarizer.diarize(audio.waveform, audio.sample_rate, config.diarization, profiler=perf)
            with perf.subprocess("restore_timestamps", turns=len(diarization.turns)):
                return diarization, audio.time_map.map_turns(diarization.turns)

    def _diarize_concurrently(self, config: PipelineConfig) -> bool:
        """Overlap diarization with recognition: always on a GPU; on a CPU only when asked (it rarely pays there)."""
        if config.concurrent_stages == "auto":
            return self.device.type in ("cuda", "mps")
        return config.concurrent_stages == "on"

    def _diarize_by_channel(
        self, audio: PreparedAudio, source: str, config: PipelineConfig, perf: PerformanceLogger
    ) -> tuple[DiarizationResult, np.ndarray, int] | None:
        """One speaker per channel, from the channels' levels (original clock, so no time map), with the decoded
        channels and their sample rate: when asked, or by default when a multi-channel recording looks like it
        (``diarize_if_channel_speakers``); else None."""
        options = config.diarization
        step = audio.step("load_audio")
        channels = int(step.metadata.get("channels") or 0) if step is not None else 0
        if options.channel_speakers is False or (options.channel_speakers is None and channels < 2):
            return None  # a mono recording is not decoded a second time
        with perf.stage(STAGE_DIARIZATION):
            with perf.subprocess("load_channels"):
                decoded = decode_audio(source)
            if options.channel_speakers and decoded.channels < 2:
                raise ConfigurationError(
                    f"{source}: --channel-speakers needs one speaker per channel, but the recording has 1 channel"
                )
            result = diarize_if_channel_speakers(decoded.waveform, decoded.sample_rate, options, profiler=perf)
        return None if result is None else (result, decoded.waveform, decoded.sample_rate)

    def _label_roles(
        self, speakers: tuple[SpeakerInfo, ...], diarization: DiarizationResult, config: PipelineConfig
    ) -> tuple[SpeakerInfo, ...]:
        """Name the therapist (and the client) from enrolled voice profiles; neutral labels when none match."""
        from ..roles.labelling import label_with_options

        return label_with_options([s.id for s in speakers], diarization.centroids, config.roles)

    def _with_analytics(self, transcript: Transcript, config: PipelineConfig, perf: PerformanceLogger) -> Transcript:
        """The transcript with its session analytics (therapybridge.analytics), unless they are turned off."""
        if not config.analytics.enabled:
            return transcript
        from ..analytics import compute_analytics

        with perf.stage(STAGE_ALIGNMENT):
            with perf.subprocess("session_analytics", turns=len(transcript.turns)):
                # From the times as the JSON keeps them (ms), so `therapybridge analytics` on it finds the same.
                analytics = compute_analytics(Transcript.from_dict(transcript.to_dict()), config.analytics)
        return transcript.with_changes(analytics=analytics.to_dict())

    # ------------------------------------------------------------------ outputs
    def write_transcripts(
        self, transcript: Transcript, source: str, output_dir: str | Path, formats: Sequence[str],
        *, input_sha256: str | None = None,
    ) -> tuple[Transcript, tuple[Path, ...]]:
        """Write ``output_dir/<stem>.<ext>`` for a finished transcript, atomically, with the input's sha256 in its
        provenance (what ``--skip-existing`` checks): the one writer of ``process_many`` and of the Ray driver."""
        digest = input_sha256 or file_sha256(source)
        transcript = transcript.with_changes(provenance={**transcript.provenance, "input_sha256": digest})
        return transcript, tuple(write_outputs(transcript, output_dir, Path(source).stem, formats))

    def is_up_to_date(self, source: str, output_dir: str | Path, formats: Sequence[str]) -> bool:
        """Whether ``source``'s outputs in ``output_dir`` are complete and current (``--skip-existing``)."""
        return is_up_to_date(source, output_dir, formats, self.config)

    def write_perf_reports(self, session: Any, output_dir: str | Path | None, source: str) -> tuple[Path, ...]:
        """``<stem>.perf.*`` for a finished file's performance session, when profiling is on."""
        return self._write_perf_reports(session, self.config, output_dir, source)

    def _write_perf_reports(
        self, session: Any, config: PipelineConfig, output_dir: str | Path | None, source: str
    ) -> tuple[Path, ...]:
        target = config.perf.output_dir or output_dir
        if not config.perf.enabled or target is None:
            return ()
        return tuple(write_reports(session, target, Path(source).stem, redact_paths=config.perf.redact_paths))


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


def original_level_gain(audio: PreparedAudio) -> float:
    """The factor that undoes the preprocessing's normalization gain (1.0 when none was applied)."""
    step = audio.step("normalization")
    gain_db = float((step.metadata.get("gain_db") if step is not None else None) or 0.0)
    return 10.0 ** (-gain_db / 20.0)


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _resolve(future: Future, function: Callable[..., Any], *args: Any) -> None:
    """Run ``function`` on a worker thread and hand its result or exception to ``future``."""
    try:
        future.set_result(function(*args))
    except BaseException as exc:  # noqa: BLE001 - re-raised by future.result() in the caller
        future.set_exception(exc)


def _discard(prepared: _Prepared) -> None:
    """Drop a prefetched input nobody will process: free its audio and stop its performance logger's sampler."""
    prepared.audio = None
    _end_quietly(prepared.perf)


def _end_quietly(perf: PerformanceLogger) -> None:
    try:
        perf.end_pipeline()
    except Exception:  # noqa: BLE001 - the original error matters more
        logger.debug("could not close the performance session", exc_info=True)

