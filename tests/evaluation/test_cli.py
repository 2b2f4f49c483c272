"""``therapybridge score`` on the bundled sample with hypotheses built from its own references, and bad inputs."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli
from tests.references import SAMPLE_RTTM, SAMPLE_STM, SAMPLE_WAV
from therapybridge.evaluation import read_rttm, read_stm

IDS = {"Diane": "SPEAKER_00", "Sheila": "SPEAKER_01", "speaker90": "SPEAKER_00", "speaker91": "SPEAKER_01"}


def _transcript(path, *, turns: bool = True, wrong_speaker: str | None = None):
    """The STM as our JSON transcript (words spread over each utterance); ``wrong_speaker`` text goes to Diane."""
    segments = []
    for u in read_stm(SAMPLE_STM):
        speaker = IDS["Diane"] if u.text == wrong_speaker else IDS[u.speaker]
        tokens, step = u.text.split(), (u.end - u.start) / len(u.text.split())
        words = [{"start": round(u.start + i * step, 3), "end": round(u.start + (i + 1) * step, 3), "word": f" {t}",
                  "speaker": speaker, "probability": 0.9} for i, t in enumerate(tokens)]
        segments.append({"start": u.start, "end": u.end, "speaker": speaker, "text": u.text, "words": words})
    data = {"audio": {"path": "sample.wav", "duration": 30.0}, "language": "en",
            "speakers": [{"id": i, "label": None, "role": None} for i in ("SPEAKER_00", "SPEAKER_01")],
            "segments": segments}
    if turns:
        data["turns"] = [{"start": t.start, "end": t.end, "speaker": IDS[t.speaker]} for t in read_rttm(SAMPLE_RTTM)]
    path.write_text(json.dumps(data))
    return path


def _score(*args: str) -> dict:
    result = run_cli("score", *args, "--rttm", str(SAMPLE_RTTM), "--stm", str(SAMPLE_STM), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_reference_as_hypothesis_scores_perfectly(tmp_path):
    score = _score(str(_transcript(tmp_path / "hyp.json")))
    assert score["diarization"]["der"] == 0.0 and score["diarization"]["jer"] == 0.0
    assert score["diarization"]["overlap"]["correct"] == 1.0
    assert score["words"]["wer"] == 0.0 and score["words"]["reference_words"] == 87
    assert score["cpwer"]["cpwer"] == 0.0
    assert score["attribution"]["wder"] == 0.0 and score["attribution"]["word_speaker_accuracy"] == 1.0


def test_without_turns_the_segments_are_the_hypothesis_turns(tmp_path):
    score = _score(str(_transcript(tmp_path / "hyp.json", turns=False)))
    # STM utterance times are not the RTTM's: 2.98 s of the 24.35 s reference speech falls outside them.
    assert score["diarization"]["missed"] == pytest.approx(0.122, abs=0.001)
    assert score["diarization"]["der"] == pytest.approx(0.140, abs=0.001)
    assert score["words"]["wer"] == 0.0


def test_words_given_the_wrong_speaker_raise_wder_and_cpwer(tmp_path):
    score = _score(str(_transcript(tmp_path / "hyp.json", wrong_speaker="Neither did I.")))
    assert score["diarization"]["der"] == 0.0  # the turns are untouched
    assert score["attribution"]["wder"] == pytest.approx(3 / 87)
    assert score["attribution"]["word_speaker_accuracy"] == pytest.approx(84 / 87)
    assert score["cpwer"]["cpwer"] == pytest.approx(6 / 87)  # deleted from Sheila, inserted for Diane
    assert score["words"]["wer"] == 0.0


def test_text_output_and_rttm_hypothesis(tmp_path):
    result = run_cli("score", str(_transcript(tmp_path / "hyp.json")), "--rttm", str(SAMPLE_RTTM),
                     "--stm", str(SAMPLE_STM), "--collar", "0.25")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["DER", "JER", "speakers", "overlap", "WER", "cpWER", "WDER",
                                                  "word-speaker"]
    assert lines[0].startswith("DER    0.0%") and "collar 0.25 s" in lines[0]
    rttm_only = run_cli("score", str(SAMPLE_RTTM), "--rttm", str(SAMPLE_RTTM), "--stm", str(SAMPLE_STM))
    assert rttm_only.returncode == 0, rttm_only.stderr
    assert "DER    0.0%" in rttm_only.stdout and "WER" not in rttm_only.stdout  # no words, no word figures


@pytest.mark.parametrize("case", ["missing hypothesis", "audio as hypothesis", "missing rttm", "stm as rttm",
                                  "rttm as stm", "not a transcript"])
def test_bad_input_is_one_error_line_and_exit_1(tmp_path, case):
    hyp = _transcript(tmp_path / "hyp.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    args = {
        "missing hypothesis": [str(tmp_path / "none.json"), "--rttm", str(SAMPLE_RTTM)],
        "audio as hypothesis": [str(SAMPLE_WAV), "--rttm", str(SAMPLE_RTTM)],
        "missing rttm": [str(hyp), "--rttm", str(tmp_path / "none.rttm")],
        "stm as rttm": [str(hyp), "--rttm", str(SAMPLE_STM)],
        "rttm as stm": [str(hyp), "--rttm", str(SAMPLE_RTTM), "--stm", str(SAMPLE_RTTM)],
        "not a transcript": [str(tmp_path / "list.json"), "--rttm", str(SAMPLE_RTTM)],
    }[case]
    result = run_cli("score", *args)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("therapybridge: error: ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["--rttm", str(SAMPLE_RTTM), "--collar", "-1"], ["--stm", str(SAMPLE_STM)]])
def test_usage_errors_exit_2(args):
    result = run_cli("score", str(SAMPLE_RTTM), *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
