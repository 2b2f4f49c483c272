"""Speaker attribution for the transcript: every word to one speaker, segments split where the speaker changes.

``assign_speakers`` places words with the array core (:mod:`therapybridge.align.core`), then smooths turn edges:
a word whose timing evidence is ambiguous (it straddles another speaker's turn edge, sits in overlapped speech,
in a gap, or has no duration) joins the speaker of the sentence it belongs to, as voted by that sentence's words
whose timing is clear. Diarization timestamps are coarse (tens of milliseconds) and recognisers stretch a word over
the pause before it, so the sentence is the better witness at an edge.

Except for a word in a turn of its own. When the diarizer gives speaker B a turn *inside* A's speech (A talks
on both sides of it: a backchannel, "mm-hmm", "yeah", "right", overlapped or in a gap of A's turn), the words
lying mostly inside B's turn keep B, even one or two of them in the middle of A's sentence; segments then split
around them, so the backchannel becomes its own segment. Precisely, a word that the core gave speaker ``k``
keeps ``k`` when ``k``'s turns cover at least half of it and some other speaker talks more than ``k`` both in the
``interjection_window`` seconds before the word and in those after it. An interruption (B starts before A ends
and goes on) is not inside A's speech, so the words in the overlap still join their sentence's speaker.

Where two speakers' turns overlap at a word, the core gives it to the speaker whose turns cover it best (rule 1
of :mod:`therapybridge.align.core`); between turns that both cover it, to the one that stops around it rather
than the one that goes on (the shorter turn: a backchannel inside a long turn), then to the one that started
nearer the word (rules 3 and 4).
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ..perf.hooks import NULL_PROFILER, StageProfiler
from ..types import Segment, SpeakerTurn, Word
from .core import TIE_TOLERANCE, CoverageTable, SpeakerScores, build_coverage, overlaps, score_words, speaker_distances
from .._options import options_from

logger = logging.getLogger(__name__)

# Final punctuation, maybe closing quotes or brackets, maybe spaces, then the end of the word.
_SENTENCE_END = re.compile(r"[.?!…。？！]['\"”’)\]]*[ \t]*(?=\n)")


@dataclass(frozen=True)
class AlignOptions:
    """How words are given speakers.

    ``context``: seconds around a word that break a tie between speakers whose turns both cover it entirely.
    ``short_turn``: of two speakers whose turns both cover a word, one holding it in turns of at most this many
    seconds (a backchannel) takes it from one holding it in longer ones (rule 3 of :mod:`.core`); 0 turns it off.
    ``smoothing``: let ambiguous words at turn edges join the speaker of their sentence.
    ``rival_share``: a word counts as ambiguous when another speaker's turns cover more than this share of it.
    ``smoothing_reach``: a sentence's speaker is only given to a word whose nearest turn of that speaker lies
    within this many seconds (a vote never moves a word into a speaker's silence).
    ``sentence_pause``: a pause this long between two words also ends a sentence.
    ``interjection_window``: seconds either side of a word in which another speaker must talk more than the word's
    own for it to count as a turn of its own inside that speaker's speech (kept by smoothing); 0 turns that off.
    ``split_segments``: split recognised segments where the speaker changes.
    """

    context: float = 0.25
    short_turn: float = 2.0
    smoothing: bool = True
    rival_share: float = 0.0
    smoothing_reach: float = 0.5
    sentence_pause: float = 1.5
    interjection_window: float = 1.0
    split_segments: bool = True

    def __post_init__(self) -> None:
        for name in ("context", "smoothing_reach", "sentence_pause", "interjection_window", "short_turn"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"align option {name} must not be negative, got {getattr(self, name)}")
        if not 0.0 <= self.rival_share < 1.0:
            raise ConfigurationError(f"align option rival_share must be in [0, 1), got {self.rival_share}")

    @classmethod
    def from_dict(cls, data: "Mapping[str, Any] | AlignOptions | None") -> "AlignOptions":
        return options_from(cls, data, "align", list_known=True)


@dataclass(frozen=True)
class _Turns:
    starts: np.ndarray
    ends: np.ndarray
    speaker_idx: np.ndarray
    labels: tuple[str, ...]

    @classmethod
    def of(cls, turns: Iterable[SpeakerTurn]) -> "_Turns":
        turns = list(turns)
        labels: dict[str, int] = {}
        idx = np.fromiter((labels.setdefault(t.speaker, len(labels)) for t in turns), dtype=np.int64, count=len(turns))
        starts = np.fromiter((t.start for t in turns), dtype=np.float64, count=len(turns))
        ends = np.fromiter((t.end for t in turns), dtype=np.float64, count=len(turns))
        if not (np.isfinite(starts).all() and np.isfinite(ends).all()):
            raise ConfigurationError("speaker turns must have finite start and end times")
        return cls(starts, ends, idx, tuple(labels))


def _times(words: Sequence[Word]) -> tuple[np.ndarray, np.ndarray]:
    nan = float("nan")
    starts = np.fromiter((nan if w.start is None else w.start for w in words), dtype=np.float64, count=len(words))
    ends = np.fromiter((nan if w.end is None else w.end for w in words), dtype=np.float64, count=len(words))
    return starts, ends


def speaker_indices(
    words: Sequence[Word],
    turns: Iterable[SpeakerTurn],
    options: "AlignOptions | Mapping[str, Any] | None" = None,
    *,
    device: Any = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Speaker index per word (-1 without turns) and the speaker labels they index, smoothing included."""
    opts = AlignOptions.from_dict(options)
    words = list(words)
    table_turns = _Turns.of(turns)
    if not words or not table_turns.labels:
        return np.full(len(words), -1, dtype=np.int64), table_turns.labels
    starts, ends = _times(words)
    table = build_coverage(table_turns.starts, table_turns.ends, table_turns.speaker_idx, len(table_turns.labels))
    scores = score_words(starts, ends, table, context=opts.context, short_turn=opts.short_turn, device=device)
    chosen = scores.speaker
    if opts.smoothing and table.n_speakers > 1:
        chosen = _smooth(words, starts, ends, scores, table, opts)
    return chosen, table_turns.labels


def _sentence_ids(words: Sequence[Word], starts: np.ndarray, ends: np.ndarray, pause: float) -> np.ndarray:
    """Sentence number of each word: a sentence ends at final punctuation or before a long pause."""
    texts = [w.word.replace("\n", " ") for w in words]
    # One regex pass over the joined text instead of one call per word (this runs on every word).
    separators = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1) - 1
    joined = "\n".join(texts) + "\n"
    closing = np.searchsorted(separators, [m.end() for m in _SENTENCE_END.finditer(joined)])
    ends_sentence = np.zeros(len(words), dtype=bool)
    ends_sentence[closing] = True
    gap = np.nan_to_num(starts[1:] - ends[:-1], nan=-np.inf)  # an untimed word never makes a pause
    long_pause = gap >= pause if pause > 0 else np.zeros(len(words) - 1, bool)
    breaks = ends_sentence[:-1] | long_pause
    return np.concatenate([[0], np.cumsum(breaks)])


