import numpy as np
import pytest

from mmrag.core.store import Store
from mmrag.core.text import fts_query
from mmrag.records import Record


def _rec(text, source="/a.txt", start=0):
    return Record("text", source, {"char_start": start, "char_end": start + len(text)}, text).with_uid("sha-" + source)


def test_add_get_bm25_and_delete(tmp_path):
    st = Store(tmp_path / "s.sqlite")
    recs = [_rec("the quick brown fox", start=0), _rec("lazy dogs sleep all day", start=100)]
    vec = np.eye(2, 4, dtype=np.float32)
    ids = st.add_records(recs, {"text": ([0, 1], vec)})
    assert ids == sorted(ids) and len(set(ids)) == 2
    assert st.get_records(ids)[ids[1]].text == "lazy dogs sleep all day"
    got = st.get_vectors("text", ids, 4)
    np.testing.assert_array_equal(got[ids[0]], vec[0])
    hits = st.bm25(fts_query("a fox"), 5)
    assert [h[0] for h in hits] == [ids[0]] and hits[0][1] > 0
    assert st.bm25(fts_query("dog"), 5)[0][0] == ids[1], "porter stemming matches dogs"
    gen = st.generation
    assert st.delete_records_of("/a.txt") == ids
    assert st.generation > gen
    assert st.bm25(fts_query("fox"), 5) == [] and st.get_records(ids) == {} and len(st.vector_ids("text")) == 0


def test_ids_are_never_reused(tmp_path):
    st = Store(tmp_path / "s.sqlite")
    first = st.add_records([_rec("one")], {})
    st.delete_records_of("/a.txt")
    second = st.add_records([_rec("one")], {})
    assert second[0] > first[0]


def test_transaction_rolls_back(tmp_path):
    st = Store(tmp_path / "s.sqlite")
    with pytest.raises(RuntimeError):
        with st.transaction():
            st.add_records([_rec("will vanish")], {})
            raise RuntimeError("boom")
    assert st.counts()["records"] == {} and st.bm25(fts_query("vanish"), 5) == []


def test_duplicate_uid_rejected(tmp_path):
    import sqlite3
    st = Store(tmp_path / "s.sqlite")
    st.add_records([_rec("same")], {})
    with pytest.raises(sqlite3.IntegrityError):
        st.add_records([_rec("same")], {})
    assert st.counts()["records"] == {"text": 1}


def test_filters(tmp_path):
    st = Store(tmp_path / "s.sqlite")
    st.add_records([_rec("alpha", "/x/a.md"), _rec("alpha", "/y/b.md")], {})
    assert len(st.filter_ids(["text"], "/x/*")) == 1
    assert len(st.bm25(fts_query("alpha"), 5, source_glob="/y/*")) == 1
    assert len(st.filter_ids(["image"])) == 0


def test_fts_query_drops_stopwords_and_quotes():
    assert fts_query('what is "the" fox?') == '"fox"'
    assert fts_query("the") == '"the"'


def test_bm25_of_given_ids_equals_the_full_ranking(tmp_path):
    """Scores of chosen records are the scores the top-k query gives them; records without a match are left out."""
    st = Store(tmp_path / "s.sqlite")
    words = ["harbour", "ferry", "lantern", "granite", "orchard"]
    recs = [_rec(" ".join(words[j] for j in range(5) if (i >> j) & 1) + f" filler{i}", source=f"/{i}.txt")
            for i in range(1, 32)]
    ids = st.add_records(recs, {})
    q = fts_query("harbour ferry orchard")
    full = dict(st.bm25(q, 100))
    chosen = ids[::3]
    got = st.bm25_of(q, chosen)
    assert got and set(got) == {i for i in chosen if i in full}
    assert all(got[i] == pytest.approx(full[i]) for i in got)
