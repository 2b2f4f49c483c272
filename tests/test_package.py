"""Process-wide settings the package makes on import."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import therapybridge, os; print(os.environ.get('ONEDNN_PRIMITIVE_CACHE_CAPACITY'))"


def _probe(env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_import_bounds_the_onednn_primitive_cache():
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    assert _probe(env) == "16"


@pytest.mark.parametrize("chosen", ["0", "1024"])
def test_a_users_own_cache_size_is_kept(chosen):
    assert _probe({**os.environ, "ONEDNN_PRIMITIVE_CACHE_CAPACITY": chosen}) == chosen
