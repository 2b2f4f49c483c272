"""Speak the de-identification dialogues with the corpus TTS (Kokoro-82M, offline) and store them as Opus.

Run once (about real time on one ONNX thread; the fifteen dialogues are about 16 minutes of speech)::

    .venv/bin/pip install -e ".[corpus-synth]"
    .venv/bin/python -m tests.corpus.deid.synth --jobs 2 [DIALOGUE_ID ...]

It writes ``tests/corpus/deid/data/<id>.opus`` (the dialogue's sentences in order, each followed by a pause, 24 kHz
mono, 24 kbps: the recording the benchmark transcribes) and ``<id>.json`` (the script with its planted identifiers
and each sentence's place in the stream). Both are committed; the benchmark and tests need no TTS.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from tests.corpus.deid.dialogues import DIALOGUES, SHORT, Dialogue
from tests.corpus.sessions import RESERVED_VOICES
from tests.corpus.synth import OPUS_BIT_RATE, TTS_RATE, _engine, run_synthesis

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
TURN_PAUSE = 0.45  # seconds between sentences: a calm turn-taking pace
LEAD = 0.3
SCRIPT_VERSION = 1


def voice_style(engine, voice: str):
    """The Kokoro voice to speak with: a voice name, or the mean style vector of ``"a+b"``'s voices (the fresh
    report half's mixed voices; :mod:`tests.corpus.deid.dialogues`)."""
    parts = voice.split("+")
    assert not set(parts) & RESERVED_VOICES
    if len(parts) == 1:
        return voice
    return np.mean([engine.get_voice_style(p) for p in parts], axis=0).astype(np.float32)


def synthesize(dialogue: Dialogue) -> Path:
    """Speak one dialogue and write its Opus recording and script."""
    from tests.datagen import _atomic, encode_array

    engine = _engine()
    styles = {v: voice_style(engine, v) for v in (dialogue.therapist, dialogue.client)}
    pieces = [np.zeros(int(LEAD * TTS_RATE), dtype=np.float32)]
    pause = np.zeros(int(TURN_PAUSE * TTS_RATE), dtype=np.float32)
    offset, places = len(pieces[0]), []
    for sentence in dialogue.sentences:
        lang = "en-gb" if sentence.speaker.startswith("b") else "en-us"
        audio, rate = engine.create(sentence.text, voice=styles[sentence.speaker], speed=1.0, lang=lang)
        assert rate == TTS_RATE
        audio = np.asarray(audio, dtype=np.float32)
        pieces += [audio, pause]
        places.append({"start": round(offset / TTS_RATE, 3), "end": round((offset + len(audio)) / TTS_RATE, 3)})
        offset += len(audio) + len(pause)
    opus = encode_array(np.concatenate(pieces)[None], TTS_RATE, DATA / f"{dialogue.id}.opus", "libopus", "ogg",
                        OPUS_BIT_RATE)
    document = dialogue.to_dict()
    document["sentences"] = [{**s, **p} for s, p in zip(document["sentences"], places)]
    script = {"version": SCRIPT_VERSION, "sample_rate": TTS_RATE,
              "opus_sha256": hashlib.sha256(opus.read_bytes()).hexdigest(), **document}
    with _atomic(DATA / f"{dialogue.id}.json") as tmp:
        tmp.write_text(json.dumps(script, indent=1) + "\n", encoding="utf-8")
    log.info("%s: %d sentences, %.1f s", dialogue.id, len(dialogue.sentences), offset / TTS_RATE)
    return opus


def main(argv: list[str] | None = None) -> int:
    return run_synthesis(argv, __doc__, (*DIALOGUES, SHORT), "dialogues", DATA, synthesize)


if __name__ == "__main__":
    raise SystemExit(main())
