"""The FastAPI application: the jobs API, the OpenAI-compatible route, health and readiness.

``create_app(context)`` builds it around a ``ServerContext`` (options, job store, data directory and, when workers
run, the supervisor). Nothing here logs a file name or transcript text; uploads are stored under the job's id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import ConfigurationError, TherapyBridgeError
from .options import JobOptions, ServerOptions
from .results import MEDIA_TYPES, result_text
from .schemas import ErrorBody, Health, JobList, JobStatus, Readiness
from .storage import DataDir, NotAudio, TooLong, UploadTooLarge, check_upload_audio, remove_paths, safe_filename
from .store import DONE, KIND_JOB, RUNNING, TERMINAL, Job, JobStore
from .tokens import verify_token

logger = logging.getLogger(__name__)

_SSE_POLL_S = 0.25
_SSE_HEARTBEAT_S = 15.0


class ApiError(Exception):
    """An error answered as ``{"error": {"message", "type", "code"}}`` with ``status``."""

    def __init__(self, status: int, message: str, type: str = "invalid_request_error", headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.headers = status, message, type, headers


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


@dataclass(frozen=True)
class ServerContext:
    """What the routes work with."""

    options: ServerOptions
    store: JobStore
    data: DataDir
    supervisor: Any = None

    def available_models(self) -> tuple[str, ...]:
        from ..asr.models import offline_model_names

        return tuple(dict.fromkeys([self.options.model, *offline_model_names()]))


def _error_json(status: int, message: str, type: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "code": status}}


class _UploadLimit:
    """Answer 413 before reading a body whose declared length is over ``--max-upload-mb`` (plus form overhead)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit + (1 << 20)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            length = dict(scope.get("headers") or []).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.limit:
                message = f"the upload is larger than the server's limit of {(self.limit >> 20) - 1} MB"
                response = JSONResponse(_error_json(413, message, "request_too_large"), status_code=413)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(context: ServerContext) -> FastAPI:
    app = FastAPI(
        title="TherapyBridge Transcribe",
        version=__version__,
        description="Local transcription with speakers: a jobs API and OpenAI's audio transcription endpoint.",
        docs_url=None,  # the interactive pages load scripts from a CDN; this service makes no outside requests
        redoc_url=None,
    )
    app.state.context = context
    app.add_middleware(_UploadLimit, limit=context.options.max_upload_bytes)
    bearer = HTTPBearer(auto_error=False, description="A token from `therapybridge serve token create NAME`.")

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_error_json(exc.status, exc.message, exc.type), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "the request could not be handled"
        return JSONResponse(_error_json(exc.status_code, message, "invalid_request_error"),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("request failed: %s", type(exc).__name__)
        return JSONResponse(_error_json(500, "internal server error", "server_error"), status_code=500)

    def owner(credentials: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> str:
        token_id = verify_token(context.store, credentials.credentials) if credentials is not None else None
        if token_id is None:
            raise ApiError(401, "a valid bearer token is required (Authorization: Bearer tb_…)",
                           "authentication_error", headers={"WWW-Authenticate": "Bearer"})
        return token_id

    def own_job(job_id: str, token_id: str) -> Job:
        job = context.store.get(job_id, token_id=token_id)
        if job is None or job.kind != KIND_JOB:
            raise ApiError(404, "no such job", "not_found_error")
        return job

    # ------------------------------------------------------------------ open endpoints
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return _INDEX

    @app.get("/healthz", response_model=Health, tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}}, tags=["service"])
    def readiness() -> Any:
        supervisor = context.supervisor
        alive, ready = supervisor.worker_count() if supervisor is not None else (0, 0)
        body = {"ready": ready > 0, "workers": alive, "workers_ready": ready}
        return JSONResponse(body, status_code=200 if ready else 503)

    # ------------------------------------------------------------------ jobs
    @app.post("/v1/jobs", status_code=202, response_model=JobStatus, tags=["jobs"],
              responses=error_responses(400, 401, 413, 415))
    def submit_job(
        file: UploadFile = File(..., description="The recording (any format the decoder reads)."),
        model: Optional[str] = Form(None, description="Whisper model name (default: the server's)."),
        speakers: Optional[int] = Form(None, ge=1, le=64, description="Exact number of speakers."),
        min_speakers: Optional[int] = Form(None, ge=1, le=64),
        max_speakers: Optional[int] = Form(None, ge=1, le=64),
        formats: Optional[str] = Form(None, description="Comma-separated: json,txt,srt,vtt,rttm,html,analytics."),
        roles: bool = Form(True, description="Label therapist/client from enrolled voice profiles."),
        diarization: bool = Form(True, description="Find speakers (off: speakers are null)."),
        language: Optional[str] = Form(None, description="Language code, e.g. en (default: detect)."),
        prompt: Optional[str] = Form(None, description="Text that primes recognition (names, jargon)."),
        webhook_url: Optional[str] = Form(None, description="POSTed a JSON status when the job ends."),
        token_id: str = Depends(owner),
    ) -> Any:
        if model is not None and model not in context.available_models():
            raise ApiError(400, f"unknown model {model!r}; this server has {', '.join(context.available_models())}")
        if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
            raise ApiError(400, "webhook_url must be an http:// or https:// URL")
        try:
            options = JobOptions(
                model=model, num_speakers=speakers, min_speakers=min_speakers, max_speakers=max_speakers,
                formats=JobOptions.parse_formats(formats), roles=roles, diarization=diarization,
                language=language or None, prompt=prompt or None,
            )
        except ConfigurationError as exc:
            raise ApiError(400, str(exc)) from None
        job = _accept_upload(context, file, options, token_id, webhook_url=webhook_url)
        return JSONResponse(job.to_dict(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})

    @app.get("/v1/jobs", response_model=JobList, tags=["jobs"], responses=error_responses(401))
    def list_jobs(
        limit: int = Query(20, ge=1, le=100),
        cursor: Optional[int] = Query(None, ge=1, le=2**62, description="next_cursor of the previous page"),
        token_id: str = Depends(owner),
    ) -> dict[str, Any]:
        jobs = context.store.list_jobs(token_id, limit=limit + 1, before=cursor)
        page = jobs[:limit]
        return {"data": [j.to_dict() for j in page], "next_cursor": page[-1].seq if len(jobs) > limit else None}

    @app.get("/v1/jobs/{job_id}", response_model=JobStatus, tags=["jobs"], responses=error_responses(401, 404))
    def job_status(job_id: str, token_id: str = Depends(owner)) -> dict[str, Any]:
        return own_job(job_id, token_id).to_dict()

    @app.get(
        "/v1/jobs/{job_id}/result", tags=["jobs"], response_class=Response,
        responses={200: {"content": {t.split(";")[0]: {} for t in MEDIA_TYPES.values()}},
                   **error_responses(401, 404, 409)},
    )
    def job_result(
        job_id: str,
        format: Literal["json", "txt", "srt", "vtt", "rttm", "html", "analytics", "analytics-csv", "live"] = Query(
            "json", description="live: a live session's transcript as it was committed live (live sessions only)"),
        token_id: str = Depends(owner),
    ) -> Response:
        job = own_job(job_id, token_id)
        if job.state != DONE:
            raise ApiError(409, f"the job is {job.state}; results exist once it is done", "conflict_error")
        try:
            content = result_text(Path(job.result_dir or ""), format)
        except (OSError, TherapyBridgeError):
            raise ApiError(404, "the job's results are no longer on the server", "not_found_error") from None
        headers = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                   "script-src 'unsafe-inline'; media-src 'self' blob:"} if format == "html" else {}
        return Response(content, media_type=MEDIA_TYPES[format], headers=headers)

    @app.delete("/v1/jobs/{job_id}", status_code=204, response_class=Response, tags=["jobs"],
                responses=error_responses(401, 404))
    def delete_job(job_id: str, token_id: str = Depends(owner)) -> Response:
        job = own_job(job_id, token_id)
        marked = context.store.mark_deleted(job.id)
        if marked is not None and marked.state != RUNNING:
            from .supervisor import purge_job

            purge_job(context.store, context.data, marked)
        # a running job: the supervisor stops its worker, then removes its files and row
        return Response(status_code=204)

    @app.get("/v1/jobs/{job_id}/events", tags=["jobs"], response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}}, **error_responses(401, 404)})
    async def job_events(job_id: str, token_id: str = Depends(owner)) -> StreamingResponse:
        await asyncio.to_thread(own_job, job_id, token_id)
        return StreamingResponse(_progress_events(context.store, job_id, token_id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    from .openai_compat import register_openai_routes

    register_openai_routes(app, context, owner)
    from .live_routes import register_live_routes

    register_live_routes(app, context)
    return app


def _accept_upload(
    context: ServerContext, upload: UploadFile, options: JobOptions, token_id: str, *,
    webhook_url: str | None = None, kind: str = KIND_JOB, max_seconds: float | None = None,
) -> Job:
    """Store an upload under a new job id, check with the decoder that it is audio, and queue the job."""
    filename = safe_filename(upload.filename)
    job_id = uuid.uuid4().hex
    path = context.data.audio_path(job_id, filename)
    try:
        context.data.save_upload(upload.file, path, context.options.max_upload_bytes)
        duration = check_upload_audio(path, filename, max_seconds=max_seconds)
        return context.store.create_job(
            token_id=token_id, options=options, filename=filename, audio_path=str(path),
            result_dir=str(context.data.result_dir(job_id)), duration=duration, webhook_url=webhook_url, kind=kind,
            job_id=job_id,
        )
    except UploadTooLarge as exc:
        remove_paths([path])
        raise ApiError(413, str(exc), "request_too_large") from None
    except NotAudio as exc:
        remove_paths([path])
        raise ApiError(415, str(exc), "unsupported_media_type") from None
    except TooLong as exc:
        remove_paths([path])
        raise ApiError(413, f"{exc}, the most this endpoint transcribes while you wait (--sync-max-seconds); "
                       "submit it to the jobs API instead: POST /v1/jobs, then GET /v1/jobs/{id}", "request_too_large")
    except BaseException:
        remove_paths([path])
        raise


async def _progress_events(store: JobStore, job_id: str, token_id: str):
    """Server-sent events: ``progress`` on every change of state, stage or percent, then ``done`` or ``failed``."""
    last: tuple[Any, ...] | None = None
    number = 0
    quiet_since = asyncio.get_running_loop().time()
    while True:
        job = await asyncio.to_thread(store.get, job_id, token_id=token_id)
        if job is None:
            yield "event: deleted\ndata: {}\n\n"
            return
        key = (job.state, job.stage, job.percent)
        if key != last:
            last, number = key, number + 1
            event = job.state if job.state in TERMINAL else "progress"
            yield f"id: {number}\nevent: {event}\ndata: {json.dumps(job.to_dict())}\n\n"
            quiet_since = asyncio.get_running_loop().time()
            if job.state in TERMINAL:
                return
        elif asyncio.get_running_loop().time() - quiet_since >= _SSE_HEARTBEAT_S:
            yield ": keep-alive\n\n"
            quiet_since = asyncio.get_running_loop().time()
        await asyncio.sleep(_SSE_POLL_S)


_INDEX = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>TherapyBridge Transcribe</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head><body>
<h1>TherapyBridge Transcribe</h1><p>A local transcription service. The API is described at
<a href="/openapi.json">/openapi.json</a>; every <code>/v1</code> request needs <code>Authorization: Bearer
&lt;token&gt;</code> (<code>therapybridge serve token create NAME</code>).</p></body></html>
"""
