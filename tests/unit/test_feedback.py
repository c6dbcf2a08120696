"""Feedback: the file (format, locking, corrupt lines), corrections, export to a question set, weekly counts, the
document view's rendering, the `qa feedback` commands' errors. (Through a real `qa serve`: tests/e2e/test_feedback.py.)"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.config import QAError
from qa.documents import Passage
from qa.evaluate import load_question_set
from qa.feedback import (DOWN, UP, WITHDRAWN, append, check_record, describe_shown, make_record, parse_correction,
                         read)
from qa.feedback.export import export_questions, question_id
from qa.feedback.stats import iso_week, weekly
from qa.search import Answer, Hit
from qa.web import SHOW_IN_DOCUMENT, DocumentViews, render_answer, render_document

LINE_KEYS = ["time", "reply", "source", "question", "shown", "verdict", "correction"]
SHOWN_KEYS = ["answerable", "answer", "short_answer", "passages", "confidence", "index_build", "index_built_at"]
CARDS = [{"passage": "p1", "answer": "全年签约项目17个。"}, {"passage": "p2", "answer": "全年累计巡河826轮次。"}]


def _shown(answer: str | None = "全年签约项目17个。", answerable: bool = True, short: str | None = None) -> dict:
    return {"answerable": answerable, "answer": answer, "short_answer": short, "passages": ["p1", "p2"],
            "confidence": 0.9, "index_build": "b1", "index_built_at": "2026-01-05T08:00:00+00:00"}


def _record(question: str, verdict: str, shown: dict | None = None, correction: dict | None = None,
            reply: str | None = None, time: str | None = None) -> dict:
    record = make_record(question, verdict, shown if shown is not None else _shown(), correction, reply)
    if time:
        record["time"] = time
    return record


# ---- the file ----------------------------------------------------------------------------------------------------

def test_a_line_has_the_documented_keys_and_round_trips(tmp_path):
    path = tmp_path / "deep" / "feedback.jsonl"
    record = _record("2020年全年签约了多少个项目？", DOWN, correction={"kind": "text", "text": "17个"})
    append(path, record)
    raw = path.read_text(encoding="utf-8")
    assert raw.endswith("\n") and raw.count("\n") == 1 and "签约" in raw  # one line, Chinese kept as text
    loaded = read(path)
    assert loaded.problems == [] and loaded.records == [(1, record)]
    assert list(record) == LINE_KEYS and list(record["shown"]) == SHOWN_KEYS
    assert len(record["reply"]) == 16 and record["time"].endswith("+00:00")


def test_corrupt_lines_are_reported_with_their_number_and_skipped(tmp_path):
    path = tmp_path / "feedback.jsonl"
    good = _record("全年发放民政经费多少？", UP)
    path.write_text(json.dumps(good, ensure_ascii=False) + "\n" + "not json\n" + '{"question": "x"}\n'
                    + json.dumps({**good, "verdict": "maybe"}) + "\n" + '{"time": "2026-01-0', encoding="utf-8")
    append(path, _record("全年累计巡河多少轮次？", UP))  # the unfinished last line must not swallow this one
    loaded = read(path)
    assert [number for number, _ in loaded.records] == [1, 6]
    assert loaded.records[1][1]["question"] == "全年累计巡河多少轮次？"
    assert [problem.split(":")[0] for problem in loaded.problems] == [
        "feedback.jsonl line 2", "feedback.jsonl line 3", "feedback.jsonl line 4", "feedback.jsonl line 5"]
    assert "unknown verdict 'maybe'" in loaded.problems[2]


def test_fifty_threads_appending_leave_fifty_whole_lines(tmp_path):
    path = tmp_path / "feedback.jsonl"
    start = threading.Barrier(50)

    def give(number: int) -> None:
        start.wait()
        append(path, _record(f"问题{number}" + "长" * 3000, UP if number % 2 else DOWN))

    with ThreadPoolExecutor(50) as pool:
        list(pool.map(give, range(50)))
    loaded = read(path)
    assert loaded.problems == [] and len(loaded.records) == 50
    assert sorted(int(r["question"].split("长")[0][2:]) for _, r in loaded.records) == list(range(50))


def _append_many(path: str, worker: int, count: int) -> None:
    for number in range(count):
        append(Path(path), _record(f"进程{worker}问题{number}" + "长" * 20_000, UP))


def test_processes_appending_at_once_never_interleave(tmp_path):
    path = tmp_path / "feedback.jsonl"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(path), worker, 15)) for worker in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    loaded = read(path)
    assert loaded.problems == [] and len(loaded.records) == 60
    assert len(path.read_bytes().splitlines()) == 60


def test_unwritable_file_and_missing_file_are_clear_errors(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(QAError, match="Cannot write feedback to .*QA_FEEDBACK_FILE"):
        append(blocker / "feedback.jsonl", _record("问题", UP))
    with pytest.raises(QAError, match="no verdict has been given yet"):
        read(tmp_path / "none.jsonl")


def test_a_later_verdict_on_the_same_reply_replaces_the_earlier_one(tmp_path):
    path = tmp_path / "feedback.jsonl"
    append(path, _record("问题一", DOWN, reply="r1"))
    append(path, _record("问题二", UP, reply="r2"))
    append(path, _record("问题一", DOWN, correction={"kind": "not_in_documents"}, reply="r1"))
    append(path, _record("问题二", WITHDRAWN, reply="r2"))
    latest = read(path).latest()
    assert [(number, record["correction"]) for number, record in latest] == [(3, {"kind": "not_in_documents"})]


# ---- corrections and records ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    (None, None), ("  ", None),
    ("不在资料中", {"kind": "not_in_documents"}), ("不在资料中。", {"kind": "not_in_documents"}),
    ("Not in the documents", {"kind": "not_in_documents"}),
    ("#2", {"kind": "card", "card": 2, "passage": "p2", "text": "全年累计巡河826轮次。"}),
    ("＃1", {"kind": "card", "card": 1, "passage": "p1", "text": "全年签约项目17个。"}),
    (" 17个 ", {"kind": "text", "text": "17个"}), ("2", {"kind": "text", "text": "2"}),
])
def test_corrections_are_read_as_text_not_in_documents_or_a_card(text, expected):
    assert parse_correction(text, CARDS) == expected


def test_bad_corrections_and_records_are_refused_with_a_reason():
    with pytest.raises(QAError, match="there is no card #3"):
        parse_correction("#3", CARDS)
    with pytest.raises(QAError, match="at most 1000"):
        parse_correction("字" * 1001)
    with pytest.raises(QAError, match="question is empty"):
        make_record("  ", UP, None)
    with pytest.raises(QAError, match="goes with a 👎"):
        make_record("问题", UP, None, {"kind": "text", "text": "x"})
    with pytest.raises(QAError, match="verdict must be one of"):
        make_record("问题", "meh", None)
    assert check_record({"question": "问", "verdict": UP, "time": "yesterday"}) == "bad time 'yesterday'"


def test_what_was_shown_is_recorded_from_the_answer_and_its_top_hit():
    passage = Passage("p9", "doc.txt", "标题", "", "全年签约项目17个。", 1)
    answer = Answer("问题", True, [Hit(passage, 0.7, "全年签约项目17个。")], confidence=0.8765)
    index = SimpleNamespace(path=Path("/x/builds/20260105T0800-ab"), manifest={"built_at": "2026-01-05T08:00:00"})
    shown = describe_shown(answer, index)
    assert shown == {"answerable": True, "answer": "全年签约项目17个。", "short_answer": None, "passages": ["p9"],
                     "confidence": 0.8765, "index_build": "20260105T0800-ab", "index_built_at": "2026-01-05T08:00:00"}
    short = Answer("问题", True, [Hit(passage, 0.7, "全年签约项目17个。", "17个")], confidence=0.5)
    assert describe_shown(short)["short_answer"] == "17个" and describe_shown(short)["confidence"] == 0.5
    nothing = describe_shown(Answer("问题", False, [], confidence=0.0))
    assert (nothing["passages"], nothing["answer"], nothing["index_build"]) == ([], None, None)


# ---- export and stats ---------------------------------------------------------------------------------------------

PASSAGE_TEXTS = ["全面推进项目招引百日攻坚行动，全年签约项目17个、总投资52.7亿元。", "全年累计巡河826轮次。"]


def _exported(tmp_path, records):
    path = tmp_path / "feedback.jsonl"
    for record in records:
        append(path, record)
    return export_questions(read(path), PASSAGE_TEXTS)


def test_export_follows_the_rules_and_lists_the_rest(tmp_path):
    exported = _exported(tmp_path, [
        _record("签约了多少个项目？", UP, _shown("全年签约项目17个、总投资52.7亿元。", short="17个")),
        _record("巡河多少轮次？", UP, _shown("全年累计巡河826轮次。")),
        _record("火星上有几颗卫星？", UP, _shown(None, answerable=False)),
        _record("总面积是多少？", DOWN, correction={"kind": "not_in_documents"}),
        _record("总投资多少？", DOWN, correction={"kind": "text", "text": "总投资 52.7 亿元"}),
        _record("巡了几次河？", DOWN, correction={"kind": "card", "card": 2, "passage": "p2",
                                                 "text": "全年累计巡河826轮次。"}),
        _record("人口多少？", DOWN, correction={"kind": "text", "text": "9.2万人"}),
        _record("学校有几所？", DOWN),
        _record("有几个村？", UP, _shown(None)),
    ])
    by_question = {line["question"]: line for line in exported.questions}
    assert by_question == {
        "签约了多少个项目？": {"id": question_id("签约了多少个项目？"), "question": "签约了多少个项目？",
                        "answers": ["17个"], "answerable": True, "kind": "confirmed"},
        "巡河多少轮次？": {"id": question_id("巡河多少轮次？"), "question": "巡河多少轮次？",
                      "answers": ["全年累计巡河826轮次。"], "answerable": True, "kind": "confirmed"},
        "火星上有几颗卫星？": {"id": question_id("火星上有几颗卫星？"), "question": "火星上有几颗卫星？",
                        "answers": [], "answerable": False, "kind": "confirmed"},
        "总面积是多少？": {"id": question_id("总面积是多少？"), "question": "总面积是多少？", "answers": [],
                      "answerable": False, "kind": "not-in-documents"},
        "总投资多少？": {"id": question_id("总投资多少？"), "question": "总投资多少？",
                     "answers": ["总投资 52.7 亿元"], "answerable": True, "kind": "corrected"},
        "巡了几次河？": {"id": question_id("巡了几次河？"), "question": "巡了几次河？",
                     "answers": ["全年累计巡河826轮次。"], "answerable": True, "kind": "corrected"},
    }
    assert len(exported.left_out) == 3
    assert "人口多少？ — 👎 with a correction that occurs in no indexed passage: '9.2万人'" in exported.left_out[0]
    assert "学校有几所？ — 👎 without a correction" in exported.left_out[1]
    assert "有几个村？ — 👍 but the line does not say which answer was shown" in exported.left_out[2]


def test_verdicts_on_one_question_are_merged_and_disagreements_left_out(tmp_path):
    exported = _exported(tmp_path, [
        _record("签约了多少个项目？", UP, _shown("全年签约项目17个")),
        _record("签约了多少个项目？", DOWN, correction={"kind": "text", "text": "17个"}),
        _record("巡河多少轮次？", UP, _shown("全年累计巡河826轮次。")),
        _record("巡河多少轮次？", DOWN, correction={"kind": "not_in_documents"}),
    ])
    assert exported.questions == [{"id": question_id("签约了多少个项目？"), "question": "签约了多少个项目？",
                                   "answers": ["全年签约项目17个", "17个"], "answerable": True, "kind": "corrected"}]
    assert exported.left_out == ["巡河多少轮次？ — verdicts disagree whether the documents answer it (lines 3, 4)"]


def test_the_export_is_a_question_set_qa_eval_reads_as_is(tmp_path):
    exported = _exported(tmp_path, [_record("签约了多少个项目？", UP, _shown("17个")),
                                    _record("总面积是多少？", DOWN, correction={"kind": "not_in_documents"})])
    out = tmp_path / "set.jsonl"
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in exported.questions))
    loaded = load_question_set(out)
    assert loaded.problems == [] and [(q.answers, q.answerable) for q in loaded.questions] == [(("17个",), True),
                                                                                              ((), False)]


def test_weekly_counts_use_iso_weeks_and_the_last_verdict_of_a_reply(tmp_path):
    path = tmp_path / "feedback.jsonl"
    for record in [_record("一", UP, time="2026-01-04T23:00:00+00:00"),  # Sunday: ISO week 1 of 2026
                   _record("二", DOWN, time="2026-01-05T08:00:00+00:00"),  # Monday: week 2
                   _record("三", UP, time="2026-01-06T08:00:00+00:00"),
                   _record("四", DOWN, reply="r4", time="2026-01-06T09:00:00+00:00"),
                   _record("四", DOWN, correction={"kind": "text", "text": "x"}, reply="r4",
                           time="2026-01-06T09:01:00+00:00")]:
        append(path, record)
    weeks = weekly(read(path))
    assert [(w.week, w.verdicts, w.up, w.down, w.corrections) for w in weeks] == [("2026-W01", 1, 1, 0, 0),
                                                                                  ("2026-W02", 3, 1, 2, 1)]
    assert weeks[1].share_up == pytest.approx(1 / 3) and iso_week("2025-12-29T00:00:00+00:00") == "2026-W01"


# ---- the document view --------------------------------------------------------------------------------------------

def _document(doc_id: str = "doc.txt", title: str = "报告<b>") -> list[Passage]:
    texts = [("", "前言<script>alert(1)</script>。"), ("一、回顾", "全年签约项目17个。其他。"),
             ("一、回顾", "全年累计巡河826轮次。"), ("二、思路", "明年继续。")]
    return [Passage(f"{doc_id}-p{n}", doc_id, title, section, text, n) for n, (section, text) in enumerate(texts, 1)]


def test_a_document_renders_title_headings_and_paragraphs_in_order_escaped():
    rendered = render_document("doc.txt", list(reversed(_document())))
    body = rendered.html
    assert '<h1 class="qa-doc-title">报告&lt;b&gt;</h1>' in body and "<script>" not in body
    assert "前言&lt;script&gt;alert(1)&lt;/script&gt;。" in body
    order = [body.index(part) for part in ("前言", "一、回顾", "签约项目17个", "巡河826轮次", "二、思路", "明年继续")]
    assert order == sorted(order) and body.count("一、回顾") == 1 and body.count('class="qa-doc-p"') == 4


def test_showing_a_passage_highlights_it_and_its_answer_only():
    rendered = render_document("doc.txt", _document())
    shown = rendered.showing("doc.txt-p2", "全年签约项目17个。", "17个")
    assert shown.count("qa-doc-current") == 1
    assert ('<p class="qa-doc-p qa-doc-current" id="qa-p-doc.txt-p2"><mark class="qa-hl">全年签约项目'
            '<span class="qa-term">17个</span>。</mark>其他。</p>') in shown
    assert shown.count("qa-hl") == 1 and shown.count("qa-term") == 1
    assert rendered.html.count("qa-doc-current") == 0  # the kept rendering is not changed


def test_each_document_is_rendered_once_per_index_build():
    index = SimpleNamespace(path=Path("/builds/a"), passages=_document() + _document("other.txt", "另一份"))
    views = DocumentViews()
    first = views.show(index, "doc.txt-p2", "全年签约项目17个。")
    again = views.show(index, "doc.txt-p3", "全年累计巡河826轮次。")
    assert views.renders == 1 and 'id="qa-p-doc.txt-p3"><mark class="qa-hl">' in again and first != again
    views.show(index, "other.txt-p1")
    assert views.renders == 2
    rebuilt = SimpleNamespace(path=Path("/builds/b"), passages=index.passages)
    views.show(rebuilt, "doc.txt-p2")
    assert views.renders == 3
    assert "no longer in the index" in views.show(rebuilt, "gone")


def test_each_card_offers_show_in_document_with_its_passage():
    passage = Passage("abc123", "doc.txt", "标题", "", "全年签约项目17个。", 1)
    rendered = render_answer(Answer("问题", True, [Hit(passage, 0.7, "全年签约项目17个。")]))
    assert f'<button type="button" class="qa-doc-link" value="abc123">{SHOW_IN_DOCUMENT}</button>' in rendered


# ---- the command line ---------------------------------------------------------------------------------------------

def run_qa(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, env=env, timeout=600)


def test_feedback_commands_give_clear_errors(tmp_path):
    env = {**os.environ, "QA_FEEDBACK_FILE": str(tmp_path / "none.jsonl")}
    stats = run_qa(env, "feedback", "stats")
    assert stats.returncode == 1 and "no verdict has been given yet" in stats.stderr
    export = run_qa(env, "feedback", "export", "--out", str(tmp_path / "set.txt"))
    assert export.returncode == 1 and "write the question set to a .jsonl file" in export.stderr
    assert "Traceback" not in stats.stderr + export.stderr
