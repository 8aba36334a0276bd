"""Render the sample corpus's images (committed; rerun to regenerate): a slide and a receipt."""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parents[1] / "samples" / "corpus"


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def slide() -> None:
    img = Image.new("RGB", (800, 450), (24, 54, 96))
    d = ImageDraw.Draw(img)
    d.text((50, 40), "Q3 revenue: 48.2 million EUR", fill="white", font=font(44))
    for i, (label, h) in enumerate([("Q1", 120), ("Q2", 160), ("Q3", 210)]):
        x = 120 + i * 200
        d.rectangle([x, 400 - h, x + 100, 400], fill=(250, 180, 40))
        d.text((x + 30, 405), label, fill="white", font=font(28))
    img.save(OUT / "revenue-slide.png", optimize=True)


def receipt() -> None:
    img = Image.new("RGB", (420, 520), "white")
    d = ImageDraw.Draw(img)
    lines = ["HARBOUR CAFE", "", "Espresso        2.40", "Croissant       2.10", "Orange juice    3.50",
             "", "TOTAL           8.00 EUR", "Paid by card"]
    for i, line in enumerate(lines):
        d.text((30, 30 + i * 55), line, fill="black", font=font(30))
    img.save(OUT / "cafe-receipt.jpg", quality=90)


if __name__ == "__main__":
    slide()
    receipt()
