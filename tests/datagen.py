"""The one generator of long test audio shared by every test and benchmark.

Every function is deterministic for its arguments (seeded) and caches its output under ``tests/.generated/``
(gitignored): a WAV file, an RTTM with the reference speaker turns and a JSON sidecar holding the reference
utterances. A second call with the same arguments only reads the sidecar. Generation is guarded by a file lock and
files are written atomically, so parallel test processes never see half-written audio.

Public functions (each returns a frozen :class:`GeneratedAudio`):

- :func:`real_voice_session` re-sequences the real utterances of ``tests/data/sample.wav`` into a long two-speaker
  session with natural gaps and long pauses.
- :func:`espeak_dialogue` speaks a therapy-like script with 2 or 3 distinct espeak-ng voices.
- :func:`mix_long_recording` builds an hours-long two-speaker recording (for memory tests).
- :func:`encode_like_session` / :func:`session_mp3` encode a WAV like a real session file (44.1 kHz stereo mp3).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tests.references import SAMPLE_RTTM, SAMPLE_STM, SAMPLE_WAV
from therapybridge.evaluation import format_rttm, read_rttm, read_stm
from therapybridge.types import SpeakerTurn as Turn  # a reference speaker turn in seconds

ROOT = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("THERAPYBRIDGE_TEST_AUDIO_CACHE", ROOT / ".generated"))
SAMPLE_RATE = 16000
# Bump when the construction changes so stale cached files are not reused.
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class Utterance:
    """A reference utterance: who said what, and when (seconds)."""

    start: float
    end: float
    speaker: str
    text: str


@dataclass(frozen=True)
class GeneratedAudio:
    """A generated recording with its reference; ``wav`` is mono 16 kHz PCM16 unless stated otherwise."""

    wav: Path
    rttm: Path
    turns: tuple[Turn, ...]
    utterances: tuple[Utterance, ...]
    duration: float
    sample_rate: int
    speakers: tuple[str, ...]

    @property
    def num_speakers(self) -> int:
        return len(self.speakers)

    @property
    def words(self) -> tuple[tuple[str, str], ...]:
        """Reference words in order as (speaker, word) pairs."""
        return tuple((u.speaker, w) for u in self.utterances for w in u.text.split())

    def load(self) -> np.ndarray:
        """The waveform as mono float32 in [-1, 1]."""
        return read_wav(self.wav)[0]

    def annotation(self):
        """The reference as a ``pyannote.core.Annotation`` (needs pyannote.core)."""
        from pyannote.core import Annotation, Segment

        ann = Annotation(uri=self.wav.stem)
        for i, t in enumerate(self.turns):
            ann[Segment(t.start, t.end), i] = t.speaker
        return ann


# --------------------------------------------------------------------------------------------------------------
# WAV, RTTM and cache helpers


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a PCM16 WAV as float32 (mono: 1-D, else channels x samples) and its sample rate."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        frames = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError(f"{path} is not 16-bit PCM")
    data = np.frombuffer(frames, dtype="<i2").astype(np.float32)
    del frames  # hours of audio: keep the peak to the int16 bytes plus one float32 copy
    data /= 32768.0
    if channels > 1:
        return data.reshape(-1, channels).T.copy(), rate
    return data, rate


def _to_pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1.0, 1.0 - 1 / 32768) * 32768.0).astype("<i2").tobytes()


def write_wav(path: Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write float audio (1-D mono or channels x samples) as PCM16, atomically."""
    audio = np.asarray(audio, dtype=np.float32)
    channels = 1 if audio.ndim == 1 else audio.shape[0]
    interleaved = audio if audio.ndim == 1 else audio.T.reshape(-1)
    with _atomic(path) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(_to_pcm16(interleaved))


