"""The HTML report in real headless Chromium: renders, no console errors, no network, screenshot kept."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from therapybridge.perf import PerformanceLogger, write_reports

from .conftest import artifacts_dir
from .test_logger import run_concurrent_pipeline

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                       reason="needs Chromium at /usr/bin/chromium (apt-get install -y chromium)"),
]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def open_report(browser, path: Path, screenshot: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type in (
        "error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(artifacts_dir() / screenshot), full_page=True)
    return page, problems, requests


def real_session():
    """A short real run with the sampler on, so the memory plot has data."""
    perf = PerformanceLogger("AudioTranscriptionPipeline", verbose=False, sample_interval=0.02, source="sample.wav")
    with perf:
        with perf.stage("Audio Preprocessing"):
            with perf.subprocess("load_audio", path="sample.wav"):
                block = bytearray(32 * 1024 * 1024)
                time.sleep(0.06)
            with perf.subprocess("resample", target_rate=16000):
                time.sleep(0.04)
            del block
        with perf.stage("Whisper Transcription"):
            with perf.subprocess("model_loading", model="base"):
                time.sleep(0.05)
    return perf.session


def test_html_report_renders_without_errors(browser, tmp_path: Path):
    session = real_session()
    (path,) = write_reports(session, tmp_path, "sample", formats=("html",))
    page, problems, requests = open_report(browser, path, "perf_report.png")
    assert problems == []
    assert requests == [path.as_uri()]  # nothing but the file itself: no network
    assert page.title() == "Performance report: AudioTranscriptionPipeline"
    assert page.locator("#timeline .bar").count() == len(session.spans)
    assert page.locator("svg[aria-label='Process memory (RSS)'] polyline").count() == 1
    statement = page.locator("#gpu-statement").inner_text()
    assert statement == session.gpu.statement
    page.locator("#timeline .bar", has_text="Whisper Transcription").first.click()
    assert '"name": "Whisper Transcription"' in page.locator("#details").inner_text()
    assert problems == []
    page.close()


def test_html_report_of_concurrent_stages(browser, clock, tmp_path: Path):
    (path,) = write_reports(run_concurrent_pipeline(clock), tmp_path, "concurrent", formats=("html",))
    page, problems, _ = open_report(browser, path, "perf_report_concurrent.png")
    assert problems == []
    assert "Stages overlap" in page.locator(".banner.overlap").inner_text()
    assert "Critical path: Speaker Diarization → Speaker Alignment" in page.content()
    page.close()


def test_html_report_of_a_combined_batch(browser, clock, tmp_path: Path):
    from dataclasses import replace

    from therapybridge.perf import PerformanceSession

    from .test_logger import run_two_stage_pipeline

    first = replace(run_two_stage_pipeline(clock, source="a.wav").session, started_at_epoch=100.0)
    second = replace(run_two_stage_pipeline(clock, source="b.wav").session, started_at_epoch=101.2)
    batch = PerformanceSession.combine([first, second])
    (path,) = write_reports(batch, tmp_path, "batch", formats=("html",))
    page, problems, _ = open_report(browser, path, "perf_report_batch.png")
    assert problems == []
    assert page.locator("#timeline .bar").count() == len(batch.spans)
    assert page.locator("text=a.wav").count() >= 1
    page.close()
