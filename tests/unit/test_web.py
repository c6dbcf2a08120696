"""The web chat without a server: rendering, follow-up rules, options. (A real `qa serve`: tests/e2e/test_web.py.)"""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from qa.documents import Passage
from qa.search import Answer, Hit
from qa.web import (NOT_FOUND, contextualize, highlight, is_follow_up, may_rebuild, parse_auth, render_answer,
                    render_error)
from tests.serving import SCRIPT


def _answer(answerable: bool, text: str = "甲乙丙。全年签约项目17个。其他。", answer: str = "全年签约项目17个。") -> Answer:
    passage = Passage("p1", "doc.txt", "标题<b>", "2020年工作回顾", text, 5)
    return Answer(question="全年签约了多少个项目？", answerable=answerable, hits=[Hit(passage, 0.7432, answer)],
                  confidence=0.87 if answerable else 0.2)


@pytest.mark.parametrize("question, previous, expected", [
    ("那2021年呢？", "2020年全年签约了多少个项目？", "2021年全年签约了多少个项目？"),
    ("2021年的呢", "2020年全年签约了多少个项目？", "2021年全年签约了多少个项目？"),
    ("那一般公共预算收入呢？", "2020年地区生产总值是多少？", "一般公共预算收入，2020年地区生产总值是多少？"),
    ("全年累计巡河多少轮次呢？", "2020年全年签约了多少个项目？", "全年累计巡河多少轮次呢？"),
    ("2021年有哪些工作思路？", "2020年全年签约了多少个项目？", "2021年有哪些工作思路？"),
    ("那2021年呢？", None, "那2021年呢？"),
])
def test_follow_up_is_read_in_context_of_previous_question(question, previous, expected):
    assert contextualize(question, previous) == expected


def test_only_elliptical_questions_count_as_follow_ups():
    assert is_follow_up("那2021年呢？") and is_follow_up("还有白塔村呢")
    assert not is_follow_up("那是什么呢？") and not is_follow_up("全年签约了多少个项目？")


def test_highlight_escapes_and_marks_answer_and_terms():
    text = f"前言{SCRIPT}。全年签约项目17个。"
    rendered = highlight(text, "全年签约项目17个。", ["签约", "项目", "年"])
    assert "<script>" not in rendered and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert '<mark class="qa-hl">全年<span class="qa-term">签约</span><span class="qa-term">项目</span>17个。</mark>' \
        in rendered
    assert rendered.count("qa-term") == 2  # the one-character word 年 is not marked


def test_answerable_reply_starts_with_the_answer_sentence():
    rendered = render_answer(_answer(True))
    assert rendered.index("答：") < rendered.index("qa-card")
    assert "全年签约项目17个。</strong>" in rendered and NOT_FOUND not in rendered
    assert "标题&lt;b&gt;" in rendered and "第 5 段" in rendered and "匹配度 74%" in rendered
    assert "把握：高（87%）" in rendered


def test_unanswerable_reply_says_so_and_labels_nearest_passages():
    rendered = render_answer(_answer(False))
    assert NOT_FOUND in rendered and "答：" not in rendered
    assert "qa-card qa-nearest" in rendered and "最接近的段落" in rendered and "把握：低（20%）" in rendered


def test_follow_up_reply_shows_how_it_was_read():
    rendered = render_answer(_answer(True), asked="那2021年呢？")
    assert "理解为：全年签约了多少个项目？" in rendered


def test_traditional_question_words_are_marked_in_simplified_text():
    answer = _answer(True)
    answer.question = "全年簽約了多少個項目？"
    assert '<span class="qa-term">签约</span>' in render_answer(answer)


def test_errors_render_as_escaped_messages():
    assert render_error("bad <b>x</b>") == '<div class="qa-reply qa-error">⚠ bad &lt;b&gt;x&lt;/b&gt;</div>'


def test_rebuild_is_allowed_from_loopback_or_for_signed_in_users():
    def request(host, username=None):
        return SimpleNamespace(client=SimpleNamespace(host=host), username=username)

    assert may_rebuild(request("127.0.0.1"), auth_enabled=False) and may_rebuild(request("::1"), False)
    assert not may_rebuild(request("192.168.1.20"), auth_enabled=False)
    assert may_rebuild(request("192.168.1.20", "alice"), auth_enabled=True)
    assert not may_rebuild(request("127.0.0.1"), auth_enabled=True)
    assert not may_rebuild(None, auth_enabled=False)


def test_auth_option_is_user_colon_password():
    from qa.config import QAError

    assert parse_auth("alice:s3:cret") == ("alice", "s3:cret") and parse_auth(None) is None
    with pytest.raises(QAError, match="USER:PASS"):
        parse_auth("alice")


def test_serve_rejects_a_malformed_auth_option():
    result = subprocess.run([sys.executable, "-m", "qa", "serve", "--auth", "nocolon"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 1 and "USER:PASS" in result.stderr and "Traceback" not in result.stderr
