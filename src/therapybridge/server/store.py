"""The job store: one SQLite database (WAL mode) under the data directory, shared by the API and the workers.

Every state change is one short transaction, so jobs survive a crash of any process. A worker claims a job with a
fresh *lease*; its progress and its completion only count while that lease is the job's, which is what makes a job
retried after a crash (or deleted mid-run) complete exactly once.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TherapyBridgeError
from .options import JobOptions

logger = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, DELETED = "queued", "running", "done", "failed", "deleted"
TERMINAL = (DONE, FAILED)
KIND_JOB, KIND_SYNC = "job", "sync"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    salt BLOB NOT NULL,
    digest BLOB NOT NULL,
    created REAL NOT NULL,
    revoked REAL
);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    token_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    stage TEXT,
    percent REAL NOT NULL DEFAULT 0,
    options TEXT NOT NULL,
    filename TEXT NOT NULL,
    audio_path TEXT,
    result_dir TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    completions INTEGER NOT NULL DEFAULT 0,
    lease TEXT,
    worker_pid INTEGER,
    webhook_url TEXT,
    webhook_state TEXT,
    duration REAL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (state, kind, seq);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (token_id, seq);
"""


class StoreError(TherapyBridgeError):
    """The job database cannot be opened or used."""


@dataclass(frozen=True)
class Job:
    """One job as stored; ``to_dict()`` is what its owner sees through the API."""

    id: str
    seq: int
    token_id: str
    kind: str
    state: str
    stage: str | None
    percent: float
    options: JobOptions
    filename: str
    audio_path: str | None
    result_dir: str | None
    error: str | None
    attempts: int
    completions: int
    lease: str | None
    worker_pid: int | None
    webhook_url: str | None
    webhook_state: str | None
    duration: float | None
    created: float
    started: float | None
    finished: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "stage": self.stage if self.state == RUNNING else None,
            "percent": round(self.percent, 1),
            "error": self.error,
            "filename": self.filename,
            "duration": self.duration,
            "formats": list(self.options.formats),
            "attempts": self.attempts,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
        }


def _job(row: sqlite3.Row) -> Job:
    values = dict(row)
    values.pop("updated", None)
    values["options"] = JobOptions.from_dict(json.loads(values["options"]))
    return Job(**values)


