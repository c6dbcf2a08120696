"""Retrieval tests on the real town report with the real model: hybrid ranking, answers, declining, Traditional
Chinese, synonyms. The questions here are written for these tests; none comes from an evaluation set. (The parts
without an index: tests/unit/test_search.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from qa.api import QA
from qa.config import QAError, Settings
from qa.search import Query, Searcher
from qa.search.checks import coverage, uncovered_years

pytestmark = pytest.mark.slow

CONTRACT_FIELDS = ["rank", "score", "doc_id", "passage_id", "title", "section", "text", "answer", "short_answer"]


def test_framing_words_do_not_count_and_everyday_words_count_as_official(searcher):
    analyze, stats = searcher.analyzer.analyze, searcher.stats
    plain = analyze("签约项目的总投资是多少")
    framed = analyze("签约项目平时有没有总投资")
    top = int(np.argmax(searcher.scorer.score(plain).hybrid))
    assert framed.frames
    assert coverage(framed, stats, top) == pytest.approx(coverage(plain, stats, top))
    unframed = Query(framed.text, framed.vector, framed.terms, framed.expansions)
    assert coverage(unframed, stats, top) < coverage(framed, stats, top)
    everyday = analyze("镇上的厂子一共检查了多少家次")
    top = int(np.argmax(searcher.scorer.score(everyday).hybrid))
    literal = Query(everyday.text, everyday.vector, everyday.terms, everyday.expansions, frames=everyday.frames)
    assert coverage(everyday, stats, top) > coverage(literal, stats, top)


def test_index_holds_sparse_and_sentence_vectors(searcher):
    index = searcher.index
    assert index.sparse is not None
    assert len(index.sentence_starts) == len(index.passages) + 1
    assert index.sentence_vectors.shape == (int(index.sentence_starts[-1]), index.dense.d)


def test_retrievers_and_contract(searcher):
    assert searcher.retrievers == ("dense", "sparse", "hybrid")
    reply = searcher.search("2020年全年签约了多少个项目？", top_k=3).to_dict()
    assert list(reply) == ["question", "answerable", "confidence", "results"]
    assert 0 <= reply["confidence"] <= 1
    assert [list(r) for r in reply["results"]] == [CONTRACT_FIELDS] * 3
    assert [r["rank"] for r in reply["results"]] == [1, 2, 3]


def test_unknown_retriever_is_a_user_error(searcher):
    with pytest.raises(QAError, match="retriever"):
        searcher.search("签约项目", retriever="bm42")


@pytest.mark.parametrize("retriever", ["sparse", "hybrid"])
def test_exact_number_is_found(searcher, retriever):
    top = searcher.search("哪项工作涉及1891万元？", top_k=1, retriever=retriever).hits[0]
    assert "1891万元" in top.passage.text


@pytest.mark.parametrize(("question", "fact"), [
    ("全年签约了多少个项目？", "17个"),
    ("签约项目的总投资是多少？", "52.7亿元"),
    ("全镇有几个行政村？", "11个行政村"),
    ("全年累计巡河多少轮次？", "826轮次"),
])
def test_answer_sentence_holds_the_fact(searcher, question, fact):
    answer = searcher.search(question)
    assert answer.answerable
    top = answer.hits[0]
    assert fact in top.answer
    assert top.answer in top.passage.text
    assert len(top.answer) < len(top.passage.text)


def test_traditional_question_retrieves_as_simplified(searcher):
    simplified = searcher.search("全镇有几个行政村？经营性收入超过多少？")
    traditional = searcher.search("全鎮有幾個行政村？經營性收入超過多少？")
    assert [h.passage.passage_id for h in traditional.hits] == [h.passage.passage_id for h in simplified.hits]
    assert [h.answer for h in traditional.hits] == [h.answer for h in simplified.hits]
    assert traditional.answerable == simplified.answerable


@pytest.mark.parametrize("question", ["今天天气怎么样？", "红烧肉怎么做？", "推荐一部好看的电影"])
def test_out_of_scope_question_is_never_stated_as_answered(searcher, question):
    answer = searcher.search(question)
    assert not answer.sure  # declined, or at most offered as a guess (今天天气 → 蓝天保卫战, 大气污染治理: 0.27)
    assert answer.hits, "results are still listed when declining"


def test_synonym_finds_the_official_term(searcher):
    top = searcher.search("金城镇的GDP是多少？").hits[0]
    assert "地区生产总值100亿元" in top.passage.text
    assert "100亿元" in top.answer


def _with_user_synonyms(searcher: Searcher, tmp_path, text: str) -> Searcher:
    """A searcher over the same index with a user synonyms file holding ``text``."""
    extra = tmp_path / "mine.tsv"
    extra.write_text(text, encoding="utf-8")
    settings = Settings(corpus_dir=searcher.settings.corpus_dir, index_dir=searcher.settings.index_dir,
                        synonyms_file=extra)
    return QA.from_index(searcher.index, settings, searcher.encoder).searcher


def test_user_synonyms_file_is_used(searcher, tmp_path):
    own = _with_user_synonyms(searcher, tmp_path, "# my terms\n河流巡查\t巡河\n")
    top = own.search("河流巡查一共多少次？", top_k=1).hits[0]
    assert "巡河826轮次" in top.passage.text


def test_user_one_way_synonyms_are_searched_one_way(searcher, tmp_path):
    own = _with_user_synonyms(searcher, tmp_path, "管河的\t|\t河长制\t巡河\n")
    assert dict(own.analyzer.analyze("管河的人多吗").expansions)["管河的"] == ["河长制", "巡河"]
    assert "管河的" not in dict(own.analyzer.analyze("河长制落实了吗").expansions).get("河长制", [])


def test_document_filter_limits_the_search(searcher):
    assert searcher.documents() == [("jincheng-2020-work-report.txt", searcher.index.passages[0].title)]
    answer = searcher.search("2020年全年签约了多少个项目？", 3, docs=["JINCHENG"])
    assert "签约项目17个" in answer.hits[0].passage.text
    with pytest.raises(QAError, match="No document matches nothing-like-this.*jincheng-2020-work-report.txt"):
        searcher.search("2020年全年签约了多少个项目？", 3, docs=["nothing-like-this"])


def test_a_year_the_documents_never_mention_is_declined(searcher):
    answer = searcher.search("2022年金城镇地区生产总值是多少？")
    assert not answer.answerable and answer.confidence == 0.0
    assert answer.trace.verdict("years").declines
    assert any("2022" in notice for notice in answer.notices)
    assert not searcher.search("2020年金城镇地区生产总值预计是多少？").trace.verdict("years").declines
    passages = searcher.index.passages
    without_2020 = np.array([row for row, p in enumerate(passages) if "2020" not in f"{p.context}{p.text}"])
    assert len(without_2020) and uncovered_years(["2020"], searcher.stats, without_2020) == ["2020"]
    assert uncovered_years(["2020"], searcher.stats, np.arange(len(passages))) == []


def test_a_value_the_report_does_not_give_is_at_most_a_guess(searcher):
    area = searcher.search("金城镇的总面积有多大？")  # the report gives areas demolished, never the town's
    assert not area.sure  # the reader doubts it; asked_value, recorded beside the reader, finds no area either
    asked = area.trace.verdict("asked_value")
    assert asked.declines and not asked.counts and not area.trace.verdict("years").declines
    households = searcher.search("走访了多少户残疾人家庭？")  # the answer sentence holds a number of households
    assert households.answerable and not households.notices
    assert "户" in households.hits[0].answer
