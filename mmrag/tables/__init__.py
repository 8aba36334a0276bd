"""Tables: load files into DuckDB (raw + typed copies), run model-written SQL safely, answer questions.

Also the table file reader (`reader.py`) and the records that describe a stored table (`records.py`).
"""
from __future__ import annotations

from ..errors import SQLError, SQLRefused, SQLTimeout, TableFileError
from .clean import ColumnInfo, apply_types, infer_columns, parse_numbers, sql_names
from .db import TableDB, TableInfo, qident, table_id_for
from .formats import read_table_file
from .load import Limits, Sheet, read_tabfact_table, read_wtq_csv
from .qa import TableAnswer, answer_table_question
from .reader import TABLES_FILE, drop_source_tables, read_table
from .records import table_records
from .retrieve import index_tables, rank_tables
from .sql import QueryResult, SafeSQL, check_sql

__all__ = ["ColumnInfo", "apply_types", "infer_columns", "parse_numbers", "sql_names", "TableDB", "TableInfo",
           "qident", "table_id_for", "Limits", "Sheet", "TableFileError", "read_table_file", "read_tabfact_table",
           "read_wtq_csv", "QueryResult", "SafeSQL", "SQLError", "SQLRefused", "SQLTimeout", "check_sql",
           "TableAnswer", "answer_table_question", "index_tables", "rank_tables", "TABLES_FILE",
           "drop_source_tables", "read_table", "table_records"]
