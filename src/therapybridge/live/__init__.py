"""Live sessions: a transcript with speakers that follows the conversation as it happens.

    options = LiveOptions(model="tiny.en")
    models = LiveModels.load(options)           # once; shared by sessions
    session = LiveSession(models, options)
    for piece in audio_pieces:                   # float32 mono 16 kHz, any length
        for event in session.feed(piece):
            send(event.to_dict())                # partial / committed / utterance / relabel / speakers
    session.finish()
    session.transcript().to_dict()               # what <stem>.live.json holds

Recognition re-decodes a rolling buffer and commits words on which two consecutive decodes agree
(``agreement``); committed words get speakers from segmentation-3.0 + CAM++ and an online clusterer
(``speakers``, ``clustering``). ``final_pass`` runs the offline pipeline once over the whole recording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

# Names are imported on first use (PEP 562): the CLI registers `live` on every start, and the models behind it
# (torch, faster-whisper) would otherwise load even for `therapybridge profiles list`.
_HOMES = {
    "CommittedEvent": "events", "EndEvent": "events", "LiveEvent": "events", "LiveWord": "events",
    "PartialEvent": "events", "RelabelEvent": "events", "SpeakersEvent": "events", "UtteranceEvent": "events",
    "final_pass": "final", "write_live": "final", "LiveModels": "models", "LiveOptions": "options",
    "Recording": "recording", "LiveSession": "session", "LiveTranscript": "transcript",
}

if TYPE_CHECKING:
    from .events import (
        CommittedEvent,
        EndEvent,
        LiveEvent,
        LiveWord,
        PartialEvent,
        RelabelEvent,
        SpeakersEvent,
        UtteranceEvent,
    )
    from .final import final_pass, write_live
    from .models import LiveModels
    from .options import LiveOptions
    from .recording import Recording
    from .session import LiveSession
    from .transcript import LiveTranscript

__all__ = [
    "CommittedEvent",
    "EndEvent",
    "LiveEvent",
    "LiveModels",
    "LiveOptions",
    "LiveSession",
    "LiveTranscript",
    "LiveWord",
    "PartialEvent",
    "Recording",
    "RelabelEvent",
    "SpeakersEvent",
    "UtteranceEvent",
    "final_pass",
    "write_live",
]


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
