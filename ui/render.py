"""HTML for answers and evidence: citation links, cards by modality, highlighted passages.

Everything that comes from documents or a model is escaped: a passage or an answer can never
inject markup into the page. Media URLs are produced by a `url_for(path) -> str | None` callback
(see `ui.web.MediaUrls`, which also makes a video's subtitle track), so this module knows nothing about
the web server.
"""
from __future__ import annotations

import html
import re
from typing import Any, Callable, Iterable, Sequence

from mmrag import QUERY_STOPWORDS, Evidence

UrlFor = Callable[[str], "str | None"]
ORDER = ("text", "table", "image", "video")  # order of the modality groups in the panel
TITLES = {"text": "Passages", "table": "Tables", "image": "Images", "video": "Video moments"}
MAX_TEXT = 1200
MAX_ROWS = 50
_CITE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_WORD = re.compile(r"\w+", re.UNICODE)
_SUFFIXES = ("ing", "ed", "es", "s", "ly")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def clock(seconds: float) -> str:
    """1:02:03 / 2:03 style time."""
    s = int(round(float(seconds)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


# -- answers ------------------------------------------------------------------------------------
def answer_html(text: str, valid: Iterable[int]) -> str:
    """The answer, escaped, with each valid [n] (or [n, m]) turned into links to evidence cards."""
    ok = set(valid)

    def link(m: re.Match) -> str:
        nums = [int(x) for x in re.findall(r"\d+", m.group(1))]
        if not all(n in ok for n in nums):
            return m.group(0)
        inner = ", ".join(f'<a class="cite" href="#ev-{n}" title="evidence {n}">{n}</a>' for n in nums)
        return f'<span class="cites">[{inner}]</span>'

    out, last = [], 0
    for m in _CITE.finditer(text):
        out += [esc(text[last:m.start()]), link(m)]
        last = m.end()
    out.append(esc(text[last:]))
    body = "".join(out).replace("\n", "<br>")
    return f'<div class="mm-answer">{body}</div>'


# -- highlighting -------------------------------------------------------------------------------
def query_terms(query: str) -> list[str]:
    """Content words of the query, lightly stemmed, longest first."""
    terms = set()
    for w in _WORD.findall(query.lower()):
        if len(w) < 3 or w in QUERY_STOPWORDS:
            continue
        for suf in _SUFFIXES:
            if w.endswith(suf) and len(w) - len(suf) >= 3:
                w = w[: -len(suf)]
                break
        if w.endswith("e") and len(w) >= 4:  # bake -> bak: also marks baking, baked
            w = w[:-1]
        terms.add(w)
    return sorted(terms, key=len, reverse=True)


def highlight(text: str, query: str, limit: int = MAX_TEXT) -> str:
    """Escaped `text` with the words that match the query wrapped in <mark>."""
    text = text if len(text) <= limit else text[:limit].rstrip() + "…"
    terms = query_terms(query)
    if not terms:
        return esc(text)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(t) for t in terms) + r")\w*", re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out += [esc(text[last:m.start()]), f"<mark>{esc(m.group(0))}</mark>"]
        last = m.end()
    out.append(esc(text[last:]))
    return "".join(out)


# -- evidence cards -----------------------------------------------------------------------------
def short_source(source: str) -> str:
    parts = source.replace("\\", "/").split("/")
    return "/".join(parts[-2:]) if len(parts) > 1 else source


def locator_text(ev: Evidence) -> str:
    loc = ev.locator
    if "t_start" in loc:
        return f"{clock(loc['t_start'])}–{clock(loc.get('t_end', loc['t_start']))}"
    if "t" in loc:
        return f"at {clock(loc['t'])}"
    bits = []
    if "page" in loc:
        bits.append(f"page {loc['page']}")
    if "rows" in loc and isinstance(loc["rows"], list):
        rows = loc["rows"]
        bits.append(f"rows {rows[0]}–{rows[-1]}" if len(rows) > 2 else f"rows {rows}")
    if "table" in loc:
        bits.append(f"table {loc['table']}")
    if "char_start" in loc:
        bits.append(f"chars {loc['char_start']}–{loc.get('char_end', '')}")
    return ", ".join(bits)


def scores_html(ev: Evidence) -> str:
    found = " · ".join(f"{esc(name)} #{rank}" for name, rank in ev.hit.retrievers.items()) or "—"
    return (f'<details class="ev-scores"><summary>score</summary>fused score {ev.hit.score:.4f}'
            f" · found by: {found}</details>")


def player(url: str | None, start: float, end: float, track: str | None = None) -> str:
    """A video player for `url` that plays start..end, with the transcript as subtitles when `track` is given."""
    if not url:
        return '<p class="ev-missing">video file not found</p>'
    frag = f"#t={start:.2f},{end:.2f}" if end > start else f"#t={start:.2f}"
    subs = (f'<track kind="subtitles" label="transcript" srclang="en" src="{esc(track)}" default>'
            if track else "")
    return (f'<video class="ev-video" controls preload="metadata" src="{esc(url + frag)}"'
            f' data-start="{start:.2f}" data-end="{end:.2f}">{subs}</video>')


def subtitles_url(url_for: UrlFor, source: str) -> str | None:
    """The transcript track of a video, when `url_for` can make one (`ui.web.MediaUrls.subtitles`)."""
    make = getattr(url_for, "subtitles", None)
    return make(source) if callable(make) else None


def _video_body(ev: Evidence, query: str, url_for: UrlFor) -> str:
    loc = ev.locator
    start = float(loc.get("t_start", loc.get("t", 0.0)))
    end = float(loc.get("t_end", start))
    url = url_for(ev.source)
    video = player(url, start, end, subtitles_url(url_for, ev.source) if url else None)
    span = f'<div class="ev-span">plays {clock(start)}–{clock(end)}</div>'
    text = f'<p class="ev-text">{highlight(ev.hit.record.text, query)}</p>' if ev.hit.record.text else ""
    return video + span + text


def _image_body(ev: Evidence, query: str, url_for: UrlFor) -> str:
    thumb = ev.hit.record.meta.get("thumbnail")
    src = url_for(thumb) if thumb else None
    full = url_for(ev.source) or src
    img = (f'<a href="{esc(full)}" target="_blank" rel="noopener"><img class="ev-thumb" src="{esc(src)}"'
           f' alt="{esc(short_source(ev.source))}"></a>' if src else '<p class="ev-missing">no thumbnail</p>')
    text = f'<p class="ev-text">{highlight(ev.hit.record.text, query)}</p>' if ev.hit.record.text else ""
    return img + text


def rows_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], limit: int = MAX_ROWS) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in rows[:limit])
    more = f'<div class="ev-more">{len(rows) - limit} more rows</div>' if len(rows) > limit else ""
    return f'<table class="ev-rows"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


