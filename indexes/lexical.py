"""A BM25 index with top-k pruning (tantivy): int64 ids, texts and tags in; ids and scores out.

Why beside SQLite FTS5: FTS5's `bm25()` scores every row that holds any term of an OR query, so a query
with one common word reads a large part of a big index. tantivy skips blocks of postings that cannot
reach the current top k (block-max WAND), so its time follows k, not the matches.

BM25 as FTS5 computes it (k1 = 1.2, b = 0.75), with idf(t) = ln(1 + (N - n_t + 0.5) / (n_t + 0.5)).
Text is split on non-alphanumerics, lower-cased, ASCII-folded and stemmed (Snowball English); tags (a
record's modality) are kept as they are, for filters. Never imports mmrag.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ._io import atomic_write

TOKENIZER = "mmrag_en"
MAX_TOKEN = 40  # longer tokens (base64, hashes) are dropped, as FTS5's would rarely match anyway
_BATCH = 20_000


def tantivy_available() -> bool:
    try:
        import tantivy  # noqa: F401
    except ImportError:
        return False
    return True


def _analyzer() -> Any:
    import tantivy as tv
    return (tv.TextAnalyzerBuilder(tv.Tokenizer.simple()).filter(tv.Filter.remove_long(MAX_TOKEN))
            .filter(tv.Filter.lowercase()).filter(tv.Filter.ascii_fold()).filter(tv.Filter.stemmer("english"))
            .build())


def _schema() -> Any:
    import tantivy as tv
    sb = tv.SchemaBuilder()
    sb.add_integer_field("id", fast=True, indexed=True)
    sb.add_text_field("text", tokenizer_name=TOKENIZER, index_option="freq")
    sb.add_text_field("tags", tokenizer_name="raw", index_option="basic")
    return sb.build()


class LexicalIndex:
    """A tantivy index in `directory`; one writer at a time (tantivy locks the folder while one is open).

    `meta` (a JSON object, for example the store generation the index reflects) is saved by `commit`."""

    def __init__(self, directory: Path) -> None:
        import tantivy as tv
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._tv = tv
        self._schema = _schema()
        self._index = tv.Index(self._schema, path=str(self.directory), reuse=True)
        self._analyzer = _analyzer()
        self._index.register_tokenizer(TOKENIZER, self._analyzer)
        self._writer: Any = None
        self.meta: dict[str, Any] = self._read_meta()

    # -- reading --------------------------------------------------------------------------------
    def _read_meta(self) -> dict[str, Any]:
        path = self.directory / "mmrag-meta.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def refresh(self) -> None:
        """See the last commit, from this process or another."""
        self._index.reload()
        self.meta = self._read_meta()

    def analyze(self, text: str) -> list[str]:
        """The index's tokens for `text` (what a query must use)."""
        return self._analyzer.analyze(text)

    @property
    def ntotal(self) -> int:
        return int(self._index.searcher().num_docs)

    def doc_freqs(self, tokens: Sequence[str]) -> dict[str, int]:
        s = self._index.searcher()
        return {t: int(s.doc_freq("text", t)) for t in tokens}

    def _text_query(self, tokens: Sequence[str]) -> Any:
        tv = self._tv
        return tv.Query.boolean_query([(tv.Occur.Should, tv.Query.term_query(self._schema, "text", t))
                                       for t in dict.fromkeys(tokens)])

    def search(self, tokens: Sequence[str], k: int, tags: Sequence[str] | None = None) -> list[tuple[int, float]]:
        """Top-k (id, BM25) for documents holding any of `tokens`; with `tags`, only documents with one of them."""
        if not tokens or k <= 0:
            return []
        tv = self._tv
        query = self._text_query(tokens)
        if tags:
            tagq = tv.Query.boost_query(tv.Query.term_set_query(self._schema, "tags", list(tags)), 0.0)
            query = tv.Query.boolean_query([(tv.Occur.Must, tagq), (tv.Occur.Must, query)])
        s = self._index.searcher()
        hits = s.search(query, k, count=False).hits
        ids = s.fast_field_values("id", [a for _, a in hits])
        return [(int(i), float(x)) for i, (x, _) in zip(ids, hits)]

    def scores_of(self, tokens: Sequence[str], ids: Sequence[int]) -> dict[int, float]:
        """BM25 of the given documents (the same scores `search` gives them); unmatched ids are left out."""
        if not tokens or not len(ids):
            return {}
        tv, out = self._tv, {}
        s, text = self._index.searcher(), self._text_query(tokens)
        for start in range(0, len(ids), 1024):  # one term lookup per id (a term set scans the id column)
            chunk = [int(i) for i in ids[start:start + 1024]]
            idq = tv.Query.boolean_query([(tv.Occur.Should, tv.Query.term_query(self._schema, "id", i))
                                          for i in chunk])
            query = tv.Query.boolean_query([(tv.Occur.Must, tv.Query.boost_query(idq, 0.0)),
                                            (tv.Occur.Must, text)])
            hits = s.search(query, len(chunk), count=False).hits
            got = s.fast_field_values("id", [a for _, a in hits])
            out.update({int(i): float(x) for i, (x, _) in zip(got, hits)})
        return out

    def ids(self) -> np.ndarray:
        """Every indexed id, int64, sorted."""
        s = self._index.searcher()
        n = int(s.num_docs)
        if not n:
            return np.zeros(0, dtype=np.int64)
        hits = s.search(self._tv.Query.all_query(), n, count=False).hits
        return np.sort(np.array(s.fast_field_values("id", [a for _, a in hits]), dtype=np.int64))

    # -- writing --------------------------------------------------------------------------------
    def _w(self) -> Any:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)
        return self._writer

    def add(self, ids: Sequence[int], texts: Sequence[str], tags: Sequence[Sequence[str]]) -> None:
        """Add documents (not committed until `commit`)."""
        w = self._w()
        for i, text, tg in zip(ids, texts, tags):
            doc = self._tv.Document()
            doc.add_integer("id", int(i))
            doc.add_text("text", text)
            for t in tg:
                doc.add_text("tags", t)
            w.add_document(doc)

    def remove(self, ids: Iterable[int]) -> None:
        """Remove documents by id (not committed until `commit`)."""
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start:start + _BATCH]
            self._w().delete_documents_by_query(self._tv.Query.term_set_query(self._schema, "id", chunk))

    def commit(self, meta: dict[str, Any] | None = None) -> None:
        """Make the changes durable and visible, then save `meta` (after the data: a crash in between leaves
        the old meta, which only makes the next check redo work)."""
        if self._writer is not None:
            self._writer.commit()
        if meta is not None:
            self.meta = dict(meta)
        atomic_write(self.directory / "mmrag-meta.json", lambda f: f.write(json.dumps(self.meta).encode()))
        self._index.reload()

    def close(self) -> None:
        """Let merges finish and release the writer's lock on the folder."""
        if self._writer is not None:
            self._writer.wait_merging_threads()  # consumes the writer
            self._writer = None

    def rollback(self) -> None:
        """Drop changes not committed, releasing the writer."""
        if self._writer is not None:
            self._writer.rollback()
            self._writer = None


def remove_index(directory: Path) -> None:
    """Delete an index folder (a damaged one, before a rebuild)."""
    if Path(directory).exists():
        shutil.rmtree(directory)
