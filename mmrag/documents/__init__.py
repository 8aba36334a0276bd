"""Documents: plain text, Markdown, HTML and PDF files as text sections (chunked by the ingest pipeline)."""
from .readers import decode_text, read_html, read_pdf, read_plain

__all__ = ["decode_text", "read_html", "read_pdf", "read_plain"]
