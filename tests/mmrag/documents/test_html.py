"""HTML pages: trafilatura's main content (navigation, cookie banner, footer dropped), else all visible text."""
from mmrag.documents import html_text, read_html

PAGE = """<!DOCTYPE html><html><head><title>Zebra facts</title><style>p {color: red}</style></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/shop">Shop our plush toys</a></li></ul></nav>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience. Accept all cookies.</div>
<main><article><h1>Zebras of the savanna</h1>
<p>Zebras are African equines with distinctive black-and-white striped coats. There are three living species.</p>
<p>The stripes may deter biting flies, according to several field studies conducted in Kenya and Tanzania.</p>
<h2>Diet</h2>
<p>Zebras are grazers and eat mostly grasses, walking long distances<br>to find water in the dry season.</p>
<table><tr><th>Species</th><th>Range</th></tr><tr><td>Plains zebra</td><td>East Africa</td></tr></table>
</article></main>
<footer><p>Copyright 2024 Example Corp. All rights reserved. Privacy policy.</p></footer>
<script>var tracking = 1;</script></body></html>"""


def test_main_content_without_navigation_banner_and_footer(tmp_path):
    text, main = html_text(PAGE)
    assert main
    assert text.startswith("Zebras of the savanna\n\nZebras are African equines")  # the title is the <h1>
    assert "\n\nDiet\n\n" in text and "walking long distances\nto find water" in text
    assert "Species | Range\nPlains zebra | East Africa" in text
    for dropped in ("Home", "plush toys", "cookies", "Copyright", "tracking", "color"):
        assert dropped not in text
    assert read_html(tmp_path / "z.html", PAGE.encode(), None).sections[0].text == text


def test_falls_back_to_the_visible_text_when_trafilatura_finds_nothing():
    page = "<html><head><title>Only a title here</title></head><body><script>x()</script></body></html>"
    assert html_text(page) == ("Only a title here", False)


def test_the_page_title_leads_when_the_content_has_no_heading():
    text, main = html_text(PAGE.replace("<h1>Zebras of the savanna</h1>", ""))
    assert main and text.startswith("Zebra facts\n\nZebras are African equines")