def write_rttm(path: Path, turns: Sequence[Turn], uri: str) -> None:
    with _atomic(path) as tmp:
        tmp.write_text(format_rttm(turns, uri))


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o644)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def _locked(stem: str) -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{stem}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cached(stem: str, build) -> GeneratedAudio:
    """Return the cached recording ``stem`` or build it with ``build(wav_path) -> (turns, utterances, speakers)``."""
    wav, rttm, meta = CACHE / f"{stem}.wav", CACHE / f"{stem}.rttm", CACHE / f"{stem}.json"
    with _locked(stem):
        if not (wav.exists() and rttm.exists() and meta.exists()):
            turns, utterances, speakers = build(wav)
            write_rttm(rttm, turns, stem)
            with wave.open(str(wav), "rb") as w:
                duration, rate = w.getnframes() / w.getframerate(), w.getframerate()
            payload = {
                "duration": duration,
                "sample_rate": rate,
                "speakers": list(speakers),
                "turns": [asdict(t) for t in turns],
                "utterances": [asdict(u) for u in utterances],
            }
            with _atomic(meta) as tmp:
                tmp.write_text(json.dumps(payload))
    payload = json.loads(meta.read_text())
    return GeneratedAudio(
        wav=wav,
        rttm=rttm,
        turns=tuple(Turn(**t) for t in payload["turns"]),
        utterances=tuple(Utterance(**u) for u in payload["utterances"]),
        duration=payload["duration"],
        sample_rate=payload["sample_rate"],
        speakers=tuple(payload["speakers"]),
    )


def _merge_turns(turns: Sequence[Turn], min_gap: float = 0.0) -> list[Turn]:
    """Merge same-speaker turns that touch or overlap (a speaker cannot overlap itself)."""
    merged: list[Turn] = []
    last: dict[str, int] = {}
    for t in sorted(turns, key=lambda t: (t.start, t.end)):
        i = last.get(t.speaker)
        if i is not None and t.start <= merged[i].end + min_gap:
            prev = merged[i]
            merged[i] = Turn(prev.start, max(prev.end, t.end), t.speaker)
        else:
            last[t.speaker] = len(merged)
            merged.append(t)
    return sorted(merged, key=lambda t: (t.start, t.end))


class _StreamingWav:
    """Append float chunks to a mono PCM16 WAV without holding the whole recording in memory."""

    def __init__(self, path: Path, sample_rate: int = SAMPLE_RATE) -> None:
        self.sample_rate = sample_rate
        self.samples = 0
        self._ctx = _atomic(path)
        tmp = self._ctx.__enter__()
        self._w = wave.open(str(tmp), "wb")
        self._w.setnchannels(1)
        self._w.setsampwidth(2)
        self._w.setframerate(sample_rate)

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate

    def append(self, chunk: np.ndarray) -> None:
        self._w.writeframes(_to_pcm16(chunk))
        self.samples += len(chunk)

    def close(self) -> None:
        self._w.close()
        self._ctx.__exit__(None, None, None)


def _noise(rng: np.random.Generator, seconds: float, level: float = 10 ** (-62 / 20)) -> np.ndarray:
    """Quiet room noise for gaps, so silence is not digital zero."""
    return (rng.standard_normal(int(round(seconds * SAMPLE_RATE))) * level).astype(np.float32)


