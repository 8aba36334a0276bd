"""A hostile folder: good files among broken, huge, strange and dangerous ones.

`build(folder, outside)` writes every case and returns them: (relative name, expected status, a regex the
reason must match, or "" for ok). Good files hold a unique word each, so a test can check that every
readable file is searchable. `outside` is a folder beside the corpus (symlinks point there).
"""
from __future__ import annotations

import io
import json
import os
import socket
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

GOOD_WORDS = {"good.txt": "heronquill", "good.md": "lanternmoth", "good.csv": "kestrelton", "good.html": "fjordpine",
              "good.png": "OTTERGLASS", "utf16.txt": "marigoldrun", "nested/deep/deeper/leaf.txt": "tundrabell",
              "folder.txt/inner.txt": "copperwren", "names/new\nline.txt": "velvetcrow",
              "names/sp ce 'q\".txt": "quartzfin", "good.xlsx": "saffronbay", "good.jsonl": "emberlake",
              "longfield.csv": "basaltorb", "longline.jsonl": "cinderfox", "hugecell.xlsx": "thistlemoor"}


@dataclass
class Case:
    name: str
    status: str  # ok | failed | skipped
    reason: str = ""  # regex the file's reason must match (failed/skipped)
    word: str = ""  # a word only this file holds (searchable when ok)


