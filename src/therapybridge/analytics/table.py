"""The analytics as one CSV table: a row per figure, so any spreadsheet reads it.

Columns: ``scope`` (``session``, ``speaker``, ``role``, ``silence``), ``id`` (speaker id or role), ``label``,
``role``, ``metric``, ``value``, and ``start``/``end`` for figures that are a stretch of the session (the longest
turn and monologue, each long silence). Seconds for times, fractions for shares. Labels are the speakers' display
labels; no transcript text appears.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from .model import PartyStats, SessionAnalytics

COLUMNS = ("scope", "id", "label", "role", "metric", "value", "start", "end")
_PARTY_FIGURES = ("talk_time", "talk_share", "turns", "median_turn", "words", "words_per_minute", "utterances",
                  "questions", "question_share", "backchannels", "interruptions", "interrupted")


def analytics_csv(analytics: SessionAnalytics) -> str:
    """The CSV text (header row first, ``\\n`` line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    data = analytics.to_dict()
    interaction, silence = data["interaction"], data["silence"]
    latency = interaction["latency"]
    session = [
        ("duration", data["duration"]), ("latency_count", latency["count"]), ("latency_median", latency["median"]),
        ("latency_p90", latency["p90"]), ("interruptions", interaction["interruptions"]),
        ("overlap_time", interaction["overlap_time"]), ("overlap_share", interaction["overlap_share"]),
        ("backchannels", interaction["backchannels"]),
        ("backchannels_per_minute", interaction["backchannels_per_minute"]),
        ("silence_total", silence["total"]), ("silence_share", silence["share"]),
        ("long_silences", silence["long_count"]),
    ]
    for metric, value in session:
        writer.writerow(("session", "", "", "", metric, _cell(value), "", ""))
    for scope, parties in (("speaker", analytics.speakers), ("role", analytics.roles)):
        for party in parties:
            _party_rows(writer, scope, party)
    for span in silence["long"]:
        writer.writerow(("silence", "", "", "", "long_silence", _cell(span["duration"]), _cell(span["start"]),
                         _cell(span["end"])))
    return out.getvalue()


def _party_rows(writer: Any, scope: str, party: PartyStats) -> None:
    data = party.to_dict()
    head = (scope, party.id or "", party.label, party.role or "")
    for metric in _PARTY_FIGURES:
        writer.writerow((*head, metric, _cell(data[metric]), "", ""))
    for metric in ("longest_turn", "longest_monologue"):
        span = data[metric]
        if span is None:
            writer.writerow((*head, metric, "", "", ""))
        else:
            writer.writerow((*head, metric, _cell(span["duration"]), _cell(span["start"]), _cell(span["end"])))


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
