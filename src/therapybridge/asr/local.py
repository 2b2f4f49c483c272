"""Local recognition with faster-whisper's ``BatchedInferencePipeline`` (CTranslate2: int8 on CPU, float16 on CUDA).

How a recording is recognised:

1. speech regions: Silero VAD (``vad_filter=True``, the default), restarted before every sound that follows a quiet
   second so the regions do not depend on how long the pauses were, or the whole input when the caller already
   removed the silences; regions quieter than ``silence_floor_db`` are dropped before any decoding (pure silence
   guard);
2. the regions are packed in order into pieces of at most 30 s of audio (Whisper's window) and the pieces are
   decoded in batches; times come back on the packed clock and are mapped back to the clock of the input;
3. hallucination guards: a segment the model itself calls non-speech (high ``no_speech_prob`` with a low average
   log-probability or a repetitive, highly compressible text) is dropped, and any other phrase repeated back to back
   too often is cut to one occurrence.
"""

from __future__ import annotations

import bisect
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigurationError, DependencyError, ModelError
from ..perf.hooks import NULL_PROFILER, StageProfiler
from ..types import Segment, Word
from ._signal import SAMPLE_RATE, frame_power, mono_16k, split_at_quiet
from .base import ASRResult, TranscribeOptions, Transcriber
from .models import ResolvedModel, resolve_model

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 30.0
# Whisper windows decoded per faster-whisper call (rounded down to whole batches): 32 minutes of speech.
_WINDOWS_PER_CALL = 64
# Speech detection runs on blocks of about this many seconds, cut at a quiet point: the VAD copies its input
# twice and more, which on a 2-hour recording cost a gigabyte at once.
VAD_BLOCK_SECONDS = 600.0
# Decoding a stretch again (gap recovery) may produce at most this many tokens per second of it.
_TOKENS_PER_SECOND = 8.0
# Speech detection also restarts (fresh Silero state) shortly before every sound that follows a quiet second. Silero's
# state remembers minutes of audio, so without restarts the regions after a pause depend on how long the pause was,
# and audio whose long pauses were shortened would be cut into different windows than the original (its words then
# come back up to a second apart). Quiet is RESTART_BELOW_PEAK_DB under the loudest 20 ms frame, which is speech and
# so the same with or without the pauses; that sits at or above the preprocessing's silence threshold (35 dB under
# its loud-speech level, or 6 dB over the noise) whenever peak and noise are 31 dB apart, so what preprocessing
# removes is quiet here too and a shortened pause (max_pause, 2 s by default) still holds RESTART_QUIET_SECONDS.
RESTART_QUIET_SECONDS = 1.0
RESTART_LEAD_SECONDS = 0.3  # the preprocessing's speech_pad: all that trimmed audio keeps before its first sound
RESTART_BELOW_PEAK_DB = 25.0

_MODELS: dict[tuple[str, str, int, str, int], "WhisperModel"] = {}
_MODELS_LOCK = threading.Lock()


def clear_model_cache() -> None:
    """Forget every loaded model (they are freed once no transcriber holds them)."""
    with _MODELS_LOCK:
        _MODELS.clear()


def default_compute_type(device: "torch.device | str") -> str:
    """int8 on the CPU (fast, accurate enough for Whisper), float16 on CUDA."""
    return "float16" if _device_type(device) == "cuda" else "int8"


def _device_type(device: "torch.device | str") -> str:
    return str(getattr(device, "type", device)).split(":", 1)[0]


def _device_index(device: "torch.device | str") -> int:
    if isinstance(device, str):
        _, _, index = device.partition(":")
        return int(index or 0)
    return int(getattr(device, "index", None) or 0)


@dataclass(frozen=True)
class _Region:
    """Kept audio ``[start, end)`` in samples of the input, placed at ``packed_start`` on the packed clock."""

    start: int
    end: int
    packed_start: int

    @property
    def offset(self) -> float:
        return (self.start - self.packed_start) / SAMPLE_RATE

    @property
    def packed_end(self) -> int:
        return self.packed_start + self.end - self.start


