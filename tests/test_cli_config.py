"""``transcribe --config``: defaults < configuration file < environment variables < the options the user typed."""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from therapybridge import cli
from tests.references import SAMPLE_WAV

ENVIRONMENT = ("THERAPYBRIDGE_ALLOW_REMOTE", "THERAPYBRIDGE_PROFILES_DIR")

# Every section of the file, each with values that differ from the built-in defaults.
FILE = """
    backend = "openai"
    allow_remote = true
    enable_diarization = false
    [audio]
    max_pause = 3.5
    target_lufs = -20.0
    [asr]
    model = "tiny.en"
    language = "de"
    batch_size = 3
    beam_size = 2
    compute_type = "int8"
    initial_prompt = "Rivera"
    hotwords = "CBT"
    allow_download = true
    [diarization]
    min_speakers = 2
    max_speakers = 4
    [align]
    context = 0.5
    smoothing = false
    [perf]
    enabled = true
    redact_paths = true
    sample_interval = 0.25
    [roles]
    enabled = false
    profiles_dir = "/from/file"
"""

SURVIVES = {
    "backend": "openai", "allow_remote": True, "enable_diarization": False,
    "audio__max_pause": 3.5, "audio__target_lufs": -20.0,
    "asr__model": "tiny.en", "asr__language": "de", "asr__batch_size": 3, "asr__beam_size": 2,
    "asr__compute_type": "int8", "asr__initial_prompt": "Rivera", "asr__hotwords": "CBT", "asr__allow_download": True,
    "diarization__min_speakers": 2, "diarization__max_speakers": 4, "diarization__num_speakers": None,
    "align__context": 0.5, "align__smoothing": False,
    "perf__enabled": True, "perf__redact_paths": True, "perf__sample_interval": 0.25,
    "roles__enabled": False, "roles__profiles_dir": "/from/file",
}


@pytest.fixture
def configured(tmp_path, monkeypatch):
    """Run ``transcribe`` in-process up to the pipeline it builds; returns (exit code, that pipeline's config)."""
    for variable in ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)
    seen = {}

    def fake_batch(pipeline, *args, **kwargs):
        seen["config"] = pipeline.config
        return 0

    monkeypatch.setattr(cli, "_run_batch", fake_batch)

    def run(*args: str, file: str = FILE, env: dict | None = None):
        path = tmp_path / "settings.toml"
        path.write_text(textwrap.dedent(file))
        result = CliRunner().invoke(
            cli.app, ["transcribe", str(SAMPLE_WAV), "--config", str(path), *args], env=env, catch_exceptions=False
        )
        return result.exit_code, seen.get("config"), result.output

    return run


def test_every_section_of_the_file_survives_when_no_option_is_typed(configured):
    code, config, output = configured()
    assert code == 0, output
    assert {key: _get(config, key) for key in SURVIVES} == SURVIVES


# A typed option wins over the file, section by section; the file's other values in that section stay.
@pytest.mark.parametrize(
    "args, wins, stays",
    [
        (["--backend", "local", "--device", "cpu"], {"backend": "local", "device": "cpu"}, {"allow_remote": True}),
        (["--model", "base", "--batch-size", "4", "--beam-size", "1", "--language", "en"],
         {"asr__model": "base", "asr__batch_size": 4, "asr__beam_size": 1, "asr__language": "en"},
         {"asr__hotwords": "CBT", "asr__allow_download": True}),
        (["--compute-type", "float32", "--initial-prompt", "Dr. Okafor", "--hotwords", "DBT"],
         {"asr__compute_type": "float32", "asr__initial_prompt": "Dr. Okafor", "asr__hotwords": "DBT"},
         {"asr__model": "tiny.en"}),
        (["--speakers", "3"],
         {"diarization__num_speakers": 3, "diarization__min_speakers": None, "diarization__max_speakers": None}, {}),
        (["--max-speakers", "5"],
         {"diarization__max_speakers": 5, "diarization__min_speakers": None}, {"enable_diarization": False}),
        (["--no-roles", "--profiles", "/typed"], {"roles__profiles_dir": "/typed"}, {"roles__enabled": False}),
    ],
    ids=["top-level", "asr", "asr-prompts", "diarization-speakers", "diarization-range", "roles"],
)
def test_a_typed_option_wins_over_the_file(configured, args, wins, stays):
    code, config, output = configured(*args)
    assert code == 0, output
    assert {key: _get(config, key) for key in wins} == wins
    assert {key: _get(config, key) for key in stays} == stays


