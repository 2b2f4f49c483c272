"""Each format renders the transcript faithfully and reads back to the same times, text and speakers."""

from __future__ import annotations

import json
import re

import pytest

from therapybridge.errors import ConfigurationError, InputNotFoundError, TranscriptFormatError
from therapybridge.writers import (
    FORMATS,
    get_writer,
    paragraphs,
    parse_rttm,
    parse_srt,
    parse_txt,
    parse_vtt,
    read_json,
    subtitle_cues,
    transcript_from_dict,
)

TRANSCRIPTS = ["sample_reference_transcript", "awkward_transcript", "diarized_transcript"]


def _labels(transcript, cues):
    return [transcript.speaker_label(c.speaker) for c in cues]


def _same_cues(parsed, expected, transcript, tolerance):
    assert len(parsed) == len(expected)
    for got, want in zip(parsed, expected):
        assert got.start == pytest.approx(want.start, abs=tolerance)
        assert got.end == pytest.approx(want.end, abs=tolerance)
        assert " ".join(got.text.split()) == " ".join(want.text.split())
    assert [c.speaker for c in parsed] == _labels(transcript, expected)


def test_registry_offers_the_five_formats():
    assert set(FORMATS) >= {"json", "txt", "srt", "vtt", "rttm"}
    assert {get_writer(name).extension for name in ("json", "txt", "srt", "vtt", "rttm")} == {"json", "txt", "srt", "vtt", "rttm"}
    assert get_writer(" SRT ") is FORMATS["srt"]
    with pytest.raises(ConfigurationError, match="unknown output format 'docx'"):
        get_writer("docx")


def test_json_follows_the_contract(sample_reference_transcript):
    data = json.loads(get_writer("json").render(sample_reference_transcript))
    assert list(data) == ["audio", "language", "speakers", "segments", "turns", "performance_metrics", "provenance"]
    assert data["turns"] == []  # no diarizer turns in this one
    assert data["audio"] == {"path": "tests/data/sample.wav", "duration": 30.0}
    assert data["speakers"][0] == {"id": "Diane", "label": "Therapist (Dr. Rivera)", "role": "therapist", "match_score": 0.71}
    segment = data["segments"][0]
    assert list(segment) == ["start", "end", "speaker", "text", "words"]
    assert list(segment["words"][0]) == ["start", "end", "word", "speaker", "probability"]
    assert set(data["provenance"]) == {"tool_version", "schema_version", "model", "model_sha256", "settings"}
    assert "embedding" not in json.dumps(data)


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_json_round_trips(name, request, tmp_path):
    transcript = request.getfixturevalue(name)
    path = tmp_path / "t.json"
    path.write_text(get_writer("json").render(transcript), encoding="utf-8")
    assert read_json(path).to_dict() == transcript.to_dict()


@pytest.mark.parametrize(
    "breakage, complaint",
    [
        (lambda d: d.pop("audio"), "'audio'"),
        (lambda d: d.update(segments={}), "'segments' must be a list"),
        (lambda d: d["segments"][1].update(end=-1), "segments[1]"),
        (lambda d: d["segments"][0]["words"][0].update(word=3), "segments[0].words[0]"),
        (lambda d: d["speakers"][0].pop("id"), "speakers[0]"),
    ],
)
def test_json_reader_rejects_broken_transcripts(breakage, complaint, sample_reference_transcript, tmp_path):
    data = sample_reference_transcript.to_dict()
    breakage(data)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TranscriptFormatError) as info:
        read_json(path)
    assert complaint in str(info.value) and "\n" not in str(info.value)


def test_json_carries_the_diarizer_turns(diarized_transcript):
    data = json.loads(get_writer("json").render(diarized_transcript))
    assert data["turns"][:2] == [
        {"start": 6.69, "end": 7.12, "speaker": "Diane"},
        {"start": 7.55, "end": 8.35, "speaker": "Sheila"},
    ]
    assert len(data["turns"]) == len(diarized_transcript.turns) == 10
    assert diarized_transcript["turns"][0]["speaker"] == "Diane"  # the read-only mapping view has them too


