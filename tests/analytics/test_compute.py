"""The analytics' figures: on corpus references every one equals what the event log implies (worked out apart in
tests/analytics/eventlog.py); small hand-made sessions pin each definition's edges."""

from __future__ import annotations

import pytest

from tests.analytics.eventlog import expected, reference_transcript
from tests.corpus.build import build_session
from tests.corpus.sessions import session
from therapybridge.analytics import AnalyticsOptions, SessionAnalytics, compute_analytics
from therapybridge.errors import ConfigurationError
from therapybridge.types import AudioInfo, Segment, SpeakerInfo, SpeakerTurn, Transcript, Word

EXACT = 1e-6


@pytest.fixture(scope="module", params=["d01", "d02"])
def corpus_case(request):
    built = build_session(session(request.param))
    return built, compute_analytics(reference_transcript(built)), expected(built)


def _close(value, want):
    return value == pytest.approx(want, abs=EXACT) if want is not None else value is None


def test_speaker_figures_equal_the_event_log(corpus_case):
    built, analytics, want = corpus_case
    assert [s.id for s in analytics.speakers] == list(built.speakers)
    for voice in built.speakers:
        got, exp = analytics.speaker(voice), want["speakers"][voice]
        for name in ("talk_time", "talk_share", "median_turn", "words_per_minute", "question_share"):
            assert _close(getattr(got, name), exp[name]), (voice, name)
        for name in ("turns", "words", "utterances", "questions", "backchannels", "interruptions", "interrupted"):
            assert getattr(got, name) == exp[name], (voice, name)
        assert _close(got.longest_turn.duration, exp["longest_turn"])
        assert _close(got.longest_monologue.duration, exp["longest_monologue"])
    # Both roles of a dyad are labelled: the role rows are the speakers' own figures.
    assert {r.id: r.talk_time for r in analytics.roles} == {
        analytics.speaker(v).role: analytics.speaker(v).talk_time for v in built.speakers}
    assert sum(s.talk_share for s in analytics.speakers) == pytest.approx(1.0)


def test_turns_and_backchannels_equal_the_event_log(corpus_case):
    _, analytics, want = corpus_case
    assert [(round(t.start, 3), round(t.end, 3), t.speaker) for t in analytics.turns] == want["turns"]
    assert [(round(b.start, 3), round(b.end, 3), b.speaker) for b in analytics.backchannels] == want["backchannels"]
    assert len(analytics.backchannels) > 0 and analytics.interaction.interruptions > 0  # the cases are exercised


def test_interaction_figures_equal_the_event_log(corpus_case):
    built, analytics, want = corpus_case
    inter = analytics.interaction
    assert list(inter.latency.values) == pytest.approx(want["latencies"], abs=EXACT)
    assert _close(inter.latency.median, want["latency_median"])
    assert _close(inter.latency.p90, want["latency_p90"])
    assert sum(inter.latency.counts) == len(want["latencies"])
    assert inter.interruptions == want["interruptions"]
    assert _close(inter.overlap_time, want["overlap_time"])
    assert _close(inter.backchannels_per_minute, want["backchannels_per_minute"])
    assert inter.backchannels == len(want["backchannels"])


def test_silence_figures_equal_the_event_log(corpus_case):
    built, analytics, want = corpus_case
    silence = analytics.silence
    assert _close(silence.total, want["silence_total"])
    assert [x for s in silence.long for x in (s.start, s.end)] == pytest.approx(
        [x for s in want["long_silences"] for x in s], abs=EXACT)
    assert len(silence.long) >= 2  # the generator puts two long silences in every session
    assert list(silence.map) == pytest.approx(want["silence_map"], abs=EXACT)
    assert silence.total + sum(s.talk_time for s in analytics.speakers) - analytics.interaction.overlap_time \
        == pytest.approx(built.duration, abs=EXACT)


def test_round_trip_through_the_dict(corpus_case):
    _, analytics, _ = corpus_case
    again = SessionAnalytics.from_dict(analytics.to_dict())
    assert again.to_dict() == analytics.to_dict()


# ---------------------------------------------------------------------- the definitions' edges, by hand
def _session(turns, words=(), duration=30.0, speakers=("A", "B")) -> Transcript:
    groups: list[list[Word]] = []  # one segment per speaker's stretch of words
    for word in words:
        if groups and groups[-1][-1].speaker == word.speaker:
            groups[-1].append(word)
        else:
            groups.append([word])
    segments = tuple(Segment(g[0].start, g[-1].end, "".join(w.word for w in g), tuple(g), g[0].speaker)
                     for g in groups)
    info = tuple(SpeakerInfo(s, f"Speaker {s}", None) for s in speakers)
    return Transcript(AudioInfo("x.wav", duration), "en", segments, info,
                      turns=tuple(SpeakerTurn(a, b, s) for a, b, s in turns))


def _w(start, end, text, speaker):
    return Word(start, end, " " + text, 0.9, speaker)


