"""Make the corpus recordings and their exact references from the committed dry utterances.

For each session (:mod:`tests.corpus.sessions`) the builder decodes ``data/<id>.opus``, lays the sentences out on a
timeline from the script's relations (pauses, interruptions, backchannels inside another speaker's sentence, long
silences), gives each speaker a room and a distance from the recorder, adds background noise at the session's SNR
and writes the file with the session's codec. Everything is seeded, so a build is bit-for-bit the same on the same
CPU and package versions. Results are cached under ``tests/.generated/corpus/`` (or ``$THERAPYBRIDGE_TEST_AUDIO_CACHE``).

References come from the generator's own event log, never from a model:

- ``<id>.rttm``: one line per speech island, the sentence cut wherever its dry audio pauses for at least
  :data:`MIN_PAUSE` seconds (judged on the speech band, above :data:`SPEECH_BAND_HZ`; overlaps kept: a backchannel
  and the sentence around it are both there).
- ``<id>.stm``: one line per sentence with its text, punctuation kept; backchannels tagged ``<backchannel>``.
- ``<id>.events.json``: every sentence (speaker, role, start, end, kind, text) and the islands inside it.

Run ``python -m tests.corpus.build [--split dev|eval] [ID ...]`` to build ahead of time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import wave
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tests.corpus.sessions import CODECS, RESERVED_VOICES, SESSIONS, SessionSpec, session
from tests.datagen import CACHE, Turn, _atomic, _locked, encode_array, write_rttm

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
CORPUS_CACHE = CACHE / "corpus"
# Bump when the construction changes so stale builds are not reused. Version 2 judges the reference islands on the
# speech band (SPEECH_BAND_HZ); the recordings are the same as version 1's, bit for bit.
BUILD_VERSION = 2
RATE = 24000
# A pause inside a sentence of at least this long splits the reference into two islands; shorter dips (stops,
# comma breaths of a few frames) are part of the speech, as human annotators of meeting corpora treat them.
MIN_PAUSE = 0.25
# A 10 ms frame counts as speech when it is within this many dB of the sentence's loudest frame.
ISLAND_DB = 40.0
# ... measured above this frequency. Some voices end their sentences with rumble under 80 Hz: bm_fable's last island
# ran on for a median 0.67 s after the sentence last came within 20 dB of its peak (every other voice 0.04-0.18 s),
# at 25-45 dB under the peak and with no zero crossing in most 10 ms frames. Nobody hears that as speech and no
# telephone line passes it, yet judged on the whole band it counted as 21 % of bm_fable's reference speech (am_puck
# 2.5 %, every other voice, the deep male ones included, 0.4 % or less: speech itself is left alone).
SPEECH_BAND_HZ = 80.0
LEAD_IN = 1.0
SPEECH_DBFS = -26.0


@dataclass(frozen=True)
class Event:
    """One spoken sentence on the session's clock."""

    index: int
    speaker: str
    role: str
    kind: str
    start: float
    end: float
    text: str
    islands: tuple[tuple[float, float], ...]

    def to_dict(self) -> dict:
        return {"index": self.index, "speaker": self.speaker, "role": self.role, "kind": self.kind,
                "start": self.start, "end": self.end, "text": self.text, "islands": [list(i) for i in self.islands]}


@dataclass(frozen=True)
class CorpusSession:
    """A built session: its recording, references and event log."""

    spec: SessionSpec
    audio: Path
    rttm: Path
    stm: Path
    events_path: Path
    duration: float
    events: tuple[Event, ...]

    @property
    def speakers(self) -> tuple[str, ...]:
        return self.spec.voices

    @property
    def num_speakers(self) -> int:
        return len(self.spec.voices)

    @property
    def turns(self) -> tuple[Turn, ...]:
        """Reference speech islands as speaker turns (overlaps kept), in time order."""
        islands = [Turn(a, b, e.speaker) for e in self.events for a, b in e.islands]
        return tuple(sorted(islands, key=lambda t: (t.start, t.end)))

    @property
    def text(self) -> str:
        return " ".join(e.text for e in sorted(self.events, key=lambda e: e.start))