def test_json_without_turns_from_schema_1_0_still_reads(diarized_transcript, tmp_path):
    data = diarized_transcript.to_dict()
    del data["turns"]
    data["provenance"]["schema_version"] = "1.0"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    old = read_json(path)
    assert old.turns == ()
    assert old.segments == diarized_transcript.segments
    # ... and its RTTM falls back to the segments' speakers.
    assert get_writer("rttm").render(old) == get_writer("rttm").render(diarized_transcript.with_changes(turns=()))


@pytest.mark.parametrize(
    "breakage, complaint",
    [
        (lambda d: d.update(turns={}), "'turns' must be a list"),
        (lambda d: d["turns"][2].update(end=1.0), "turns[2] ends before it starts"),
        (lambda d: d["turns"][0].pop("start"), "turns[0] needs numeric"),
        (lambda d: d["turns"][1].update(speaker=None), "turns[1].speaker"),
    ],
)
def test_json_reader_rejects_broken_turns(breakage, complaint, diarized_transcript, tmp_path):
    data = diarized_transcript.to_dict()
    breakage(data)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TranscriptFormatError, match=re.escape(complaint)):
        read_json(path)


def test_json_reader_rejects_non_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("WEBVTT\n")
    with pytest.raises(TranscriptFormatError, match="not a JSON transcript"):
        read_json(path)
    with pytest.raises(InputNotFoundError, match="no such transcript"):
        read_json(tmp_path / "missing.json")
    with pytest.raises(TranscriptFormatError, match="cannot read transcript"):
        read_json(tmp_path)  # a directory
    with pytest.raises(TranscriptFormatError, match="top level"):
        transcript_from_dict([1, 2])


def test_txt_merges_one_speaker_s_segments_into_paragraphs(sample_reference_transcript):
    text = get_writer("txt").render(sample_reference_transcript)
    blocks = text.strip().split("\n\n")
    # 13 utterances, but consecutive ones of one speaker become one paragraph: 9 speaker turns.
    assert len(blocks) == 9
    assert blocks[0] == "Therapist (Dr. Rivera)  [00:00:06.7 - 00:00:07.2]\nHello?"
    assert blocks[2].startswith("Therapist (Dr. Rivera)  [00:00:08.4 - 00:00:09.8]\nOh, hello. I didn't know")


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_txt_round_trips(name, request):
    transcript = request.getfixturevalue(name)
    parsed = parse_txt(get_writer("txt").render(transcript))
    _same_cues(parsed, paragraphs(transcript), transcript, tolerance=0.051)


def test_txt_without_speakers_keeps_segments_apart(sample_reference_transcript):
    from dataclasses import replace

    anonymous = sample_reference_transcript.with_changes(
        segments=tuple(replace(s, speaker=None, words=()) for s in sample_reference_transcript.segments), speakers=()
    )
    parsed = parse_txt(get_writer("txt").render(anonymous))
    assert len(parsed) == 13 and all(c.speaker is None for c in parsed)


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_srt_round_trips(name, request):
    transcript = request.getfixturevalue(name)
    text = get_writer("srt").render(transcript)
    labels = {transcript.speaker_label(s.id) for s in transcript.speakers}
    _same_cues(parse_srt(text, labels), subtitle_cues(transcript), transcript, tolerance=0.0006)
    numbers = [block.split("\n")[0] for block in text.strip().split("\n\n")]
    assert numbers == [str(n) for n in range(1, len(numbers) + 1)]


def test_srt_cues_are_short_and_carry_labels(awkward_transcript, sample_reference_transcript):
    text = get_writer("srt").render(sample_reference_transcript)
    assert "00:00:06,680 --> 00:00:07,160\nTherapist (Dr. Rivera): Hello?" in text
    assert "Client: Hello?" in text
    cues = subtitle_cues(awkward_transcript)
    long = [c for c in cues if c.start >= 3600]
    assert len(long) >= 3 and all(c.end - c.start <= 7.0 for c in long)
    assert "01:00:00,000 --> " in get_writer("srt").render(awkward_transcript)
    for block in get_writer("srt").render(awkward_transcript).strip().split("\n\n"):
        text_lines = block.split("\n")[2:]
        assert 1 <= len(text_lines) <= 3
        assert all(len(line) <= 42 or " " not in line for line in text_lines)


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_vtt_round_trips(name, request):
    transcript = request.getfixturevalue(name)
    _same_cues(parse_vtt(get_writer("vtt").render(transcript)), subtitle_cues(transcript), transcript, tolerance=0.0006)