@pytest.mark.parametrize("length, n_words, is_backchannel", [(1.0, 2, True), (1.01, 1, False), (0.5, 3, False)])
def test_a_backchannel_is_short_few_words_and_inside_another_turn(length, n_words, is_backchannel):
    words = [_w(10.0 + k * length / n_words, 10.0 + (k + 1) * length / n_words, "yeah", "B") for k in range(n_words)]
    result = compute_analytics(_session([(2.0, 20.0, "A"), (10.0, 10.0 + length, "B")], words))
    assert (result.interaction.backchannels == 1) is is_backchannel
    assert result.speaker("A").turns == 1
    assert result.speaker("B").turns == (0 if is_backchannel else 1)
    # a non-backchannel start 10 s before A ends is an interruption; a backchannel never is
    assert result.interaction.interruptions == (0 if is_backchannel else 1)


def test_a_short_turn_after_the_other_speaker_is_no_backchannel():
    result = compute_analytics(_session([(2.0, 10.0, "A"), (10.5, 11.0, "B")], [_w(10.5, 11.0, "Yes.", "B")]))
    assert result.interaction.backchannels == 0
    assert list(result.interaction.latency.values) == pytest.approx([0.5])


@pytest.mark.parametrize("start, interrupts", [(9.8, True), (9.81, False), (10.3, False)])
def test_an_interruption_starts_at_least_0_2_s_before_the_other_ends(start, interrupts):
    result = compute_analytics(_session([(2.0, 10.0, "A"), (start, 15.0, "B")]))
    assert (result.interaction.interruptions == 1) is interrupts
    assert result.speaker("B").interruptions == result.speaker("A").interrupted == int(interrupts)
    assert list(result.interaction.latency.values) == pytest.approx([start - 10.0])


def test_turns_split_at_long_pauses_and_where_the_other_speaks():
    turns = [(1.0, 3.0, "A"), (4.9, 6.0, "A"),  # pause 1.9 s: one turn
             (8.0, 9.0, "A"),  # pause 2.0 s: a new turn, same monologue
             (9.5, 12.0, "B"), (12.5, 14.0, "A"), (13.0, 16.0, "B")]  # B speaks in A's pause: B's turns split
    result = compute_analytics(_session(turns))
    assert [(t.start, t.end, t.speaker) for t in result.turns] == [
        (1.0, 6.0, "A"), (8.0, 9.0, "A"), (9.5, 12.0, "B"), (12.5, 14.0, "A"), (13.0, 16.0, "B")]
    assert result.speaker("A").longest_monologue.duration == pytest.approx(8.0)
    assert result.speaker("A").median_turn == pytest.approx(1.5)
    assert result.interaction.overlap_time == pytest.approx(1.0)
    assert result.interaction.interruptions == 1  # B at 13.0 inside A's 12.5-14.0
    assert list(result.interaction.latency.values) == pytest.approx([0.5, 0.5, -1.0])


def test_questions_words_per_minute_and_silences():
    words = [_w(1.0, 1.5, "How", "A"), _w(1.5, 2.0, "are", "A"), _w(2.0, 2.5, "you?", "A"),
             _w(2.5, 3.0, "Fine.", "A"), _w(10.0, 11.0, "Good.", "B")]
    result = compute_analytics(_session([(1.0, 3.0, "A"), (10.0, 11.0, "B")], words, duration=20.0))
    a = result.speaker("A")
    assert (a.utterances, a.questions, a.question_share, a.words) == (2, 1, 0.5, 4)
    assert a.words_per_minute == pytest.approx(4 / (2.0 / 60))
    assert result.silence.total == pytest.approx(17.0)
    assert [(s.start, s.end) for s in result.silence.long] == [(3.0, 10.0), (11.0, 20.0)]
    assert list(result.silence.map) == pytest.approx([0.8, 0.9])


def test_without_turns_the_segments_are_the_speech():
    words = [_w(1.0, 2.0, "Hello", None), _w(2.0, 3.0, "there.", None)]
    transcript = _session([], words, duration=5.0, speakers=())
    result = compute_analytics(transcript)
    assert result.source == "segments"
    (only,) = result.speakers
    assert (only.id, only.label, only.talk_time, only.talk_share, only.words) == (None, "Unknown speaker", 2.0, 1.0, 2)


def test_an_empty_session_has_no_figures_but_silence():
    result = compute_analytics(_session([], duration=12.0, speakers=()))
    assert result.speakers == () and result.interaction.latency.median is None
    assert result.silence.total == 12.0 and len(result.silence.long) == 1


def test_options_are_checked():
    with pytest.raises(ConfigurationError, match="turn_pause"):
        AnalyticsOptions(turn_pause=0)
    with pytest.raises(ConfigurationError, match="backchannel_max_words"):
        AnalyticsOptions(backchannel_max_words=-1)


def test_carried_analytics_take_the_transcripts_current_labels(corpus_case):
    from therapybridge.analytics import analytics_of
    from therapybridge.types import SpeakerInfo

    built, analytics, _ = corpus_case
    transcript = reference_transcript(built).with_changes(analytics=analytics.to_dict())
    renamed = transcript.with_changes(speakers=(SpeakerInfo(built.speakers[0], "Dr. Rivera", "therapist"),
                                                *transcript.speakers[1:]))
    again = analytics_of(renamed)
    assert again.speakers[0].label == "Dr. Rivera" and again.speakers[1].label == analytics.speakers[1].label
    assert again.speakers[0].talk_time == pytest.approx(analytics.speakers[0].talk_time, abs=1e-3)
