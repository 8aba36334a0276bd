"""Typed copies of raw string tables: numbers, percentages, money, dates; SQL-usable column names.

Raw values are never changed. `infer_columns` decides a type per column from a sample and
records what it inferred (`ColumnInfo`, serialisable with `dataclasses.asdict`);
`apply_types` converts any chunk of the same table with those decisions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

NULL_TOKENS = {"", "-", "—", "–", "n/a", "na", "null", "none", "nan", "?", "none.", "n.a."}
MIN_PARSED = 0.9  # share of non-empty values that must parse for a column to get a type
INFER_SAMPLE = 2000  # non-empty values per column a type is decided from (spread over the first chunk)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y",
                "%m/%d/%Y", "%d/%m/%Y", "%B %d %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")
_CURRENCY = "$€£¥₹"
_NUM = {
    ".": re.compile(rf"^\(?[-+−]?[{_CURRENCY}]?\s?(?:\d{{1,3}}(?:,\d{{3}})+|\d+)?(?:\.\d+)?\s?[{_CURRENCY}%]?\)?$"),
    ",": re.compile(rf"^\(?[-+−]?[{_CURRENCY}]?\s?(?:\d{{1,3}}(?:[.\s]\d{{3}})+|\d+)?(?:,\d+)?\s?[{_CURRENCY}%]?\)?$"),
}
_HAS_DIGIT = re.compile(r"\d")
_MARKS = r"(?<=\d)\s?(\[[^\]]{1,8}\]|[*†‡#+]+)$"  # footnote marks after a number
_NOTE = r"(?<=\d)\s+\([^()]{1,40}\)$"  # '62.4 (2009)'
_EN_MINUS = r"^–(?=\d)"  # '–0.4': an en dash used as a minus sign
_UNIT = re.compile(r"^(.*?\d)\s?([A-Za-z]{1,8}\.?)$")
_ORDINAL = {"st", "nd", "rd", "th"}


@dataclass
class ColumnInfo:
    """What was inferred for one column (serialisable with `dataclasses.asdict`)."""

    name: str  # SQL name (unique in the table)
    original: str  # header as found in the file
    kind: str = "text"  # text | integer | float | date | timestamp | native
    sql_type: str = "VARCHAR"
    non_null: int = 0
    failed: int = 0  # non-empty values that did not parse (NULL in the typed copy)
    failed_examples: list[str] = field(default_factory=list)
    percent: bool = False
    currency: str = ""
    date_format: str = ""
    decimal: str = "."
    unit: str = ""  # a unit word after every number ('15 m', '17 years'), or 'ordinal' ('1st')


def sql_names(headers: list[Any]) -> list[str]:
    """Header cells made usable as (quoted) SQL identifiers: trimmed, one line, non-empty, unique."""
    names: list[str] = []
    seen: set[str] = set()
    for i, h in enumerate(headers):
        base = re.sub(r"\s+", " ", "" if h is None or (isinstance(h, float) and pd.isna(h)) else str(h)).strip()
        base = base.replace('"', "'")[:63] or f"column_{i + 1}"
        if base.lower() in {"rowid"}:
            base = f"{base}_"
        name, k = base, 2
        while name.lower() in seen:  # DuckDB identifiers are case-insensitive
            name, k = f"{base}_{k}", k + 1
        seen.add(name.lower())
        names.append(name)
    return names


def is_null_text(s: pd.Series) -> pd.Series:
    """True where a raw value is missing or a null token (empty, '-', 'n/a', ...)."""
    return s.isna() | s.astype("string").str.strip().str.lower().isin(NULL_TOKENS).fillna(True)


def parse_numbers(s: pd.Series, decimal: str = ".") -> pd.Series:
    """Numbers like '1,234', '12%', '$5.3', '(12)', '−4', '–0.4' as floats; NaN where a value is not a number.

    Footnote marks after a number ('11,429*', '2008†', '91[3]', '231+') and a trailing note in
    parentheses ('62.4 (2009)') are ignored."""
    t = s.astype("string").str.strip().str.replace(_MARKS, "", regex=True).str.replace(_NOTE, "", regex=True)
    t = t.str.replace(_EN_MINUS, "-", regex=True)
    ok = t.str.match(_NUM[decimal]).fillna(False) & t.str.contains(_HAS_DIGIT).fillna(False)
    neg = t.str.startswith("(") & t.str.endswith(")") | t.str.contains("^\\(?[-−]", regex=True)
    t = t.str.replace(f"[()\\s{_CURRENCY}%+−-]", "", regex=True)
    t = t.str.replace(",", "", regex=False) if decimal == "." else t.str.replace(".", "", regex=False).str.replace(
        ",", ".", regex=False)
    num = pd.to_numeric(t.where(ok), errors="coerce").astype("float64")
    return num.where(~neg.fillna(False), -num)


def parse_dates(s: pd.Series, fmt: str) -> pd.Series:
    """Datetimes parsed with one strptime format; NaT where a value does not fit it."""
    return pd.to_datetime(s.astype("string").str.strip(), format=fmt, errors="coerce")


def _best_date_format(values: pd.Series) -> tuple[str, int]:
    best, n_best = "", 0
    for fmt in DATE_FORMATS:
        n = int(parse_dates(values, fmt).notna().sum())
        if n > n_best:
            best, n_best = fmt, n
    return best, n_best


def infer_column(raw: pd.Series, name: str, original: str, decimal: str = ".") -> ColumnInfo:
    """Decide one column's type from (a sample of) its values."""
    info = ColumnInfo(name=name, original=original, decimal=decimal)
    if not (pd.api.types.is_object_dtype(raw) or pd.api.types.is_string_dtype(raw)):
        info.kind, info.sql_type, info.non_null = "native", "", int(raw.notna().sum())
        return info
    values = raw[~is_null_text(raw)].astype("string").str.strip()
    info.non_null = len(values)
    if not len(values):
        return info
    if len(values) > INFER_SAMPLE:  # evenly spread, so a column's late rows count as much as its first ones
        values = values.iloc[:: len(values) // INFER_SAMPLE].iloc[:INFER_SAMPLE]
    nums = parse_numbers(values, decimal)
    if nums.notna().mean() >= MIN_PARSED:
        integral = (nums.dropna() % 1 == 0).all() and nums.abs().max() < 2**62
        info.kind, info.sql_type = ("integer", "BIGINT") if integral else ("float", "DOUBLE")
        info.percent = bool(values.str.endswith("%").mean() >= 0.5)
        info.currency = next((c for c in _CURRENCY if values.str.contains(c, regex=False).mean() >= 0.5), "")
        return _failures(info, values, nums.isna())
    unit = _common_unit(values)
    if unit:
        nums = parse_numbers(strip_unit(values), decimal)
        if nums.notna().mean() >= MIN_PARSED:
            integral = (nums.dropna() % 1 == 0).all()
            info.kind, info.sql_type = ("integer", "BIGINT") if integral else ("float", "DOUBLE")
            info.unit = unit
            return _failures(info, values, nums.isna())
    fmt, n = _best_date_format(values)
    if n and n / len(values) >= MIN_PARSED:
        timed = "%H" in fmt
        info.kind, info.sql_type = ("timestamp", "TIMESTAMP") if timed else ("date", "DATE")
        info.date_format = fmt
        return _failures(info, values, parse_dates(values, fmt).isna())
    return info


def strip_unit(s: pd.Series) -> pd.Series:
    """Values with a trailing unit word removed ('15 m' -> '15', '1st' -> '1')."""
    return s.astype("string").str.strip().str.replace(r"(?<=\d)\s?[A-Za-z]{1,8}\.?$", "", regex=True)


def _common_unit(values: pd.Series) -> str:
    """The unit most numbers of a column carry ('m', 'years', or 'ordinal' for 1st/2nd), if one does."""
    units = values.str.extract(_UNIT)[1].dropna().str.lower().str.rstrip(".")
    if len(units) < MIN_PARSED * len(values):
        return ""
    if units.isin(_ORDINAL).mean() >= MIN_PARSED:
        return "ordinal"
    top = units.value_counts()
    return str(top.index[0]) if len(top) and top.iloc[0] >= 0.8 * len(values) else ""


def _failures(info: ColumnInfo, values: pd.Series, bad: pd.Series) -> ColumnInfo:
    info.failed = int(bad.sum())
    info.failed_examples = [str(v) for v in values[bad].unique()[:5]]
    return info


def infer_columns(frame: pd.DataFrame, originals: list[str] | None = None, decimal: str = ".") -> list[ColumnInfo]:
    """One `ColumnInfo` per column of `frame` (its columns are already SQL names)."""
    originals = originals or [str(c) for c in frame.columns]
    return [infer_column(frame.iloc[:, i], str(c), originals[i], decimal) for i, c in enumerate(frame.columns)]


def convert(raw: pd.Series, info: ColumnInfo) -> pd.Series:
    """The typed version of one raw column, following `info`."""
    if info.kind == "native":
        return raw
    if info.kind in ("integer", "float"):
        vals = raw.where(~is_null_text(raw))
        num = parse_numbers(strip_unit(vals) if info.unit else vals, info.decimal)
        return num.round().astype("Int64") if info.kind == "integer" else num
    if info.kind in ("date", "timestamp"):
        return parse_dates(raw.where(~is_null_text(raw)), info.date_format)  # DATE columns cast on insert
    text = raw.astype("string")
    return text.where(text.str.strip() != "")


def apply_types(frame: pd.DataFrame, infos: list[ColumnInfo]) -> pd.DataFrame:
    """A typed copy of `frame` (empty strings become NULL; unparsable typed values become NULL)."""
    return pd.DataFrame({info.name: convert(frame.iloc[:, i], info) for i, info in enumerate(infos)})


def raw_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every non-null value as a string (the raw copy)."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        out[col] = s if pd.api.types.is_string_dtype(s) and not pd.api.types.is_object_dtype(s) else \
            s.map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)).astype("string")
    return pd.DataFrame(out)