def test_vtt_has_header_voice_tags_and_escaped_text(awkward_transcript, sample_reference_transcript):
    text = get_writer("vtt").render(awkward_transcript)
    assert text.startswith("WEBVTT\n\n")
    assert "<v SPEAKER_00>Note: &lt;b&gt;5 &gt; 3&lt;/b&gt; &amp; “quotes” --&gt; café</v>" in text
    assert "-->" not in text.replace(" --> ", "")  # the cue text can never fake a timing line
    assert "\n(no speaker)\n" in text  # no voice tag without a speaker
    assert "<v Therapist (Dr. Rivera)>Hello?</v>" in get_writer("vtt").render(sample_reference_transcript)


def test_vtt_reader_insists_on_the_header():
    with pytest.raises(TranscriptFormatError, match="WEBVTT"):
        parse_vtt("1\n00:00:01,000 --> 00:00:02,000\nhi\n")


def test_rttm_lines_and_round_trip(sample_reference_transcript, awkward_transcript):
    text = get_writer("rttm").render(sample_reference_transcript)
    lines = text.splitlines()
    assert lines[0] == "SPEAKER sample 1 6.680 0.480 <NA> <NA> Diane <NA> <NA>"
    assert all(len(line.split()) == 10 for line in lines)
    turns = parse_rttm(text)
    assert [t.speaker for t in turns][:5] == ["Diane", "Sheila", "Diane", "Diane", "Sheila"]
    spoken = sum(s.end - s.start for s in sample_reference_transcript.segments)
    assert sum(t.duration for t in turns) == pytest.approx(spoken, abs=0.01)
    awkward = get_writer("rttm").render(awkward_transcript)
    assert awkward.splitlines()[0].startswith("SPEAKER session_one 1 1.000 ")
    assert "(no speaker)" not in awkward and len(awkward.splitlines()) == 3


def test_rttm_writes_the_diarizer_turns_with_their_overlaps(diarized_transcript):
    from tests.references import SAMPLE_RTTM
    from therapybridge.evaluation import read_rttm, score_diarization
    from therapybridge.types import SpeakerTurn

    text = get_writer("rttm").render(diarized_transcript)
    turns = parse_rttm(text)
    assert [(t.start, round(t.end, 3), t.speaker) for t in turns] == [
        (t.start, round(t.end, 3), t.speaker) for t in sorted(diarized_transcript.turns, key=lambda t: t.start)
    ]
    # Sheila's "oh" at 18.15 s lies inside Diane's turn: both lines are written.
    assert "SPEAKER sample 1 18.050 3.440 <NA> <NA> Diane <NA> <NA>" in text.splitlines()
    assert "SPEAKER sample 1 18.150 0.440 <NA> <NA> Sheila <NA> <NA>" in text.splitlines()
    names = {"speaker90": "Diane", "speaker91": "Sheila"}
    reference = [SpeakerTurn(t.start, t.end, names[t.speaker]) for t in read_rttm(SAMPLE_RTTM)]
    assert score_diarization(reference, turns).der == pytest.approx(0.0, abs=1e-6)


def test_rttm_joins_one_speaker_s_touching_turns_across_another_s_overlap(diarized_transcript):
    from therapybridge.types import SpeakerTurn

    turns = (SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(1.0, 1.5, "B"), SpeakerTurn(2.0, 3.0, "A"), SpeakerTurn(4.0, 5.0, "A"))
    turns_only = diarized_transcript.with_changes(turns=turns)
    lines = [line.split()[3:5] + [line.split()[7]] for line in get_writer("rttm").render(turns_only).splitlines()]
    assert lines == [["0.000", "3.000", "A"], ["1.000", "0.500", "B"], ["4.000", "1.000", "A"]]
    assert turns_only.turns == turns  # rendering changed nothing