def _smooth(
    words: Sequence[Word],
    starts: np.ndarray,
    ends: np.ndarray,
    scores: SpeakerScores,
    table: CoverageTable,
    opts: AlignOptions,
) -> np.ndarray:
    chosen = scores.speaker
    duration = scores.ends - scores.starts
    ambiguous = (scores.overlap <= 0.0) | (scores.rival_overlap > opts.rival_share * duration)
    if not ambiguous.any():
        return chosen
    sentence = _sentence_ids(words, starts, ends, opts.sentence_pause)
    votes = np.zeros((int(sentence[-1]) + 1, table.n_speakers))
    clear = ~ambiguous
    np.add.at(votes, (sentence[clear], chosen[clear]), 1.0)
    ranked = np.sort(votes, axis=1)
    decisive = ranked[:, -1] > ranked[:, -2]
    sentence_speaker = np.where(decisive, votes.argmax(1), -1)[sentence]
    candidates = np.flatnonzero(ambiguous & (sentence_speaker >= 0) & (sentence_speaker != chosen))
    if not candidates.size:
        return chosen
    target = sentence_speaker[candidates]
    distance = speaker_distances(table, scores.starts[candidates], scores.ends[candidates])
    movable = distance[np.arange(candidates.size), target] <= opts.smoothing_reach
    movable &= ~_in_own_turn(scores, table, candidates, opts.interjection_window)
    moved = candidates[movable]
    logger.debug("smoothing moved %d of %d ambiguous words to their sentence's speaker", moved.size, ambiguous.sum())
    smoothed = chosen.copy()
    smoothed[moved] = target[movable]
    return smoothed