def _fade(clip: np.ndarray, ms: float = 8.0) -> np.ndarray:
    n = min(len(clip) // 2, int(SAMPLE_RATE * ms / 1000))
    if n:
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
        clip = clip.copy()
        clip[:n] *= ramp
        clip[-n:] *= ramp[::-1]
    return clip


# --------------------------------------------------------------------------------------------------------------
# Real voices: the pyannote sample re-sequenced


@dataclass(frozen=True)
class _Piece:
    """One utterance of the sample: its audio, the reference turns inside it (relative) and its text."""

    audio: np.ndarray
    turns: tuple[Turn, ...]
    speaker: str
    text: str


def _sample_pieces() -> list[_Piece]:
    """Cut the sample at its STM utterances; the RTTM turns inside each cut (backchannels too) go with it."""
    audio, rate = read_wav(SAMPLE_WAV)
    if rate != SAMPLE_RATE:
        raise ValueError("tests/data/sample.wav must be 16 kHz")
    rttm = read_rttm(SAMPLE_RTTM)
    # The RTTM uses anonymous labels; name them after the STM speaker whose first utterance starts with theirs.
    stm = [(u.speaker, u.start, u.end, u.text) for u in read_stm(SAMPLE_STM)]
    names: dict[str, str] = {}
    for speaker, start, _, _ in stm:
        first = min((t for t in rttm if t.speaker not in names), key=lambda t: abs(t.start - start), default=None)
        if first is not None and speaker not in names.values() and abs(first.start - start) < 0.3:
            names[first.speaker] = speaker
    pieces = []
    for speaker, start, end, text in stm:
        inside = []
        for t in rttm:
            s, e = max(t.start, start), min(t.end, end)
            if e - s >= 0.05:
                inside.append(Turn(round(s - start, 3), round(e - start, 3), names.get(t.speaker, t.speaker)))
        clip = _fade(audio[int(start * rate) : int(end * rate)])
        pieces.append(_Piece(clip, tuple(_merge_turns(inside)), speaker, text))
    return pieces


def _real_voice_build(minutes: float, seed: int, exclude: frozenset[int] = frozenset()):
    def build(wav_path: Path):
        pieces = [p for i, p in enumerate(_sample_pieces()) if i not in exclude]
        by_speaker: dict[str, list[_Piece]] = {}
        for p in pieces:
            by_speaker.setdefault(p.speaker, []).append(p)
        speakers = sorted(by_speaker)
        rng = random.Random(seed)
        noise_rng = np.random.default_rng(seed)
        out = _StreamingWav(wav_path)
        turns: list[Turn] = []
        utterances: list[Utterance] = []
        target = minutes * 60.0
        out.append(_noise(noise_rng, rng.uniform(0.5, 2.0)))
        speaker = rng.choice(speakers)
        while out.seconds < target - 2.0:
            # A turn: 1-3 utterances of one speaker with short intra-turn pauses.
            for k in range(rng.choice((1, 1, 2, 2, 3))):
                if k:
                    out.append(_noise(noise_rng, rng.uniform(0.2, 0.6)))
                piece = rng.choice(by_speaker[speaker])
                offset = out.seconds
                gain = rng.uniform(0.7, 1.2)
                out.append(piece.audio * gain)
                turns.extend(Turn(round(offset + t.start, 3), round(offset + t.end, 3), t.speaker) for t in piece.turns)
                utterances.append(
                    Utterance(round(offset, 3), round(offset + len(piece.audio) / SAMPLE_RATE, 3), speaker, piece.text)
                )
            # Between turns: natural gaps, now and then a long pause (note taking, silence in the room).
            gap = rng.uniform(5.0, 40.0) if rng.random() < 0.04 else rng.uniform(0.2, 1.5)
            out.append(_noise(noise_rng, gap))
            speaker = speakers[(speakers.index(speaker) + 1) % len(speakers)] if rng.random() < 0.85 else speaker
        remaining = target - out.seconds
        if remaining > 0:
            out.append(_noise(noise_rng, remaining))
        out.close()
        return _merge_turns(turns), utterances, speakers

    return build


def real_voice_session(minutes: float = 23.0, seed: int = 0, exclude: Collection[int] = ()) -> GeneratedAudio:
    """A two-speaker session of ``minutes`` re-sequenced from the real voices of the pyannote sample.

    Turns of 1-3 utterances alternate (mostly) between Diane and Sheila with 0.2-1.5 s gaps and, about one turn in
    25, a 5-40 s pause. Reference turns are the sample's RTTM turns carried along with each cut, so backchannels
    and overlaps inside an utterance are kept. ``exclude`` leaves out the sample's STM utterances at those indices
    (0-based, in file order), e.g. the ones a test enrolled a voice from; both speakers must keep one utterance.
    """
    left_out = frozenset(int(i) for i in exclude)
    stem = f"real_voice_{minutes:g}min_seed{seed}_v{GENERATOR_VERSION}"
    if left_out:
        stem = f"real_voice_{minutes:g}min_seed{seed}_without{'-'.join(map(str, sorted(left_out)))}_v{GENERATOR_VERSION}"
        kept = {p.speaker for i, p in enumerate(_sample_pieces()) if i not in left_out}
        if kept != {p.speaker for p in _sample_pieces()}:
            raise ValueError(f"excluding utterances {sorted(left_out)} leaves a speaker of the sample with none")
    return _cached(stem, _real_voice_build(minutes, seed, left_out))


def mix_long_recording(hours: float = 2.0, seed: int = 0) -> GeneratedAudio:
    """An ``hours``-long two-speaker recording of real voices (built by streaming, for memory tests)."""
    stem = f"long_{hours:g}h_seed{seed}_v{GENERATOR_VERSION}"
    return _cached(stem, _real_voice_build(hours * 60.0, seed))


# --------------------------------------------------------------------------------------------------------------
# espeak-ng dialogues

# (espeak voice, pitch 0-99, words per minute): different base voices, variants and pitch, so the voices differ
# the way different people do.
VOICES = (
    ("en-us+m3", 38, 160),
    ("en-gb+f3", 78, 175),
    ("en-gb-scotland+m7", 58, 145),
)
SPEAKER_NAMES = ("Therapist", "Client", "Partner")

_THERAPIST = (
    "How have things been since we last met?",
    "What was that like for you?",
    "It sounds like that week was really difficult.",
    "Can you tell me more about what happened next?",
    "I notice you paused when you mentioned your mother.",
    "What do you think was going on for you in that moment?",
    "That makes a lot of sense, given everything you have been carrying.",
    "Let's slow down for a second and stay with that feeling.",
    "On a scale from one to ten, how anxious were you?",
    "What helped, even a little, when it got bad?",
    "I wonder whether the sleep problems and the worry are connected.",
    "We talked last time about writing things down. Did you try that?",
    "You said you felt invisible at work. Where do you feel that in your body?",
    "What would you like to be different by the end of the month?",
    "It took courage to say that out loud.",
    "Let's come back to the argument on Sunday.",
    "How did you take care of yourself afterwards?",
    "Who else knows about this?",
    "We have about ten minutes left today.",
    "Before next week, could you notice when the thoughts start?",
)
_CLIENT = (
    "Honestly, it has been a rough couple of weeks.",
    "I keep waking up at three in the morning and I cannot get back to sleep.",
    "My sister called on Tuesday and we ended up shouting at each other again.",
    "I guess I felt like nobody was listening to me.",
    "Work has been piling up and I just freeze when I look at my inbox.",
    "I tried the breathing exercise, and it helped a little on Thursday.",
    "I don't know. Maybe a seven? It felt like my chest was tight.",
    "When I was a kid, we never talked about any of this at home.",
    "I went for a walk by the river, which I haven't done in months.",
    "Part of me knows it's not my fault, but it still feels that way.",
    "I wrote three pages in the notebook, mostly about my dad.",
    "I'm scared that if I say no, they will stop calling me.",
    "My manager said I did a good job, and I didn't believe her.",
    "I felt calmer after I talked to my friend Maria.",
    "It's hard to explain. It's like a fog that doesn't lift.",
    "I want to be able to sit through dinner without feeling sick.",
    "Yes, I cancelled the trip, and then I felt guilty all weekend.",
    "Sometimes I think I'm making too much of it.",
    "I actually laughed on Saturday, for the first time in a while.",
    "Okay. I can try to notice that this week.",
)
_PARTNER = (
    "From where I'm sitting, it looked like she just shut down.",
    "I didn't realise the mornings were that hard for you.",
    "I want to help, but I never know what to say.",
    "We used to go hiking every weekend before all of this started.",
    "When he goes quiet, I assume he's angry with me.",
    "That's fair. I do interrupt a lot when I'm nervous.",
    "I think we both stopped asking each other how the day went.",
    "Can I say something about the holidays?",
    "I felt pushed away, and then I pushed back.",
    "I'd like us to try the check-in idea you suggested.",
)
_SCRIPTS = (_THERAPIST, _CLIENT, _PARTNER)


def _espeak(text: str, voice: str, pitch: int, speed: int) -> np.ndarray:
    """Speak ``text`` with espeak-ng; mono float32 at 16 kHz, leading and trailing silence trimmed."""
    import soxr

    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed: apt-get install -y espeak-ng")
    proc = subprocess.run(
        ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", text],
        check=True,
        capture_output=True,
    )
    with wave.open(_BytesFile(proc.stdout), "rb") as w:
        rate = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    audio = soxr.resample(audio, rate, SAMPLE_RATE).astype(np.float32)
    return _trim(audio)


def _BytesFile(data: bytes):
    import io

    # espeak-ng writes a streaming header with unknown lengths; patch them so the wave module reads it all.
    buf = bytearray(data)
    if buf[:4] == b"RIFF":
        buf[4:8] = (len(buf) - 8).to_bytes(4, "little")
        idx = buf.find(b"data")
        if idx >= 0:
            buf[idx + 4 : idx + 8] = (len(buf) - idx - 8).to_bytes(4, "little")
    return io.BytesIO(bytes(buf))


def _trim(audio: np.ndarray, threshold_db: float = -40.0, frame: int = 160) -> np.ndarray:
    """Cut leading and trailing frames whose RMS is more than ``threshold_db`` below the loudest frame."""
    n = len(audio) // frame
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    voiced = np.flatnonzero(20 * np.log10(rms / rms.max()) > threshold_db)
    if voiced.size == 0:
        return audio[:0]
    return _fade(audio[voiced[0] * frame : (voiced[-1] + 1) * frame], ms=3.0)


def espeak_dialogue(n_speakers: int = 2, minutes: float = 3.0, seed: int = 0) -> GeneratedAudio:
    """A therapy-like dialogue of ``minutes`` spoken by ``n_speakers`` (2 or 3) distinct espeak-ng voices.

    Speaker 0 (the therapist) alternates with the others; every utterance is trimmed of espeak's silence so the
    reference turns are tight. Gaps between turns are 0.25-1.2 s, with an occasional 3-8 s pause.
    """
    if n_speakers not in (2, 3):
        raise ValueError("espeak_dialogue supports 2 or 3 speakers")
    stem = f"espeak_{n_speakers}spk_{minutes:g}min_seed{seed}_v{GENERATOR_VERSION}"

    def build(wav_path: Path):
        rng = random.Random(seed)
        noise_rng = np.random.default_rng(seed)
        speakers = SPEAKER_NAMES[:n_speakers]
        cache: dict[tuple[int, str], np.ndarray] = {}
        out = _StreamingWav(wav_path)
        turns: list[Turn] = []
        utterances: list[Utterance] = []
        out.append(_noise(noise_rng, 0.8))
        current = 0
        while out.seconds < minutes * 60.0:
            for k in range(rng.choice((1, 1, 2))):
                if k:
                    out.append(_noise(noise_rng, rng.uniform(0.2, 0.5)))
                text = rng.choice(_SCRIPTS[current])
                if (current, text) not in cache:
                    cache[(current, text)] = _espeak(text, *VOICES[current])
                clip = cache[(current, text)] * rng.uniform(0.6, 0.9)
                start = out.seconds
                out.append(clip)
                turns.append(Turn(round(start, 3), round(out.seconds, 3), speakers[current]))
                utterances.append(Utterance(round(start, 3), round(out.seconds, 3), speakers[current], text))
            gap = rng.uniform(3.0, 8.0) if rng.random() < 0.05 else rng.uniform(0.25, 1.2)
            out.append(_noise(noise_rng, gap))
            current = rng.randrange(1, n_speakers) if current == 0 else (0 if rng.random() < 0.75 else rng.randrange(1, n_speakers))
        out.close()
        return _merge_turns(turns), utterances, speakers

    return _cached(stem, build)


# --------------------------------------------------------------------------------------------------------------
# Encoding like a real session file


def encode_like_session(
    wav: Path,
    path: Path,
    sample_rate: int = 44100,
    channels: int = 2,
    bitrate: str | int = "128k",
    format: str = "mp3",
) -> Path:
    """Encode a mono WAV like a recorder would (default 44.1 kHz stereo 128 kbps mp3) with PyAV; returns ``path``."""
    import soxr

    audio, rate = read_wav(Path(wav))
    if audio.ndim > 1:
        audio = audio.mean(axis=0)
    if rate != sample_rate:
        audio = soxr.resample(audio, rate, sample_rate).astype(np.float32)
    codec = {"mp3": "libmp3lame", "m4a": "aac", "mp4": "aac", "wav": "pcm_s16le", "flac": "flac", "ogg": "libvorbis"}
    container_format = {"m4a": "mp4"}.get(format, format)
    bit_rate = 0 if format in ("wav", "flac") else _parse_bitrate(bitrate)
    planes = np.repeat(audio[None, :], channels, axis=0)
    return encode_array(planes, sample_rate, path, codec.get(format, format), container_format, bit_rate)


def encode_array(planes: np.ndarray, sample_rate: int, path: Path, codec: str, container_format: str,
                 bit_rate: int = 0) -> Path:
    """Encode float audio (channels x samples, at ``sample_rate``) with PyAV, atomically; returns ``path``."""
    import av

    planes = np.atleast_2d(np.asarray(planes, dtype=np.float32))
    channels = planes.shape[0]
    path = Path(path)
    with _atomic(path) as tmp:
        # bitexact: no random Ogg stream serial and no encoder version in the headers, so the same audio gives the
        # same bytes on every build (the corpus manifest's checksums hold for Opus files too)
        with av.open(str(tmp), "w", format=container_format, options={"fflags": "+bitexact"}) as container:
            stream = container.add_stream(codec, rate=sample_rate)
            stream.layout = "stereo" if channels == 2 else "mono"
            if bit_rate:
                stream.bit_rate = bit_rate
            fmt = stream.codec_context.format.name
            frame_size = stream.codec_context.frame_size or 1152
            for start in range(0, planes.shape[1], frame_size):
                frame = _av_frame(planes[:, start : start + frame_size], fmt, channels, sample_rate)
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    return path


def _parse_bitrate(bitrate: str | int) -> int:
    if isinstance(bitrate, int):
        return bitrate
    text = bitrate.lower().strip()
    return int(float(text[:-1]) * 1000) if text.endswith("k") else int(text)


def _av_frame(planes: np.ndarray, fmt: str, channels: int, sample_rate: int):
    import av

    layout = "stereo" if channels == 2 else "mono"
    if fmt.endswith("p"):
        data = planes
    else:
        data = planes.T.reshape(1, -1)
    if fmt.startswith("s16"):
        data = (np.clip(data, -1, 1 - 1 / 32768) * 32768).astype(np.int16)
    elif fmt.startswith("s32"):
        data = (np.clip(data, -1, 1 - 1 / 2**31) * 2**31).astype(np.int32)
    else:
        data = data.astype(np.float32)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt, layout=layout)
    frame.sample_rate = sample_rate
    return frame


