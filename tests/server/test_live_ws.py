"""/v1/live against the real server (tiny.en): a corpus recording streamed as frames, tokens both ways, bad
frames and disconnects ending the session cleanly with what was committed, and the server serving on."""

from __future__ import annotations

import json
import re
import socket
import stat
import time
import wave

import httpx
import numpy as np
import pytest

from therapybridge.server.live_protocol import MAX_FRAME_BYTES, SUBPROTOCOL
from tests.server.conftest import comparable, submit, wait_for
from tests.server.live_client import (
    CLIENT_WORDS,
    CLIP_SECONDS,
    THERAPIST_WORDS,
    Conversation,
    connect,
    corpus_clip,
    frames,
    live_token,
    read_all,
    ready,
    revoke,
    s16le,
    wait_until_idle,
)

LIVE_NAME = "live-session.wav"
SHORT_SECONDS = 3.5  # the therapist's question (1.0-3.3 s), for the sessions that end early


@pytest.fixture(autouse=True)
def idle_server(request):
    """Each test starts when no live session of an earlier test (or of the browser test) is still finishing."""
    if "server" in request.fixturenames:
        wait_until_idle(request.getfixturevalue("server"))


def stream(server, pcm: bytes, rate: int, width: int, start: dict, *, header_token: str | None = None) -> Conversation:
    """One whole session: start, every frame as fast as the socket takes it, stop, then everything until close."""
    conversation = Conversation()
    with connect(server.url, header_token=header_token) as ws:
        ready(ws, conversation, {"sample_rate": rate, **start})
        for frame in frames(pcm, rate, width):
            ws.send(frame)
        ws.send(json.dumps({"type": "stop"}))
        read_all(ws, conversation)
    return conversation


def _words(conversation: Conversation, wanted: tuple[str, ...]) -> list[dict]:
    return [w for w in conversation.committed_words() if w["text"].strip(".,?!").lower() in wanted]


def _client(server, name: str = "live") -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {live_token(server, name)}"},
                        timeout=60)


def _live_jobs(client: httpx.Client) -> list[dict]:
    return [j for j in client.get("/v1/jobs").json()["data"] if j["filename"] == LIVE_NAME]


# ---------------------------------------------------------------------- a whole session, with the final pass
@pytest.fixture(scope="module")
def live_session(server):
    """12 s of corpus d01 as the browser sends it (48 kHz s16le), the token in the subprotocol header."""
    wait_until_idle(server)  # module fixtures come before the autouse one
    token = live_token(server, "live")
    conversation = stream(server, s16le(corpus_clip(48000)), 48000, 2,
                          {"format": "s16le", "final_pass": True}, header_token=token)
    with _client(server) as client:
        job = wait_for(client, conversation.end["job"])
        results = {f: client.get(f"/v1/jobs/{job['id']}/result", params={"format": f}) for f in ("json", "live", "txt")}
    return conversation, job, results


def test_the_token_in_the_header_is_accepted_and_never_echoed(live_session):
    conversation, _, _ = live_session
    assert conversation.subprotocol == SUBPROTOCOL
    ready_message = conversation.messages[0]
    assert ready_message["sample_rate"] == 48000 and ready_message["format"] == "s16le"


def test_committed_words_arrive_with_two_speakers(live_session):
    conversation, _, _ = live_session
    words = conversation.committed_words()
    assert len(words) >= 25, words  # the clip holds 33 words; 33-34 committed on d01 and its 4 re-recordings
    assert all(w["speaker"] for w in words)
    therapist = {conversation.speaker_of(w["speaker"]) for w in _words(conversation, THERAPIST_WORDS)}
    client = {conversation.speaker_of(w["speaker"]) for w in _words(conversation, CLIENT_WORDS)}
    assert len(therapist) == 1 and len(client) == 1 and therapist != client, (therapist, client)
    assert len({conversation.speaker_of(s) for s in conversation.of("speakers")[-1]["speakers"]}) == 2
    partial = conversation.of("partial")
    assert partial and all("speaker" not in w for m in partial for w in m["words"])
    times = [w["end"] for w in words]
    assert times == sorted(times) and times[-1] <= CLIP_SECONDS + 0.5


