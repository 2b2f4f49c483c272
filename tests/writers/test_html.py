"""The HTML transcript page: its content, its escaping, and its behaviour in headless Chromium."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from tests.references import SAMPLE_WAV
from therapybridge.types import AudioInfo, Segment, SpeakerInfo, Transcript, Word
from therapybridge.writers import FORMATS, get_writer, write_outputs
from therapybridge.writers.html import HtmlWriter, audio_reference

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
]
LOW_WORDS = {"Chicago": 0.31, "Yankee": 0.22}  # words the test marks as recognised with low confidence
PERF = {
    "total_duration": 9.6,
    "stages": {
        "Audio Preprocessing": {"start": 0.0, "duration": 0.4, "subprocesses": {"decode": {"start": 0.01, "duration": 0.2}}},
        "Whisper Transcription": {"start": 0.4, "duration": 6.1, "subprocesses": {"model_loading": {"start": 0.4, "duration": 1.2}}},
        "Speaker Diarization": {"start": 6.5, "duration": 2.9},
        "Speaker Alignment": {"start": 9.4, "duration": 0.05},
        "Writing Outputs": {"start": 9.45, "duration": 0.1},
    },
}


@pytest.fixture(scope="module")
def session_transcript(sample_reference_transcript) -> Transcript:
    """The sample's reference with a few low-confidence words and a performance profile."""
    segments = []
    for segment in sample_reference_transcript.segments:
        words = tuple(
            dataclasses.replace(w, probability=LOW_WORDS.get(w.word.strip(" .,?"), w.probability)) for w in segment.words
        )
        segments.append(dataclasses.replace(segment, words=words))
    return sample_reference_transcript.with_changes(segments=tuple(segments), performance_metrics=PERF)


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory, session_transcript) -> Path:
    """``out/sample.html`` referring to ``audio/sample.wav``, as a run with ``-o out`` would leave them."""
    root = tmp_path_factory.mktemp("page")
    (root / "audio").mkdir()
    shutil.copy(SAMPLE_WAV, root / "audio" / "sample.wav")
    transcript = session_transcript.with_changes(audio=AudioInfo(str(root / "audio" / "sample.wav"), 30.0))
    out = root / "out"
    out.mkdir()
    (out / "sample.html").write_text(HtmlWriter(output_dir=out).render(transcript), encoding="utf-8")
    return out


# ---------------------------------------------------------------- the page's content


def test_registered_as_html_format():
    assert "html" in FORMATS and get_writer("html").extension == "html"


def test_lines_labels_timestamps_and_low_confidence(session_transcript):
    page = HtmlWriter().render(session_transcript)
    lines = re.findall(r'<li class="line[^"]*" data-start="([\d.]+)"', page)
    assert len(lines) == len(session_transcript.segments) == 13
    assert lines[0] == "6.680"
    assert page.count("Therapist (Dr. Rivera)") >= 8 and ">0:06</button>" in page
    low = re.findall(r'<span class="w low"[^>]*>([^<]+)</span>', page)
    assert sorted(low) == ["Chicago", "Chicago.", "Yankee"]
    assert "Review next (3)" in page
    assert 'id="performance"' in page and "Whisper Transcription" in page and "model_loading" in page


def test_no_timeline_without_stages(session_transcript):
    page = HtmlWriter().render(session_transcript.with_changes(performance_metrics={}))
    assert 'id="performance"' not in page


def test_everything_is_escaped_and_nothing_is_fetched():
    evil = '<script>alert("x")</script>'
    words = (Word(0.0, 1.0, f" {evil}", 0.2, "S0"), Word(1.0, 2.0, " {{lines}}", 0.9, "S0"))
    transcript = Transcript(
        audio=AudioInfo('rec"><img src=x onerror=alert(1)>.wav', 2.0),
        language='en"><script>',
        segments=(Segment(0.0, 2.0, f"{evil} {{{{lines}}}}", words, "S0"),),
        speakers=(SpeakerInfo("S0", f"Dr. {evil}", "therapist", 0.9),),
        performance_metrics={"stages": {evil: {"start": 0, "duration": 1}}},
    )
    page = HtmlWriter().render(transcript)
    assert page.count("<script>") == 1  # only the page's own script
    assert "<img" not in page and "&lt;script&gt;" in page
    assert "{{lines}}" in page  # transcript text is not treated as a template placeholder
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "default-src 'none'" in page


