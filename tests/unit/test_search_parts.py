"""The named parts of a search, each on its own and through a real index of the handmade corpus built with the fake
encoder (tests/unit/conftest.py): fusion, the answerability checks, the trace, answer picking, the reader's part (with
a fake reader) and the Python front door. No model: every test runs in milliseconds."""

from __future__ import annotations

import json
import math
import tempfile

import numpy as np
import pytest

import qa.api
from qa.api import QA
from qa.config import QAError, get_settings
from qa.documents import tokenize
from qa.errors import IndexUnavailable
from qa.reader import Reading
from qa.search import Query
from qa.search.answers import CUE_WEIGHT, SEMANTIC_WEIGHT, overlap, pick, sentence_scores
from qa.search.asked import asked_by
from qa.search.checks import (Verdict, asked_value, evidence, evidence_check, named_years, reader_check,
                              uncovered_years)
from qa.search.reading import answering_first, sentences_holding
from qa.search.trace import PassageTrace, Trace
from tests.unit.conftest import FAKE_DIMENSION, FakeEncoder, FakeReader

SIGNED = "全年签约了多少个项目？"  # answered by the first passage of the handmade report: 签约项目12个
PATROLS = "全年累计巡河多少轮次？"  # answered by the second: 巡河420轮次


def query(text: str) -> Query:
    """An analyzed question without a model (a zero vector): terms and what it asks for."""
    return Query(text, np.zeros(FAKE_DIMENSION, dtype=np.float32), tokenize(text), [], asked=asked_by(text))


def reading(probability: float, short: str = "12个", start: int = 0) -> Reading:
    return Reading(short, start, start + len(short), 2.0, 1.0, probability)


# ---- fusion ----------------------------------------------------------------------------------------------------

def fixed_channels(searcher, dense, sparse, context=None):
    """Make the searcher's scorer see these channel scores, whatever the question."""
    count = len(dense)
    searcher.scorer.dense = lambda _: np.array(dense, dtype=np.float32)
    searcher.scorer.sparse = lambda _: np.array(sparse, dtype=np.float32)
    searcher.scorer.context = lambda _: np.array(context or [0.0] * count, dtype=np.float32)
    return searcher.scorer.score(query(SIGNED))


def test_channel_shares_sum_to_the_hybrid_score(fake_qa):
    searcher = fake_qa.searcher
    scores = searcher.scorer.score(searcher.analyzer.analyze(SIGNED))
    assert set(scores.shares) == {"dense", "sparse", "context"}
    assert np.allclose(sum(scores.shares.values()), scores.hybrid, atol=1e-6)
    assert scores.hybrid.min() >= 0 and scores.hybrid.max() <= 1
    rows = np.array([3, 1])
    restricted = scores.restricted(rows)
    assert np.array_equal(restricted.hybrid, scores.hybrid[rows])
    assert all(np.array_equal(restricted.shares[name], share[rows]) for name, share in scores.shares.items())


def test_the_sparse_weight_moves_the_ranking(make_qa):
    # passage 0 is the dense favourite, passage 1 the BM25 favourite
    dense, sparse = [0.9, 0.5, 0.5, 0.5], [0.0, 10.0, 0.0, 0.0]
    dense_led = fixed_channels(make_qa(sparse_weight=0.2).searcher, dense, sparse)
    sparse_led = fixed_channels(make_qa(sparse_weight=0.8).searcher, dense, sparse)
    assert int(np.argmax(dense_led.hybrid)) == 0 and int(np.argmax(sparse_led.hybrid)) == 1
    # min-max scaled, weighted, divided by 1 + context_weight (1.5)
    assert dense_led.hybrid[:2] == pytest.approx([0.8 / 1.5, 0.2 / 1.5])
    assert sparse_led.shares["sparse"][1] == pytest.approx(0.8 / 1.5)


