"""De-identifying a transcript: hits on its text -> whole words -> typed placeholders kept consistent.

The session's text is analysed as one document (segments joined by line breaks, so a phone number said across
two segments is still one run). Each hit is widened to the whole words it touches, overlapping hits are merged
(the category of the highest-scored one wins), and each merged stretch becomes one placeholder word, ``[NAME_1]``,
that starts where its first word started and ends where its last word ended, so subtitles still line up.

A placeholder stands for one identity: the same name, number or address said again gets the same placeholder
(``[NAME_1]`` is always the same person); a name said in part ("Kaisteaton" after "Trina Kaisteaton") gets the
placeholder of the full name it belongs to. Once a name is found anywhere, its other capitalised mentions are
removed too, even where no recogniser fired on them, and the unsure words said right beside a name or a place
are taken as pieces of it (Whisper hears an unknown name as a name plus a word: "Browstauer be").
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..types import AudioInfo, Segment, SpeakerInfo, Transcript, Word
from .engine import Deidentifier
from .model import CATEGORIES, DeidOptions, DeidResult, Finding, Hit

# Provenance settings that may hold what was said or who said it (a prompt with names, hotwords, paths).
_PRIVATE_SETTINGS = ("initial_prompt", "hotwords", "prompt", "profiles_dir", "output_dir", "source", "path")
_PRIVATE_PROVENANCE = ("input_sha256", "settings_hash", "source", "input", "path")
_ROLE_LABEL = re.compile(r"^(?:SPEAKER_\d+|speaker \d+|therapist|client|unknown speaker)$", re.IGNORECASE)
_TRAILING = re.compile(r"[.,!?;:…]+$")
_STOP_NAMES = frozenset("i the a an and but so oh okay ok yes no my mr mrs ms dr doctor".split())
_PRIORITY = {c: i for i, c in enumerate(("EMAIL", "URL", "ADDRESS", "ID", "PHONE", "AGE", "DATE", "NAME", "PLACE"))}


@dataclass
class _Span:
    """Merged hits over words ``first``..``last`` (indices into the session's word list)."""

    first: int
    last: int
    hits: list[Hit]

    @property
    def best(self) -> Hit:
        return max(self.hits, key=lambda h: (h.score, -_PRIORITY.get(h.category, 99)))


@dataclass(frozen=True)
class _Token:
    segment: int
    index: int  # word index in the segment, -1 for a segment without words
    start: int  # character offsets in the session text
    end: int


def deidentify_transcript(transcript: Transcript, deidentifier: Deidentifier | None = None,
                          options: DeidOptions | None = None, *, audio_path: str = "") -> DeidResult:
    """A de-identified copy of ``transcript`` (which is not changed) and the findings, without the removed text.

    ``audio_path``: what the copy's ``audio.path`` says (the bleeped audio copy's file name, or nothing).
    """
    engine = deidentifier or Deidentifier(options)
    engine.load()
    text, tokens = _session_text(transcript)
    known = _display_names(transcript.speakers)
    hits = engine.find(text, known_names=known)
    hits += _repeated_names(text, hits)
    spans = _with_name_fragments(_merge(hits, tokens), tokens, transcript)
    numbering = _Numbering()
    labels = {name: numbering.placeholder("NAME", name) for name in known}
    findings, replaced = [], {}
    for span in spans:
        best = span.best
        surface = text[tokens[span.first].start:tokens[span.last].end]
        placeholder = numbering.placeholder(best.category, surface)
        others = tuple(dict.fromkeys(h.recognizer for h in span.hits if h.recognizer != best.recognizer))
        for piece, (segment, first, last) in enumerate(_by_segment(tokens, span)):
            # One placeholder per finding: where it runs on into the next segments (Whisper cut inside a phone
            # number), those pieces read as a continuation, so the text does not look like two numbers.
            replaced[(segment, first)] = (last, placeholder if piece == 0 else CONTINUATION)
            findings.append(_finding(transcript.segments[segment], segment, first, last, placeholder, best, others))
    segments = tuple(_replace_segment(seg, i, replaced, tokens, text) for i, seg in enumerate(transcript.segments))
    speakers = tuple(_speaker(s, labels) for s in transcript.speakers)
    result = transcript.with_changes(
        audio=AudioInfo(path=audio_path, duration=transcript.audio.duration),
        segments=segments,
        speakers=speakers,
        analytics=_relabel(transcript.analytics, {s.label: n.label for s, n in zip(transcript.speakers, speakers)}),
        performance_metrics={},
        provenance=_provenance(transcript.provenance, engine.options, findings),
    )
    return DeidResult(transcript=result, findings=tuple(findings), options=engine.options)


CONTINUATION = "…"
"""What a finding's pieces in later segments are replaced by (its first piece gets the placeholder)."""


def _session_text(transcript: Transcript) -> tuple[str, list[_Token]]:
    """The session's text and each word's place in it. Segments are joined by a space: Whisper cuts them at
    pauses, often inside a phone number or an address ("five, six, four," | "nine, two, two,")."""
    parts: list[str] = []
    tokens: list[_Token] = []
    offset = 0
    for s_index, segment in enumerate(transcript.segments):
        if s_index:
            parts.append(" ")
            offset += 1
        if segment.words:
            for w_index, word in enumerate(segment.words):
                lead = len(word.word) - len(word.word.lstrip())
                core = word.word.strip()
                # A word without a leading space continues the one before ("O" + "'Conquo"): kept glued to it.
                parts.append(word.word.rstrip() if w_index else word.word.strip())
                start = offset + (lead if w_index else 0)
                offset += len(parts[-1])
                tokens.append(_Token(s_index, w_index, start, start + len(core)))
        else:
            text = segment.text.strip()
            for match in re.finditer(r"\S+", text):
                tokens.append(_Token(s_index, -1 - match.start(), offset + match.start(), offset + match.end()))
            parts.append(text)
            offset += len(text)
    return "".join(parts), tokens


def _display_names(speakers: Sequence[SpeakerInfo]) -> list[str]:
    """Speaker labels that are names (an enrolled therapist's "Dr. Anna Quill"), not ids or role words."""
    return [s.label for s in speakers if s.label and not _ROLE_LABEL.match(s.label.strip())]


def _repeated_names(text: str, hits: Sequence[Hit]) -> list[Hit]:
    """Other capitalised mentions of the words of names already found."""
    words = {w for h in hits if h.category == "NAME" for w in re.findall(r"[A-Z][\w'’-]*[a-z]", text[h.start:h.end])
             if len(w) > 2 and w.lower() not in _STOP_NAMES}
    if not words:
        return []
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")\b")
    return [Hit(m.start(), m.end(), "NAME", "RepeatedNameRecognizer", 0.7, "NAME") for m in pattern.finditer(text)]


