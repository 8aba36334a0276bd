"""The app in a real headless browser (Debian chromium driven by Playwright): ask with an image."""
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


@pytest.mark.slow
def test_ask_with_image_shows_cited_answer_and_evidence_gallery(app, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(app.url, wait_until="networkidle")
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
