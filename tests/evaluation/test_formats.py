"""RTTM, STM and UEM files: tags, round trips and readable errors for malformed lines."""

from __future__ import annotations

import pytest

from therapybridge.errors import InputNotFoundError, TranscriptFormatError
from therapybridge.evaluation import read_rttm, read_stm, read_uem, write_rttm
from therapybridge.types import SpeakerTurn
from tests.references import SAMPLE_RTTM, SAMPLE_STM


def test_bundled_references_read():
    turns, utterances = read_rttm(SAMPLE_RTTM), read_stm(SAMPLE_STM)
    assert len(turns) == 10 and turns[0] == SpeakerTurn(6.69, 7.12, "speaker90")
    assert len(utterances) == 13 and utterances[0].speaker == "Diane" and utterances[0].text == "Hello?"


def test_rttm_round_trip(tmp_path):
    turns = [SpeakerTurn(0.1, 1.23, "A"), SpeakerTurn(1.0, 2.5, "B")]
    write_rttm(tmp_path / "x.rttm", turns, "rec")
    assert read_rttm(tmp_path / "x.rttm") == turns
    assert (tmp_path / "x.rttm").read_text().startswith("SPEAKER rec 1 0.100 1.130 <NA> <NA> A <NA> <NA>\n")


def test_stm_tags_and_comments(tmp_path):
    path = tmp_path / "x.stm"
    path.write_text(";; comment\nrec 1 Ann 0.0 1.5 Hello there.\nrec 1 Bob 1.0 1.4 <backchannel> Yeah.\n"
                    "rec 1 Ann 2.0 3.0 <o,f0,female>\nrec 1 Bob 3.0 4.0\n")
    first, second, third, fourth = read_stm(path)
    assert (first.text, first.tags, first.backchannel) == ("Hello there.", (), False)
    assert (second.text, second.tags, second.backchannel) == ("Yeah.", ("backchannel",), True)
    assert third.tags == ("o", "f0", "female") and third.text == ""
    assert fourth.text == "" and fourth.to_dict()["end"] == 4.0


def test_uem(tmp_path):
    (tmp_path / "x.uem").write_text("rec 1 0.00 10.5\nrec 1 12 20\n")
    assert read_uem(tmp_path / "x.uem") == [(0.0, 10.5), (12.0, 20.0)]


@pytest.mark.parametrize("reader, text", [(read_stm, "rec 1 Ann zero 1.5 hi\n"), (read_stm, "rec 1 Ann 2.0 1.0 hi\n"),
                                          (read_rttm, "SPEAKER rec 1 x 1.0\n"), (read_uem, "rec 1 0\n")])
def test_malformed_lines_are_format_errors(tmp_path, reader, text):
    (tmp_path / "bad").write_text(text)
    with pytest.raises(TranscriptFormatError, match="malformed"):
        reader(tmp_path / "bad")


def test_missing_file_says_so(tmp_path):
    with pytest.raises(InputNotFoundError, match="no such RTTM file"):
        read_rttm(tmp_path / "none.rttm")
