"""Server and job options: the insecure-binding warning, option checks."""

from __future__ import annotations

import pytest

from therapybridge.errors import ConfigurationError
from therapybridge.server.options import JobOptions, ServerOptions


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_needs_no_warning(host):
    assert ServerOptions(host=host).insecure_binding_warning() is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "notes.example"])
def test_other_addresses_without_tls_warn_naming_the_risk(host):
    warning = ServerOptions(host=host).insecure_binding_warning()
    assert host in warning and "without TLS" in warning and "clear text" in warning


def test_tls_silences_the_warning_and_needs_both_files():
    assert ServerOptions(host="0.0.0.0", tls_cert="c.pem", tls_key="k.pem").insecure_binding_warning() is None
    with pytest.raises(ConfigurationError):
        ServerOptions(tls_cert="c.pem")


def test_job_options_check_hints_and_formats():
    assert JobOptions.parse_formats(" JSON, srt,json ") == ("json", "srt")
    for bad in ({"num_speakers": 2, "max_speakers": 3}, {"min_speakers": 4, "max_speakers": 2},
                {"formats": ("json", "docx")}, {"language": "en; rm"}, {"num_speakers": 0}):
        with pytest.raises(ConfigurationError):
            JobOptions(**bad)
    options = JobOptions(num_speakers=2, formats=("json", "html"))
    assert JobOptions.from_dict(options.to_dict()) == options
