"""Images through the real pipeline: random-weight ViT-B-32 (real architecture), real OCR, bad files."""
import io
import json
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from mmrag import Ingestor, Library
from mmrag.images import open_image, to_rgb
from mmrag.ingest.reindex import reindex

RANDOM_CLIP = {"allow_random": True}


def _font(size):
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",):
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _text_image(path, words, size=(640, 240)):
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).text((30, 80), words, fill="black", font=_font(48))
    img.save(path)


def _photo(path, seed, mode="RGB", size=(320, 240)):
    rng = np.random.default_rng(seed)
    arr = (rng.random((size[1] // 8, size[0] // 8, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(arr).resize(size, Image.BILINEAR)
    if mode != "RGB":
        img = img.convert(mode)
    img.save(path)


def _big_png(path, side=20000):
    """A real, valid side x side greyscale PNG written without holding the pixels in memory."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    comp, row, parts = zlib.compressobj(9), b"\x00" * (side + 1), []
    for _ in range(side):
        parts.append(comp.compress(row))
    parts.append(comp.flush())
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def clip_random():
    from encoders import create_encoder
    return create_encoder("clip-vit-b-32", **RANDOM_CLIP)


@pytest.fixture
def image_lib(tmp_path, clip_random):
    with Library(tmp_path / "lib", text_encoder="hash", image_encoder="clip-vit-b-32",
                 image_encoder_params=RANDOM_CLIP) as lib:
        yield lib


def test_stored_embeddings_equal_open_clip_and_images_find_themselves(image_lib, clip_random, tmp_path):
    import open_clip
    import torch
    d = tmp_path / "imgs"
    d.mkdir()
    for i, mode in enumerate(["RGB", "L", "P", "RGBA", "CMYK"]):
        _photo(d / f"p{i}.{'jpg' if mode == 'CMYK' else 'png'}", i, mode)
    report = Ingestor(image_lib).run([d])
    assert report.count("ok") == 5, report.to_dict()
    model, tokenizer = clip_random.model, open_clip.get_tokenizer("ViT-B-32")
    ids = image_lib.store.filter_ids(["image"])
    stored = image_lib.store.get_vectors("clip", ids.tolist(), clip_random.dim)
    for rec in image_lib.store.get_records(ids.tolist()).values():
        img = open_image(open(rec.source, "rb").read(), 10**8)  # the decoded, upright RGB input
        assert img.mode == "RGB"
        with torch.inference_mode():
            ref = model.encode_image(clip_random.preprocess(img).unsqueeze(0)).float()
        ref = torch.nn.functional.normalize(ref, dim=-1).numpy()[0]
        np.testing.assert_allclose(stored[rec.id], ref, atol=1e-5)
        hit = image_lib.search(image=img, k=1, modality="image")[0]
        assert hit.record.id == rec.id and hit.retrievers == {"dense:clip": 1}
        assert hit.to_dict()["thumbnail"].startswith("thumbs/")
        assert (image_lib.root / hit.record.meta["thumbnail"]).exists()
    with torch.inference_mode():
        ref_t = torch.nn.functional.normalize(model.encode_text(tokenizer(["a photo"])).float(), dim=-1).numpy()
    np.testing.assert_allclose(clip_random.encode(["a photo"]), ref_t, atol=1e-5)


def test_ocr_words_find_the_image(tmp_path, minilm, clip_random):
    d = tmp_path / "imgs"
    d.mkdir()
    _text_image(d / "slide.png", "REVENUE GREW 12%")
    _text_image(d / "receipt.png", "COFFEE 3.50 EUR")
    _photo(d / "noise.jpg", 3)
    with Library(tmp_path / "lib", text_encoder="minilm", image_encoder="clip-vit-b-32",
                 image_encoder_params=RANDOM_CLIP) as lib:
        Ingestor(lib).run([d])
        hit = lib.search("revenue", k=1, modality="text")[0]
        assert hit.record.source.endswith("slide.png") and hit.record.meta["kind"] == "ocr"
        assert "REVENUE" in hit.record.text.upper() and hit.record.locator["boxes"]
        assert lib.search("coffee receipt", k=1)[0].record.source.endswith("receipt.png")
        ocr_sources = {r.source for r in lib.store.get_records(lib.store.filter_ids(["text"]).tolist()).values()}
        assert not any(s.endswith("noise.jpg") for s in ocr_sources)


def test_bad_images_are_reported_and_good_ones_ingested(image_lib, tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    _photo(d / "good.jpg", 1)
    _photo(d / "good2.webp", 2)
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), "red").save(buf, "JPEG")
    (d / "corrupt.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (d / "empty.png").write_bytes(b"")
    (d / "text.jpg").write_text("this is not a picture")
    _big_png(d / "huge.png")
    report = Ingestor(image_lib).run([d])
    by = {os.path.basename(r.path): r for r in report.results}
    assert by["good.jpg"].status == "ok" and by["good2.webp"].status == "ok"
    assert "truncated" in by["corrupt.jpg"].message or "corrupt" in by["corrupt.jpg"].message
    assert "empty" in by["empty.png"].message
    assert "not an image" in by["text.jpg"].message
    assert "20000x20000" in by["huge.png"].message
    assert image_lib.status()["spaces"]["clip"]["vectors"] == 2


def test_to_rgb_composites_alpha_on_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert to_rgb(rgba).getpixel((0, 0)) == (255, 255, 255)
    assert to_rgb(Image.new("CMYK", (2, 2))).mode == "RGB"
    assert to_rgb(Image.new("P", (2, 2))).mode == "RGB"


def test_exif_orientation_and_metadata(image_lib, tmp_path):
    img = Image.new("RGB", (300, 100), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    exif[0x010F], exif[0x0110], exif[0x0132] = "Canon", "EOS 5D", "2021:06:01 10:00:00"
    img.save(tmp_path / "rot.jpg", exif=exif)
    Ingestor(image_lib).run([tmp_path / "rot.jpg"])
    rec = next(iter(image_lib.store.get_records(image_lib.store.filter_ids(["image"]).tolist()).values()))
    assert (rec.meta["width"], rec.meta["height"]) == (100, 300)
    assert rec.meta["camera"] == "Canon EOS 5D" and rec.meta["exif_date"] == "2021:06:01 10:00:00"


def test_missing_clip_weights_then_reindex(tmp_path, clip_random, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MMRAG_MODELS", str(tmp_path / "no-models"))
    d = tmp_path / "imgs"
    d.mkdir()
    _text_image(d / "sign.png", "EXIT HERE")
    lib_dir = tmp_path / "lib"
    with Library(lib_dir, text_encoder="hash") as lib:  # default CLIP preset: weights absent here
        report = Ingestor(lib).run([d])
        assert report.count("ok") == 1
        st = lib.status()["spaces"]["clip"]
        assert st["available"] is False and st["reason"] and st["pending"] == 1
        assert lib.search("exit", k=1)[0].record.source.endswith("sign.png")
    cfg = json.loads((lib_dir / "library.json").read_text())
    cfg["spaces"]["clip"]["encoder_params"] = RANDOM_CLIP  # "the weights arrived"
    (lib_dir / "library.json").write_text(json.dumps(cfg))
    with Library(lib_dir) as lib:
        out = reindex(lib, "clip")
        assert out["embedded"] == 1 and out["failed"] == []
        assert lib.status()["spaces"]["clip"]["pending"] == 0
        assert lib.index("clip").ntotal == 1
        ids_text = lib.store.vector_ids("text").tolist()
    assert reindex(Library(lib_dir), "clip")["embedded"] == 0
    assert ids_text, "text vectors untouched"


def test_composed_image_text_query(image_lib, tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(4):
        _photo(d / f"p{i}.png", 10 + i)
    Ingestor(image_lib).run([d])
    q = Image.open(d / "p2.png").convert("RGB")
    hits = image_lib.search("a photo", image=q, k=3, modality="image")
    assert hits[0].record.source.endswith("p2.png")
    assert "dense:clip" in hits[0].retrievers


def test_removing_a_source_deletes_its_thumbnail(image_lib, tmp_path):
    _photo(tmp_path / "gone.png", seed=1)
    _photo(tmp_path / "kept.png", seed=2)
    Ingestor(image_lib).run([tmp_path / "gone.png", tmp_path / "kept.png"])
    thumbs = {s["path"].rsplit("/", 1)[-1]: image_lib.root / "thumbs" / s["sha256"][:2] / f"{s['sha256']}.jpg"
              for s in image_lib.sources()}
    assert all(t.is_file() for t in thumbs.values()), thumbs
    image_lib.remove_records_of(str((tmp_path / "gone.png").resolve()), drop_source=True)
    assert not thumbs["gone.png"].exists() and thumbs["kept.png"].is_file()
