"""--redact-paths: no input's name in anything the program prints, logs or writes; keyed hashes instead."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat

from therapybridge import redaction
from tests.conftest import run_cli
from tests.references import SAMPLE_WAV

NAME = "jane-doe-intake"  # distinctive enough that any trace of it is a leak


def _everything_written(directory) -> dict[str, str]:
    return {p.name: p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file()}


def test_no_input_name_is_printed_logged_or_written(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    good = inputs / f"{NAME}.wav"
    shutil.copy(SAMPLE_WAV, good)
    bad = inputs / f"{NAME}-notes.wav"
    bad.write_text("session notes, not audio\n" * 20)
    missing = inputs / f"{NAME}-missing.wav"
    out, config = tmp_path / "out", tmp_path / "config"
    result = run_cli(
        "-vv", "transcribe", str(good), str(bad), str(missing), "-o", str(out), "--model", "tiny.en",
        "--no-diarization", "--redact-paths", "--profile", "--format", "json,txt,srt,vtt,rttm,html", "--no-progress",
        env={"THERAPYBRIDGE_CONFIG_DIR": str(config)},
    )
    assert result.returncode == 1, result.stderr  # two inputs failed
    errors = [line for line in result.stderr.splitlines() if line.startswith("therapybridge: error: ")]
    assert len(errors) == 2 and "no such file" in result.stderr, result.stderr
    assert "DEBUG" in result.stderr  # -vv: every log record is on stderr
    assert NAME not in result.stdout and NAME not in result.stderr, result.stderr
    written = _everything_written(out)
    assert {f"{NAME}.json", f"{NAME}.perf.json", f"{NAME}.rttm"} <= set(written)
    for filename, content in written.items():
        assert NAME not in content, filename

    key_file = config / redaction.KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    shown = json.loads(written[f"{NAME}.json"])["audio"]["path"]
    assert shown.startswith("file-") and shown.endswith(".wav") and shown in result.stderr
    unkeyed = hashlib.sha256(f"{NAME}.wav".encode()).hexdigest()
    assert shown[len("file-"):-len(".wav")] not in unkeyed  # a guess hashed without the key does not match


def test_log_records_are_scrubbed_when_created(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(redaction.CONFIG_DIR_ENV, str(tmp_path / "config"))
    path = tmp_path / "walter-p-couples.m4a"
    shown = redaction.protect(path)
    assert shown == redaction.redact_name(path) and shown.endswith(".m4a")
    with caplog.at_level(logging.INFO):
        logging.getLogger("therapybridge.audio.decode").warning("%s: odd header", path)
        logging.getLogger("therapybridge.cli").info("wrote %s", tmp_path / "walter-p-couples.json")
    assert len(caplog.records) == 2
    for record in caplog.records:
        assert "walter-p-couples" not in record.getMessage()
    assert shown in caplog.records[0].getMessage()
    assert redaction.scrub(f"{path.name} and {path}") == f"{shown} and {shown}"


def test_the_key_is_made_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv(redaction.CONFIG_DIR_ENV, str(tmp_path / "a"))
    first = redaction.redact_name("x/session.wav")
    assert redaction.redact_name("elsewhere/session.wav") == first
    monkeypatch.setenv(redaction.CONFIG_DIR_ENV, str(tmp_path / "b"))
    assert redaction.redact_name("x/session.wav") != first  # another key, another form
    assert stat.S_IMODE(os.stat(tmp_path / "b").st_mode) == 0o700
