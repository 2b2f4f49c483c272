"""What was said, and by whom: WER (jiwer), cpWER (meeteval), WDER and word-speaker accuracy.

Both sides go through Whisper's English text normaliser first ("Mr." -> "mister", "twenty five" -> "25",
punctuation and case dropped), so spelling conventions do not count as errors.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from itertools import groupby
from typing import Any

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _normalizer():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalize(text: str) -> str:
    """Whisper's English normalisation: lower case, no punctuation, spelled-out numbers as digits, "mr" -> "mister"."""
    return " ".join(_normalizer()(text).split())


@dataclass(frozen=True)
class WordErrorScore:
    """WER with its edit counts; rates are shares of the reference words."""

    wer: float
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    reference_words: int
    hypothesis_words: int

    @property
    def substitution_rate(self) -> float:
        return self.substitutions / self.reference_words if self.reference_words else 0.0

    @property
    def deletion_rate(self) -> float:
        return self.deletions / self.reference_words if self.reference_words else 0.0

    @property
    def insertion_rate(self) -> float:
        return self.insertions / self.reference_words if self.reference_words else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "substitution_rate": self.substitution_rate, "deletion_rate": self.deletion_rate,
                "insertion_rate": self.insertion_rate}


def _process(reference: Sequence[str], hypothesis: Sequence[str]):
    import jiwer

    return jiwer.process_words(" ".join(reference), " ".join(hypothesis))


def token_error_rate(reference: Sequence[str], hypothesis: Sequence[str]) -> WordErrorScore:
    """WER of already normalised tokens (no reference tokens: 0 without hypothesis tokens, else 1)."""
    if not reference:  # jiwer needs a reference; every hypothesis word is an insertion
        return WordErrorScore(float(bool(hypothesis)), 0, 0, len(hypothesis), 0, 0, len(hypothesis))
    out = _process(reference, hypothesis)
    return WordErrorScore(float(out.wer), out.substitutions, out.deletions, out.insertions, out.hits,
                          len(reference), len(hypothesis))


def word_error_rate(reference: str, hypothesis: str) -> WordErrorScore:
    """WER of ``hypothesis`` against ``reference`` after normalising both (no reference words: 0 or 1)."""
    return token_error_rate(normalize(reference).split(), normalize(hypothesis).split())


@dataclass(frozen=True)
class CpWordErrorScore:
    """Concatenated minimum-permutation WER: each reference speaker's words against one hypothesis speaker's."""

    cpwer: float
    errors: int
    reference_words: int
    missed_speakers: int
    false_alarm_speakers: int
    assignment: dict[str, str | None]  # reference speaker -> hypothesis speaker (None: no hypothesis speaker left)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "assignment": dict(self.assignment)}


def cp_word_error_rate(reference: Mapping[str, str], hypothesis: Mapping[str, str]) -> CpWordErrorScore:
    """cpWER from ``{speaker: text}`` on both sides (meeteval, Hungarian assignment), texts normalised first."""
    from meeteval.wer import cp_word_error_rate as meeteval_cpwer

    ref = {speaker: normalize(text) for speaker, text in reference.items()}
    hyp = {speaker: normalize(text) for speaker, text in hypothesis.items()}
    out = meeteval_cpwer(ref, hyp, reference_sort=False, hypothesis_sort=False)
    assignment = {r: h for r, h in out.assignment if r is not None}
    return CpWordErrorScore(float(out.error_rate) if out.length else float(bool(out.errors)), int(out.errors),
                            int(out.length), int(out.missed_speaker), int(out.falarm_speaker), assignment)


@dataclass(frozen=True)
class ReferenceWord:
    """A normalised reference word with its utterance's speaker and times, and whether it is a backchannel."""

    word: str
    speaker: str
    start: float
    end: float
    backchannel: bool = False


@dataclass(frozen=True)
class HypothesisWord:
    """A normalised hypothesis word and the speaker it was given (``None``: no speaker)."""

    word: str
    speaker: str | None


def reference_words(utterances: Iterable[Any]) -> list[ReferenceWord]:
    """Normalised words of STM utterances (:class:`~therapybridge.evaluation.StmUtterance`), in order."""
    return [ReferenceWord(token, u.speaker, u.start, u.end, getattr(u, "backchannel", False))
            for u in utterances for token in normalize(u.text).split()]


