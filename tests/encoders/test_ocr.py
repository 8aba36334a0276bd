"""OCR with the real rapidocr models (shipped in the package) on images rendered with PIL."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

pytest.importorskip("rapidocr")
from encoders.ocr import OcrEngine, OcrLine, reading_order  # noqa: E402

COCO = Path(__file__).resolve().parents[3] / "shared" / "evalpack" / "images" / "coco_mini"
NO_TEXT_PHOTOS = ["000000000139.jpg", "000000000802.jpg", "000000022892.jpg"]  # full OCR reads nothing there
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def font(size: int) -> ImageFont.ImageFont:
    return ImageFont.truetype(str(DEJAVU), size) if DEJAVU.is_file() else ImageFont.load_default(size=size)


def render(size: tuple[int, int], lines: list[tuple[tuple[int, int], str, int]], mode: str = "RGB",
           bg: object = "white", fg: object = "black") -> tuple[Image.Image, list[tuple[float, ...]]]:
    """An image with `text` drawn at each (x, y); returns it and each text's bounding box."""
    img = Image.new(mode, size, bg)
    draw = ImageDraw.Draw(img)
    boxes = []
    for xy, text, px in lines:
        draw.text(xy, text, fill=fg, font=font(px))
        boxes.append(draw.textbbox(xy, text, font=font(px)))
    return img, boxes


def words(lines: list[OcrLine]) -> set[str]:
    return {w.lower() for line in lines for w in re.findall(r"\w+", line.text)}


@pytest.fixture(scope="module")
def ocr():
    engine = OcrEngine(threads=1)
    engine.warmup()
    return engine


def test_reads_rendered_words_in_reading_order(ocr):
    img, _ = render((900, 320), [((40, 40), "Quarterly revenue report", 40), ((40, 180), "Invoice 4821", 40),
                                 ((560, 185), "PAID", 40)])
    lines = ocr.read(img)
    assert {"quarterly", "revenue", "report", "invoice", "4821", "paid"} <= words(lines)
    texts = [ln.text.lower() for ln in lines]
    assert texts.index(next(t for t in texts if "quarterly" in t)) < texts.index(next(t for t in texts if "paid" in t))
    assert "invoice" in " ".join(texts).split("paid")[0]  # left before right on the same row
    for line in lines:
        assert len(line.box) == 4 and all(0 <= x <= 900 and 0 <= y <= 320 for x, y in line.box)
        assert 0.5 <= line.score <= 1.0


def test_large_image_is_downscaled_and_boxes_map_back(ocr):
    img, drawn = render((3200, 1400), [((200, 300), "Panorama", 110), ((1900, 1000), "Harbour", 110)])
    lines = ocr.read(img)
    assert {"panorama", "harbour"} <= words(lines)
    for line in lines:
        expected = drawn[0] if "panorama" in line.text.lower() else drawn[1]
        cx, cy = sum(p[0] for p in line.box) / 4, sum(p[1] for p in line.box) / 4
        assert expected[0] <= cx <= expected[2] and expected[1] <= cy <= expected[3], (line, expected)


def test_greyscale_and_transparent_images(ocr):
    grey, _ = render((500, 120), [((20, 30), "Greyscale scan", 40)], mode="L", bg=255, fg=0)
    assert {"greyscale", "scan"} <= words(ocr.read(grey))
    rgba, _ = render((500, 120), [((20, 30), "Transparent logo", 40)], mode="RGBA", bg=(0, 0, 0, 0),
                     fg=(20, 20, 20, 255))
    assert {"transparent", "logo"} <= words(ocr.read(rgba))


def test_blank_image_skips_ocr(ocr, monkeypatch):
    monkeypatch.setattr(OcrEngine, "_full", lambda self: pytest.fail("full OCR ran on a blank image"))
    start = time.perf_counter()
    assert ocr.read(Image.new("RGB", (2000, 1500), (240, 240, 235))) == []
    assert ocr.read(Image.new("L", (300, 300), 0)) == []
    assert time.perf_counter() - start < 2.0


@pytest.mark.skipif(not COCO.is_dir(), reason=f"evalpack photos not at {COCO}")
def test_photos_without_text_skip_full_ocr(ocr, monkeypatch):
    monkeypatch.setattr(OcrEngine, "_full", lambda self: pytest.fail("full OCR ran on a photo without text"))
    for name in NO_TEXT_PHOTOS:
        with Image.open(COCO / name) as photo:
            assert ocr.read(photo) == []


def test_skip_can_be_turned_off(monkeypatch):
    calls = []
    engine = OcrEngine(skip_blank=False, threads=1)
    monkeypatch.setattr(OcrEngine, "has_text", lambda self, image: calls.append("precheck") or False)
    assert engine.read(Image.new("RGB", (200, 100), "white")) == []
    assert calls == []


def test_reading_order_groups_rows_then_left_to_right():
    def line(text, x, y, h=20):
        return OcrLine(text, [[x, y], [x + 50, y], [x + 50, y + h], [x, y + h]], 0.9)
    shuffled = [line("d", 200, 103), line("a", 10, 10), line("c", 10, 100), line("b", 120, 14)]
    assert [ln.text for ln in reading_order(shuffled)] == ["a", "b", "c", "d"]


def test_rejects_non_images(ocr):
    with pytest.raises(TypeError, match="PIL"):
        ocr.read("/tmp/some.png")
