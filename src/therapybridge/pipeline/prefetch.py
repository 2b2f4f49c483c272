"""Batch prefetch: the next input is decoded and preprocessed on its own thread while the current one runs."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Prepared = TypeVar("Prepared")
_POLL_S = 0.1  # how often a producer blocked on the full queue looks whether the consumer went away


class Prefetcher(Generic[Prepared]):
    """Prepare ``paths`` one ahead of the consumer, in order; ``take()`` returns the next prepared input.

    Used as a context manager: leaving it (the batch finished, or its caller stopped early) stops the producer and
    hands everything it prepared but nobody took to ``discard``, so no decoded audio outlives the batch.
    ``idle_after_first`` lowers the producer to idle CPU priority once the first input is handed over.
    """

    def __init__(
        self,
        paths: Sequence[str],
        prepare: Callable[[str], Prepared],
        discard: Callable[[Prepared], None],
        *,
        idle_after_first: bool,
    ) -> None:
        self._paths = list(paths)
        self._prepare = prepare
        self._discard = discard
        self._idle_after_first = idle_after_first
        self._ahead: "queue.Queue[Prepared]" = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._taken = 0
        self._thread = threading.Thread(target=self._produce, name="therapybridge-prefetch", daemon=True)

    def __enter__(self) -> "Prefetcher[Prepared]":
        self._thread.start()
        return self

    def take(self) -> Prepared:
        self._taken += 1
        return self._ahead.get()

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self._stop.set()
        self._discard_queued()  # the producer drains too, after its last put: nothing stays behind
        if exc_type is None and self._taken == len(self._paths):
            self._thread.join()  # it has handed over its last input; a caller leaving early never waits for a decode

    def _produce(self) -> None:
        for index, path in enumerate(self._paths):
            if self._stop.is_set():
                break
            if index == 1 and self._idle_after_first:
                run_at_idle_priority()  # from now on a file is being recognised: take only what it leaves idle
            prepared: Prepared | None = self._prepare(path)
            while prepared is not None and not self._stop.is_set():
                try:
                    self._ahead.put(prepared, timeout=_POLL_S)
                    prepared = None
                except queue.Full:
                    continue
            if prepared is not None:
                self._discard(prepared)
        if self._stop.is_set():
            self._discard_queued()

    def _discard_queued(self) -> None:
        while True:
            try:
                self._discard(self._ahead.get_nowait())
            except queue.Empty:
                return


def run_at_idle_priority() -> None:
    """Lower the calling thread (and the decoder threads it starts) to the lowest CPU priority.

    On the CPU, recognition and diarization already keep every core busy; a next-file decode at normal priority
    only takes turns with them (measured: a batch of five 23-minute files took 1.05x five single runs). At nice 19
    it runs on the cycles they leave idle, and at full speed once the current file is done and nothing else runs.
    Linux applies the nice value per thread; elsewhere this does nothing.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError) as exc:  # not Linux, or not permitted
        logger.debug("prefetch runs at normal priority: %s", exc)
