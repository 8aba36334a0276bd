"""Words: one home for the stopword lists and the FTS5 query syntax.

* `STOPWORDS`: left out of lexical (FTS5/BM25) queries;
* `QUERY_STOPWORDS`: also left out when matching a question's content words against sentences
  (extractive answers, citation checks, highlighting);
* `TABLE_STOPWORDS`: left out when matching a question's words against table cells.
"""
from __future__ import annotations

import re
from typing import Sequence

STOPWORDS = frozenset("""a an and are as at be by did do does for from had has have how i in is it its
of on or that the this to was were what when where which who whom why will with you your""".split())
QUERY_STOPWORDS = STOPWORDS | frozenset("""much many than there their they this these those can could would
should been being into about after before during also not no yes more most some any all them then""".split())
TABLE_STOPWORDS = frozenset("""a an the of in on at to for from by with and or is are was were be been did do
does what which who whom whose when where how many much than then that this these those it its as not no total
number after before next previous last first most least more less other same only his her their there he she
they""".split())
_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (letters, digits, underscore; any script)."""
    return _TOKEN.findall(text.lower())


def fts_query(text: str, extra_terms: Sequence[str] = ()) -> str:
    """Turn free text into an FTS5 OR-query of quoted terms (stopwords dropped)."""
    terms = [t for t in tokens(text) if t not in STOPWORDS]
    terms += [t for t in extra_terms if t not in terms]
    if not terms:
        terms = tokens(text)
    return " OR ".join(f'"{t}"' for t in dict.fromkeys(terms))
