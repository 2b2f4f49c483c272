"""schemathesis against the served OpenAPI spec: no 5xx and no response that breaks the documented schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("schemathesis", reason="fuzzing needs schemathesis (the dev extra)")

EXAMPLES = int(os.environ.get("THERAPYBRIDGE_FUZZ_EXAMPLES", "15"))


def run_schemathesis(url: str, token: str, examples: int, report_dir: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("schemathesis")
    return subprocess.run(
        [str(exe), "run", f"{url}/openapi.json", "--checks",
         "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance",
         "--max-examples", str(examples), "--phases", "examples,fuzzing", "--seed", "17", "--no-color",
         "-H", f"Authorization: Bearer {token}", "--request-timeout", "60", "--report-dir", str(report_dir),
         "--suppress-health-check", "all"],
        capture_output=True, text=True, timeout=900,
    )


def test_fuzzing_finds_no_server_error_or_schema_violation(server, tmp_path):
    run = run_schemathesis(server.url, server.token("fuzzer"), EXAMPLES, tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