# Boolean flags can only switch something on, so these start from a file that has it off.
@pytest.mark.parametrize(
    "file, args, wins, stays",
    [
        ("enable_diarization = true\n[diarization]\nmin_speakers = 2", ["--no-diarization"],
         {"enable_diarization": False}, {"diarization__min_speakers": 2}),
        ("[diarization]\nchannel_speakers = false\n[align]\ncontext = 0.5", ["--channel-speakers"],
         {"diarization__channel_speakers": True}, {"align__context": 0.5}),
        ("[diarization]\nchannel_speakers = true\n[align]\ncontext = 0.5", ["--no-channel-speakers"],
         {"diarization__channel_speakers": False}, {"align__context": 0.5}),
        ("[diarization]\nchannel_speakers = 'auto'", [], {"diarization__channel_speakers": None}, {}),
        ("[perf]\nenabled = false\nsample_interval = 0.25", ["--profile", "--redact-paths"],
         {"perf__enabled": True, "perf__redact_paths": True}, {"perf__sample_interval": 0.25}),
        ("[asr]\nallow_download = false\nmodel = 'tiny.en'", ["--allow-download"],
         {"asr__allow_download": True}, {"asr__model": "tiny.en"}),
        ("[roles]\nenabled = true\nprofiles_dir = '/from/file'", ["--no-roles"],
         {"roles__enabled": False}, {"roles__profiles_dir": "/from/file"}),
    ],
    ids=["no-diarization", "channel-speakers", "no-channel-speakers", "channel-speakers-auto", "perf", "allow-download",
         "no-roles"],
)
def test_a_typed_flag_wins_over_the_file(configured, file, args, wins, stays):
    code, config, output = configured(*args, file=file)
    assert code == 0, output
    assert {key: _get(config, key) for key in wins} == wins
    assert {key: _get(config, key) for key in stays} == stays


def test_environment_variables_sit_between_the_file_and_typed_options(configured):
    file = "allow_remote = false\n[roles]\nprofiles_dir = '/from/file'"
    env = {"THERAPYBRIDGE_ALLOW_REMOTE": "1", "THERAPYBRIDGE_PROFILES_DIR": "/from/env"}
    _, config, _ = configured(file=file, env=env)
    assert (config.allow_remote, config.roles.profiles_dir) == (True, "/from/env")
    _, config, _ = configured("--profiles", "/typed", file=file, env=env)
    assert config.roles.profiles_dir == "/typed"
    _, config, _ = configured(file="allow_remote = true", env={"THERAPYBRIDGE_ALLOW_REMOTE": "0"})
    assert config.allow_remote is False
    _, config, _ = configured("--allow-remote", file="", env={"THERAPYBRIDGE_ALLOW_REMOTE": "0"})
    assert config.allow_remote is True


def test_without_a_file_the_built_in_defaults_apply(configured):
    from therapybridge.config import PipelineConfig

    code, config, output = configured(file="")
    assert code == 0, output
    assert config == PipelineConfig()


def _get(config, key: str):
    stage, _, name = key.partition("__")
    return getattr(getattr(config, stage), name) if name else getattr(config, stage)


@pytest.mark.parametrize("hint", [["--speakers", "2"], ["--min-speakers", "1"], ["--max-speakers", "3"]])
def test_channel_speakers_with_a_count_hint_is_a_usage_error(configured, hint):
    code, config, output = configured("--channel-speakers", *hint, file="")
    assert code == 2 and config is None
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("therapybridge: error: --channel-speakers"), output


def test_channel_speakers_on_and_off_together_is_a_usage_error(configured):
    code, config, output = configured("--channel-speakers", "--no-channel-speakers", file="")
    assert code == 2 and config is None
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("therapybridge: error: give --channel-speakers"), output
