"""Word, PowerPoint and EPUB readers on real files: sections in reading order, locators, bad files."""
import zipfile
from pathlib import Path

import pytest

from mmrag.core.config import LibraryConfig
from mmrag.core.readers import ReadContext
from mmrag.documents import read_docx, read_epub, read_pptx
from mmrag.errors import IngestError

from .files import docx_file, epub_file, pptx_file


def _ctx(tmp_path, **changes):
    cfg = LibraryConfig.default("hash")
    for key, value in changes.items():
        setattr(cfg, key, value)
    return ReadContext(tmp_path / "lib", "ab" * 32, cfg)


def _read(reader, path, ctx):
    return reader(Path(path), Path(path).read_bytes(), ctx)


def test_docx_paragraphs_headings_and_tables_in_reading_order(tmp_path):
    doc = _read(read_docx, docx_file(tmp_path / "census.docx"), _ctx(tmp_path))
    assert [s.locator for s in doc.sections] == [{}]
    assert doc.sections[0].text == ("Annual Zebra Census\n\nThe herd grew this year.\n\n"
                                    "Region | Count | Change\nSerengeti | 1200 | +5%\n\n"
                                    "Merged cell once\n\nMethods\n\nCounted from the air.")


def test_pptx_one_section_per_slide_with_notes(tmp_path):
    doc = _read(read_pptx, pptx_file(tmp_path / "deck.pptx"), _ctx(tmp_path))
    assert [s.locator for s in doc.sections] == [{"slide": 1}, {"slide": 3}]  # slide 2 has no text
    assert doc.sections[0].text == "Quarterly results\n\nRevenue grew 12%\n\nNotes: Mention the zebra deal"
    assert doc.sections[1].text == "Top box\n\nCity | Sales\nOslo | 42\n\nBottom box"  # top to bottom


def test_epub_one_section_per_chapter_in_spine_order(tmp_path):
    book = epub_file(tmp_path / "book.epub", [
        ("One", "<h1>Chapter One</h1><p>It was a dark &amp; stormy night.</p><script>no()</script>"),
        ("Blank", "<div>  </div>"),
        ("Two", "<h1>Chapter Two</h1><p>Morning came.</p>")])
    doc = _read(read_epub, book, _ctx(tmp_path))
    assert [(s.text, s.locator) for s in doc.sections] == [
        ("Chapter One\n\nIt was a dark & stormy night.", {"chapter": 1}),
        ("Chapter Two\n\nMorning came.", {"chapter": 2})]  # no <title> text, no table of contents


def test_office_files_ingested_with_their_locators(hash_library, tmp_path):
    docx_file(tmp_path / "census.docx")
    pptx_file(tmp_path / "deck.pptx")
    epub_file(tmp_path / "book.epub", [("One", "<p>A lighthouse keeper wrote letters.</p>")])
    report = hash_library.ingest(tmp_path, progress=False)
    assert report.count("ok") == 3, report.to_dict()
    recs = hash_library.store.get_records(hash_library.store.filter_ids(["text"]).tolist()).values()
    locs = sorted((Path(r.source).suffix, tuple((k, v) for k, v in r.locator.items() if not k.startswith("char")))
                  for r in recs)
    assert locs == [(".docx", ()), (".epub", (("chapter", 1),)), (".pptx", (("slide", 1),)), (".pptx", (("slide", 3),))]
    hit = hash_library.search("lighthouse keeper letters", k=1)[0]
    assert hit.record.source.endswith("book.epub") and hit.record.locator["chapter"] == 1


@pytest.mark.parametrize("reader,ext", [(read_docx, ".docx"), (read_pptx, ".pptx"), (read_epub, ".epub")])
def test_bad_zip_documents_fail_with_a_reason(tmp_path, reader, ext):
    with pytest.raises(IngestError, match=f"not a valid \\{ext} file"):
        reader(tmp_path / f"x{ext}", b"PK\x03\x04 not really a zip", _ctx(tmp_path))
    bomb = tmp_path / f"bomb{ext}"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.xml", b"\x00" * 3_000_000)
    with pytest.raises(IngestError, match="expands to 3 MB uncompressed, over max_unzipped_mb=1"):
        _read(reader, bomb, _ctx(tmp_path, max_unzipped_mb=1))


def test_empty_word_file_and_zip_without_a_book(tmp_path):
    import docx
    docx.Document().save(tmp_path / "empty.docx")
    with pytest.raises(IngestError, match="Word document has no text"):
        _read(read_docx, tmp_path / "empty.docx", _ctx(tmp_path))
    with zipfile.ZipFile(tmp_path / "plain.epub", "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(IngestError, match="not an EPUB book"):
        _read(read_epub, tmp_path / "plain.epub", _ctx(tmp_path))
