"""`make test` and `make lint` are real checks: no silent skip of the browser tests, no ignored lint failures."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", *args, f"PY={sys.executable}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_make_test_fails_naming_chromium_when_it_is_missing():
    result = _make("check-test-deps", "CHROMIUM=/nonexistent/chromium")
    assert result.returncode != 0
    assert "apt-get install chromium" in result.stdout + result.stderr


def test_make_test_checks_its_dependencies_first():
    dry = _make("-n", "-o", ".venv/.installed", "test")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.index("chromium") < dry.stdout.index("pytest")


def test_make_lint_runs_ruff_and_fails_on_its_findings():
    dry = _make("-n", "-o", ".venv/.installed", "lint")
    assert dry.returncode == 0, dry.stderr
    assert "ruff check src tests benchmarks" in dry.stdout and "|| true" not in dry.stdout
    assert subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True).returncode == 0
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make lint") < ci.index("make test")
