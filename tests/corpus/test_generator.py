"""The realistic-sessions generator: its scripts, its split, and the exactness of its references."""

from __future__ import annotations

import collections
import hashlib
import json

import numpy as np
import pytest

from tests.corpus import build, dialogue
from tests.corpus.deid.synth import DATA as DEID_DATA
from tests.corpus.sessions import RESERVED_VOICES, SESSIONS, split

COMMITTED = [s for s in SESSIONS if (build.DATA / f"{s.id}.json").exists()]


def _script(spec) -> dict:
    return build.load_script(spec)


def test_reserved_voices_are_never_used():
    used = {v for s in SESSIONS for v in s.voices}
    assert not used & RESERVED_VOICES
    for spec in COMMITTED:
        assert not {line["speaker"] for line in _script(spec)["lines"]} & RESERVED_VOICES


def test_halves_are_split_by_voice_and_cover_every_condition_twice():
    dev, evaluation = split("dev"), split("eval")
    assert len(dev) >= 8 and len(evaluation) >= 8
    assert not {v for s in dev for v in s.voices} & {v for s in evaluation for v in s.voices}
    for half in (dev, evaluation):
        counts = collections.Counter(tag for s in half for tag in s.conditions)
        rare = {tag: n for tag, n in counts.items() if n < 2}
        assert not rare, rare
    assert sum(s.same_gender for s in SESSIONS if s.kind != "dictation") >= 4


def test_the_committed_corpus_is_complete_and_within_budget():
    assert [s.id for s in COMMITTED] == [s.id for s in SESSIONS], "run python -m tests.corpus.synth"
    total = sum((build.DATA / f"{s.id}.opus").stat().st_size for s in SESSIONS)
    spoken_dialogues = sum(p.stat().st_size for p in DEID_DATA.glob("*.opus"))  # the planted-identifier dialogues
    assert total + spoken_dialogues <= 35_000_000  # all the Opus test audio the repository may hold
    for spec in COMMITTED:
        data = (build.DATA / f"{spec.id}.opus").read_bytes()
        assert hashlib.sha256(data).hexdigest() == _script(spec)["opus_sha256"]


@pytest.mark.parametrize("spec", COMMITTED, ids=lambda s: s.id)
def test_no_sentence_repeats_within_a_session(spec):
    texts = [line["text"].lower() for line in _script(spec)["lines"] if line["kind"] != "backchannel"]
    assert len(texts) == len(set(texts))


def test_the_script_is_deterministic_and_has_the_dialogue_features():
    first = dialogue.therapy_script(["t", "c"], 10, seed=7)
    assert first == dialogue.therapy_script(["t", "c"], 10, seed=7)
    assert first != dialogue.therapy_script(["t", "c"], 10, seed=8)
    kinds = collections.Counter(line.kind for line in first)
    assert kinds["backchannel"] > 0 and kinds["short_answer"] > 0
    assert any(line.gap < 0 for line in first), "no interruption"
    assert any(line.gap >= 5 for line in first), "no long silence"
    client = [len(line.text.split()) for line in first if line.speaker == "c" and line.kind == "speech"]
    therapist = [len(line.text.split()) for line in first if line.speaker == "t" and line.kind == "speech"]
    turns = collections.Counter((line.turn, line.speaker) for line in first if line.kind != "backchannel")
    client_turn = np.mean([n for (t, s), n in turns.items() if s == "c"])
    therapist_turn = np.mean([n for (t, s), n in turns.items() if s == "t"])
    assert client_turn > therapist_turn and np.mean(client) > 0.8 * np.mean(therapist)


@pytest.mark.parametrize("kind", ["dyad", "dictation"])
def test_a_run_on_keeps_the_planned_script_and_carries_on(kind):
    speakers = ["t"] if kind == "dictation" else ["t", "c"]
    planned = dialogue.therapy_script(speakers, 5, seed=7, kind=kind)
    longer = dialogue.therapy_script(speakers, 5, seed=7, kind=kind, run_on=1.0)
    assert longer[: len(planned)] == planned and len(longer) > len(planned)
    texts = [line.text.lower() for line in longer if line.kind != "backchannel"]
    assert len(texts) == len(set(texts))
    assert not [line for line in longer[len(planned):] if line.gap >= 5], "a long silence in the run-on"
    carried = sum(max(0.0, line.gap) + dialogue._words_seconds(line.text) / line.speed
                  for line in longer[len(planned):] if line.kind != "backchannel")
    assert carried <= 60.0 + 30.0  # it stops at the first line past the minute, not at the end of a turn


def test_islands_split_at_pauses_only():
    rate = build.RATE
    tone = np.sin(np.arange(rate) * 2 * np.pi * 200 / rate).astype(np.float32) * 0.3
    short_dip = np.zeros(int(0.1 * rate), dtype=np.float32)
    pause = np.zeros(int(0.4 * rate), dtype=np.float32)
    islands = build.speech_islands(np.concatenate([tone, short_dip, tone, pause, tone]), rate)
    assert len(islands) == 2
    assert islands[0][0] == 0 and abs(islands[0][1] - int(2.1 * rate)) <= rate // 100
    assert abs(islands[1][0] - int(2.5 * rate)) <= rate // 100


