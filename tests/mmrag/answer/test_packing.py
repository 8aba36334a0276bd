"""The prompt never exceeds the model's context, whatever the evidence size (real 0.5B tokenizer)."""
from __future__ import annotations

import pytest

from mmrag.answer.evidence import Block, render_block
from mmrag.answer.generation import build_prompt, default_prompt
from mmrag.answer.packing import CUT_MARK, pack, truncate_tokens
from mmrag.records import Evidence, Hit, Record


def _words(text: str) -> int:
    return len(text.split())


def _text_ev(n: int, text: str) -> Evidence:
    return Evidence(n, Hit(Record("text", f"/docs/doc{n}.txt", {"char_start": 0, "char_end": len(text)}, text), 1.0))


def _huge_table_ev(n: int, rows: int = 20000) -> Evidence:
    cols = ["country", "year", "population", "gdp_usd", "capital"]
    data = [[f"Country{i}", 1900 + i % 120, 1000 * i, f"{i * 3.7:.2f}", f"City{i}"] for i in range(rows)]
    rec = Record("table", "/docs/world.csv", {"table": "t_x", "rows": list(range(rows))}, "world table",
                 meta={"kind": "table_result", "answer": "Country7"})
    return Evidence(n, Hit(rec, 1.0), sql="SELECT * FROM t", columns=cols, rows=data)


def test_pack_keeps_order_and_reports_cuts():
    blocks = [Block(_text_ev(i, ""), f"[{i}] text", " ".join(["w"] * size)) for i, size in
              enumerate([100, 5000, 100, 30], 1)]
    packed = pack(blocks, _words, n_ctx=700, max_tokens=100, fixed_tokens=200)
    # budget 352: [1] fits, [2] is cut to the per-block cap, [3] no longer fits, the small [4] still does
    assert [b.n for b in packed.blocks] == [1, 2, 4] and packed.shortened == [2] and packed.omitted == [3]
    assert packed.note() == "(To fit the model's context, evidence [2] was shortened and [3] was left out.)"
    assert blocks[1].body.endswith(CUT_MARK)
    assert sum(_words(b.text()) for b in packed.blocks) <= packed.budget


def test_no_room_is_a_clear_error():
    with pytest.raises(ValueError, match="no room for evidence"):
        pack([], _words, n_ctx=300, max_tokens=256, fixed_tokens=100)


@pytest.mark.slow
def test_huge_evidence_fits_the_real_context(small_ctx_llm):
    """A 20,000-row table result and 200 kB passages: the real prompt fits n_ctx with room for the answer."""
    passage = "The harbour master logged every ship. " * 6000  # ~230 kB
    evidence = [_huge_table_ev(1), _text_ev(2, passage), _text_ev(3, "Short fact: the lighthouse is 42 m tall."),
                _text_ev(4, passage[::-1])]
    blocks = [render_block(e) for e in evidence]
    llm, max_tokens = small_ctx_llm, 64
    prompt = build_prompt(llm, blocks, default_prompt("How tall is the lighthouse?"), max_tokens)
    assert prompt.tokens <= llm.n_ctx - max_tokens
    assert prompt.packed.shortened and 1 in [b.n for b in prompt.packed.blocks]  # the best block is kept, cut
    text = prompt.messages[-1]["content"]
    assert "was shortened" in text or "were shortened" in text
    llm.complete(prompt.messages, max_tokens=1)  # llama.cpp refuses prompts longer than its context
    real = llm.usage.last["prompt_tokens"]
    assert real + max_tokens <= llm.n_ctx
    assert prompt.tokens >= real  # our count is an upper bound of the template's real token count


@pytest.mark.slow
def test_truncate_tokens_with_the_real_tokenizer(llm):
    text = "Numbers 1234567 and words. " * 500
    cut = truncate_tokens(llm.count_tokens, text, 100)
    assert llm.count_tokens(cut) <= 100 and cut.endswith(CUT_MARK) and len(cut) > 150
    assert truncate_tokens(llm.count_tokens, "short text", 100) == "short text"