def _merge(hits: Iterable[Hit], tokens: Sequence[_Token]) -> list[_Span]:
    """Hits widened to whole words; overlapping ones merged into one span."""
    starts = [t.start for t in tokens]
    import bisect

    spans: list[_Span] = []
    for hit in sorted(hits, key=lambda h: (h.start, h.end)):
        first = max(0, bisect.bisect_right(starts, hit.start) - 1)
        if tokens and tokens[first].end <= hit.start:
            first += 1
        last = bisect.bisect_left(starts, hit.end) - 1
        if first >= len(tokens) or last < first:
            continue
        if spans and first <= spans[-1].last:
            spans[-1].last = max(spans[-1].last, last)
            spans[-1].hits.append(hit)
        else:
            spans.append(_Span(first, last, [hit]))
    return spans


# Whisper hears a name it does not know as a name plus a word or two ("Browstauer be" for "Broustourby", "Chief
# of Enkofegiso"): a word said right beside a name or place, in the same segment, with no sentence break between
# and a recognition probability below this, is taken as a piece of it (at most two words on each side). On the tune
# half of the planted-identifier dialogues the pieces of missed names had probabilities of 0.20-0.59 (and three
# of 0.74-0.97), the ordinary words beside a found name 0.41 once and otherwise 0.60 or more.
NAME_FRAGMENT_PROBABILITY = 0.6
_FRAGMENT_WORDS = 2
# A comma does not part a piece from its name: Whisper puts one between a given name and a surname it does not know
# ("Our neighbor, Klebi, stupidly called" for "Klebi Stoupryckley"). On the tune half that found one more name and
# removed no more ordinary words (64 of 2,520 either way).
_SENTENCE_BREAK = re.compile(r"[.!?;:…]+$")


