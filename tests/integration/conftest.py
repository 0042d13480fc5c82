"""Shared fixtures for scenario tests: the real meridian binary, run as users run it."""
import os
import pathlib
import subprocess

import pytest

from httpd import Daemon

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def meridian_bin():
    path = os.environ.get("MERIDIAN_BIN", str(ROOT / "build" / "meridian"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"meridian binary not found at {path}; run `make` first")
    return path


@pytest.fixture
def run(meridian_bin):
    """Run `meridian ARGS...`; returns CompletedProcess (text)."""

    def _run(*args, env=None, input=None, timeout=120):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        full_env.update(env or {})
        return subprocess.run(
            [meridian_bin, *args],
            capture_output=True,
            text=True,
            env=full_env,
            input=input,
            timeout=timeout,
        )

    return _run


@pytest.fixture
def testd():
    """Start meridian-testd (Daemon's arguments); every one started is stopped after."""
    servers = []

    def start(*args, **kw):
        s = Daemon(*args, **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()
