"""``RayArchive``: the driver. It feeds a ``ray.util.ActorPool`` of ``TranscriptionWorker`` actors and writes
every output itself, so a retried file never leaves two results or half of one.

A file whose worker or node died (a Ray error) goes back to the queue for another worker, up to
``RayOptions.max_retries`` times, and a replacement worker is started; a file that failed for its own reason comes
back as that file's error and is not retried.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .. import redaction
from ..errors import ConfigurationError, ProcessingError, TherapyBridgeError
from ..pipeline import DEFAULT_FORMATS, AudioTranscriptionPipeline, BatchItem, check_input
from .options import RayOptions
from .report import ClusterReport, FileRecord
from .transport import FileRequest, describe
from .worker import FileResult, TranscriptionWorker

logger = logging.getLogger(__name__)

_POLL_S = 0.5


@dataclass(frozen=True)
class ArchiveProgress:
    """A progress event: files and audio done so far, the rate, and the time left at that rate."""

    files_done: int
    files_total: int
    audio_s_done: float
    elapsed_s: float

    @property
    def rate_files_per_s(self) -> float:
        return self.files_done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.rate_files_per_s
        return (self.files_total - self.files_done) / rate if rate > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {"files_done": self.files_done, "files_total": self.files_total,
                "audio_hours_done": self.audio_s_done / 3600, "elapsed_s": self.elapsed_s,
                "rate_files_per_s": self.rate_files_per_s, "eta_s": self.eta_s}


class RayArchive:
    """``process_many`` over a Ray cluster, with the contract of ``AudioTranscriptionPipeline.process_many``."""

    def __init__(
        self, pipeline: AudioTranscriptionPipeline, options: RayOptions | None = None, *,
        on_progress: Callable[[ArchiveProgress], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.config = pipeline.config
        self.options = options or RayOptions()
        self.on_progress = on_progress
        self.report: ClusterReport | None = None

    def process_many(
        self,
        sources: Iterable[Any],
        *,
        output_dir: Any = None,
        formats: Sequence[str] = DEFAULT_FORMATS,
        skip_existing: bool = False,
        on_start: Callable[[str, int, int], None] | None = None,
    ) -> Iterator[BatchItem]:
        paths = [str(s) for s in sources]
        if self.config.perf.redact_paths:
            for path in paths:
                redaction.protect(path)
        ray = _import_ray()
        began = time.time()
        started_here = _connect(ray, self.options)
        try:
            use_gpu = _use_gpus(ray, self.options, self.config.device)
            # The driver writes, the workers compute: both with the settings the workers really use.
            worker_config = _worker_config(self.config, self.options, use_gpu)
            if worker_config is not self.config:
                self.pipeline = AudioTranscriptionPipeline(worker_config, device="cpu")  # never loads a model
                self.config = self.pipeline.config
            todo: list[FileRequest] = []
            for path in paths:
                if skip_existing and output_dir is not None and self.pipeline.is_up_to_date(path, output_dir, formats):
                    yield BatchItem(source=path, skipped=True)
                    continue
                try:
                    check_input(path)
                    todo.append(describe(len(todo), path))
                except TherapyBridgeError as exc:
                    yield BatchItem(source=path, error=exc)
                except OSError as exc:
                    yield BatchItem(source=path, error=ProcessingError(f"{path}: cannot read: {exc.strerror or exc}"))
            if todo:
                run = _Run(ray, self, worker_config, todo, tuple(formats), output_dir, use_gpu, on_start, began)
                try:
                    yield from run.items()
                finally:
                    run.stop()
                self.report = run.report()
                if self.config.perf.enabled and output_dir is not None:
                    self.report.write(self.config.perf.output_dir or output_dir)
        finally:
            if started_here:
                ray.shutdown()


class _Run:
    """One archive run: the actor pool, the queue of requests, the retries, the records."""

    def __init__(self, ray: Any, archive: RayArchive, worker_config: Any, todo: list[FileRequest],
                 formats: tuple[str, ...],
                 output_dir: Any, use_gpu: bool, on_start: Callable[[str, int, int], None] | None,
                 began: float) -> None:
        from ray.util import ActorPool

        self.ray, self.archive, self.formats, self.output_dir = ray, archive, formats, output_dir
        self.worker_config = worker_config
        self.actors: list[Any] = []
        self.options = archive.options
        self.on_start = on_start
        self.total = len(todo)
        self.queue: deque[FileRequest] = deque(todo)
        self.pool = ActorPool([])
        self.inflight: dict[int, tuple[Any, Any, float]] = {}  # request index -> (ref, actor, submitted)
        self.requests = {r.index: r for r in todo}
        self.by_value: set[int] = set()  # id() of the actors that cannot read the driver's files
        self.node_of: dict[int, str] = {}  # id() of an actor -> its Ray node
        self.records: list[FileRecord] = []
        self.workers: list[dict[str, Any]] = []
        self.retries = 0
        self.began = began
        self.first_submit: float | None = None
        self.audio_done = 0.0
        self.done = 0
        size = self.options.workers or _default_workers(ray, self.options, use_gpu)
        self.size = max(1, min(size, len(todo)))
        actor_options: dict[str, Any] = {"num_cpus": self.options.cpus_per_worker, "num_gpus": 1 if use_gpu else 0,
                                         "max_restarts": 0, "scheduling_strategy": "SPREAD"}
        if not use_gpu and ray.cluster_resources().get("GPU", 0) > 0:
            actor_options["runtime_env"] = {"env_vars": {"CUDA_VISIBLE_DEVICES": ""}}
        self.actor_class = ray.remote(TranscriptionWorker).options(**actor_options)
        self.starting: dict[Any, Any] = {}  # info() ref -> actor not yet in the pool
        self.alive = 0
        self.spares = self.size * self.options.max_retries  # replacements for workers that die
        self.start_error: BaseException | None = None
        self.idle_since = time.monotonic()
        for _ in range(self.size):
            self._start_worker()

    # ------------------------------------------------------------------ workers
    def _start_worker(self) -> None:
        actor = self.actor_class.remote(self.worker_config)
        self.actors.append(actor)
        self.starting[actor.info.remote()] = actor

    def _drop(self, actor: Any) -> None:
        """Take a lost worker out of the pool for good (an unreachable one may be back, so it is stopped too) and
        start a replacement, which joins once its models are loaded."""
        keep = []
        while (idle := self.pool.pop_idle()) is not None:
            if idle is not actor:
                keep.append(idle)
        for idle in keep:
            self.pool.push(idle)
        try:
            self.ray.kill(actor)
        except Exception:  # noqa: BLE001 - already gone
            logger.debug("could not stop a lost Ray worker", exc_info=True)
        self.alive -= 1
        if self.spares > 0:
            self.spares -= 1
            self._start_worker()

    def stop(self) -> None:
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                logger.debug("could not stop a Ray worker", exc_info=True)

    def _admit_workers(self, wait_s: float) -> None:
        if not self.starting:
            return
        ready, _ = self.ray.wait(list(self.starting), num_returns=len(self.starting), timeout=wait_s)
        for ref in ready:
            actor = self.starting.pop(ref)
            try:
                info = self.ray.get(ref)
            except self.ray.exceptions.RayError as exc:  # the worker could not start (its models did not load)
                logger.warning("a Ray worker failed to start: %s", _first_line(exc))
                self.start_error = exc
                continue
            self.workers.append(info)
            self.node_of[id(actor)] = info["node"]
            logger.debug("a Ray worker is ready on node %s (loaded in %.1fs)", info["node"], info["load_s"])
            self.pool.push(actor)
            self.alive += 1

    # ------------------------------------------------------------------ the loop
    def items(self) -> Iterator[BatchItem]:
        while self.queue or self.inflight:
            self._admit_workers(0 if (self.alive or self.inflight) else _POLL_S)
            while self.queue and self.pool.has_free():
                self._submit(self.queue.popleft())
            if not self.inflight:
                if self.alive == 0 and (not self.starting or self._waited_too_long()):
                    yield from self._fail_queued()
                continue
            self.idle_since = time.monotonic()
            try:
                result = self.pool.get_next_unordered(timeout=_POLL_S)
            except TimeoutError:
                continue
            except self.ray.exceptions.RayError:
                yield from self._collect_lost()
                continue
            item = self._accept(result)
            if item is not None:
                yield item

    def _waited_too_long(self) -> bool:
        return time.monotonic() - self.idle_since > self.options.worker_wait_s

    def _submit(self, request: FileRequest) -> None:
        now = time.time()
        if self.first_submit is None:
            self.first_submit = now
        if request.attempt == 1 and self.on_start is not None:
            self.on_start(request.source, request.index, self.total)

        def call(actor: Any, req: FileRequest) -> Any:
            data = _read_bytes(req.source) if self._by_value(actor) else None
            ref = actor.transcribe.remote(req, self.formats, data)
            self.inflight[req.index] = (ref, actor, now)
            logger.debug("file %d of %d sent to the worker on node %s", req.index + 1, self.total,
                         self.node_of.get(id(actor), "unknown"))
            return ref

        self.pool.submit(call, request)

    def _by_value(self, actor: Any) -> bool:
        return self.options.transport == "bytes" or id(actor) in self.by_value

    def _collect_lost(self) -> Iterator[BatchItem]:
        """The in-flight requests whose call failed with a Ray error: retried elsewhere, or failed when out of tries."""
        refs = {entry[0]: index for index, entry in self.inflight.items()}
        ready, _ = self.ray.wait(list(refs), num_returns=len(refs), timeout=0)
        for ref in ready:
            try:
                self.ray.get(ref, timeout=0)
                continue  # a result the pool hands over next
            except self.ray.exceptions.RayError as exc:
                error = exc
            index = refs[ref]
            _, actor, _ = self.inflight.pop(index)
            request = self.requests[index]
            lost = isinstance(error, _lost_errors(self.ray))
            if lost:
                self._drop(actor)
            if lost and request.attempt <= self.options.max_retries:
                logger.warning("a Ray worker was lost mid-file; retrying the file (attempt %d)", request.attempt + 1)
                self.retries += 1
                retry = dataclasses.replace(request, attempt=request.attempt + 1)
                self.requests[index] = retry
                self.queue.appendleft(retry)
                continue
            what = f"its Ray worker was lost {request.attempt} times" if lost else "the Ray call failed"
            yield self._finished(request, None, ProcessingError(f"{request.source}: {what}: {_first_line(error)}"))

    def _fail_queued(self) -> Iterator[BatchItem]:
        reason = f": {_first_line(self.start_error)}" if self.start_error is not None else ""
        while self.queue:
            request = self.queue.popleft()
            yield self._finished(request, None, ProcessingError(f"{request.source}: no Ray worker is left{reason}"))

    def _accept(self, result: FileResult) -> BatchItem | None:
        _, actor, submitted = self.inflight.pop(result.index)
        request = self.requests[result.index]
        if result.needs_bytes:
            if self.options.transport == "path":
                return self._finished(request, result, ProcessingError(
                    f"{request.source}: a Ray worker cannot read this file (no shared filesystem); "
                    "use the bytes transport"))
            self.by_value.add(id(actor))
            self.queue.appendleft(request)
            return None
        return self._finished(request, result, result.error, submitted)

    def _finished(self, request: FileRequest, result: FileResult | None, error: TherapyBridgeError | None,
                  submitted: float = 0.0) -> BatchItem:
        """Write a finished file's outputs (the driver is the only writer) and record what it cost."""
        item = BatchItem(source=request.source, error=error)
        audio_s = 0.0
        if error is None and result is not None:
            item = self._write(request, result)
            if item.ok and item.transcript is not None:
                audio_s = float(item.transcript.audio.duration)
        if result is not None:
            stages = {}
            if item.transcript is not None:
                stages = {name: float(stage.get("duration", 0.0)) for name, stage in
                          item.transcript.performance_metrics.get("stages", {}).items()}
            self.records.append(FileRecord(
                index=request.index, worker=result.worker, node=result.node, submitted=submitted or result.started,
                started=result.started, finished=result.finished, cpu_s=result.cpu_s, audio_s=audio_s,
                attempts=request.attempt, ok=item.ok, stages=stages,
            ))
        self.done += 1
        self.audio_done += audio_s
        if self.archive.on_progress is not None:
            self.archive.on_progress(ArchiveProgress(self.done, self.total, self.audio_done, time.time() - self.began))
        return item

    def _write(self, request: FileRequest, result: FileResult) -> BatchItem:
        pipeline = self.archive.pipeline
        redact = pipeline.config.perf.redact_paths
        name = redaction.redact_name(request.source) if redact else request.source
        transcript = result.transcript.with_changes(audio=dataclasses.replace(result.transcript.audio, path=name))
        session = result.performance
        if session is not None:
            session = dataclasses.replace(session, source=name if redact else request.source)
        outputs: tuple[Any, ...] = ()
        try:
            if self.output_dir is not None:
                transcript, outputs = pipeline.write_transcripts(
                    transcript, request.source, self.output_dir, self.formats, input_sha256=request.sha256
                )
            outputs += pipeline.write_perf_reports(session, self.output_dir, request.source)
        except TherapyBridgeError as exc:
            return BatchItem(source=request.source, error=exc)
        return BatchItem(source=request.source, transcript=transcript, outputs=outputs, performance=session)

    def report(self) -> ClusterReport:
        end = max((r.finished for r in self.records), default=time.time())
        start = self.first_submit or self.began
        return ClusterReport(
            records=tuple(sorted(self.records, key=lambda r: r.index)), workers=tuple(self.workers),
            wall_s=max(end - start, 0.0), startup_s=max(start - self.began, 0.0), retries=self.retries,
            cpus_per_worker=self.options.cpus_per_worker,
        )