def _with_name_fragments(spans: list[_Span], tokens: Sequence[_Token], transcript: Transcript) -> list[_Span]:
    """Name and place spans widened over the unsure words beside them (``NAME_FRAGMENT_PROBABILITY``) that no
    other span holds."""
    taken = {i for span in spans for i in range(span.first, span.last + 1)}

    def word(i: int) -> Word | None:
        token = tokens[i]
        return transcript.segments[token.segment].words[token.index] if token.index >= 0 else None

    def piece(inner: int, outer: int) -> bool:
        if not 0 <= outer < len(tokens) or outer in taken or tokens[outer].segment != tokens[inner].segment:
            return False
        near, far = word(inner), word(outer)
        if near is None or far is None or far.probability is None:
            return False
        between = near.word if outer > inner else far.word
        return not _SENTENCE_BREAK.search(between.strip()) and far.probability < NAME_FRAGMENT_PROBABILITY

    for span in spans:
        if span.best.category not in ("NAME", "PLACE"):
            continue
        for _ in range(_FRAGMENT_WORDS):
            if piece(span.last, span.last + 1):
                span.last += 1
                taken.add(span.last)
        for _ in range(_FRAGMENT_WORDS):
            if piece(span.first, span.first - 1):
                span.first -= 1
                taken.add(span.first)
    return spans


def _by_segment(tokens: Sequence[_Token], span: _Span) -> list[tuple[int, int, int]]:
    """The span's words per segment: (segment, first word, last word)."""
    pieces: dict[int, list[int]] = {}
    for token in tokens[span.first:span.last + 1]:
        pieces.setdefault(token.segment, []).append(token.index)
    return [(segment, indices[0], indices[-1]) for segment, indices in pieces.items()]


class _Numbering:
    """``[CATEGORY_n]`` per identity: the same canonical text, or a name's part, gets the same number."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], str] = {}
        self._name_parts: dict[str, str] = {}
        self._counts = dict.fromkeys(CATEGORIES, 0)

    def placeholder(self, category: str, surface: str) -> str:
        key = _canonical(category, surface)
        if (category, key) in self._by_key:
            return self._by_key[(category, key)]
        if category == "NAME":
            parts = [p for p in re.findall(r"[a-z]+", surface.lower()) if p not in _STOP_NAMES and len(p) > 1]
            known = next((self._name_parts[p] for p in parts if p in self._name_parts), None)
            if known is None and key in self._name_parts:  # a spelled name: its letters make a known part
                known = self._name_parts[key]
            if known is not None:
                self._by_key[(category, key)] = known
                return known
        self._counts[category] = self._counts.get(category, 0) + 1
        placeholder = f"[{category}_{self._counts[category]}]"
        self._by_key[(category, key)] = placeholder
        if category == "NAME":
            for part in re.findall(r"[a-z]+", surface.lower()):
                if part not in _STOP_NAMES and len(part) > 1:
                    self._name_parts.setdefault(part, placeholder)
            self._name_parts.setdefault(key, placeholder)
        return placeholder


def _canonical(category: str, surface: str) -> str:
    lowered = surface.lower()
    if category in ("PHONE", "ID"):
        words = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                 "six": "6", "seven": "7", "eight": "8", "nine": "9"}
        return "".join(words.get(t, t) for t in re.findall(r"\d|[a-z]+", lowered) if t.isdigit() or t in words)
    if category == "NAME":
        tokens = [t for t in re.findall(r"[a-z]+", lowered) if t not in _STOP_NAMES]
        if tokens and all(len(t) == 1 for t in tokens):  # spelled out: the letters make the name
            return "".join(tokens)
        return " ".join(tokens)
    return re.sub(r"[^a-z0-9]+", "", lowered.replace(" dot ", ".").replace(" at ", "@"))


def _finding(segment: Segment, s_index: int, first: int, last: int, placeholder: str, best: Hit,
             others: tuple[str, ...]) -> Finding:
    if first >= 0 and segment.words:
        start, end = segment.words[first].start, segment.words[last].end
        words = (first, last + 1)
    else:
        start, end, words = segment.start, segment.end, (0, 0)
    return Finding(placeholder=placeholder, category=best.category, recognizer=best.recognizer, score=best.score,
                   start=start, end=end, segment=s_index, words=words, also=others)


def _replace_segment(segment: Segment, s_index: int, replaced: Mapping[tuple[int, int], tuple[int, str]],
                     tokens: Sequence[_Token], text: str) -> Segment:
    if not segment.words:
        return _replace_text_only(segment, s_index, replaced, tokens, text)
    words: list[Word] = []
    index = 0
    while index < len(segment.words):
        word = segment.words[index]
        if (s_index, index) not in replaced:
            words.append(word)
            index += 1
            continue
        last, placeholder = replaced[(s_index, index)]
        covered = segment.words[index:last + 1]
        lead = word.word[: len(word.word) - len(word.word.lstrip())]
        trail = _TRAILING.search(covered[-1].word.strip())
        probabilities = [w.probability for w in covered if w.probability is not None]
        words.append(Word(start=word.start, end=covered[-1].end if covered[-1].end is not None else word.end,
                          word=f"{lead}{placeholder}{trail.group(0) if trail else ''}",
                          probability=min(probabilities) if probabilities else None, speaker=word.speaker))
        index = last + 1
    text = "".join(w.word for w in words).strip()
    return dataclasses.replace(segment, words=tuple(words), text=text)


def _replace_text_only(segment: Segment, s_index: int, replaced: Mapping[tuple[int, int], tuple[int, str]],
                       tokens: Sequence[_Token], text: str) -> Segment:
    """A segment without word timings: its text's tokens (indices -1 - offset) replaced the same way."""
    own = [t for t in tokens if t.segment == s_index]
    if not own:
        return segment
    origin = own[0].start - (-1 - own[0].index)  # where the segment's text starts in the session text
    seg_text = text[origin:own[-1].end]
    out, cursor, i = [], 0, 0
    while i < len(own):
        if (s_index, own[i].index) not in replaced:
            i += 1
            continue
        last, placeholder = replaced[(s_index, own[i].index)]
        j = next(k for k in range(i, len(own)) if own[k].index == last)
        a, b = own[i].start - origin, own[j].end - origin
        trail = _TRAILING.search(seg_text[a:b])
        out.append(seg_text[cursor:a] + placeholder + (trail.group(0) if trail else ""))
        cursor, i = b, j + 1
    out.append(seg_text[cursor:])
    return dataclasses.replace(segment, text="".join(out).strip())