def _in_own_turn(scores: SpeakerScores, table: CoverageTable, words: np.ndarray, window: float) -> np.ndarray:
    """Which of ``words`` lie in a turn of their speaker's own inside another speaker's speech (see the module
    docstring): the chosen speaker covers at least half of the word, and one other speaker talks more than the
    chosen one both in the ``window`` seconds before the word and in those after it. O(len(words) · (log T + S))."""
    if window <= 0 or not words.size:
        return np.zeros(words.size, dtype=bool)
    a, b = scores.starts[words], scores.ends[words]
    own = scores.speaker[words]
    duration = b - a
    mostly_inside = (duration > TIE_TOLERANCE) & (scores.overlap[words] >= 0.5 * duration)
    rows = np.arange(words.size)
    before = overlaps(table, a - window, a)
    after = overlaps(table, b, b + window)
    around = (before > before[rows, own][:, None] + TIE_TOLERANCE) & (after > after[rows, own][:, None] + TIE_TOLERANCE)
    return mostly_inside & around.any(1)


def assign_speakers(
    words: Iterable[Word],
    turns: Iterable[SpeakerTurn],
    options: "AlignOptions | Mapping[str, Any] | None" = None,
    *,
    device: Any = None,
) -> tuple[Word, ...]:
    """New words, each with exactly one speaker taken from ``turns`` (or ``None`` for all when there are no turns).

    Words keep their order; ``start``/``end`` may be None. ``device``: a CUDA device lets very large inputs run
    on the GPU; anything else runs the numpy core.
    """
    words = list(words)
    idx, labels = speaker_indices(words, turns, options, device=device)
    return _with_speakers(words, idx, labels)


def _with_speakers(words: Sequence[Word], idx: np.ndarray, labels: Sequence[str]) -> tuple[Word, ...]:
    names = [*labels, None]  # index -1 selects None
    speakers = [names[i] for i in idx.tolist()]
    with _collector_paused():
        return tuple(map(_copy_with_speaker, words, speakers))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects that cannot form cycles.

    Tens of thousands of new tracked objects trigger repeated collections that rescan everything the caller
    holds; on a 50,000-word session that was about a third of ``assign_speakers``. The previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _slot_copier() -> Any:
    """A copier of ``Word`` that fills its slots directly, about twice as fast as the frozen dataclass __init__.

    Building the output words dominates ``assign_speakers`` for long sessions. The copy is only used while
    ``Word`` is a plain slotted dataclass whose slots are exactly its fields (no __post_init__ to skip).
    """
    fields = tuple(f.name for f in dataclasses.fields(Word))
    expected = ("start", "end", "word", "probability", "speaker")
    if fields != expected or getattr(Word, "__slots__", None) != fields or hasattr(Word, "__post_init__"):
        return lambda w, speaker: dataclasses.replace(w, speaker=speaker)
    new = Word.__new__
    set_start, set_end, set_word, set_probability, set_speaker = (getattr(Word, f).__set__ for f in fields)

    def copy(w: Word, speaker: str | None) -> Word:
        out = new(Word)
        set_start(out, w.start)
        set_end(out, w.end)
        set_word(out, w.word)
        set_probability(out, w.probability)
        set_speaker(out, speaker)
        return out

    return copy


