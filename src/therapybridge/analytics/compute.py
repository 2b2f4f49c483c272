"""Session analytics from a transcript and the diarizer's speaker turns (no model).

Definitions (the constants are the fields of :class:`AnalyticsOptions`, defaults in brackets):

- **Speech**: a speaker's speech is the union of their diarizer turns (``transcript.turns``); a transcript without
  turns (no diarization, schema 1.0) uses its speaker segments instead.
- **Run**: a speaker's speech joined across their pauses shorter than ``turn_pause`` [2 s], whatever anyone
  else does meanwhile.
- **Backchannel**: a run of at most ``backchannel_max_duration`` [1 s] with at most ``backchannel_max_words`` [2]
  words that lies inside a run of another speaker (starts and ends within it).
- **Turn**: a speaker's consecutive speech, backchannels left out: their other speech joined across pauses shorter
  than ``turn_pause`` in which no other speaker's speech (backchannels aside) happens.
- **Monologue**: consecutive turns of one speaker, in order of their starts, with no turn of another between them.
- **Response latency**: for a turn whose predecessor (of the turns that started before it, the one that ends last)
  is another speaker's, and which ends after that predecessor: its start minus the predecessor's end (negative
  when it starts in overlap). Turns that start and end inside another's turn are no response.
- **Interruption**: a turn that starts at least ``interruption_min_overlap`` [0.2 s] before the end of another
  speaker's turn in progress (started earlier); a backchannel never is one.
- **Overlapped speech**: time in which two or more speakers' speech (backchannels included) runs at once.
- **Silence**: time in ``[0, duration]`` with nobody's speech; long silences last ``long_silence`` [5 s] or more;
  the silence map is the silent share of each ``silence_map_bin`` [10 s] of the session.
- **Words**: each word counts for its speaker (the word's, else its segment's) and belongs to the backchannel or
  turn of that speaker that holds its midpoint (the nearest one otherwise); a word without times takes its segment's.
- **Utterance**: a speaker's words up to one that ends a sentence (``.``, ``?``, ``!``, ``…``) or to the end of
  their segment; a **question** is an utterance whose text ends in ``?``. Utterances all of whose words are in
  backchannels are not counted.
- **Talk time**: the length of a speaker's speech; **talk share**: talk time over the sum of every speaker's;
  **words per minute**: words over talk time. Turn lengths run from a turn's start to its end, pauses included.
- **Roles**: the speakers of one role pooled (sums; medians, maxima and shares over their turns and utterances).
"""

from __future__ import annotations

import bisect
import logging
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..align import split_segments
from ..types import SpeakerInfo, SpeakerTurn, Transcript
from .model import AnalyticsOptions, Interaction, Latency, PartyStats, SessionAnalytics, Silence, Span

logger = logging.getLogger(__name__)

SENTENCE_END = (".", "?", "!", "…")
EPS = 1e-9  # seconds: comparisons with the thresholds forgive floating-point noise
Interval = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Token:
    """One word as the analytics see it: its speaker, the time it counts at, and whether it ends an utterance."""

    speaker: str | None
    time: float
    ends_utterance: bool
    question: bool


def compute_analytics(transcript: Transcript, options: AnalyticsOptions | None = None) -> SessionAnalytics:
    """The session's analytics from its segments (words, speakers) and the diarizer's turns."""
    options = options or AnalyticsOptions()
    segments = split_segments(transcript.segments)
    if transcript.turns:
        speech: Sequence[SpeakerTurn] = transcript.turns
        source = "turns"
    else:
        speech = [SpeakerTurn(s.start, s.end, s.speaker) for s in segments if s.end > s.start]  # type: ignore[arg-type]
        source = "segments"
    return analyse(speech, tokens_of(transcript), transcript.audio.duration, transcript.speakers, options,
                   source=source)


def tokens_of(transcript: Transcript) -> list[Token]:
    """Every word of the transcript as a :class:`Token`, utterance ends marked (see the module docstring)."""
    tokens: list[Token] = []
    for segment in split_segments(transcript.segments):
        items = [(w.word, w.speaker or segment.speaker, w.start, w.end) for w in segment.words]
        if not items and segment.text.strip():  # a hand-made segment without words: its words spread over it
            parts = segment.text.split()
            step = (segment.end - segment.start) / len(parts)
            items = [(p, segment.speaker, segment.start + k * step, segment.start + (k + 1) * step)
                     for k, p in enumerate(parts)]
        items = [item for item in items if item[0].strip()]
        for k, (text, speaker, start, end) in enumerate(items):
            if start is None or end is None:
                time = (segment.start + segment.end) / 2
            else:
                time = (start + end) / 2
            core = text.strip()
            last = k == len(items) - 1 or items[k + 1][1] != speaker
            ends = last or core.endswith(SENTENCE_END)
            tokens.append(Token(speaker, time, ends, ends and core.endswith("?")))
    return tokens


