"""Short two-speaker clips of the realistic corpus (development half) for the live tests."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

RATE = 16000


def _clip(seconds: float) -> np.ndarray:
    from tests.corpus.build import build_session
    from tests.corpus.sessions import session
    from therapybridge.live.sources import decoded_blocks

    pieces, total = [], 0
    for block in decoded_blocks(build_session(session("d01")).audio):
        pieces.append(block)
        total += len(block)
        if total >= seconds * RATE:
            break
    return np.concatenate(pieces)[: int(seconds * RATE)]


@pytest.fixture(scope="session")
def clip40() -> np.ndarray:
    """The first 40 s of d01: the therapist, then the client, turn by turn."""
    return _clip(40.0)


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="session")
def clip_wav(clip40, tmp_path_factory) -> Path:
    """The first 16 s of d01 as a 16 kHz WAV (both speakers talk in it)."""
    return write_wav(tmp_path_factory.mktemp("live") / "clip.wav", clip40[: 16 * RATE])


@pytest.fixture(scope="session")
def live_models():
    from therapybridge.live import LiveModels, LiveOptions

    return LiveModels.load(LiveOptions(model="tiny.en", device="cpu"))
