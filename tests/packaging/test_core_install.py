"""The core install (text and tables) works without any extra, and each extra's feature says how to install it.

Every process of these tests, the reader processes included, runs with `core_site/sitecustomize.py`,
which hides the packages of the extras (open_clip, OCR, OpenCV, Whisper, llama.cpp, gradio, Ray...)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES

SITE = Path(__file__).parent / "core_site"
SCRIPT = """
import json, sys
from mmrag import Library
with Library(sys.argv[1], text_encoder="minilm") as lib:
    top = lib.search("when does the ferry leave?", k=1)[0].record.source
    answer = lib.ask("when does the ferry leave?", generator="extractive").text
    models = {name: row.get("note") or row.get("reason") or "" for name, row in lib.models().items()}
blocked = sorted(m for m in sys.modules if m.split(".")[0] in __import__("sitecustomize").EXTRAS)
print(json.dumps({"top": top, "answer": answer, "models": models, "blocked": blocked}))
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{SITE}{os.pathsep}{Path(__file__).parents[2]}", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def core_library(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("core")
    folder = tmp / "folder"
    folder.mkdir()
    (folder / "ferry.txt").write_text("The ferry leaves the harbour at noon every day.")
    (folder / "apples.txt").write_text("Apples grow in the orchard on the hill.")
    (folder / "riders.csv").write_text("city,riders\nRome,5\nParis,3\n")
    for name in ("cafe-receipt.jpg", "lighthouse-keeper.mp4"):
        (folder / name).write_bytes((SAMPLES / name).read_bytes())
    ingest = run("-m", "mmrag", "ingest", str(folder), "--library", str(tmp / "lib"), cwd=tmp)
    return tmp, ingest


@pytest.mark.slow
def test_text_and_tables_work_without_extras(core_library):
    tmp, ingest = core_library
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    out = run("-c", SCRIPT, str(tmp / "lib"), cwd=tmp)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["blocked"] == []  # nothing of the extras was imported
    assert got["top"].endswith("ferry.txt") and "noon" in got["answer"]


@pytest.mark.slow
def test_extra_features_name_their_install_command(core_library):
    tmp, ingest = core_library
    text = ingest.stdout + ingest.stderr
    assert "mmrag[video]" in text  # the video is refused with the extra to install
    serve = run("-m", "mmrag", "serve", "--library", str(tmp / "lib"), cwd=tmp)
    assert serve.returncode != 0 and "mmrag[ui]" in serve.stdout + serve.stderr
    ask = run("-m", "mmrag", "ask", "when does the ferry leave?", "--library", str(tmp / "lib"),
              "--generator", "qwen2.5-coder-0.5b-instruct-q4_k_m", cwd=tmp)
    assert ask.returncode != 0 and "mmrag[llm]" in ask.stdout + ask.stderr
