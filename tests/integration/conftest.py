"""Shared fixtures for scenario tests: the real meridian binary, run as users run it."""
import os
import pathlib
import subprocess
import time

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
def https_only(meridian_bin, tmp_path):
    """Start `meridian ROLE --config CFG` (no --listen: HTTPS only), wait until
    probe() is true, check its start line and stop it by PID; returns the log."""

    def _run(role, cfg, probe, timeout=20):
        logpath = tmp_path / f"{role}-https-only.log"
        with open(logpath, "wb") as log:
            proc = subprocess.Popen([meridian_bin, role, "--config", str(cfg), "--workers", "1"],
                                    stdout=log, stderr=log)
            try:
                end = time.monotonic() + timeout
                while not probe():
                    assert proc.poll() is None and time.monotonic() < end, logpath.read_text()
                    time.sleep(0.05)
                text = logpath.read_text()
                assert ", HTTPS only\n" in text and "listening on" not in text, text
            finally:
                proc.terminate()
                assert proc.wait(timeout=30) == 0, logpath.read_text()
        return logpath.read_text()

    return _run


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
