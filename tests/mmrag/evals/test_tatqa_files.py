"""`mmrag eval tatqa-files`: TAT-QA contexts written as files and ingested as a user's folder."""
from __future__ import annotations

import pytest

from tests.conftest import EVALPACK

pytestmark = pytest.mark.skipif(not (EVALPACK / "tables" / "tatqa").is_dir(), reason="evalpack not found")


def test_tatqa_through_the_ingest_path(tmp_path):
    from mmrag.evals import run_eval
    from mmrag.evals.tatqa_files import write_contexts
    from mmrag.evals.tatqa_retrieval import load_contexts
    contexts = load_contexts("dev")[:6]
    assert write_contexts(contexts, tmp_path / "files") == 12
    uid = contexts[0]["table"]["uid"]
    assert contexts[0]["paragraphs"][0]["text"].strip()[:40] in (tmp_path / "files" / f"{uid}.txt").read_text()
    res = run_eval("tatqa-files", split="dev", n_contexts=6, text_encoder="hash", library=str(tmp_path / "lib"))
    assert res["files"] == 12 and res["ingested_ok"] == 12 and res["records"] > 12
    assert res["n"] > 12 and 30 <= res["default"]["R@1"] <= res["default"]["R@5"] <= 100
