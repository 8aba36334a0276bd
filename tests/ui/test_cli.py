"""`mmrag serve` as a user starts it: prints its URL, binds to 127.0.0.1 only, refuses bad --auth."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from tests.conftest import ROOT

from .conftest import free_port

pytestmark = pytest.mark.slow


def serve(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "mmrag", "serve", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_serve_prints_url_and_binds_to_loopback(corpus_library):
    port = free_port()
    proc = serve("--library", str(corpus_library), "--port", str(port), "--generator", "extractive")
    try:
        deadline, line = time.monotonic() + 120, ""
        while "http://" not in line and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line, line
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=30).status_code == 200
        listening = [c.laddr for c in psutil.Process(proc.pid).net_connections("inet") if c.status == "LISTEN"]
        assert listening and all(a.ip == "127.0.0.1" for a in listening), listening
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_serve_refuses_malformed_auth(tmp_path):
    proc = serve("--library", str(tmp_path / "lib"), "--auth", "just-a-name")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "USER:PASSWORD" in out
