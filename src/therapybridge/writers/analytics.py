"""``--format analytics``: the session analytics as ``<stem>.analytics.json`` and ``<stem>.analytics.csv``.

The analytics the transcript carries are written as they are; a transcript without them (written before schema
1.2, or with analytics turned off) has them computed with the default definitions.
"""

from __future__ import annotations

import json

from .. import __version__
from ..types import Transcript
from .base import Writer


class AnalyticsWriter(Writer):
    """Two files: the JSON (``audio``, ``tool_version``, ``analytics``) and the CSV table of the same figures."""

    format = "analytics"
    extension = "analytics.json"
    csv_extension = "analytics.csv"

    def file_extensions(self) -> tuple[str, ...]:
        return (self.extension, self.csv_extension)

    def render(self, transcript: Transcript) -> str:
        return self.render_files(transcript)[self.extension]

    def render_files(self, transcript: Transcript) -> dict[str, str]:
        from ..analytics import analytics_csv, analytics_of

        analytics = analytics_of(transcript)
        document = {"audio": transcript.audio.to_dict(), "tool_version": __version__, "analytics": analytics.to_dict()}
        return {
            self.extension: json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
            self.csv_extension: analytics_csv(analytics),
        }
