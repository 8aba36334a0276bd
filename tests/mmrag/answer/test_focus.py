"""Focused evidence: long text blocks cut to the sentences on the question; other blocks left whole."""
from __future__ import annotations

import pytest

from mmrag.answer.evidence import Block
from mmrag.answer.focus import ELISION, MIN_CHARS, budget, focus_blocks, focus_text, sentences
from mmrag.generate.extractive import content_words
from mmrag.records import Evidence, Hit, Record

FILLER = [f"The harbour wall was repaired in spring number {i} with granite from the quarry." for i in range(8)]
ANSWER = "The ferry to Halden leaves at 07:40 from the north pier."
AFTER = "Tickets cost nine crowns."


def _weights(question: str) -> dict[str, float]:
    return {w: 1.0 for w in content_words(question)}


def _block(text: str, modality: str = "text", n: int = 1) -> Block:
    rec = Record(id=n, uid=f"u{n}", modality=modality, source=f"/d/doc{n}.txt", locator={}, text=text, meta={})
    return Block(Evidence(n, Hit(rec, 1.0, {})), f"[{n}] {modality} doc{n}.txt", text)


def test_the_answer_sentence_and_the_next_are_kept_in_reading_order():
    text = " ".join(FILLER[:4] + [ANSWER, AFTER] + FILLER[4:])
    out = focus_text(text, _weights("When does the ferry to Halden leave?"), chars=200)
    assert ANSWER in out and AFTER in out
    assert out.index(ANSWER) < out.index(AFTER)
    assert len(out) < len(text) / 2
    assert out.startswith(ELISION.strip()) and out.endswith(ELISION.strip())


def test_sentences_tied_with_the_best_come_before_the_one_after_it():
    text = ("The Harrow Point lighthouse was built in 1871 from granite quarried on the island. Its first keeper, "
            "Thomas Abel, served for thirty years. The light was automated in 1968, and the last lighthouse keeper, "
            "Martha Quill, left the station that autumn. Today the tower is a museum open from May to September.")
    out = focus_text(text, _weights("Who was the last keeper of the Harrow Point lighthouse?"), chars=200)
    assert "Martha Quill" in out and "1871" in out and "Thomas Abel" not in out


def test_short_text_and_text_without_question_words():
    short = "The ferry leaves at 07:40."
    assert focus_text(short, _weights("ferry"), chars=200) == short
    text = " ".join(FILLER)
    out = focus_text(text, _weights("What colour is the lighthouse?"), chars=200)
    assert out.startswith(FILLER[0]) and FILLER[-1] not in out  # the opening, cut


def test_hard_wrapped_lines_are_joined_into_sentences():
    text = "The keeper climbed the\nhundred and twelve steps.\n\nHe lit the\nlamp at dusk."
    assert sentences(text) == ["The keeper climbed the hundred and twelve steps.", "He lit the lamp at dusk."]


@pytest.mark.parametrize("modality", ["table", "video"])
def test_tables_and_transcripts_stay_whole(modality):
    body = " ".join(FILLER + [ANSWER])
    text_block, other = _block(body, "text", 1), _block(body, modality, 2)
    out = focus_blocks([text_block, other], "When does the ferry to Halden leave?", chars=200)
    assert out[1].body == body and len(out[0].body) < len(body)
    assert focus_blocks([_block(body)], "ferry", chars=0)[0].body == body  # 0 turns it off


def test_a_weaker_hit_is_read_as_its_best_sentence():
    ferries = [f"The ferry number {i} was painted white and blue in the yard at Halden." for i in range(8)]
    body = " ".join(ferries[:4] + [ANSWER] + FILLER[:2] + ferries[4:])
    strong, weak = _block(body, n=1), _block(body, n=2)
    weak.ev.hit.score = 0.25
    out = focus_blocks([strong, weak], "When does the ferry to Halden leave the north pier?", chars=420)
    assert ANSWER in out[0].body and ANSWER in out[1].body
    assert sum(f in out[0].body for f in ferries) >= 3  # the best hit: 420 characters of the question's sentences
    assert not any(f in out[1].body for f in ferries)  # a quarter of the budget: its best sentence
    assert len(out[1].body) <= 105 + 2 * len(ELISION) + 2
    assert budget(0.25, 1.0, 420) == 105 and budget(0.01, 1.0, 420) == MIN_CHARS and budget(2.0, 1.0, 420) == 420
    assert budget(0.5, 0.0, 420) == 420  # no positive best score: every block gets the whole budget


@pytest.mark.slow
def test_focus_cuts_the_prompt_and_keeps_the_answer_with_the_real_llm(tmp_path, minilm, llm):
    from mmrag import Library
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "harbour.txt").write_text(" ".join(FILLER[:4] + [ANSWER, AFTER] + FILLER[4:]))
    with Library(tmp_path / "lib", text_encoder="minilm") as lib:
        lib.ingest([folder])
        q = "When does the ferry to Halden leave?"
        whole = lib.ask(q, generator=llm, k=2, max_tokens=40, focus_chars=0)
        focused = lib.ask(q, generator=llm, k=2, max_tokens=40)
    assert focused.meta["prompt_tokens"] < whole.meta["prompt_tokens"] - 60
    assert "07:40" in focused.text and focused.citations[0].source.endswith("harbour.txt")
