"""`mmrag ask` and `mmrag summarise` on the command line (--json shapes, errors)."""
from __future__ import annotations

import json

from mmrag.cli import main

from .conftest import write_docs


def test_ask_json_shape(tmp_path, capsys):
    lib = str(tmp_path / "lib")
    assert main(["ingest", str(write_docs(tmp_path / "docs")), "--library", lib, "--text-encoder", "hash",
                 "--json"]) == 0
    capsys.readouterr()
    assert main(["ask", "How tall is the Kerrow lighthouse?", "--generator", "extractive", "--k", "3",
                 "--library", lib, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"answer", "citations", "hits", "model"} <= out.keys() and out["model"] == "extractive"
    assert "42 metres" in out["answer"]
    c = out["citations"][0]
    assert {"n", "id", "modality", "source", "locator"} <= c.keys() and c["source"].endswith("lighthouse.txt")
    assert f"[{c['n']}]" in out["answer"] and isinstance(out["hits"][0]["score"], float)

    assert main(["ask", "How tall is the Kerrow lighthouse?", "--generator", "extractive", "--library", lib]) == 0
    text = capsys.readouterr().out
    assert "42 metres" in text and "lighthouse.txt" in text and "-- extractive" in text

    assert main(["summarise", str(tmp_path / "docs" / "report.md"), "--generator", "extractive", "--library", lib,
                 "--json"]) == 0
    assert "48.2 million" in json.loads(capsys.readouterr().out)["answer"]

    assert main(["ask", "--library", lib]) == 2
    assert "give a QUESTION" in capsys.readouterr().err
    assert main(["ask", "x", "--generator", "nope", "--library", lib]) == 2
    assert "unknown generator 'nope'" in capsys.readouterr().err
