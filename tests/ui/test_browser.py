"""The app in a real headless browser (Debian chromium driven by Playwright): ask with an image, the
transcript as the video player's subtitles, example questions and the stop button."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES

from .conftest import ARTIFACTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def open_app(page, url: str) -> None:  # noqa: ANN001 - a Playwright page
    """Load the app ("networkidle" never comes: the page keeps a heartbeat stream open for its state)."""
    page.goto(url, wait_until="load")
    page.locator("#ask-box textarea").wait_for(timeout=60_000)


@pytest.mark.slow
def test_ask_with_image_shows_cited_answer_and_evidence_gallery(app, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_app(page, app.url)
    box = page.locator("#ask-box")
    box.locator("textarea").fill("How much was the espresso at the harbour cafe?")
    box.locator("input[type=file]").set_input_files(str(SAMPLES / "cafe-receipt.jpg"))
    box.locator("img").first.wait_for(timeout=30_000)  # the attached picture is uploaded and previewed
    box.locator("textarea").press("Enter")

    cite = page.locator("#ask-answer a.cite").first
    cite.wait_for(timeout=90_000)
    page.locator("#ask-info").get_by_text("cited").wait_for(timeout=30_000)  # the final answer is in
    answer = page.locator("#ask-answer").inner_text()
    assert "espresso" in answer.lower() and re.search(r"\[\d+\]", answer), answer
    n = cite.get_attribute("href").removeprefix("#ev-")
    card = page.locator(f"#ask-evidence #ev-{n}")
    assert card.count() == 1 and "cafe-receipt.jpg" in card.inner_text()
    gallery = page.locator("#ask-gallery img")
    gallery.first.wait_for(timeout=30_000)
    assert gallery.count() >= 1
    cite.click()
    assert page.evaluate("location.hash") == f"#ev-{n}"

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-ask.png"), full_page=True)
    gallery.first.click()  # click to enlarge: the gallery opens its preview
    page.screenshot(path=str(ARTIFACTS / "ui-ask-enlarged.png"))
    assert not errors, errors
    page.close()


@pytest.mark.slow
def test_the_video_player_shows_the_transcript_as_subtitles(app, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    open_app(page, app.url)
    page.get_by_role("tab", name="Search").click()
    page.locator("#search-box textarea").fill("when does the keeper turn the light on")
    page.locator("#search-box textarea").press("Enter")
    video = page.locator("#search-results video").first
    video.wait_for(timeout=60_000)
    cues = video.evaluate("""v => new Promise(done => {
        const track = v.textTracks[0]; track.mode = 'showing';
        const check = () => track.cues && track.cues.length ? done(Array.from(track.cues, c => [c.startTime, c.text]))
                                                             : setTimeout(check, 100);
        check(); setTimeout(() => done(null), 20000); })""")
    assert cues and any("light on" in text and 11 <= start <= 13 for start, text in cues), cues
    page.close()


@pytest.mark.slow
def test_an_example_question_then_stop(slow_app, browser):
    app, slow = slow_app
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    open_app(page, app.url)
    examples = page.locator("#ask-examples button, #ask-examples tr").filter(has_text="?")
    examples.first.wait_for(timeout=30_000)
    question = examples.first.inner_text().strip()
    examples.first.click()
    box = page.locator("#ask-box textarea")
    page.wait_for_function("q => document.querySelector('#ask-box textarea').value === q", arg=question,
                           timeout=10_000)
    box.press("Enter")
    page.locator("#ask-answer").get_by_text("word3").wait_for(timeout=60_000)
    page.locator("#ask-box button.stop-button").click()
    assert slow.closed.wait(10) and not slow.finished  # the answer was stopped, its generator closed
    page.wait_for_timeout(500)  # what was already on its way to the page
    shown = page.locator("#ask-answer").inner_text()
    page.wait_for_timeout(1000)
    assert page.locator("#ask-answer").inner_text() == shown and "word399" not in shown  # nothing more comes
    page.close()
