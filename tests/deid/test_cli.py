"""De-identification as a user meets it: ``transcribe session.m4a --format json,txt,html,analytics --deidentify``
on a short spoken dialogue with planted identifiers (Kokoro speech, our ASR), every de-identified format checked
for every planted name, phone number, date and place, the page in headless Chromium (its plots and the text its
search box searches), the bleeped audio copy, and ``therapybridge deidentify`` on good and bad input."""

from __future__ import annotations

import html
import json
import re
import shutil
import stat

import jsonschema
import numpy as np
import pytest

from tests.analytics.test_cli import CHROMIUM, CHROMIUM_ARGS, PLOTS, transcript_schema
from tests.badinputs import BAD_TRANSCRIPTS
from tests.conftest import run_cli
from tests.corpus.deid.score import locate
from therapybridge.deid.transcript import CONTINUATION
from therapybridge.writers import read_json

DATA = "tests/corpus/deid/data"
FORMATS = "json,txt,srt,vtt,rttm,html,analytics"
# Every file a format writes, by the extension after "<stem>." / "<stem>.deid.".
EXTENSIONS = ("json", "txt", "srt", "vtt", "rttm", "html", "analytics.json", "analytics.csv")
CHECKED = ("NAME", "PHONE", "DATE", "PLACE")
# Words of an identifier that say nothing about anyone ("Dr." before a name, "the" in "the 12th of June").
_PLAIN = frozenset("the of on in at dr doctor mr mrs ms is".split())


def _to_m4a(source, target) -> None:
    """The dialogue as a phone's recorder would write it: AAC in MP4, 44.1 kHz."""
    import av

    with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=44100)
        stream.layout = "mono"
        stream.bit_rate = 64000
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=44100)
        for frame in [*inp.decode(audio=0), None]:
            for piece in resampler.resample(frame):
                for packet in stream.encode(piece):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("deid-out")
    audio = out / "session.m4a"
    _to_m4a(f"{DATA}/deid-short.opus", audio)
    result = run_cli("transcribe", str(audio), "-o", str(out), "--format", FORMATS, "--deidentify",
                     "--deidentify-audio", "--no-progress", timeout=1200)  # 100-250 s at load 14-18 on 2 cores; over 600 s at load 28
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def identifiers(outputs) -> list[tuple[str, list[str]]]:
    """Each planted identifier of the checked categories: its category and the words Whisper wrote for it."""
    script = json.loads(open(f"{DATA}/deid-short.json", encoding="utf-8").read())
    original = read_json(outputs / "session.json")
    planted, words_of = locate(script, original)
    found = []
    for p, positions in zip(planted, words_of):
        if p["category"] not in CHECKED:
            continue
        assert positions, f"the ASR dropped a planted {p['category']}: the test would check nothing"
        words = [original.segments[s].words[w].word for s, w in sorted(positions)]
        found.append((p["category"], _pieces(" ".join(words))))
    return found


def _pieces(text: str) -> list[str]:
    """The telling pieces of recognised words: letters of 3+ (not plain words) and digit groups of 3+."""
    pieces = re.split(r"[\s\-.,:;?!'’()]+", text)
    return [p for p in pieces if (len(p) >= 3 and p.lower() not in _PLAIN) or (p.isdigit() and len(p) >= 3)]


def _leaks(text: str, identifiers) -> list[str]:
    # A digit group after a decimal point is a figure (a talk share of 0.555), not a phone number's piece.
    return [piece for _, pieces in identifiers for piece in pieces
            if re.search(rf"(?<![\w.]){re.escape(piece)}(?![\w])", text, re.IGNORECASE)]


def _page_text(source: str) -> str:
    """The page's text and attributes without its markup, so a name in a title attribute counts too."""
    attributes = " ".join(re.findall(r'="([^"]*)"', source))
    return html.unescape(re.sub(r"<[^>]+>", " ", source) + " " + attributes)


def test_every_format_has_a_deidentified_variant_owner_only(outputs):
    for ext in EXTENSIONS:
        for name in (f"session.{ext}", f"session.deid.{ext}"):
            path = outputs / name
            assert path.is_file() and path.stat().st_size > 0, name
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    assert stat.S_IMODE((outputs / "session.deid.opus").stat().st_mode) == 0o600


def test_every_planted_name_phone_number_date_and_place_is_gone_from_every_format(outputs, identifiers):
    assert {c for c, _ in identifiers} == set(CHECKED)
    original = (outputs / "session.txt").read_text(encoding="utf-8")
    assert sorted(set(_leaks(original, identifiers))) == sorted({p for _, ps in identifiers for p in ps})
    for ext in EXTENSIONS:
        text = (outputs / f"session.deid.{ext}").read_text(encoding="utf-8")
        if ext == "html":
            text = _page_text(text)
        assert _leaks(text, identifiers) == [], ext


