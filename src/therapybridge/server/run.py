"""Start the service: private data directory, job store, supervisor with its workers, then uvicorn in this process."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import DependencyError
from .options import ServerOptions
from .storage import DataDir
from .store import JobStore

logger = logging.getLogger(__name__)

SERVER_EXTRA = "pip install 'therapybridge[server]'"


def open_store(data_dir: str | os.PathLike[str]) -> tuple[DataDir, JobStore]:
    """The data directory (created 0700) and its job store (0600)."""
    os.umask(0o077)
    data = DataDir(Path(data_dir)).ensure()
    return data, JobStore(data.database)


def serve(options: ServerOptions, *, log_level: str = "warning", access_log: bool = False) -> None:
    """Run until interrupted (SIGINT/SIGTERM); workers are stopped and their running jobs queued again."""
    try:
        import uvicorn

        from .app import ServerContext, create_app
    except ImportError as exc:
        raise DependencyError(f"the server needs FastAPI and uvicorn ({SERVER_EXTRA}): {exc}") from exc
    from .supervisor import Supervisor

    data, store = open_store(options.data_dir)
    supervisor = Supervisor(options, store, data).start()
    try:
        app = create_app(ServerContext(options, store, data, supervisor))
        config = uvicorn.Config(
            app, host=options.host, port=options.port, ssl_certfile=options.tls_cert, ssl_keyfile=options.tls_key,
            log_level=log_level, access_log=access_log, lifespan="off", timeout_graceful_shutdown=5,
            # /v1/live: a frame over 1 MiB is refused by the protocol itself (1009; the app refuses over 512 KiB);
            # a pong may be late while live recognition keeps a busy machine's cores, so allow a minute for it.
            ws_max_size=1 << 20, ws_ping_interval=20.0, ws_ping_timeout=60.0,
        )
        uvicorn.Server(config).run()
    finally:
        supervisor.stop()