def test_the_session_ends_once_and_becomes_a_job_whose_final_pass_replaces_the_live_transcript(live_session):
    conversation, job, results = live_session
    end = conversation.end
    assert end["reason"] == "finished" and end["message"] is None and end["state"] == "queued"
    assert conversation.messages[-1] is end and conversation.close_code == 1000
    assert job["state"] == "done" and job["filename"] == LIVE_NAME
    assert job["duration"] == pytest.approx(CLIP_SECONDS, abs=0.05)
    assert all(r.status_code == 200 for r in results.values()), {f: r.text for f, r in results.items()}
    final, live = results["json"].json(), results["live"].json()
    assert final["provenance"].get("live") is None  # the offline pipeline's transcript
    assert final["segments"] and final["audio"]["duration"] == pytest.approx(CLIP_SECONDS, abs=0.05)
    streamed = [w["text"] for w in conversation.committed_words()]
    assert [w["text"] for w in live["live"]["committed_words"]] == streamed
    assert "carry" in results["txt"].text


def test_the_final_pass_equals_an_upload_of_the_same_audio(server, live_session, tmp_path):
    """The 48 kHz PCM the session sent, uploaded as a WAV: the same segments, words, speakers and turns."""
    _, _, results = live_session
    path = tmp_path / "sent.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(s16le(corpus_clip(48000)))
    with _client(server) as client:
        response = submit(client, path, formats="json")
        assert response.status_code == 202, response.text
        assert wait_for(client, response.json()["id"])["state"] == "done"
        offline = client.get(f"/v1/jobs/{response.json()['id']}/result", params={"format": "json"}).json()
    assert comparable(results["json"].json()) == comparable(offline)


def test_the_recording_is_gone_once_the_final_pass_ran_and_results_are_private(server, live_session):
    _, job, _ = live_session
    assert not list((server.data_dir / "uploads").glob("therapybridge-live-*"))
    folder = server.data_dir / "results" / job["id"]
    files = sorted(p.name for p in folder.iterdir())
    assert "transcript.live.json" in files and "transcript.json" in files
    assert all(stat.S_IMODE((folder / name).stat().st_mode) == 0o600 for name in files)
    assert not list((server.data_dir / "results").glob(f".{job['id']}*"))  # no staging or live copy left


# ---------------------------------------------------------------------- tokens
def test_the_token_in_the_first_message_and_no_final_pass(server):
    """16 kHz f32le, token in the start message: the live transcript is the job's result at once."""
    token = live_token(server, "live")
    audio = corpus_clip(16000, SHORT_SECONDS)
    conversation = stream(server, audio.astype("<f4").tobytes(), 16000, 4,
                          {"token": token, "format": "f32le", "final_pass": False, "formats": ["txt", "srt"]})
    end = conversation.end
    assert end["reason"] == "finished" and end["state"] == "done" and conversation.close_code == 1000
    assert _words(conversation, THERAPIST_WORDS)
    with _client(server) as client:
        live = client.get(f"/v1/jobs/{end['job']}/result", params={"format": "live"}).json()
        txt = client.get(f"/v1/jobs/{end['job']}/result", params={"format": "txt"}).text
        assert client.get(f"/v1/jobs/{end['job']}/result", params={"format": "srt"}).status_code == 200
    with _client(server, "live-other") as other:  # another token's session is not visible
        assert other.get(f"/v1/jobs/{end['job']}").status_code == 404
    assert live["provenance"]["live"] is True
    assert [w["text"] for w in live["live"]["committed_words"]] == [w["text"] for w in conversation.committed_words()]
    assert "carry" in txt
    assert not list((server.data_dir / "uploads").glob("therapybridge-live-*"))


@pytest.mark.parametrize("how", ["none", "bad header", "bad message", "revoked"])
def test_a_missing_or_bad_token_closes_with_policy_violation(server, how):
    header = message = None
    if how == "bad header":
        header = "tb_000000000000_" + "A" * 43
    elif how == "bad message":
        message = "not-a-token"
    elif how == "revoked":
        message = live_token(server, "live-revoked")
        revoke(server, "live-revoked")
    conversation = Conversation()
    with connect(server.url, header_token=header) as ws:
        ws.send(json.dumps({"type": "start", **({"token": message} if message else {})}))
        read_all(ws, conversation, timeout=30)
    assert conversation.close_code == 1008
    assert "a valid token is required" in conversation.close_reason
    assert conversation.end["reason"] == "error" and conversation.end["job"] is None
    assert len(conversation.messages) == 1


