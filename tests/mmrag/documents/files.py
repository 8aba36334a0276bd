"""Real document files built in the tests: Word and PowerPoint (python-docx, python-pptx), EPUB (by hand,
as the EPUB 3 spec lays it out), PDFs with a text layer (written by hand) and scanned ones (PIL)."""
from __future__ import annotations

import io
import os
import zipfile

from PIL import Image, ImageDraw, ImageFont


def font(size: int) -> ImageFont.FreeTypeFont:
    path = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    return ImageFont.truetype(path, size) if os.path.exists(path) else ImageFont.load_default(size=size)


def docx_file(path):
    import docx
    doc = docx.Document()
    doc.add_heading("Annual Zebra Census", level=1)
    doc.add_paragraph("The herd grew this year.")
    table = doc.add_table(rows=2, cols=3)
    for r, row in enumerate([["Region", "Count", "Change"], ["Serengeti", "1200", "+5%"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    merged = doc.add_table(rows=1, cols=2)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "Merged cell once"
    doc.add_heading("Methods", level=2)
    doc.add_paragraph("Counted from the air.")
    doc.save(path)
    return path


def pptx_file(path):
    from pptx import Presentation
    from pptx.util import Inches
    prs = Presentation()
    s1 = prs.slides.add_slide(prs.slide_layouts[1])
    s1.shapes.title.text = "Quarterly results"
    s1.placeholders[1].text = "Revenue grew 12%"
    s1.notes_slide.notes_text_frame.text = "Mention the zebra deal"
    prs.slides.add_slide(prs.slide_layouts[6])  # blank: no text, skipped
    s3 = prs.slides.add_slide(prs.slide_layouts[6])
    low = s3.shapes.add_textbox(Inches(1), Inches(5), Inches(4), Inches(1))
    low.text_frame.text = "Bottom box"
    high = s3.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1))
    high.text_frame.text = "Top box"
    rows = s3.shapes.add_table(2, 2, Inches(1), Inches(3), Inches(4), Inches(1)).table
    for r, row in enumerate([["City", "Sales"], ["Oslo", "42"]]):
        for c, value in enumerate(row):
            rows.cell(r, c).text = value
    prs.save(path)
    return path


def _xhtml(title: str, body: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
            f"<head><title>{title}</title></head><body>{body}</body></html>")


def epub_file(path, chapters: list[tuple[str, str]]):
    """An EPUB 3 book: package document under OEBPS/, a navigation document, chapters in spine order."""
    items = "".join(f'<item id="c{i}" href="text/ch{i}.xhtml" media-type="application/xhtml+xml"/>'
                    for i in range(len(chapters)))
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    opf = ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
           '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Book</dc:title></metadata>'
           '<manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
           f'<item id="css" href="style.css" media-type="text/css"/>{items}</manifest>'
           f'<spine><itemref idref="nav"/>{spine}</spine></package>')
    container = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:'
                 'container"><rootfiles><rootfile full-path="OEBPS/content.opf" '
                 'media-type="application/oebps-package+xml"/></rootfiles></container>')
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/container.xml", container)
        zf.writestr("OEBPS/content.opf", opf)
        zf.writestr("OEBPS/style.css", "body { margin: 0 }")
        zf.writestr("OEBPS/nav.xhtml", _xhtml("Contents", "<nav><ol><li>Table of contents entry</li></ol></nav>"))
        for i, (title, body) in enumerate(chapters):
            zf.writestr(f"OEBPS/text/ch{i}.xhtml", _xhtml(title, body))
    return path


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def text_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with a real text layer (Helvetica), one list of lines per page, written by hand."""
    n = len(pages)
    objs = ["<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [" + " ".join(f"{4 + 2 * i} 0 R" for i in range(n)) + f"] /Count {n} >>",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, lines in enumerate(pages):
        body = " T* ".join(f"{_pdf_string(line)} Tj" for line in lines)
        stream = f"BT /F1 14 Tf 72 720 Td 18 TL {body} ET"
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * i} 0 R"
                    " /Resources << /Font << /F1 3 0 R >> >> >>")
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for i, obj in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n{obj}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    out.write("".join(f"{o:010d} 00000 n \n" for o in offsets).encode())
    out.write(f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def page_image(words: list[str], size=(850, 1100)) -> Image.Image:
    """A page as a scanner sees it: big black words on white."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(words):
        draw.text((80, 120 + 110 * i), line, fill="black", font=font(56))
    return img


def scanned_pdf(pages: list[Image.Image]) -> bytes:
    """A PDF whose pages are only images (no text layer), as PIL writes them."""
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", resolution=100.0, save_all=True, append_images=pages[1:])
    return buf.getvalue()


def joined_pdf(*parts: bytes) -> bytes:
    """The pages of several PDFs in one (pypdf)."""
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter()
    for data in parts:
        writer.append(PdfReader(io.BytesIO(data)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