def test_the_context_weight_moves_the_ranking(make_qa):
    dense, sparse, context = [0.9, 0.5, 0.5, 0.5], [0.0, 10.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]
    assert int(np.argmax(fixed_channels(make_qa(context_weight=0.0).searcher, dense, sparse, context).hybrid)) == 0
    named = fixed_channels(make_qa(context_weight=2.0).searcher, dense, sparse, context)
    assert int(np.argmax(named.hybrid)) == 2 and named.hybrid[2] == pytest.approx(2 / 3)


def test_dense_differences_below_the_spread_floor_stay_small(make_qa):
    close = fixed_channels(make_qa(sparse_weight=0.0, context_weight=0.0).searcher, [0.70, 0.72, 0.71, 0.70],
                           [0.0] * 4)
    assert close.hybrid.max() == pytest.approx(0.02 / 0.15, abs=1e-5)  # not stretched to 1


def test_the_retrievers_rank_by_their_own_scores(fake_qa):
    for retriever in fake_qa.searcher.retrievers:
        answer = fake_qa.ask(PATROLS, retriever=retriever)
        assert answer.trace.retriever == retriever
        assert "巡河420轮次" in answer.hits[0].passage.text
        assert [hit.score for hit in answer.hits] == sorted((hit.score for hit in answer.hits), reverse=True)
    with pytest.raises(QAError, match="Unknown retriever"):
        fake_qa.ask(PATROLS, retriever="bm42")


# ---- the answerability checks ----------------------------------------------------------------------------------

def test_a_year_no_passage_mentions_declines_with_a_notice(fake_qa):
    answer = fake_qa.ask("2022年白塔镇签约了多少个项目？")
    assert not answer.answerable and answer.confidence == 0.0 and answer.hits
    years = answer.trace.verdict("years")
    assert years.declines and years.counts and "2022" in years.why
    assert answer.notices == ["资料中没有关于2022年的内容。The documents do not mention 2022."]
    named = fake_qa.ask("2020年白塔镇签约了多少个项目？")
    assert named.answerable and not named.trace.verdict("years").declines and not named.notices


def test_a_year_counts_only_in_the_documents_searched(fake_qa):
    assert fake_qa.ask("2020年签约了多少个项目？", docs=["baita"]).answerable
    elsewhere = fake_qa.ask("2020年签约了多少个项目？", docs=["qinghe"])
    assert not elsewhere.answerable and elsewhere.trace.verdict("years").declines
    stats = fake_qa.searcher.stats
    assert uncovered_years(["2019", "2020", "2031"], stats, stats.all_rows) == ["2031"]
    qinghe = stats.document_rows(["qinghe"])
    assert uncovered_years(["2019", "2020"], stats, qinghe) == ["2020"]
    assert not named_years(query("2019年清河乡走访了多少户？"), stats, qinghe).declines


def test_asked_value_declines_an_answer_without_the_kind_of_value_asked_for():
    area = query("清河乡的总面积有多大？")
    lacking = asked_value(area, "清河中学有学生1200名、教师96名。")
    assert lacking.declines and lacking.name == "asked_value" and "所问的数值" in lacking.notice
    assert not asked_value(area, "全乡总面积52平方公里。").declines
    assert not asked_value(query("巡了几趟河？"), "全年累计巡河420轮次。").declines  # 趟 and 轮次 count times
    assert asked_value(query("巡了几趟河？"), "全年累计巡河。").declines
    plain = asked_value(query("清河中学办学水平怎么样？"), "清河中学办学水平持续提升。")
    assert not plain.declines and plain.why == "asks for no particular kind of value"


def test_asked_value_through_the_searcher(fake_qa):
    answer = fake_qa.ask("清河乡的总面积有多大？")
    assert not answer.answerable and answer.confidence == 0.0
    assert answer.trace.verdict("asked_value").declines and not answer.trace.verdict("years").declines
    assert answer.notices == ["资料中没有找到所问的数值或日期。The documents do not give the kind of value asked for."]


def test_evidence_grows_with_coverage_standout_and_agreement():
    base = evidence(0.5, 1.0, False)
    assert evidence(0.6, 1.0, False) > base and evidence(0.5, 2.0, False) > base and evidence(0.5, 1.0, True) > base
    assert evidence(0.0, 0.0, False) == pytest.approx(1 / (1 + math.exp(3.35)))


