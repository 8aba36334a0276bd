"""What the model is shown about a table: typed columns with example values and the cells that
match the question's words (TableRAG-style cell retrieval), plus a raw-text view for direct reading."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from ..core.text import TABLE_STOPWORDS
from .db import TableDB, TableInfo, qident

_WORD = re.compile(r"[a-z0-9]+")
MAX_CELL_CHARS = 60
TOTAL_LABEL = re.compile(r"^(grand |overall |sub)?totals?:?$|^all$|^sum$", re.I)


def words(text: str) -> list[str]:
    """Lowercase word tokens, with a trailing plural 's' dropped."""
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _WORD.findall(text.lower())]


def sql_literal(v: Any) -> str:
    """A value as it would be written in SQL ('text', 12, DATE '2004-01-02')."""
    if v is None:
        return "NULL"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(int(v)) if float(v).is_integer() else str(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return f"'{v.isoformat()}'"
    s = str(v)
    s = s if len(s) <= MAX_CELL_CHARS else s[:MAX_CELL_CHARS] + "…"
    return "'" + s.replace("'", "''") + "'"


@dataclass
class TableView:
    """A table fetched whole (small tables) for prompting, cell matching and raw-text answers."""

    info: TableInfo
    columns: list[str]
    typed: list[tuple[Any, ...]]
    raw: list[tuple[Any, ...]]
    raw_of: dict[str, dict[Any, str]] = field(default_factory=dict)  # column -> typed value -> raw text

    @classmethod
    def load(cls, db: TableDB, table_id: str, max_rows: int = 5000) -> "TableView":
        info = db.info(table_id)
        typed = db.query(f"SELECT * FROM {table_id} ORDER BY rowid", max_rows=max_rows)
        raw = db.query(f"SELECT * FROM {info.raw_table} ORDER BY rowid", max_rows=max_rows)
        view = cls(info, typed.columns, typed.rows, raw.rows)
        for j, c in enumerate(info.columns):
            if c.kind != "text":
                view.raw_of[c.name] = {}
                for t, r in zip(view.typed, view.raw):
                    view.raw_of[c.name].setdefault(t[j], r[j])
        return view

    def examples(self, j: int, k: int = 3) -> list[Any]:
        seen: list[Any] = []
        for row in self.typed:
            if row[j] is not None and row[j] != "" and row[j] not in seen:
                seen.append(row[j])
                if len(seen) == k:
                    break
        return seen

    def matching_cells(self, question: str, limit: int = 6) -> list[tuple[str, str]]:
        """(column, raw value) pairs whose words appear in the question, best first.

        A cell matches when its whole text is in the question, when most of its words are, or when
        one of its words is in the question and rare in the table (a surname: 'benyon' finds
        'Elliot Benyon'); pure numbers match only as whole numbers of 3+ digits (years).
        """
        q = " " + " ".join(words(question)) + " "
        qset = set(q.split())
        df = self._word_df()
        scored: dict[tuple[str, str], float] = {}
        for j, col in enumerate(self.columns):
            for row in self.raw:
                v = row[j]
                if not v or len(v) > 80 or (col, v) in scored:
                    continue
                cw = [w for w in words(v) if w not in TABLE_STOPWORDS]
                if not cw or (all(w.isdigit() for w in cw) and (len("".join(cw)) < 3 or len(cw) > 1)):
                    continue  # only whole numbers like years are matched, not '1' or '3 2'
                hits = [w for w in cw if w in qset]
                rare = any(len(w) >= 4 and not w.isdigit() and df.get(w, 0) <= 2 for w in hits)
                if " " + " ".join(words(v)) + " " in q:
                    scored[(col, v)] = 2.0 + len(cw) / 10
                elif hits and (len(hits) / len(cw) > 0.5 or len(hits) >= 2 or rare):
                    scored[(col, v)] = len(hits) / len(cw) + sum(1 / max(df.get(w, 1), 1) for w in hits) / 10
        best = sorted(scored, key=lambda cv: -scored[cv])
        return best[:limit]

    def _word_df(self) -> dict[str, int]:
        """In how many cells each word occurs."""
        df: dict[str, int] = {}
        for row in self.raw:
            for v in row:
                for w in set(words(v or "")):
                    df[w] = df.get(w, 0) + 1
        return df

    def total_rows(self) -> list[tuple[int, str, str]]:
        """(row_id, column, value) of rows labelled as totals ('Total', 'TOTALS', 'Grand total')."""
        out = []
        for i, row in enumerate(self.raw, 1):
            for j, v in enumerate(row):
                if v and TOTAL_LABEL.match(v.strip()) and self.info.columns[j].kind == "text":
                    out.append((i, self.columns[j], v))
                    break
        return out

    def typed_of(self, column: str, raw: str) -> Any:
        """The typed value of a raw cell of `column` (raw text for text columns)."""
        j = self.columns.index(column)
        if self.info.columns[j].kind == "text":
            return raw
        return next((t[j] for t, r in zip(self.typed, self.raw) if r[j] == raw), raw)

    def schema_text(self, question: str, n_examples: int = 3, rows: int = 0, totals: bool = True) -> str:
        """Columns with SQL types and example values (or the first `rows` rows), the total rows,
        then the cells matching the question."""
        lines = [f"Columns of t ({len(self.raw)} rows):", '"row_id" INTEGER']
        for j, c in enumerate(self.info.columns):
            ex = "" if rows else ", ".join(sql_literal(v) for v in self.examples(j, n_examples))
            lines.append(f"{qident(c.name)} {c.sql_type}" + (f": {ex}" if ex else ""))
        if rows:
            lines.append(self.rows_text(rows))
        totals = self.total_rows() if totals else []
        if totals:
            lines.append("Total rows (leave them out of counts, rankings and maxima): " +
                         "; ".join(f"row_id {i}: {qident(c)} = {sql_literal(v)}" for i, c, v in totals))
        cells = self.matching_cells(question)
        if cells:
            lines.append("Values matching the question: " +
                         "; ".join(f"{qident(c)}: {sql_literal(self.typed_of(c, v))}" for c, v in cells))
        return "\n".join(lines)

    def rows_text(self, n: int) -> str:
        """The first `n` rows (typed values as SQL literals), one line each, prefixed by row_id."""
        shown = self.typed[:n]
        body = [f"{i}: " + " | ".join(sql_literal(v) for v in r) for i, r in enumerate(shown, 1)]
        more = f"\n... ({len(self.typed) - n} more rows)" if len(self.typed) > n else ""
        return f"Rows (row_id: {' | '.join(qident(c) for c in self.columns)}):\n" + "\n".join(body) + more

    def markdown(self, max_rows: int = 40) -> str:
        """The raw table as a markdown grid (for direct reading)."""
        head = "| row_id | " + " | ".join(" ".join((c.original or c.name).split()) for c in self.info.columns) + " |"
        body = [f"| {i + 1} | " + " | ".join((v or "").replace("\n", " ") for v in r) + " |"
                for i, r in enumerate(self.raw[:max_rows])]
        return "\n".join([head] + body)
