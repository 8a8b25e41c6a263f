"""The page in a real browser (Debian's chromium driven by Playwright) against a real
server: ask in each script, a follow-up read with its question, a citation opened in its
document, the conversation kept across a reload and cleared, a document uploaded, asked
about and deleted. Screenshots of each step go to the test's folder (printed)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, serving, wait_ready
from playwright.sync_api import Page, expect, sync_playwright

from service.app import create_app
from service.config import Settings
from service.engine import build, make_embedder, served_corpus
from service.feedback import FeedbackStore, question_line

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (.ci/run installs it when missing)
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def page_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """A server over the 2023 results (zh-Hant) and the English ESG edition, writable."""
    root = tmp_path_factory.mktemp("page")
    (root / "corpus").mkdir()
    for name in ("002_bbffb2fef796343d.txt", "003_dda3a3fd270e7759.txt"):
        shutil.copy(REPO / "corpus" / name, root / "corpus" / name)
    manifest = (REPO / "corpus" / "manifest.toml").read_text(encoding="utf-8")
    entries = manifest.split("[[documents]]")
    kept = [e for e in entries[1:] if "002_" in e or "003_" in e]
    (root / "corpus" / "manifest.toml").write_text(
        "".join("[[documents]]" + e for e in kept).replace(
            'parallel = "sensetime-esg-2023-zh-hant"', ""), encoding="utf-8")
    settings = Settings(data_dir=root / "data", corpus_dir=root / "corpus",
                        glossary=REPO / "corpus" / "glossary.toml", reload_seconds=0.5)
    build(settings, served_corpus(settings), make_embedder(settings))
    with serving(create_app(settings)) as url:
        assert wait_ready(url).status_code == 200
        yield url, settings


@pytest.fixture
def page(page_site: tuple[str, Settings], tmp_path: Path) -> Iterator[Page]:
    page_url, _ = page_site
    assert CHROMIUM.exists(), "install Debian's chromium (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(page_url)
        yield page
        browser.close()


def _shot(page: Page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def _ask(page: Page, question: str) -> None:
    turns = page.locator(".turn").count()
    page.fill("#question", question)
    page.click("#ask")
    expect(page.locator(".turn")).to_have_count(turns + 1)
    expect(page.locator(".turn").last.locator(".answer")).not_to_have_text("…")


def test_a_conversation_with_a_follow_up_and_a_citation_opened(
        page: Page, page_site: tuple[str, Settings], tmp_path: Path) -> None:
    _, settings = page_site
    _ask(page, "商湯2023年的毛利是多少？")
    first = page.locator(".turn").nth(0)
    expect(first.locator(".answer")).to_contain_text("1,500,787")
    _ask(page, "那2022年呢？")  # a follow-up: read with the question before it
    second = page.locator(".turn").nth(1)
    expect(second.locator(".answer")).to_contain_text("2,542,267")
    expect(second.locator(".inherited")).to_be_visible()
    _ask(page, "What was SenseTime's total energy consumption in 2023?")
    expect(page.locator(".turn").nth(2).locator(".answer")).to_contain_text("130,242.2")
    _ask(page, "商汤2023年的收入是多少？")
    expect(page.locator(".turn").nth(3).locator(".answer")).to_contain_text("3,405,842")
    _shot(page, tmp_path, "1-conversation")

    # the row's citation (the first one is its table's header), opened in its document
    first.locator(".citation").filter(has_text="1,500,787").locator("button.open").click()
    context = page.locator("#context")
    expect(context).to_be_visible()
    expect(context.locator("mark")).to_contain_text("1,500,787")
    expect(context.locator(".where")).to_contain_text("line")
    _shot(page, tmp_path, "2-citation-in-context")

    page.locator(".turn").nth(1).locator("button.rate-up").click()  # feedback, stored
    expect(page.locator(".turn").nth(1).locator(".rated")).to_contain_text("thanks")
    page.locator(".turn").nth(3).locator("button.rate-down").click()
    expect(page.locator(".turn").nth(3).locator(".rated")).to_contain_text("noted")
    stored = FeedbackStore(settings.data_dir).all()
    assert [(f.rating, f.question, f.history) for f in stored] == [
        ("up", "那2022年呢？", ("商湯2023年的毛利是多少？",)),
        ("down", "商汤2023年的收入是多少？", ("商湯2023年的毛利是多少？", "那2022年呢？",
                                         "What was SenseTime's total energy consumption in "
                                         "2023?"))]
    assert any("2,542,267" in q.text for q in stored[0].quotes)
    line = question_line(stored[0])  # a thumbs-up becomes a question line to check
    assert "2,542,267" in line["answers"] and line["history"] == ["商湯2023年的毛利是多少？"]

    page.reload()  # the conversation is kept in the browser, ratings too
    expect(page.locator(".turn")).to_have_count(4)
    expect(page.locator(".turn").nth(1).locator(".rated")).to_be_visible()
    page.click("#new-conversation")
    expect(page.locator(".turn")).to_have_count(0)


def test_a_document_uploaded_in_the_page_is_asked_about_then_deleted(page: Page,
                                                                    tmp_path: Path) -> None:
    expect(page.locator("#documents .document")).to_have_count(2)
    upload = REPO / "tests" / "data" / "uploads" / "acme-2024.txt"
    page.fill("#upload-company", "Acme Robotics Co.")  # the upload form's fields
    page.fill("#upload-year", "2024")
    page.set_input_files("#upload", str(upload))
    expect(page.locator("#job-status")).to_contain_text("job done")
    expect(page.locator("#job-status")).to_contain_text("acme-2024.txt: indexed")
    expect(page.locator("#documents .document")).to_have_count(3)
    expect(page.locator('#documents .document[data-doc-id="acme-2024"]')).to_contain_text(
        "Acme Robotics Co.")
    _shot(page, tmp_path, "3-documents-panel")
    _ask(page, "How many people did Acme Robotics employ at the end of 2024?")
    expect(page.locator(".turn").last.locator(".answer")).to_contain_text("1,204")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('#documents .document[data-doc-id="acme-2024"] button.delete').click()
    expect(page.locator("#documents .document")).to_have_count(2)
    expect(page.locator("#job-status")).to_contain_text("job done")
    _shot(page, tmp_path, "4-after-delete")


def test_the_widget_on_a_portal_the_server_does_not_allow_says_so(
        page: Page, page_site: tuple[str, Settings], tmp_path: Path) -> None:
    """A portal on another origin embeds the widget, but the server's WENDA_CORS_ORIGINS
    does not list it: the reader is told that, not just "cannot reach the server"."""
    import functools
    import http.server
    import threading

    url, _ = page_site
    (tmp_path / "portal.html").write_text(
        f'<!doctype html><meta charset="utf-8"><div id="wenda"></div>'
        f'<script src="{url}/widget.js"></script>', encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    portal = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=portal.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{portal.server_address[1]}/portal.html")
        page.fill(".wenda input[type=search]", "商湯2023年的毛利是多少？")
        page.click(".wenda button[type=submit]")
        expect(page.locator(".wenda-status")).to_contain_text("WENDA_CORS_ORIGINS")
        _shot(page, tmp_path, "5-widget-on-a-portal-not-allowed")
    finally:
        portal.shutdown()