def test_audio_is_referenced_relative_to_the_page(tmp_path):
    audio = tmp_path / "sessions" / "week 3.m4a"
    assert audio_reference(str(audio), tmp_path / "out") == "../sessions/week%203.m4a"
    assert audio_reference(str(audio), tmp_path / "sessions") == "week%203.m4a"


def test_written_through_the_registry(tmp_path, session_transcript):
    (path,) = write_outputs(session_transcript, tmp_path, "sample", ["html"])
    assert path.name == "sample.html" and path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_empty_transcript_says_so():
    page = HtmlWriter().render(Transcript(audio=AudioInfo("a.wav", 1.0), language=None, segments=()))
    assert "No speech was recognised" in page


# ---------------------------------------------------------------- in headless Chromium


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture()
def page(browser, page_dir):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.on("request", lambda r: requests.append(r.url))
    tab.goto((page_dir / "sample.html").as_uri())
    tab.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=15_000)
    tab.problems, tab.requests = problems, requests
    yield tab
    context.close()


@pytest.mark.browser
def test_opens_from_file_without_errors_or_network(page):
    assert page.locator("li.line").count() == 13
    assert page.evaluate("document.getElementById('player').duration") == pytest.approx(30.0, abs=0.1)
    assert page.locator("#audio-missing.shown").count() == 0
    assert page.problems == []
    assert all(url.startswith("file://") for url in page.requests), page.requests


@pytest.mark.browser
def test_clicking_a_line_seeks_and_highlights_it(page):
    line = page.locator("li.line").nth(7)
    start = float(line.get_attribute("data-start"))
    line.locator(".text").click()
    page.wait_for_function(f"() => Math.abs(document.getElementById('player').currentTime - {start}) < 1.0")
    page.evaluate("document.getElementById('player').pause()")
    assert "current" in line.get_attribute("class")
    assert page.locator("li.line.current").count() == 1
    page.locator("li.line").nth(2).locator("button.time").click()
    page.wait_for_function("() => Math.abs(document.getElementById('player').currentTime - 8.436) < 1.0")
    assert page.problems == []


@pytest.mark.browser
def test_playback_moves_the_highlight(page):
    page.evaluate("(() => { const a = document.getElementById('player'); a.muted = true; a.currentTime = 14.5; })()")
    page.wait_for_function("() => document.querySelector('li.line.current') !== null")
    assert page.locator("li.line.current").get_attribute("data-start") == "14.444"


@pytest.mark.browser
def test_search_highlights_matches(page):
    page.fill("#search", "new  jersey")  # across two words; spacing does not matter
    assert page.locator("#match-count").inner_text() == "1 of 3"
    active = "Array.from(document.querySelectorAll('mark.active')).map(m => m.textContent).join('')"
    assert page.evaluate(active) == "New Jersey"
    assert page.locator("li.line mark.active").first.evaluate("m => m.closest('li').dataset.start") == "12.542"
    page.press("#search", "Enter")
    assert page.locator("#match-count").inner_text() == "2 of 3"
    assert page.locator("li.line mark.active").first.evaluate("m => m.closest('li').dataset.start") == "20.173"
    page.fill("#search", "chicago")
    assert page.locator("li.line mark").count() == 2 and page.locator("#match-count").inner_text() == "1 of 2"
    page.fill("#search", "therapist (dr")
    assert page.locator("#match-count").inner_text().endswith(" of 8")  # speaker labels are searchable too
    page.fill("#search", "zebra")
    assert page.locator("#match-count").inner_text() == "no matches"
    page.fill("#search", "")
    assert page.locator("mark").count() == 0
    # Clearing the marks restores the text exactly.
    assert "I'm in New Jersey now though." in page.locator("li.line").nth(9).inner_text()
    assert page.problems == []


@pytest.mark.browser
def test_missing_recording_offers_a_file_picker(browser, page_dir, tmp_path):
    moved = tmp_path / "sample.html"
    shutil.copy(page_dir / "sample.html", moved)
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(moved.as_uri())
    tab.wait_for_selector("#audio-missing.shown", timeout=10_000)
    tab.set_input_files("#pick-audio", str(SAMPLE_WAV))
    tab.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=10_000)
    assert tab.locator("#audio-missing.shown").count() == 0
    context.close()