def test_the_original_transcript_is_untouched_and_the_copy_records_findings_without_text(outputs, identifiers):
    original = json.loads((outputs / "session.json").read_text())
    copy = json.loads((outputs / "session.deid.json").read_text())
    assert "deidentification" not in original["provenance"]
    record = copy["provenance"]["deidentification"]
    assert len(record["findings"]) >= len(identifiers)
    for finding in record["findings"]:
        assert set(finding) == {"placeholder", "category", "recognizer", "score", "start", "end", "segment",
                                "words", "also"}
        assert re.fullmatch(r"\[[A-Z]+_\d+\]", finding["placeholder"]) and finding["recognizer"]
    jsonschema.Draft202012Validator(transcript_schema()).validate(copy)
    # No identifying metadata: the file name only as the bleeped copy's, no prompt settings, no input hash.
    assert copy["audio"]["path"] == "session.deid.opus" and "session.m4a" not in json.dumps(copy)
    assert "input_sha256" not in copy["provenance"]
    assert not {"initial_prompt", "hotwords"} & set(copy["provenance"]["settings"]["asr"])


def test_placeholders_keep_the_word_timings(outputs):
    original = read_json(outputs / "session.json")
    copy = read_json(outputs / "session.deid.json")
    assert len(copy.segments) == len(original.segments)
    findings = json.loads((outputs / "session.deid.json").read_text())["provenance"]["deidentification"]["findings"]
    replaced = {(f["segment"], f["words"][0]): f for f in findings}
    for s_index, (before, after) in enumerate(zip(original.segments, copy.segments)):
        assert (after.start, after.end, after.speaker) == (before.start, before.end, before.speaker)
        index = 0
        for word in after.words:
            finding = replaced.get((s_index, index))
            if finding is None:
                assert word == before.words[index]
                index += 1
                continue
            first, last = before.words[index], before.words[finding["words"][1] - 1]
            # a finding's piece in a later segment reads as the continuation of its placeholder
            assert finding["placeholder"] in word.word or CONTINUATION in word.word
            assert (word.start, word.end) == (first.start, last.end) == (finding["start"], finding["end"])
            index = finding["words"][1]
        assert index == len(before.words)
    # Subtitles still line up: every cue of the copy starts and ends on the original's word times.
    times = {round(t, 3) for w in original.words for t in (w.start, w.end)}
    times |= {round(t, 3) for s in original.segments for t in (s.start, s.end)}
    for line in (outputs / "session.deid.srt").read_text().splitlines():
        if "-->" in line:
            start, end = (_seconds(t) for t in line.split(" --> "))
            assert start in times and end in times, line


def _seconds(clock: str) -> float:
    hours, minutes, seconds = clock.replace(",", ".").split(":")
    return round(int(hours) * 3600 + int(minutes) * 60 + float(seconds), 3)


def test_the_same_person_keeps_one_placeholder(outputs):
    original = read_json(outputs / "session.json")
    copy = read_json(outputs / "session.deid.json")
    # "Marisol" is said twice (lines 2 and 3 of the script): both become the same [NAME_n], and no other name does.
    marisol = [(s, w) for s, seg in enumerate(original.segments) for w, word in enumerate(seg.words)
               if "marisol" in word.word.lower()]
    assert len(marisol) == 2
    findings = json.loads((outputs / "session.deid.json").read_text())["provenance"]["deidentification"]["findings"]
    placeholders = {f["placeholder"] for f in findings for s, w in marisol
                    if f["segment"] == s and f["words"][0] <= w < f["words"][1]}
    assert len(placeholders) == 1
    (name,) = placeholders
    others = {f["placeholder"] for f in findings if f["category"] == "NAME"} - {name}
    assert others and name not in others
    assert copy.text.count(name) >= 2