# ---------------------------------------------------------------------- bad input ends the session cleanly
@pytest.mark.parametrize("bad, code, words", [
    (b"\x01\x02\x03", 1007, "not a whole number of 2-byte samples"),
    ("this is not a message", 1007, "not JSON"),
    ('{"type": "pause"}', 1007, "unexpected message type"),
    (b"\0" * (MAX_FRAME_BYTES + 2), 1009, "larger than"),
])
def test_a_malformed_frame_ends_the_session_with_what_was_committed(server, bad, code, words):
    token = live_token(server, "live")
    conversation = Conversation()
    with connect(server.url) as ws:
        ready(ws, conversation, {"token": token, "format": "s16le", "sample_rate": 16000, "final_pass": False})
        for frame in frames(s16le(corpus_clip(16000, SHORT_SECONDS)), 16000, 2):
            ws.send(frame)
        ws.send(bad)
        read_all(ws, conversation)
    end = conversation.end
    assert conversation.close_code == code and words in conversation.close_reason
    assert end["reason"] == "error" and words in end["message"] and end["state"] == "done"
    assert conversation.messages[-1] is end
    with _client(server) as client:
        live = client.get(f"/v1/jobs/{end['job']}/result", params={"format": "live"}).json()
    assert live["live"]["audio_seconds"] == pytest.approx(SHORT_SECONDS, abs=0.01)  # everything before the bad frame
    assert [w["text"] for w in live["live"]["committed_words"]] == [w["text"] for w in conversation.committed_words()]
    assert _words(conversation, THERAPIST_WORDS)
    assert httpx.get(server.url + "/healthz").status_code == 200


@pytest.mark.parametrize("first", [b"\0\0\0\0", '{"type": "stop"}', '{"type": "start", "format": "opus"}'])
def test_a_wrong_first_message_is_refused(server, first):
    conversation = Conversation()
    with connect(server.url, header_token=live_token(server, "live")) as ws:
        ws.send(first)
        read_all(ws, conversation, timeout=30)
    assert conversation.close_code == 1008 and conversation.end["job"] is None


def test_a_client_that_disconnects_mid_stream_still_gets_its_committed_words_stored(server):
    token = live_token(server, "live")
    with _client(server) as client:
        before = {j["id"] for j in _live_jobs(client)}
    conversation = Conversation()
    ws = connect(server.url)
    ready(ws, conversation, {"token": token, "format": "s16le", "sample_rate": 16000, "final_pass": False})
    for frame in frames(s16le(corpus_clip(16000, SHORT_SECONDS)), 16000, 2):
        ws.send(frame)
    ws.socket.shutdown(socket.SHUT_RDWR)  # gone without a close frame, as a closed laptop lid
    ws.socket.close()
    with _client(server) as client:
        deadline = time.monotonic() + 120
        while not (jobs := [j for j in _live_jobs(client) if j["id"] not in before]) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert jobs, "the disconnected session was not stored"
        (job,) = jobs
        assert job["state"] == "done" and job["duration"] == pytest.approx(SHORT_SECONDS, abs=0.01)
        live = client.get(f"/v1/jobs/{job['id']}/result", params={"format": "live"}).json()
    assert any(w["text"].strip(".,?!").lower() in THERAPIST_WORDS for w in live["live"]["committed_words"])


def test_a_second_session_while_one_runs_is_told_the_server_is_busy(server):
    token = live_token(server, "live")
    first, second = Conversation(), Conversation()
    with connect(server.url, header_token=token) as ws:
        ready(ws, first, {"format": "s16le"})
        with connect(server.url, header_token=token) as other:
            other.send(json.dumps({"type": "start"}))
            read_all(other, second, timeout=30)
        ws.send(json.dumps({"type": "stop"}))
        read_all(ws, first)
    assert second.close_code == 1013 and "busy" in second.end["message"]
    assert first.close_code == 1000 and first.end["reason"] == "finished"
    assert first.end["job"] is None  # no audio came: nothing to store


def test_the_server_still_serves_and_logged_no_token_or_text(server):
    """After every session above: a new one starts, the API answers, and the log holds no secret or transcript."""
    token = live_token(server, "live")
    conversation = stream(server, s16le(np.zeros(8000, dtype=np.float32)), 16000, 2,
                          {"token": token, "final_pass": False})
    assert conversation.close_code == 1000
    with _client(server) as client:
        assert client.get("/v1/jobs").status_code == 200
    assert httpx.get(server.url + "/readyz").status_code == 200
    log = server.log()
    for secret in [*server.tokens.values(), "carry", "knocks"]:
        assert secret not in log
    assert "Traceback" not in log


