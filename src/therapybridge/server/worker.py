"""Worker processes: each loads the models once, then claims jobs from the store and runs them one at a time.

A worker reports each pipeline stage as it starts (stage and percent in the store), writes the results with the
project's writers into a private temporary directory, moves it into place and only then marks the job done, under
the lease it claimed the job with. It dies with the server (``PR_SET_PDEATHSIG``), so a ``kill -9`` of the server
leaves no worker finishing a job behind its back; the restarted server retries the job.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputNotFoundError, TherapyBridgeError
from ..pipeline import (
    STAGE_ALIGNMENT,
    STAGE_ASR,
    STAGE_DIARIZATION,
    STAGE_PREPROCESS,
    STAGE_WRITING,
    AudioTranscriptionPipeline,
)
from .options import JobOptions, ServerOptions
from .results import LIVE_NAME, write_results
from .storage import DataDir, public_message, remove_paths
from .store import Job, JobStore

logger = logging.getLogger(__name__)

# Where each stage starts, in percent of a typical CPU run (recognition and diarization dominate).
STAGE_PERCENT = {STAGE_PREPROCESS: 2.0, STAGE_ASR: 10.0, STAGE_DIARIZATION: 60.0, STAGE_ALIGNMENT: 90.0,
                 STAGE_WRITING: 95.0}


def forward_only(report: Callable[[str, float], Any]) -> Callable[[str], None]:
    """``report(stage, percent)`` for each stage as it starts, the percent never going back: a stage can start again
    after a later one (gap recovery, a sub-step of recognition, runs after diarization; alignment is entered twice),
    and a client's progress bar must not jump back."""
    reached = 0.0

    def report_stage(stage: str) -> None:
        nonlocal reached
        reached = max(reached, STAGE_PERCENT.get(stage, 0.0))
        report(stage, reached)

    return report_stage


class _ReportingProfiler:
    """The run's ``PerformanceLogger``, reporting each stage to ``report`` as it starts; everything else delegates."""

    def __init__(self, perf: Any, report: Callable[[str], None]) -> None:
        self._perf = perf
        self._report = report

    def stage(self, name: str, **metadata: Any) -> Any:
        self._report(name)
        return self._perf.stage(name, **metadata)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._perf, name)


class ReportingPipeline(AudioTranscriptionPipeline):
    """A pipeline whose runs call ``self.report(stage_name)`` as each stage starts."""

    report: Callable[[str], None] | None = None

    def _new_perf_logger(self, config: Any, source: str) -> Any:
        perf = super()._new_perf_logger(config, source)
        return perf if self.report is None else _ReportingProfiler(perf, self.report)


