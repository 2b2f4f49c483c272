"""Scoring one of our transcripts (JSON, or an RTTM of its turns) against reference RTTM and STM files."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TranscriptFormatError
from ..types import SpeakerTurn, Word
from .diarization import DiarizationScore, Region, score_diarization
from .formats import read_rttm, read_stm, read_uem
from .words import (AttributionScore, CpWordErrorScore, WordErrorScore, token_error_rate, cp_word_error_rate,
                    hypothesis_words, reference_words, score_attribution, texts_by_speaker)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TranscriptScore:
    """Diarization figures always; word figures only with an STM reference and a hypothesis that has words."""

    diarization: DiarizationScore
    words: WordErrorScore | None = None
    cpwer: CpWordErrorScore | None = None
    attribution: AttributionScore | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: None if value is None else value.to_dict()
                for name, value in (("diarization", self.diarization), ("words", self.words),
                                    ("cpwer", self.cpwer), ("attribution", self.attribution))}


def load_hypothesis(path: str | Path) -> tuple[list[SpeakerTurn], list[Word]]:
    """Speaker turns and words of a ``therapybridge transcribe`` JSON, or the turns of an RTTM (no words).

    A JSON transcript's own ``turns`` are used when present (schema 1.1); older ones get turns rebuilt from
    their speaker-homogeneous segments.
    """
    if Path(path).suffix.lower() == ".rttm":
        return read_rttm(path), []
    from ..writers import read_json
    from ..writers.base import speaker_segments

    transcript = read_json(path)
    turns = list(transcript.turns) or [SpeakerTurn(s.start, s.end, s.speaker)
                                       for s in speaker_segments(transcript) if s.speaker is not None]
    return turns, list(transcript.words)


def _speaker_names(rttm_turns: Sequence[SpeakerTurn], utterances: Sequence[Any]) -> dict[str, str]:
    """RTTM label -> STM speaker, by most shared time, for references whose two files name speakers differently."""
    stm_speakers = {u.speaker for u in utterances}
    if {t.speaker for t in rttm_turns} <= stm_speakers:
        return {}
    from pyannote.metrics.matcher import HungarianMapper

    from .diarization import _annotation

    return {str(a): str(b) for a, b in HungarianMapper()(_annotation(rttm_turns), _annotation(utterances)).items()}


def score_turns_and_words(reference_turns: Sequence[SpeakerTurn], hypothesis_turns: Sequence[SpeakerTurn],
                          hypothesis: Sequence[Word] = (), utterances: Sequence[Any] = (), *,
                          uem: Sequence[Region] | None = None, collar: float = 0.0) -> TranscriptScore:
    """Every figure from in-memory turns, words and STM utterances (see :func:`score_transcript`)."""
    diarization = score_diarization(reference_turns, hypothesis_turns, uem=uem, collar=collar)
    if not utterances or not hypothesis:
        return TranscriptScore(diarization)
    names = _speaker_names(reference_turns, utterances)
    mapping = {h: names.get(r, r) for h, r in diarization.mapping.items()}
    ref, hyp = reference_words(utterances), hypothesis_words(hypothesis)
    return TranscriptScore(
        diarization,
        words=token_error_rate([w.word for w in ref], [w.word for w in hyp]),
        cpwer=cp_word_error_rate(texts_by_speaker(ref), texts_by_speaker(hyp)),
        attribution=score_attribution(ref, hyp, mapping),
    )


def score_transcript(hypothesis: str | Path, rttm: str | Path, *, stm: str | Path | None = None,
                     uem: str | Path | None = None, collar: float = 0.0) -> TranscriptScore:
    """Score a transcript JSON (or a hypothesis RTTM) against a reference RTTM, and an STM for the word figures."""
    turns, words = load_hypothesis(hypothesis)
    reference = read_rttm(rttm)
    if not reference:
        raise TranscriptFormatError(f"{rttm} has no SPEAKER lines: not a reference RTTM")
    utterances = read_stm(stm) if stm is not None else []
    if stm is not None and not utterances:
        raise TranscriptFormatError(f"{stm} has no utterances: not a reference STM")
    regions = read_uem(uem) if uem is not None else None
    logger.info("scoring %s: %d turns, %d words against %d reference turns", hypothesis, len(turns), len(words),
                len(reference))
    return score_turns_and_words(reference, turns, words, utterances, uem=regions, collar=collar)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def format_score(score: TranscriptScore) -> str:
    """The figures as aligned text lines, for the terminal."""
    d, o = score.diarization, score.diarization.overlap
    lines = [
        f"DER    {_percent(d.der)}  (missed {_percent(d.missed)}, false alarm {_percent(d.false_alarm)}, "
        f"confusion {_percent(d.confusion)}; collar {d.collar:g} s)",
        f"JER    {_percent(d.jer)}",
        f"speakers  {d.hypothesis_speakers} found, {d.reference_speakers} in the reference",
        f"overlap   {o.reference_seconds:.1f} s in the reference: detected {_percent(o.detected)}, right speakers "
        f"{_percent(o.correct)}; false alarm {_percent(o.false_alarm)}",
    ]
    if score.words is not None and score.cpwer is not None and score.attribution is not None:
        w, a = score.words, score.attribution
        lines += [
            f"WER    {_percent(w.wer)}  ({w.substitutions} substitutions, {w.deletions} deletions, "
            f"{w.insertions} insertions; {w.reference_words} reference words)",
            f"cpWER  {_percent(score.cpwer.cpwer)}",
            f"WDER   {_percent(a.wder)}",
            f"word-speaker accuracy  {_percent(a.word_speaker_accuracy)}"
            + (f"; backchannels {_percent(a.backchannel_speaker_accuracy)}" if a.backchannel_words else ""),
        ]
    return "\n".join(lines)