def analyse(
    speech: Iterable[SpeakerTurn],
    tokens: Sequence[Token],
    duration: float,
    speakers: Sequence[SpeakerInfo] = (),
    options: AnalyticsOptions | None = None,
    *,
    source: str = "turns",
) -> SessionAnalytics:
    """The analytics of speech turns (overlaps allowed) and words over a session of ``duration`` seconds."""
    options = options or AnalyticsOptions()
    by_speaker: dict[str | None, list[Interval]] = {}
    for turn in speech:
        if turn.end > turn.start:
            by_speaker.setdefault(turn.speaker, []).append((turn.start, turn.end))
    merged = {spk: union(spans) for spk, spans in by_speaker.items()}
    order = _speaker_order(speakers, merged, tokens)
    for spk in order:
        merged.setdefault(spk, [])
    tokens_by = {spk: [t for t in tokens if t.speaker == spk] for spk in order}

    # Runs and backchannels.
    runs = {spk: _join(merged[spk], options.turn_pause) for spk in order}
    run_words = {spk: _count_by_piece(runs[spk], tokens_by[spk]) for spk in order}
    backchannel_runs: dict[str | None, set[int]] = {}
    for spk in order:
        others = sorted(r for o in order if o != spk for r in runs[o])
        backchannel_runs[spk] = {
            k for k, run in enumerate(runs[spk])
            if run[1] - run[0] <= options.backchannel_max_duration + EPS
            and run_words[spk][k] <= options.backchannel_max_words
            and _inside(run, others)
        }
    backchannels = sorted(
        (Span(runs[spk][k][0], runs[spk][k][1], spk) for spk in order for k in backchannel_runs[spk]),
        key=lambda s: (s.start, s.end),
    )

    # Turns: speech outside backchannels, split at long pauses and where someone else speaks in a pause.
    floor = {spk: [iv for iv in merged[spk] if not _inside(iv, [runs[spk][k] for k in backchannel_runs[spk]])]
             for spk in order}
    turns_of: dict[str | None, list[Interval]] = {}
    for spk in order:
        others = union([iv for o in order if o != spk for iv in floor[o]])
        turns_of[spk] = _join(floor[spk], options.turn_pause, blockers=others)
    turns = sorted((Span(a, b, spk) for spk in order for a, b in turns_of[spk]),
                   key=lambda s: (s.start, s.end, str(s.speaker)))

    latencies, interruptions = _responses(turns, options.interruption_min_overlap)
    monologues = _monologues(turns)

    # Words and utterances by piece (backchannel or turn).
    words = {spk: len(tokens_by[spk]) for spk in order}
    utterances = {spk: 0 for spk in order}
    questions = {spk: 0 for spk in order}
    for spk in order:
        bc_pieces = [runs[spk][k] for k in sorted(backchannel_runs[spk])]
        pieces = sorted([(iv, True) for iv in bc_pieces] + [(iv, False) for iv in turns_of[spk]])
        in_backchannel = [pieces[i][1] for i in _piece_index([p for p, _ in pieces], tokens_by[spk])]
        all_backchannel = True
        for token, bc in zip(tokens_by[spk], in_backchannel or [False] * len(tokens_by[spk])):
            all_backchannel = all_backchannel and bc
            if token.ends_utterance:
                if not all_backchannel:
                    utterances[spk] += 1
                    questions[spk] += token.question
                all_backchannel = True

    talk = {spk: _length(merged[spk]) for spk in order}
    total_talk = sum(talk.values())
    info = {s.id: s for s in speakers}
    party = [
        _party(spk, (info[spk].label if spk in info else spk or "Unknown speaker"),
               info[spk].role if spk in info else None, [spk], talk, total_talk, turns, words, utterances, questions,
               monologues, backchannels, interruptions)
        for spk in order
    ]
    roles = []
    for role in dict.fromkeys(p.role for p in party if p.role):
        members = [p.id for p in party if p.role == role]
        roles.append(_party(role, role.capitalize(), role, members, talk, total_talk, turns, words, utterances,
                            questions, monologues, backchannels, interruptions))

    everyone = union([iv for spk in order for iv in merged[spk]])
    overlap = _overlap_time([merged[spk] for spk in order])
    minutes = duration / 60 if duration > 0 else None
    interaction = Interaction(
        latency=_latency(latencies, options),
        interruptions=len(interruptions),
        overlap_time=overlap,
        overlap_share=overlap / duration if duration > 0 else None,
        backchannels=len(backchannels),
        backchannels_per_minute=len(backchannels) / minutes if minutes else None,
    )
    result = SessionAnalytics(
        duration=duration, speakers=tuple(party), roles=tuple(roles), interaction=interaction,
        silence=_silence(everyone, duration, options), turns=tuple(turns), backchannels=tuple(backchannels),
        interruptions=tuple(turn for turn, _ in interruptions), source=source, options=options,
    )
    logger.debug("analytics: %d speakers, %d turns, %d backchannels, %d interruptions",
                 len(party), len(turns), len(backchannels), len(interruptions))
    return result


