"""``therapybridge serve``: a local transcription service for notes apps.

- ``app``: the FastAPI application (jobs API, OpenAI-compatible route, health, readiness); ``create_app``
- ``store``: the SQLite (WAL) job store, leases that make a retried job complete exactly once
- ``worker``/``supervisor``: worker processes with models loaded once; restarts, cancellation, webhooks, retention
- ``tokens``: bearer tokens kept as salted hashes
- ``openai_compat``: ``POST /v1/audio/transcriptions``

FastAPI and uvicorn come with the ``server`` extra; nothing here imports them until the app is built.
"""

from __future__ import annotations

from .options import JobOptions, ServerOptions
from .store import Job, JobStore

__all__ = ["Job", "JobOptions", "JobStore", "ServerOptions"]
