"""The CLI contract: commands, --json shapes, exit codes."""
import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def run(*args, lib):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mmrag", *args, "--library", str(lib)], env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_ingest_search_status_remove(tmp_path):
    lib = tmp_path / "lib"
    doc = tmp_path / "doc.md"
    doc.write_text("# Kites\n\nA kite flies best in a steady wind of twenty kilometres per hour.")
    (tmp_path / "empty.txt").write_text("")
    r = run("ingest", str(doc), str(tmp_path / "empty.txt"), "--json", "--text-encoder", "hash", lib=lib)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["counts"]["ok"] == 1 and out["counts"]["failed"] == 1
    assert "empty" in out["problems"][0]["message"]

    r = run("search", "kite wind", "--k", "3", "--json", lib=lib)
    hits = json.loads(r.stdout)["hits"]
    assert {"id", "modality", "source", "score", "locator", "text"} <= hits[0].keys()
    assert hits[0]["source"] == str(doc.resolve()) and hits[0]["modality"] == "text"

    st = json.loads(run("status", "--json", lib=lib).stdout)
    assert st["records"] == {"text": 1} and st["spaces"]["text"]["vectors"] == 1
    assert st["failed"][0]["path"].endswith("empty.txt")
    assert st["lexical"] == {"backend": "tantivy", "documents": 1}  # the ingest left it current

    r = run("remove", str(doc), "--json", lib=lib)
    assert json.loads(r.stdout)["removed"] == {str(doc.resolve()): 1}
    assert json.loads(run("search", "kite", "--json", lib=lib).stdout)["hits"] == []


def test_cli_exit_code_when_nothing_ingested(tmp_path):
    r = run("ingest", str(tmp_path / "missing.txt"), "--text-encoder", "hash", lib=tmp_path / "lib")
    assert r.returncode == 1
    assert "does not exist" in r.stdout


def test_cli_text_output_is_readable(tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("Lighthouses guide ships along the coast.")
    run("ingest", str(doc), "--text-encoder", "hash", lib=tmp_path / "lib")
    r = run("search", "lighthouses", lib=tmp_path / "lib")
    assert r.returncode == 0 and " 1. " in r.stdout and "a.txt" in r.stdout


def test_cli_image_query_falls_back_to_ocr_without_clip(tmp_path):
    """No CLIP weights here: an image query is answered through its OCR words; models says why."""
    from PIL import Image, ImageDraw, ImageFont

    from mmrag import Library
    lib = tmp_path / "lib"
    (tmp_path / "no-clip").mkdir()
    Library(lib, text_encoder="hash", image_encoder_params={"path": str(tmp_path / "no-clip")}).close()
    doc = tmp_path / "notes.md"
    doc.write_text("The harbour festival starts on Friday with fireworks.\n\nUnrelated text about tax law.")
    run("ingest", str(doc), lib=lib)
    q = tmp_path / "q.png"
    img = Image.new("RGB", (700, 160), "white")
    ImageDraw.Draw(img).text((20, 50), "HARBOUR FESTIVAL", fill="black", font=ImageFont.load_default(size=48))
    img.save(q)
    r = run("search", "--image", str(q), "--json", lib=lib)
    assert r.returncode == 0, r.stderr
    hits = json.loads(r.stdout)["hits"]
    assert hits and "festival" in hits[0]["text"]
    models = json.loads(run("models", "--json", lib=lib).stdout)["models"]
    assert models["text"]["available"] is True
    assert models["clip"]["available"] is False and models["clip"]["looked_in"]


def test_cli_search_needs_query_or_image(tmp_path):
    r = run("search", lib=tmp_path / "lib")
    assert r.returncode == 2 and "QUERY" in r.stderr


def test_cli_export_import_round_trip(tmp_path):
    lib, docs = tmp_path / "lib", tmp_path / "lib" / "docs"
    docs.mkdir(parents=True)
    (docs / "kite.md").write_text("A kite flies best in a steady wind of twenty kilometres per hour.")
    assert run("ingest", str(docs / "kite.md"), "--text-encoder", "hash", lib=lib).returncode == 0
    r = run("export", str(tmp_path / "lib.tar.gz"), "--json", lib=lib)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["outside"] == 0
    r = run("import", str(tmp_path / "lib.tar.gz"), "--json", lib=tmp_path / "copy")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["doctor"]["ok"]
    hits = json.loads(run("search", "kite wind", "--json", lib=tmp_path / "copy").stdout)["hits"]
    assert hits[0]["source"] == str((tmp_path / "copy" / "docs" / "kite.md").resolve())
    again = run("import", str(tmp_path / "lib.tar.gz"), lib=tmp_path / "copy")
    assert again.returncode == 2 and "not empty" in again.stderr
