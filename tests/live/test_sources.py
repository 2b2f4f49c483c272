"""Sources: the real-time pacing (on a fake clock), raw PCM framing, the temporary recording."""

from __future__ import annotations

import stat

import numpy as np
import pytest

from therapybridge.errors import InvalidAudioError
from therapybridge.live import Recording
from therapybridge.live.sources import paced, raw_blocks


def test_paced_blocks_wait_until_their_audio_would_have_been_heard():
    now = [100.0]
    waits = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 3))
        now[0] += seconds

    blocks = [np.zeros(1600, np.float32)] * 3 + [np.zeros(8000, np.float32)]
    out = list(paced(blocks, clock=lambda: now[0], sleep=sleep))
    assert len(out) == 4 and waits == [0.1, 0.1, 0.1, 0.5]


def test_raw_pcm_framing_keeps_samples_split_across_reads():
    import io

    samples = (np.arange(-500, 500) * 30).astype("<i2")
    data = samples.tobytes()

    class Trickle(io.RawIOBase):  # a pipe that hands over 7 bytes at a time
        def __init__(self) -> None:
            self.pos = 0

        def read(self, n: int = -1) -> bytes:
            chunk = data[self.pos : self.pos + 7]
            self.pos += len(chunk)
            return chunk

    got = np.concatenate(list(raw_blocks(Trickle(), "s16le")))
    assert np.allclose(got, samples / 32768.0)
    with pytest.raises(InvalidAudioError):
        list(raw_blocks(io.BytesIO(np.array([0.1, np.inf], "<f4").tobytes()), "f32le"))


def test_the_recording_is_private_and_gone_after_discard(tmp_path):
    recording = Recording(tmp_path)
    recording.write(np.full(16000, 0.25, np.float32))
    path = recording.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    from therapybridge.audio import decode_audio

    decoded = decode_audio(path)
    assert decoded.sample_rate == 16000 and decoded.waveform.shape[-1] == 16000
    assert np.allclose(decoded.waveform.numpy(), 0.25)
    recording.discard()
    assert not path.exists()
