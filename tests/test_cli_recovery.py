"""``--no-gap-recovery`` turns the recovery pass off; it is on by default and settable from the config file."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.references import SAMPLE_WAV
from therapybridge import cli
from therapybridge.config import ENVIRONMENT


@pytest.fixture
def built_config(tmp_path, monkeypatch):
    for variable in ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)
    seen = {}
    monkeypatch.setattr(cli, "_run_batch", lambda pipeline, *a, **k: seen.setdefault("config", pipeline.config) and 0)

    def run(*args: str, file: str = ""):
        path = tmp_path / "settings.toml"
        path.write_text(file)
        result = CliRunner().invoke(cli.app, ["transcribe", str(SAMPLE_WAV), "--config", str(path), *args],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return seen.pop("config")

    return run


def test_gap_recovery_is_on_by_default_and_the_flag_turns_it_off(built_config):
    assert built_config().asr.gap_recovery is True
    assert built_config("--no-gap-recovery").asr.gap_recovery is False
    assert built_config(file="[asr]\ngap_recovery = false\n").asr.gap_recovery is False
    assert "--no-gap-recovery" in CliRunner().invoke(cli.app, ["transcribe", "--help"]).output
