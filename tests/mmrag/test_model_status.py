"""`Library.models()` / `mmrag models`: every model mmrag can use, checked without loading it."""
import json
import subprocess
import sys

from mmrag import Library, LibraryConfig


def test_models_lists_spaces_speech_ocr_and_llms(tmp_path):
    with Library(tmp_path / "lib", config=LibraryConfig.default("hash")) as lib:
        rows = lib.models()
    assert {"text", "speech", "ocr"} <= set(rows)
    llms = [k for k in rows if k.startswith("llm:")]
    assert len(llms) >= 2 and sum("(default)" in rows[k]["encoder"] for k in llms) == 1
    for name, row in rows.items():
        assert row["available"] in (True, False, None), name
        assert row.get("source") or row.get("reason"), name
    # this machine has the offline Whisper and OCR packages (make install)
    assert rows["speech"]["available"] is True and "tiny" in rows["speech"]["encoder"]
    assert rows["ocr"]["available"] is True


def test_models_cli_json(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mmrag", "models", "--library", str(tmp_path / "lib"), "--json"],
                         capture_output=True, text=True, timeout=120, check=True)
    rows = json.loads(out.stdout)["models"]
    assert "speech" in rows and any(k.startswith("llm:") for k in rows)
