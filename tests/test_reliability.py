"""Reliability and privacy: the bad-input corpus, atomic outputs, interruption, offline runs, skip-existing."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from therapybridge import errors
from tests.badinputs import build_corpus
from tests.conftest import run_cli
from tests.references import SAMPLE_WAV, reference_text
from therapybridge.evaluation import normalize

FAST = ("--model", "tiny.en", "--no-progress")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def fast_pipeline():
    from therapybridge import AudioTranscriptionPipeline

    return AudioTranscriptionPipeline(device="cpu", asr__model="tiny.en")


FAILING = {
    "zero_bytes": errors.InputError,
    "text_as_wav": errors.AudioDecodeError,
    "video_no_audio": errors.NoAudioStreamError,
    "nan_inf": errors.InvalidAudioError,
}


@pytest.mark.parametrize("case", sorted(FAILING))
def test_broken_input_raises_a_typed_error(case, corpus, fast_pipeline):
    with pytest.raises(FAILING[case]) as info:
        fast_pipeline.process(corpus[case])
    assert "\n" not in str(info.value).strip()


@pytest.mark.parametrize("case", sorted(FAILING))
def test_broken_input_fails_in_the_cli_with_one_line(case, corpus, tmp_path):
    out = tmp_path / "out"
    result = run_cli("transcribe", str(corpus[case]), "-o", str(out), *FAST)
    _assert_one_line_failure(result, corpus[case], out)


def test_missing_input_raises_not_found(fast_pipeline, tmp_path):
    with pytest.raises(errors.InputNotFoundError):
        fast_pipeline.process(tmp_path / "nope.mp3")


SYSTEM_PYTHON = Path("/usr/bin/python3")


def _as_nobody(*args: str) -> subprocess.CompletedProcess:
    """Run the CLI as the unprivileged user ``nobody``.

    This interpreter may live under /root, out of nobody's reach, so the system Python of the same minor version
    runs the CLI with this environment's packages on its path.
    """
    site = [p for p in sys.path if p.endswith("site-packages")]
    src = str(Path(__file__).resolve().parent.parent / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, *site]), "HOME": "/tmp"}
    code = "import sys; from therapybridge.cli import main; sys.argv[0] = 'therapybridge'; main()"
    return subprocess.run(
        ["runuser", "-u", "nobody", "--", str(SYSTEM_PYTHON), "-c", code, *args],
        capture_output=True, text=True, timeout=300, env=env,
    )


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root to run as another user")
def test_unreadable_input_is_permission_denied():
    probe = _as_nobody("--help") if SYSTEM_PYTHON.exists() else None
    if probe is None or probe.returncode != 0:
        pytest.skip("no system Python that can run this environment's packages as another user")
    shared = Path(tempfile.mkdtemp(prefix="tb-perm-"))
    try:
        shared.chmod(0o755)
        locked = shared / "locked.wav"
        shutil.copy(SAMPLE_WAV, locked)
        locked.chmod(0o000)
        out = shared / "out"
        result = _as_nobody("transcribe", str(locked), "-o", str(out), "--no-diarization", *FAST)
        _assert_one_line_failure(result, locked, out)
        assert "permission" in result.stderr.lower()
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_truncated_mp3_transcribes_what_decodes_with_a_warning(corpus, fast_pipeline, caplog):
    result = fast_pipeline.process(corpus["truncated_mp3"])
    assert result.words, "nothing recognised from the decodable part"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("looks truncated" in m for m in warnings), warnings


def test_video_with_audio_works(corpus, fast_pipeline):
    result = fast_pipeline.process(corpus["video_with_audio"])
    assert result.words


DEGENERATE_WARNINGS = {"one_sample": "ms long; there is nothing to transcribe", "silence": "no speech was found"}


@pytest.mark.parametrize("case", sorted(DEGENERATE_WARNINGS))
def test_degenerate_audio_gives_an_empty_transcript_and_a_warning(case, corpus, fast_pipeline, caplog):
    result = fast_pipeline.process(corpus[case])
    assert result.segments == ()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(DEGENERATE_WARNINGS[case] in m for m in warnings), warnings


def test_white_noise_invents_no_words(corpus, fast_pipeline):
    assert fast_pipeline.process(corpus["white_noise"]).words == ()


@pytest.mark.parametrize("case", ["telephone_8k", "hires_192k_8ch", "clipped"])
def test_unusual_but_valid_recordings_transcribe(case, corpus, fast_pipeline):
    result = fast_pipeline.process(corpus[case])
    words = set(normalize(result.text).split())
    reference = set(normalize(reference_text()).split())
    assert len(words & reference) >= 0.5 * len(words), "mostly invented words"
    assert len(words & reference) >= 20
    assert 29.0 < result.audio.duration < 31.0


def test_short_utterance_works(corpus, fast_pipeline):
    result = fast_pipeline.process(corpus["short_utterance"])
    assert result.audio.duration == pytest.approx(0.3, abs=0.02)


def test_output_dir_that_is_not_writable(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    result = run_cli("transcribe", str(SAMPLE_WAV), "-o", str(blocker / "out"), *FAST, "--no-diarization")
    _assert_one_line_failure(result, SAMPLE_WAV, blocker / "out")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_disk_full_leaves_no_partial_file(tmp_path):
    mount = tmp_path / "full"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(mount)]).returncode != 0:
        pytest.skip("cannot mount tmpfs here")
    try:
        result = run_cli("transcribe", str(SAMPLE_WAV), "-o", str(mount), *FAST, "--no-diarization", "--format", "json,txt,srt")
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "space" in result.stderr.lower() or "disk" in result.stderr.lower()
        assert list(mount.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mount)])


def test_interrupted_run_leaves_no_partial_outputs_and_exits_promptly(tmp_path):
    from tests.datagen import real_voice_session

    # Ten minutes: on this machine tiny.en with diarization needed ~8 s for three, so a signal sent after 8 s could
    # land after the work was done (a -15 exit instead of 130).
    long_input = real_voice_session(minutes=10.0).wav
    out = tmp_path / "out"
    exe = Path(sys.executable).with_name("therapybridge")
    process = subprocess.Popen(
        [str(exe), "transcribe", str(long_input), "-o", str(out), *FAST], stderr=subprocess.PIPE, text=True
    )
    time.sleep(8)
    assert process.poll() is None, "finished before it could be interrupted"
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - started < 20
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs util-linux unshare")
def test_default_backend_runs_with_no_network_at_all(tmp_path):
    exe = Path(sys.executable).with_name("therapybridge")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot create a network namespace here")
    out = tmp_path / "out"
    result = subprocess.run(
        ["unshare", "-n", str(exe), "transcribe", str(SAMPLE_WAV), "-o", str(out), "--no-progress"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads((out / "sample.json").read_text())["speakers"]) == 2


_AUDITED_RUN = r"""
import ipaddress, socket, sys

