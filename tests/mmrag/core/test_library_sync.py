"""A reader's in-memory index follows writes made by another Library (another process, e.g. `mmrag
ingest` while `mmrag serve` runs) without a restart, and never saves a generation it has not seen."""
import json

from mmrag import Ingestor, Library


def _dense_sources(lib, query):
    return [h.record.source for h in lib.search(query, k=5, retrievers=["dense"])]


def test_reader_sees_another_writers_ingest_and_removal(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The lighthouse keeper climbed the stairs at dusk.")
    root = tmp_path / "lib"
    with Library(root, text_encoder="hash") as writer:
        Ingestor(writer).run([docs])
    reader = Library(root)
    assert len(_dense_sources(reader, "lighthouse keeper")) == 1  # index loaded now
    (docs / "b.txt").write_text("Sourdough bread bakes for twenty minutes with the lid on.")
    with Library(root) as writer:
        Ingestor(writer).run([docs])
    assert any(s.endswith("b.txt") for s in _dense_sources(reader, "sourdough bread lid"))
    with Library(root) as writer, writer.writing():
        writer.remove_records_of(str((docs / "a.txt").resolve()), drop_source=True)
    assert not any(s.endswith("a.txt") for s in _dense_sources(reader, "lighthouse keeper"))
    reader.close()
    manifest = json.loads((root / "indexes" / "text" / "manifest.json").read_text())
    with Library(root) as fresh:
        assert manifest["meta"]["generation"] == fresh.store.generation
        assert sorted(fresh.index("text").ids().tolist()) == sorted(fresh.store.vector_ids("text").tolist())
