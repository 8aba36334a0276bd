"""PDFs: text per page, OCR of scanned pages (real rapidocr), pages as image records in the CLIP space
(random-weight ViT-B-32: the real architecture), rendered again by `reindex`."""
import json

import numpy as np
import pytest

from mmrag import Library
from mmrag.core.config import LibraryConfig, SpaceConfig
from mmrag.core.readers import ReadContext
from mmrag.documents import read_pdf
from mmrag.errors import IngestError
from mmrag.images.reader import render_pdf_page
from mmrag.ingest.reindex import reindex

from .files import joined_pdf, page_image, scanned_pdf, text_pdf

RANDOM_CLIP = {"allow_random": True}


@pytest.fixture(scope="module")
def clip_random():
    from encoders import create_encoder
    return create_encoder("clip-vit-b-32", **RANDOM_CLIP)


def _text_only(**changes):
    cfg = LibraryConfig(spaces={"text": SpaceConfig(encoder="hash", modalities=["text", "table"])})
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


def test_text_pages_and_why_a_pdf_gives_nothing(tmp_path):
    ctx = ReadContext(tmp_path, "ab" * 32, _text_only(ocr=False))
    doc = read_pdf(tmp_path / "a.pdf", text_pdf([["Zebras graze at dawn."], [], ["Lions rest (at noon)."]]), ctx)
    assert [(s.text, s.locator) for s in doc.sections] == [("Zebras graze at dawn.", {"page": 1}),
                                                          ("Lions rest (at noon).", {"page": 3})]
    assert doc.records == [], "no space embeds images: no page images"
    with pytest.raises(IngestError, match="no extractable text on its 1 pages .* OCR is off"):
        read_pdf(tmp_path / "s.pdf", scanned_pdf([page_image(["INVOICE 4471"])]), ctx)
    with pytest.raises(IngestError, match="OCR found no words on its 1 pages"):
        read_pdf(tmp_path / "b.pdf", scanned_pdf([page_image([])]), ReadContext(tmp_path, "cd" * 32, _text_only()))
    with pytest.raises(IngestError, match="unreadable PDF"):
        read_pdf(tmp_path / "x.pdf", b"%PDF-1.4 garbage", ctx)


@pytest.mark.slow
def test_scanned_page_found_by_its_ocr_words(tmp_path):
    data = joined_pdf(text_pdf([["Quarterly report of the zebra farm."]]),
                      scanned_pdf([page_image(["INVOICE 4471", "STRIPED PAINT"])]))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "mixed.pdf").write_bytes(data)
    with Library(tmp_path / "lib", config=_text_only()) as lib:
        report = lib.ingest(tmp_path / "docs")
        assert report.count("ok") == 1 and "read with OCR (no text layer): page 2" in report.results[0].message
        hit = lib.search("invoice 4471 striped paint", k=1)[0]
        assert hit.record.source.endswith("mixed.pdf") and hit.record.locator["page"] == 2
        assert "INVOICE 4471" in hit.record.text and "STRIPED PAINT" in hit.record.text
        assert lib.search("quarterly zebra farm", k=1)[0].record.locator["page"] == 1


def _page_records(lib):
    recs = lib.store.get_records(lib.store.filter_ids(["image"]).tolist()).values()
    return sorted(recs, key=lambda r: r.locator["page"])


def _assert_vectors_are_the_pages(lib, clip_random, data, recs):
    got = lib.store.get_vectors("clip", [r.id for r in recs], clip_random.dim)
    stored = np.stack([got[r.id] for r in recs])
    expected = clip_random.encode([render_pdf_page(data, r.locator["page"]) for r in recs])
    np.testing.assert_allclose(stored, expected, atol=1e-5)


def test_pages_become_image_records_in_the_clip_space(tmp_path, clip_random):
    data = text_pdf([["Page one about zebras."], ["Page two about lions."], ["Page three about owls."]])
    (tmp_path / "report.pdf").write_bytes(data)
    cfg = LibraryConfig.default("hash", "clip-vit-b-32", RANDOM_CLIP)
    cfg.max_pdf_page_images = 2
    with Library(tmp_path / "lib", config=cfg) as lib:
        report = lib.ingest(tmp_path / "report.pdf")
        assert "first 2 of 3 pages (max_pdf_page_images=2)" in report.results[0].message
        recs = _page_records(lib)
        assert [r.locator for r in recs] == [{"page": 1}, {"page": 2}]
        for r in recs:
            assert r.meta["kind"] == "image" and r.meta["page"] == r.locator["page"] and r.meta["n_pages"] == 3
            assert max(r.meta["width"], r.meta["height"]) == 1024 and "max_pdf_page_images" in r.meta["capped"]
            assert r.meta["thumbnail"].endswith(f"-p{r.locator['page']}.jpg") and (lib.root / r.meta["thumbnail"]).is_file()
        _assert_vectors_are_the_pages(lib, clip_random, data, recs)
        hit = lib.search("", image=render_pdf_page(data, 2), k=1, modality="image")[0]
        assert hit.record.source.endswith("report.pdf") and "dense:clip" in hit.retrievers
        lib.remove_records_of(str((tmp_path / "report.pdf").resolve()), drop_source=True)
        assert not any((lib.root / r.meta["thumbnail"]).exists() for r in recs)


def test_reindex_renders_the_pages_again(tmp_path, clip_random, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MMRAG_MODELS", str(tmp_path / "no-models"))
    data = text_pdf([["First page."], ["Second page."]])
    (tmp_path / "two.pdf").write_bytes(data)
    lib_dir = tmp_path / "lib"
    with Library(lib_dir, text_encoder="hash") as lib:  # default CLIP preset: weights absent here
        assert lib.ingest(tmp_path / "two.pdf").count("ok") == 1
        assert lib.status()["spaces"]["clip"]["pending"] == 2
    cfg = json.loads((lib_dir / "library.json").read_text())
    cfg["spaces"]["clip"]["encoder_params"] = RANDOM_CLIP  # "the weights arrived"
    (lib_dir / "library.json").write_text(json.dumps(cfg))
    with Library(lib_dir) as lib:
        out = reindex(lib, "clip")
        assert out["embedded"] == 2 and out["failed"] == []
        _assert_vectors_are_the_pages(lib, clip_random, data, _page_records(lib))
    with pytest.raises(IngestError, match="no page 3"):  # the file lost pages since: reindex reports that record
        render_pdf_page(data, 3)
