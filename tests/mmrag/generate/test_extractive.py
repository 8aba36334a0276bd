"""The extractive generator: best evidence sentences, each cited; a refusal when nothing matches."""
from __future__ import annotations

from mmrag.generate import NOT_FOUND, ExtractiveGenerator, Passage
from mmrag.generate.extractive import split_sentences

PASSAGES = [
    Passage(1, "The Kerrow lighthouse stands 42 metres tall. It was first lit in 1871."),
    Passage(2, "The sourdough loaf bakes for 45 minutes at 230 degrees.\nThe starter is fed every morning."),
    Passage(3, "Revenue in the third quarter was 48.2 million EUR."),
]


def test_best_sentence_is_quoted_with_its_number():
    gen = ExtractiveGenerator(max_sentences=1)
    assert gen.answer("How long does the sourdough bake?", PASSAGES) == \
        "The sourdough loaf bakes for 45 minutes at 230 degrees [2]."
    assert gen.answer("When was the lighthouse first lit?", PASSAGES) == "It was first lit in 1871 [1]."


def test_computed_answers_come_first_and_nothing_is_invented():
    gen = ExtractiveGenerator()
    out = gen.answer("population of Norway", [Passage(1, "SQL ...", answer="5"), *PASSAGES])
    assert out.splitlines()[0] == "5 [1]"
    assert gen.answer("Who painted the Mona Lisa?", PASSAGES) == NOT_FOUND


def test_sentences_split_on_punctuation_and_lines():
    assert split_sentences("One. Two!\nThree\n\nfour? 5.5 stays") == ["One.", "Two!", "Three", "four?", "5.5 stays"]
    long = split_sentences("word " * 200, max_chars=100)
    assert all(len(s) <= 100 for s in long) and len(long) > 5


def test_streams_sentence_by_sentence():
    gen = ExtractiveGenerator(max_sentences=2, relative=0.0, min_score=0.1)
    pieces = list(gen.answer_stream("lighthouse tall lit", PASSAGES))
    assert len(pieces) == 2 and all("[1]" in p for p in pieces)