# ---------------------------------------------------------------------- pieces of the definitions
def _speaker_order(speakers: Sequence[SpeakerInfo], merged: Mapping[str | None, list[Interval]],
                   tokens: Sequence[Token]) -> list[str | None]:
    order: list[str | None] = [s.id for s in speakers]
    firsts = {spk: spans[0][0] for spk, spans in merged.items() if spans}
    for token in tokens:
        firsts.setdefault(token.speaker, token.time)
    order += [spk for spk in sorted(firsts, key=lambda s: firsts[s]) if spk not in order]
    return order


def union(spans: Iterable[Interval]) -> list[Interval]:
    """Sorted disjoint intervals covering ``spans`` (touching ones joined)."""
    out: list[list[float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _join(spans: Sequence[Interval], pause: float, blockers: Sequence[Interval] = ()) -> list[Interval]:
    """Sorted disjoint ``spans`` joined across gaps shorter than ``pause`` that no ``blockers`` interval touches."""
    starts = [a for a, _ in blockers]
    out: list[list[float]] = []
    for a, b in spans:
        if out and a - out[-1][1] < pause - EPS and not _overlaps_open(out[-1][1], a, blockers, starts):
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _overlaps_open(lo: float, hi: float, spans: Sequence[Interval], starts: Sequence[float]) -> bool:
    """Whether any of the sorted disjoint ``spans`` overlaps the open interval (lo, hi)."""
    k = bisect.bisect_left(starts, hi)  # spans[:k] start before hi
    return k > 0 and spans[k - 1][1] > lo


def _inside(span: Interval, others: Sequence[Interval]) -> bool:
    return any(a <= span[0] and span[1] <= b for a, b in others)


def _piece_index(pieces: Sequence[Interval], tokens: Sequence[Token]) -> list[int]:
    """For every token, the index of the sorted disjoint piece holding its time, else of the nearest one."""
    if not pieces:
        return []
    starts = [a for a, _ in pieces]
    found = []
    for token in tokens:
        k = bisect.bisect_right(starts, token.time) - 1
        if k >= 0 and token.time <= pieces[k][1]:
            found.append(k)
            continue
        before = k if k >= 0 else None
        after = k + 1 if k + 1 < len(pieces) else None
        if before is None or (after is not None and pieces[after][0] - token.time < token.time - pieces[before][1]):
            found.append(after)  # type: ignore[arg-type]
        else:
            found.append(before)
    return found


def _count_by_piece(pieces: Sequence[Interval], tokens: Sequence[Token]) -> list[int]:
    counts = [0] * len(pieces)
    for k in _piece_index(pieces, tokens):
        counts[k] += 1
    return counts


def _responses(turns: Sequence[Span], min_overlap: float) -> tuple[list[float], list[tuple[Span, str | None]]]:
    """Response latencies, and interruptions (the interrupting turn, whom it interrupted) of turns sorted by start."""
    latencies: list[float] = []
    interruptions: list[tuple[Span, str | None]] = []
    latest: Span | None = None  # of the turns so far, the one that ends last
    latest_of: dict[str | None, Span] = {}  # the same, per speaker
    for turn in turns:
        if latest is not None and latest.speaker != turn.speaker and latest.start < turn.start \
                and turn.end > latest.end:
            latencies.append(turn.start - latest.end)
        running = [u for spk, u in latest_of.items() if spk != turn.speaker and u.start < turn.start]
        interrupted = max(running, key=lambda u: u.end, default=None)
        if interrupted is not None and interrupted.end - turn.start >= min_overlap - EPS:
            interruptions.append((turn, interrupted.speaker))
        if latest is None or turn.end > latest.end:
            latest = turn
        if turn.speaker not in latest_of or turn.end > latest_of[turn.speaker].end:
            latest_of[turn.speaker] = turn
    return latencies, interruptions


def _monologues(turns: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    for turn in turns:
        if out and out[-1].speaker == turn.speaker:
            out[-1] = Span(out[-1].start, max(out[-1].end, turn.end), turn.speaker)
        else:
            out.append(turn)
    return out


def _party(party_id, label, role, members, talk, total_talk, turns, words, utterances, questions, monologues,
           backchannels, interruptions) -> PartyStats:
    member_set = set(members)
    own = [t for t in turns if t.speaker in member_set]
    lengths = [t.duration for t in own]
    talk_time = sum(talk[m] for m in members)
    n_words = sum(words[m] for m in members)
    n_utterances = sum(utterances[m] for m in members)
    n_questions = sum(questions[m] for m in members)
    return PartyStats(
        id=party_id, label=label, role=role, talk_time=talk_time,
        talk_share=talk_time / total_talk if total_talk > 0 else None,
        turns=len(own), median_turn=statistics.median(lengths) if lengths else None,
        longest_turn=max(own, key=lambda t: t.duration) if own else None,
        words=n_words, words_per_minute=n_words / (talk_time / 60) if talk_time > 0 else None,
        utterances=n_utterances, questions=n_questions,
        question_share=n_questions / n_utterances if n_utterances else None,
        longest_monologue=max((m for m in monologues if m.speaker in member_set), key=lambda m: m.duration,
                              default=None),
        backchannels=sum(1 for b in backchannels if b.speaker in member_set),
        interruptions=sum(1 for turn, _ in interruptions if turn.speaker in member_set),
        interrupted=sum(1 for _, whom in interruptions if whom in member_set),
        speakers=tuple(members) if party_id not in member_set else (),
    )


def _length(spans: Iterable[Interval]) -> float:
    return sum(b - a for a, b in spans)


def _overlap_time(per_speaker: Sequence[Sequence[Interval]]) -> float:
    events = sorted([(a, 1) for spans in per_speaker for a, _ in spans] + [(b, -1) for spans in per_speaker
                                                                          for _, b in spans])
    total, active, last = 0.0, 0, 0.0
    for time, step in events:
        if active >= 2:
            total += time - last
        active += step
        last = time
    return total


def _latency(values: Sequence[float], options: AnalyticsOptions) -> Latency:
    n_bins = int(round((options.latency_max - options.latency_min) / options.latency_bin))
    edges = tuple(options.latency_min + k * options.latency_bin for k in range(n_bins + 1))
    counts = [0] * n_bins
    for value in values:
        k = int(np.floor((value - options.latency_min) / options.latency_bin))
        counts[min(max(k, 0), n_bins - 1)] += 1
    if not values:
        return Latency((), None, None, edges, tuple(counts))
    return Latency(tuple(values), float(np.median(values)), float(np.percentile(values, 90)), edges, tuple(counts))


def _silence(speech: Sequence[Interval], duration: float, options: AnalyticsOptions) -> Silence:
    gaps: list[Interval] = []
    cursor = 0.0
    for a, b in speech:
        if a > cursor:
            gaps.append((cursor, min(a, duration)))
        cursor = max(cursor, b)
    if cursor < duration:
        gaps.append((cursor, duration))
    gaps = [(a, b) for a, b in gaps if b > a]
    total = _length(gaps)
    n_bins = max(1, int(np.ceil(duration / options.silence_map_bin))) if duration > 0 else 0
    silent = [0.0] * n_bins
    for a, b in gaps:
        first, last = int(a // options.silence_map_bin), int(min(b / options.silence_map_bin, n_bins - 1e-9))
        for k in range(first, min(last, n_bins - 1) + 1):
            lo, hi = k * options.silence_map_bin, min((k + 1) * options.silence_map_bin, duration)
            silent[k] += max(0.0, min(b, hi) - max(a, lo))
    shares = tuple(
        s / (min((k + 1) * options.silence_map_bin, duration) - k * options.silence_map_bin) for k, s in enumerate(silent)
    )
    return Silence(
        total=total, share=total / duration if duration > 0 else None,
        long=tuple(Span(a, b) for a, b in gaps if b - a >= options.long_silence - EPS),
        bin_seconds=options.silence_map_bin, map=shares,
    )