def test_the_page_and_its_scripts_are_served_with_a_policy_that_allows_nothing_from_elsewhere(server):
    for path in ("/live", "/live/live.js", "/live/live-worklet.js", "/live/live.css"):
        response = httpx.get(server.url + path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "connect-src 'self'" in policy
        assert not re.search(r"(?:https?|wss?)://", response.text), path  # no address of anywhere else
    assert httpx.get(server.url + "/live/secrets.txt").status_code == 404
    assert httpx.get(server.url + "/live/..%2Fapp.py").status_code == 404


def test_recordings_left_by_a_server_that_died_mid_session_are_removed_at_start(tmp_path):
    from therapybridge.server.live import remove_orphan_recordings
    from therapybridge.server.options import JobOptions
    from therapybridge.server.run import open_store

    data, store = open_store(tmp_path / "data")
    queued = data.uploads / "therapybridge-live-queued.wav"  # its session ended: a final pass waits for it
    orphan = data.uploads / "therapybridge-live-orphan.wav"  # its session never ended
    upload = data.uploads / "someone-else.wav"
    for path in (queued, orphan, upload):
        path.write_bytes(b"RIFF")
    store.create_job(token_id="t", options=JobOptions(), filename=LIVE_NAME, audio_path=str(queued),
                     result_dir=str(data.result_dir("j")), job_id="j")
    assert remove_orphan_recordings(store, data) == 1
    assert queued.exists() and upload.exists() and not orphan.exists()


def test_a_failure_inside_the_live_core_ends_the_session_with_1011_and_keeps_what_was_committed(tmp_path, monkeypatch):
    """The real app in-process with a core that fails on its second feed (the real one cannot be made to fail)."""
    from starlette.testclient import TestClient

    import therapybridge.live as live
    from therapybridge.server.app import ServerContext, create_app
    from therapybridge.server.options import ServerOptions
    from therapybridge.server.run import open_store
    from therapybridge.server.tokens import create_token

    word = live.LiveWord(1.0, 1.4, "hello", 0.9, "SPEAKER_00")

    class FailingSession:
        def __init__(self, models, options):
            self.calls = 0

        def feed(self, samples):
            self.calls += 1
            if self.calls > 1:
                raise RuntimeError("a bug in the core")
            return [live.CommittedEvent((word,))]

        def finish(self, reason="finished", message=None):
            return [live.EndEvent(reason, message)]

        def transcript(self):
            utterance = live.UtteranceEvent("SPEAKER_00", 1.0, 1.4, "hello")
            return live.LiveTranscript(words=(word,), utterances=((utterance, (word,)),), relabels=(), aliases=(),
                                       audio_seconds=2.0, model="tiny.en", language="en", settings={})

    monkeypatch.setattr(live, "LiveSession", FailingSession)
    monkeypatch.setattr(live.LiveModels, "load", classmethod(lambda cls, options: object()))
    data, store = open_store(tmp_path / "data")
    token = create_token(store, "t")
    app = create_app(ServerContext(ServerOptions(data_dir=str(data.root), model="tiny.en"), store, data))
    conversation = Conversation()
    with TestClient(app) as client, client.websocket_connect("/v1/live", subprotocols=[SUBPROTOCOL]) as ws:
        ws.send_text(json.dumps({"type": "start", "token": token, "final_pass": False}))
        conversation.messages.append(ws.receive_json())
        for _ in range(40):  # 4 s of 100 ms frames: the second second's feed fails
            ws.send_bytes(b"\0\0" * 1600)
        while (message := ws.receive()).get("type") != "websocket.close":
            conversation.messages.append(json.loads(message["text"]))
        conversation.close_code = message["code"]
        assert client.get("/healthz").status_code == 200
    end = conversation.end
    assert conversation.close_code == 1011
    assert end["reason"] == "error" and end["message"] == "live recognition failed: RuntimeError"
    assert end["state"] == "done" and conversation.committed_words()[0]["text"] == "hello"
    assert "hello" in (data.result_dir(end["job"]) / "transcript.txt").read_text()
    assert not list(data.uploads.iterdir())  # the recording went with the session