def hypothesis_words(words: Iterable[Any]) -> list[HypothesisWord]:
    """Normalised words of ``Word``-like objects; each run of one speaker is normalised as one text."""
    return [HypothesisWord(token, speaker)
            for speaker, run in groupby(words, key=lambda w: w.speaker)
            for token in normalize(" ".join(w.word for w in run)).split()]


def texts_by_speaker(words: Iterable[ReferenceWord | HypothesisWord]) -> dict[str, str]:
    """``{speaker: text}`` for :func:`cp_word_error_rate`; words without a speaker count as speaker ``"None"``."""
    texts: dict[str, list[str]] = {}
    for w in words:
        texts.setdefault(str(w.speaker), []).append(w.word)
    return {speaker: " ".join(tokens) for speaker, tokens in texts.items()}


def align_words(reference: Sequence[ReferenceWord],
                hypothesis: Sequence[HypothesisWord]) -> Iterator[tuple[ReferenceWord, HypothesisWord]]:
    """Reference/hypothesis pairs joined by a match or a substitution in jiwer's minimum edit-distance alignment."""
    if not reference or not hypothesis:
        return
    out = _process([w.word for w in reference], [w.word for w in hypothesis])
    for chunk in out.alignments[0]:
        if chunk.type in ("equal", "substitute"):
            for k in range(chunk.ref_end_idx - chunk.ref_start_idx):
                yield reference[chunk.ref_start_idx + k], hypothesis[chunk.hyp_start_idx + k]


@dataclass(frozen=True)
class AttributionScore:
    """Which speaker each recognised word went to, hypothesis speakers mapped by the diarization's mapping.

    ``wder``: share of the correctly recognised words (alignment matches) that got the wrong speaker. Unlike
    Shafey et al. (2019), substitutions are left out, so a misrecognised word never counts as a speaker error.
    ``word_speaker_accuracy``: share of the *recognised* reference words (aligned to a hypothesis word: a match or
    a substitution) whose hypothesis word has the right speaker. Deleted words are left out: they are a
    recognition error, counted by the WER's deletions, and would otherwise make speaker attribution look worse
    whenever the recogniser skips speech. ``backchannel_speaker_accuracy``: share of the
    backchannel reference words the recogniser got right (alignment matches) that carry the right speaker
    (``None`` when none was recognised); ``backchannel_words`` counts all of them, ``backchannel_hits`` those
    recognised.
    """

    wder: float | None
    word_speaker_accuracy: float
    backchannel_speaker_accuracy: float | None
    correct_words: int
    correct_words_wrong_speaker: int
    recognised_words: int
    reference_words: int
    backchannel_words: int
    backchannel_hits: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_attribution(reference: Sequence[ReferenceWord], hypothesis: Sequence[HypothesisWord],
                      mapping: Mapping[str, str] | None = None) -> AttributionScore:
    """WDER, word-speaker accuracy and backchannel speaker accuracy.

    ``mapping`` takes hypothesis speakers to reference speakers (unmapped ones are always wrong); without it
    the labels are compared as they are.
    """
    hits = wrong_hits = right_speaker = backchannel_right = backchannel_hits = recognised = 0
    for ref, hyp in align_words(reference, hypothesis):
        recognised += 1
        mapped = hyp.speaker if mapping is None else mapping.get(hyp.speaker)  # type: ignore[arg-type]
        same = mapped is not None and mapped == ref.speaker
        right_speaker += same
        if ref.word == hyp.word:
            hits += 1
            wrong_hits += not same
            backchannel_right += same and ref.backchannel
            backchannel_hits += ref.backchannel
    backchannels = sum(w.backchannel for w in reference)
    return AttributionScore(
        wder=wrong_hits / hits if hits else None,
        word_speaker_accuracy=right_speaker / recognised if recognised else 0.0,
        backchannel_speaker_accuracy=backchannel_right / backchannel_hits if backchannel_hits else None,
        correct_words=hits,
        correct_words_wrong_speaker=wrong_hits,
        recognised_words=recognised,
        reference_words=len(reference),
        backchannel_words=backchannels,
        backchannel_hits=backchannel_hits,
    )