def roles(spec: SessionSpec) -> dict[str, str]:
    names = {"dyad": ["therapist", "client"], "couple": ["therapist", "partner", "partner"], "dictation": ["clinician"]}
    return dict(zip(spec.voices, names[spec.kind]))


def load_script(spec: SessionSpec) -> dict:
    path = DATA / f"{spec.id}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run python -m tests.corpus.synth {spec.id}")
    return json.loads(path.read_text(encoding="utf-8"))


def decode_dry(spec: SessionSpec, script: dict) -> list[np.ndarray]:
    """The session's dry sentences, decoded from its Opus stream (checked against the script's checksum)."""
    import av

    path = DATA / f"{spec.id}.opus"
    if hashlib.sha256(path.read_bytes()).hexdigest() != script["opus_sha256"]:
        raise ValueError(f"{path.name} does not match the checksum in {spec.id}.json")
    pieces = []
    resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            pieces += [f.to_ndarray()[0] for f in resampler.resample(frame)]
    pieces += [f.to_ndarray()[0] for f in resampler.resample(None)]
    stream = np.concatenate(pieces).astype(np.float32)
    return [stream[line["offset"] : line["offset"] + line["length"]].copy() for line in script["lines"]]


def speech_islands(clip: np.ndarray, rate: int = RATE, *, speech_band: bool = True) -> list[tuple[int, int]]:
    """Sample ranges of a dry sentence that are speech: 10 ms frames within ISLAND_DB of its loudest frame, in the
    band above SPEECH_BAND_HZ (``speech_band=False``: the whole band), joined across pauses shorter than MIN_PAUSE."""
    if speech_band:
        from scipy.signal import butter, sosfiltfilt

        # Zero phase, so that the islands' edges stay where the sound is.
        sos = butter(4, SPEECH_BAND_HZ, btype="highpass", fs=rate, output="sos")
        clip = sosfiltfilt(sos, clip.astype(np.float64))
    hop = rate // 100
    frames = len(clip) // hop
    if frames == 0:
        return []
    power = (clip[: frames * hop].reshape(frames, hop).astype(np.float64) ** 2).mean(axis=1)
    level = 10 * np.log10(power + 1e-12)
    voiced = level > level.max() - ISLAND_DB
    islands: list[list[int]] = []
    max_gap = int(MIN_PAUSE * 100)
    for i in np.flatnonzero(voiced):
        if islands and i - islands[-1][1] <= max_gap:
            islands[-1][1] = i + 1
        else:
            islands.append([i, i + 1])
    return [(a * hop, b * hop) for a, b in islands]


def layout(lines: list[dict], lengths: list[int]) -> list[int]:
    """Start sample of every sentence from the script's relations."""
    starts = [0] * len(lines)
    end = int(LEAD_IN * RATE)
    previous_length = 0
    for i, (line, length) in enumerate(zip(lines, lengths)):
        if line["kind"] == "backchannel":
            host = line["host"]
            starts[i] = starts[host] + int(line["at"] * lengths[host])
            continue
        gap = int(line["gap"] * RATE)
        if gap < 0:  # an interruption overlaps at most half of either sentence
            gap = -min(-gap, previous_length // 2, length // 2)
        starts[i] = max(0, end + gap)
        end = max(end, starts[i] + length)
        previous_length = length
    return starts


def room_response(rng: np.random.Generator, rt60: float, direct_to_reverb_db: float) -> np.ndarray:
    """A synthetic room impulse response: the direct path, a few early reflections and an exponentially decaying
    diffuse tail whose energy sits ``direct_to_reverb_db`` below the direct path."""
    n = int(rt60 * RATE)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.004 * RATE)] = 0.0
    for _ in range(6):
        tail[int(rng.uniform(0.003, 0.025) * RATE)] += rng.uniform(-0.5, 0.5)
    tail *= 10 ** (-direct_to_reverb_db / 20) / np.sqrt(np.sum(tail**2))
    tail[0] = 1.0
    return tail.astype(np.float32)