@pytest.mark.parametrize("threshold", [0.0, 0.03, 0.2, 0.5, 0.99, 1.0])
def test_the_evidence_check_declines_below_its_threshold(threshold):
    for features in [(0.0, 0.0, False), (0.4, 1.0, False), (1.0, 2.0, True)]:
        verdict = evidence_check(features, threshold)
        assert verdict.name == "evidence" and verdict.score == pytest.approx(evidence(*features))
        assert verdict.declines == (verdict.score < threshold)


def test_the_evidence_threshold_decides_without_the_reader(make_qa):
    strict, lenient = make_qa(evidence_threshold=1.0), make_qa(evidence_threshold=0.0)
    declined = strict.ask(SIGNED)
    assert not declined.answerable and declined.trace.verdict("evidence").declines
    assert declined.confidence == pytest.approx(declined.trace.verdict("evidence").score) and not declined.notices
    assert strict.ask(SIGNED).hits[0].passage.text == lenient.ask(SIGNED).hits[0].passage.text
    assert lenient.ask(SIGNED).answerable
    out_of_scope = "今天天气怎么样？"
    assert not make_qa().ask(out_of_scope).answerable and lenient.ask(out_of_scope).answerable


@pytest.mark.parametrize("probability, threshold, declines", [(0.49, 0.5, True), (0.5, 0.5, False),
                                                              (0.9, 0.5, False), (0.9, 0.95, True), (0.0, 0.0, False)])
def test_the_reader_check_declines_below_its_threshold(probability, threshold, declines):
    verdict = reader_check(probability, threshold)
    assert (verdict.name, verdict.declines, verdict.score) == ("reader", declines, probability)


def test_without_the_reader_years_asked_value_and_evidence_count(fake_qa):
    assert fake_qa.searcher.reader is None
    checks = fake_qa.ask(SIGNED).trace.checks
    assert [(c.name, c.counts) for c in checks] == [("years", True), ("asked_value", True), ("no_overlap", False),
                                                    ("evidence", True)]


def test_with_the_reader_only_the_years_and_the_reader_decide(make_qa):
    searcher = make_qa(evidence_threshold=1.0).searcher
    searcher.reader = FakeReader({"12个": 0.9})
    answer = searcher.search(SIGNED)
    assert [(c.name, c.counts) for c in answer.trace.checks] == [
        ("years", True), ("asked_value", False), ("no_overlap", False), ("evidence", False), ("reader", True)]
    assert answer.trace.verdict("evidence").declines  # declines, but does not count
    assert answer.answerable and answer.confidence == pytest.approx(0.9) and not answer.notices
    unsure = make_qa(decline_threshold=0.5).searcher
    unsure.reader = FakeReader({"12个": 0.3})
    doubted = unsure.search(SIGNED)
    assert not doubted.answerable and doubted.trace.verdict("reader").declines
    assert doubted.confidence == pytest.approx(0.3)  # no notice: the reader's confidence is kept


# ---- the trace -------------------------------------------------------------------------------------------------

def test_the_trace_records_the_question_every_passage_and_every_check(fake_qa):
    answer = fake_qa.ask(SIGNED, top_k=3)
    trace = answer.trace.to_dict()
    assert list(trace) == ["query", "retriever", "passages", "checks", "features"]
    assert list(trace["query"]) == ["text", "terms", "search_terms", "synonyms", "everyday", "framing", "asks_for"]
    assert trace["query"]["text"] == SIGNED and "签约" in trace["query"]["terms"]
    assert "多少" in trace["query"]["asks_for"]["cue_words"]
    assert trace["retriever"] == "hybrid" and list(trace["features"]) == ["coverage", "standout", "agree"]
    assert [p["rank"] for p in trace["passages"]] == [1, 2, 3]
    assert [p["passage_id"] for p in trace["passages"]] == [hit.passage.passage_id for hit in answer.hits]
    for shown, hit in zip(trace["passages"], answer.hits):
        assert list(shown) == ["rank", "passage_id", "matched_terms", "dense_cosine", "bm25", "shares", "fused"]
        assert shown["fused"] == pytest.approx(hit.score, abs=1e-4)
        assert sum(shown["shares"].values()) == pytest.approx(shown["fused"], abs=1e-3)
    assert "签约" in trace["passages"][0]["matched_terms"]
    assert [c["check"] for c in trace["checks"]] == ["years", "asked_value", "no_overlap", "evidence"]
    assert list(trace["checks"][3]) == ["check", "declines", "counts", "why", "score"]
    assert "score" not in trace["checks"][0]
    assert json.loads(json.dumps(trace)) == trace  # JSON-ready as it is


