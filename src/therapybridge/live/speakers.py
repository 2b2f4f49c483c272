"""Speakers for committed words: local speaker changes from segmentation-3.0, identities from CAM++ + clustering.

For each batch of newly committed words, segmentation-3.0 runs once on the last ``segmentation_seconds`` of
buffered audio; each word takes the local speaker most active under it, and each run of words of one local
speaker is embedded from up to ``embed_seconds`` of the frames where that speaker talks alone in the window, the
nearest to the run (more speech than the run itself, so the embedding is steadier), then handed to the online
clusterer.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..audio.signal import SAMPLE_RATE
from ..diarization.embedding import FBANK_SHIFT, embed_features, fbank, fbank_frame_centers
from ..diarization.engine import _torch_threads
from .clustering import Merge, OnlineClusterer
from .events import LiveEvent, LiveWord, RelabelEvent, SpeakersEvent
from .options import LiveOptions

if TYPE_CHECKING:  # pragma: no cover
    from .models import LiveModels
    from .recognizer import StreamingRecognizer

logger = logging.getLogger(__name__)

MIN_EMBED_SECONDS = 0.5  # less speech than this gives no embedding of its own: the run keeps the last speaker
CONTEXT_BEFORE = 2.0  # the window starts at least this long before the first new word when the buffer allows


class SpeakerAttributor:
    """Gives committed words a speaker; keeps the clusterer and the merge history (``aliases``)."""

    def __init__(self, models: "LiveModels", options: LiveOptions) -> None:
        least, most = options.speaker_bounds
        self._models = models
        self.options = options
        self.clusterer = OnlineClusterer(
            new_similarity=options.new_speaker_similarity,
            merge_similarity=options.merge_similarity,
            min_speakers=least,
            max_speakers=most,
            min_new_seconds=options.min_new_speaker_seconds,
            stickiness=options.stickiness,
            reservoir_size=options.reservoir_size,
        )
        self.aliases: dict[str, str] = {}
        self.relabels: list[RelabelEvent] = []
        self._last: str | None = None

    def resolve(self, speaker: str | None) -> str | None:
        """The speaker ``speaker`` is called now (after merges)."""
        while speaker in self.aliases:
            speaker = self.aliases[speaker]
        return speaker

    def attribute(
        self, words: tuple[LiveWord, ...], recognizer: "StreamingRecognizer"
    ) -> tuple[tuple[LiveWord, ...], list[LiveEvent]]:
        if not words:
            return words, []
        before = self.clusterer.speakers
        window = self.options.segmentation_seconds
        labelled: list[LiveWord] = []
        events: list[LiveEvent] = []
        with _torch_threads(1 if self._models.device.type == "cpu" else None), torch.inference_mode():
            # a batch longer than one window (a session catching up) is attributed window by window
            for group in _spans(words, window - CONTEXT_BEFORE):
                start = max(recognizer.buffer_start,
                            min(group[0].start - CONTEXT_BEFORE, recognizer.buffer_end - window))
                audio, t0 = recognizer.audio(start, start + window)
                activity, centers = self._activity(audio, t0)
                locals_ = _local_speakers(group, activity, centers)
                done, found = self._label_runs(group, locals_, audio, t0, activity, centers)
                labelled.extend(done)
                events.extend(found)
        if self.clusterer.speakers != before:
            events.append(SpeakersEvent(self.clusterer.speakers))
        return tuple(labelled), events

    def _activity(self, audio: np.ndarray, t0: float) -> tuple[np.ndarray, np.ndarray]:
        """(frames, 3) local speaker activity of the window and each frame's centre on the session clock."""
        model = self._models.segmentation
        length = int(round(model.window_seconds * model.sample_rate))
        chunk = np.zeros(length, dtype=np.float32)
        chunk[: min(length, len(audio))] = audio[:length]
        batch = torch.from_numpy(chunk).view(1, 1, -1).to(model.device)
        classes = model.module(batch).argmax(dim=-1)
        activity = model.powerset[classes][0].to(torch.uint8).cpu().numpy()
        centers = t0 + model.frame_start + model.frame_duration / 2 + model.frame_step * np.arange(len(activity))
        heard = centers < t0 + len(audio) / SAMPLE_RATE  # frames over the zero padding are not speech
        return activity * heard[:, None], centers

    def _label_runs(self, words, locals_, audio, t0, activity, centers) -> tuple[tuple[LiveWord, ...], list[LiveEvent]]:
        features = fbank(audio)
        feature_times = t0 + fbank_frame_centers(len(features))
        events: list[LiveEvent] = []
        out: list[LiveWord] = []
        previous = self._last
        for k, run in _runs(words, locals_):
            speaker, merges = self._speaker_of(run, k, features, feature_times, activity, centers, previous)
            events.extend(self._relabel(merges, run[0].start))
            speaker = self.resolve(speaker)
            out.extend(dataclasses.replace(w, speaker=speaker) for w in run)
            previous = None  # a new local speaker inside this window: no pull towards the last one
            self._last = speaker
        self._last = self.resolve(self._last)
        return tuple(out), events

    def _speaker_of(self, run, k, features, feature_times, activity, centers, previous) -> tuple[str | None, list[Merge]]:
        selected = _frames_of(k, run, features, feature_times, activity, centers, self.options.embed_seconds)
        seconds = len(selected) * FBANK_SHIFT
        if seconds < MIN_EMBED_SECONDS:
            if self._last is not None:
                return self._last, []
            if len(features) * FBANK_SHIFT < MIN_EMBED_SECONDS:
                return None, []
            selected, seconds = features, len(features) * FBANK_SHIFT
        vector = embed_features([selected], self._models.device, self._models.embedding)[0]
        return self.clusterer.assign(vector, seconds, previous=previous)

    def _relabel(self, merges: list[Merge], at: float) -> list[LiveEvent]:
        events: list[LiveEvent] = []
        for merge in merges:
            self.aliases[merge.source] = merge.target
            event = RelabelEvent(merge.source, merge.target, at)
            self.relabels.append(event)
            events.append(event)
            logger.debug("speakers merged: %s -> %s", merge.source, merge.target)
        return events


