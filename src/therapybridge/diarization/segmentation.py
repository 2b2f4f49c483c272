"""Local speaker activity: segmentation-3.0 over overlapping 10 s windows (powerset output, overlap included)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from .models import SegmentationModel, parallel_map


@dataclass(frozen=True)
class LocalActivity:
    """Binarised activity of up to 3 local speakers in each window.

    ``activity[w, f, k]`` is 1 when local speaker ``k`` of window ``w`` speaks in frame ``f``; windows start every
    ``step`` seconds and the number of windows is odd, so the even-numbered ones tile the (padded) recording.
    """

    activity: np.ndarray  # (windows, frames, 3) uint8
    step: float
    window: float
    frame_start: float
    frame_duration: float
    frame_step: float
    duration: float
    # (windows, frames, 3) float16: each local speaker's probability (the powerset classes that hold it, summed)
    marginal: np.ndarray | None = None

    @property
    def num_windows(self) -> int:
        return self.activity.shape[0]

    @property
    def frames_per_step(self) -> int:
        return int(round(self.step / self.frame_step))

    def window_start(self, w: int) -> float:
        return w * self.step

    def with_second_voices(self, threshold: float | None, speech: float | None = None) -> "LocalActivity":
        """Activity where, besides the most likely powerset class, a local speaker is also active in a frame in
        which another one already speaks and its own probability reaches ``threshold`` (a voice under a voice);
        and, with ``speech``, the most probable speaker of a frame the class calls silent when its probability
        reaches ``speech``."""
        if self.marginal is None:
            return self
        activity = self.activity
        if threshold is not None:
            others = activity.sum(axis=2, keepdims=True) - activity > 0
            activity = np.maximum(activity, ((self.marginal >= threshold) & others).astype(np.uint8))
        if speech is not None:
            silent = activity.sum(axis=2) == 0
            best = self.marginal.argmax(axis=2)
            likely = np.take_along_axis(self.marginal, best[..., None], axis=2)[..., 0] >= speech
            extra = np.zeros_like(activity)
            np.put_along_axis(extra, best[..., None], (silent & likely)[..., None].astype(np.uint8), axis=2)
            activity = np.maximum(activity, extra)
        return replace(self, activity=activity)

    def frame_centers(self) -> np.ndarray:
        """Centre time of each frame relative to its window start."""
        return self.frame_start + self.frame_duration / 2 + self.frame_step * np.arange(self.activity.shape[1])


def window_count(num_samples: int, window: int, step: int) -> int:
    """Windows needed to cover ``num_samples``, rounded up to an odd count (the even ones must tile)."""
    k = max(0, -(-(num_samples - window) // step))
    if k % 2:
        k += 1
    return k + 1


@torch.inference_mode()
def local_activity(
    audio: np.ndarray, model: SegmentationModel, *, step: float = 5.0, batch_size: int = 16
) -> LocalActivity:
    """Run segmentation-3.0 on windows of ``model.window_seconds`` every ``step`` s over mono 16 kHz ``audio``."""
    rate = model.sample_rate
    window = int(round(model.window_seconds * rate))
    hop = int(round(step * rate))
    if window != 2 * hop:
        raise ValueError("the window must be twice the step so that every other window tiles the recording")
    n_windows = window_count(len(audio), window, hop)
    source = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))

    def run(first: int) -> np.ndarray:
        chunks = []
        for w in range(first, min(first + batch_size, n_windows)):
            chunk = source[w * hop : w * hop + window]
            if len(chunk) < window:  # the last windows run past the end: zero-pad them alone, not the recording
                chunk = torch.nn.functional.pad(chunk, (0, window - len(chunk)))
            chunks.append(chunk)
        batch = torch.stack(chunks).unsqueeze(1).to(model.device)
        logits = model.module(batch)
        active = model.powerset[logits.argmax(dim=-1)].to(torch.uint8).cpu().numpy()
        marginal = (torch.softmax(logits.float(), dim=-1) @ model.powerset.float()).half().cpu().numpy()
        return active, marginal

    outputs = parallel_map(run, list(range(0, n_windows, batch_size)), model.device)
    return LocalActivity(
        activity=np.concatenate([a for a, _ in outputs], axis=0),
        marginal=np.concatenate([m for _, m in outputs], axis=0),
        step=step,
        window=model.window_seconds,
        frame_start=model.frame_start,
        frame_duration=model.frame_duration,
        frame_step=model.frame_step,
        duration=len(audio) / rate,
    )