def _png(text: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont
    img = Image.new("RGB", (520, 120), "white")
    ImageDraw.Draw(img).text((10, 30), text, fill="black", font=ImageFont.load_default(size=48))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _png_bomb(side: int = 100_000) -> bytes:
    """A valid PNG header claiming side x side pixels, with a tiny IDAT."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


def _xlsx(path: Path, rows: list[list[object]]) -> None:
    from openpyxl import Workbook
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)


def _xlsx_bomb(path: Path, mb: int = 2100) -> None:
    """A zip whose one entry expands to `mb` MB of zeros (about 2 MB on disk)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            block = b"\0" * (8 << 20)
            for _ in range(mb // 8 + 1):
                f.write(block)


def _video(path: Path) -> None:
    from tests.mmrag.video import media
    media.write_video(path, media.scenes(2, 1.0, 10.0), fps=10.0)


def _write(folder: Path, name: str, data: bytes | str | Callable[[Path], None]) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if callable(data):
        data(path)
    elif isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def _good(folder: Path) -> list[Case]:
    w = GOOD_WORDS
    files: dict[str, bytes | str | Callable[[Path], None]] = {
        "good.txt": f"The {w['good.txt']} nests by the quiet lake every spring.",
        "good.md": f"# Notes\n\nThe {w['good.md']} flies at night.",
        "good.csv": f"bird,count\n{w['good.csv']},4\nsparrow,9\n",
        "good.html": f"<html><body><nav>menu</nav><p>The {w['good.html']} grows on the hill.</p></body></html>",
        "good.png": _png(w["good.png"]),
        "utf16.txt": f"The {w['utf16.txt']} opens at dawn.".encode("utf-16"),
        "nested/deep/deeper/leaf.txt": f"Deep down lives the {w['nested/deep/deeper/leaf.txt']}.",
        "folder.txt/inner.txt": f"A folder named like a file holds the {w['folder.txt/inner.txt']}.",
        "names/new\nline.txt": f"A name with a newline: {w['names/new' + chr(10) + 'line.txt']}.",
        "names/sp ce 'q\".txt": f"Quotes and spaces: {w['names/sp ce ' + chr(39) + 'q' + chr(34) + '.txt']}.",
        "good.xlsx": lambda p: _xlsx(p, [["island", "ferries"], [w["good.xlsx"], 3], ["skye", 5]]),
        "good.jsonl": "\n".join(json.dumps({"lake": n, "depth": d}) for n, d in ((w["good.jsonl"], 40), ("ness", 230))),
        "longfield.csv": f"id,body\n1,{w['longfield.csv']}\n2,{'x' * 200_000}\n",
        "longline.jsonl": json.dumps({"k": "y" * 12_000_000}) + "\n" + json.dumps({"k": w["longline.jsonl"]}) + "\n",
        "hugecell.xlsx": lambda p: _xlsx(p, [["name", "text"], [w["hugecell.xlsx"], "z" * 1_000_000]]),
        "clip.mp4": _video,
        "nul.csv": b"a,b\n1,\x002\n",  # a NUL byte inside a field: Python's csv reads it
    }
    for name, data in files.items():
        _write(folder, name, data)
    return [Case(n, "ok", word=GOOD_WORDS.get(n, "")) for n in files]


def _broken(folder: Path) -> list[Case]:
    cases = {
        "corrupt.xlsx": (b"PK\x03\x04" + os.urandom(4000), "not a valid Excel file"),
        "bomb.xlsx": (_xlsx_bomb, "expands to .* MB uncompressed"),
        "corrupt.parquet": (b"PAR1" + os.urandom(3000) + b"PAR1", "not a readable Parquet"),
        "garbage.jsonl": (os.urandom(5000), "no JSON object|unreadable table"),
        "bomb.png": (_png_bomb(), "over max_image_pixels"),
        "truncated.jpg": (_png("HALF")[:300], "corrupt or truncated|not an image"),
        "notimage.jpg": (b"just some words, not a picture " * 20, "not an image"),
        "empty.txt": (b"", "empty file"),
        "empty.csv": (b"", "empty table file"),
        "binary.txt": (bytes(range(256)) * 40, "binary content"),
        "corrupt.pdf": (b"%PDF-1.4\n" + os.urandom(2000), "unreadable PDF|no extractable text"),
        "scriptonly.html": ("<html><script>alert(1)</script></html>", "no visible text"),
        "garbage.mp4": (os.urandom(20000), "not a video"),
        "stuck.stuck": (b"hang", "took longer than"),
        "hog.hog": (b"grow", "more than .* MB of memory"),
        "crash.crash": (b"boom", "crashed"),
    }
    for name, (data, _) in cases.items():
        _write(folder, name, data)
    with open(folder / "huge.txt", "wb") as fh:  # sparse: 25 MB on paper, nothing on disk
        fh.truncate(25_000_000)
    out = [Case(n, "failed", why) for n, (_, why) in cases.items()]
    return out + [Case("huge.txt", "failed", "file too large")]


def _strange(folder: Path, outside: Path) -> list[Case]:
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.txt").write_text("The zebrawhisper password is hunter2.")
    os.symlink("loop.txt", folder / "loop.txt")
    os.symlink(outside / "secret.txt", folder / "escape.txt")
    os.symlink("/dev/zero", folder / "zero.txt")
    os.symlink(outside, folder / "linkdir")
    os.symlink(folder / "missing-target.txt", folder / "dangling.txt")
    os.mkfifo(folder / "pipe.txt")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "sock.txt"))
    sock.close()
    (folder / "notes.docx").write_bytes(b"PK\x03\x04 not really")
    (folder / "README").write_text("no extension")
    return [Case("loop.txt", "skipped", "symlink loop"), Case("escape.txt", "skipped", "outside the folders"),
            Case("zero.txt", "skipped", "outside the folders|character device"),
            Case("linkdir", "skipped", "symlink to the folder"), Case("dangling.txt", "skipped", "broken symlink"),
            Case("pipe.txt", "skipped", "named pipe"), Case("sock.txt", "skipped", "socket"),
            Case("notes.docx", "failed", r"not a valid \.docx"), Case("README", "skipped", "unsupported file type")]


def build(folder: Path, outside: Path) -> list[Case]:
    """Write the hostile corpus into `folder`; returns every case with what ingest must do with it."""
    folder.mkdir(parents=True, exist_ok=True)
    return _good(folder) + _broken(folder) + _strange(folder, outside)
