"""The jobs API and the OpenAI-compatible route against the real server (tiny.en, the bundled sample)."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import UPLOAD_NAME, cli, submit, wait_for

FORMATS = ("json", "txt", "srt", "vtt", "rttm", "html", "analytics", "analytics-csv")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_open_endpoints_need_no_token(server):
    with server.client(None) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        ready = anonymous.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        spec = anonymous.get("/openapi.json").json()
        assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/audio/transcriptions"} <= set(spec["paths"])
        assert anonymous.get("/").status_code == 200


@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/jobs"), ("POST", "/v1/jobs"), ("GET", "/v1/jobs/x"), ("GET", "/v1/jobs/x/result"),
    ("GET", "/v1/jobs/x/events"), ("DELETE", "/v1/jobs/x"), ("POST", "/v1/audio/transcriptions"),
])
def test_every_api_request_without_a_valid_token_gets_401(server, method, path):
    for headers in ({}, {"Authorization": "Bearer tb_000000000000_" + "A" * 43}, {"Authorization": "Basic eDp5"}):
        response = httpx.request(method, server.url + path, headers=headers, timeout=30)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_revoked_token_gets_401(server):
    token = server.token("revoked-app")
    assert httpx.get(server.url + "/v1/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    revoked = cli("serve", "token", "revoke", "revoked-app", "--data-dir", str(server.data_dir))
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(server.url + "/v1/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    listed = cli("serve", "token", "list", "--data-dir", str(server.data_dir)).stdout
    assert "revoked-app" in listed and "revoked" in listed and token not in listed


def test_tokens_are_stored_only_as_salted_hashes(server):
    token = server.token("alice")
    database = (server.data_dir / "jobs.sqlite3").read_bytes()
    secret = token.rsplit("_", 1)[1]
    assert secret.encode() not in database and token.encode() not in database


def test_job_reports_progress_over_sse_and_completes(sample_job):
    events = sample_job["events"]
    assert events[-1]["event"] == "done"
    progress = [e["data"] for e in events if e["event"] == "progress" and e["data"]["state"] == "running"]
    stages = [p["stage"] for p in progress]
    assert "Whisper Transcription" in stages and "Speaker Diarization" in stages
    percents = [p["percent"] for p in progress] + [events[-1]["data"]["percent"]]
    assert percents == sorted(percents) and percents[-1] == 100.0
    status = sample_job["status"]
    assert status["state"] == "done" and status["error"] is None and status["attempts"] == 1
    assert sample_job["submitted"]["state"] == "queued"


def test_every_result_format(server, sample_job):
    from therapybridge.writers import parse_rttm, parse_srt, parse_vtt

    job_id = sample_job["id"]
    with server.client("alice") as client:
        results = {fmt: client.get(f"/v1/jobs/{job_id}/result", params={"format": fmt}) for fmt in FORMATS}
    assert all(r.status_code == 200 for r in results.values()), {f: r.text for f, r in results.items()}
    transcript = results["json"].json()
    assert len(transcript["speakers"]) == 2 and len(transcript["segments"]) >= 5
    assert all(w["speaker"] for s in transcript["segments"] for w in s["words"])
    assert transcript["audio"]["path"] == UPLOAD_NAME
    assert len(parse_srt(results["srt"].text)) >= len(transcript["segments"])
    assert results["vtt"].text.startswith("WEBVTT") and parse_vtt(results["vtt"].text)
    assert parse_rttm(results["rttm"].text)
    assert transcript["segments"][0]["text"].strip()[:20] in results["txt"].text
    assert results["srt"].headers["content-type"].startswith("application/x-subrip")
    page = results["html"].text
    assert results["html"].headers["content-type"].startswith("text/html")
    assert 'src=""' in page and "uploads" not in page and job_id not in page  # no link to the deleted recording
    analytics = results["analytics"].json()
    assert {s["id"] for s in analytics["analytics"]["speakers"]} == {s["id"] for s in transcript["speakers"]}
    assert results["analytics-csv"].headers["content-type"].startswith("text/csv")
    assert results["analytics-csv"].text.splitlines()[0].count(",") >= 2


def test_audio_is_deleted_when_the_job_ends_and_files_are_private(server, sample_job):
    assert list((server.data_dir / "uploads").iterdir()) == []
    results = server.data_dir / "results" / sample_job["id"]
    written = ["json", "txt", "srt", "vtt", "rttm", "html", "json", "csv"]  # analytics: .analytics.json and .csv
    assert sorted(p.suffix for p in results.iterdir()) == sorted(f".{f}" for f in written)
    for directory in (server.data_dir, server.data_dir / "uploads", results):
        assert _mode(directory) == 0o700
    for path in [*results.iterdir(), server.data_dir / "jobs.sqlite3"]:
        assert _mode(path) == 0o600, path


def test_webhook_is_called_once_on_completion(sample_job, webhook):
    received = webhook.wait(1)
    time.sleep(1.0)  # no second call follows
    mine = [r for r in webhook.received if r["id"] == sample_job["id"]]
    assert len(mine) == 1 and mine[0]["state"] == "done" and mine[0]["result_url"].endswith("/result")
    assert received


def test_a_token_sees_only_its_own_jobs(server, sample_job):
    job_id = sample_job["id"]
    with server.client("bob") as bob:
        assert bob.get(f"/v1/jobs/{job_id}").status_code == 404
        assert bob.get(f"/v1/jobs/{job_id}/result").status_code == 404
        assert bob.get(f"/v1/jobs/{job_id}/events").status_code == 404
        assert bob.delete(f"/v1/jobs/{job_id}").status_code == 404
        assert bob.get("/v1/jobs").json()["data"] == []
    with server.client("alice") as alice:
        assert alice.get(f"/v1/jobs/{job_id}").status_code == 200


def test_listing_is_paged_and_delete_removes_everything(server, sample_job, clips):
    with server.client("carol") as carol:
        ids = [submit(carol, clips["quiet"], diarization="false").json()["id"] for _ in range(3)]
        for job_id in ids:
            assert wait_for(carol, job_id)["state"] == "done"
        first = carol.get("/v1/jobs", params={"limit": 2}).json()
        assert [j["id"] for j in first["data"]] == ids[::-1][:2] and first["next_cursor"]
        second = carol.get("/v1/jobs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
        assert [j["id"] for j in second["data"]] == [ids[0]] and second["next_cursor"] is None

        assert carol.delete(f"/v1/jobs/{ids[0]}").status_code == 204
        assert carol.get(f"/v1/jobs/{ids[0]}").status_code == 404
        assert not (server.data_dir / "results" / ids[0]).exists()
        assert ids[0] not in [j["id"] for j in carol.get("/v1/jobs").json()["data"]]


def test_deleting_a_running_job_cancels_it(server, clips):
    with server.client("dave") as dave:
        job_id = submit(dave, clips["clip15"], formats="json").json()["id"]
        wait_for(dave, job_id, states=("running",))
        assert dave.delete(f"/v1/jobs/{job_id}").status_code == 204
        assert dave.get(f"/v1/jobs/{job_id}").status_code == 404
        deadline = time.monotonic() + 20
        leftovers = ["?"]
        while leftovers and time.monotonic() < deadline:
            leftovers = [p for d in ("uploads", "results") for p in (server.data_dir / d).iterdir() if job_id in p.name]
            time.sleep(0.2)
        assert leftovers == []
        # the stopped worker is replaced and the service becomes ready again
        deadline = time.monotonic() + 120
        while httpx.get(server.url + "/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert httpx.get(server.url + "/readyz").status_code == 200


def test_not_audio_gets_415_with_the_decoders_reason(server, clips):
    with server.client("alice") as client:
        response = submit(client, clips["text"], "my-notes.wav")
    assert response.status_code == 415, response.text
    message = response.json()["error"]["message"]
    assert "my-notes.wav" in message and "audio" in message and "uploads" not in message
    assert list((server.data_dir / "uploads").glob("*")) == []


def test_oversized_upload_gets_413(server):
    with server.client("alice") as client:
        response = client.post("/v1/jobs", files={"file": ("big.wav", b"\0" * (5 << 20), "audio/wav")})
    assert response.status_code == 413 and "limit" in response.json()["error"]["message"]


def test_bad_options_get_400(server, clips):
    with server.client("alice") as client:
        for fields in ({"speakers": 2, "min_speakers": 1}, {"formats": "json,docx"}, {"model": "../../etc"},
                       {"min_speakers": 3, "max_speakers": 2}, {"webhook_url": "file:///etc/passwd"}):
            response = submit(client, clips["quiet"], **fields)
            assert response.status_code == 400, (fields, response.text)


def test_a_failed_job_gives_the_cli_error_line(server, clips, tmp_path):
    with server.client("alice") as client:
        job_id = submit(client, clips["nan"], "broken.wav", diarization="false").json()["id"]
        status = wait_for(client, job_id)
        assert client.get(f"/v1/jobs/{job_id}/result").status_code == 409
    assert status["state"] == "failed"
    (tmp_path / "broken.wav").write_bytes(clips["nan"].read_bytes())
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("therapybridge")
    run = subprocess.run([str(exe), "transcribe", "broken.wav", "--model", "tiny.en", "--no-diarization"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    cli_line = [line for line in run.stderr.splitlines() if line.startswith("therapybridge: error:")]
    assert status["error"] == cli_line[0]


# ---------------------------------------------------------------------- OpenAI compatibility
def test_openai_client_verbose_json_with_speakers(server, clips):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.token("alice"), max_retries=0)
    with open(clips["clip15"], "rb") as handle:
        result = client.audio.transcriptions.create(
            model="whisper-1", file=handle, response_format="verbose_json", timestamp_granularities=["word", "segment"]
        )
    assert result.text.strip() and result.duration == pytest.approx(15.0, abs=0.1)
    segments = [s.model_dump() for s in result.segments]
    words = [w.model_dump() for w in result.words]
    assert segments and all(s["speaker"] for s in segments)
    assert words and all(w["speaker"] and w["end"] >= w["start"] for w in words)
    assert " ".join(w["word"] for w in words).split()[:3] == result.text.split()[:3]


def test_openai_client_other_formats(server, clips):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.token("alice"), max_retries=0)
    outputs = {}
    for fmt in ("json", "text", "srt", "vtt"):
        with open(clips["clip6"], "rb") as handle:
            outputs[fmt] = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=handle,
                                                              response_format=fmt, language="en")
    text = outputs["json"].text
    assert text.strip() and outputs["text"].strip() == text.strip()
    assert "-->" in outputs["srt"] and outputs["vtt"].startswith("WEBVTT")
    assert list((server.data_dir / "uploads").glob("*")) == []  # synchronous requests keep nothing


def test_openai_route_refuses_long_and_non_audio_files(server, clips):
    from tests.references import SAMPLE_WAV

    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.token("alice"), max_retries=0)
    with pytest.raises(openai.APIStatusError) as too_long, open(SAMPLE_WAV, "rb") as handle:
        client.audio.transcriptions.create(model="whisper-1", file=handle)
    assert too_long.value.status_code == 413 and "/v1/jobs" in too_long.value.message
    with pytest.raises(openai.APIStatusError) as not_audio, open(clips["text"], "rb") as handle:
        client.audio.transcriptions.create(model="whisper-1", file=handle)
    assert not_audio.value.status_code == 415
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server.url}/v1", api_key="sk-wrong", max_retries=0).audio.transcriptions.create(
            model="whisper-1", file=open(clips["clip6"], "rb"))


def test_logs_hold_no_transcript_text_and_no_file_names(server, sample_job):
    with server.client("alice") as client:
        transcript = client.get(f"/v1/jobs/{sample_job['id']}/result").json()
    log = server.log()
    assert UPLOAD_NAME not in log and "jane-doe" not in log and "my-notes" not in log
    for segment in transcript["segments"]:
        words = segment["text"].strip()
        if len(words) > 12:
            assert words not in log
    assert json.dumps(transcript["segments"][0]["text"]) not in log
