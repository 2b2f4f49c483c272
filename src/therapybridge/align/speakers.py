"""Speaker attribution for the transcript: every word to one speaker, segments split where the speaker changes.

``assign_speakers`` places words with the array core (:mod:`therapybridge.align.core`), then smooths turn edges:
a word whose timing evidence is ambiguous (it straddles another speaker's turn edge, sits in overlapped speech,
in a gap, or has no duration) joins the speaker of the sentence it belongs to, as voted by that sentence's words
whose timing is clear. Diarization timestamps are coarse (tens of milliseconds) and recognisers stretch a word over
the pause before it, so the sentence is the better witness at an edge.

Except for a word in a turn of its own. When the diarizer gives speaker B a short turn *inside* A's speech (A talks
on both sides of it: a backchannel, "mm-hmm", "yeah", "right", overlapped or in a gap of A's turn), a sentence of
at most ``interjection_words`` words lying mostly inside B's turn keeps B, and segments split around it, so the
backchannel becomes its own segment. Precisely, a word that the core gave speaker ``k`` keeps ``k`` when its
sentence has at most ``interjection_words`` words, ``k``'s turns cover at least half of it, and some other speaker
talks more than ``k`` both in the ``interjection_window`` seconds before the word and in those after it. The last
words of A's longer sentence that run into B's turn are A's (the recogniser stretched them there), and so are
words in the middle of one. An interruption (B starts before A ends and goes on) is not inside A's speech, so the
words in the overlap still join their sentence's speaker.

And a short turn inside another speaker's speech that is left holding none of its speaker's words takes the
nearest sentence of at most ``interjection_words`` words, none of them clearly placed (each has no overlap with
anyone, or some with a rival), within ``interjection_reach`` seconds of it: the recogniser often places an
overlapped "Yes." up to a second from where it was said, or at no duration at all.

Both rules were chosen on the development half of the realistic corpus (the base model's words and our diarizer's
turns of its seven multi-speaker sessions recognised from the mix, the transcripts ``bench_corpus`` keeps, their
words aligned again). Keeping any words lying in such a turn, as before, gave 15 of 34
recognised backchannel words the right speaker and a mean WDER of 0.0194; keeping only sentences of at most two
words 15 and 0.0114 (the words kept in longer sentences were A's far more often than B's); claiming as well, 20 and
0.0110. Sentences of at most 1, 2 or 3 words: 18, 20, 20 (WDER 0.0113, 0.0110, 0.0110); reach 1.0, 1.5 or 2.0 s:
19, 20, 20. Claiming only sentences none of whose words is clearly placed keeps a turn from taking a short answer
of A's whose timing is sure (WDER 0.0119 when any short sentence could be claimed, with the same 20).

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
    ``interjection_window``: seconds either side of a word (or a turn) in which another speaker must talk more than
    its own for it to count as a turn of its own inside that speaker's speech; 0 turns both interjection rules off.
    ``interjection_words``: a sentence of at most this many words can be such a turn of its own (kept by smoothing,
    or claimed by a short turn left without words).
    ``interjection_reach``: seconds from a short turn left without words within which it claims such a sentence.
    ``split_segments``: split recognised segments where the speaker changes.
    """

    context: float = 0.25
    short_turn: float = 2.0
    smoothing: bool = True
    rival_share: float = 0.0
    smoothing_reach: float = 0.5
    sentence_pause: float = 1.5
    interjection_window: float = 1.0
    interjection_words: int = 2
    interjection_reach: float = 1.5
    split_segments: bool = True

    def __post_init__(self) -> None:
        for name in ("context", "smoothing_reach", "sentence_pause", "interjection_window", "short_turn",
                     "interjection_words", "interjection_reach"):
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
        sentence = _sentence_ids(words, starts, ends, opts.sentence_pause)
        first_word, sizes = _sentence_runs(sentence)
        ambiguous = _ambiguous(scores, opts)
        chosen = _smooth(sentence, sizes, ambiguous, scores, table, opts)
        chosen = _claim_interjections(sentence, first_word, sizes, ambiguous, scores, chosen, table, opts)
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