# ---------------------------------------------------------------------- helpers
def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigurationError("--ray needs the ray extra: pip install 'therapybridge[ray]'") from exc
    return ray


def _connect(ray: Any, options: RayOptions) -> bool:
    """Join the cluster (``address``) or start a local one; True when this call started it."""
    if ray.is_initialized():
        return False
    settings: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    try:
        if options.address:
            ray.init(address=options.address, **settings)
        else:
            ray.init(**settings)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ProcessingError(f"cannot reach the Ray cluster at {options.address or 'a new local cluster'}: "
                              f"{_first_line(exc)}") from exc
    return True


def _use_gpus(ray: Any, options: RayOptions, device: str) -> bool:
    """GPU workers when the cluster has GPUs, unless the options or ``--device cpu`` say otherwise."""
    if options.use_gpus is not None:
        return options.use_gpus
    return device != "cpu" and ray.cluster_resources().get("GPU", 0) > 0


def _default_workers(ray: Any, options: RayOptions, use_gpu: bool) -> int:
    resources = ray.cluster_resources()
    if use_gpu:
        return int(resources.get("GPU", 1))
    return int(resources.get("CPU", 1) // options.cpus_per_worker)


def _worker_config(config: Any, options: RayOptions, use_gpu: bool) -> Any:
    """The settings the workers run with: a CPU worker recognises on the cores it reserved, not the node's all."""
    if not use_gpu and config.asr.cpu_threads == 0:
        return config.replace(asr__cpu_threads=options.cpus_per_worker)
    return config


def _lost_errors(ray: Any) -> tuple[type, ...]:
    """Ray errors that mean the worker, its node or an object went away, not that the file is bad."""
    exc = ray.exceptions
    names = ("RayActorError", "WorkerCrashedError", "NodeDiedError", "ObjectLostError", "OwnerDiedError",
             "ActorUnavailableError", "LocalRayletDiedError", "OutOfMemoryError")
    return tuple(getattr(exc, name) for name in names if hasattr(exc, name))


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
