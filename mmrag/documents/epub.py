"""EPUB books (read with zipfile and the standard library: no extra dependency): one section per
chapter, in the spine's reading order, locator {"chapter": n}.

The package document (`META-INF/container.xml` names it) lists the book's files (manifest) and their
reading order (spine); every spine document with visible text is a chapter, numbered from 1 in that
order (the navigation document, the table of contents, is skipped). Chapter HTML is read whole with
the stdlib parser: a book's chapter has no navigation or footers to drop.
"""
from __future__ import annotations

import logging
import posixpath
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from urllib.parse import unquote

from ..core.readers import Document, IngestError, ReadContext, Section, register_reader
from .html import visible_text
from .readers import decode_text
from .zipped import open_zip

log = logging.getLogger(__name__)
_HTML_TYPES = {"application/xhtml+xml", "text/html", "application/xml", "text/xml"}


def _local(tag: str) -> str:
    """An XML tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _xml(zf: zipfile.ZipFile, name: str) -> ET.Element:
    """A parsed XML member of the book; IngestError when it is missing or malformed."""
    try:
        return ET.fromstring(zf.read(name))
    except (KeyError, ET.ParseError) as exc:
        raise IngestError(f"EPUB's {name} is missing or unreadable ({exc}); re-save the book") from exc


def _package_path(zf: zipfile.ZipFile) -> str:
    """Where the package document (.opf) is: as container.xml says, else the first .opf file."""
    if "META-INF/container.xml" in zf.namelist():
        for el in _xml(zf, "META-INF/container.xml").iter():
            if _local(el.tag) == "rootfile" and el.get("full-path"):
                return unquote(el.get("full-path", ""))
    opfs = [n for n in zf.namelist() if n.lower().endswith(".opf")]
    if not opfs:
        raise IngestError("not an EPUB book (no package document: META-INF/container.xml and .opf missing)")
    return opfs[0]


def spine_documents(zf: zipfile.ZipFile) -> list[str]:
    """Paths inside the zip of the spine's HTML documents, in reading order (navigation left out)."""
    opf = _package_path(zf)
    root = _xml(zf, opf)
    base = posixpath.dirname(opf)
    manifest: dict[str, tuple[str, str, str]] = {}
    for el in root.iter():
        if _local(el.tag) == "item" and el.get("id") and el.get("href"):
            path = posixpath.normpath(posixpath.join(base, unquote(el.get("href", "").split("#")[0])))
            manifest[el.get("id", "")] = (path, el.get("media-type", ""), el.get("properties", ""))
    docs = []
    for el in root.iter():
        if _local(el.tag) != "itemref" or el.get("idref") not in manifest:
            continue
        path, media_type, props = manifest[el.get("idref", "")]
        if "nav" not in props.split() and (media_type in _HTML_TYPES or path.endswith((".xhtml", ".html", ".htm"))):
            docs.append(path)
    return list(dict.fromkeys(docs))


def _chapter_text(zf: zipfile.ZipFile, name: str) -> str:
    """A chapter's visible text ('' when the file is missing, empty or not text, e.g. encrypted)."""
    try:
        raw, _ = decode_text(zf.read(name))
    except (KeyError, IngestError, zipfile.BadZipFile, OSError) as exc:
        log.debug("EPUB chapter %s skipped: %s", name, exc)
        return ""
    return visible_text(raw, skip=frozenset({"head"}))


@register_reader((".epub",), "text")
def read_epub(path: Path, data: bytes, ctx: ReadContext) -> Document:
    """An EPUB book: one section per chapter with text, locator {"chapter": n}."""
    with open_zip(data, ctx, ".epub") as zf:
        docs = spine_documents(zf)
        texts = [t for name in docs if (t := _chapter_text(zf, name))]
        encrypted = "META-INF/encryption.xml" in zf.namelist()
    if not texts:
        why = " (its files are encrypted: DRM)" if encrypted else ""
        raise IngestError(f"EPUB has no readable text in its {len(docs)} spine documents{why}")
    return Document("text", [Section(text, {"chapter": n}) for n, text in enumerate(texts, 1)])