_copy_with_speaker = _slot_copier()


def split_segments(
    segments: Iterable[Segment], options: "AlignOptions | Mapping[str, Any] | None" = None
) -> tuple[Segment, ...]:
    """Split segments at every change of word speaker into speaker-homogeneous segments, in time order.

    Each piece gets its own start/end (from its timed words, bounded by the original segment) and text rebuilt from
    its words, so whisper's leading-space word convention is kept (``" Hello. How are you?"``). A segment without
    words, or whose words share one speaker, is kept whole and takes that speaker.
    """
    AlignOptions.from_dict(options)
    pieces: list[Segment] = []
    for segment in segments:
        pieces.extend(_split_one(segment))
    return tuple(sorted(pieces, key=lambda s: s.start))


def _split_one(segment: Segment) -> list[Segment]:
    words = segment.words
    if not words:
        return [segment]
    runs: list[list[Word]] = [[words[0]]]
    for word in words[1:]:
        if word.speaker == runs[-1][-1].speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) == 1:
        return [dataclasses.replace(segment, speaker=words[0].speaker)]
    pieces = []
    previous_end = segment.start
    for n, run in enumerate(runs):
        timed_starts = [w.start for w in run if w.start is not None]
        timed_ends = [w.end for w in run if w.end is not None]
        start = timed_starts[0] if timed_starts else previous_end
        if n == 0:
            start = min(start, segment.start)
        end = timed_ends[-1] if timed_ends else start
        if n == len(runs) - 1:
            end = max(end, segment.end)
        end = max(end, start)
        pieces.append(Segment(start, end, "".join(w.word for w in run), tuple(run), run[0].speaker))
        previous_end = end
    return pieces


def align_transcript(
    segments: Iterable[Segment],
    turns: Iterable[SpeakerTurn],
    options: "AlignOptions | Mapping[str, Any] | None" = None,
    profiler: StageProfiler = NULL_PROFILER,
    *,
    device: Any = None,
) -> tuple[Segment, ...]:
    """Give every word of the transcript a speaker and split segments where the speaker changes.

    Without turns (diarization off) every speaker stays None. Segments without words are placed by their own times.
    """
    opts = AlignOptions.from_dict(options)
    segments = sorted(segments, key=lambda s: s.start)
    turns = list(turns)
    # Wordless segments take part as one pseudo-word each so they are placed like any word.
    units = [w for s in segments for w in (s.words or (Word(s.start, s.end, s.text),))]
    n_speakers = len({t.speaker for t in turns})
    with profiler.subprocess("assign_speakers", words=len(units), turns=len(turns), speakers=n_speakers):
        idx, labels = speaker_indices(units, turns, opts, device=device)
        assigned = _with_speakers(units, idx, labels)
    rebuilt: list[Segment] = []
    pos = 0
    for segment in segments:
        if segment.words:
            words = assigned[pos : pos + len(segment.words)]
            rebuilt.append(dataclasses.replace(segment, words=words, speaker=_majority(words)))
            pos += len(segment.words)
        else:
            rebuilt.append(dataclasses.replace(segment, speaker=assigned[pos].speaker))
            pos += 1
    if not opts.split_segments:
        return tuple(rebuilt)
    with profiler.subprocess("split_segments", segments=len(rebuilt)):
        return split_segments(rebuilt, opts)


def _majority(words: Sequence[Word]) -> str | None:
    counts: dict[str | None, int] = {}
    for w in words:
        counts[w.speaker] = counts.get(w.speaker, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None