def test_the_trace_is_in_the_reply_only_when_explaining(fake_qa):
    answer = fake_qa.ask(SIGNED)
    assert "trace" not in answer.to_dict()
    assert answer.to_dict(explain=True)["trace"] == answer.trace.to_dict()
    assert answer.trace.verdict("reader") is None and answer.trace.verdict("evidence").name == "evidence"


def test_a_passage_trace_shows_the_reading_when_there_is_one():
    plain = PassageTrace("p1", 1, ["签约"], 0.81234, 3.21, {"dense": 0.3, "sparse": 0.2}, 0.5)
    assert "reader" not in plain.to_dict() and plain.to_dict()["dense_cosine"] == 0.8123
    read = PassageTrace("p1", 1, [], 0.8, 3.2, {}, 0.5, reading(0.87654))
    assert read.to_dict()["reader"] == {"probability": 0.8765, "answer_logit": 2.0, "span_margin": 1.0,
                                        "short_answer": "12个"}
    trace = Trace({"text": "问"}, "dense", [read], [Verdict("years", False, "no year")], {"coverage": 1.0})
    assert trace.to_dict()["checks"] == [{"check": "years", "declines": False, "counts": True, "why": "no year"}]


# ---- answer picking --------------------------------------------------------------------------------------------

SENTENCES = ["甲。", "乙。", "丙。"]


@pytest.mark.parametrize("scores, picked", [
    ([0.1, 0.9, 0.2], "乙。"),  # neighbours far below: the best sentence alone
    ([0.1, 0.9, 0.85], "乙。丙。"),  # a neighbour within the margin is joined, in text order
    ([0.85, 0.9, 0.82], "甲。乙。"),  # the better of two close neighbours
    ([0.9, 0.1, 0.89], "甲。"),  # only neighbours count
    ([0.2, 0.85, 0.9], "乙。丙。"),  # the last sentence with its only neighbour
])
def test_pick_takes_the_best_sentence_and_a_close_neighbour(scores, picked):
    assert pick(SENTENCES, np.array(scores)) == picked


def test_a_term_held_by_fewer_sentences_weighs_more_in_the_overlap():
    shares = overlap(["签约", "项目"], {"签约": 1.0, "项目": 1.0}, [{"签约", "项目"}, {"项目"}, set()])
    assert shares[0] == pytest.approx(1.0) and shares[2] == 0.0
    assert shares[1] == pytest.approx(math.log(1 + 3 / 2) / (math.log(1 + 3) + math.log(1 + 3 / 2)))
    assert overlap([], {}, [{"签约"}]).tolist() == [0.0]


@pytest.mark.parametrize("question, sentences, cued", [
    (SIGNED, ["全镇干部群众团结拼搏。", "全年签约项目12个。"], [0.0, 1.0]),  # 多少 → a number
    ("白龙荡萝卜小镇什么时候建设？", ["将建设萝卜小镇。", "2021年启动建设。"], [0.0, 1.0]),  # 什么时候 → a date
    ("谁负责这项工作？", ["由镇长负责。", "工作进展顺利。"], [1.0, 0.0]),  # 谁 → a title
    ("主要建设哪些项目？", ["新建农村公路、改造老旧小区。", "进展顺利。"], [1.0, 0.0]),  # 哪些 → a list
    ("白塔镇的工作怎么样？", ["全年签约项目12个。", "进展顺利。"], [0.0, 0.0]),  # no cue
])
def test_sentence_scores_add_the_cue_the_question_asks_for(question, sentences, cued):
    cues = asked_by(question).cues
    cosines, overlaps = np.array([0.5, 0.5]), np.array([0.2, 0.2])
    scores = sentence_scores(cues, cosines, overlaps, sentences)
    assert scores == pytest.approx(overlaps + SEMANTIC_WEIGHT * cosines + CUE_WEIGHT * np.array(cued))
    if any(cued):
        assert int(np.argmax(scores)) == cued.index(1.0) and CUE_WEIGHT > 0  # the cue decides between equals


