"""``therapybridge enroll``, ``profiles list|remove`` and ``render`` as a user runs them."""

from __future__ import annotations

import json
import stat

import pytest

from tests.conftest import run_cli
from therapybridge.types import AudioInfo, Segment, SpeakerInfo, Transcript, Word


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("therapybridge: error: "), result.stderr
    return lines[0]


def test_enroll_list_remove(tmp_path, therapist_clip):
    store = tmp_path / "profiles"
    done = run_cli("enroll", "Dr. Rivera", "--role", "therapist", str(therapist_clip), "--profiles", str(store))
    assert done.returncode == 0, done.stderr
    assert "enrolled Dr. Rivera as therapist" in done.stderr
    assert stat.S_IMODE(store.stat().st_mode) == 0o700

    again = run_cli("enroll", "Dr. Rivera", str(therapist_clip), "--profiles", str(store))
    assert again.returncode == 1 and "--replace" in _one_error_line(again)

    listed = run_cli("profiles", "list", "--profiles", str(store))
    assert listed.returncode == 0 and listed.stdout.split()[:3] == ["Dr.", "Rivera", "therapist"]

    assert run_cli("profiles", "remove", "Dr. Rivera", "--profiles", str(store)).returncode == 0
    missing = run_cli("profiles", "remove", "Dr. Rivera", "--profiles", str(store))
    assert missing.returncode == 1 and "no voice profile named" in _one_error_line(missing)
    assert "no voice profiles" in run_cli("profiles", "list", "--profiles", str(store)).stderr


def test_enroll_usage_and_input_errors(tmp_path):
    bad_role = run_cli("enroll", "X", "--role", "supervisor", "x.wav", "--profiles", str(tmp_path))
    assert bad_role.returncode == 2 and "unknown role" in _one_error_line(bad_role)
    missing = run_cli("enroll", "X", str(tmp_path / "nope.wav"), "--profiles", str(tmp_path))
    assert missing.returncode == 1 and "nope.wav" in _one_error_line(missing)
    assert run_cli("enroll").returncode == 2


def _transcript(audio: str) -> Transcript:
    words_a = (Word(0.5, 0.9, " Hello", 0.95, "SPEAKER_00"), Word(0.9, 1.4, " there.", 0.31, "SPEAKER_00"))
    words_b = (Word(2.0, 2.4, " Hi", 0.9, "SPEAKER_01"), Word(2.4, 3.0, " <b>you</b>", 0.9, "SPEAKER_01"))
    return Transcript(
        audio=AudioInfo(audio, 4.0),
        language="en",
        segments=(Segment(0.5, 1.4, " Hello there.", words_a, "SPEAKER_00"), Segment(2.0, 3.0, " Hi <b>you</b>", words_b, "SPEAKER_01")),
        speakers=(SpeakerInfo("SPEAKER_00", "SPEAKER_00"), SpeakerInfo("SPEAKER_01", "SPEAKER_01")),
    )


def test_render_with_corrections(tmp_path):
    (tmp_path / "session.wav").write_bytes(b"")
    source = tmp_path / "session.json"
    source.write_text(json.dumps(_transcript("session.wav").to_dict()))
    out = tmp_path / "out"
    done = run_cli(
        "render", str(source), "--format", "srt,vtt,txt,html,json", "-o", str(out),
        "--rename", 'SPEAKER_00="Dr. Rivera"', "--role", "SPEAKER_00=therapist", "--role", "SPEAKER_01=client",
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"session.{e}" for e in ("html", "json", "srt", "txt", "vtt")]
    txt = (out / "session.txt").read_text()
    assert "Dr. Rivera" in txt and "Client" in txt and "SPEAKER_0" not in txt
    speakers = json.loads((out / "session.json").read_text())["speakers"]
    assert [(s["label"], s["role"]) for s in speakers] == [("Dr. Rivera", "therapist"), ("Client", "client")]
    page = (out / "session.html").read_text()
    assert 'src="../session.wav"' in page  # found beside the JSON, referenced relative to the page
    assert "&lt;b&gt;you&lt;/b&gt;" in page and "<b>you</b>" not in page


def test_corrections_keep_the_diarizer_turns_under_their_speaker_ids():
    from therapybridge.roles.cli import apply_corrections
    from therapybridge.types import SpeakerTurn
    from therapybridge.writers import get_writer

    turns = (SpeakerTurn(0.4, 1.5, "SPEAKER_00"), SpeakerTurn(1.2, 1.4, "SPEAKER_01"), SpeakerTurn(1.9, 3.1, "SPEAKER_01"))
    original = _transcript("a.wav").with_changes(turns=turns)
    corrected = apply_corrections(original, {"SPEAKER_00": "Dr. Rivera"}, {"SPEAKER_01": "client"})
    assert corrected.turns == turns and original.speakers[0].label == "SPEAKER_00"
    assert [s.label for s in corrected.speakers] == ["Dr. Rivera", "Client"]
    rttm = get_writer("rttm").render(corrected)  # ids, not labels, and the overlap kept
    assert [line.split()[7] for line in rttm.splitlines()] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_01"]


def test_render_role_only_relabels_neutral_and_role_labels(tmp_path):
    data = _transcript("a.wav").to_dict()
    data["speakers"] = [
        {"id": "SPEAKER_00", "label": "Therapist (Dr. Rivera)", "role": "therapist"},
        {"id": "SPEAKER_01", "label": "Client", "role": "client"},
    ]
    source = tmp_path / "a.json"
    source.write_text(json.dumps(data))
    done = run_cli("render", str(source), "--format", "json", "-o", str(tmp_path / "o"),
                   "--role", "SPEAKER_00=client", "--role", "SPEAKER_01=therapist")
    assert done.returncode == 0, done.stderr
    speakers = json.loads((tmp_path / "o" / "a.json").read_text())["speakers"]
    assert [(s["label"], s["role"]) for s in speakers] == [("Client (Dr. Rivera)", "client"), ("Therapist", "therapist")]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--format", "pdf"], 2, "unknown format"),
        (["--rename", "SPEAKER_09=Someone"], 2, "no speaker 'SPEAKER_09'"),
        (["--role", "SPEAKER_01=boss"], 2, "unknown role"),
        (["--rename", "SPEAKER_01"], 2, "SPEAKER_ID=VALUE"),
    ],
)
def test_render_usage_errors(tmp_path, args, code, message):
    source = tmp_path / "a.json"
    source.write_text(json.dumps(_transcript("a.wav").to_dict()))
    result = run_cli("render", str(source), *args)
    assert result.returncode == code and message in _one_error_line(result)


def test_render_rejects_invalid_transcripts(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"audio": {"path": "a.wav"}, "segments": []}')
    not_json = tmp_path / "notes.json"
    not_json.write_text("Dr. Rivera said hello")
    for path in (broken, not_json, tmp_path / "absent.json"):
        result = run_cli("render", str(path), "--format", "txt")
        assert result.returncode == 1 and path.name in _one_error_line(result)
    assert not list(tmp_path.glob("*.txt"))
