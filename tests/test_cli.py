"""The command line as a user meets it: outputs, exit codes, one-line errors, help text."""

from __future__ import annotations

import json
import re
import stat

import pytest

from tests.conftest import run_cli
from tests.references import SAMPLE_WAV

FIVE = ("json", "txt", "srt", "vtt", "rttm")


@pytest.fixture(scope="module")
def cli_outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli-out")
    result = run_cli("transcribe", str(SAMPLE_WAV), "-o", str(out), "--format", ",".join(FIVE), "--no-progress")
    return out, result


def test_transcribe_writes_all_five_formats(cli_outputs):
    out, result = cli_outputs
    assert result.returncode == 0, result.stderr
    for ext in FIVE:
        path = out / f"sample.{ext}"
        assert path.is_file() and path.stat().st_size > 0, ext
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, ext
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_json_follows_the_contract(cli_outputs):
    out, _ = cli_outputs
    doc = json.loads((out / "sample.json").read_text())
    assert set(doc) >= {"audio", "language", "speakers", "segments", "performance_metrics", "provenance"}
    assert doc["audio"]["path"] == str(SAMPLE_WAV)
    assert 29.5 < doc["audio"]["duration"] < 30.5
    assert [s["id"] for s in doc["speakers"]] == ["SPEAKER_00", "SPEAKER_01"]
    assert all({"id", "label", "role"} <= set(s) for s in doc["speakers"])
    segment = doc["segments"][0]
    assert set(segment) >= {"start", "end", "speaker", "text", "words"}
    assert set(segment["words"][0]) >= {"start", "end", "word", "speaker", "probability"}
    assert set(doc["provenance"]) >= {"tool_version", "schema_version", "model", "model_sha256", "settings"}
    assert "centroid" not in json.dumps(doc)
    # The analytics section's lists (latency histogram edges and counts, the silence map) are documented figures
    # (schemas/transcript.schema.json); an embedding would show up anywhere else.
    figures = {key: value for key, value in doc.items() if key != "analytics"}
    assert not list(_numeric_vectors(figures)), "an embedding-like vector leaked into the transcript"


def _numeric_vectors(node, min_length: int = 16):
    """Every list of at least ``min_length`` plain numbers anywhere in a JSON document (embeddings are 192-d)."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _numeric_vectors(value, min_length)
    elif isinstance(node, list):
        if len(node) >= min_length and all(isinstance(v, (int, float)) for v in node):
            yield node
        for value in node:
            yield from _numeric_vectors(value, min_length)


def test_vtt_has_voice_tags_and_srt_is_numbered(cli_outputs):
    out, _ = cli_outputs
    vtt = (out / "sample.vtt").read_text()
    assert vtt.startswith("WEBVTT") and "<v SPEAKER_0" in vtt
    srt = (out / "sample.srt").read_text()
    assert re.match(r"1\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\n", srt)
    rttm = (out / "sample.rttm").read_text().splitlines()
    assert rttm and all(line.startswith("SPEAKER sample 1 ") for line in rttm)


@pytest.mark.parametrize(
    "make_input, expected",
    [
        (lambda d: d / "missing.wav", "no such file"),
        (lambda d: (d / "empty-dir").mkdir() or d / "empty-dir", "no audio files"),
        (lambda d: (d / "empty.wav").write_bytes(b"") or d / "empty.wav", ""),
        (lambda d: (d / "notes.wav").write_text("these are session notes, not audio\n" * 20) or d / "notes.wav", ""),
    ],
    ids=["nonexistent", "dir-without-audio", "empty-file", "text-as-wav"],
)
def test_bad_inputs_fail_with_one_line_and_no_output(tmp_path, make_input, expected):
    source = make_input(tmp_path)
    out = tmp_path / "out"
    result = run_cli("transcribe", str(source), "-o", str(out), "--no-progress")
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("therapybridge: error: ") and str(source) in lines[0]
    assert expected in lines[0].lower()
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_a_failed_input_does_not_stop_the_batch(tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        "transcribe", str(tmp_path / "missing.wav"), str(SAMPLE_WAV), "-o", str(out), "--model", "tiny.en",
        "--no-diarization", "--format", "json", "--no-progress",
    )
    assert result.returncode == 1
    assert (out / "sample.json").is_file()
    assert "missing.wav" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["transcribe"],
        ["transcribe", str(SAMPLE_WAV), "--format", "docx"],
        ["transcribe", str(SAMPLE_WAV), "--speakers", "2", "--min-speakers", "1"],
        ["transcribe", str(SAMPLE_WAV), "--device", "tpu"],
        ["transcribe", str(SAMPLE_WAV), "--backend", "carrier-pigeon"],
        ["transcribe", str(SAMPLE_WAV), "--speakers", "0"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(args, tmp_path):
    result = run_cli(*args, "-o", str(tmp_path)) if args[0] == "transcribe" and len(args) > 1 else run_cli(*args)
    assert result.returncode == 2, (args, result.stderr)
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())


def test_help_documents_every_option():
    result = run_cli("transcribe", "--help", env={"COLUMNS": "200", "TERM": "dumb"})
    assert result.returncode == 0
    text = re.sub(r"\s+", " ", result.stdout)
    for option in (
        "--output-dir", "--format", "--model", "--device", "--speakers", "--min-speakers", "--max-speakers",
        "--no-diarization", "--language", "--backend", "--profile", "--allow-remote", "--allow-download",
        "--batch-size", "--beam-size", "--compute-type", "--initial-prompt", "--hotwords", "--skip-existing",
        "--redact-paths", "--channel-speakers", "--profiles", "--no-roles",
    ):
        assert option in text, option


def test_starting_the_cli_loads_no_model_library():
    """Every command is registered on each start; torch and faster-whisper load only when a command needs them, so
    `therapybridge profiles list` or a usage error answers at once."""
    import subprocess
    import sys

    probe = "import sys, therapybridge.cli; print(sorted({'torch', 'faster_whisper', 'ctranslate2'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