def test_the_bleeped_copy_replaces_every_finding_with_a_tone(outputs):
    from therapybridge.audio.decode import decode_audio

    original = decode_audio(outputs / "session.m4a", mono=True)
    bleeped = decode_audio(outputs / "session.deid.opus", mono=True)
    assert abs(bleeped.duration - original.duration) < 0.1
    samples, rate = bleeped.waveform[0].numpy(), bleeped.sample_rate
    findings = json.loads((outputs / "session.deid.json").read_text())["provenance"]["deidentification"]["findings"]
    for finding in findings:
        a, b = int((finding["start"] + 0.02) * rate), int((finding["end"] - 0.02) * rate)
        if b - a < rate // 20:
            continue
        spectrum = np.abs(np.fft.rfft(samples[a:b] * np.hanning(b - a)))
        freqs = np.fft.rfftfreq(b - a, 1 / rate)
        tone = spectrum[(freqs > 950) & (freqs < 1050)].sum()
        assert tone > 0.5 * spectrum.sum(), finding  # the 1 kHz band holds most of the energy
    page = (outputs / "session.deid.html").read_text()
    assert re.findall(r'<audio[^>]*src="([^"]*)"', page) == ["session.deid.opus"]


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Chromium at /usr/bin/chromium")
def test_the_deidentified_page_draws_its_plots_and_its_search_finds_no_identifier(outputs, identifiers):
    sync_api = pytest.importorskip("playwright.sync_api")
    pieces = sorted({p for _, ps in identifiers for p in ps})
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        problems, requests = [], []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((outputs / "session.deid.html").as_uri())
        page.wait_for_load_state("load")
        plots = page.evaluate("""() => Array.from(document.querySelectorAll('#analytics svg.plot')).map(svg => ({
            name: svg.dataset.plot, marks: Array.from(svg.querySelectorAll('.mark')).filter(m => {
                const b = m.getBBox(); return b.width > 0 && b.height > 0; }).length}))""")
        searched = page.evaluate("""() => Array.from(document.querySelectorAll('li.line .speaker, li.line .text'))
            .map(el => el.textContent).join('\\n')""")
        title = page.title()
        answers = {}
        for piece in pieces:
            page.fill("#search", piece)
            answers[piece] = page.inner_text("#match-count")
        page.fill("#search", "[NAME_1]")
        placeholder_hits = page.inner_text("#match-count")
        browser.close()
    assert [p["name"] for p in plots] == list(PLOTS) and all(p["marks"] > 0 for p in plots), plots
    assert "[NAME_1]" in searched and _leaks(searched, identifiers) == []
    assert answers == {piece: "no matches" for piece in pieces}
    assert placeholder_hits.endswith(tuple("0123456789")) and "no matches" not in placeholder_hits
    assert "session" not in title.lower() and problems == []
    assert all(url.startswith("file://") for url in requests), requests


def test_deidentify_command_renames_outputs_and_replaces_the_therapists_display_name(outputs, tmp_path):
    data = json.loads((outputs / "session.json").read_text())
    data["speakers"][0].update(label="Dr. Anna Quill", role="therapist")
    data["segments"][0]["words"][0]["word"] = " Anna"  # the therapist's own name said in the session
    data["segments"][0]["text"] = "".join(w["word"] for w in data["segments"][0]["words"]).strip()
    source = tmp_path / "client-jane-doe.json"
    shutil.copy(outputs / "session.m4a", tmp_path / "session.m4a")
    data["audio"]["path"] = str(tmp_path / "session.m4a")
    source.write_text(json.dumps(data))
    out = tmp_path / "share"
    result = run_cli("deidentify", str(source), "-o", str(out), "--format", "json,txt,vtt,html",
                     "--deidentify-names", "--deidentify-audio")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 5 and all(n.endswith((".deid.json", ".deid.txt", ".deid.vtt", ".deid.html",
                                               ".deid.opus")) for n in names), names
    assert not any("client" in n or "jane" in n for n in names)
    for path in out.iterdir():
        if path.suffix == ".opus":
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"quill|anna|jane|client-|session\.m4a", text, re.IGNORECASE), path.name
    copy = json.loads(next(out.glob("*.deid.json")).read_text())
    therapist = copy["speakers"][0]
    assert therapist["role"] == "therapist" and re.fullmatch(r"\[NAME_\d+\]", therapist["label"])
    assert copy["segments"][0]["words"][0]["word"].strip() == therapist["label"]
    assert copy["speakers"][1]["label"] == data["speakers"][1]["label"]  # an id, not a name: kept


def test_deidentify_reads_a_schema_1_0_transcript(outputs, tmp_path):
    data = json.loads((outputs / "session.json").read_text())
    for key in ("turns", "analytics", "unrecognised"):
        data.pop(key, None)
    data["provenance"]["schema_version"] = "1.0"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    result = run_cli("deidentify", str(old), "--format", "txt")
    assert result.returncode == 0, result.stderr
    assert "[PHONE_1]" in (tmp_path / "old.deid.txt").read_text()


@pytest.mark.parametrize("make, message", BAD_TRANSCRIPTS)
def test_bad_input_is_one_error_line_and_nothing_written(tmp_path, make, message):
    make(tmp_path)
    out = tmp_path / "out"
    result = run_cli("deidentify", str(tmp_path / "x.json"), "-o", str(out), "--format", "json,txt,html")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("therapybridge: error: ") and message in lines[0], result.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if not (tmp_path / "x.json").exists() else ["x.json"])


def test_a_missing_recording_to_bleep_is_one_error_line_and_nothing_written(outputs, tmp_path):
    data = json.loads((outputs / "session.json").read_text())
    data["audio"]["path"] = str(tmp_path / "gone.m4a")
    source = tmp_path / "t.json"
    source.write_text(json.dumps(data))
    result = run_cli("deidentify", str(source), "-o", str(tmp_path / "out"), "--deidentify-audio")
    assert result.returncode == 1 and "recording to bleep is not there" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