attempts = []

def _is_loopback(host):
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False

def audit(event, args):
    if event == "socket.connect":
        sock, address = args
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            attempts.append(f"connect {address!r}")
    elif event == "socket.getaddrinfo" and not _is_loopback(args[0]):
        attempts.append(f"getaddrinfo {args[0]!r}")

sys.addaudithook(audit)
sys.argv = ["therapybridge", "transcribe", sys.argv[1], "-o", sys.argv[2], "--model", "tiny.en", "--no-progress"]
from therapybridge.cli import main
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code or 0
for attempt in attempts:
    print("network attempt:", attempt, file=sys.stderr)
sys.exit(3 if attempts else code)
"""


def test_default_run_makes_no_network_attempt_with_a_users_environment(tmp_path):
    """The CLI with default settings (diarization on) in a clean environment: no HF_HUB_OFFLINE, no test variables,
    a fresh home. Any connection to a non-loopback address, or name lookup, fails the test (an audit hook sees
    attempts that a missing network would turn into silent fallbacks)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-c", _AUDITED_RUN, str(SAMPLE_WAV), str(out)], env=env, capture_output=True, text=True,
        timeout=600,
    )
    assert "network attempt" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    assert len(json.loads((out / "sample.json").read_text())["speakers"]) == 2


def test_deidentify_makes_no_network_attempt_with_a_users_environment(tmp_path):
    """``therapybridge deidentify`` (Presidio, spaCy's model, tldextract) under the same audit hook and clean
    environment, on a transcript with a written e-mail address and URL: tldextract checks their domains, and its
    first use would fetch the public suffix list (the project's e-mail recogniser uses the bundled snapshot)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    text = "Write to jane.doe@gmail.co.uk or see https://quill-notes.org/a and call Marisol on March third."
    words = [{"start": i * 0.4, "end": i * 0.4 + 0.3, "word": f" {w}", "speaker": "SPEAKER_00", "probability": 0.9}
             for i, w in enumerate(text.split())]
    transcript = {"audio": {"path": "private-name.wav", "duration": 10.0}, "language": "en",
                  "speakers": [{"id": "SPEAKER_00", "label": "SPEAKER_00"}],
                  "segments": [{"start": 0.0, "end": words[-1]["end"], "speaker": "SPEAKER_00", "text": text,
                                "words": words}]}
    source = tmp_path / "t.json"
    source.write_text(json.dumps(transcript))
    run = _AUDITED_RUN.replace(
        'sys.argv = ["therapybridge", "transcribe", sys.argv[1], "-o", sys.argv[2], "--model", "tiny.en", '
        '"--no-progress"]',
        'sys.argv = ["therapybridge", "deidentify", sys.argv[1], "-o", sys.argv[2], "--format", "json,txt,html"]')
    assert run != _AUDITED_RUN
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", run, str(source), str(out)], env=env, capture_output=True,
                            text=True, timeout=600)
    assert "network attempt" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    assert (out / "t.deid.txt").read_text().split("\n", 1)[1].strip() == \
        "Write to [EMAIL_1] or see [URL_1] and call [NAME_1] on [DATE_1]."


def _plain(text: str) -> str:
    """Lower-case words only. Not Whisper's normaliser: it deletes bracketed text, which would hide a JSON list."""
    return " ".join(re.findall(r"[\w']+", text.lower()))