class FasterWhisperTranscriber(Transcriber):
    """Whisper through faster-whisper; the model loads once per process and is shared by every instance."""

    name = "faster-whisper"

    def __init__(
        self,
        options: "TranscribeOptions | dict[str, Any] | None" = None,
        device: "torch.device | str" = "cpu",
        *,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.options = TranscribeOptions.from_dict(options)
        self.device_type = _device_type(device)
        if self.device_type not in ("cpu", "cuda"):
            logger.warning("CTranslate2 has no %s backend; recognition runs on the CPU", self.device_type)
            self.device_type = "cpu"
        self.device_index = _device_index(device) if self.device_type == "cuda" else 0
        self.compute_type = self.options.compute_type or default_compute_type(self.device_type)
        self.cpu_threads = self.options.cpu_threads or _available_cores()
        self._cache_dir = cache_dir
        self._resolved: ResolvedModel | None = None
        self._model: "WhisperModel | None" = None

    # -- loading ---------------------------------------------------------------------------------------------

    def load(self, profiler: StageProfiler = NULL_PROFILER) -> None:
        if self._model is not None:
            return
        with profiler.subprocess(
            "model_loading", model=self.options.model, device=self.device_type, compute_type=self.compute_type
        ):
            self._resolved = resolve_model(
                self.options.model, allow_download=self.options.allow_download, cache_dir=self._cache_dir
            )
            self._model = _load_model(self._resolved, self.device_type, self.device_index, self.compute_type,
                                      self.cpu_threads)

    @property
    def model_id(self) -> str:
        return self._resolved.name if self._resolved else self.options.model

    @property
    def whisper_model(self) -> "WhisperModel":
        """The loaded faster-whisper model (loads it first), for callers that need the raw engine."""
        self.load()
        assert self._model is not None
        return self._model

    @property
    def model_sha256(self) -> str | None:
        return self._resolved.sha256 if self._resolved else None

    # -- recognition -----------------------------------------------------------------------------------------

    def transcribe(
        self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE, *, profiler: StageProfiler = NULL_PROFILER,
        decode_gain: float = 1.0, language: str | None = None,
    ) -> ASRResult:
        """Recognise mono audio; segment and word times are seconds on the clock of ``audio``. Speech is found on
        ``audio`` as given; the decoder hears it scaled by ``decode_gain``."""
        self.load(profiler)
        assert self._model is not None
        samples = mono_16k(audio, sample_rate)
        opts = self.options
        with profiler.subprocess("speech_detection", audio_seconds=round(len(samples) / SAMPLE_RATE, 3),
                                 vad=opts.vad_filter):
            regions = _speech_regions(samples, opts)
            pieces = _pack(regions, samples, int(WINDOW_SECONDS * SAMPLE_RATE))
        if not pieces:
            return self._result((), language or self._fallback_language(), None, samples, regions=0)
        speech = tuple((round(s / SAMPLE_RATE, 3), round(e / SAMPLE_RATE, 3)) for piece in pieces for s, e in piece)
        with profiler.subprocess(
            "inference",
            audio_seconds=round(len(samples) / SAMPLE_RATE, 3),
            speech_seconds=round(sum(e - s for piece in pieces for s, e in piece) / SAMPLE_RATE, 3),
            chunks=len(pieces),
            batch_size=opts.batch_size,
            beam_size=opts.beam_size,
        ) as span:
            segments, info, dropped, looped = self._decode_in_groups(samples, pieces, decode_gain, language)
            annotate(span, segments=len(segments), words=sum(len(s.words) for s in segments), dropped_segments=dropped,
                     loop_words_removed=looped)
        if looped:
            logger.debug("repetition loops: removed %d words", looped)
        return self._result(segments, info.language, info.language_probability, samples,
                            regions=sum(len(piece) for piece in pieces), loop_words_removed=looped, speech=speech)

    def redecode(
        self, samples: np.ndarray, spans: list[tuple[int, int]], language: str | None, *, gains: list[float]
    ) -> list[list[Word]]:
        """Decode each ``[start, end)`` span of 16 kHz ``samples`` as its own window, scaled by its gain, with the
        regular hallucination guards; the words of each span, in seconds on the clock of ``samples``."""
        self.load()
        if not spans:
            return []
        layout, parts, clips, cursor = [], [], [], 0
        for (start, end), gain in zip(spans, gains):
            part = samples[start:end] * np.float32(gain)
            np.clip(part, -1.0, 1.0, out=part)
            layout.append(_Region(start, end, cursor))
            clips.append({"start": cursor / SAMPLE_RATE, "end": (cursor + end - start) / SAMPLE_RATE})
            parts.append(part)
            cursor += end - start
        # A token budget for the longest span (fast speech is about 4 tokens a second): a window decoded into a
        # repetition loop stops there instead of at Whisper's 448 tokens.
        longest = max(end - start for start, end in spans) / SAMPLE_RATE
        budget = min(int(_TOKENS_PER_SECOND * longest) + 16, 400)
        raw, _ = self._decode(np.concatenate(parts), clips, language or self._fallback_language(), budget)
        segments, _ = _to_segments(raw, layout, self.options)
        words: list[list[Word]] = [[] for _ in spans]
        index = 0  # segments come in packed order, one region each: walk the spans along with them
        for segment in segments:
            while index + 1 < len(spans) and not _holds(spans[index], segment):
                index += 1
            words[index].extend(segment.words)
        return words

    def _decode_in_groups(
        self, samples: np.ndarray, pieces: list[list[tuple[int, int]]], gain: float = 1.0,
        language: str | None = None,
    ) -> tuple[list[Segment], Any, int, int]:
        """Decode the pieces a group at a time: faster-whisper holds a copy of its input and the features of every
        window of a call at once, so one call on a 2-hour recording needs a gigabyte more than a group does.
        Groups are whole batches and windows never see each other, so the words are the ones a single call gives;
        the language found in the first group is kept for the others, as a single call would.
        Returns the segments, the first group's info, the windows dropped as non-speech and the loop words removed."""
        opts = self.options
        group = max(1, _WINDOWS_PER_CALL // opts.batch_size) * opts.batch_size
        segments: list[Segment] = []
        first_info, dropped, looped = None, 0, 0
        for first in range(0, len(pieces), group):
            packed, clips, layout = _packed_audio(samples, pieces[first : first + group])
            if gain != 1.0:
                packed *= np.float32(gain)  # a group's own copy: the input is not touched
            known = language or opts.language or (first_info.language if first_info is not None else None)
            raw, info = self._decode(packed, clips, known)
            del packed
            kept, removed = _to_segments(raw, layout, opts)
            segments.extend(kept)
            looped += removed
            dropped += sum(is_non_speech(s, opts) for s in raw)
            first_info = first_info or info
        return segments, first_info, dropped, looped

    def _decode(self, packed: np.ndarray, clips: list[dict[str, float]], language: str | None,
                max_new_tokens: int | None = None) -> tuple[list[Any], Any]:
        from faster_whisper import BatchedInferencePipeline

        opts = self.options
        pipeline = BatchedInferencePipeline(self._model)  # cheap; holds per-call state, so one per call
        generator, info = pipeline.transcribe(
            packed,
            language=language,
            batch_size=opts.batch_size,
            beam_size=opts.beam_size,
            word_timestamps=opts.word_timestamps,
            initial_prompt=opts.initial_prompt or None,
            hotwords=opts.hotwords or None,
            vad_filter=False,
            clip_timestamps=clips,
            max_new_tokens=max_new_tokens,
        )
        return list(generator), info

    def detect_language(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> str | None:
        """The options' language, else the model's only one, else the language Whisper hears in the first 30 s of
        ``audio``'s speech (as a single call on the whole recording would)."""
        self.load()
        known = self._fallback_language()
        if known or not len(audio):
            return known
        language, _, _ = self._model.detect_language(mono_16k(audio, sample_rate), vad_filter=True)
        return language

    def _fallback_language(self) -> str | None:
        if self.options.language:
            return self.options.language
        is_multilingual = bool(getattr(getattr(self._model, "model", None), "is_multilingual", True))
        return None if is_multilingual else "en"

    def _result(self, segments: Any, language: str | None, probability: float | None, samples: np.ndarray,
                *, regions: int, loop_words_removed: int = 0,
                speech: tuple[tuple[float, float], ...] = ()) -> ASRResult:
        return ASRResult(
            segments=tuple(segments),
            language=language,
            language_probability=None if probability is None else float(probability),
            model=self.model_id,
            model_sha256=self.model_sha256,
            info={
                "backend": self.name,
                "device": self.device_type,
                "compute_type": self.compute_type,
                "audio_seconds": round(len(samples) / SAMPLE_RATE, 3),
                "speech_regions": regions,
                "loop_words_removed": loop_words_removed,
            },
            speech=speech,
        )


def _holds(span: tuple[int, int], segment: Segment) -> bool:
    return span[0] / SAMPLE_RATE - 1e-3 <= segment.start and segment.end <= span[1] / SAMPLE_RATE + 1e-3


def annotate(span: Any, **metadata: Any) -> None:
    """Add counts known only at the end to a profiler span (the no-op profiler hands out None)."""
    setter = getattr(span, "set", None)
    if callable(setter):
        setter(**metadata)


def _available_cores() -> int:
    """The cores this process may use, or fewer where ``OMP_NUM_THREADS`` asks for fewer (as torch honours it)."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = max(1, os.cpu_count() or 1)
    requested = os.environ.get("OMP_NUM_THREADS", "")
    return min(cores, int(requested)) if requested.isdigit() and int(requested) > 0 else cores


def _load_model(resolved: ResolvedModel, device: str, index: int, compute_type: str, threads: int) -> "WhisperModel":
    key = (str(resolved.path), device, index, compute_type, threads)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = _construct(resolved, device, index, compute_type, threads)
            _MODELS[key] = model
        return model


def _construct(resolved: ResolvedModel, device: str, index: int, compute_type: str, threads: int) -> "WhisperModel":
    try:
        import ctranslate2
        from faster_whisper import WhisperModel
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise DependencyError("faster-whisper is not installed; run: pip install faster-whisper") from exc
    supported = ctranslate2.get_supported_compute_types(device)
    if compute_type not in supported:
        raise ConfigurationError(
            f"compute type {compute_type!r} is not supported on {device}; choose one of {', '.join(sorted(supported))}"
        )
    try:
        return WhisperModel(str(resolved.path), device=device, device_index=index, compute_type=compute_type,
                            cpu_threads=threads)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(f"cannot load Whisper model {resolved.name!r} from {str(resolved.path)!r}: {exc}") from exc


# -- speech regions and packing ---------------------------------------------------------------------------------


def _speech_regions(samples: np.ndarray, opts: TranscribeOptions) -> list[tuple[int, int]]:
    """Where to listen: VAD regions (or the whole input), without the ones that are silent to the ear."""
    if opts.vad_filter:
        regions = [region for lo, hi in _vad_blocks(samples) for region in _vad_regions(samples[lo:hi], lo, opts)]
    else:
        regions = [(0, len(samples))] if len(samples) else []
    return [r for r in regions if _loudness_db(samples[r[0] : r[1]]) > opts.silence_floor_db]


def _vad_blocks(samples: np.ndarray) -> list[tuple[int, int]]:
    """Stretches the VAD runs on with a fresh state: cut at the restart points, and anything longer than
    ``VAD_BLOCK_SECONDS`` again at a quiet point (the VAD copies its input twice and more)."""
    block = int(VAD_BLOCK_SECONDS * SAMPLE_RATE)
    edges = [0, *_restart_points(samples), len(samples)]
    return [
        piece
        for lo, hi in zip(edges, edges[1:])
        if hi > lo
        for piece in split_at_quiet(samples, lo, hi, block, frame=SAMPLE_RATE // 50)
    ]


def _restart_points(samples: np.ndarray) -> list[int]:
    """Samples ``RESTART_LEAD_SECONDS`` before each sound that follows ``RESTART_QUIET_SECONDS`` of quiet (or the
    start): points defined by the audio around them alone, so a shortened pause yields the same points as the
    original one (preprocessing removes whole 20 ms frames, which keeps these frames aligned)."""
    frame = SAMPLE_RATE // 50
    levels = frame_power(samples, frame)
    if len(levels) == 0:
        return []
    levels = 10.0 * np.log10(levels + 1e-20)
    loud = np.flatnonzero(levels > levels.max() - RESTART_BELOW_PEAK_DB)
    if len(loud) == 0:
        return []
    quiet_frames = RESTART_QUIET_SECONDS * 50
    onsets = [int(loud[0])] + [int(i) for i, gap in zip(loud[1:], np.diff(loud)) if gap - 1 >= quiet_frames]
    lead = int(RESTART_LEAD_SECONDS * SAMPLE_RATE)
    return [point for point in (i * frame - lead for i in onsets) if point > 0]


def _vad_regions(block: np.ndarray, offset: int, opts: TranscribeOptions) -> list[tuple[int, int]]:
    from ..audio.vad import silero_speech

    spans = silero_speech(block, threshold=opts.vad_threshold, min_silence_ms=opts.vad_min_silence_ms,
                          speech_pad_ms=opts.vad_speech_pad_ms, max_speech_seconds=WINDOW_SECONDS)
    return [(offset + a, offset + b) for a, b in spans]


def _loudness_db(samples: np.ndarray) -> float:
    """Loudness of the loudest 100 ms of a stretch, in dBFS: one word above the floor keeps the region."""
    if len(samples) == 0:
        return -np.inf
    power = float(np.max(frame_power(samples, min(SAMPLE_RATE // 10, len(samples)))))
    return 10.0 * np.log10(power) if power > 0 else -np.inf


def _pack(regions: list[tuple[int, int]], samples: np.ndarray, window: int) -> list[list[tuple[int, int]]]:
    """Group consecutive regions into pieces of at most ``window`` samples; split longer regions where it is quiet."""
    pieces: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    filled = 0
    for region in (part for r in regions for part in _split_long(samples, r, window)):
        length = region[1] - region[0]
        if current and filled + length > window:
            pieces.append(current)
            current, filled = [], 0
        current.append(region)
        filled += length
    if current:
        pieces.append(current)
    return pieces


def _split_long(samples: np.ndarray, region: tuple[int, int], window: int) -> list[tuple[int, int]]:
    return split_at_quiet(samples, region[0], region[1], window, frame=SAMPLE_RATE // 50)


def _packed_audio(
    samples: np.ndarray, pieces: list[list[tuple[int, int]]]
) -> tuple[np.ndarray, list[dict[str, float]], list[_Region]]:
    """The kept audio back to back, the clip (in seconds) of each piece on that clock, and the way back."""
    layout: list[_Region] = []
    clips = []
    cursor = 0
    for piece in pieces:
        piece_start = cursor
        for start, end in piece:
            layout.append(_Region(start, end, cursor))
            cursor += end - start
        clips.append({"start": piece_start / SAMPLE_RATE, "end": cursor / SAMPLE_RATE})
    packed = np.concatenate([samples[r.start : r.end] for r in layout]) if layout else np.zeros(0, np.float32)
    return packed, clips, layout


# -- results back on the input clock, with the hallucination guards ---------------------------------------------


class _ClockMap:
    """Packed time to input time: each instant belongs to the region that holds it on the packed clock."""

    def __init__(self, layout: list[_Region]) -> None:
        self._layout = layout
        self._ends = [r.packed_end / SAMPLE_RATE for r in layout]

    def region_of(self, packed_time: float) -> _Region:
        index = min(bisect.bisect_right(self._ends, packed_time), len(self._layout) - 1)
        return self._layout[index]

    def word(self, word: Any) -> tuple[Word, _Region]:
        """A word stays inside the region of its midpoint, so it never straddles a removed silence."""
        region = self.region_of((word.start + word.end) / 2.0)
        lo, hi = region.start / SAMPLE_RATE, region.end / SAMPLE_RATE
        start = min(max(word.start + region.offset, lo), hi)
        end = min(max(word.end + region.offset, start), hi)
        probability = None if word.probability is None else float(word.probability)
        return Word(start=round(start, 3), end=round(end, 3), word=word.word, probability=probability), region

    def time(self, packed_time: float) -> float:
        return round(packed_time + self.region_of(packed_time).offset, 3)


def _to_segments(raw: list[Any], layout: list[_Region], opts: TranscribeOptions) -> tuple[list[Segment], int]:
    """Segments on the input clock, and how many words were removed as repetition loops or crowded text."""
    clock = _ClockMap(layout)
    segments: list[Segment] = []
    removed = 0
    for seg in raw:
        if is_non_speech(seg, opts):
            continue
        if seg.words:
            words = [clock.word(w) for w in seg.words]
            placed = _without_loops(words, opts.max_phrase_repeats, opts.max_short_phrase_repeats)
            kept = [part for part in _split_at_regions(placed) if not _crowded(part, opts)]
            removed += len(words) - sum(len(part.words) for part in kept)
            segments.extend(kept)
        elif seg.text.strip():
            segments.append(Segment(start=clock.time(seg.start), end=clock.time(seg.end), text=seg.text.strip()))
    return segments, removed


def is_non_speech(seg: Any, opts: TranscribeOptions) -> bool:
    """Whisper's own rule, plus loops: a window the model thinks is not speech, decoded with low confidence or
    into highly repetitive text (white noise gives "x 2 cm x 2 cm ..." at high confidence), is a hallucination."""
    if opts.no_speech_threshold is None or seg.no_speech_prob <= opts.no_speech_threshold:
        return False
    unsure = opts.log_prob_threshold is not None and seg.avg_logprob < opts.log_prob_threshold
    looping = opts.compression_ratio_threshold is not None and seg.compression_ratio > opts.compression_ratio_threshold
    return unsure or looping


CROWDED_MIN_WORDS = 8  # fewer words than this are too few to tell a fast talker from invented text


def _crowded(segment: Segment, opts: TranscribeOptions) -> bool:
    """More words than the segment's time could hold: text Whisper invented at the end of a window."""
    words = segment.words
    if opts.max_words_per_second is None or len(words) < CROWDED_MIN_WORDS:
        return False
    seconds = (words[-1].end or 0.0) - (words[0].start or 0.0)
    return len(words) > opts.max_words_per_second * max(seconds, 0.0)


def _split_at_regions(placed: list[tuple[Word, _Region]]) -> list[Segment]:
    """One segment per kept speech region: a batched window holds many utterances, and pauses separate them."""
    groups: list[list[Word]] = []
    last_region = None
    for word, region in placed:
        if region is not last_region:
            groups.append([])
            last_region = region
        groups[-1].append(word)
    return [_segment(group) for group in groups if group]


def _segment(words: list[Word]) -> Segment:
    text = "".join(w.word for w in words).strip()
    return Segment(start=words[0].start or 0.0, end=words[-1].end or 0.0, text=text, words=tuple(words))


_TOKEN = re.compile(r"[\w']+")


def _norm(word: Word) -> str:
    return " ".join(_TOKEN.findall(word.word.lower()))


SHORT_PHRASE_WORDS = 3  # "no", "I know", "thank you so": said over and over in real speech


def without_loops(words: Sequence[Any], opts: TranscribeOptions) -> list[Any]:
    """``words`` (anything with a ``.word``) with repetition loops cut to one occurrence, by the options' repeat
    limits (see :func:`_without_loops`); the live recogniser uses it on each decode."""
    kept = _without_loops([(w, None) for w in words], opts.max_phrase_repeats, opts.max_short_phrase_repeats)
    return [w for w, _ in kept]


def _without_loops(
    words: list[tuple[Word, Any]], max_repeats: int, max_short_repeats: int = 8
) -> list[tuple[Word, Any]]:
    """Cut repetition loops down to one occurrence: a phrase of up to ``SHORT_PHRASE_WORDS`` words repeated back
    to back more than ``max_short_repeats`` times, or a longer one (up to 8 words) more than ``max_repeats`` times.
    Fewer repeats are speech and stay. ``max_repeats <= 0`` keeps everything."""
    if max_repeats <= 0 or len(words) <= min(max_repeats, max_short_repeats):
        return words
    keys = [_norm(w) for w, _ in words]
    out_words: list[tuple[Word, Any]] = []
    i = 0
    while i < len(words):
        span, repeats = _longest_loop(keys, i)
        if repeats > (max_short_repeats if span <= SHORT_PHRASE_WORDS else max_repeats):
            out_words.extend(words[i : i + span])
            i += span * repeats
        else:
            out_words.append(words[i])
            i += 1
    return out_words


def _longest_loop(keys: list[str], i: int, max_span: int = 8) -> tuple[int, int]:
    """The phrase length starting at ``i`` that repeats most often back to back, and how often."""
    best = (1, 1)
    for span in range(1, max_span + 1):
        phrase = keys[i : i + span]
        if len(phrase) < span or not any(phrase):
            break
        repeats = 1
        while keys[i + repeats * span : i + (repeats + 1) * span] == phrase:
            repeats += 1
        if repeats > best[1]:
            best = (span, repeats)
    return best