def background_noise(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Room tone: pink noise (ventilation), a little mains hum and a slow swell, normalised to unit power."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    spectrum /= np.sqrt(np.maximum(freqs, 20.0))
    pink = np.fft.irfft(spectrum, n)
    t = np.arange(n) / rate
    mains = rng.choice([50.0, 60.0])
    hum = sum(np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6.28)) / k for k in (1, 2, 3))
    noise = pink / pink.std() + 0.15 * hum
    noise *= 1.0 + 0.3 * np.sin(2 * np.pi * t / rng.uniform(20, 60))
    return (noise / noise.std()).astype(np.float32)


def _mix(spec: SessionSpec, tracks: np.ndarray, speech_mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Channels x samples at RATE: the speakers' sum (or one per channel for a stereo recording), scaled to
    SPEECH_DBFS over speech, plus room tone at the session's SNR."""
    stereo = spec.codec == "stereo"
    if stereo:  # each speaker's own microphone, with a little of the other's voice
        bleed = 10 ** (-25 / 20)
        mixed = tracks[:2] + bleed * tracks[1::-1]
    else:
        mixed = tracks.sum(axis=0, keepdims=True)
    speech_power = float(np.mean(mixed[:, speech_mask] ** 2))
    scale = 10 ** (SPEECH_DBFS / 20) / np.sqrt(speech_power)
    mixed *= scale
    noise_power = speech_power * scale**2 / 10 ** (spec.snr_db / 10)
    for channel in range(mixed.shape[0]):
        mixed[channel] += np.sqrt(noise_power) * background_noise(rng, mixed.shape[1], RATE)
    return mixed


def _telephone(audio: np.ndarray) -> np.ndarray:
    """The 300–3400 Hz band of a telephone line."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [300, 3400], btype="bandpass", fs=RATE, output="sos")
    return sosfiltfilt(sos, audio, axis=-1).astype(np.float32)


def _encode(spec: SessionSpec, mixed: np.ndarray, path: Path) -> None:
    import soxr

    codec = CODECS[spec.codec]
    if spec.codec == "telephone":
        mixed = _telephone(mixed)
    rate = codec["rate"]
    out = np.stack([soxr.resample(ch, RATE, rate).astype(np.float32) for ch in mixed])
    if out.shape[0] < codec["channels"]:
        out = np.repeat(out, codec["channels"], axis=0)
    peak = float(np.abs(out).max())
    if peak > 0.99:
        out *= 0.99 / peak
    encode_array(out, rate, path, codec["codec"], codec["format"], codec["bit_rate"])


def _stm_line(uri: str, event: Event) -> str:
    tag = "<backchannel>" if event.kind == "backchannel" else f"<{event.kind}>"
    return f"{uri} 1 {event.speaker} {event.start:.3f} {event.end:.3f} {tag} {event.text}\n"


def build_session(spec: SessionSpec, acoustic_seed: int | None = None, *, opening: float | None = None) -> CorpusSession:
    """Build (or read from the cache) one session of the corpus.

    ``acoustic_seed`` replaces the session's seed for the rooms, levels and noise only (the words and their timing
    stay): the same conversation recorded again, which is how tests measure the spread of a figure. A ``spec`` whose
    codec differs from the corpus's (``replace(session("d06"), codec="stereo")``) renders the same conversation
    with that codec, cached apart. ``opening`` (seconds) records only the sentences that start before then, each
    whole, at the times they have in the full session: a short test needs seconds of a session, not all of it
    (its noise, and so its audio, differ from the full recording's opening)."""
    script = load_script(spec)
    suffix = "" if acoustic_seed is None else f"-s{acoustic_seed}"
    if spec.codec != session(spec.id).codec:
        suffix += f"-{spec.codec}"
    if opening is not None:
        suffix += f"-opening{opening:g}"
    if acoustic_seed is not None:
        spec = replace(spec, seed=acoustic_seed)
    folder = CORPUS_CACHE / f"{spec.id}-v{BUILD_VERSION}-{script['opus_sha256'][:8]}{suffix}"
    audio = folder / f"{spec.id}{CODECS[spec.codec]['suffix']}"
    events_path = folder / f"{spec.id}.events.json"
    with _locked(f"corpus-{spec.id}{suffix}"):
        if not (audio.exists() and events_path.exists()):
            _build(spec, script, folder, audio, events_path, opening)
    payload = json.loads(events_path.read_text(encoding="utf-8"))
    events = tuple(
        Event(e["index"], e["speaker"], e["role"], e["kind"], e["start"], e["end"], e["text"],
              tuple(tuple(i) for i in e["islands"]))
        for e in payload["events"]
    )
    return CorpusSession(spec, audio, folder / f"{spec.id}.rttm", folder / f"{spec.id}.stm", events_path,
                         payload["duration"], events)


def _build(spec: SessionSpec, script: dict, folder: Path, audio: Path, events_path: Path,
           opening: float | None = None) -> None:
    log.info("building corpus session %s", spec.id)
    lines = script["lines"]
    clips = decode_dry(spec, script)
    starts = layout(lines, [len(c) for c in clips])
    indices = list(range(len(lines)))
    if opening is not None:  # a backchannel starts inside its host, so a kept backchannel keeps its host
        indices = [i for i, start in enumerate(starts) if start < opening * RATE]
        lines, clips, starts = [lines[i] for i in indices], [clips[i] for i in indices], [starts[i] for i in indices]
    rng = np.random.default_rng(spec.seed)
    speakers = [line["speaker"] for line in lines]
    tracks = _speaker_tracks(spec, clips, starts, speakers, rng)
    mask = np.zeros(tracks.shape[1], dtype=bool)
    role_of = roles(spec)
    events = []
    for i, line, clip, start in zip(indices, lines, clips, starts):
        islands = tuple((round((start + a) / RATE, 3), round((start + b) / RATE, 3)) for a, b in speech_islands(clip))
        # The recording's level is set over every sounding frame of the whole band, as in version 1, so the
        # recordings did not change when the references moved to the speech band.
        for a, b in speech_islands(clip, speech_band=False):
            mask[start + a : start + b] = True
        events.append(Event(i, line["speaker"], role_of[line["speaker"]], line["kind"], round(start / RATE, 3),
                            round((start + len(clip)) / RATE, 3), line["text"], islands))
    mixed = _mix(spec, tracks, mask, rng)
    duration = mixed.shape[1] / RATE
    _encode(spec, mixed, audio)
    ordered = sorted(events, key=lambda e: (e.start, e.index))
    write_rttm(folder / f"{spec.id}.rttm", [Turn(a, b, e.speaker) for e in ordered for a, b in e.islands], spec.id)
    with _atomic(folder / f"{spec.id}.stm") as tmp:
        tmp.write_text("".join(_stm_line(spec.id, e) for e in ordered), encoding="utf-8")
    payload = {"session": spec.to_dict(), "build_version": BUILD_VERSION, "duration": round(duration, 3),
               "roles": role_of, "events": [e.to_dict() for e in ordered]}
    with _atomic(events_path) as tmp:
        tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


def _speaker_tracks(spec, clips, starts, speakers, rng) -> np.ndarray:
    """One reverberant track per speaker: the therapist near the recorder, the others further and quieter."""
    from scipy.signal import oaconvolve

    n = max(s + len(c) for s, c in zip(starts, clips)) + int(LEAD_IN * RATE)
    tracks = np.zeros((len(spec.voices), n), dtype=np.float32)
    rt60 = rng.uniform(0.25, 0.6)
    for k, name in enumerate(spec.voices):
        near = k == 0
        gain_db = 0.0 if near else -rng.uniform(3.0, 8.0)
        drr = rng.uniform(6.0, 10.0) if near else rng.uniform(-2.0, 3.0)
        dry = np.zeros(n, dtype=np.float32)
        for clip, start, speaker in zip(clips, starts, speakers):
            if speaker == name:
                dry[start : start + len(clip)] += clip
        wet = oaconvolve(dry, room_response(rng, rt60 * (1.0 if near else 1.2), drr))[:n]
        tracks[k] = wet * 10 ** (gain_db / 20)
    return tracks


@dataclass(frozen=True)
class LongRecording:
    """Corpus sessions played one after another as one long 16 kHz mono WAV (a memory and speed workload)."""

    wav: Path
    duration: float
    turns: tuple[Turn, ...]
    sessions: tuple[str, ...]


def concatenated_sessions(hours: float = 2.0) -> LongRecording:
    """The first corpus sessions (development half first) joined until ``hours`` of audio, with their turns."""
    import av

    from tests.datagen import write_wav

    wav = CORPUS_CACHE / f"long-{hours:g}h-v{BUILD_VERSION}.wav"
    meta = wav.with_suffix(".json")
    with _locked(wav.stem):
        if not (wav.exists() and meta.exists()):
            pieces, turns, used, offset = [], [], [], 0.0
            for spec in SESSIONS:
                if offset >= hours * 3600 or not (DATA / f"{spec.id}.json").exists():
                    continue
                built = build_session(spec)
                resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
                with av.open(str(built.audio)) as container:
                    frames = [f.to_ndarray()[0] for frame in container.decode(audio=0)
                              for f in resampler.resample(frame)]
                frames += [f.to_ndarray()[0] for f in resampler.resample(None)]
                audio = np.concatenate(frames)
                turns += [Turn(round(t.start + offset, 3), round(t.end + offset, 3), t.speaker) for t in built.turns]
                pieces.append(audio)
                used.append(spec.id)
                offset += len(audio) / 16000
            write_wav(wav, np.concatenate(pieces)[: int(hours * 3600 * 16000)], 16000)
            kept = [t for t in turns if t.start < hours * 3600]
            with _atomic(meta) as tmp:
                tmp.write_text(json.dumps({"sessions": used, "turns": [[t.start, t.end, t.speaker] for t in kept]}))
    payload = json.loads(meta.read_text())
    with wave.open(str(wav), "rb") as handle:
        duration = handle.getnframes() / handle.getframerate()
    return LongRecording(wav, duration, tuple(Turn(*t) for t in payload["turns"]), tuple(payload["sessions"]))


def build_split(name: str) -> list[CorpusSession]:
    return [build_session(s) for s in SESSIONS if s.split == name]


MANIFEST = Path(__file__).resolve().parent / "manifest.json"


def manifest() -> dict:
    """Every session: its split, voices and roles, conditions, length and the checksums of what it is built from
    and of what the build gives on this machine."""
    rows = []
    for spec in SESSIONS:
        built = build_session(spec)
        script = load_script(spec)
        opus = DATA / f"{spec.id}.opus"
        speech = sum(b - a for e in built.events for a, b in e.islands)
        rows.append({
            **spec.to_dict(), "roles": roles(spec), "minutes": round(built.duration / 60, 2),
            "speech_minutes": round(speech / 60, 2), "sentences": len(script["lines"]),
            "backchannels": sum(e.kind == "backchannel" for e in built.events),
            "file": built.audio.name, "opus": opus.name, "opus_bytes": opus.stat().st_size,
            "opus_sha256": script["opus_sha256"],
            "built_sha256": hashlib.sha256(built.audio.read_bytes()).hexdigest(),
        })
    halves = {name: {"sessions": [r["id"] for r in rows if r["split"] == name],
                     "minutes": round(sum(r["minutes"] for r in rows if r["split"] == name), 1),
                     "voices": sorted({v for r in rows if r["split"] == name for v in r["voices"]})}
              for name in ("dev", "eval")}
    return {
        "about": "Realistic-sessions corpus. Tune on the dev half only; report on the eval half. Built by "
                 "python -m tests.corpus.build from data/<id>.opus + data/<id>.json (Kokoro-82M voices; "
                 f"{', '.join(sorted(RESERVED_VOICES))}, kept for independent checks, are never used).",
        "build_version": BUILD_VERSION, "hours": round(sum(r["minutes"] for r in rows) / 60, 2),
        "halves": halves, "sessions": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the realistic-sessions corpus recordings.")
    parser.add_argument("sessions", nargs="*")
    parser.add_argument("--split", choices=["dev", "eval"])
    parser.add_argument("--manifest", action="store_true", help=f"build everything and write {MANIFEST.name}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.manifest:
        MANIFEST.write_text(json.dumps(manifest(), indent=1) + "\n", encoding="utf-8")
        return 0
    specs = [session(i) for i in args.sessions] or [s for s in SESSIONS if not args.split or s.split == args.split]
    for spec in specs:
        built = build_session(spec)
        print(f"{spec.id} {built.duration / 60:5.1f} min {built.audio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