def test_sentence_scores_weigh_overlap_above_similarity():
    cues = asked_by(SIGNED).cues
    scores = sentence_scores(cues, np.array([0.9, 0.1]), np.array([0.2, 0.6]), ["甲。", "乙。"])
    assert int(np.argmax(scores)) == 1 and 0 < SEMANTIC_WEIGHT < 1


def test_the_answer_sentence_is_the_part_of_the_passage_that_answers(fake_qa):
    patrols = fake_qa.ask(PATROLS).hits[0]
    assert patrols.answer == "全年累计巡河420轮次，清理河道垃圾900吨。"
    assert patrols.answer in patrols.passage.text and len(patrols.answer) < len(patrols.passage.text)
    students = fake_qa.ask("清河中学有多少名学生？").hits[0]
    assert "1200名" in students.answer and "救助资金" not in students.answer
    assert fake_qa.searcher.picker.pick(fake_qa.searcher.analyzer.analyze(SIGNED), 0) == \
        "全面推进项目招引，全年签约项目12个、总投资30.5亿元。"


# ---- the reader's part -----------------------------------------------------------------------------------------

TEXT = "甲乙。丙丁。 戊。"


@pytest.mark.parametrize("start, end, held", [(3, 5, "丙丁。"), (1, 4, "甲乙。丙丁。"), (4, 8, "丙丁。 戊。"),
                                              (0, 3, "甲乙。"), (20, 22, "")])
def test_sentences_holding_a_span(start, end, held):
    assert sentences_holding(["甲乙。", "丙丁。", "戊。"], TEXT, start, end) == held


def test_sentences_not_found_in_the_text_hold_nothing():
    assert sentences_holding(["甲乙。", "别的。"], TEXT, 0, 2) == ""


def test_the_first_passage_that_answers_goes_first():
    order = np.array([4, 7, 2])
    assert answering_first(order, {4: reading(0.1), 7: reading(0.9)}, 0.5).tolist() == [7, 4, 2]
    assert answering_first(order, {4: reading(0.6), 7: reading(0.9)}, 0.5).tolist() == [4, 7, 2]
    assert answering_first(order, {4: reading(0.1), 7: reading(0.2)}, 0.5).tolist() == [4, 7, 2]  # none answers
    assert answering_first(order, {}, 0.5).tolist() == [4, 7, 2]  # no reader


class CountingReader(FakeReader):
    """A fake reader that remembers which passages it read."""

    def __init__(self, answers: dict[str, float], missing: float = 0.05):
        super().__init__(answers, missing)
        self.texts: list[str] = []

    def read(self, question, text, focus=None):
        self.texts.append(text)
        return super().read(question, text, focus)


def test_the_reader_reads_on_until_a_passage_answers_and_puts_it_first(make_qa):
    searcher = make_qa(reader_passages=3, decline_threshold=0.5).searcher
    searcher.reader = CountingReader({"420轮次": 0.99}, missing=0.1)
    moved = searcher.search(SIGNED)
    assert len(searcher.reader.texts) == 2  # the second passage answers: the third is not read
    assert "巡河420轮次" in moved.hits[0].passage.text and moved.hits[0].short_answer == "420轮次"
    assert moved.hits[0].answer == "全年累计巡河420轮次，清理河道垃圾900吨。"
    assert "签约项目12个" in moved.hits[1].passage.text
    assert moved.trace.to_dict()["passages"][0]["reader"]["short_answer"] == "420轮次"


