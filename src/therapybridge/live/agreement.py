"""LocalAgreement-2: commit the longest common prefix of two consecutive hypotheses of the same audio.

Each decode of the rolling buffer yields a hypothesis for everything not yet committed. Words on which this
decode and the previous one agree are committed: Whisper rarely changes its mind about audio it has heard twice
with more context after it, and the words at the buffer's edge, where it does, stay partial. The idea is
whisper_streaming's (Macháček et al., 2023); this is a fresh implementation. One departure: a first open word the
two decodes spell differently does not hold back the words after it that they agree on (``_resync``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .events import LiveWord

_TOKEN = re.compile(r"[\w']+")
# A word of a new hypothesis that starts this long before the last committed word ended is audio already committed.
OVERLAP_TOLERANCE = 0.1
# Longest run of words a new hypothesis may repeat from the end of the committed text (Whisper restarting inside
# the buffer says again the last words it was prompted with).
MAX_REPEAT_WORDS = 5
# The repeat check applies when the hypothesis starts this close to the last committed word.
REPEAT_WINDOW = 1.0
# Two decodes may spell the first open word differently and agree on everything after it ("changed at the last" /
# "change at the last", "I'd bring it up" / "I had bring it up"); a strict prefix then commits nothing until the
# buffer is forced (on dev d01 with base such a flicker held every word for 4.8 s). Up to FLICKER_WORDS leading words
# may differ when the next AGREE_AFTER words agree and start within RESYNC_TOLERANCE seconds of each other; the
# newer decode's spelling of the differing words is committed.
FLICKER_WORDS = 2
AGREE_AFTER = 2
RESYNC_TOLERANCE = 0.3


def normalise(text: str) -> str:
    """A word as compared: lower case, punctuation dropped."""
    return " ".join(_TOKEN.findall(text.lower()))


@dataclass
class LocalAgreement:
    """The stability policy; ``update(hypothesis)`` returns (newly committed, still partial) words."""

    committed_end: float = 0.0
    _previous: list[LiveWord] = field(default_factory=list)
    _tail: list[str] = field(default_factory=list)

    def update(self, hypothesis: Sequence[LiveWord]) -> tuple[list[LiveWord], list[LiveWord]]:
        fresh = self._new_part(hypothesis)
        committed: list[LiveWord] = []
        previous = self._previous
        while fresh and previous:
            if normalise(fresh[0].text) == normalise(previous[0].text):
                committed.append(fresh.pop(0))
                previous.pop(0)
                continue
            skip = _resync(fresh, previous)
            if skip is None:
                break
            taken, dropped = skip
            committed.extend(fresh[:taken])
            del fresh[:taken], previous[:dropped]
        self._previous = fresh
        self._remember(committed)
        return committed, list(fresh)

    def flush(self, hypothesis: Sequence[LiveWord] | None = None) -> list[LiveWord]:
        """Commit everything still open: ``hypothesis`` (a last decode) if given, else the previous one."""
        words = self._new_part(hypothesis) if hypothesis is not None else list(self._previous)
        self._previous = []
        self._remember(words)
        return words

    def commit_through(self, time: float) -> list[LiveWord]:
        """Commit the partial words that end by ``time`` (the buffer must be cut there and nothing agreed)."""
        count = 0
        while count < len(self._previous) and self._previous[count].end <= time:
            count += 1
        words, self._previous = self._previous[:count], self._previous[count:]
        self._remember(words)
        return words

    @property
    def partial(self) -> list[LiveWord]:
        return list(self._previous)

    def drop_before(self, time: float) -> None:
        """Forget partial words that end before ``time`` (their audio left the buffer)."""
        self._previous = [w for w in self._previous if w.end > time]

    def _new_part(self, hypothesis: Sequence[LiveWord]) -> list[LiveWord]:
        fresh = [w for w in hypothesis if w.start > self.committed_end - OVERLAP_TOLERANCE and normalise(w.text)]
        if fresh and self._tail and abs(fresh[0].start - self.committed_end) < REPEAT_WINDOW:
            for n in range(min(MAX_REPEAT_WORDS, len(self._tail), len(fresh)), 0, -1):
                if self._tail[-n:] == [normalise(w.text) for w in fresh[:n]]:
                    del fresh[:n]
                    break
        return fresh

    def _remember(self, words: list[LiveWord]) -> None:
        if words:
            self.committed_end = max(self.committed_end, words[-1].end)
            self._tail = (self._tail + [normalise(w.text) for w in words])[-MAX_REPEAT_WORDS:]


# (newer, older) counts of differing first words to try, the fewest first; built once, not on every decode.
_RESYNC_OFFSETS = tuple(sorted(((i, j) for i in range(1, FLICKER_WORDS + 1) for j in range(1, FLICKER_WORDS + 1)),
                               key=lambda pair: (pair[0] + pair[1], pair)))


def _resync(fresh: list[LiveWord], previous: list[LiveWord]) -> tuple[int, int] | None:
    """(newer words, older words) that differ at the start before both agree again, the fewest first; None when
    they do not agree again within ``FLICKER_WORDS`` words."""
    def key(words: list[LiveWord], at: int) -> list[str]:
        return [normalise(w.text) for w in words[at : at + AGREE_AFTER]]

    for i, j in _RESYNC_OFFSETS:
        if len(fresh) < i + AGREE_AFTER or len(previous) < j + AGREE_AFTER:
            continue
        if key(fresh, i) == key(previous, j) and abs(fresh[i].start - previous[j].start) <= RESYNC_TOLERANCE:
            return i, j
    return None
