"""The app over a real MiniLM library: a server folder ingested from the Library tab, then asked."""
from __future__ import annotations

import shutil

import pytest

from tests.conftest import SAMPLES

from .conftest import free_port, text_only_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def minilm_app(tmp_path_factory, minilm):
    from mmrag import Library
    from ui import Settings, launch
    base = tmp_path_factory.mktemp("minilm-app")
    docs = base / "docs"
    docs.mkdir()
    for name in ("sourdough.txt", "lighthouse.txt", "tour-results.md", "vector-search.md", "stage14-top10.csv"):
        shutil.copy(SAMPLES / name, docs / name)
    Library(base / "lib", config=text_only_config("minilm")).close()
    server = launch(Settings(library=base / "lib", generator="extractive", folder_roots=[base]), port=free_port())
    yield server, docs
    server.close()


def test_ingest_folder_then_ask_cites_the_right_source(minilm_app):
    from gradio_client import Client
    server, docs = minilm_app
    client = Client(server.url, verbose=False)
    result, counts, models, sources, _ = client.predict(str(docs), api_name="/ingest_folder")
    assert "5 ok" in result and "| text | minilm |" in counts and "| minilm |" in models
    *_, data = client.predict({"text": "How long should the bread bake with the lid on?", "files": []}, 4,
                              api_name="/ask")
    cited = [e for e in data["evidence"] if e["n"] in data["citations"]]
    assert cited and cited[0]["source"] == str((docs / "sourdough.txt").resolve()), data
    assert "twenty minutes" in data["answer"].lower(), data["answer"]
    _, _, hits = client.predict({"text": "how does an approximate nearest neighbour index work", "files": []}, [],
                                3, "", False, api_name="/search")
    assert hits[0]["source"].endswith("vector-search.md") and "dense:text" in hits[0]["retrievers"]