def _local_speakers(words: tuple[LiveWord, ...], activity: np.ndarray, centers: np.ndarray) -> list[int | None]:
    """The local speaker most active under each word; a word with none takes its neighbour's."""
    found: list[int | None] = []
    for w in words:
        inside = (centers >= w.start) & (centers <= max(w.end, w.start + 0.02))
        totals = activity[inside].sum(axis=0) if inside.any() else np.zeros(activity.shape[1])
        found.append(int(np.argmax(totals)) if totals.max() > 0 else None)
    known = [k for k in found if k is not None]
    fill = known[0] if known else None
    for i, k in enumerate(found):
        if k is None:
            found[i] = fill
        else:
            fill = k
    return found


def _spans(words: tuple[LiveWord, ...], longest: float) -> list[tuple[LiveWord, ...]]:
    """Consecutive groups of words, each spanning at most ``longest`` seconds."""
    groups: list[list[LiveWord]] = []
    for w in words:
        if groups and w.end - groups[-1][0].start <= longest:
            groups[-1].append(w)
        else:
            groups.append([w])
    return [tuple(g) for g in groups]


def _runs(words: tuple[LiveWord, ...], locals_: list[int | None]) -> list[tuple[int | None, list[LiveWord]]]:
    runs: list[tuple[int | None, list[LiveWord]]] = []
    for w, k in zip(words, locals_):
        if runs and runs[-1][0] == k:
            runs[-1][1].append(w)
        else:
            runs.append((k, [w]))
    return runs


def _frames_of(k, run, features, feature_times, activity, centers, longest: float = 0.0) -> np.ndarray:
    """fbank frames where local speaker ``k`` talks alone in the window (the run's own span when ``k`` is None);
    with ``longest`` > 0, at most that many seconds of them, the nearest to the run."""
    if k is None or len(centers) == 0:
        keep = (feature_times >= run[0].start) & (feature_times <= run[-1].end)
        return features[keep]
    alone = (activity[:, k] == 1) & (activity.sum(axis=1) == 1)
    index = np.clip(np.searchsorted(centers, feature_times), 0, len(centers) - 1)
    chosen = np.flatnonzero(alone[index])
    limit = int(round(longest / FBANK_SHIFT))
    if 0 < limit < len(chosen):
        times = feature_times[chosen]
        distance = np.maximum(np.maximum(run[0].start - times, times - run[-1].end), 0.0)
        chosen = np.sort(chosen[np.argsort(distance, kind="stable")[:limit]])
    return features[chosen]
