"""The speech-recognition backend interface: load once, transcribe many."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ..perf.hooks import NULL_PROFILER, StageProfiler
from ..types import Segment
from .._options import options_from


@dataclass(frozen=True)
class TranscribeOptions:
    """Options for recognition; ``None`` means the backend's best default for the device."""

    model: str = "base"
    language: str | None = None
    batch_size: int = 8
    beam_size: int = 5
    compute_type: str | None = None
    initial_prompt: str | None = None
    hotwords: str | None = None
    word_timestamps: bool = True
    cpu_threads: int = 0
    allow_download: bool = False
    # Speech detection before decoding (Silero VAD, as in faster-whisper's batched pipeline). Each region is padded
    # by 200 ms, not faster-whisper's 400 ms: on the development material (base, gap recovery on) 400 ms was a
    # little better on the corpus's development sessions (621 against 634 errors of 7,265 words) and much worse on
    # the tune half of the de-identification dialogues (340 against 283 errors of 1,593; deletions 125 against
    # 61): its first pass skips more sentences (benchmarks/bench_recovery.py, development notes).
    vad_filter: bool = True
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 160
    vad_speech_pad_ms: int = 200
    # Hallucination guards: regions quieter than this are never decoded; a window with no_speech_prob above
    # ``no_speech_threshold`` and either a mean log-probability below ``log_prob_threshold`` or a text compression
    # ratio above ``compression_ratio_threshold`` is dropped. Repetition loops: a short phrase (1-3 words) said
    # back to back up to ``max_short_phrase_repeats`` times is speech ("no, no, no, no, no, no") and kept; more
    # often, or a longer phrase (4-8 words) more than ``max_phrase_repeats`` times, is a Whisper loop and cut to
    # one occurrence, the removed words counted in the stage's metadata (``max_phrase_repeats=0`` turns it off).
    silence_floor_db: float = -60.0
    no_speech_threshold: float | None = 0.6
    log_prob_threshold: float | None = -1.0
    compression_ratio_threshold: float | None = 2.4
    max_phrase_repeats: int = 5
    max_short_phrase_repeats: int = 8
    # A decoded segment of ``CROWDED_MIN_WORDS`` (8) or more words said faster than ``max_words_per_second`` is
    # invented text that Whisper squeezed into the end of a window (seen: 35 words in 1.5 s, 25 words in no time
    # at all) and is dropped; gap recovery decodes the stretch again. On the development half (base, d01-d11) no
    # segment of 8 or more words went faster than 6.4 words a second; 12 leaves room for fast talkers.
    max_words_per_second: float | None = 12.0
    # Gap recovery (therapybridge.asr.recovery): after recognition, stretches of at least ``gap_min_seconds`` that
    # the diarizer and the speech detector heard but no recognised word covers, and stretches of a speaker's speech
    # of 3 s or more with fewer than ``gap_min_words_per_second`` words a second, are decoded again on their own;
    # recovered words need a mean probability of at least ``gap_min_probability`` (and replace the stretch's old
    # words only when there are more of them); a gap of at least ``unrecognised_min_seconds`` still without a word
    # after that is kept as unrecognised speech (a visible marker).
    gap_recovery: bool = True
    gap_min_seconds: float = 1.0
    gap_min_words_per_second: float = 1.0
    gap_min_probability: float = 0.4
    unrecognised_min_seconds: float = 1.5
    # Whisper hears the recording at its own level: the preprocessing's loudness gain (which the speech detector
    # and the diarizer keep) is undone for the decoder alone. A gain of a few dB changes which sentences the
    # batched decoder skips. Development half d01-d07, base, recovery on: WER 0.080 vs 0.082 normalised, deleted
    # words 0.042 vs 0.044 of the reference (d02, telephone: 20 vs 32; d05 the other way, 79 vs 64).
    decode_original_level: bool = True
    # A recording with one speaker per channel (channel diarization) is recognised channel by channel, each within
    # its speaker's turns (therapybridge.asr.channels), rather than as a mix: backchannels and overlapped speech
    # are recognised on both sides, and every word has its channel's speaker.
    per_channel: bool = True
    # The model name the remote (OpenAI) backend asks for; ``model`` names the local Whisper weights.
    remote_model: str = "whisper-1"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.beam_size < 1:
            raise ConfigurationError(f"beam_size must be at least 1, got {self.beam_size}")
        if self.cpu_threads < 0:
            raise ConfigurationError(f"cpu_threads must be 0 (all cores) or more, got {self.cpu_threads}")
        if not 0.0 < self.vad_threshold < 1.0:
            raise ConfigurationError(f"vad_threshold must be between 0 and 1, got {self.vad_threshold}")
        if self.vad_min_silence_ms < 0 or self.vad_speech_pad_ms < 0:
            raise ConfigurationError("vad_min_silence_ms and vad_speech_pad_ms must not be negative")
        if self.gap_min_seconds <= 0 or self.unrecognised_min_seconds < 0:
            raise ConfigurationError("gap_min_seconds must be positive and unrecognised_min_seconds not negative")

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | TranscribeOptions | None") -> "TranscribeOptions":
        return options_from(cls, data, "recognition")


@dataclass(frozen=True)
class ASRResult:
    """Recognised segments with word timestamps, in seconds on the clock of the audio that was passed in.

    ``speech``: where the backend's speech detector heard speech, ``(start, end)`` seconds (empty when it has
    none or did not look)."""

    segments: tuple[Segment, ...]
    language: str | None
    language_probability: float | None = None
    model: str = ""
    model_sha256: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    speech: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "segments": [s.to_dict() for s in self.segments],
            "language": self.language,
            "language_probability": self.language_probability,
            "model": self.model,
            "model_sha256": self.model_sha256,
        }


class Transcriber(abc.ABC):
    """A recognition backend. ``load()`` is separate from ``transcribe()`` so a model serves many files."""

    name: str = "base"

    @abc.abstractmethod
    def load(self, profiler: StageProfiler = NULL_PROFILER) -> None:
        """Load the model (idempotent)."""

    @abc.abstractmethod
    def transcribe(
        self, audio: np.ndarray, sample_rate: int = 16000, *, profiler: StageProfiler = NULL_PROFILER,
        decode_gain: float = 1.0, language: str | None = None,
    ) -> ASRResult:
        """Recognise mono float32 audio at ``sample_rate``; the decoder hears it scaled by ``decode_gain`` (the
        speech detector does not). ``language``: the recording's language when it is already known (another part
        of it was recognised), taking the place of ``options.language``; None: the options' (or detected)."""

    def detect_language(self, audio: np.ndarray, sample_rate: int = 16000) -> str | None:
        """The language ``audio`` is spoken in, for decoding several parts of one recording alike: the options'
        language when one is set; None where the backend finds it as it decodes."""
        return self.options.language if hasattr(self, "options") else None

    @property
    def model_id(self) -> str:
        return self.name

    @property
    def model_sha256(self) -> str | None:
        return None