def _table_body(ev: Evidence, query: str, url_for: UrlFor) -> str:
    parts = []
    if ev.sql:
        parts.append(f'<pre class="ev-sql"><code>{esc(ev.sql)}</code></pre>')
    if ev.rows:
        parts.append(rows_table(ev.columns, ev.rows))
    if ev.hit.record.text and not ev.rows:
        parts.append(f'<p class="ev-text">{highlight(ev.hit.record.text, query)}</p>')
    return "".join(parts)


def _text_body(ev: Evidence, query: str, url_for: UrlFor) -> str:
    pic = ""
    if ev.hit.record.meta.get("view_of") == "image" and (src := url_for(ev.source)):  # OCR text of a picture
        pic = (f'<a href="{esc(src)}" target="_blank" rel="noopener"><img class="ev-thumb" src="{esc(src)}"'
               f' alt="{esc(short_source(ev.source))}"></a>')
    return pic + f'<p class="ev-text">{highlight(ev.hit.record.text, query)}</p>'


BODIES: dict[str, Callable[[Evidence, str, UrlFor], str]] = {
    "text": _text_body, "image": _image_body, "video": _video_body, "table": _table_body}


def modality_of(ev: Evidence) -> str:
    """The group a piece of evidence is shown in: an executed query is a table, a timed span a video moment."""
    if ev.sql:
        return "table"
    return "video" if "t_start" in ev.locator or "t" in ev.locator else ev.modality


def card(ev: Evidence, query: str, url_for: UrlFor, cited: bool = False, prefix: str = "ev") -> str:
    """One piece of evidence; its element id is `<prefix>-<n>` (what a citation [n] links to)."""
    mod = modality_of(ev)
    body = BODIES.get(mod, _text_body)(ev, query, url_for)
    cls = "ev-card cited" if cited else "ev-card"
    return (f'<div class="{cls} ev-{esc(mod)}" id="{prefix}-{ev.n}" data-n="{ev.n}">'
            f'<div class="ev-head"><span class="ev-n">[{ev.n}]</span> <span class="ev-mod">{esc(mod)}</span> '
            f'<span class="ev-src" title="{esc(ev.source)}">{esc(short_source(ev.source))}</span> '
            f'<span class="ev-loc">{esc(locator_text(ev))}</span></div>{body}{scores_html(ev)}</div>')


