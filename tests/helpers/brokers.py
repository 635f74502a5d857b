"""Which real brokers a test can have."""

from __future__ import annotations

import os

import pytest

from broker import mosquitto_exe

__all__ = ["require_mosquitto"]


def require_mosquitto() -> None:
    """Skip the test where no Mosquitto is installed; fail instead in CI, where the
    setup script installs it and a missing broker must not pass silently."""
    if mosquitto_exe() is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed: run scripts/setup.sh")
        pytest.skip("mosquitto is not installed (scripts/setup.sh installs it)")
