"""A real browser on the real chat: 在原文中查看 opens the document at the highlighted passage; 👍 / 👎 and the
correction box write lines to the server's feedback file.

Uses the browser and page fixtures of tests/e2e/test_browser.py and the server of tests/conftest.py (its own, with its own feedback file).
With QA_DOCS_SCREENSHOT=1 the document view's screenshot is also saved as docs/document-view.png.
"""

from __future__ import annotations

import os
import time

import pytest

from qa.feedback import read
from tests.conftest import ROOT
from tests.serving import IMG, INJECTION_QUESTION, SCRIPT
from tests.e2e.test_browser import ANSWER_TIMEOUT_MS, ask, browser, page, shot  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPORT_PASSAGES = 16
CURRENT_IS_INSIDE_VIEW = """() => {
  const current = document.querySelector('#qa-docview .qa-doc-current');
  const body = document.querySelector('#qa-docview .qa-doc-body');
  if (!current || !body) return false;
  const c = current.getBoundingClientRect(), b = body.getBoundingClientRect();
  return c.top >= b.top && c.bottom <= b.bottom && c.top < window.innerHeight;
}"""


def open_document(page, card):
    """Click a card's 在原文中查看 and wait until the view shows that card's passage, scrolled into view."""
    passage = card.locator("button.qa-doc-link").get_attribute("value")
    card.locator("button.qa-doc-link").click()
    page.locator(f"#qa-docview .qa-doc-current[id='qa-p-{passage}']").wait_for(timeout=60_000)
    page.wait_for_function(CURRENT_IS_INSIDE_VIEW, timeout=30_000)
    return passage


def feedback_lines(server, **wanted) -> list[dict]:
    """The feedback file's records whose fields (and correction fields, as ``correction__kind``) match."""
    if not server.feedback_file.exists():
        return []
    found = []
    for _, record in read(server.feedback_file).records:
        fields = {**record, **{f"correction__{k}": v for k, v in (record["correction"] or {}).items()}}
        if all(fields.get(key) == value for key, value in wanted.items()):
            found.append(record)
    return found


def wait_for_line(server, **wanted) -> dict:
    deadline = time.monotonic() + 30
    while not feedback_lines(server, **wanted):
        assert time.monotonic() < deadline, f"no feedback line with {wanted}: {feedback_lines(server)}"
        time.sleep(0.2)
    return feedback_lines(server, **wanted)[-1]


def test_show_in_document_opens_the_whole_document_at_the_highlighted_passage(page):
    reply = ask(page, "全年累计巡河多少轮次？")
    first = reply.locator(".qa-card").first
    assert first.locator("button.qa-doc-link").inner_text() == "在原文中查看 / Show in document"
    open_document(page, first)
    view = page.locator("#qa-docview")
    current = view.locator(".qa-doc-current")
    assert "826轮次" in current.locator("mark.qa-hl").inner_text() and current.is_visible()
    assert view.locator(".qa-doc-current").count() == 1
    assert "金城镇" in view.locator("h1.qa-doc-title").inner_text()
    headings = view.locator("h2.qa-doc-heading").all_inner_texts()
    assert "2020年工作回顾" in headings and "2021年工作思路" in headings
    assert view.locator("p.qa-doc-p").count() == REPORT_PASSAGES
    assert view.locator(".qa-doc-body").evaluate("e => e.scrollTop") > 0  # scrolled down to the 8th paragraph
    background = current.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), background
    shot(page, "08-document-view")
    if os.environ.get("QA_DOCS_SCREENSHOT"):
        page.screenshot(path=str(ROOT / "docs" / "document-view.png"))
    third = reply.locator(".qa-card").nth(2)
    passage = open_document(page, third)
    assert view.locator(".qa-doc-current").count() == 1
    assert view.locator(".qa-doc-current").get_attribute("id") == f"qa-p-{passage}"
    page.locator("#qa-doc-close").click()
    page.locator("#qa-docview").wait_for(state="hidden", timeout=30_000)


def test_document_view_shows_corpus_markup_as_text(page):
    reply = ask(page, INJECTION_QUESTION)
    open_document(page, reply.locator(".qa-card").first)
    view = page.locator("#qa-docview")
    text = view.inner_text()
    assert SCRIPT in text and IMG in text and "紫色长颈鹿" in view.locator("mark.qa-hl").inner_text()
    assert view.locator("script, img, a, strong, em").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []


def test_thumbs_down_with_a_correction_is_written_to_the_feedback_file(page, server):
    question = "全年发放民政经费多少？"
    reply = ask(page, question)
    passages = reply.locator("button.qa-doc-link").evaluate_all("buttons => buttons.map(b => b.value)")
    page.locator("#qa-chat").get_by_label("踩").last.click()
    box = page.locator("#qa-correction")
    box.wait_for(timeout=30_000)
    assert "已记录：没有帮助" in page.locator("#qa-feedback-status").inner_text()
    first = wait_for_line(server, question=question, verdict="down", correction=None)
    assert first["source"] == "chat" and first["shown"]["passages"] == passages
    box.locator("#qa-correction-text textarea").fill("1891万元")
    shot(page, "09-correction-box")
    page.locator("#qa-correction-send").click()
    page.wait_for_function("() => document.querySelector('#qa-feedback-status').innerText.includes('已记录更正')",
                           timeout=30_000)
    line = wait_for_line(server, question=question, correction__text="1891万元")
    assert line["verdict"] == "down" and line["correction"] == {"kind": "text", "text": "1891万元"}
    assert line["reply"] == first["reply"] and line["shown"] == first["shown"]
    assert set(line) == {"time", "reply", "source", "question", "shown", "verdict", "correction"}
    assert box.is_hidden()


def test_thumbs_up_a_chosen_card_and_not_in_documents(page, server):
    reply = ask(page, "2020年全年签约了多少个项目？")
    page.locator("#qa-chat").get_by_label("赞").last.click()
    page.wait_for_function("() => document.querySelector('#qa-feedback-status').innerText.includes('有帮助')",
                           timeout=30_000)
    liked = wait_for_line(server, question="2020年全年签约了多少个项目？", verdict="up")
    assert "签约项目17个" in liked["shown"]["answer"] and liked["source"] == "chat"
    page.locator("#qa-chat").get_by_label("Liked").last.click()  # a second click takes the 👍 back
    assert wait_for_line(server, verdict="withdrawn")["reply"] == liked["reply"]
    reply = ask(page, "那2021年呢？")
    passages = reply.locator("button.qa-doc-link").evaluate_all("buttons => buttons.map(b => b.value)")
    page.locator("#qa-chat").get_by_label("踩").last.click()
    page.locator("#qa-correction").wait_for(timeout=30_000)
    page.locator("#qa-correction-card").get_by_text("#2", exact=True).click()
    page.locator("#qa-correction-send").click()
    card = wait_for_line(server, correction__kind="card")
    assert card["question"] == "2021年全年签约了多少个项目？"  # the question as searched, not "那2021年呢？"
    assert card["correction"]["card"] == 2 and card["correction"]["passage"] == passages[1]
    ask(page, "金城镇的总面积是多少平方公里？")
    page.locator("#qa-chat").get_by_label("踩").last.click()
    page.locator("#qa-not-in-documents").click()
    line = wait_for_line(server, question="金城镇的总面积是多少平方公里？", correction__kind="not_in_documents")
    assert line["verdict"] == "down"
