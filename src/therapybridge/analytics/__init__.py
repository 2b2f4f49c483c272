"""Session analytics: the shape of a session from its transcript and the diarizer's turns (no model).

``compute_analytics(transcript)`` gives a :class:`SessionAnalytics` (per speaker and role: talk time and share,
turns, words per minute, questions, longest monologue; between speakers: response latency, interruptions,
overlapped speech, backchannels; silences). Every definition is stated in :mod:`therapybridge.analytics.compute`.
``analytics_of(transcript)`` reuses the section a transcript carries. ``analytics_csv`` is the table form.
"""

from __future__ import annotations

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
    """The analytics section the transcript carries (when no other ``options`` are asked for), else computed."""
    if transcript.analytics and options is None:
        return SessionAnalytics.from_dict(transcript.analytics)
    return compute_analytics(transcript, options)


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
