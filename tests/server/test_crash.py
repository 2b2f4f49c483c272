"""kill -9 of the server mid-job: after a restart the job completes exactly once, with the uninterrupted outputs."""

from __future__ import annotations

import time

from therapybridge.server.store import JobStore
from tests.references import SAMPLE_WAV
from tests.server.conftest import UPLOAD_NAME, WebhookReceiver, comparable, start_server, submit, wait_for


def test_a_job_running_when_the_server_is_killed_completes_once_after_restart(tmp_path, server, sample_job):
    with server.client("alice") as client:
        reference = client.get(f"/v1/jobs/{sample_job['id']}/result").json()
    receiver = WebhookReceiver()
    crashed = start_server(tmp_path)
    try:
        with crashed.client("alice") as client:
            job_id = submit(client, SAMPLE_WAV, UPLOAD_NAME, formats="json,txt,srt,vtt,rttm,html",
                            webhook_url=receiver.url).json()["id"]
            status = wait_for(client, job_id, states=("running", "done"))
            while status["state"] == "running" and status["stage"] != "Speaker Diarization":
                time.sleep(0.05)
                status = client.get(f"/v1/jobs/{job_id}").json()
            assert status["state"] == "running", "the job finished before the kill; nothing was interrupted"
        crashed.kill()
        store = JobStore(crashed.data_dir / "jobs.sqlite3")
        assert store.get(job_id).state == "running"

        crashed.start()
        with crashed.client("alice") as client:
            status = wait_for(client, job_id)
            assert status["state"] == "done", status
            assert status["attempts"] == 2
            result = client.get(f"/v1/jobs/{job_id}/result").json()
            assert client.get("/v1/jobs").json()["data"][0]["id"] == job_id
        job = store.get(job_id)
        assert job.completions == 1
        assert comparable(result) == comparable(reference)
        received = receiver.wait(1)
        time.sleep(1.0)
        assert [r["id"] for r in receiver.received] == [job_id] and received[0]["state"] == "done"
        assert list((crashed.data_dir / "uploads").iterdir()) == []
        assert sorted(p.name for p in (crashed.data_dir / "results").iterdir()) == [job_id]
    finally:
        crashed.stop()
        receiver.close()
