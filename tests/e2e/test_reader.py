"""The shipped reader (src/qa/data/reader) on small handmade cases, and in search: the span lies inside the passage,
an off-topic pair gets a low probability, a damaged file is refused, search opens with the short answer and reads on
when the best passage does not answer."""

from __future__ import annotations

import shutil

import pytest

from qa.errors import ModelUnavailable
from qa.reader import READER_DIR, Reader, load_reader

pytestmark = pytest.mark.slow

SIGNED = "全面推进项目招引百日攻坚行动，全年签约项目17个、总投资52.7亿元，其中包括新型药用辅料项目。"
RIVER = "全面落实河长制，全年累计巡河826轮次，清理河道垃圾120吨，河道面貌明显改善。"


def test_the_span_lies_inside_the_passage_and_answers():
    reading = load_reader().read("2020年全年签约了多少个项目？", SIGNED)
    assert reading.short_answer and reading.short_answer in SIGNED
    assert SIGNED[reading.start:reading.end].strip() == reading.short_answer
    assert "17" in reading.short_answer and "52.7" not in reading.short_answer
    assert reading.probability > 0.5


def test_an_off_topic_pair_is_judged_unanswered():
    reader = load_reader()
    off_topic = reader.read("火星有几颗卫星？", RIVER)
    on_topic = reader.read("一年巡了几次河？", RIVER)
    assert off_topic.probability < 0.5 < on_topic.probability
    assert "826" in on_topic.short_answer


def test_every_window_or_the_focused_one():
    reader = load_reader()
    long_text = "。".join([RIVER] * 6)
    assert len(reader.windows("巡河多少轮次？", long_text)) > 1
    focused = reader.read("巡河多少轮次？", long_text, focus=(0, len(RIVER)))
    assert focused.end <= len(long_text) and "826" in focused.short_answer


def test_a_damaged_reader_is_refused(tmp_path):
    copy = tmp_path / "reader"
    shutil.copytree(READER_DIR, copy)
    Reader(copy)  # intact: loads
    with (copy / "tokenizer.json").open("a", encoding="utf-8") as damaged:
        damaged.write(" ")
    with pytest.raises(ModelUnavailable, match="checksum"):
        Reader(copy)
    (copy / "reader.json").unlink()
    with pytest.raises(ModelUnavailable, match="cannot be read"):
        Reader(copy)


def test_search_opens_with_the_short_answer(searcher):
    answer = searcher.search("2020年全年签约了多少个项目？")
    top = answer.hits[0]
    assert answer.answerable and answer.sure
    assert top.short_answer == "17个" or top.short_answer.startswith("17个")
    assert top.short_answer in top.answer and top.answer in top.passage.text
    reply = answer.to_dict(explain=True)
    assert reply["results"][0]["short_answer"] == top.short_answer
    read = [p["reader"]["probability"] for p in reply["trace"]["passages"] if "reader" in p]
    assert max(read) == pytest.approx(answer.confidence, abs=1e-4)  # the likeliest passage read decides
    assert [c["check"] for c in reply["trace"]["checks"] if c["counts"]][-1] == "reader"


def test_an_unanswerable_question_is_declined(searcher):
    answer = searcher.search("金城镇有多少常住人口？")  # the report gives no population
    assert not answer.answerable and any(check.declines and check.counts for check in answer.trace.checks)
    answered = searcher.search("2020年全年签约了多少个项目？")
    assert answer.trace.verdict("reader").score < 0.5 < answered.trace.verdict("reader").score


def test_search_reads_on_when_the_best_passage_does_not_answer(searcher):
    # Retrieval puts first a passage that does not name the town's pharmaceutical summit; the reader reads the second
    # too, which does (2020生物技术和医药产业发展长荡湖峰会), and puts it first.
    answer = searcher.search("金城今年办的那个医药行业的大会叫什么名字？")
    first, second = answer.trace.passages[:2]
    assert answer.answerable and "长荡湖峰会" in answer.hits[0].short_answer
    assert first.fused < second.fused  # moved ahead of the passage retrieval preferred
    assert second.reading.probability < searcher.settings.decline_threshold <= first.reading.probability
    assert all(p.reading is None for p in answer.trace.passages[2:])  # reading stopped at the passage that answers
