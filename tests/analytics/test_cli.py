"""The analytics as a user meets them: ``transcribe --format json,txt,html,analytics`` on the sample session, the
page's plots in headless Chromium (offline), and ``therapybridge analytics`` on good and bad input."""

from __future__ import annotations

import csv
import json
import shutil
import stat
from importlib import resources

import jsonschema
import pytest

from tests.badinputs import BAD_TRANSCRIPTS
from tests.conftest import run_cli
from tests.references import SAMPLE_WAV
from therapybridge.types import SCHEMA_VERSION

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PLOTS = ("talk-time", "turn-timeline", "latency", "silence-map")


def transcript_schema() -> dict:
    text = resources.files("therapybridge").joinpath("schemas/transcript.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("analytics-out")
    # The recording is copied beside the page, which refers to it by a relative path.
    audio = out / "sample.wav"
    shutil.copy(SAMPLE_WAV, audio)
    result = run_cli("transcribe", str(audio), "-o", str(out), "--format", "json,txt,html,analytics",
                     "--model", "tiny.en", "--no-progress")
    assert result.returncode == 0, result.stderr
    return out


def test_transcribe_writes_the_analytics_files(outputs):
    for name in ("sample.json", "sample.txt", "sample.html", "sample.analytics.json", "sample.analytics.csv"):
        path = outputs / name
        assert path.is_file() and path.stat().st_size > 0, name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    transcript = json.loads((outputs / "sample.json").read_text())
    assert transcript["provenance"]["schema_version"] == SCHEMA_VERSION == "1.2"
    jsonschema.Draft202012Validator(transcript_schema()).validate(transcript)
    analytics = transcript["analytics"]
    assert [s["id"] for s in analytics["speakers"]] == [s["id"] for s in transcript["speakers"]]
    assert len(analytics["speakers"]) == 2 and analytics["source"] == "turns"
    assert sum(s["talk_share"] for s in analytics["speakers"]) == pytest.approx(1.0, abs=1e-3)
    assert analytics["interaction"]["latency"]["count"] >= 4  # the sample's speakers alternate
    side = json.loads((outputs / "sample.analytics.json").read_text())
    assert side["analytics"] == analytics and side["audio"] == transcript["audio"]
    rows = list(csv.DictReader((outputs / "sample.analytics.csv").open(encoding="utf-8")))
    talk = {r["id"]: float(r["value"]) for r in rows if r["scope"] == "speaker" and r["metric"] == "talk_time"}
    assert talk == {s["id"]: pytest.approx(s["talk_time"]) for s in analytics["speakers"]}
    texts = [s["text"].strip() for s in transcript["segments"] if len(s["text"].strip()) > 12]
    csv_text = (outputs / "sample.analytics.csv").read_text()
    assert not any(t in csv_text for t in texts)  # figures only, never transcript text


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Chromium at /usr/bin/chromium")
def test_the_page_draws_every_plot_offline(outputs):
    sync_api = pytest.importorskip("playwright.sync_api")
    analytics = json.loads((outputs / "sample.json").read_text())["analytics"]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        problems, requests = [], []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((outputs / "sample.html").as_uri())
        page.wait_for_load_state("load")
        drawn = page.evaluate("""() => Array.from(document.querySelectorAll('#analytics svg.plot')).map(svg => {
            const box = svg.getBoundingClientRect();
            const marks = Array.from(svg.querySelectorAll('.mark')).filter(m => {
                const b = m.getBBox(); return b.width > 0 && b.height > 0; });
            return {name: svg.dataset.plot, width: box.width, height: box.height, marks: marks.length};
        })""")
        browser.close()
    assert [d["name"] for d in drawn] == list(PLOTS)
    for plot in drawn:
        assert plot["width"] > 300 and plot["height"] > 40, plot
    marks = {d["name"]: d["marks"] for d in drawn}
    assert marks["talk-time"] == len(analytics["speakers"])
    assert marks["turn-timeline"] == len(analytics["turns"]) + len(analytics["backchannels"])
    assert marks["latency"] == sum(1 for c in analytics["interaction"]["latency"]["histogram"]["counts"] if c)
    assert marks["silence-map"] == len(analytics["silence"]["map"]["silent_share"]) + len(analytics["silence"]["long"])
    assert problems == []
    assert all(url.startswith("file://") for url in requests), requests  # no network


def test_analytics_recomputes_beside_the_transcript_or_in_a_directory(outputs, tmp_path):
    source = tmp_path / "session.json"
    shutil.copy(outputs / "sample.json", source)
    result = run_cli("analytics", str(source))
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "session.analytics.json").read_text())["analytics"] == \
        json.loads(source.read_text())["analytics"]
    assert (tmp_path / "session.analytics.csv").is_file()
    elsewhere = tmp_path / "elsewhere"
    assert run_cli("analytics", str(source), "-o", str(elsewhere)).returncode == 0
    assert sorted(p.name for p in elsewhere.iterdir()) == ["session.analytics.csv", "session.analytics.json"]


def test_analytics_reads_a_schema_1_0_transcript(outputs, tmp_path):
    data = json.loads((outputs / "sample.json").read_text())
    for key in ("turns", "analytics", "unrecognised"):
        data.pop(key, None)
    data["provenance"]["schema_version"] = "1.0"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    result = run_cli("analytics", str(old))
    assert result.returncode == 0, result.stderr
    recomputed = json.loads((tmp_path / "old.analytics.json").read_text())["analytics"]
    assert recomputed["source"] == "segments" and len(recomputed["speakers"]) == 2


@pytest.mark.parametrize("make, message", BAD_TRANSCRIPTS)
def test_bad_input_is_one_error_line_and_nothing_written(tmp_path, make, message):
    make(tmp_path)
    out = tmp_path / "out"
    result = run_cli("analytics", str(tmp_path / "x.json"), "-o", str(out))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("therapybridge: error: ") and message in lines[0], result.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if not (tmp_path / "x.json").exists() else ["x.json"])


def test_the_schema_accepts_the_reference_transcript_with_analytics(tmp_path):
    from tests.analytics.eventlog import reference_transcript
    from tests.corpus.build import build_session
    from tests.corpus.sessions import session
    from therapybridge.analytics import compute_analytics
    from therapybridge.writers import get_writer

    transcript = reference_transcript(build_session(session("d01")))
    transcript = transcript.with_changes(analytics=compute_analytics(transcript).to_dict())
    data = json.loads(get_writer("json").render(transcript))
    jsonschema.Draft202012Validator(transcript_schema()).validate(data)
    broken = json.loads(json.dumps(data))
    broken["analytics"]["speakers"][0]["talk_share"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(transcript_schema()).validate(broken)


def test_the_analytics_format_names_both_of_its_files(tmp_path):
    from therapybridge.types import AudioInfo, Transcript
    from therapybridge.writers import get_writer

    writer = get_writer("analytics")
    files = writer.render_files(Transcript(AudioInfo("a.wav", 3.0), None, ()))
    assert tuple(files) == writer.file_extensions() == ("analytics.json", "analytics.csv")
    assert get_writer("json").file_extensions() == ("json",)
