"""Documents: plain text, Markdown, HTML (main content), PDF (text, OCR of scanned pages, page images),
Word, PowerPoint and EPUB files as text sections (chunked by the ingest pipeline)."""
from .epub import read_epub
from .html import html_text, main_text, visible_text
from .office import read_docx, read_pptx
from .pdf import page_texts, read_pdf
from .readers import decode_text, read_html, read_plain

__all__ = ["decode_text", "html_text", "main_text", "page_texts", "read_docx", "read_epub", "read_html", "read_pdf",
           "read_plain", "read_pptx", "visible_text"]
