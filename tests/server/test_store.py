"""The job store on its own: retention with a fake clock, retries, leases, token hashes."""

from __future__ import annotations

import sqlite3

from therapybridge.server.options import JobOptions
from therapybridge.server.storage import DataDir
from therapybridge.server.store import DONE, FAILED, QUEUED, JobStore
from therapybridge.server.supervisor import purge_expired, recover
from therapybridge.server.tokens import create_token, verify_token


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _store(tmp_path):
    clock = FakeClock()
    data = DataDir(tmp_path / "data").ensure()
    return JobStore(data.database, clock=clock), data, clock


def _job(store: JobStore, data: DataDir, job_id: str):
    audio = data.audio_path(job_id, "a.wav")
    audio.write_bytes(b"RIFF")
    results = data.result_dir(job_id)
    results.mkdir()
    (results / "transcript.json").write_text("{}")
    return store.create_job(token_id="t", options=JobOptions(), filename="a.wav", audio_path=str(audio),
                            result_dir=str(results), job_id=job_id)


def _rows(store: JobStore) -> int:
    return sqlite3.connect(store.path).execute("SELECT COUNT(*) FROM jobs").fetchone()[0]


def test_zero_day_retention_removes_results_audio_and_rows(tmp_path):
    store, data, clock = _store(tmp_path)
    job = _job(store, data, "j1")
    claimed, lease = store.claim(worker_pid=1)
    assert store.finish(claimed.id, lease)
    assert purge_expired(store, data, retention_seconds=7 * 86400) == 0  # a week: kept
    clock.now += 1.0
    assert purge_expired(store, data, retention_seconds=0) == 1
    assert store.get(job.id) is None and _rows(store) == 0
    assert list(data.results.iterdir()) == [] and list(data.uploads.iterdir()) == []


def test_retention_counts_from_when_the_job_ended(tmp_path):
    store, data, clock = _store(tmp_path)
    _job(store, data, "j1")
    claimed, lease = store.claim(worker_pid=1)
    clock.now += 10 * 86400  # queued/running time does not count
    store.finish(claimed.id, lease)
    clock.now += 6 * 86400
    assert purge_expired(store, data, 7 * 86400) == 0
    clock.now += 86400 + 1
    assert purge_expired(store, data, 7 * 86400) == 1 and _rows(store) == 0


def test_a_job_is_retried_once_after_a_crash_then_failed(tmp_path):
    store, data, _ = _store(tmp_path)
    _job(store, data, "j1")
    _, first = store.claim(worker_pid=1)
    recover(store, max_attempts=2)  # the server died with the job running
    assert store.get("j1").state == QUEUED
    _, second = store.claim(worker_pid=2)
    assert not store.finish("j1", first)  # the first attempt's lease no longer counts
    recover(store, max_attempts=2)
    job = store.get("j1")
    assert job.state == FAILED and job.attempts == 2 and "stopped" in job.error and job.completions == 0
    assert not store.finish("j1", second)


def test_completion_needs_the_current_lease(tmp_path):
    store, data, _ = _store(tmp_path)
    _job(store, data, "j1")
    _, lease = store.claim(worker_pid=1)
    store.mark_deleted("j1")
    assert not store.finish("j1", lease) and store.get("j1") is None
    _job(store, data, "j2")
    _, lease = store.claim(worker_pid=1)
    assert store.finish("j2", lease) and not store.finish("j2", lease)
    assert store.get("j2").state == DONE and store.get("j2").completions == 1


def test_tokens_verify_and_only_their_hash_is_kept(tmp_path):
    store, _, _ = _store(tmp_path)
    token = create_token(store, "notes")
    assert verify_token(store, token) and verify_token(store, token + "x") is None
    assert verify_token(store, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert token.split("_")[-1].encode() not in store.path.read_bytes()
    store.revoke_token("notes")
    assert verify_token(store, token) is None
