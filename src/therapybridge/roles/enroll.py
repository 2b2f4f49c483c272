"""Turn a speaker's voice samples into one embedding with the diarization engine's own CAM++ model.

Only the speech of each sample is used: an energy detector finds it, the speech is cut into pieces of a few
seconds (the length the diarizer embeds, so the profile sits where the diarizer's centroids do), every piece is
embedded, and the pieces of all samples are averaged, weighted by their length.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ProfileError
from .store import Profile, utc_now

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
PIECE_SECONDS = 4.0
MIN_PIECE_SECONDS = 1.0
MIN_SPEECH_SECONDS = 2.0
RECOMMENDED_SECONDS = 10.0
_SPEECH_PAD_SECONDS = 0.05
_MERGE_GAP_SECONDS = 0.3


def embedding_model_id() -> str:
    """Which embedding model a profile was made with; profiles of another model are not comparable."""
    from ..diarization.models import EMBEDDING_CHECKPOINT

    return "campplus:" + Path(EMBEDDING_CHECKPOINT).stem


@dataclass(frozen=True)
class SampleEmbedding:
    """The embedding of one sample and how much speech it rests on."""

    vector: np.ndarray
    speech_seconds: float


def load_mono_16k(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode any audio file to mono float32 at 16 kHz."""
    from ..audio.decode import decode_audio
    from ..audio.signal import resample, to_mono

    decoded = decode_audio(path, mono=True)
    return resample(to_mono(decoded.waveform), decoded.sample_rate, SAMPLE_RATE)


def speech_pieces(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> list[np.ndarray]:
    """The speech of a clip cut into pieces of about ``PIECE_SECONDS`` (shorter than a second are dropped)."""
    import torch

    from ..audio.ops import detect_speech

    runs = detect_speech(torch.from_numpy(np.ascontiguousarray(audio)), sample_rate).speech
    pad, gap = int(_SPEECH_PAD_SECONDS * sample_rate), int(_MERGE_GAP_SECONDS * sample_rate)
    merged: list[list[int]] = []
    for start, end in runs:
        start, end = max(0, start - pad), min(len(audio), end + pad)
        if merged and start - merged[-1][1] <= gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    speech = np.concatenate([audio[s:e] for s, e in merged]) if merged else audio[:0]
    size = int(PIECE_SECONDS * sample_rate)
    count = max(1, round(len(speech) / size))
    edges = np.linspace(0, len(speech), count + 1).astype(int)
    return [speech[a:b] for a, b in zip(edges, edges[1:]) if b - a >= MIN_PIECE_SECONDS * sample_rate]


def embed_pieces(pieces: Sequence[np.ndarray], device: Any) -> np.ndarray:
    """Length-weighted mean of the pieces' CAM++ embeddings, L2-normalised."""
    import torch

    from ..diarization.embedding import embed_features, fbank

    vectors = embed_features([fbank(p) for p in pieces], torch.device(device))
    weights = np.array([len(p) for p in pieces], dtype=np.float64)
    mean = (vectors * weights[:, None]).sum(axis=0)
    return (mean / max(np.linalg.norm(mean), 1e-8)).astype(np.float32)


def embed_sample(path: str | os.PathLike[str], device: Any = "cpu") -> SampleEmbedding:
    """The embedding of the speech in one audio file of one speaker."""
    audio = load_mono_16k(path)
    pieces = speech_pieces(audio)
    seconds = sum(len(p) for p in pieces) / SAMPLE_RATE
    if seconds < MIN_SPEECH_SECONDS:
        raise ProfileError(
            f"{path} holds only {seconds:.1f} s of clear speech; record at least {RECOMMENDED_SECONDS:.0f} s of the "
            "speaker talking alone"
        )
    return SampleEmbedding(embed_pieces(pieces, device), seconds)


def build_profile(name: str, role: str, samples: Sequence[str | os.PathLike[str]], device: Any = "cpu") -> Profile:
    """Embed each sample and average them (weighted by speech length) into a :class:`Profile`."""
    import torch

    if not samples:
        raise ProfileError("enrollment needs at least one voice sample of the speaker")
    device = torch.device(device) if not isinstance(device, torch.device) else device
    embedded = [embed_sample(path, device) for path in samples]
    total = sum(e.speech_seconds for e in embedded)
    if total < RECOMMENDED_SECONDS:
        logger.warning("only %.1f s of speech enrolled; %.0f s or more match more reliably", total, RECOMMENDED_SECONDS)
    mean = sum(e.vector.astype(np.float64) * e.speech_seconds for e in embedded)
    vector = mean / max(np.linalg.norm(mean), 1e-8)
    return Profile(
        name=name,
        role=role,
        embedding=tuple(round(float(v), 7) for v in vector),  # as stored, so a saved profile reads back equal
        model=embedding_model_id(),
        created=utc_now(),
        num_samples=len(embedded),
        speech_seconds=total,
    )
