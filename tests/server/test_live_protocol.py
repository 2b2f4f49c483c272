"""The /v1/live wire protocol on its own: the start message, tokens in the subprotocol header, frame decoding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from therapybridge.server.live_protocol import (
    CLOSE_INVALID_DATA,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    MAX_FRAME_BYTES,
    MAX_TEXT_BYTES,
    SUBPROTOCOL,
    FrameDecoder,
    ProtocolViolation,
    parse_message,
    parse_start,
    token_from_subprotocols,
)


def test_a_start_message_with_every_field():
    start, token = parse_start({"type": "start", "token": "tb_x", "format": "f32le", "sample_rate": 48000,
                                "min_speakers": 2, "max_speakers": 3, "final_pass": False, "formats": ["txt", "srt"]})
    assert token == "tb_x"
    assert (start.format, start.sample_rate, start.final_pass) == ("f32le", 48000, False)
    assert (start.num_speakers, start.min_speakers, start.max_speakers) == (None, 2, 3)
    assert start.formats == ("txt", "srt")
    job = start.job_options(model="tiny.en")
    assert (job.model, job.min_speakers, job.max_speakers, job.formats) == ("tiny.en", 2, 3, ("txt", "srt"))


def test_start_defaults():
    start, token = parse_start({"type": "start"})
    assert token is None
    assert (start.format, start.sample_rate, start.final_pass, start.num_speakers) == ("s16le", 16000, True, None)


@pytest.mark.parametrize("message, words", [
    ({"type": "hello"}, "first message must be"),
    ({"type": "start", "format": "mp3"}, "format must be"),
    ({"type": "start", "sample_rate": 1000}, "sample_rate must be"),
    ({"type": "start", "sample_rate": 48000.5}, "sample_rate must be"),
    ({"type": "start", "sample_rate": True}, "sample_rate must be"),
    ({"type": "start", "speakers": "two"}, "must be integers"),
    ({"type": "start", "speakers": 0}, "between 1 and 64"),
    ({"type": "start", "speakers": 2, "max_speakers": 3}, "either speakers"),
    ({"type": "start", "min_speakers": 3, "max_speakers": 2}, "must not exceed"),
    ({"type": "start", "final_pass": "yes"}, "final_pass must be"),
    ({"type": "start", "formats": "txt"}, "formats must be a list"),
    ({"type": "start", "formats": ["docx"]}, "unknown format"),
    ({"type": "start", "token": 12}, "token must be a string"),
    ({"type": "start", "volume": 11}, "unknown field(s) in the start message: volume"),
])
def test_a_bad_start_message_is_a_policy_violation_with_one_clear_reason(message, words):
    with pytest.raises(ProtocolViolation) as caught:
        parse_start(message)
    assert caught.value.code == CLOSE_POLICY
    assert words in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("text, code", [
    ("not json", CLOSE_INVALID_DATA), ("[1, 2]", CLOSE_INVALID_DATA), ('{"kind": "stop"}', CLOSE_INVALID_DATA),
    ('{"type": 3}', CLOSE_INVALID_DATA), (json.dumps({"type": "start", "pad": "x" * MAX_TEXT_BYTES}), CLOSE_TOO_BIG),
])
def test_text_that_is_not_a_message(text, code):
    with pytest.raises(ProtocolViolation) as caught:
        parse_message(text)
    assert caught.value.code == code


def test_the_token_comes_from_the_subprotocol_offer_and_is_never_the_one_accepted():
    assert token_from_subprotocols([SUBPROTOCOL, "bearer.tb_abc_def"]) == ("tb_abc_def", SUBPROTOCOL)
    assert token_from_subprotocols(["bearer.tb_abc_def"]) == ("tb_abc_def", None)
    assert token_from_subprotocols([SUBPROTOCOL]) == (None, SUBPROTOCOL)
    assert token_from_subprotocols(["bearer."]) == (None, None)
    assert token_from_subprotocols([]) == (None, None)


def test_s16le_frames_become_float_samples():
    pcm = np.array([0, 16384, -32768, 32767], dtype="<i2")
    samples = FrameDecoder("s16le").decode(pcm.tobytes())
    assert samples.dtype == np.float32
    np.testing.assert_allclose(samples, [0.0, 0.5, -1.0, 32767 / 32768])


def test_f32le_frames_pass_through_and_non_finite_samples_are_refused():
    values = np.array([0.25, -0.5, 1.0], dtype="<f4")
    np.testing.assert_array_equal(FrameDecoder("f32le").decode(values.tobytes()), values)
    with pytest.raises(ProtocolViolation, match="not finite") as caught:
        FrameDecoder("f32le").decode(np.array([0.1, np.nan], dtype="<f4").tobytes())
    assert caught.value.code == CLOSE_INVALID_DATA


@pytest.mark.parametrize("fmt, size", [("s16le", 3), ("f32le", 6), ("f32le", 4097)])
def test_a_frame_that_is_not_whole_samples(fmt, size):
    with pytest.raises(ProtocolViolation, match="not a whole number") as caught:
        FrameDecoder(fmt).decode(b"\0" * size)
    assert caught.value.code == CLOSE_INVALID_DATA


def test_an_oversize_frame():
    with pytest.raises(ProtocolViolation, match="larger than") as caught:
        FrameDecoder("s16le").decode(b"\0" * (MAX_FRAME_BYTES + 2))
    assert caught.value.code == CLOSE_TOO_BIG
    assert FrameDecoder("s16le").decode(b"\0" * MAX_FRAME_BYTES).size == MAX_FRAME_BYTES // 2
