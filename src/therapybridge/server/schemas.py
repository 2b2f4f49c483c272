"""The API's response bodies as pydantic models, so that ``/openapi.json`` describes exactly what is sent."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: int


class ErrorBody(BaseModel):
    """Every error the service itself answers with (OpenAI's error shape)."""

    error: ErrorDetail


class JobStatus(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed"]
    stage: Optional[str] = None
    percent: float
    error: Optional[str] = None
    filename: str
    duration: Optional[float] = None
    formats: list[str]
    attempts: int
    created: float
    started: Optional[float] = None
    finished: Optional[float] = None


class JobList(BaseModel):
    data: list[JobStatus]
    next_cursor: Optional[int] = None


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    workers: int
    workers_ready: int


class TranscriptionText(BaseModel):
    """OpenAI's ``json`` response."""

    text: str


class VerboseWord(BaseModel):
    word: str
    start: Optional[float] = None
    end: Optional[float] = None
    speaker: Optional[str] = None


class VerboseSegment(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    speaker: Optional[str] = None
    speaker_label: Optional[str] = None


class TranscriptionVerbose(BaseModel):
    """OpenAI's ``verbose_json`` response, with each segment's and word's speaker added."""

    task: str
    language: Optional[str] = None
    duration: float
    text: str
    segments: Optional[list[VerboseSegment]] = None
    words: Optional[list[VerboseWord]] = None
