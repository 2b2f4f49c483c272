"""Session analytics: the shape of a session from its transcript and the diarizer's turns (no model).

``compute_analytics(transcript)`` gives a :class:`SessionAnalytics` (per speaker and role: talk time and share,
turns, words per minute, questions, longest monologue; between speakers: response latency, interruptions,
overlapped speech, backchannels; silences). Every definition is stated in :mod:`therapybridge.analytics.compute`.
``analytics_of(transcript)`` reuses the section a transcript carries. ``analytics_csv`` is the table form.
"""

from __future__ import annotations

import dataclasses

from ..types import Transcript
from .compute import analyse, compute_analytics, tokens_of
from .model import (
    ANALYTICS_VERSION,
    AnalyticsOptions,
    Interaction,
    Latency,
    PartyStats,
    SessionAnalytics,
    Silence,
    Span,
)
from .table import analytics_csv


def analytics_of(transcript: Transcript, options: AnalyticsOptions | None = None) -> SessionAnalytics:
    """The analytics section the transcript carries (when no other ``options`` are asked for), else computed.

    The speakers' labels and roles are the transcript's own (a ``render --rename`` changes them, not the figures).
    """
    if not transcript.analytics or options is not None:
        return compute_analytics(transcript, options)
    carried = SessionAnalytics.from_dict(transcript.analytics)
    info = {s.id: s for s in transcript.speakers}
    speakers = tuple(
        dataclasses.replace(p, label=info[p.id].label, role=info[p.id].role) if p.id in info else p
        for p in carried.speakers
    )
    return dataclasses.replace(carried, speakers=speakers)


__all__ = [
    "ANALYTICS_VERSION",
    "AnalyticsOptions",
    "Interaction",
    "Latency",
    "PartyStats",
    "SessionAnalytics",
    "Silence",
    "Span",
    "analyse",
    "analytics_csv",
    "analytics_of",
    "compute_analytics",
    "tokens_of",
]
