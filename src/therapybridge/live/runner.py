"""Drive a ``LiveSession`` from a source: read in one thread, recognise in another, keep the audio for the final
pass, end cleanly whatever stops the source."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import TherapyBridgeError
from .events import LiveEvent
from .recording import Recording
from .session import LiveSession
from .transcript import LiveTranscript

logger = logging.getLogger(__name__)

_END = object()


@dataclass(frozen=True)
class LiveRun:
    """How a run ended: ``reason`` as in the end event, ``message`` the one line to show when it did not just
    finish, and ``lag_seconds``: how long after the last sample arrived its feed returned (behind real time)."""

    transcript: LiveTranscript
    reason: str
    message: str | None
    lag_seconds: float
    interrupted: bool = False
    error: BaseException | None = None


def run_live(
    session: LiveSession,
    blocks: Iterable[np.ndarray],
    *,
    on_events: Callable[[list[LiveEvent]], None] = lambda events: None,
    recording: Recording | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> LiveRun:
    """Feed ``blocks`` (read on a background thread) to ``session`` until they end, fail or Ctrl-C."""
    pieces: "queue.Queue[object]" = queue.Queue()
    stop = threading.Event()
    reader = threading.Thread(target=_read, args=(blocks, pieces, stop, clock), name="therapybridge-live-source",
                              daemon=True)
    reader.start()
    reason, message, error, interrupted = "finished", None, None, False
    last_arrival, lag = None, 0.0
    try:
        while True:
            item = pieces.get()
            batch: list[np.ndarray] = []
            ended, failure = False, None
            while True:  # everything that arrived while the last decode ran goes in at once
                if item is _END:
                    ended = True
                    break
                if isinstance(item, BaseException):  # after the audio that came before it is heard
                    failure = item
                    break
                block, arrived = item  # type: ignore[misc]
                batch.append(block)
                last_arrival = arrived
                try:
                    item = pieces.get_nowait()
                except queue.Empty:
                    break
            if batch:
                samples = np.concatenate(batch)
                if recording is not None:
                    recording.write(samples)
                on_events(session.feed(samples))
                lag = max(0.0, clock() - last_arrival) if last_arrival is not None else 0.0
            if failure is not None:
                raise failure
            if ended:
                break
    except KeyboardInterrupt:
        reason, message, interrupted = "source-ended", "interrupted; what was committed is kept", True
    except TherapyBridgeError as exc:
        reason, message, error = "source-ended", _first_line(exc), exc
    except Exception as exc:  # noqa: BLE001 - a failure inside recognition still ends the session cleanly
        logger.debug("live session failed", exc_info=True)
        reason, message, error = "error", f"processing failed ({type(exc).__name__}); what was committed is kept", exc
    finally:
        stop.set()
    try:
        on_events(session.finish(reason, message))
    except KeyboardInterrupt:
        interrupted = True
    except Exception as exc:  # noqa: BLE001 - the last decode failed: keep what was committed before it
        logger.debug("the last decode failed", exc_info=True)
        if error is None:
            reason, message, error = "error", f"processing failed ({type(exc).__name__}); what was committed is kept", exc
    return LiveRun(session.transcript(), reason, message, lag, interrupted, error)


def _read(blocks: Iterable[np.ndarray], pieces: "queue.Queue[object]", stop: threading.Event,
          clock: Callable[[], float]) -> None:
    try:
        for block in blocks:
            if stop.is_set():
                return
            pieces.put((np.asarray(block, dtype=np.float32), clock()))
        pieces.put(_END)
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which ends the session with it
        pieces.put(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
