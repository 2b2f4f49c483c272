"""``therapybridge serve [OPTIONS]`` and ``therapybridge serve token create|list|revoke``.

Registered on the main app by :func:`register`; FastAPI and uvicorn are imported only when the server starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigurationError, TherapyBridgeError

EXIT_FAILED, EXIT_USAGE = 1, 2

serve_app = typer.Typer(help="Run the local transcription service; manage its bearer tokens.")
token_app = typer.Typer(help="Bearer tokens: create (shown once), list, revoke.", no_args_is_help=True)
serve_app.add_typer(token_app, name="token")

_DATA_HELP = "State directory: job database, uploads, results (default: $THERAPYBRIDGE_SERVER_DIR or the user data dir)."


def _echo(message: str) -> None:
    typer.echo(f"therapybridge: {message}", err=True)


def _fail(exc: BaseException | str, code: int = EXIT_FAILED) -> typer.Exit:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    _echo(f"error: {text}")
    return typer.Exit(code)


def _data_dir(ctx: typer.Context, value: Optional[Path]) -> str:
    from .options import default_data_dir

    inherited = (ctx.find_root().meta.get("therapybridge.serve.data_dir") if ctx else None)
    return str(value or inherited or default_data_dir())


@serve_app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback unless you need more)."),
    port: int = typer.Option(8080, "--port", "-p", help="TCP port.", min=0, max=65535),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_HELP),
    workers: int = typer.Option(1, "--workers", "-w", help="Worker processes, each with its own loaded models.", min=1),
    model: str = typer.Option("base", "--model", "-m", help="Default Whisper model (tiny.en, base, a directory)."),
    device: str = typer.Option("cpu", "--device", "-d", help="cpu, cuda, mps or auto."),
    cpu_threads: int = typer.Option(0, "--cpu-threads", help="Threads per worker (0: every core).", min=0),
    sync_max_seconds: float = typer.Option(
        300.0, "--sync-max-seconds", help="Longest recording /v1/audio/transcriptions takes (longer: use jobs)."
    ),
    max_upload_mb: float = typer.Option(2048.0, "--max-upload-mb", help="Largest upload accepted."),
    retention_days: float = typer.Option(7.0, "--retention-days", help="Days results are kept after a job ends."),
    keep_audio: bool = typer.Option(False, "--keep-audio", help="Keep uploaded audio after its job ends."),
    tls_cert: Optional[Path] = typer.Option(None, "--tls-cert", help="TLS certificate (PEM)."),
    tls_key: Optional[Path] = typer.Option(None, "--tls-key", help="TLS private key (PEM)."),
    profiles_dir: Optional[Path] = typer.Option(None, "--profiles", help="Voice-profile store for role labels."),
) -> None:
    """Run the transcription service (jobs API and OpenAI's /v1/audio/transcriptions)."""
    if ctx.invoked_subcommand is not None:
        ctx.find_root().meta["therapybridge.serve.data_dir"] = data_dir
        return
    from .options import ServerOptions
    from .run import serve as run_server

    try:
        options = ServerOptions(
            host=host, port=port, data_dir=_data_dir(ctx, data_dir), workers=workers, model=model, device=device,
            cpu_threads=cpu_threads, sync_max_seconds=sync_max_seconds, max_upload_mb=max_upload_mb,
            retention_days=retention_days, keep_audio=keep_audio,
            tls_cert=str(tls_cert) if tls_cert else None, tls_key=str(tls_key) if tls_key else None,
            profiles_dir=str(profiles_dir) if profiles_dir else None,
        )
    except ConfigurationError as exc:
        raise _fail(exc, EXIT_USAGE) from None
    warning = options.insecure_binding_warning()
    if warning:
        _echo(f"warning: {warning}")
    scheme = "https" if options.tls else "http"
    _echo(f"serving on {scheme}://{host}:{port} with {workers} worker(s); tokens: therapybridge serve token create NAME")
    try:
        run_server(options)
    except TherapyBridgeError as exc:
        raise _fail(exc) from None


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Who or what the token is for, e.g. 'notes-app'."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_HELP),
) -> None:
    """Create a token and print it (to stdout, once; only its salted hash is stored)."""
    from .run import open_store
    from .tokens import create_token

    try:
        _, store = open_store(_data_dir(ctx, data_dir))
        token = create_token(store, name)
    except ConfigurationError as exc:
        raise _fail(exc, EXIT_USAGE) from None
    except TherapyBridgeError as exc:
        raise _fail(exc) from None
    typer.echo(token)


@token_app.command("list")
def token_list(ctx: typer.Context, data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_HELP)) -> None:
    """List tokens: id, name, created, revoked."""
    import datetime

    from .run import open_store
    from .tokens import list_tokens

    _, store = open_store(_data_dir(ctx, data_dir))
    for info in list_tokens(store):
        created = datetime.datetime.fromtimestamp(info.created).isoformat(timespec="seconds")
        state = "revoked" if info.revoked else "active"
        typer.echo(f"{info.id}\t{info.name}\t{created}\t{state}")


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    name_or_id: str = typer.Argument(..., help="A token's name (every live token of that name) or id."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_HELP),
) -> None:
    """Revoke tokens; requests with them get 401 from then on."""
    from .run import open_store
    from .tokens import revoke_token

    _, store = open_store(_data_dir(ctx, data_dir))
    count = revoke_token(store, name_or_id)
    if not count:
        raise _fail(f"no live token is called {name_or_id!r}")
    _echo(f"revoked {count} token(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(serve_app, name="serve")
