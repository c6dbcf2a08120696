"""A real browser (Debian's chromium through Playwright) using the real chat served by `qa serve`.

Screenshots go to out/screenshots/. Without chromium the tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.serving import IMG, INJECTION_QUESTION, MARKDOWN, SCRIPT
from tests.e2e.test_web import OUT, write_figure

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SHOTS = OUT / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ANSWER_TIMEOUT_MS = 180_000


def chromium_path() -> str:
    """Find Debian's chromium; skip when it is missing, but fail under CI, which must install it."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    reason = "chromium is not installed (apt-get install chromium fonts-noto-cjk)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    """A fresh page on the chat; ``page.dialogs`` collects any alert/confirm that fires (there must be none)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    opened = context.new_page()
    opened.dialogs = []

    def on_dialog(dialog):
        opened.dialogs.append(dialog.message)
        dialog.dismiss()

    opened.on("dialog", on_dialog)
    opened.server_log = server.log
    opened.opened_at = time.perf_counter()
    opened.goto(server.url)
    opened.locator("#qa-question textarea").wait_for()
    yield opened
    context.close()


def replies(page):
    return page.locator("#qa-chat .qa-reply")


def wait_for_reply(page, before: int):
    """Wait until the chat holds more replies than ``before`` and return the newest."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("n => document.querySelectorAll('#qa-chat .qa-reply').length > n", arg=before,
                               timeout=ANSWER_TIMEOUT_MS)
    except PlaywrightTimeout:
        shot(page, "timeout")
        pytest.fail(f"no reply within {ANSWER_TIMEOUT_MS // 1000}s; chat: {page.locator('#qa-chat').inner_text()!r}"
                    f"\nserver log:\n{page.server_log.read_text()[-3000:]}")
    return replies(page).last


def ask(page, question: str):
    """Type a question, press Enter, and return the reply."""
    before = replies(page).count()
    box = page.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")
    return wait_for_reply(page, before)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_question_shows_answer_highlight_and_source(page):
    reply = ask(page, "2020年全年签约了多少个项目？")
    write_figure("page_open_to_first_answer_seconds", round(time.perf_counter() - page.opened_at, 2))
    assert "17个" in reply.locator(".qa-answer").inner_text() and "把握" in reply.locator(".qa-answer").inner_text()
    cards = reply.locator(".qa-card")
    assert cards.count() == 3
    first = cards.first
    assert "签约项目17个" in first.locator("mark.qa-hl").inner_text()
    assert first.locator(".qa-term").count() >= 2
    meta = first.locator(".qa-meta").inner_text()
    assert "#1" in meta and "匹配度" in meta and "2020年工作回顾" in meta and "金城镇" in meta and "段" in meta
    background = first.locator("mark.qa-hl").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), background
    reply.locator(".qa-answer").scroll_into_view_if_needed()
    shot(page, "01-answer")


def test_follow_up_is_understood_in_context(page):
    ask(page, "2020年金城镇的地区生产总值是多少？")
    reply = ask(page, "那一般公共预算收入呢？")
    assert "理解为：一般公共预算收入，2020年金城镇的地区生产总值是多少？" in reply.inner_text()
    assert "一般公共预算收入3.6亿元" in reply.locator(".qa-card").first.inner_text()
    reply = ask(page, "那2021年呢？")  # follows the conversation: now about 一般公共预算收入, in 2021
    assert "理解为：一般公共预算收入，2021年金城镇的地区生产总值是多少？" in reply.inner_text()
    shot(page, "02-follow-up")


def test_example_click_and_passage_count(page):
    page.locator("#qa-top-k input[type=number]").fill("5")
    page.locator("#qa-top-k input[type=number]").press("Enter")
    before = replies(page).count()
    page.get_by_role("button", name="全年累计巡河多少轮次？").click()
    reply = wait_for_reply(page, before)
    assert "全年累计巡河多少轮次？" in page.locator("#qa-chat").inner_text()
    assert "826轮次" in reply.locator(".qa-card").first.locator("mark.qa-hl").inner_text()
    assert reply.locator(".qa-card").count() == 5
    shot(page, "03-example")


def test_traditional_chinese_question(page):
    reply = ask(page, "2020年全年簽約了多少個項目？")
    assert "签约项目17个" in reply.locator(".qa-card").first.inner_text()
    assert "17个" in reply.locator(".qa-answer").inner_text()
    shot(page, "04-traditional")


def test_unanswerable_question_says_nothing_was_found(page):
    reply = ask(page, "火星上有多少颗卫星？")
    shot(page, "05-unanswerable")
    assert "资料中没有找到相关内容" in reply.inner_text()
    assert reply.locator(".qa-answer").count() == 0
    assert reply.locator(".qa-card.qa-nearest").count() == reply.locator(".qa-card").count() > 0


def test_corpus_html_and_markdown_are_shown_literally_and_run_nothing(page):
    reply = ask(page, INJECTION_QUESTION)
    card = reply.locator(".qa-card").first
    text = card.locator(".qa-text").inner_text()
    assert SCRIPT in text and IMG in text and MARKDOWN in text
    assert card.locator("script, img, a, strong, em").count() == 0
    typed = ask(page, "<img src=y onerror=alert(3)>是什么？")
    assert typed.count() == 1
    assert "<img src=y onerror=alert(3)>是什么？" in page.locator("#qa-chat").inner_text()
    assert page.locator("#qa-chat img[src=y], #qa-chat img[src=x]").count() == 0
    page.wait_for_timeout(1000)
    shot(page, "06-injection")
    assert page.dialogs == []


def test_empty_question_shows_a_message_and_clear_empties_the_chat(page):
    reply = ask(page, "")
    assert "请输入问题" in reply.inner_text() and "Traceback" not in reply.inner_text()
    page.locator("#qa-clear").click()
    page.wait_for_function("() => document.querySelectorAll('#qa-chat .qa-reply').length === 0", timeout=30_000)
    reply = ask(page, "全年发放民政经费多少？")
    assert "1891万元" in reply.locator(".qa-card").first.inner_text()


def test_index_panel_and_rebuild(page):
    panel = page.locator("#qa-index")
    page.wait_for_function("() => document.querySelector('#qa-index').innerText.includes('m3e-small')",
                           timeout=60_000)
    text = panel.inner_text()
    assert "文档 documents\t2" in text and "模型 model\tm3e-small" in text and "过期 stale\t否 no" in text
    page.locator("#qa-rebuild").click()
    page.wait_for_function("() => document.querySelector('#qa-index').innerText.includes('索引已重建')",
                           timeout=ANSWER_TIMEOUT_MS)
    shot(page, "07-rebuild")
    reply = ask(page, "全年累计巡河多少轮次？")
    assert "826轮次" in reply.locator(".qa-card").first.inner_text()


def test_reply_opens_with_the_short_answer_and_explains_each_passage(page):
    reply = ask(page, "2020年全年签约了多少个项目？")
    opening = reply.locator(".qa-answer")
    assert opening.locator(".qa-short-answer").inner_text() == "17个"
    assert opening.inner_text().startswith("答：17个")
    first = reply.locator(".qa-card").first
    assert first.locator("mark.qa-hl mark.qa-short").inner_text() == "17个"
    why = first.locator("details.qa-why")
    assert not why.locator("ul").is_visible()
    why.locator("summary").click()
    explained = why.locator("ul")
    explained.wait_for(state="visible")
    text = explained.inner_text()
    assert "匹配的词" in text and "签约" in text and "reader" in text and "evidence" in text
    shot(page, "08-why-this-passage")
