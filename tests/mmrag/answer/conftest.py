"""Small corpora for answer tests: text documents and a table, ingested into temporary libraries."""
from __future__ import annotations

from pathlib import Path

import pytest

DOCS = {
    "lighthouse.txt": "The Kerrow lighthouse stands 42 metres tall on the northern cliff. It was first lit in 1871.\n\n"
                      "Its keeper, Ada Quill, kept the lamp burning for thirty years.",
    "bakery.txt": "The sourdough loaf bakes for 45 minutes at 230 degrees. The starter is fed every morning.\n\n"
                  "The bakery sells rye bread on Saturdays only.",
    "festival.md": "# Zorblax festival\n\nThe Zorblax festival is held every spring in the town of Plenkville.",
    "plenkville.md": "# Plenkville\n\nPlenkville is a river town. Its mayor is Odile Varga, elected in 2019.",
    "report.md": "# Quarterly report\n\nRevenue in the third quarter was 48.2 million EUR, up 12 percent.\n\n"
                 "Costs were 31.5 million EUR.",
}
CSV = ("country,capital,population_millions,gold_medals\n"
       "Italy,Rome,59,10\nFrance,Paris,68,12\nSpain,Madrid,48,7\nNorway,Oslo,5,16\nPortugal,Lisbon,10,1\n")


def write_docs(folder: Path, with_table: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    if with_table:
        (folder / "countries.csv").write_text(CSV, encoding="utf-8")
    return folder


@pytest.fixture
def docs_library(tmp_path):
    """Hash-encoder library (plumbing) with the text documents."""
    from mmrag import Ingestor, Library
    with Library(tmp_path / "lib", text_encoder="hash") as lib:
        Ingestor(lib, progress=False).run([write_docs(tmp_path / "docs")])
        yield lib


@pytest.fixture(scope="module")
def minilm_docs_library(tmp_path_factory, minilm):
    """Real MiniLM library with the documents and the countries table."""
    from mmrag import Ingestor, Library
    tmp = tmp_path_factory.mktemp("answer")
    with Library(tmp / "lib", text_encoder="minilm") as lib:
        Ingestor(lib, progress=False).run([write_docs(tmp / "docs", with_table=True)])
        yield lib


@pytest.fixture(scope="module")
def small_ctx_llm(llm):
    """The real 0.5B with a short context (768 tokens): evidence overflows it quickly, and prompts stay cheap."""
    from mmrag.generate import load_llm
    return load_llm(llm.path, n_ctx=768, n_threads=1)
