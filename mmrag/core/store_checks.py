"""Checks of the SQLite store itself: its file header, its integrity, and the agreement of its tables
(records, FTS rows, vectors, sources). Used when a library is opened and by `mmrag doctor`."""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from ..errors import LibraryDamagedError

HEADER = b"SQLite format 3\x00"


def header_problem(path: Path) -> str | None:
    """What is wrong with an SQLite file's header (not SQLite, truncated), or None. Reads 100 bytes."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(100)
    if len(head) < 100 or not head.startswith(HEADER):
        return "not an SQLite database (its header is wrong)"
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    if head[24:28] == head[92:96] and pages and size < pages * page:  # the page count is valid: compare
        return f"truncated ({size} bytes; its header says {pages * page})"
    return None


def damaged(path: Path, why: object) -> LibraryDamagedError:
    return LibraryDamagedError(f"{path} is damaged: {why}. Run `mmrag doctor --library {path.parent} --repair`"
                               " (it keeps a copy of the damaged file and re-reads the sources it can)")


_CHECKS = {
    "records without an FTS row": "SELECT COUNT(*) FROM records r WHERE r.text <> ''"
                                  " AND NOT EXISTS (SELECT 1 FROM fts WHERE fts.rowid = r.id)",
    "FTS rows without a record": "SELECT COUNT(*) FROM fts WHERE rowid NOT IN (SELECT id FROM records)",
    "vectors without a record": "SELECT COUNT(*) FROM vectors v WHERE NOT EXISTS"
                                " (SELECT 1 FROM records r WHERE r.id = v.id)",
    "records of no ingested source": "SELECT COUNT(*) FROM records r WHERE NOT EXISTS (SELECT 1 FROM sources s"
                                     " WHERE s.path = r.source AND s.status = 'ok')",
    "sources whose record count is wrong": "SELECT COUNT(*) FROM sources s WHERE s.status = 'ok' AND s.n_records"
                                           " <> (SELECT COUNT(*) FROM records r WHERE r.source = s.path)",
}
_REPAIRS = {
    "records without an FTS row": ["INSERT INTO fts(rowid, text) SELECT r.id, r.text FROM records r WHERE r.text <> ''"
                                   " AND NOT EXISTS (SELECT 1 FROM fts WHERE fts.rowid = r.id)"],
    "FTS rows without a record": ["DELETE FROM fts WHERE rowid NOT IN (SELECT id FROM records)"],
    "vectors without a record": ["DELETE FROM vectors WHERE NOT EXISTS (SELECT 1 FROM records r"
                                 " WHERE r.id = vectors.id)"],
    "records of no ingested source": [
        "DELETE FROM fts WHERE rowid IN (SELECT r.id FROM records r WHERE NOT EXISTS (SELECT 1 FROM sources s"
        " WHERE s.path = r.source AND s.status = 'ok'))",
        "DELETE FROM vectors WHERE id IN (SELECT r.id FROM records r WHERE NOT EXISTS (SELECT 1 FROM sources s"
        " WHERE s.path = r.source AND s.status = 'ok'))",
        "DELETE FROM records WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.path = records.source"
        " AND s.status = 'ok')"],
    "sources whose record count is wrong": ["UPDATE sources SET n_records = (SELECT COUNT(*) FROM records r"
                                            " WHERE r.source = sources.path) WHERE status = 'ok'"],
}


def integrity(store: Any) -> list[str]:
    """SQLite's own integrity check: [] when the file is sound, else what it found (at most 20 lines)."""
    rows = [r[0] for r in store.db.execute("PRAGMA integrity_check(20)").fetchall()]
    return [] if rows == ["ok"] else rows


def agreement(store: Any) -> dict[str, int]:
    """How many rows break each rule tying the store's tables together ({rule: count}, 0 = fine)."""
    return {name: int(store.db.execute(sql).fetchone()[0]) for name, sql in _CHECKS.items()}


def repair_agreement(store: Any, broken: dict[str, int]) -> None:
    """Fix the broken rules in one transaction (orphans deleted, missing FTS rows added, counts reset)."""
    with store.transaction():
        for name, n in broken.items():
            for sql in _REPAIRS[name] if n else []:
                store.db.execute(sql)
        store.bump_generation()


def salvage_sources(path: Path, extensions: list[str]) -> list[str]:
    """The source paths that can still be read from a damaged store (best effort): its sources table if
    SQLite can still read it, else every existing file path with one of `extensions` found in its bytes
    (a truncated or scrambled file keeps most of its rows' text)."""
    found: list[str] = []
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for (p,) in con.execute("SELECT path FROM sources"):
                found.append(p)
        finally:
            con.close()
    except sqlite3.Error:
        pass
    if found:
        return found
    exts = b"|".join(re.escape(e.lstrip(".").encode()) for e in sorted(extensions, key=len, reverse=True))
    pattern = re.compile(rb"(?:/|[A-Za-z]:\\)[^\x00-\x1f\"{}<>|]{0,4000}?\.(?:" + exts + rb")(?![A-Za-z0-9])", re.I)
    seen: dict[str, None] = {}
    for part in (path, Path(f"{path}-wal")):
        data = part.read_bytes() if part.is_file() else b""
        for m in pattern.finditer(data):
            cand = m.group(0).decode("utf-8", errors="ignore")
            if cand not in seen and Path(cand).is_file():
                seen[cand] = None
    return list(seen)
