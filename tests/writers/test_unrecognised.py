"""Speech that was heard but not recognised is visible in every text format and survives the JSON round trip."""

from __future__ import annotations

import json

import pytest

from therapybridge.types import AudioInfo, Segment, SpeakerInfo, Transcript, UnrecognisedSpeech, Word
from therapybridge.writers import get_writer
from therapybridge.writers.readers import parse_srt, parse_txt, parse_vtt, transcript_from_dict

MARKER = "[inaudible 00:12:31–00:12:38]"


def render(transcript: Transcript, fmt: str) -> str:
    return get_writer(fmt).render(transcript)


@pytest.fixture(scope="module")
def transcript() -> Transcript:
    def segment(start: float, text: str, speaker: str) -> Segment:
        words = tuple(Word(start + 0.4 * k, start + 0.4 * k + 0.3, f" {w}", 0.9, speaker)
                      for k, w in enumerate(text.split()))
        return Segment(start, words[-1].end or start, f" {text}", words, speaker)

    return Transcript(
        audio=AudioInfo("session.m4a", 800.0),
        language="en",
        segments=(segment(745.0, "How was the week?", "SPEAKER_00"), segment(760.0, "Better, thank you.", "SPEAKER_01")),
        speakers=(SpeakerInfo("SPEAKER_00", "Therapist"), SpeakerInfo("SPEAKER_01", "Client")),
        unrecognised=(UnrecognisedSpeech(751.2, 758.4, "SPEAKER_01"),),
    )


def test_the_marker_shows_in_txt_srt_vtt_and_html_in_time_order(transcript):
    txt = render(transcript, "txt")
    cues = parse_txt(txt)
    assert [c.text for c in cues] == ["How was the week?", f"{MARKER} Better, thank you."]
    assert cues[1].speaker == "Client"
    for fmt, parse in (("srt", parse_srt), ("vtt", parse_vtt)):
        cues = parse(render(transcript, fmt), {"Therapist", "Client"}) if fmt == "srt" else parse(render(transcript, fmt))
        assert [c.text for c in cues] == ["How was the week?", MARKER, "Better, thank you."]
        assert cues[1].speaker == "Client"
        assert (cues[1].start, cues[1].end) == (751.2, 758.4)
    page = render(transcript, "html")
    assert page.index(">week?<") < page.index(MARKER) < page.index(">Better,<")
    assert 'class="line unrecognised' in page


def test_json_marks_the_stretch_as_unrecognised_speech_and_reads_back(transcript):
    data = json.loads(render(transcript, "json"))
    assert data["unrecognised"] == [{"start": 751.2, "end": 758.4, "speaker": "SPEAKER_01",
                                     "kind": "unrecognised speech"}]
    assert transcript_from_dict(data).unrecognised == transcript.unrecognised


def test_a_transcript_written_before_schema_1_2_still_reads(transcript):
    data = json.loads(render(transcript, "json"))
    del data["unrecognised"]
    data["provenance"] = {"schema_version": "1.1"}
    assert transcript_from_dict(data).unrecognised == ()
