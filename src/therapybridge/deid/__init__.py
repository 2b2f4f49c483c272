"""De-identification of transcripts (``--deidentify``, ``therapybridge deidentify``).

Finds people's names, places smaller than a country, dates, ages over 89, phone numbers, e-mail and street
addresses, URLs and identifying numbers, with Microsoft Presidio over spaCy's small English model plus recognisers
for what spoken transcripts look like (:mod:`.recognizers`), and replaces each with a typed placeholder
(``[NAME_1]``) kept consistent within the session and timed like the words it replaced (:mod:`.transcript`).
:mod:`.outputs` writes the de-identified variants of every format beside the originals and, optionally, an audio
copy with each finding bleeped (:mod:`.audio`). Everything runs offline.

::

    result = deidentify_transcript(transcript)          # a new Transcript + findings; the input is unchanged
    result.transcript.text                              # "My sister [NAME_1] moved to [PLACE_1] ..."
"""

from __future__ import annotations

from .engine import Deidentifier
from .model import CATEGORIES, DeidOptions, DeidResult, Finding
from .transcript import deidentify_transcript

__all__ = ["CATEGORIES", "DeidOptions", "DeidResult", "Deidentifier", "Finding", "deidentify_transcript"]
