"""CLI commands of the roles feature: ``enroll``, ``profiles list|remove`` and ``render``.

Registered on the main ``therapybridge`` app by :func:`register`. Errors are one line on stderr,
``therapybridge: error: …``, with exit status 1 (2 for usage errors).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import ConfigurationError, TherapyBridgeError

EXIT_FAILED, EXIT_USAGE = 1, 2
ROLE_CHOICES = ("therapist", "client", "other", "none")


def _fail(exc_or_message: BaseException | str, code: int = EXIT_FAILED) -> typer.Exit:
    message = str(exc_or_message).strip().splitlines()[0] if str(exc_or_message).strip() else type(exc_or_message).__name__
    typer.echo(f"therapybridge: error: {message}", err=True)
    return typer.Exit(code)


def _say(message: str) -> None:
    typer.echo(f"therapybridge: {message}", err=True)


def _store(profiles_dir: Optional[Path]):
    from .store import ProfileStore

    return ProfileStore(profiles_dir)


_PROFILES_HELP = "Voice-profile store (default: the user data dir, or $THERAPYBRIDGE_PROFILES_DIR)."


def enroll(
    name: str = typer.Argument(..., help="The speaker's name as it should appear, e.g. 'Dr. Rivera'."),
    samples: list[Path] = typer.Argument(..., help="Audio files of the speaker talking alone (10 s or more in all)."),
    role: str = typer.Option("therapist", "--role", "-r", help="therapist, client or other."),
    profiles_dir: Optional[Path] = typer.Option(None, "--profiles", help=_PROFILES_HELP),
    device: str = typer.Option("auto", "--device", "-d", help="auto, cpu, cuda or mps."),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing profile of the same name."),
) -> None:
    """Enroll a speaker's voice: store an embedding of it (never the audio) in the local profile store."""
    from ..device import resolve_device
    from .store import ROLES

    if role.strip().lower() not in ROLES:
        raise _fail(f"unknown role {role!r}; choose one of {', '.join(ROLES)}", EXIT_USAGE)
    try:
        torch_device = resolve_device(device)
        profile = _store(profiles_dir).enroll(name, role, [str(s) for s in samples], torch_device, replace=replace)
    except ConfigurationError as exc:
        raise _fail(exc, EXIT_USAGE) from None
    except TherapyBridgeError as exc:
        raise _fail(exc) from None
    _say(
        f"enrolled {profile.name} as {profile.role} from {profile.num_samples} sample(s), "
        f"{profile.speech_seconds:.1f} s of speech"
    )


def list_profiles(profiles_dir: Optional[Path] = typer.Option(None, "--profiles", help=_PROFILES_HELP)) -> None:
    """List enrolled voice profiles."""
    store = _store(profiles_dir)
    try:
        profiles = store.list()
    except TherapyBridgeError as exc:
        raise _fail(exc) from None
    if not profiles:
        _say(f"no voice profiles in {store.directory}")
        return
    width = max(len(p.name) for p in profiles)
    for p in profiles:
        typer.echo(f"{p.name:<{width}}  {p.role:<9}  {p.num_samples} sample(s)  {p.speech_seconds:5.1f} s  {p.created}")


def remove_profile(
    name: str = typer.Argument(..., help="Name of the profile to delete."),
    profiles_dir: Optional[Path] = typer.Option(None, "--profiles", help=_PROFILES_HELP),
) -> None:
    """Delete an enrolled voice profile."""
    try:
        profile = _store(profiles_dir).remove(name)
    except TherapyBridgeError as exc:
        raise _fail(exc) from None
    _say(f"removed the voice profile of {profile.name}")