def test_a_first_passage_that_answers_stops_the_reading(make_qa):
    searcher = make_qa(reader_passages=3, decline_threshold=0.5).searcher
    searcher.reader = CountingReader({"12个": 0.9, "420轮次": 0.99})
    answered = searcher.search(SIGNED)
    assert len(searcher.reader.texts) == 1
    assert "签约项目12个" in answered.hits[0].passage.text and answered.hits[0].short_answer == "12个"


def test_the_reader_declines_only_when_no_passage_it_read_answers(make_qa):
    # The answer sits in the second fused passage: reading one passage declines, reading two does not, and the
    # confidence is the likeliest passage's.
    one = make_qa(reader_passages=1, decline_threshold=0.5).searcher
    one.reader = FakeReader({"420轮次": 0.9}, missing=0.1)
    two = make_qa(reader_passages=2, decline_threshold=0.5).searcher
    two.reader = FakeReader({"420轮次": 0.9}, missing=0.1)
    assert "签约项目12个" in one.search(SIGNED).hits[0].passage.text
    assert not one.search(SIGNED).answerable
    answered = two.search(SIGNED)
    assert answered.answerable and answered.confidence == 0.9
    assert answered.trace.verdict("reader").score == 0.9


def test_a_sure_reader_chooses_the_answer_sentence_and_an_unsure_one_does_not(make_qa):
    park, signed = "新建口袋公园7座，由镇城建办负责管护。", "全面推进项目招引，全年签约项目12个、总投资30.5亿元。"
    sure = make_qa().searcher
    sure.reader = FakeReader({"口袋公园7座": 0.9})
    hit = sure.search(SIGNED).hits[0]
    assert (hit.answer, hit.short_answer) == (park, "口袋公园7座")  # the sentence holding the span
    unsure = make_qa().searcher
    unsure.reader = FakeReader({"口袋公园7座": 0.3})  # answered (≥ the decline threshold) but not sure (< SURE)
    hit = unsure.search(SIGNED).hits[0]
    assert (hit.answer, hit.short_answer) == (signed, "")  # the picker's sentence; the span lies outside it
    unsure.reader = FakeReader({"30.5亿元": 0.3})
    hit = unsure.search(SIGNED).hits[0]
    assert (hit.answer, hit.short_answer) == (signed, "30.5亿元")  # a span inside the picker's sentence is kept


# ---- the front door --------------------------------------------------------------------------------------------

def test_from_texts_indexes_each_text_as_a_document(monkeypatch, tmp_path):
    monkeypatch.setattr(qa.api, "Encoder", FakeEncoder)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        made = QA.from_texts(["白塔镇全年签约项目12个，总投资30.5亿元。", "清河中学有学生1200名、教师96名。"],
                             titles=["白塔镇报告", "清河乡总结"], reader=False)
    finally:
        get_settings.cache_clear()
    assert isinstance(made.encoder, FakeEncoder) and made.searcher.reader is None
    assert made.index.path.is_relative_to(tmp_path)
    assert made.searcher.documents() == [("doc-1.txt", "白塔镇报告"), ("doc-2.txt", "清河乡总结")]
    answer = made.ask("清河中学有多少名学生？", top_k=1)
    assert [hit.passage.doc_id for hit in answer.hits] == ["doc-2.txt"] and "1200名" in answer.hits[0].answer


def test_an_encoder_of_another_dimension_is_refused(fake_index, fake_settings):
    with pytest.raises(IndexUnavailable, match="64-dim vectors but the index holds 256-dim"):
        QA.from_index(fake_index, fake_settings, FakeEncoder(dimension=64))


def test_the_document_filter_searches_only_the_documents_named(fake_qa):
    assert [doc for doc, _ in fake_qa.searcher.documents()] == ["baita-2020.md", "qinghe-2019.md"]
    only = fake_qa.ask(SIGNED, top_k=3, docs=["清河乡"])
    assert {hit.passage.doc_id for hit in only.hits} == {"qinghe-2019.md"} and len(only.hits) == 1
    with pytest.raises(QAError, match="No document matches elsewhere"):
        fake_qa.ask(SIGNED, docs=["elsewhere"])
