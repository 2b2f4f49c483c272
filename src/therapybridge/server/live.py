"""``/v1/live``: a live session over a WebSocket, run by the live core in the server process.

One session at a time: the live models are loaded once (at the first session) and stay loaded, and a second
session while one runs is closed at once with 1013 ("try again later") instead of queueing, because a queued
microphone would lose its audio. Recognition (``LiveSession.feed``) runs on the one live thread, never on the event
loop; frames that arrive meanwhile wait (up to :data:`MAX_PENDING_SECONDS`, then TCP back-pressure) and are fed
together. The audio is recorded as it is fed (16 kHz float, the core's ``Recording``) to a private WAV under ``uploads/``;
when the session ends,
however it ends, what was committed is written out and the session becomes a job: with ``final_pass`` a queued
job that the workers run through the offline pipeline (the live transcript kept as ``transcript.live.json``),
without it a finished job whose result is the live transcript. Nothing here logs a token, text or audio.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TherapyBridgeError
from .live_protocol import (
    CLOSE_ERROR,
    CLOSE_INVALID_DATA,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TRY_LATER,
    LIVE_RATE,
    FrameDecoder,
    LiveStart,
    ProtocolViolation,
    parse_message,
    parse_start,
    token_from_subprotocols,
)
from .results import STEM, write_results
from .storage import DataDir, remove_paths
from .store import Job, JobStore
from .tokens import verify_token

logger = logging.getLogger(__name__)

FIRST_MESSAGE_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 60.0  # no frame for this long: the source has ended
MAX_PENDING_SECONDS = 30.0  # audio received but not yet fed; beyond it the server stops reading (back-pressure)
FEED_SECONDS = 1.0  # the most audio given to one feed() call, so events keep flowing when frames queued up
LIVE_FILENAME = "live-session.wav"


@dataclass
class _Outcome:
    reason: str = "finished"  # one of the core's end reasons
    message: str | None = None
    code: int = CLOSE_NORMAL
    open: bool = True  # the client is still there to be told


RECORDING_GLOB = "therapybridge-live-*.wav"  # the live core's Recording names


def remove_orphan_recordings(store: JobStore, data: DataDir) -> int:
    """At start-up: delete live recordings no job refers to (a server that died mid-session left them)."""
    kept = store.audio_paths()
    orphans = [p for p in data.uploads.glob(RECORDING_GLOB) if str(p) not in kept]
    remove_paths(orphans)
    if orphans:
        logger.warning("removed %d recording(s) of live sessions interrupted by a server stop", len(orphans))
    return len(orphans)


class LiveService:
    """The live models and the one live thread of a server process."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="therapybridge-live")
        self._models: Any = None
        self.busy = False  # touched only on the event loop
        remove_orphan_recordings(context.store, context.data)

    def base_options(self) -> Any:
        from ..live import LiveOptions

        server = self.context.options
        threads = {"cpu_threads": server.cpu_threads} if server.cpu_threads else {}
        return LiveOptions(model=server.model, device=server.device, **threads)

    def session_options(self, start: LiveStart) -> Any:
        import dataclasses

        return dataclasses.replace(self.base_options(), speakers=start.num_speakers, min_speakers=start.min_speakers,
                                   max_speakers=start.max_speakers)

    def models(self) -> Any:
        """Load once (on the live thread), then reuse."""
        if self._models is None:
            from ..live import LiveModels

            started = time.perf_counter()
            self._models = LiveModels.load(self.base_options())
            logger.info("live models loaded in %.1f s", time.perf_counter() - started)
        return self._models

    async def call(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


async def serve_live(websocket: Any, service: LiveService) -> None:
    """Run one ``/v1/live`` connection from handshake to close."""
    header_token, subprotocol = token_from_subprotocols(list(websocket.scope.get("subprotocols") or []))
    await websocket.accept(subprotocol=subprotocol)
    claimed = False
    try:
        text = await _first_text(websocket)
        message = parse_message(text)
        token = header_token or message.get("token")
        store: JobStore = service.context.store
        token_id = await asyncio.to_thread(verify_token, store, token) if isinstance(token, str) else None
        if token_id is None:
            raise ProtocolViolation(CLOSE_POLICY, "a valid token is required: in the first message as \"token\", or "
                                    "offered as the subprotocol bearer.<token>")
        start, _ = parse_start(message)
        if service.busy:
            raise ProtocolViolation(CLOSE_TRY_LATER, "busy: another live session is running on this server; "
                                    "try again when it ends")
        service.busy = claimed = True
        await _run_session(websocket, service, start, token_id)
    except ProtocolViolation as exc:
        await _end(websocket, _Outcome("error", str(exc), exc.code), job=None)
    except _Gone:
        pass
    except TherapyBridgeError as exc:  # e.g. the live models cannot be loaded: say so, keep serving
        await _end(websocket, _Outcome("error", _one_line(exc), CLOSE_ERROR), job=None)
    except Exception as exc:  # noqa: BLE001 - one bad session must not take the server down
        logger.error("live session failed: %s", type(exc).__name__)
        logger.debug("live session failure", exc_info=True)
        await _end(websocket, _Outcome("error", "the live session failed on the server", CLOSE_ERROR), job=None)
    finally:
        if claimed:
            service.busy = False


class _Gone(Exception):
    """The client went away before the session started."""


async def _first_text(websocket: Any) -> str:
    try:
        async with asyncio.timeout(FIRST_MESSAGE_TIMEOUT_S):
            message = await websocket.receive()
    except TimeoutError:
        raise ProtocolViolation(CLOSE_POLICY, f"no start message within {FIRST_MESSAGE_TIMEOUT_S:g} s") from None
    if message["type"] == "websocket.disconnect":
        raise _Gone
    if message.get("text") is None:
        raise ProtocolViolation(CLOSE_POLICY, 'the first message must be the JSON text {"type": "start", ...}')
    return message["text"]


class _Audio:
    """Frames received but not yet fed (16 kHz float32), with back-pressure on the reader."""

    def __init__(self) -> None:
        self.pieces: list[np.ndarray] = []
        self.pending = 0
        self.done = False
        self.abandoned = False  # nobody takes audio any more (recognition failed)
        self.changed = asyncio.Condition()

    async def put(self, samples: np.ndarray) -> None:
        async with self.changed:
            if samples.size and not self.abandoned:
                self.pieces.append(samples)
                self.pending += samples.size
                self.changed.notify_all()
            await self.changed.wait_for(lambda: self.abandoned or self.pending <= MAX_PENDING_SECONDS * LIVE_RATE)

    async def abandon(self) -> None:
        async with self.changed:
            self.abandoned = True
            self.pieces, self.pending = [], 0
            self.changed.notify_all()

    async def close(self) -> None:
        async with self.changed:
            self.done = True
            self.changed.notify_all()

    async def take(self) -> np.ndarray | None:
        """Up to :data:`FEED_SECONDS` of audio; None once the reader is done and nothing is left."""
        async with self.changed:
            await self.changed.wait_for(lambda: self.pending > 0 or self.done)
            if not self.pending:
                return None
            joined = np.concatenate(self.pieces) if len(self.pieces) > 1 else self.pieces[0]
            limit = int(FEED_SECONDS * LIVE_RATE)
            chunk, rest = joined[:limit], joined[limit:]
            self.pieces = [rest] if rest.size else []
            self.pending = rest.size
            self.changed.notify_all()
            return chunk


async def _run_session(websocket: Any, service: LiveService, start: LiveStart, token_id: str) -> None:
    from ..audio.ops import StreamResampler
    from ..live import LiveSession, Recording

    context = service.context
    job_id = uuid.uuid4().hex
    started = context.store.clock()
    models = await service.call(service.models)
    session = LiveSession(models, service.session_options(start))
    recording = Recording(context.data.uploads)
    resampler = StreamResampler(start.sample_rate, LIVE_RATE, keep=False) if start.sample_rate != LIVE_RATE else None
    logger.info("live session started (%s at %d Hz)", start.format, start.sample_rate)
    await _send(websocket, {"type": "ready", "session": job_id, **start.to_dict()})
    audio = _Audio()
    outcome = _Outcome()
    reader = asyncio.create_task(_read_frames(websocket, start, recording, resampler, audio, outcome))
    try:
        failure = await _feed_until_done(websocket, service, session, audio, outcome)
        if failure is not None:  # set first, so that the reader, stopped here, flushes nothing into a dead queue
            outcome.reason, outcome.message, outcome.code = "error", failure, CLOSE_ERROR
            await audio.abandon()
            reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        end = await _finish(websocket, service, session, outcome)
    finally:
        if not reader.done():
            reader.cancel()
        recording.close()
    try:
        job = await service.call(_store_session, context, job_id, token_id, start, session, recording, started)
    except Exception as exc:  # noqa: BLE001 - e.g. the disk is full: the client hears why, the server serves on
        logger.error("a live session's results could not be stored: %s", type(exc).__name__)
        reason = _one_line(exc) if isinstance(exc, TherapyBridgeError) else type(exc).__name__
        outcome.reason, outcome.message, outcome.code = "error", f"the results could not be stored: {reason}", \
            CLOSE_ERROR
        job = None
    logger.info("live session ended (%s, %.1f s of audio)", outcome.reason, recording.seconds)
    await _end(websocket, outcome, job=job, end=end)


async def _read_frames(websocket: Any, start: LiveStart, recording: Any, resampler: Any, audio: _Audio,
                       outcome: _Outcome) -> None:
    """Receive until ``stop``, a disconnect, an idle source or a bad message; records and queues the audio."""
    decoder = FrameDecoder(start.format)

    async def take(samples: np.ndarray) -> None:
        recording.write(samples)
        await audio.put(samples)

    try:
        while True:
            try:
                async with asyncio.timeout(IDLE_TIMEOUT_S):  # unlike wait_for, never swallows a cancellation
                    message = await websocket.receive()
            except TimeoutError:
                outcome.reason, outcome.message = "source-ended", f"no audio for {IDLE_TIMEOUT_S:g} s"
                return
            if audio.abandoned:  # recognition failed: nothing more is taken
                return
            if message["type"] == "websocket.disconnect":
                outcome.reason, outcome.message, outcome.open = "disconnected", "the client disconnected", False
                return
            if message.get("bytes") is not None:
                samples = decoder.decode(message["bytes"])
                await take(resampler.feed(samples) if resampler is not None else samples)
                continue
            command = parse_message(message.get("text") or "")
            if command["type"] == "stop":
                return
            raise ProtocolViolation(CLOSE_INVALID_DATA, f"unexpected message type {command['type'][:20]!r} "
                                    '(after start: binary audio frames, then {"type": "stop"})')
    except ProtocolViolation as exc:
        outcome.reason, outcome.message, outcome.code = "error", str(exc), exc.code
    except Exception as exc:  # noqa: BLE001 - e.g. the recording's disk is full: end with what was committed
        logger.error("live session input failed: %s", type(exc).__name__)
        outcome.reason, outcome.message, outcome.code = "error", "the server could not take the audio", CLOSE_ERROR
    finally:
        try:
            if resampler is not None and outcome.code == CLOSE_NORMAL:
                await take(resampler.flush())
        finally:
            await audio.close()


async def _finish(websocket: Any, service: LiveService, session: Any, outcome: _Outcome) -> dict[str, Any]:
    """Commit what remains and send it; the core's end event (the service adds the job to it)."""
    try:
        events = await service.call(session.finish, outcome.reason, outcome.message)
    except Exception as exc:  # noqa: BLE001 - what was committed before is still stored
        logger.debug("live finish failed", exc_info=True)
        if outcome.reason != "error":
            outcome.reason, outcome.message, outcome.code = "error", f"live recognition failed: {type(exc).__name__}", \
                CLOSE_ERROR
        return {"type": "end"}
    if outcome.open:
        await _send_events(websocket, events, outcome)
    return next((e.to_dict() for e in events if e.type == "end"), {"type": "end"})


async def _feed_until_done(websocket: Any, service: LiveService, session: Any, audio: _Audio,
                           outcome: _Outcome) -> str | None:
    """Feed every queued chunk (also after the client left: it was received) and send the events; the failure's
    one line when the core failed."""
    while (chunk := await audio.take()) is not None:
        try:
            events = await service.call(session.feed, chunk)
        except TherapyBridgeError as exc:
            return f"live recognition failed: {_one_line(exc)}"
        except Exception as exc:  # noqa: BLE001 - the session ends cleanly with what it committed
            logger.debug("live feed failed", exc_info=True)
            return f"live recognition failed: {type(exc).__name__}"
        if outcome.open:
            await _send_events(websocket, events, outcome)
    return None


async def _send_events(websocket: Any, events: list[Any], outcome: _Outcome) -> None:
    for event in events:
        if event.type == "end":  # the service sends its own end, with the job
            continue
        if not await _send(websocket, event.to_dict()):
            outcome.open = False
            return


async def _send(websocket: Any, payload: dict[str, Any]) -> bool:
    try:
        await websocket.send_text(json.dumps(payload))
        return True
    except Exception:  # noqa: BLE001 - a client that went away; the session still ends cleanly
        return False


async def _end(websocket: Any, outcome: _Outcome, job: Job | None, end: dict[str, Any] | None = None) -> None:
    """The one ``end`` message (where the client is still there), with the job the session became, then the close."""
    if not outcome.open:
        return
    body: dict[str, Any] = {**(end or {"type": "end"}), "reason": outcome.reason, "message": outcome.message,
                            "job": job.id if job is not None else None,
                            "state": job.state if job is not None else None}
    await _send(websocket, body)
    try:
        await websocket.close(code=outcome.code, reason=_close_reason(outcome.message))
    except Exception:  # noqa: BLE001 - already closed by the client
        pass


def _close_reason(message: str | None) -> str:
    """A close frame's reason holds at most 123 bytes of UTF-8."""
    return (message or "").encode("utf-8")[:123].decode("utf-8", "ignore")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ---------------------------------------------------------------------- storing what the session produced
def _store_session(context: Any, job_id: str, token_id: str, start: LiveStart, session: Any, recording: Any,
                   started: float) -> Job | None:
    """The session as a job (None when no audio came): queued for the final pass, or done with the live result.

    Either way the live transcript is ``transcript.live.json`` among the job's results."""
    from ..live import write_live

    data: DataDir = context.data
    store: JobStore = context.store
    seconds = recording.seconds
    if not seconds:
        recording.discard()
        return None
    live = session.transcript()
    options = start.job_options()
    if start.final_pass:
        write_live(live, data.live_dir(job_id), STEM)  # the worker moves it beside the final results
        return store.create_job(token_id=token_id, options=options, filename=LIVE_FILENAME,
                                audio_path=str(recording.path), result_dir=str(data.result_dir(job_id)),
                                duration=seconds, job_id=job_id)
    staging = data.live_dir(job_id)
    try:
        write_results(live.to_transcript(LIVE_FILENAME), staging, options.formats)
        write_live(live, staging, STEM)
        os.replace(staging, data.result_dir(job_id))
    finally:
        remove_paths([staging])
        if not context.options.keep_audio:
            recording.discard()
    return store.add_finished_job(token_id=token_id, options=options, filename=LIVE_FILENAME,
                                  result_dir=str(data.result_dir(job_id)), duration=seconds, started=started,
                                  job_id=job_id)
