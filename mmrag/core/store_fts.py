"""The store's lexical side: FTS5 BM25 queries, scores of given records, document frequencies."""
from __future__ import annotations

import sqlite3
from typing import Iterator, Sequence

import numpy as np


def where_clause(modality: Sequence[str] | None, source_glob: str | None) -> tuple[str, list]:
    """SQL conditions on records `r`; "video" also selects the transcript lines of videos (text records)."""
    clauses, args = [], []
    if modality:
        clause = f"r.modality IN ({','.join('?' * len(modality))})"
        if "video" in modality and "text" not in modality:
            clause = f"({clause} OR (r.modality = 'text' AND json_extract(r.meta, '$.view_of') = 'video'))"
        clauses.append(clause)
        args += list(modality)
    if source_glob:
        clauses.append("r.source GLOB ?")
        args.append(source_glob)
    return (" AND " + " AND ".join(clauses)) if clauses else "", args


def _chunks(seq: list, n: int) -> Iterator[list]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


class FtsMixin:
    """FTS5 queries of the `Store` (BM25 as FTS5 computes it: k1 = 1.2, b = 0.75)."""

    db: sqlite3.Connection

    def bm25(self, query: str, k: int, modality: Sequence[str] | None = None,
             source_glob: str | None = None) -> list[tuple[int, float]]:
        """Top-k (id, score) by FTS5 BM25 (higher is better)."""
        if not query:
            return []
        where, args = where_clause(modality, source_glob)
        join = " JOIN records r ON r.id = fts.rowid" if where else ""
        sql = f"SELECT fts.rowid, -bm25(fts) FROM fts{join} WHERE fts MATCH ?{where} ORDER BY bm25(fts) LIMIT ?"
        return [(int(i), float(s)) for i, s in self.db.execute(sql, [query, *args, k])]

    def bm25_of(self, query: str, ids: Sequence[int]) -> dict[int, float]:
        """BM25 scores (higher is better) of the given records for an FTS5 query; unmatched ids are left out.
        The scores are the same as in `bm25` (they depend on the corpus, not on the ids asked for)."""
        out: dict[int, float] = {}
        if not query:
            return out
        # `+rowid`: the id test runs on each matched row. A bare `rowid IN (...)` is handed to FTS5 as one
        # lookup per id, and each lookup recounts every term's documents for bm25() (10x slower at 159k rows).
        for chunk in _chunks([int(i) for i in ids], 20_000):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT rowid, -bm25(fts) FROM fts WHERE fts MATCH ? AND +rowid IN ({marks})"
            out.update({int(i): float(x) for i, x in self.db.execute(sql, [query, *chunk])})
        return out

    def text_ids(self) -> np.ndarray:
        """Ids of the records that have text (the FTS rows), int64, sorted."""
        rows = self.db.execute("SELECT id FROM records WHERE text <> '' ORDER BY id").fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def lexical_rows(self, ids: Sequence[int]) -> tuple[list[int], list[str], list[list[str]]]:
        """(ids, texts, tags) of text records for a lexical index; tags: the modality, and "video" for a
        video's transcript lines (as `where_clause` selects them)."""
        out: tuple[list[int], list[str], list[list[str]]] = ([], [], [])
        for chunk in _chunks([int(i) for i in ids], 500):
            sql = (f"SELECT id, text, modality, json_extract(meta, '$.view_of') FROM records WHERE text <> ''"
                   f" AND id IN ({','.join('?' * len(chunk))}) ORDER BY id")
            for i, text, mod, view in self.db.execute(sql, chunk):
                out[0].append(int(i))
                out[1].append(text)
                out[2].append([mod, "video"] if view == "video" and mod != "video" else [mod])
        return out

    def fts_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM fts").fetchone()[0])

    def doc_freq(self, term: str) -> int:
        """Number of FTS rows matching one term."""
        return int(self.db.execute("SELECT COUNT(*) FROM fts WHERE fts MATCH ?", (f'"{term}"',)).fetchone()[0])
