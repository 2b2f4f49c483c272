"""``therapybridge live``: the final pass equals ``transcribe``; stdin (raw and container); bad or cut input ends
cleanly with what was committed written; a missing microphone is one clear line."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.live.conftest import RATE, write_wav
from therapybridge import cli

FAST = ["--model", "tiny.en", "--device", "cpu", "--chunk-seconds", "1.0"]


def invoke(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(cli.app, ["live", *args], input=stdin, catch_exceptions=False)


def _words(path) -> list[str]:
    data = json.loads(path.read_text())
    return [w["word"] for s in data["segments"] for w in s["words"]]


def test_the_final_pass_writes_what_transcribe_writes(clip_wav, tmp_path):
    live_dir, offline_dir = tmp_path / "live", tmp_path / "offline"
    # two speakers given to both: the offline diarizer folds the client's 12 s into one speaker on a 16 s clip
    result = invoke("--input", str(clip_wav), "-o", str(live_dir), "--final-model", "tiny.en", "--speakers", "2",
                    *FAST)
    assert result.exit_code == 0, result.output
    offline = CliRunner().invoke(cli.app, ["transcribe", str(clip_wav), "-o", str(offline_dir), "--model", "tiny.en",
                                           "--device", "cpu", "--speakers", "2"], catch_exceptions=False)
    assert offline.exit_code == 0, offline.output
    for ext in ("json", "txt", "srt", "vtt"):
        assert (live_dir / f"clip.{ext}").exists()
    ours, theirs = (json.loads((d / "clip.json").read_text()) for d in (live_dir, offline_dir))
    for key in ("segments", "speakers", "turns", "language"):
        assert ours[key] == theirs[key], key
    for ext in ("txt", "srt", "vtt"):
        assert (live_dir / f"clip.{ext}").read_text() == (offline_dir / f"clip.{ext}").read_text()
    live = json.loads((live_dir / "clip.live.json").read_text())
    assert live["live"]["committed_words"] and live["provenance"]["live"] is True
    assert stat.S_IMODE((live_dir / "clip.live.json").stat().st_mode) == 0o600
    assert len({s["speaker"] for s in ours["segments"]}) == 2


def test_raw_pcm_on_stdin(clip40, tmp_path):
    pcm = (clip40[: 8 * RATE] * 32767).astype("<i2").tobytes()
    result = invoke("--input", "-", "--raw", "s16le", "--no-final-pass", "--name", "raw", "-o", str(tmp_path),
                    "--format", "json,txt", *FAST, stdin=pcm)
    assert result.exit_code == 0, result.output
    words = _words(tmp_path / "raw.json")
    assert len(words) >= 10 and "carry" in " ".join(words).lower()
    assert (tmp_path / "raw.txt").exists() and (tmp_path / "raw.live.json").exists()


def test_a_container_on_stdin(clip40, tmp_path):
    wav = write_wav(tmp_path / "in.wav", clip40[: 8 * RATE]).read_bytes()
    result = invoke("--input", "-", "--no-final-pass", "--name", "piped", "-o", str(tmp_path / "out"),
                    "--format", "json", *FAST, stdin=wav)
    assert result.exit_code == 0, result.output
    assert len(_words(tmp_path / "out" / "piped.json")) >= 10


def test_malformed_raw_input_ends_cleanly_with_what_was_committed(clip40, tmp_path):
    good = clip40[: 8 * RATE].astype("<f4").tobytes()
    bad = np.full(RATE, np.nan, dtype="<f4").tobytes()
    result = invoke("--input", "-", "--raw", "f32le", "--name", "broken", "-o", str(tmp_path), *FAST,
                    stdin=good + bad + good)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if "error" in line]
    assert len(errors) == 1 and "NaN" in errors[0], result.output
    assert "Traceback" not in result.output
    live = json.loads((tmp_path / "broken.live.json").read_text())
    committed = live["live"]["committed_words"]
    assert committed and max(w["end"] for w in committed) <= 8.5  # nothing after the bad samples
    # the final pass ran over what was heard, so the regular outputs are there too
    assert len(_words(tmp_path / "broken.json")) >= 5


def test_a_file_cut_short_ends_cleanly_with_its_outputs(clip40, tmp_path):
    whole = write_wav(tmp_path / "whole.wav", clip40[: 10 * RATE]).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: len(whole) * 6 // 10])  # the header still says 10 s
    result = invoke("--input", str(cut), "--no-final-pass", "-o", str(tmp_path / "out"), "--format", "json", *FAST)
    assert result.exit_code == 0, result.output
    assert "truncated" in result.output
    assert len(_words(tmp_path / "out" / "cut.json")) >= 5


def test_no_microphone_is_one_clear_line(tmp_path):
    try:
        import sounddevice  # noqa: F401

        has_portaudio = True
    except (ImportError, OSError):
        has_portaudio = False
    if has_portaudio:
        pytest.skip("PortAudio is installed here; the no-microphone path is the one without it")
    result = invoke("--input", "mic", "-o", str(tmp_path), *FAST)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "PortAudio" in lines[0] and "error" in lines[0], result.output
    assert not list(tmp_path.iterdir())


def test_usage_errors():
    assert invoke("--input", "x.wav", "--raw", "s16le").exit_code == 2
    assert invoke("--input", "-", "--realtime").exit_code == 2
    assert invoke("--input", "x.wav", "--format", "nope").exit_code == 2