def test_no_transcript_text_or_file_name_in_logs_and_reports(tmp_path):
    private = tmp_path / "client-jane-doe.wav"
    shutil.copy(SAMPLE_WAV, private)
    out = tmp_path / "out"
    result = run_cli("-vv", "transcribe", str(private), "-o", str(out), *FAST, "--profile", "--redact-paths")
    assert result.returncode == 0, result.stderr
    assert "DEBUG" in result.stderr  # -vv: every record the CLI's loggers create is on stderr
    phrases = _phrases(json.loads((out / "client-jane-doe.json").read_text())["segments"])
    reports = {p.name: p.read_text() for p in out.iterdir() if ".perf." in p.name or p.name.endswith(".trace.json")}
    assert {"client-jane-doe.perf.json", "client-jane-doe.perf.txt", "client-jane-doe.trace.json"} <= set(reports)
    _assert_private(phrases, {"stderr": result.stderr, "stdout": result.stdout, **reports})


def test_no_transcript_text_or_file_name_in_any_log_record(tmp_path):
    """The same in-process: every record of every logger, at debug level, with diarization on."""
    import logging

    from therapybridge import AudioTranscriptionPipeline

    private = tmp_path / "client-jane-doe.wav"
    shutil.copy(SAMPLE_WAV, private)
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        pipeline = AudioTranscriptionPipeline(
            device="cpu", asr__model="tiny.en", enable_performance_logging=True, perf__redact_paths=True,
            perf__verbose=True,
        )
        transcript = pipeline.process(private, output_dir=tmp_path / "out")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    messages = [f"{r.name}: {r.getMessage()}" for r in records]
    assert any(r.levelno == logging.DEBUG for r in records) and any("Pipeline" in m for m in messages)
    _assert_private(_phrases(transcript.to_dict()["segments"]), {f"record {i}": m for i, m in enumerate(messages)})


def _phrases(segments: list[dict]) -> list[str]:
    """Every segment's text, plain; a segment of one or two words ("Okay.") could match an ordinary log word, so
    those are checked as part of the longer run they belong to (each with its neighbours)."""
    texts = [_plain(s["text"]) for s in segments]
    assert len(texts) >= 5 and all(texts)
    return [t if len(t.split()) >= 3 else " ".join(texts[max(0, i - 1) : i + 2]) for i, t in enumerate(texts)]


def _assert_private(phrases: list[str], blobs: dict[str, str]) -> None:
    for where, blob in blobs.items():
        plain = _plain(blob)
        assert "jane-doe" not in blob and "jane doe" not in plain, where
        for phrase in phrases:
            assert phrase not in plain, (where, phrase)


def test_outputs_are_owner_only_and_skip_existing_skips_complete_up_to_date_outputs(tmp_path):
    out = tmp_path / "out"
    args = ("transcribe", str(SAMPLE_WAV), "-o", str(out), *FAST, "--no-diarization", "--format", "json,txt", "--skip-existing")
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in out.iterdir()) == ["sample.json", "sample.txt"]
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    stamp = (out / "sample.json").stat().st_mtime_ns
    second = run_cli(*args, env={"PYTHONPROFILEIMPORTTIME": "1"})  # every import listed on stderr
    assert second.returncode == 0 and "sample.wav: up to date, skipped" in second.stderr
    assert (out / "sample.json").stat().st_mtime_ns == stamp
    assert not re.search(r"\|\s+(torch|faster_whisper)$", second.stderr, re.M), "the rerun built the pipeline"
    changed = run_cli(*args[:-1], "--beam-size", "2", "--skip-existing")
    assert "skipped" not in changed.stderr
    assert (out / "sample.json").stat().st_mtime_ns != stamp


def _assert_one_line_failure(result: subprocess.CompletedProcess, source: Path, out: Path) -> None:
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("therapybridge: error: ")
    assert "Traceback" not in result.stderr
    assert not out.exists() or list(out.iterdir()) == []