def _sentence_runs(sentence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first word and the number of words of each sentence (sentence numbers never decrease along the words)."""
    sizes = np.bincount(sentence)
    return np.searchsorted(sentence, np.arange(sizes.size), side="left"), sizes


def _ambiguous(scores: SpeakerScores, opts: AlignOptions) -> np.ndarray:
    """Words whose timing is no clear evidence for a speaker: no overlap with anyone, or some with a rival."""
    return (scores.overlap <= 0.0) | (scores.rival_overlap > opts.rival_share * (scores.ends - scores.starts))


def _smooth(sentence: np.ndarray, sizes: np.ndarray, ambiguous: np.ndarray, scores: SpeakerScores,
            table: CoverageTable, opts: AlignOptions) -> np.ndarray:
    chosen = scores.speaker
    if not ambiguous.any():
        return chosen
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
    short = sizes[sentence[candidates]] <= opts.interjection_words
    movable &= ~(short & _in_own_turn(scores, table, candidates, opts.interjection_window))
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
    duration = b - a
    mostly_inside = (duration > TIE_TOLERANCE) & (scores.overlap[words] >= 0.5 * duration)
    return mostly_inside & _inside_others(table, a, b, scores.speaker[words], window)


def _inside_others(table: CoverageTable, a: np.ndarray, b: np.ndarray, own: np.ndarray, window: float) -> np.ndarray:
    """Whether some speaker other than ``own`` talks more than ``own`` both in the ``window`` s before each ``a``
    and in those after each ``b``."""
    rows = np.arange(a.size)
    before = overlaps(table, a - window, a)
    after = overlaps(table, b, b + window)
    around = (before > before[rows, own][:, None] + TIE_TOLERANCE) & (after > after[rows, own][:, None] + TIE_TOLERANCE)
    return around.any(1)


def _claim_interjections(
    sentence: np.ndarray, first_word: np.ndarray, sizes: np.ndarray, ambiguous: np.ndarray, scores: SpeakerScores,
    chosen: np.ndarray, table: CoverageTable, opts: AlignOptions,
) -> np.ndarray:
    """Each short turn inside another speaker's speech that holds none of its speaker's words takes the nearest
    sentence of at most ``interjection_words`` words, none of them clearly placed, within ``interjection_reach`` s
    (see the module docstring). Turns go in time order and a sentence is claimed once.
    O(T log W) plus the words and sentences near each turn."""
    if opts.interjection_window <= 0 or opts.interjection_words <= 0 or opts.short_turn <= 0:
        return chosen
    t_start, t_end, t_speaker = table.starts, table.ends, table.speaker_idx
    short = np.flatnonzero((t_end - t_start <= opts.short_turn) & (t_end > t_start))
    short = short[_inside_others(table, t_start[short], t_end[short], t_speaker[short], opts.interjection_window)]
    if not short.size:
        return chosen
    small, small_lo, small_hi = _claimable_sentences(sentence, first_word, sizes, ambiguous, scores, opts)
    a, b = scores.starts, scores.ends
    word_order = np.argsort(a, kind="stable")
    word_starts = a[word_order]
    longest_word = float((b - a).max())
    reach = opts.interjection_reach
    out = chosen.copy()
    claimed = np.zeros(sizes.size, dtype=bool)
    for turn in short[np.argsort(t_start[short], kind="stable")]:
        lo, hi, k = t_start[turn], t_end[turn], t_speaker[turn]
        near = word_order[np.searchsorted(word_starts, lo - longest_word): np.searchsorted(word_starts, hi, "right")]
        if ((out[near] == k) & (b[near] >= lo)).any():
            continue  # the turn has words of its own
        best, best_distance = -1, np.inf
        first = np.searchsorted(small_lo, lo - reach - opts.short_turn)  # claimable sentences last <= short_turn
        for j in range(first, np.searchsorted(small_lo, hi + reach, "right")):
            s = small[j]
            distance = max(0.0, lo - small_hi[j], small_lo[j] - hi)
            if (distance <= reach and distance < best_distance and not claimed[s]
                    and not (out[first_word[s] : first_word[s] + sizes[s]] == k).all()):
                best, best_distance = s, distance
        if best >= 0:
            claimed[best] = True
            out[first_word[best] : first_word[best] + sizes[best]] = k
    return out


def _claimable_sentences(
    sentence: np.ndarray, first_word: np.ndarray, sizes: np.ndarray, ambiguous: np.ndarray, scores: SpeakerScores,
    opts: AlignOptions,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sentences a short turn may claim, sorted by start, with their starts and ends: at most
    ``interjection_words`` words, all of them ``ambiguous`` (no clear timing evidence for a speaker), lasting no
    longer than a short turn (a backchannel; this also bounds the search around each turn)."""
    a, b = scores.starts, scores.ends
    unclear = np.bincount(sentence, weights=~ambiguous, minlength=sizes.size) == 0
    lo, hi = np.minimum.reduceat(a, first_word), np.maximum.reduceat(b, first_word)
    small = np.flatnonzero((sizes <= opts.interjection_words) & unclear & (hi - lo <= opts.short_turn))
    small = small[np.argsort(lo[small], kind="stable")]
    return small, lo[small], hi[small]


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
