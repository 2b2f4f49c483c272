"""Fixtures shared across the test tree: the real sample session through the real pipeline, computed once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.references import SAMPLE_WAV

ROOT = Path(__file__).resolve().parent.parent
# Under pytest-xdist (``make test`` runs two workers on 2 cores) each worker computes on one thread: two workers
# with two OpenMP threads each oversubscribe the cores, and the spinning threads made some tests 3-5x slower.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_name, "1")
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Tests never see (or write) the user's real voice profiles.
os.environ["THERAPYBRIDGE_PROFILES_DIR"] = tempfile.mkdtemp(prefix="tb-test-profiles-")
# ... nor the user's redaction key (--redact-paths).
os.environ["THERAPYBRIDGE_CONFIG_DIR"] = tempfile.mkdtemp(prefix="tb-test-config-")


def pytest_unconfigure(config):
    """The two directories above hold test voice profiles and a redaction key: they go when the run ends, so
    runs do not pile them up in /tmp."""
    for name in ("THERAPYBRIDGE_PROFILES_DIR", "THERAPYBRIDGE_CONFIG_DIR"):
        shutil.rmtree(os.environ[name], ignore_errors=True)


@pytest.fixture(autouse=True)
def _restore_logging():
    """Tests that run the CLI in-process (typer's CliRunner) get its logging set-up: a handler on a stream the
    runner closes and ``propagate = False`` on the package logger. Undo it after each test, so later tests' log
    capture still sees the package's records."""
    import logging

    logger = logging.getLogger("therapybridge")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    perf = logging.getLogger("therapybridge.perf")
    perf_level = perf.level
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
    perf.setLevel(perf_level)


@pytest.fixture(scope="session")
def sample_wav() -> Path:
    return SAMPLE_WAV


@pytest.fixture(scope="session")
def pipeline():
    """One pipeline (default settings: base model, diarization on) shared by every test, models loaded once."""
    from therapybridge import AudioTranscriptionPipeline

    return AudioTranscriptionPipeline(device="cpu")


@pytest.fixture(scope="session")
def sample_transcript(pipeline):
    return pipeline.process(SAMPLE_WAV)


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the installed console script as a user would, capturing text output."""
    exe = Path(sys.executable).with_name("therapybridge")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "therapybridge.cli"]
    return subprocess.run(
        [*command, *args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )
