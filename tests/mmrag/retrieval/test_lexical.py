"""The lexical query: idf per term, common terms, and the postings budget."""
from __future__ import annotations

from mmrag.retrieval.lexical import over_budget


def test_the_postings_budget_drops_the_most_common_terms_first():
    df = {"rare": 10, "mid": 400, "common": 5000, "commoner": 9000}
    assert over_budget(list(df), df, budget=1000) == ["commoner", "common"]
    assert over_budget(list(df), df, budget=20_000) == []
    assert over_budget(["commoner", "common"], df, budget=10) == ["commoner"]  # the rarest term stays
    assert over_budget(list(df), df, budget=0) == []  # 0: no budget
