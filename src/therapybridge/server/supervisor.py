"""The supervisor, a thread of the server process: keeps ``--workers`` worker processes alive, retries the jobs of a
worker that died, stops the worker of a deleted job, calls webhooks and deletes results past their retention.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .options import ServerOptions
from .storage import DataDir, remove_paths
from .store import QUEUED, Job, JobStore
from .worker import worker_main

logger = logging.getLogger(__name__)

_TICK_S = 0.2
_RETENTION_EVERY_S = 60.0
_WEBHOOK_TIMEOUT_S = 5.0
_WEBHOOK_TRIES = 3


@dataclass
class _Handle:
    process: Any
    ready: Any


def job_files(data: DataDir, job: Job) -> list[Any]:
    """Everything a job may have on disk: its recording, its results and any staging directory."""
    staging = list(data.results.glob(f".{job.id}.*"))
    return [job.audio_path, job.result_dir, *staging]


def purge_job(store: JobStore, data: DataDir, job: Job) -> None:
    """Remove a job's files, then its row."""
    remove_paths(job_files(data, job))
    store.remove(job.id)


def purge_expired(store: JobStore, data: DataDir, retention_seconds: float) -> int:
    """Delete the results, audio and rows of jobs finished longer than ``retention_seconds`` ago (store's clock)."""
    expired = store.expired(retention_seconds)
    for job in expired:
        purge_job(store, data, job)
    if expired:
        logger.info("retention: removed %d finished job(s)", len(expired))
    return len(expired)


def recover(store: JobStore, max_attempts: int) -> None:
    """At start-up: jobs left running by a server that died are queued again, or failed after their last attempt."""
    for job in store.running():
        state = store.requeue(job.id, max_attempts=max_attempts)
        logger.warning("a job interrupted by a server stop is %s", "queued again" if state == QUEUED else state)


class Supervisor:
    def __init__(self, options: ServerOptions, store: JobStore, data: DataDir) -> None:
        self.options = options
        self.store = store
        self.data = data
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Handle] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="therapybridge-supervisor", daemon=True)
        self._webhooks = ThreadPoolExecutor(max_workers=2, thread_name_prefix="therapybridge-webhook")
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._last_retention = 0.0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "Supervisor":
        recover(self.store, self.options.max_attempts)
        purge_expired(self.store, self.data, self.options.retention_seconds)
        self._last_retention = time.monotonic()
        self._workers = [self._spawn() for _ in range(self.options.workers)]
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the workers; a job they were running is queued again without using up its retry."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for handle in self._workers:
            if handle.process.is_alive():
                handle.process.terminate()
        for handle in self._workers:
            handle.process.join(timeout=10)
            if handle.process.is_alive():
                handle.process.kill()
                handle.process.join()
        pids = {h.process.pid for h in self._workers}
        for job in self.store.running():
            if job.worker_pid in pids:
                self.store.requeue(job.id, max_attempts=self.options.max_attempts, count_attempt=False)
        self._webhooks.shutdown(wait=False, cancel_futures=True)

    @property
    def ready(self) -> bool:
        return any(h.ready.is_set() and h.process.is_alive() for h in self._workers)

    def worker_count(self) -> tuple[int, int]:
        """(alive, ready) worker processes."""
        alive = [h for h in self._workers if h.process.is_alive()]
        return len(alive), sum(1 for h in alive if h.ready.is_set())

    def _spawn(self) -> _Handle:
        ready = self._ctx.Event()
        process = self._ctx.Process(
            target=worker_main, args=(self.options.to_dict(), ready), name="therapybridge-worker", daemon=True
        )
        process.start()
        return _Handle(process, ready)

    # ------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        while not self._stop.wait(_TICK_S):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the supervisor must keep running
                logger.exception("supervisor step failed")

    def tick(self) -> None:
        self._cancel_deleted()
        self._replace_dead_workers()
        self._send_webhooks()
        if time.monotonic() - self._last_retention >= _RETENTION_EVERY_S:
            self._last_retention = time.monotonic()
            purge_expired(self.store, self.data, self.options.retention_seconds)

    def _alive_pids(self) -> set[int]:
        return {h.process.pid for h in self._workers if h.process.is_alive()}

    def _cancel_deleted(self) -> None:
        for job in self.store.deleted_jobs():
            if job.lease is not None and job.worker_pid in self._alive_pids():
                for handle in self._workers:
                    if handle.process.pid == job.worker_pid:
                        os.kill(handle.process.pid, signal.SIGKILL)  # a cancelled run stops at once
                        handle.process.join(timeout=10)
            purge_job(self.store, self.data, job)

    def _replace_dead_workers(self) -> None:
        alive = self._alive_pids()
        for index, handle in enumerate(self._workers):
            if not handle.process.is_alive() and not self._stop.is_set():
                logger.warning("a worker process exited (status %s); starting another", handle.process.exitcode)
                self._workers[index] = self._spawn()
        for job in self.store.running():
            if job.worker_pid not in alive:
                self.store.requeue(job.id, max_attempts=self.options.max_attempts)

    def _send_webhooks(self) -> None:
        for job in self.store.pending_webhooks():
            with self._lock:
                if job.id in self._in_flight:
                    continue
                self._in_flight.add(job.id)
            self._webhooks.submit(self._deliver, job)

    def _deliver(self, job: Job) -> None:
        body = json.dumps({"id": job.id, "state": job.state, "error": job.error, "status_url": f"/v1/jobs/{job.id}",
                           "result_url": f"/v1/jobs/{job.id}/result" if job.state == "done" else None}).encode()
        state = "failed"
        for attempt in range(_WEBHOOK_TRIES):
            try:
                request = urllib.request.Request(
                    job.webhook_url or "", data=body, method="POST", headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=_WEBHOOK_TIMEOUT_S) as response:  # noqa: S310
                    if 200 <= response.status < 300:
                        state = "sent"
                        break
            except (OSError, ValueError) as exc:
                logger.info("webhook attempt %d failed: %s", attempt + 1, type(exc).__name__)
            time.sleep(0.5 * (attempt + 1))
        try:
            self.store.set_webhook_state(job.id, state)
        finally:
            with self._lock:
                self._in_flight.discard(job.id)
