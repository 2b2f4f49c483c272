"""The transcript pass with the real analyzer (Presidio + spaCy + ours) on small hand-made transcripts: placeholder
numbering, word timings, findings split over segments, speaker labels, metadata and typed errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from therapybridge.deid import DeidOptions, Deidentifier, deidentify_transcript
from therapybridge.errors import ConfigurationError, InputNotFoundError
from therapybridge.types import AudioInfo, Segment, SpeakerInfo, Transcript, Word


@pytest.fixture(scope="module")
def engine():
    return Deidentifier().load()


def _segment(text: str, start: float, speaker: str = "SPEAKER_00", step: float = 0.4) -> Segment:
    words = []
    for i, token in enumerate(text.split()):
        words.append(Word(start=round(start + i * step, 3), end=round(start + i * step + 0.3, 3), word=f" {token}",
                          probability=0.9, speaker=speaker))
    return Segment(start=start, end=words[-1].end, text=text, words=tuple(words), speaker=speaker)


def _transcript(*segments: Segment, **changes) -> Transcript:
    base = Transcript(
        audio=AudioInfo(path="/home/jane/sessions/jane-doe-2024-03-03.m4a", duration=60.0), language="en",
        segments=segments,
        speakers=(SpeakerInfo("SPEAKER_00", "Dr. Anna Quill", "therapist"), SpeakerInfo("SPEAKER_01", "SPEAKER_01")),
        provenance={"model": "/home/jane/models/whisper-base", "input_sha256": "ab" * 32, "settings_hash": "cd",
                    "settings": {"asr": {"initial_prompt": "Jane Doe, Quill", "hotwords": "Doe", "beam_size": 5}}},
    )
    return base.with_changes(**changes)


def test_the_same_person_gets_the_same_placeholder_and_others_get_their_own(engine):
    transcript = _transcript(
        _segment("My sister Marisol Quennerby called yesterday.", 0.0, "SPEAKER_01"),
        _segment("How is Marisol doing?", 5.0),
        _segment("Quennerby said my friend Teodor Vasquelle was there.", 8.0, "SPEAKER_01"),
    )
    result = deidentify_transcript(transcript, engine)
    texts = [s.text for s in result.transcript.segments]
    assert texts[0] == "My sister [NAME_2] called yesterday."  # NAME_1 is the therapist's display name
    assert texts[1] == "How is [NAME_2] doing?"
    assert texts[2].startswith("[NAME_2] said my friend [NAME_3] ")
    assert result.transcript.speakers[0].label == "[NAME_1]" and result.transcript.speakers[0].role == "therapist"


def test_placeholder_words_span_the_words_they_replace_and_the_rest_is_untouched(engine):
    segment = _segment("Call me at five five five, two one four, eight eight three nine tonight.", 2.0)
    result = deidentify_transcript(_transcript(segment), engine)
    words = result.transcript.segments[0].words
    assert [w.word for w in words] == [" Call", " me", " at", " [PHONE_1]", " tonight."]
    assert words[3].start == segment.words[3].start and words[3].end == segment.words[12].end
    assert words[:3] == segment.words[:3] and words[4] == segment.words[13]
    (finding,) = result.findings
    assert finding.to_dict() == {"placeholder": "[PHONE_1]", "category": "PHONE", "recognizer": finding.recognizer,
                                 "score": finding.score, "start": segment.words[3].start,
                                 "end": segment.words[12].end, "segment": 0, "words": [3, 13], "also": []}


def _unsure(segment: Segment, *indices: int) -> Segment:
    """``segment`` with the words at ``indices`` recognised with a low probability."""
    words = tuple(w if i not in indices else dataclasses.replace(w, probability=0.3)
                  for i, w in enumerate(segment.words))
    return dataclasses.replace(segment, words=words)


def test_unsure_words_said_beside_a_name_are_taken_as_pieces_of_it(engine):
    # Whisper's reading of "Professor Broustourby wrote ...": the name's end heard as a word of its own.
    heard = _segment("Professor Browstauer be wrote me a reference.", 0.0, "SPEAKER_01")
    result = deidentify_transcript(_transcript(_unsure(heard, 2)), engine)
    assert result.transcript.segments[0].text == "[NAME_2] wrote me a reference."  # the title goes with the name
    # The same words heard with confidence are ordinary words.
    sure = deidentify_transcript(_transcript(heard), engine).transcript.segments[0].text
    assert sure == "[NAME_2] be wrote me a reference."
    # A comma does not part an unsure piece from its name ("Klebi Stoupryckley" heard as "Klebi, stupidly"); a
    # sentence's end does.
    after_comma = _segment("Our neighbor, Klebi, stupidly called the police.", 0.0, "SPEAKER_01")
    text = deidentify_transcript(_transcript(_unsure(after_comma, 3)), engine).transcript.segments[0].text
    assert text == "Our neighbor, [NAME_2] called the police."
    assert deidentify_transcript(_transcript(after_comma), engine).transcript.segments[0].text == \
        "Our neighbor, [NAME_2], stupidly called the police."
    after_stop = _segment("I saw Klebi. Stupidly I called the police.", 0.0, "SPEAKER_01")
    text = deidentify_transcript(_transcript(_unsure(after_stop, 3)), engine).transcript.segments[0].text
    assert text == "I saw [NAME_2]. Stupidly I called the police."


def test_a_number_said_across_two_segments_is_removed_from_both(engine):
    first = _segment("My number is five five five,", 0.0)
    second = _segment("two one four, eight eight three nine.", 3.0)
    result = deidentify_transcript(_transcript(first, second), engine)
    # one placeholder per finding: the second segment's piece reads as its continuation
    assert [s.text for s in result.transcript.segments] == ["My number is [PHONE_1],", "…."]
    assert [(f.segment, f.placeholder) for f in result.findings] == [(0, "[PHONE_1]"), (1, "[PHONE_1]")]


def test_a_segment_without_word_timings_is_replaced_in_its_text(engine):
    segment = Segment(start=0.0, end=4.0, text="Dr. Okonkwo saw me on March third.", words=(), speaker=None)
    result = deidentify_transcript(_transcript(segment), engine)
    assert result.transcript.segments[0].text == "Dr. [NAME_2] saw me on [DATE_1]."
    assert all(f.start == 0.0 and f.end == 4.0 for f in result.findings)


def test_the_input_is_not_changed_and_no_identifying_metadata_is_kept(engine):
    transcript = _transcript(_segment("Anna mentioned Tulsa.", 0.0))
    before = json.dumps(transcript.to_dict())
    result = deidentify_transcript(transcript, engine, audio_path="")
    assert json.dumps(transcript.to_dict()) == before
    copy = result.transcript.to_dict()
    assert copy["audio"] == {"path": "", "duration": 60.0}
    text = json.dumps(copy)
    for secret in ("jane", "Quill", "Anna", "Doe", "Tulsa", "/home", "ab" * 32):
        assert secret not in text, secret
    assert copy["provenance"]["model"] == "whisper-base"
    assert copy["provenance"]["settings"] == {"asr": {"beam_size": 5}}
    assert copy["performance_metrics"] == {}


def test_analytics_labels_follow_the_speakers(engine):
    analytics = {"speakers": [{"id": "SPEAKER_00", "label": "Dr. Anna Quill", "talk_time": 3.0}]}
    result = deidentify_transcript(_transcript(_segment("Hello there.", 0.0), analytics=analytics), engine)
    assert result.transcript.analytics["speakers"][0]["label"] == "[NAME_1]"
    assert result.transcript.analytics["speakers"][0]["talk_time"] == 3.0


def test_relative_dates_and_countries_are_not_identifiers(engine):
    result = deidentify_transcript(
        _transcript(_segment("Last week we flew to France and next spring to Canada.", 0.0)), engine)
    assert result.findings == ()


def test_only_the_chosen_categories_are_removed():
    engine = Deidentifier(DeidOptions(entities=("PHONE",))).load()
    result = deidentify_transcript(
        _transcript(_segment("Marisol called on March third from five five five, one two three four.", 0.0),
                    speakers=()), engine)
    assert result.transcript.segments[0].text == "Marisol called on March third from [PHONE_1]."


@pytest.mark.parametrize("options", [{"entities": ("NAMES",)}, {"min_score": 2.0}, {"bleep_level": 0.0}])
def test_bad_options_are_configuration_errors(options):
    with pytest.raises(ConfigurationError):
        DeidOptions(**options)


def test_bleeping_a_missing_recording_is_a_typed_error(engine, tmp_path):
    from therapybridge.deid.outputs import write_deidentified

    with pytest.raises(InputNotFoundError):
        write_deidentified(_transcript(_segment("Hello.", 0.0)), tmp_path / "out", "s", ["txt"], deidentifier=engine,
                           audio_source=tmp_path / "gone.wav")
    assert not (tmp_path / "out").exists()
