"""Performance logging: hierarchical timings, memory, CPU and GPU monitoring, and reports.

Usable on its own (standard library + psutil; torch and NVML are used only when present)::

    from therapybridge.perf import PerformanceLogger

    logger = PerformanceLogger(name="AudioPipeline", output_dir="outputs/performance_logs")
    logger.start_pipeline()
    logger.start_stage("Preprocessing")
    with logger.subprocess("silence_detection"):
        ...
    logger.end_stage("Preprocessing")
    session = logger.end_pipeline()   # reports written to output_dir

Privacy: reports hold stage names, timings, resource figures and the metadata callers pass; never put
transcript text in metadata. ``redact_paths=True`` replaces file names in metadata by hashes.
"""

from .hooks import NULL_PROFILER, NullProfiler, StageProfiler
from .logger import (
    LOGGER_NAME,
    PerfConsoleFormatter,
    PerformanceLogger,
    SpanHandle,
    attach_console_handler,
    detach_console_handler,
)
from .monitors import GPUMonitor, ProcessStats, collect_system_info, detect_gpu
from .reports import (
    REPORT_FORMATS,
    render_console_summary,
    render_html,
    render_json,
    render_reports_from_json,
    render_text,
    render_trace_json,
    write_reports,
)
from .session import (
    GPUStatus,
    PerfFormatError,
    PerformanceSession,
    PerfUsageError,
    Sample,
    Span,
    hash_path,
    perf_schema,
    sanitize_metadata,
)
from .timer import PerformanceTimer, TimerRun
from .trace import render_trace

__all__ = [
    "GPUMonitor",
    "GPUStatus",
    "LOGGER_NAME",
    "NULL_PROFILER",
    "NullProfiler",
    "PerfConsoleFormatter",
    "PerfFormatError",
    "PerfUsageError",
    "PerformanceLogger",
    "PerformanceSession",
    "PerformanceTimer",
    "ProcessStats",
    "REPORT_FORMATS",
    "Sample",
    "Span",
    "SpanHandle",
    "StageProfiler",
    "TimerRun",
    "attach_console_handler",
    "detach_console_handler",
    "collect_system_info",
    "detect_gpu",
    "hash_path",
    "perf_schema",
    "render_console_summary",
    "render_html",
    "render_json",
    "render_reports_from_json",
    "render_text",
    "render_trace",
    "render_trace_json",
    "sanitize_metadata",
    "write_reports",
]
