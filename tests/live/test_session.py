"""A live session on real speech: committed words never change, partials are marked, two speakers are found."""

from __future__ import annotations

import numpy as np
import pytest

from therapybridge.errors import InvalidAudioError
from therapybridge.live import LiveOptions, LiveSession
from therapybridge.live.agreement import normalise

# One decode per second of audio keeps the test's compute low; the benchmark runs the default 0.5 s.
OPTIONS = LiveOptions(model="tiny.en", device="cpu", chunk_seconds=1.0)


@pytest.fixture(scope="module")
def run(live_models, clip40):
    session = LiveSession(live_models, OPTIONS)
    events, buffered = [], []
    for i in range(0, len(clip40), 3200):  # 0.2 s pieces, fed faster than real time
        events += session.feed(clip40[i : i + 3200])
        buffered.append(session._recognizer.buffer_end - session._recognizer.buffer_start)
    events += session.finish()
    return session, events, buffered


def test_committed_words_never_change_and_are_what_the_transcript_holds(run):
    session, events, _ = run
    committed = [w for e in events if e.type == "committed" for w in e.words]
    assert len(committed) > 40
    assert tuple(committed) == session.transcript().words  # exactly what was sent, nothing rewritten or added
    starts = [w.start for w in committed]
    assert starts == sorted(starts)
    # no word committed twice: the same word again would come back at (nearly) the same time
    assert not [(a, b) for a, b in zip(committed, committed[1:])
                if normalise(a.text) == normalise(b.text) and b.start - a.start < 0.1]
    assert all(w.speaker for w in committed)
    text = " ".join(w.text for w in committed).lower()
    assert "carry this on your own" in text  # the therapist's first question (tiny.en hears it on this clip)


def test_partial_words_are_marked_and_replaced(run):
    _, events, _ = run
    partials = [e for e in events if e.type == "partial"]
    assert any(e.words for e in partials)
    message = next(e.to_dict() for e in partials if e.words)
    assert message["type"] == "partial" and all(set(w) == {"start", "end", "text"} for w in message["words"])
    assert events[-2].type == "partial" and events[-2].words == ()  # the end clears the partial line
    assert events[-1].to_dict() == {"type": "end", "reason": "finished", "message": None}


def test_two_speakers_are_found_and_utterances_follow_them(run):
    session, events, _ = run
    transcript = session.transcript()
    assert len({w.speaker for w in transcript.words}) >= 2
    assert any(e.type == "speakers" and len(e.speakers) >= 2 for e in events)
    utterances = [e for e in events if e.type == "utterance"]
    assert len(utterances) >= 3 and len({u.speaker for u in utterances}) >= 2
    data = transcript.to_dict()
    assert data["segments"] and data["live"]["committed_words"]
    assert {s["id"] for s in data["speakers"]} == {s["speaker"] for s in data["segments"]}


def test_the_buffer_stays_bounded(run):
    _, _, buffered = run
    assert max(buffered) <= OPTIONS.max_buffer_seconds + 5.0  # one catch-up step beyond the cap at most


def test_finish_is_idempotent_and_bad_samples_are_typed_errors(live_models):
    session = LiveSession(live_models, OPTIONS)
    with pytest.raises(InvalidAudioError):
        session.feed(np.zeros((2, 100), dtype=np.float32))
    with pytest.raises(InvalidAudioError):
        session.feed(np.array([0.0, np.nan], dtype=np.float32))
    assert session.feed(np.zeros(1600, dtype=np.float32)) == []
    assert [e.type for e in session.finish("disconnected", "client went away")][-1] == "end"
    assert session.finish() == [] and session.feed(np.zeros(1600, dtype=np.float32)) == []
    assert session.transcript().words == () and session.audio_seconds == 0.1