def render(
    transcript_json: Path = typer.Argument(..., help="A <stem>.json transcript (possibly edited by hand)."),
    formats: str = typer.Option("srt,vtt,txt,html", "--format", "-f", help="Comma-separated output formats."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="Default: beside the JSON."),
    rename: list[str] = typer.Option([], "--rename", help='Relabel a speaker: SPEAKER_00="Dr. Rivera" (repeatable).'),
    roles: list[str] = typer.Option([], "--role", help="Set a speaker's role: SPEAKER_01=client (repeatable)."),
) -> None:
    """Re-render a JSON transcript into other formats, after checking it and applying corrections."""
    from ..writers import FORMATS, read_json

    names = [f.strip().lower() for f in formats.split(",") if f.strip()]
    unknown = [f for f in names if f not in FORMATS]
    if unknown or not names:
        raise _fail(f"unknown format(s) {', '.join(unknown) or '(none)'}; choose from {','.join(FORMATS)}", EXIT_USAGE)
    try:
        renames = _pairs(rename, "--rename")
        role_changes = {k: _role(v) for k, v in _pairs(roles, "--role").items()}
        transcript = read_json(transcript_json)
        transcript = apply_corrections(transcript, renames, role_changes)
        out_dir = output_dir if output_dir is not None else transcript_json.parent
        written = write_rendered(transcript, out_dir, transcript_json.stem, names, transcript_json)
    except ConfigurationError as exc:
        raise _fail(exc, EXIT_USAGE) from None
    except TherapyBridgeError as exc:
        raise _fail(exc) from None
    for path in written:
        _say(f"wrote {path}")


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise ConfigurationError(f"{option} expects SPEAKER_ID=VALUE, got {value!r}")
        pairs[key.strip()] = rest.strip().strip('"').strip("'").strip()
    return pairs


def _role(value: str) -> str | None:
    role = value.strip().lower()
    if role not in ROLE_CHOICES:
        raise ConfigurationError(f"unknown role {value!r}; choose one of {', '.join(ROLE_CHOICES)}")
    return None if role == "none" else role


def apply_corrections(transcript: Any, renames: dict[str, str], roles: dict[str, str | None]) -> Any:
    """A new transcript whose speakers carry the given labels and roles (every id must occur in it)."""
    from ..types import SpeakerInfo

    speakers = {s.id: s for s in transcript.speakers}
    used = [s.id for s in transcript.speakers]
    for segment in transcript.segments:
        for speaker in [segment.speaker, *(w.speaker for w in segment.words)]:
            if speaker is not None and speaker not in used:
                used.append(speaker)
    missing = [speaker for speaker in {**renames, **roles} if speaker not in used]
    if missing:
        raise ConfigurationError(
            f"no speaker {missing[0]!r} in the transcript; its speakers are {', '.join(used) or '(none)'}"
        )
    updated = []
    for speaker in used:
        info = speakers.get(speaker, SpeakerInfo(speaker, speaker, None, None))
        role = roles.get(speaker, info.role)
        if speaker in renames:
            label = renames[speaker]
        elif speaker in roles:
            label = _relabel(info, role)
        else:
            label = info.label
        updated.append(SpeakerInfo(speaker, label, role, info.match_score))
    return transcript.with_changes(speakers=tuple(updated))


def _relabel(info: Any, role: str | None) -> str:
    """The label after a role change: ``Client`` -> ``Therapist``, ``Therapist (Dr. R)`` -> ``Client (Dr. R)``."""
    old = (info.role or "").capitalize()
    new = role.capitalize() if role else ""
    if info.label == info.id or (old and info.label == old):
        return new or info.id
    if old and info.label.startswith(f"{old} (") and info.label.endswith(")"):
        name = info.label[len(old) + 2 : -1]
        return f"{new} ({name})" if new else name
    return info.label


def write_rendered(transcript: Any, out_dir: Path, stem: str, formats: list[str], source_json: Path) -> list[Path]:
    """Write every format through the writers registry; the HTML page refers to the recording relative to it."""
    from ..writers import get_writer
    from ..writers.output import write_outputs

    writers = {name: get_writer(name) for name in formats}
    if "html" in writers:
        from ..writers.html import HtmlWriter, audio_reference

        audio = _locate_audio(transcript.audio.path, source_json)
        writers["html"] = HtmlWriter(audio_src=audio_reference(str(audio), out_dir))
    return write_outputs(transcript, out_dir, stem, formats, writers=writers)


def _locate_audio(audio_path: str, source_json: Path) -> Path:
    """The recording: as named (relative to the working directory) or, failing that, beside the JSON."""
    path = Path(audio_path).expanduser()
    if path.is_absolute() or path.exists():
        return path
    beside = source_json.parent / path
    if beside.exists():
        return beside
    named = source_json.parent / path.name
    return named if named.exists() else path


def register(app: typer.Typer, profiles_app: typer.Typer) -> None:
    """Add ``enroll``, ``render`` and ``profiles list|remove`` to the main CLI."""
    app.command("enroll")(enroll)
    app.command("render")(render)
    profiles_app.command("list")(list_profiles)
    profiles_app.command("remove")(remove_profile)