class JobStore:
    """Jobs and tokens in ``<data_dir>/jobs.sqlite3``; each thread gets its own connection. ``clock`` is injectable."""

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._local = threading.local()
        with self._connection() as db:
            db.executescript(_SCHEMA)
        for suffix in ("", "-wal", "-shm"):
            _chmod(Path(f"{self.path}{suffix}"), 0o600)

    # ------------------------------------------------------------------ connections
    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            try:
                db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA busy_timeout=30000")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the job database {self.path}: {exc}") from exc
            self._local.db, self._local.pid = db, os.getpid()
        return db

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        yield self._connect()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ------------------------------------------------------------------ tokens
    def add_token(self, token_id: str, name: str, salt: bytes, digest: bytes) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO tokens (id, name, salt, digest, created) VALUES (?, ?, ?, ?, ?)",
                (token_id, name, salt, digest, self.clock()),
            )

    def token(self, token_id: str) -> sqlite3.Row | None:
        return self._connect().execute("SELECT * FROM tokens WHERE id = ?", (token_id,)).fetchone()

    def tokens(self) -> list[sqlite3.Row]:
        return self._connect().execute("SELECT * FROM tokens ORDER BY created").fetchall()

    def revoke_token(self, name_or_id: str) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE tokens SET revoked = ? WHERE (id = ? OR name = ?) AND revoked IS NULL",
                (self.clock(), name_or_id, name_or_id),
            )
            return cursor.rowcount

    # ------------------------------------------------------------------ jobs: the API side
    def create_job(
        self,
        *,
        token_id: str,
        options: JobOptions,
        filename: str,
        audio_path: str,
        result_dir: str,
        duration: float | None = None,
        webhook_url: str | None = None,
        kind: str = KIND_JOB,
        job_id: str | None = None,
    ) -> Job:
        job_id = job_id or uuid.uuid4().hex
        now = self.clock()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO jobs (id, token_id, kind, state, options, filename, audio_path, result_dir, duration,"
                " webhook_url, webhook_state, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, token_id, kind, QUEUED, json.dumps(options.to_dict()), filename, audio_path, result_dir,
                 duration, webhook_url, "pending" if webhook_url else None, now, now),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def add_finished_job(
        self, *, token_id: str, options: JobOptions, filename: str, result_dir: str, duration: float | None,
        started: float, job_id: str,
    ) -> Job:
        """A job that is done on arrival: a live session without a final pass, its results already in place."""
        now = self.clock()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO jobs (id, token_id, kind, state, percent, options, filename, result_dir, duration,"
                " attempts, completions, created, started, finished, updated)"
                " VALUES (?, ?, ?, ?, 100, ?, ?, ?, ?, 1, 1, ?, ?, ?, ?)",
                (job_id, token_id, KIND_JOB, DONE, json.dumps(options.to_dict()), filename, result_dir, duration,
                 started, started, now, now),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str, *, token_id: str | None = None) -> Job | None:
        """The job, or None when there is none (or it is deleted, or belongs to another token)."""
        row = self._connect().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or row["state"] == DELETED or (token_id is not None and row["token_id"] != token_id):
            return None
        return _job(row)

    def list_jobs(self, token_id: str, *, limit: int, before: int | None = None) -> list[Job]:
        rows = self._connect().execute(
            "SELECT * FROM jobs WHERE token_id = ? AND kind = ? AND state != ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (token_id, KIND_JOB, DELETED, before if before is not None else 2**62, limit),
        ).fetchall()
        return [_job(row) for row in rows]

    def mark_deleted(self, job_id: str) -> Job | None:
        """Hide the job at once; the caller (or the supervisor, for a running one) removes its files and row."""
        with self._transaction() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET state = ?, updated = ? WHERE id = ?", (DELETED, self.clock(), job_id))
        return _job(row)

    def remove(self, job_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def deleted_jobs(self) -> list[Job]:
        return [_job(r) for r in self._connect().execute("SELECT * FROM jobs WHERE state = ?", (DELETED,)).fetchall()]

    # ------------------------------------------------------------------ jobs: the worker side
    def claim(self, worker_pid: int) -> tuple[Job, str] | None:
        """Take the oldest queued job (synchronous requests first) with a new lease."""
        lease = uuid.uuid4().hex
        now = self.clock()
        with self._transaction() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE state = ? ORDER BY kind = ? DESC, seq LIMIT 1", (QUEUED, KIND_SYNC)
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET state = ?, stage = NULL, percent = 0, lease = ?, worker_pid = ?, attempts = attempts + 1,"
                " started = ?, updated = ? WHERE id = ?",
                (RUNNING, lease, worker_pid, now, now, row["id"]),
            )
        job = self.get(row["id"])
        return (job, lease) if job is not None else None

    def progress(self, job_id: str, lease: str, stage: str, percent: float) -> bool:
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET stage = ?, percent = ?, updated = ? WHERE id = ? AND lease = ? AND state = ?",
                (stage, percent, self.clock(), job_id, lease, RUNNING),
            )
            return cursor.rowcount == 1

    def finish(self, job_id: str, lease: str, *, error: str | None = None) -> bool:
        """Done (``error`` None) or failed, if the lease still holds; False when the job was deleted or re-leased."""
        now = self.clock()
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET state = ?, error = ?, percent = ?, stage = NULL, finished = ?, updated = ?,"
                " completions = completions + ?, lease = NULL WHERE id = ? AND lease = ? AND state = ?",
                (FAILED if error else DONE, error, 0.0 if error else 100.0, now, now, 0 if error else 1,
                 job_id, lease, RUNNING),
            )
            return cursor.rowcount == 1

    def audio_paths(self) -> set[str]:
        """Every recording a job still refers to."""
        rows = self._connect().execute("SELECT audio_path FROM jobs WHERE audio_path IS NOT NULL").fetchall()
        return {row["audio_path"] for row in rows}

    def release_audio(self, job_id: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE jobs SET audio_path = NULL WHERE id = ?", (job_id,))

    # ------------------------------------------------------------------ recovery, retention, webhooks
    def running(self) -> list[Job]:
        return [_job(r) for r in self._connect().execute("SELECT * FROM jobs WHERE state = ?", (RUNNING,)).fetchall()]

    def requeue(self, job_id: str, *, max_attempts: int, count_attempt: bool = True) -> str:
        """A running job whose worker is gone: queued again while it has attempts left, else failed. The new state."""
        now = self.clock()
        with self._transaction() as db:
            row = db.execute("SELECT attempts, state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row["state"] != RUNNING:
                return row["state"] if row is not None else DELETED
            attempts = row["attempts"] if count_attempt else row["attempts"] - 1
            if attempts >= max_attempts:
                db.execute(
                    "UPDATE jobs SET state = ?, error = ?, lease = NULL, finished = ?, updated = ? WHERE id = ?",
                    (FAILED, f"therapybridge: error: the server stopped while transcribing this recording "
                     f"{attempts} times; it was not retried again", now, now, job_id),
                )
                return FAILED
            db.execute(
                "UPDATE jobs SET state = ?, stage = NULL, percent = 0, lease = NULL, worker_pid = NULL, attempts = ?,"
                " updated = ? WHERE id = ?",
                (QUEUED, attempts, now, job_id),
            )
            return QUEUED

    def expired(self, retention_seconds: float) -> list[Job]:
        """Finished jobs whose results are past the retention period (by the store's clock)."""
        cutoff = self.clock() - retention_seconds
        rows = self._connect().execute(
            "SELECT * FROM jobs WHERE state IN (?, ?) AND finished IS NOT NULL AND finished < ?", (*TERMINAL, cutoff)
        ).fetchall()
        return [_job(r) for r in rows]

    def pending_webhooks(self) -> list[Job]:
        rows = self._connect().execute(
            "SELECT * FROM jobs WHERE webhook_state = 'pending' AND state IN (?, ?)", TERMINAL
        ).fetchall()
        return [_job(r) for r in rows]

    def set_webhook_state(self, job_id: str, state: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE jobs SET webhook_state = ? WHERE id = ?", (state, job_id))


def _chmod(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except FileNotFoundError:
        pass
