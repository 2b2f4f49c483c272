"""Online speaker clustering: centroids that grow as the session goes, with a bounded store of embeddings."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def speaker_name(index: int) -> str:
    return f"SPEAKER_{index:02d}"


@dataclass
class _Cluster:
    name: str
    total: np.ndarray  # speech-weighted sum of the member embeddings
    seconds: float
    reservoir: list[np.ndarray] = field(default_factory=list)
    seen: int = 0

    @property
    def centroid(self) -> np.ndarray:
        return self.total / max(float(np.linalg.norm(self.total)), 1e-8)


@dataclass(frozen=True)
class Merge:
    """Cluster ``source`` was folded into ``target``."""

    source: str
    target: str


class OnlineClusterer:
    """Assign L2-normalised embeddings to speakers one at a time.

    Memory is bounded: each cluster keeps its weighted sum (the centroid) and a reservoir sample of at most
    ``reservoir_size`` member embeddings (uniform over everything it was given, for checks and merges), and there
    are at most ``max_speakers`` clusters. ``min_speakers`` makes a new speaker easier to open until that many are
    known, and merges never go below it.
    """

    def __init__(
        self,
        *,
        new_similarity: float,
        merge_similarity: float,
        min_speakers: int = 1,
        max_speakers: int = 8,
        min_new_seconds: float = 1.0,
        stickiness: float = 0.0,
        reservoir_size: int = 64,
        seed: int = 0,
    ) -> None:
        self.new_similarity = new_similarity
        self.merge_similarity = merge_similarity
        self.min_speakers = min_speakers
        self.max_speakers = max_speakers
        self.min_new_seconds = min_new_seconds
        self.stickiness = stickiness
        self.reservoir_size = reservoir_size
        self._clusters: list[_Cluster] = []
        self._opened = 0
        self._rng = np.random.default_rng(seed)

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(c.name for c in self._clusters)

    def stored_embeddings(self) -> int:
        return sum(len(c.reservoir) for c in self._clusters)

    def assign(self, vector: np.ndarray, seconds: float, previous: str | None = None) -> tuple[str, list[Merge]]:
        """The speaker of an embedding backed by ``seconds`` of speech; merges it caused, if any.

        ``previous`` (the speaker of the words just before) wins when it scores within ``stickiness`` of the best:
        a turn rarely changes hands without the segmentation seeing it."""
        vector = np.asarray(vector, dtype=np.float64)
        vector = vector / max(float(np.linalg.norm(vector)), 1e-8)
        if not self._clusters:
            return self._open(vector, seconds).name, []
        scores = np.array([float(c.centroid @ vector) for c in self._clusters])
        best = int(np.argmax(scores))
        threshold = self.new_similarity + (0.15 if len(self._clusters) < self.min_speakers else 0.0)
        if (scores[best] < threshold and seconds >= self.min_new_seconds
                and len(self._clusters) < self.max_speakers):
            return self._open(vector, seconds).name, []
        names = self.speakers
        if previous in names and scores[names.index(previous)] >= scores[best] - self.stickiness:
            best = names.index(previous)
        cluster = self._clusters[best]
        self._add(cluster, vector, seconds)
        return cluster.name, self._merges()

    def _open(self, vector: np.ndarray, seconds: float) -> _Cluster:
        cluster = _Cluster(speaker_name(self._opened), np.zeros_like(vector), 0.0)
        self._opened += 1
        self._add(cluster, vector, seconds)
        self._clusters.append(cluster)
        return cluster

    def _add(self, cluster: _Cluster, vector: np.ndarray, seconds: float) -> None:
        weight = max(seconds, 0.1)
        cluster.total = cluster.total + weight * vector
        cluster.seconds += seconds
        cluster.seen += 1
        if len(cluster.reservoir) < self.reservoir_size:
            cluster.reservoir.append(vector)
        else:  # reservoir sampling: every embedding given so far is kept with the same chance
            slot = int(self._rng.integers(cluster.seen))
            if slot < self.reservoir_size:
                cluster.reservoir[slot] = vector

    def _merges(self) -> list[Merge]:
        merges: list[Merge] = []
        while len(self._clusters) > self.min_speakers:
            pair = self._closest_pair()
            if pair is None:
                break
            keep, fold = pair
            target, source = self._clusters[keep], self._clusters[fold]
            target.total = target.total + source.total
            target.seconds += source.seconds
            target.seen += source.seen
            target.reservoir = (target.reservoir + source.reservoir)[: self.reservoir_size]
            del self._clusters[fold]
            merges.append(Merge(source.name, target.name))
        return merges

    def _closest_pair(self) -> tuple[int, int] | None:
        """The two most similar clusters when they are alike enough to be one speaker (older one kept)."""
        if len(self._clusters) < 2:
            return None
        cents = np.stack([c.centroid for c in self._clusters])
        sims = cents @ cents.T
        np.fill_diagonal(sims, -np.inf)
        i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
        if sims[i, j] < self.merge_similarity:
            return None
        return (min(i, j), max(i, j))