class Worker:
    """Runs jobs from ``store`` with pipelines built from ``options``; models are shared by every pipeline."""

    def __init__(self, options: ServerOptions, store: JobStore, data: DataDir) -> None:
        self.options = options
        self.store = store
        self.data = data
        self._pipelines: dict[tuple[Any, ...], ReportingPipeline] = {}

    def pipeline_for(self, job: JobOptions) -> ReportingPipeline:
        key = (job.model or self.options.model, job.language, job.prompt, job.diarization, job.roles)
        if key not in self._pipelines:
            if len(self._pipelines) >= 16:  # the models stay loaded (cached per process); only settings are dropped
                self._pipelines.pop(next(iter(self._pipelines)))
            settings: dict[str, Any] = {
                "asr__model": key[0],
                "asr__language": job.language,
                "asr__initial_prompt": job.prompt,
                "asr__cpu_threads": self.options.cpu_threads,
                "enable_diarization": job.diarization,
                "roles__enabled": job.roles,
            }
            if self.options.profiles_dir:
                settings["roles__profiles_dir"] = self.options.profiles_dir
            self._pipelines[key] = ReportingPipeline(device=self.options.device, **settings)
        return self._pipelines[key]

    def load(self) -> None:
        """Load the default model and the diarizer before taking the first job."""
        self.pipeline_for(JobOptions()).load()

    def run_forever(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        pid = os.getpid()
        while not should_stop():
            claimed = self.store.claim(pid)
            if claimed is None:
                time.sleep(self.options.poll_interval)
                continue
            self.run(*claimed)

    def run(self, job: Job, lease: str) -> bool:
        """Run one claimed job; True when it completed (done or failed) under this lease."""
        staging = self.data.results / f".{job.id}.{lease}"
        final = Path(job.result_dir or self.data.result_dir(job.id))
        source = job.audio_path or ""
        opts = job.options
        try:
            if not source or not Path(source).is_file():
                raise InputNotFoundError("the uploaded recording is no longer on the server; submit it again")
            pipeline = self.pipeline_for(opts)
            pipeline.report = forward_only(lambda stage, percent: self.store.progress(job.id, lease, stage, percent))
            try:
                transcript = self._transcribe(pipeline, job, source, staging)
            finally:
                pipeline.report = None
            self.store.progress(job.id, lease, STAGE_WRITING, STAGE_PERCENT[STAGE_WRITING])
            transcript = transcript.with_changes(audio=dataclasses.replace(transcript.audio, path=job.filename))
            write_results(transcript, staging, opts.formats)
            live = self.data.live_dir(job.id)
            if (live / LIVE_NAME).is_file():  # a live session's final pass: its live transcript goes with it
                shutil.copyfile(live / LIVE_NAME, staging / LIVE_NAME)
            remove_paths([final])  # a crashed earlier attempt may have placed its (identical) results already
            os.replace(staging, final)
            completed = self.store.finish(job.id, lease)
            if not completed:  # deleted meanwhile (or re-leased): its results must not stay
                remove_paths([final])
            remove_paths([live])
        except TherapyBridgeError as exc:
            completed = self.store.finish(job.id, lease, error=failure_line(job.filename, exc, source))
        except Exception as exc:  # noqa: BLE001 - one bad job must not stop the worker
            logger.debug("job failed unexpectedly", exc_info=True)
            completed = self.store.finish(
                job.id, lease, error=failure_line(job.filename, RuntimeError(f"processing failed: {type(exc).__name__}"))
            )
        finally:
            remove_paths([staging])
            if not self.options.keep_audio:
                remove_paths([source])
                self.store.release_audio(job.id)
        return completed

    def _transcribe(self, pipeline: ReportingPipeline, job: Job, source: str, staging: Path) -> Any:
        opts = job.options
        hints = {"num_speakers": opts.num_speakers, "min_speakers": opts.min_speakers,
                 "max_speakers": opts.max_speakers}
        if (self.data.live_dir(job.id) / LIVE_NAME).is_file():  # a live session: the live core's final pass
            from ..live import final_pass

            transcript, _ = final_pass(pipeline, source, staging, (), stem=job.filename, **hints)
            return transcript
        return pipeline.process(source, **hints)


def failure_line(filename: str, exc: BaseException, source: str = "") -> str:
    """The line the CLI prints for this failure when run on a file called ``filename``."""
    from ..cli import _error_line

    message = public_message(exc, source, filename) if source else str(exc)
    return _error_line(filename, RuntimeError(message))


# ---------------------------------------------------------------------- the process entry point
def worker_main(options: dict[str, Any], ready: Any) -> None:
    """Entry point of a worker process (started with the ``spawn`` method by the supervisor)."""
    _die_with_parent()
    os.umask(0o077)
    _configure_logging()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    try:
        os.nice(5)  # the API answers first; a busy worker takes what it leaves
    except OSError:
        pass
    server = ServerOptions.from_dict(options)
    if server.cpu_threads:
        import torch

        torch.set_num_threads(server.cpu_threads)
    data = DataDir(Path(server.data_dir))
    worker = Worker(server, JobStore(data.database), data)
    parent = os.getppid()
    try:
        worker.load()
    except TherapyBridgeError as exc:
        sys.stderr.write(f"therapybridge: error: a worker could not load its models: {exc}\n")
        sys.exit(1)
    ready.set()
    worker.run_forever(lambda: os.getppid() != parent)


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("therapybridge: %(levelname)s: %(message)s"))
    root = logging.getLogger("therapybridge")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    root.propagate = False
    for noisy in ("faster_whisper", "numba"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the server process dies (elsewhere the parent check remains)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
