"""write_outputs: every requested file or none, mode 0600, readable errors for unwritable places."""

from __future__ import annotations

import json
import math
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from therapybridge.errors import OutputError
from therapybridge.writers import FORMATS, get_writer, write_outputs
from therapybridge.writers.base import Writer

ALL = ["json", "txt", "srt", "vtt", "rttm"]


def test_writes_every_format_with_private_permissions(sample_reference_transcript, tmp_path):
    out = tmp_path / "new" / "dir"
    paths = write_outputs(sample_reference_transcript, out, "session", ALL)
    assert [p.name for p in paths] == [f"session.{ext}" for ext in ALL]
    for path, name in zip(paths, ALL):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text(encoding="utf-8") == get_writer(name).render(sample_reference_transcript)
    assert sorted(os.listdir(out)) == sorted(p.name for p in paths)  # no temporary files left


def test_replaces_an_existing_output(sample_reference_transcript, tmp_path):
    (tmp_path / "s.txt").write_text("old")
    write_outputs(sample_reference_transcript, tmp_path, "s", ["TXT"])
    assert (tmp_path / "s.txt").read_text().startswith("Therapist (Dr. Rivera)")


def test_output_path_under_a_file_is_a_readable_error(sample_reference_transcript, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError) as info:
        write_outputs(sample_reference_transcript, blocker / "out", "s", ALL)
    assert "choose another with -o" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(OutputError, match="not a directory"):
        write_outputs(sample_reference_transcript, blocker, "s", ["txt"])


def test_a_format_that_fails_to_render_leaves_nothing(sample_reference_transcript, tmp_path, monkeypatch):
    class Broken(Writer):
        format = "broken"
        extension = "broken"

        def render(self, transcript):
            raise RuntimeError("cannot render")

    from therapybridge import writers

    monkeypatch.setitem(writers._REGISTRY, "broken", Broken())
    with pytest.raises(RuntimeError):
        write_outputs(sample_reference_transcript, tmp_path, "s", ["txt", "srt", "broken", "json"])
    assert list(tmp_path.iterdir()) == []


def test_unmeasurable_metrics_become_null_in_json(sample_reference_transcript, tmp_path):
    odd = sample_reference_transcript.with_changes(performance_metrics={"gpu_util": math.nan, "total_duration": 1.5})
    (path,) = write_outputs(odd, tmp_path, "s", ["json"])
    assert json.loads(path.read_text())["performance_metrics"] == {"gpu_util": None, "total_duration": 1.5}


def test_a_registered_format_is_written_too(sample_reference_transcript, tmp_path, monkeypatch):
    class WordList(Writer):
        format = "words"
        extension = "words.txt"

        def render(self, transcript):
            return "\n".join(w.word.strip() for w in transcript.words) + "\n"

    from therapybridge import writers

    monkeypatch.setitem(writers._REGISTRY, "words", WordList())
    assert "words" in FORMATS
    (path,) = write_outputs(sample_reference_transcript, tmp_path, "s", ["words"])
    assert path.name == "s.words.txt" and path.read_text().startswith("Hello?\nHello?\nOh,")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_disk_full_leaves_no_file_behind(sample_reference_transcript, tmp_path):
    mount = tmp_path / "full"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        # The TXT fits in the 4 KiB file system, the JSON does not: the written TXT must be taken back.
        with pytest.raises(OutputError, match="not enough space"):
            write_outputs(sample_reference_transcript, mount, "s", ["txt", "json"])
        assert list(mount.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_file_size_limit_is_reported_as_no_space(tmp_path):
    """Without root: RLIMIT_FSIZE makes the kernel refuse the write (EFBIG), like a full disk."""
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
        from tests.writers.conftest import build_sample_reference_transcript
        from therapybridge.errors import OutputError
        from therapybridge.writers import write_outputs
        transcript = build_sample_reference_transcript()
        try:
            write_outputs(transcript, {str(tmp_path)!r}, "s", ["txt", "json", "srt"])
        except OutputError as exc:
            print(exc)
            sys.exit(3)
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert "not enough space" in result.stdout
    assert list(tmp_path.iterdir()) == []
