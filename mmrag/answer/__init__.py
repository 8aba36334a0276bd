"""Answers from retrieved evidence with citations: `ask`, `ask_stream`, `summarise`.

See `ask.py` for the flow, `evidence.py` for the blocks by modality, `packing.py` for the token
budget, `citations.py` for parsing and cleaning `[n]` markers, `tableqa.py` for table questions,
`multistep.py` for follow-up retrieval and `summarise.py` for map-reduce summaries.
"""
from __future__ import annotations

from .ask import NOTHING, AskOptions, ask, ask_stream
from .citations import CitationFilter, attribute, clean_citations, parse_citations
from .summarise import summarise

__all__ = ["AskOptions", "ask", "ask_stream", "summarise", "NOTHING", "CitationFilter", "attribute", "clean_citations",
           "parse_citations"]