def session_mp3(minutes: float = 23.0, seed: int = 0) -> tuple[Path, GeneratedAudio]:
    """The benchmark file: a real-voice session encoded as 44.1 kHz stereo 128 kbps mp3 (path, reference)."""
    session = real_voice_session(minutes=minutes, seed=seed)
    path = CACHE / f"{session.wav.stem}_44k_stereo_128k.mp3"
    with _locked(path.stem):
        if not path.exists():
            encode_like_session(session.wav, path)
    return path, session


def stereo_channel_session(minutes: float = 3.0, seed: int = 0) -> tuple[Path, GeneratedAudio]:
    """A telehealth-style stereo WAV: each speaker of a real-voice session on its own channel, with a little
    cross-talk bleed (-30 dB). Returns (stereo wav path, reference); channel 0 holds the first speaker in
    ``reference.speakers``."""
    session = real_voice_session(minutes=minutes, seed=seed)
    path = CACHE / f"{session.wav.stem}_stereo_channels.wav"
    with _locked(path.stem):
        if not path.exists():
            mono, rate = read_wav(session.wav)
            mask = np.zeros((len(session.speakers), len(mono)), dtype=np.float32)
            for t in session.turns:
                mask[session.speakers.index(t.speaker), int(t.start * rate) : int(t.end * rate)] = 1.0
            bleed = 10 ** (-30 / 20)
            noise = np.random.default_rng(seed).standard_normal((2, len(mono))).astype(np.float32) * 10 ** (-60 / 20)
            own = mono[None, :] * mask[:2]
            stereo = own + bleed * own[::-1] + noise
            write_wav(path, stereo, rate)
    return path, session