def evidence_html(evidence: Sequence[Evidence], query: str, url_for: UrlFor, cited: Iterable[int] = (),
                  grouped: bool = True, prefix: str = "ev") -> str:
    """All evidence as cards, grouped by modality unless `grouped` is False (cited cards marked)."""
    if not evidence:
        return '<div class="mm-evidence empty">No evidence retrieved.</div>'
    cited_set = set(cited)
    if not grouped:
        return '<div class="mm-evidence">' + "".join(card(ev, query, url_for, ev.n in cited_set, prefix)
                                                     for ev in evidence) + "</div>"
    groups: dict[str, list[Evidence]] = {}
    for ev in evidence:
        groups.setdefault(modality_of(ev), []).append(ev)
    out = ['<div class="mm-evidence">']
    for mod in sorted(groups, key=lambda m: ORDER.index(m) if m in ORDER else len(ORDER)):
        items = groups[mod]
        out.append(f'<h4 class="ev-group">{esc(TITLES.get(mod, mod))} ({len(items)})</h4>')
        out += [card(ev, query, url_for, ev.n in cited_set, prefix) for ev in items]
    out.append("</div>")
    return "".join(out)


def _moment_parts(evidence: Any, query: str, url_for: UrlFor) -> str:
    """What matched inside a moment: transcript lines (highlighted) and keyframe thumbnails."""
    lines, frames = [], []
    for item in evidence or []:
        if not isinstance(item, dict):
            rec = getattr(getattr(item, "hit", None), "record", None) or getattr(item, "record", None)
            item = {"text": rec.text} if rec is not None else {}
        if item.get("text"):
            at = f'<span class="ev-loc">{clock(item["t_start"])}</span> ' if "t_start" in item else ""
            lines.append(f'<p class="ev-text">{at}{highlight(item["text"], query, 400)}</p>')
        elif item.get("thumbnail") and (src := url_for(item["thumbnail"])):
            at = clock(item["t"]) if "t" in item else ""
            frames.append(f'<img class="ev-frame" src="{esc(src)}" title="keyframe {at}" alt="keyframe {at}">')
    return "".join(lines[:3]) + (f'<div class="ev-frames">{"".join(frames[:6])}</div>' if frames else "")


def moments_html(moments: Sequence[Any], query: str, url_for: UrlFor) -> str:
    """One player per moment, starting at t_start and stopping at t_end, with what matched."""
    if not moments:
        return '<div class="mm-evidence empty">No matching moments.</div>'
    url = url_for(moments[0].source)
    track = subtitles_url(url_for, moments[0].source) if url else None
    out = ['<div class="mm-evidence">']
    for i, m in enumerate(moments, 1):
        start, end = float(m.t_start), float(m.t_end)
        out.append(f'<div class="ev-card ev-video" id="moment-{i}"><div class="ev-head"><span class="ev-n">#{i}</span>'
                   f' <span class="ev-loc">{clock(start)}–{clock(end)}</span></div>{player(url, start, end, track)}'
                   f'{_moment_parts(m.evidence, query, url_for)}'
                   f'<details class="ev-scores"><summary>score</summary>{float(m.score):.4f}</details></div>')
    out.append("</div>")
    return "".join(out)


def gallery_items(evidence: Sequence[Evidence], path_for: Callable[[Evidence], "str | None"]
                  ) -> list[tuple[str, str]]:
    """(file, caption) for each picture among the evidence (images, OCR'd pictures, keyframes), once each."""
    items, seen = [], set()
    for ev in evidence:
        path = path_for(ev)
        if path and path not in seen:
            seen.add(path)
            items.append((path, f"[{ev.n}] {short_source(ev.source)} {locator_text(ev)}".strip()))
    return items


CSS = """
.mm-answer {font-size: 1.05rem; line-height: 1.55;}
.mm-answer a.cite {font-weight: 600; text-decoration: none; padding: 0 2px;}
.ev-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 6px 0;}
.ev-card.cited {border-color: var(--color-accent); box-shadow: 0 0 0 1px var(--color-accent);}
.ev-card:target {background: var(--color-accent-soft);}
.ev-head {font-size: 0.85rem; opacity: 0.85; margin-bottom: 4px;}
.ev-n {font-weight: 700;} .ev-mod {text-transform: uppercase; font-size: 0.75rem;}
.ev-text {white-space: pre-wrap; margin: 4px 0;} .ev-text mark {padding: 0 1px;}
.ev-thumb {max-height: 160px; border-radius: 4px;} .ev-frame {height: 54px; margin-right: 4px;}
.ev-video {max-width: 100%; max-height: 240px;}
.ev-sql {font-size: 0.85rem; white-space: pre-wrap;} .ev-rows td, .ev-rows th {padding: 2px 6px;}
.ev-scores {font-size: 0.8rem; opacity: 0.8;}
.mm-conversation .turn {border-left: 3px solid var(--border-color-primary); padding: 2px 8px; margin: 6px 0;}
.turn-q {font-weight: 600;} .turn-searched {font-size: 0.8rem; opacity: 0.75;} .turn-a {white-space: pre-wrap;}
"""
