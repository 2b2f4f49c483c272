"""The committed planted-identifier dialogues are what the generator makes, within the audio budget, and never
speak with a reserved voice."""

from __future__ import annotations

import hashlib
import json

from tests.corpus.deid.dialogues import (
    CATEGORIES,
    DIALOGUES,
    FRESH_WORD_SURNAMES,
    REPORT_WORD_SURNAMES,
    SHORT,
    WORD_SURNAMES,
    half,
    names,
    planted_count,
)
from tests.corpus.deid.synth import DATA
from tests.corpus.sessions import RESERVED_VOICES

# The repository holds at most 35 MB of Opus test audio (tests/corpus/test_generator.py checks the sum); the
# realistic-sessions corpus uses about 30 MB of it, these dialogues the rest.
BUDGET_BYTES = 4_500_000


def test_committed_scripts_match_the_generator_and_their_audio():
    for dialogue in (*DIALOGUES, SHORT):
        script = json.loads((DATA / f"{dialogue.id}.json").read_text(encoding="utf-8"))
        expected = dialogue.to_dict()
        assert [{k: s[k] for k in ("speaker", "role", "text", "planted")} for s in script["sentences"]] == \
            expected["sentences"]
        assert script["half"] == dialogue.half
        opus = (DATA / f"{dialogue.id}.opus").read_bytes()
        assert hashlib.sha256(opus).hexdigest() == script["opus_sha256"]
        starts = [s["start"] for s in script["sentences"]]
        assert starts == sorted(starts) and all(s["end"] > s["start"] for s in script["sentences"])


def test_enough_identifiers_in_every_category_and_two_disjoint_halves():
    counts = planted_count()
    assert sum(counts.values()) >= 200 and all(counts[c] >= 10 for c in CATEGORIES)
    report_counts = planted_count(half("report"))
    assert sum(report_counts.values()) >= 100 and all(report_counts[c] >= 5 for c in CATEGORIES)
    tune, report = half("tune"), half("report")
    assert len(tune) == 15 and len(report) == 5 and len(DIALOGUES) == 20
    voices = lambda ds: {v for d in ds for v in (d.therapist, d.client)}  # noqa: E731
    assert not voices(tune) & voices(report)
    assert not _templates(tune) & _templates(report)
    parts = {p for v in voices((*DIALOGUES, SHORT)) for p in v.split("+")}
    assert not parts & RESERVED_VOICES


def _templates(dialogues) -> set[str]:
    """Each sentence with its planted identifiers cut out: the template it was filled from."""
    out = set()
    for d in dialogues:
        for s in d.sentences:
            text, pos = "", 0
            for p in s.planted:
                text, pos = text + s.text[pos:p.start] + "{}", p.end
            out.add(text + s.text[pos:])
    return out


def test_the_report_half_draws_no_name_of_the_tune_half():
    report_names = {s.text[p.start:p.end] for d in half("report") for s in d.sentences for p in s.planted
                    if p.category == "NAME" and p.kind != "spelled"}
    assert report_names and not report_names & names(half("tune"))
    assert not set(REPORT_WORD_SURNAMES) & (set(WORD_SURNAMES) | set(FRESH_WORD_SURNAMES))
    assert not set(FRESH_WORD_SURNAMES) & set(WORD_SURNAMES)


def test_names_are_generated_apart_from_the_word_surnames():
    generated = [s.text[p.start:p.end] for d in DIALOGUES for s in d.sentences for p in s.planted
                 if p.category == "NAME" and p.kind not in ("spelled", "word surname")]
    assert generated and not set(generated) & (set(WORD_SURNAMES) | set(FRESH_WORD_SURNAMES) | set(REPORT_WORD_SURNAMES))
    word = [p for d in DIALOGUES for s in d.sentences for p in s.planted if p.kind == "word surname"]
    assert 0 < len(word) < len(generated) / 3


def test_the_audio_fits_the_budget():
    assert sum(p.stat().st_size for p in DATA.glob("*.opus")) <= BUDGET_BYTES