def _speaker(speaker: SpeakerInfo, labels: Mapping[str, str]) -> SpeakerInfo:
    """Role labels stay; a display name becomes its placeholder."""
    if speaker.label in labels:
        return dataclasses.replace(speaker, label=labels[speaker.label])
    return speaker


def _relabel(value: Any, labels: Mapping[str, str]) -> Any:
    """The analytics with every display name in them replaced (they carry speaker labels)."""
    if not labels or value is None:
        return value
    if isinstance(value, Mapping):
        return {k: _relabel(v, labels) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_relabel(v, labels) for v in value]
    if isinstance(value, str):
        return labels.get(value, value)
    return value


def _provenance(provenance: Mapping[str, Any], options: DeidOptions, findings: Sequence[Finding]) -> dict[str, Any]:
    """The original provenance without what may identify (prompts, hotwords, paths, the input's hash), and the
    de-identification record: which recogniser fired where, never the removed text."""
    kept = {k: v for k, v in provenance.items() if k not in _PRIVATE_PROVENANCE}
    if isinstance(kept.get("model"), str):  # a model given as a directory: its name only, not the user's path
        kept["model"] = re.split(r"[\\/]", kept["model"].rstrip("/\\"))[-1]
    settings = kept.get("settings")
    if isinstance(settings, Mapping):
        kept["settings"] = _without_private(settings)
    counts = dict.fromkeys(CATEGORIES, 0)
    for finding in findings:
        counts[finding.category] += 1
    kept["deidentification"] = {
        "recognizers": "presidio-analyzer + spaCy en_core_web_sm + therapybridge spoken-form recognisers",
        "options": options.to_dict(),
        "counts": counts,
        "findings": [f.to_dict() for f in findings],
    }
    return kept


def _without_private(settings: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if key in _PRIVATE_SETTINGS:
            continue
        out[key] = _without_private(value) if isinstance(value, Mapping) else value
    return out
