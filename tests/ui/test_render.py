"""Answer and evidence HTML: citation links, escaping, highlighting, cards by modality."""
from __future__ import annotations

import re

from mmrag import Evidence, Hit, Record
from ui import render


def ev(n, modality, text="", locator=None, meta=None, source="/data/doc.txt", **kw):
    rec = Record(modality=modality, source=source, locator=locator or {}, text=text, meta=meta or {})
    return Evidence(n=n, hit=Hit(rec, 0.5 / n, {"dense:text": n, "bm25": 1}), **kw)


def url_for(path):
    return f"gradio_api/file={path}"


def test_answer_links_only_valid_citations_and_escapes():
    html = render.answer_html("Italy [1]. <script>alert(1)</script> See [2, 3] and [9].", valid=[1, 2, 3])
    assert '<a class="cite" href="#ev-1"' in html and 'href="#ev-2"' in html and 'href="#ev-3"' in html
    assert "#ev-9" not in html and "[9]" in html  # not evidence: left as text
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_highlight_marks_query_words_and_escapes():
    out = render.highlight("Bake the loaf <b>covered</b> for 20 minutes; baking uncovered after.",
                           "how long to bake the loaf?")
    assert "<mark>Bake</mark>" in out and "<mark>loaf</mark>" in out and "<mark>baking</mark>" in out
    assert "<b>" not in out and "&lt;b&gt;" in out
    assert "<mark>the</mark>" not in out  # stopwords stay plain


def test_evidence_cards_by_modality():
    items = [
        ev(1, "text", "The espresso cost 2.40 EUR.", {"char_start": 0, "char_end": 27}),
        ev(2, "image", "image: receipt", {"width": 4, "height": 4}, {"thumbnail": "thumbs/ab/x.jpg"},
           source="/data/receipt.jpg"),
        ev(3, "video", "she opens the door", {"t_start": 12.5, "t_end": 20.0}, source="/data/v.mp4"),
        ev(4, "table", "", {"table": "t1", "rows": [3, 4]}, sql="SELECT country FROM t1", columns=["country"],
           rows=[["Italy"], ["<France>"]]),
    ]
    html = render.evidence_html(items, "espresso door", url_for, cited=[1, 4])
    assert [m for m in re.findall(r'id="ev-(\d+)"', html)] == ["1", "4", "2", "3"]  # text, table, image, video
    assert re.search(r'class="ev-card cited ev-text" id="ev-1"', html)
    assert "<mark>espresso</mark>" in html
    assert 'src="gradio_api/file=thumbs/ab/x.jpg"' in html
    assert 'src="gradio_api/file=/data/v.mp4#t=12.50,20.00"' in html and "0:12–0:20" in html
    assert "SELECT country FROM t1" in html and "<td>&lt;France&gt;</td>" in html
    assert html.count('<details class="ev-scores">') == 4 and "bm25 #1" in html
    assert "Passages (1)" in html and "Video moments (1)" in html


def test_gallery_items_dedupe_pictures():
    items = [ev(1, "image", source="/d/r.jpg"), ev(2, "text", meta={"view_of": "image"}, source="/d/r.jpg"),
             ev(3, "text")]
    path_for = lambda e: e.source if e.modality == "image" or e.hit.record.meta.get("view_of") else None  # noqa: E731
    assert render.gallery_items(items, path_for) == [("/d/r.jpg", "[1] d/r.jpg")]


def test_table_result_goes_to_the_sql_box_and_the_dataframe():
    from ui.ask_tab import _table_updates
    items = [ev(1, "text", "x"), ev(2, "table", "", {"table": "t1", "rows": [0, 2]}, sql="SELECT Country FROM t",
                                   columns=["Country", "n"], rows=[["Italy", 3], ["Spain", 2]])]
    sql, frame = _table_updates(items)
    assert sql["visible"] and sql["value"] == "SELECT Country FROM t" and "[2]" in sql["label"]
    assert frame["visible"]
    assert frame["value"] == {"headers": ["Country", "n"], "data": [["Italy", "3"], ["Spain", "2"]]}
    sql, frame = _table_updates(items[:1])
    assert not sql["visible"] and not frame["visible"]
