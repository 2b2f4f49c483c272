"""``POST /v1/audio/transcriptions`` as OpenAI's API has it, so the official ``openai`` client works unchanged.

The request waits for the transcript (recordings up to ``--sync-max-seconds``; longer ones get 413 pointing at the
jobs API). A model name the server does not have, ``whisper-1`` included, means its default model. ``verbose_json``
adds each segment's and each word's speaker. Parameters OpenAI accepts that have no meaning here (``temperature``,
``include[]``, ``chunking_strategy`` …) are accepted and ignored.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Literal, Optional

from fastapi import Depends, FastAPI, File, Form, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ..types import Transcript
from .options import JobOptions
from .results import MEDIA_TYPES, read_transcript, writer_for
from .schemas import TranscriptionText, TranscriptionVerbose
from .store import DONE, FAILED, KIND_SYNC

_WAIT_POLL_S = 0.05

ResponseFormat = Literal["json", "text", "srt", "vtt", "verbose_json"]


def register_openai_routes(app: FastAPI, context: Any, owner: Callable[..., str]) -> None:
    from .app import ApiError, _accept_upload, error_responses
    from .supervisor import purge_job

    @app.post(
        "/v1/audio/transcriptions", tags=["openai"],
        response_model=TranscriptionVerbose | TranscriptionText,
        responses={200: {"content": {"text/plain": {}, "application/x-subrip": {}, "text/vtt": {}}},
                   **error_responses(400, 401, 413, 415)},
    )
    async def transcriptions(
        file: UploadFile = File(..., description="The recording."),
        model: str = Form(..., description="Any name; one the server does not have means its default model."),
        language: Optional[str] = Form(None),
        prompt: Optional[str] = Form(None),
        response_format: ResponseFormat = Form("json"),
        temperature: Optional[float] = Form(None, description="Accepted and ignored."),
        timestamp_granularities: Optional[list[Literal["word", "segment"]]] = Form(
            None, alias="timestamp_granularities[]"
        ),
        stream: Optional[bool] = Form(None, description="Streaming is not offered; true is refused."),
        token_id: str = Depends(owner),
    ) -> Any:
        if stream:
            raise ApiError(400, "streaming transcription is not supported by this server; leave stream unset")
        try:
            options = JobOptions(
                model=model if model in context.available_models() else None,
                language=(language or None), prompt=(prompt or None), formats=("json",),
            )
        except Exception as exc:  # ConfigurationError from a malformed language code
            raise ApiError(400, str(exc)) from None
        job = await asyncio.to_thread(
            _accept_upload, context, file, options, token_id, kind=KIND_SYNC,
            max_seconds=context.options.sync_max_seconds,
        )
        finished = False
        try:
            while True:
                current = await asyncio.to_thread(context.store.get, job.id)
                if current is None:
                    raise ApiError(400, "the transcription was cancelled")
                if current.state in (DONE, FAILED):
                    finished = True
                    break
                await asyncio.sleep(_WAIT_POLL_S)
            if current.state == FAILED:
                raise ApiError(400, current.error or "the recording could not be transcribed")
            transcript = await asyncio.to_thread(read_transcript, Path(current.result_dir or ""))
        finally:
            if finished:
                await asyncio.to_thread(purge_job, context.store, context.data, job)
            else:  # the caller went away: the supervisor stops the run and removes what it left
                await asyncio.to_thread(context.store.mark_deleted, job.id)
        return openai_response(transcript, response_format, timestamp_granularities or ())


def openai_response(transcript: Transcript, response_format: str, granularities: Any = ()) -> Response:
    if response_format == "json":
        return JSONResponse({"text": transcript.text})
    if response_format == "text":
        return PlainTextResponse(transcript.text + "\n")
    if response_format in ("srt", "vtt"):
        return Response(writer_for(response_format).render(transcript), media_type=MEDIA_TYPES[response_format])
    return JSONResponse(verbose_json(transcript, tuple(granularities)))


def verbose_json(transcript: Transcript, granularities: tuple[str, ...]) -> dict[str, Any]:
    """OpenAI's verbose transcription with speakers; segments unless only words were asked for."""
    body: dict[str, Any] = {
        "task": "transcribe",
        "language": transcript.language,
        "duration": transcript.audio.duration,
        "text": transcript.text,
    }
    if "segment" in granularities or not granularities:
        body["segments"] = [
            {
                "id": index, "seek": 0, "start": segment.start, "end": segment.end, "text": segment.text,
                "tokens": [], "temperature": 0.0, "avg_logprob": 0.0, "compression_ratio": 0.0,
                "no_speech_prob": 0.0, "speaker": segment.speaker,
                "speaker_label": transcript.speaker_label(segment.speaker),
            }
            for index, segment in enumerate(transcript.segments)
        ]
    if "word" in granularities:
        body["words"] = [
            {"word": word.word.strip(), "start": word.start, "end": word.end, "speaker": word.speaker}
            for segment in transcript.segments
            for word in segment.words
        ]
    return body
