"""``transcribe --ray`` on a real two-node Ray cluster (one CPU per node) against a local run of the same files.

One cluster for the module (Ray start-up is slow). The clips are cut from the bundled sample; both runs use
tiny.en on one recognition thread, so the transcripts must match exactly, performance metrics aside.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.datagen import read_wav, write_wav
from tests.references import SAMPLE_WAV

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.timeout(300)

CLIPS = ((0.0, 10.0), (9.0, 20.0), (18.0, 30.0))  # seconds of the 30 s sample
FORMATS = "json,txt,rttm"
CONFIG = "[asr]\ncpu_threads = 1\n"
STARTUP_S = 180.0


def _patient_get_node(original, seconds: float = STARTUP_S):
    """Ray waits 30 s for a new node to register, which a busy 2-core machine can exceed: keep asking longer."""

    def get_node(*args, **kwargs):
        deadline = time.monotonic() + seconds
        while True:
            try:
                return original(*args, **kwargs)
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    return get_node


@pytest.fixture(scope="module")
def cluster():
    import ray._private.services as services
    from ray.cluster_utils import Cluster

    with pytest.MonkeyPatch.context() as patch:
        # The raylet's own wait for its metrics agent, and the driver's for the raylet, sized for a busy machine.
        patch.setenv("RAY_agent_register_timeout_ms", str(int(STARTUP_S * 1000)))
        patch.setenv("RAY_raylet_start_wait_time_s", str(int(STARTUP_S)))
        patch.setattr(services, "get_node", _patient_get_node(services.get_node))
        waits = {"agent_register_timeout_ms": int(STARTUP_S * 1000), "raylet_start_wait_time_s": int(STARTUP_S)}
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False,
                                                                "_system_config": waits})
        worker = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
    cluster.worker = worker
    yield cluster
    cluster.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    audio, rate = read_wav(SAMPLE_WAV)
    for index, (start, end) in enumerate(CLIPS):
        write_wav(folder / f"clip{index}.wav", audio[int(start * rate):int(end * rate)], rate)
    return folder


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "threads.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def local_outputs(clips, config_file, tmp_path_factory) -> Path:
    """The same files through a local run (the reference), with the thread counts of a one-CPU Ray worker: one
    recognition thread (the config file) and one OpenMP thread, which Ray gives a worker that reserved one CPU."""
    out = tmp_path_factory.mktemp("local")
    result = run_cli("transcribe", str(clips), "-o", str(out), "--format", FORMATS, "--model", "tiny.en",
                     "--device", "cpu", "--config", str(config_file), env={"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    return out


def _ray_args(cluster, clips, out: Path, config_file: Path, *extra: str) -> list[str]:
    return ["transcribe", str(clips), "-o", str(out), "--format", FORMATS, "--model", "tiny.en", "--device", "cpu",
            "--config", str(config_file), "--ray", "--ray-address", cluster.address, *extra]


def _comparable(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("performance_metrics", None)
    return data


def assert_same_outputs(local: Path, remote: Path, stems: list[str]) -> None:
    for stem in stems:
        assert _comparable(remote / f"{stem}.json") == _comparable(local / f"{stem}.json"), stem
        for ext in ("txt", "rttm"):
            assert (remote / f"{stem}.{ext}").read_text() == (local / f"{stem}.{ext}").read_text(), (stem, ext)
    leftovers = [p.name for p in remote.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]
    assert not leftovers


def _stems(clips: Path) -> list[str]:
    return sorted(p.stem for p in clips.glob("*.wav"))


def test_ray_run_matches_local_run_on_two_nodes(cluster, clips, config_file, local_outputs, tmp_path):
    out = tmp_path / "ray"
    result = run_cli(*_ray_args(cluster, clips, out, config_file, "--profile"))
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr
    assert_same_outputs(local_outputs, out, _stems(clips))
    report = json.loads((out / "cluster.perf.json").read_text())
    assert report["files_ok"] == len(CLIPS) and report["retries"] == 0
    assert len({w["node"] for w in report["workers"].values()}) == 2  # one actor on each node
    assert all(w["files"] >= 1 for w in report["workers"].values())
    assert {"Whisper Transcription", "Speaker Diarization"} <= set(report["stages"])
    assert (out / "batch.perf.json").is_file()

    again = run_cli(*_ray_args(cluster, clips, out, config_file, "--skip-existing"))
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("up to date, skipped") == len(CLIPS)


def test_bytes_transport_with_a_bad_file(cluster, clips, config_file, local_outputs, tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for clip in clips.glob("*.wav"):
        (inputs / clip.name).write_bytes(clip.read_bytes())
    (inputs / "broken.wav").write_bytes(b"RIFF" + os.urandom(4000))
    out = tmp_path / "ray"
    result = run_cli(*_ray_args(cluster, inputs, out, config_file, "--ray-transport", "bytes"))
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("therapybridge: error:")]
    assert len(errors) == 1 and "broken.wav" in errors[0], result.stderr
    assert not list(out.glob("broken.*"))
    # The bytes went to a temporary copy on the worker: the transcripts still name the driver's files.
    local = tmp_path / "local-named"
    local.mkdir()
    for path in local_outputs.iterdir():
        text = path.read_text(encoding="utf-8").replace(str(clips), str(inputs))
        (local / path.name).write_text(text, encoding="utf-8")
    for stem in _stems(clips):  # input_sha256 etc. are the same bytes; only the folder differs
        assert json.loads((out / f"{stem}.json").read_text())["audio"]["path"] == str(inputs / f"{stem}.wav")
    assert_same_outputs(local, out, _stems(clips))


def test_a_node_that_dies_mid_file_loses_nothing(cluster, clips, config_file, local_outputs, tmp_path):
    out = tmp_path / "ray"
    exe = Path(sys.executable).with_name("therapybridge")
    process = subprocess.Popen(
        [str(exe), "-vv", *_ray_args(cluster, clips, out, config_file, "--profile")],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=dict(os.environ),
    )
    lines: list[str] = []
    on_worker_node = threading.Event()
    sent = f"sent to the worker on node {cluster.worker.node_id}"

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if sent in line:
                on_worker_node.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # Kill the worker node's raylet the moment a file has gone to it: that file is in flight there, whatever the
    # order the two workers started and finished in (waiting for the first file done raced with the last one).
    assert on_worker_node.wait(240), "".join(lines)
    cluster.remove_node(cluster.worker, allow_graceful=False)
    process.wait(240)
    reader.join(10)
    assert process.returncode == 0, "".join(lines)
    assert_same_outputs(local_outputs, out, _stems(clips))
    report = json.loads((out / "cluster.perf.json").read_text())
    assert report["retries"] >= 1 and report["files_ok"] == len(CLIPS)
