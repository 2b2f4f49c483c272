"""TimeMap: the bridge from the shortened audio's clock back to the original recording's clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ..types import Segment, SpeakerTurn, Word


@dataclass(frozen=True)
class TimeMap:
    """Which stretches of the original recording were kept, in order, and so where each trimmed time came from.

    ``kept_spans`` are ``(start, end)`` seconds on the original clock; the trimmed audio is their concatenation.
    A word or segment is mapped as a whole by the kept span that holds its midpoint, so it keeps its length and is
    never stretched across a removed pause.
    """

    kept_spans: tuple[tuple[float, float], ...]
    original_duration: float
    _trimmed_starts: np.ndarray = field(init=False, repr=False, compare=False)
    _offsets: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spans = tuple((float(s), float(e)) for s, e in self.kept_spans)
        previous_end = 0.0
        for start, end in spans:
            if end < start or start < previous_end - 1e-9:
                raise ConfigurationError("kept spans must be ordered, non-overlapping (start, end) pairs")
            previous_end = end
        object.__setattr__(self, "kept_spans", spans)
        starts = np.array([s for s, _ in spans], dtype=np.float64)
        lengths = np.array([e - s for s, e in spans], dtype=np.float64)
        trimmed_starts = np.concatenate(([0.0], np.cumsum(lengths)[:-1])) if spans else np.zeros(0)
        object.__setattr__(self, "_trimmed_starts", trimmed_starts)
        object.__setattr__(self, "_offsets", starts - trimmed_starts)

    # ------------------------------------------------------------ construction

    @classmethod
    def identity(cls, duration: float) -> "TimeMap":
        """A map for audio that was not shortened."""
        return cls(((0.0, float(duration)),) if duration > 0 else (), float(duration))

    @classmethod
    def from_samples(cls, spans: Iterable[tuple[int, int]], sample_rate: int, num_samples: int) -> "TimeMap":
        return cls(tuple((s / sample_rate, e / sample_rate) for s, e in spans), num_samples / sample_rate)

    # ------------------------------------------------------------ queries

    @property
    def trimmed_duration(self) -> float:
        return float(sum(e - s for s, e in self.kept_spans))

    @property
    def removed_duration(self) -> float:
        return self.original_duration - self.trimmed_duration

    @property
    def is_identity(self) -> bool:
        """True when nothing was removed."""
        return self.kept_spans == ((0.0, self.original_duration),)

    def _span_index(self, trimmed: np.ndarray) -> np.ndarray:
        index = np.searchsorted(self._trimmed_starts, trimmed, side="right") - 1
        return np.clip(index, 0, len(self._trimmed_starts) - 1)

    def to_original(self, t: float | np.ndarray) -> float | np.ndarray:
        """Original-clock time of trimmed time(s) ``t``; a time on a cut belongs to the span that starts there."""
        values = np.asarray(t, dtype=np.float64)
        if not self.kept_spans:
            mapped = values.copy()
        else:
            mapped = values + self._offsets[self._span_index(values)]
        return float(mapped) if mapped.ndim == 0 else mapped

    def map_intervals(
        self, starts: Sequence[float] | np.ndarray, ends: Sequence[float] | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised :meth:`map_interval`: each (start, end) shifted by the offset of the span holding its midpoint."""
        start_arr = np.asarray(starts, dtype=np.float64)
        end_arr = np.asarray(ends, dtype=np.float64)
        if start_arr.shape != end_arr.shape:
            raise ConfigurationError("starts and ends must have the same length")
        if not self.kept_spans:
            return start_arr.copy(), end_arr.copy()
        offsets = self._offsets[self._span_index((start_arr + end_arr) / 2.0)]
        return start_arr + offsets, end_arr + offsets

    def map_interval(self, start: float, end: float) -> tuple[float, float]:
        """Original-clock ``(start, end)`` of an interval (a word, a segment, a speaker turn) on the trimmed clock."""
        mapped_start, mapped_end = self.map_intervals(np.array([start]), np.array([end]))
        return float(mapped_start[0]), float(mapped_end[0])

    def map_segments(self, segments: Sequence[Segment]) -> tuple[Segment, ...]:
        """Recognised segments and their words on the original clock (each word by its midpoint's span); a segment
        grows to cover its mapped words, so it never ends before the last of them."""
        timed = [w for s in segments for w in s.words if w.start is not None and w.end is not None]
        mapped: dict[int, tuple[float, float]] = {}
        if timed:
            starts, ends = self.map_intervals([w.start for w in timed], [w.end for w in timed])
            mapped = {id(w): (float(s), float(e)) for w, s, e in zip(timed, starts, ends)}
        restored = []
        for segment in segments:
            words = tuple(
                Word(*mapped[id(w)], w.word, w.probability, w.speaker) if id(w) in mapped else w for w in segment.words
            )
            start, end = self.map_interval(segment.start, segment.end)
            word_times = [(w.start, w.end) for w in words if w.start is not None]
            if word_times:
                start, end = min(start, word_times[0][0]), max(end, word_times[-1][1])
            restored.append(Segment(start, end, segment.text, words, segment.speaker))
        return tuple(restored)

    def map_turns(self, turns: Sequence[SpeakerTurn]) -> tuple[SpeakerTurn, ...]:
        """Speaker turns on the original clock; a turn that spans a removed pause is split there, since a speaker
        turn (unlike a word) may be long enough to cross one."""
        if not self.kept_spans:
            return tuple(turns)
        lengths = np.array([end - start for start, end in self.kept_spans], dtype=np.float64)
        restored: list[SpeakerTurn] = []
        for turn in turns:
            first = max(int(np.searchsorted(self._trimmed_starts, turn.start, side="right")) - 1, 0)
            for index in range(first, len(self.kept_spans)):
                chunk_start = self._trimmed_starts[index]
                if chunk_start >= turn.end:
                    break
                lo, hi = max(turn.start, chunk_start), min(turn.end, chunk_start + lengths[index])
                if hi - lo <= 1e-6:
                    continue
                offset = self._offsets[index]
                restored.append(SpeakerTurn(float(lo + offset), float(hi + offset), turn.speaker))
        return tuple(restored)

    # ------------------------------------------------------------ serialisation

    def to_dict(self) -> dict[str, Any]:
        return {
            "original_duration": self.original_duration,
            "trimmed_duration": self.trimmed_duration,
            "kept_spans": [[s, e] for s, e in self.kept_spans],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TimeMap":
        try:
            spans = tuple((float(s), float(e)) for s, e in data["kept_spans"])
            return cls(spans, float(data["original_duration"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"not a time map: {exc}") from exc