def test_islands_leave_out_rumble_below_the_speech_band():
    rate = build.RATE
    t = np.arange(rate) / rate
    tone = (np.sin(2 * np.pi * 200 * t) * 0.3).astype(np.float32)
    # 0.6 s of 30 Hz rumble 30 dB under the tone, as some voices leave after their sentences
    rumble = (np.sin(2 * np.pi * 30 * t[: int(0.6 * rate)]) * 0.3 * 10 ** (-30 / 20)).astype(np.float32)
    clip = np.concatenate([tone, rumble])
    (whole,) = build.speech_islands(clip, rate, speech_band=False)
    (speech,) = build.speech_islands(clip, rate)
    assert abs(whole[1] - len(clip)) <= rate // 100
    assert speech[0] == 0 and abs(speech[1] - rate) <= 2 * rate // 100


def test_layout_follows_the_relations():
    rate = build.RATE
    lines = [
        {"kind": "speech", "gap": 0.0}, {"kind": "speech", "gap": 0.5}, {"kind": "backchannel", "host": 1, "at": 0.5},
        {"kind": "speech", "gap": -0.4},
    ]
    starts = build.layout(lines, [rate * 2, rate * 4, rate // 2, rate * 2])
    lead = int(build.LEAD_IN * rate)
    assert starts[0] == lead
    assert starts[1] == lead + 2 * rate + rate // 2
    assert starts[2] == starts[1] + 2 * rate
    assert starts[3] == starts[1] + 4 * rate - int(0.4 * rate)


@pytest.fixture(scope="module")
def short_session():
    spec = next(s for s in COMMITTED if s.kind == "dyad" and s.minutes <= 6)
    return build.build_session(spec)


def test_references_come_from_the_event_log(short_session):
    events = short_session.events
    rttm = [line.split() for line in short_session.rttm.read_text().splitlines()]
    assert len(rttm) == sum(len(e.islands) for e in events)
    stm = short_session.stm.read_text().splitlines()
    assert len(stm) == len(events)
    assert sum("<backchannel>" in line for line in stm) == sum(e.kind == "backchannel" for e in events) > 0
    for event in events:
        assert event.islands and event.start <= event.islands[0][0] and event.islands[-1][1] <= event.end
    ordered = sorted((e for e in events if e.kind != "backchannel"), key=lambda e: e.start)
    overlaps = [b.start - a.end for a, b in zip(ordered, ordered[1:]) if b.speaker != a.speaker and b.start < a.end]
    assert overlaps, "no interruption in the session"
    assert all(-1.0 - 1e-6 <= o <= -0.0 for o in overlaps)
    assert short_session.duration >= 0.9 * short_session.spec.minutes * 60 * 0.8


def test_builds_are_bit_for_bit_repeatable(short_session, tmp_path, monkeypatch):
    monkeypatch.setattr(build, "CORPUS_CACHE", tmp_path)
    again = build.build_session(short_session.spec)
    assert again.audio.read_bytes() == short_session.audio.read_bytes()
    assert again.rttm.read_text() == short_session.rttm.read_text()
    assert json.loads(again.events_path.read_text()) == json.loads(short_session.events_path.read_text())


def test_an_opening_keeps_the_sessions_first_sentences_at_their_times(short_session):
    opening = build.build_session(short_session.spec, opening=45.0)
    expected = [e for e in short_session.events if e.start < 45.0]
    assert expected and len(expected) < len(short_session.events)
    assert opening.events == tuple(expected)  # whole sentences, same times, islands and indices
    assert 45.0 <= opening.duration < short_session.duration
    assert opening.audio.parent != short_session.audio.parent  # cached apart


def test_the_far_client_is_quieter_than_the_therapist(short_session):
    from therapybridge.audio import decode_audio

    decoded = decode_audio(short_session.audio, mono=True)
    audio, rate = decoded.waveform.numpy()[0], decoded.sample_rate
    level = {}
    for speaker in short_session.speakers:
        others = [t for t in short_session.turns if t.speaker != speaker]
        alone = [t for t in short_session.turns if t.speaker == speaker
                 and not any(o.start < t.end and t.start < o.end for o in others)]
        parts = [audio[int(t.start * rate) : int(t.end * rate)] for t in alone]
        level[speaker] = 10 * np.log10(np.mean(np.concatenate(parts) ** 2))
    therapist, client = short_session.speakers
    assert level[therapist] - level[client] >= 2.0


def test_the_manifest_describes_the_committed_corpus():
    manifest = json.loads(build.MANIFEST.read_text(encoding="utf-8"))
    assert [r["id"] for r in manifest["sessions"]] == [s.id for s in SESSIONS]
    assert manifest["hours"] >= 3.0
    for row in manifest["sessions"]:
        assert row["opus_sha256"] == _script(next(s for s in SESSIONS if s.id == row["id"]))["opus_sha256"]
        assert 5.0 <= row["minutes"] <= 60.0, row["id"]
    for name in ("dev", "eval"):
        assert len(manifest["halves"][name]["sessions"]) >= 8
    assert not set(manifest["halves"]["dev"]["voices"]) & set(manifest["halves"]["eval"]["voices"])
