"""Speaker embeddings: Kaldi fbank features and batched CAM++ inference, plus the public ``embed_speech``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..audio.signal import resample, to_mono
from ..errors import InvalidAudioError
from .models import EMBEDDING_DIM, load_embedding, parallel_map

SAMPLE_RATE = 16000
FBANK_SHIFT = 0.010
FBANK_LENGTH = 0.025
# Cyclic padding to the longest sequence of a batch costs compute; batches therefore hold sequences of similar
# length (sorted) and at most this many feature frames in total (CAM++'s 2-D front end keeps 32 x 80 floats per
# frame, so this bounds activation memory to about 100 MB; larger CPU batches are not faster).
MAX_BATCH_FRAMES = 8_000


def fbank(audio: np.ndarray) -> np.ndarray:
    """80-bin log-mel Kaldi filterbank (25 ms / 10 ms, no dither) of 16 kHz audio: (frames, 80) float32."""
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.samp_freq = SAMPLE_RATE
    opts.mel_opts.num_bins = 80
    extractor = knf.OnlineFbank(opts)
    extractor.accept_waveform(SAMPLE_RATE, np.ascontiguousarray(audio, dtype=np.float32))
    extractor.input_finished()
    n = extractor.num_frames_ready
    if n == 0:
        return np.zeros((0, 80), dtype=np.float32)
    return np.stack([extractor.get_frame(i) for i in range(n)]).astype(np.float32, copy=False)


def fbank_frame_centers(num_frames: int) -> np.ndarray:
    """Centre time (s) of each fbank frame relative to the start of the audio it came from."""
    return FBANK_LENGTH / 2 + FBANK_SHIFT * np.arange(num_frames)


def _cyclic(features: np.ndarray, length: int) -> np.ndarray:
    reps = -(-length // len(features))
    return np.tile(features, (reps, 1))[:length]


@torch.inference_mode()
def embed_features(
    sequences: Sequence[np.ndarray], device: torch.device, model: torch.nn.Module | None = None
) -> np.ndarray:
    """Embed fbank sequences (each (frames, 80), frames >= 1) in length-sorted batches; (n, 192) float32 L2-normed.

    Each sequence is mean-normalised; shorter members of a batch are padded by repeating themselves, which keeps
    the statistics pooled by CAM++ those of the speaker's own frames.
    """
    model = model if model is not None else load_embedding(device)
    out = np.zeros((len(sequences), EMBEDDING_DIM), dtype=np.float32)
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    batches = []
    start = 0
    while start < len(order):
        stop = start
        while stop < len(order):
            longest = len(sequences[order[stop]])
            if (stop - start + 1) * longest > MAX_BATCH_FRAMES and stop > start:
                break
            stop += 1
        batches.append(order[start:stop])
        start = stop

    def forward(batch_ids: list[int]) -> tuple[list[int], np.ndarray]:
        longest = max(len(sequences[i]) for i in batch_ids)
        batch = np.stack([_cyclic(sequences[i] - sequences[i].mean(axis=0), longest) for i in batch_ids])
        return batch_ids, model(torch.from_numpy(batch).to(device)).float().cpu().numpy()

    for batch_ids, vectors in parallel_map(forward, batches, device):
        out[batch_ids] = vectors
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-8)


def embed_speech(audio: np.ndarray | torch.Tensor, sample_rate: int = SAMPLE_RATE, device: torch.device | str = "cpu") -> np.ndarray:
    """One L2-normalised 192-d CAM++ vector for a clip of one speaker (the model the diarizer uses).

    Comparable by cosine similarity with ``DiarizationResult.centroids``. Needs at least 0.5 s of audio.
    """
    device = torch.device(device)
    audio = resample(to_mono(audio), sample_rate, SAMPLE_RATE)  # 1-D or [channels, samples], channels averaged
    if len(audio) < SAMPLE_RATE // 2:
        raise InvalidAudioError("a speaker clip must hold at least 0.5 s of speech to embed; give a longer clip")
    return embed_features([fbank(audio)], device)[0]
