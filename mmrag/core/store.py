"""SQLite metadata store: sources, records, vectors and the FTS5 lexical index, in one file.

Every write happens in a transaction, so a crash leaves the store as of the last commit.
A `generation` counter bumps on each commit that changes records; vector indexes saved to
disk remember the generation they reflect, so a stale index is detected and repaired on open.
"""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..records import Record
from .store_checks import damaged, header_problem
from .store_fts import FtsMixin
from .store_fts import where_clause as _where

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS sources(
  path TEXT PRIMARY KEY, sha256 TEXT, size INTEGER, mtime REAL, status TEXT NOT NULL,
  error TEXT, kind TEXT, n_records INTEGER DEFAULT 0, updated REAL);
CREATE INDEX IF NOT EXISTS sources_sha ON sources(sha256);
CREATE TABLE IF NOT EXISTS records(
  id INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT UNIQUE NOT NULL, modality TEXT NOT NULL,
  source TEXT NOT NULL, locator TEXT NOT NULL, text TEXT NOT NULL, meta TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_source ON records(source);
CREATE INDEX IF NOT EXISTS records_modality ON records(modality);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(text, tokenize='porter unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS vectors(space TEXT NOT NULL, id INTEGER NOT NULL, vec BLOB NOT NULL,
  PRIMARY KEY(space, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feedback(query TEXT NOT NULL, id INTEGER NOT NULL, useful INTEGER NOT NULL,
  at REAL NOT NULL, PRIMARY KEY(query, id)) WITHOUT ROWID;
"""

class Store(FtsMixin):
    """The library's metadata store (one SQLite file, WAL mode)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if problem := header_problem(self.path):
            raise damaged(self.path, problem)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
            self.db.execute("SELECT COUNT(*) FROM sources").fetchone()
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, exc) from exc
        self._depth = 0

    def close(self) -> None:
        self.db.close()

    def snapshot(self, path: str | Path) -> None:
        """A consistent copy of the whole store (WAL included) at `path`, by SQLite's backup API."""
        with closing(sqlite3.connect(path)) as dst:
            self.db.backup(dst)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error (re-entrant)."""
        if self._depth:
            self._depth += 1
            try:
                yield self.db
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back already (a full disk does)
                self.db.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    # -- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        self.db.execute("DELETE FROM meta WHERE key=?", (key,))

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation", "0") or 0)

    def bump_generation(self) -> None:
        self.set_meta("generation", str(self.generation + 1))

    # -- sources ----------------------------------------------------------------------------
    def get_source(self, path: str) -> dict | None:
        cur = self.db.execute("SELECT * FROM sources WHERE path=?", (path,))
        row = cur.fetchone()
        return dict(zip([c[0] for c in cur.description], row)) if row else None

    def find_by_sha(self, sha256: str, exclude: str) -> str | None:
        row = self.db.execute("SELECT path FROM sources WHERE sha256=? AND status='ok' AND path<>?",
                              (sha256, exclude)).fetchone()
        return row[0] if row else None

    def put_source(self, path: str, *, status: str, sha256: str | None = None, size: int | None = None,
                   mtime: float | None = None, error: str | None = None, kind: str | None = None,
                   n_records: int = 0) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO sources(path, sha256, size, mtime, status, error, kind, n_records, updated)"
            " VALUES(?,?,?,?,?,?,?,?,?)",
            (path, sha256, size, mtime, status, error, kind, n_records, time.time()))

    def sources(self, status: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM sources", ()
        if status:
            sql, args = sql + " WHERE status=?", (status,)
        cur = self.db.execute(sql + " ORDER BY path", args)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    def delete_source(self, path: str) -> list[int]:
        """Delete a source with its records, FTS rows and vectors; return the record ids removed."""
        with self.transaction():
            ids = self.delete_records_of(path)
            self.db.execute("DELETE FROM sources WHERE path=?", (path,))
        return ids

    def move_sources(self, old: str, new: str) -> int:
        """Sources (and their records) under the folder `old` now live under `new`; in a transaction."""
        n = len(old) + 1
        cur = self.db.execute("UPDATE OR IGNORE sources SET path = ? || substr(path, ?) WHERE substr(path, 1, ?) = ?",
                              (new, n, len(old), old))
        self.db.execute("UPDATE records SET source = ? || substr(source, ?) WHERE substr(source, 1, ?) = ?",
                        (new, n, len(old), old))
        return cur.rowcount

    # -- records ----------------------------------------------------------------------------
    def delete_records_of(self, source: str) -> list[int]:
        ids = [r[0] for r in self.db.execute("SELECT id FROM records WHERE source=?", (source,))]
        if ids:
            with self.transaction():
                for chunk in _chunks(ids, 500):
                    marks = ",".join("?" * len(chunk))
                    self.db.execute(f"DELETE FROM fts WHERE rowid IN ({marks})", chunk)
                    self.db.execute(f"DELETE FROM vectors WHERE id IN ({marks})", chunk)
                    self.db.execute(f"DELETE FROM records WHERE id IN ({marks})", chunk)
                self.bump_generation()
        return ids

    def add_records(self, records: Sequence[Record], vectors: dict[str, tuple[Sequence[int], np.ndarray]]
                    ) -> list[int]:
        """Insert records (ids assigned here) and their vectors per space: {space: (row idx, array)}."""
        with self.transaction():
            for rec in records:
                cur = self.db.execute(
                    "INSERT INTO records(uid, modality, source, locator, text, meta) VALUES(?,?,?,?,?,?)",
                    (rec.uid, rec.modality, rec.source, json.dumps(rec.locator), rec.text, json.dumps(rec.meta)))
                rec.id = int(cur.lastrowid)
                if rec.text:
                    self.db.execute("INSERT INTO fts(rowid, text) VALUES(?, ?)", (rec.id, rec.text))
            for space, (rows, arr) in vectors.items():
                self.put_vectors(space, [records[i].id for i in rows], arr)
            self.bump_generation()
        return [int(r.id) for r in records]

    def put_vectors(self, space: str, ids: Sequence[int], arr: np.ndarray) -> None:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        self.db.executemany("INSERT OR REPLACE INTO vectors(space, id, vec) VALUES(?,?,?)",
                            [(space, int(i), arr[j].tobytes()) for j, i in enumerate(ids)])

    def get_records(self, ids: Iterable[int]) -> dict[int, Record]:
        out: dict[int, Record] = {}
        for chunk in _chunks([int(i) for i in ids], 500):
            rows = self.db.execute(
                f"SELECT id, uid, modality, source, locator, text, meta FROM records WHERE id IN"
                f" ({','.join('?' * len(chunk))})", chunk)
            for i, uid, mod, src, loc, text, meta in rows:
                out[i] = Record(modality=mod, source=src, locator=json.loads(loc), text=text,
                                meta=json.loads(meta), uid=uid, id=i)
        return out

    def get_vectors(self, space: str, ids: Sequence[int], dim: int) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for chunk in _chunks([int(i) for i in ids], 500):
            rows = self.db.execute(f"SELECT id, vec FROM vectors WHERE space=? AND id IN"
                                   f" ({','.join('?' * len(chunk))})", [space, *chunk])
            out.update({i: np.frombuffer(v, dtype=np.float32, count=dim) for i, v in rows})
        return out

    def vector_ids(self, space: str) -> np.ndarray:
        rows = self.db.execute("SELECT id FROM vectors WHERE space=?", (space,)).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def vector_dim(self, space: str) -> int | None:
        """Size of the space's stored vectors (None when it has none yet)."""
        row = self.db.execute("SELECT length(vec) FROM vectors WHERE space=? LIMIT 1", (space,)).fetchone()
        return row[0] // 4 if row else None

    def add_feedback(self, query: str, record_id: int, useful: bool) -> None:
        """Remember that a hit was useful (or wrong) for a query (the last judgment counts)."""
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO feedback(query, id, useful, at) VALUES(?,?,?,?)",
                            (query, int(record_id), int(bool(useful)), time.time()))

    def feedback(self) -> list[tuple[str, int, bool]]:
        """(query, record id, useful) for every judgment whose record still exists."""
        rows = self.db.execute("SELECT f.query, f.id, f.useful FROM feedback f JOIN records r ON r.id = f.id"
                               " ORDER BY f.at")
        return [(q, int(i), bool(u)) for q, i, u in rows]

    def move_vectors(self, src: str, dst: str) -> None:
        """Vectors of space `src` become those of `dst` (whose own are dropped); call in a transaction."""
        self.db.execute("DELETE FROM vectors WHERE space=?", (dst,))
        self.db.execute("UPDATE vectors SET space=? WHERE space=?", (dst, src))

    def record_ids_of(self, source: str) -> list[int]:
        """Ids of every record of one source, in insertion (reading) order."""
        return [i for (i,) in self.db.execute("SELECT id FROM records WHERE source=? ORDER BY id", (source,))]

    def view_texts(self, source: str, view_of: str) -> list[str]:
        """Texts of the text records that are a view of the source's `view_of` content (OCR of an image...)."""
        rows = self.db.execute("SELECT text FROM records WHERE source = ? AND modality = 'text'"
                               " AND json_extract(meta, '$.view_of') = ? ORDER BY id", (source, view_of))
        return [t for (t,) in rows]

    def source_paths(self, kind: str | None = None, status: str | None = None) -> list[str]:
        """Paths of the sources of one kind and/or status, sorted."""
        sql, args = "SELECT path FROM sources WHERE 1=1", []
        if kind is not None:
            sql, args = sql + " AND kind=?", [*args, kind]
        if status is not None:
            sql, args = sql + " AND status=?", [*args, status]
        return [p for (p,) in self.db.execute(sql + " ORDER BY path", args)]

    def referenced(self, locator_key: str, modality: str) -> set[str]:
        """Distinct values of `locator[locator_key]` over the records of one modality (e.g. table ids)."""
        rows = self.db.execute("SELECT DISTINCT json_extract(locator, ?) FROM records WHERE modality = ?",
                               (f"$.{locator_key}", modality))
        return {v for (v,) in rows if v is not None}

    def sources_referencing(self, locator_key: str, values: set[str], modality: str) -> dict[str, str]:
        """{source: one of `values`} for records of `modality` whose `locator[locator_key]` is in `values`."""
        out: dict[str, str] = {}
        for chunk in _chunks(sorted(values), 500):
            rows = self.db.execute(f"SELECT source, json_extract(locator, ?) FROM records WHERE modality = ? AND"
                                   f" json_extract(locator, ?) IN ({','.join('?' * len(chunk))})",
                                   [f"$.{locator_key}", modality, f"$.{locator_key}", *chunk])
            out.update({src: v for src, v in rows})
        return out

    def thumbnails(self) -> dict[str, str]:
        """{thumbnail path: source} over every record that has a thumbnail."""
        rows = self.db.execute("SELECT json_extract(meta, '$.thumbnail'), source FROM records"
                               " WHERE json_extract(meta, '$.thumbnail') IS NOT NULL")
        return {t: src for t, src in rows}

    def meta_values(self, meta_key: str) -> set[str]:
        """Distinct values of `meta[meta_key]` over all records (e.g. thumbnail paths)."""
        path = f"$.{meta_key}"
        rows = self.db.execute("SELECT DISTINCT json_extract(meta, ?) FROM records WHERE json_extract(meta, ?)"
                               " IS NOT NULL", (path, path))
        return {v for (v,) in rows}

    def filter_ids(self, modality: Sequence[str] | None = None, source_glob: str | None = None) -> np.ndarray:
        where, args = _where(modality, source_glob)
        rows = self.db.execute(f"SELECT r.id FROM records r WHERE 1=1{where}", args).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def count_records(self, modality: Sequence[str]) -> int:
        marks = ",".join("?" * len(modality))
        return int(self.db.execute(f"SELECT COUNT(*) FROM records WHERE modality IN ({marks})",
                                   list(modality)).fetchone()[0])

    def counts(self) -> dict:
        mods = dict(self.db.execute("SELECT modality, COUNT(*) FROM records GROUP BY modality").fetchall())
        spaces = dict(self.db.execute("SELECT space, COUNT(*) FROM vectors GROUP BY space").fetchall())
        status = dict(self.db.execute("SELECT status, COUNT(*) FROM sources GROUP BY status").fetchall())
        return {"records": mods, "vectors": spaces, "sources": status}


def _chunks(seq: list, n: int) -> Iterator[list]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]
