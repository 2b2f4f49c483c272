"""The committed planted-identifier dialogues are what the generator makes, within the audio budget, and never
speak with a reserved voice."""

from __future__ import annotations

import hashlib
import json

from tests.corpus.deid.dialogues import CATEGORIES, DIALOGUES, SHORT, WORD_SURNAMES, half, planted_count
from tests.corpus.deid.synth import DATA
from tests.corpus.sessions import RESERVED_VOICES

# The repository holds at most 35 MB of Opus test audio; the realistic-sessions corpus uses about 30 MB of it.
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
    assert sum(planted_count(half("report")).values()) >= 100
    tune, report = half("tune"), half("report")
    assert len(tune) == len(report) == len(DIALOGUES) // 2
    voices = lambda ds: {v for d in ds for v in (d.therapist, d.client)}  # noqa: E731
    assert not voices(tune) & voices(report)
    templates = lambda ds: {s.text.split()[0] for d in ds for s in d.sentences}  # noqa: E731
    assert templates(tune) != templates(report)
    assert not voices((*DIALOGUES, SHORT)) & RESERVED_VOICES


def test_names_are_generated_apart_from_the_word_surnames():
    names = [s.text[p.start:p.end] for d in DIALOGUES for s in d.sentences for p in s.planted
             if p.category == "NAME" and p.kind not in ("spelled", "word surname")]
    assert names and not set(names) & set(WORD_SURNAMES)
    word = [p for d in DIALOGUES for s in d.sentences for p in s.planted if p.kind == "word surname"]
    assert 0 < len(word) < len(names) / 3


def test_the_audio_fits_the_budget():
    assert sum(p.stat().st_size for p in DATA.glob("*.opus")) <= BUDGET_BYTES
