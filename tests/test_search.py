"""Retrieval tests on the real town report with the real model: hybrid ranking, answers, declining, Traditional
Chinese, synonyms. The questions here are written for these tests; none comes from an evaluation set."""

from __future__ import annotations

import numpy as np
import pytest

from qa.config import QAError, Settings
from qa.documents import Passage, tokenize
from qa.index import passage_embedding_text
from qa.api import QA
from qa.search import SYNONYMS_FILE, Query, Searcher, normalize_text, prepare_question, read_synonyms
from qa.search.checks import coverage, uncovered_years
from qa.search.context import ContextIndex
from qa.search.scorers import min_max
from qa.search.wordlists import COLLOQUIAL_FILE, FRAMES_FILE, expand, framing_terms, read_words

pytestmark = pytest.mark.slow

CONTRACT_FIELDS = ["rank", "score", "doc_id", "passage_id", "title", "section", "text", "answer", "short_answer"]


def test_prepare_question_folds_traditional_and_full_width():
    text, notices = prepare_question("２０２０年全年簽約了多少個項目？ＧＤＰ", 500)
    assert text == "2020年全年签约了多少个项目？GDP"
    assert notices == []


def test_prepare_question_rejects_empty():
    with pytest.raises(QAError):
        prepare_question(" \n ", 500)


def test_min_max_floor_keeps_small_differences_small():
    scores = np.array([0.70, 0.72, 0.75], dtype=np.float32)
    assert min_max(scores).max() == pytest.approx(1.0)
    assert min_max(scores, floor=0.5).max() == pytest.approx(0.1)


def _passage(title: str, section: str, text: str) -> Passage:
    return Passage(passage_id=text[:8], doc_id=title, title=title, section=section, text=text, position=0)


def _rows_with(passages):
    """The passages holding a term in their context or text, as the BM25 index answers it."""
    return lambda term: np.array([row for row, p in enumerate(passages)
                                  if term in tokenize(f"{p.context}\n{p.text}")], dtype=np.int64)


def test_context_channel_prefers_the_named_document_and_year():
    passages = [_passage("2023年甲市政府工作报告", "一、过去一年工作回顾", "粮食产量再创新高。"),
                _passage("2023年甲市政府工作报告", "二、对今年政府工作的建议", "粮食产量再创新高。"),
                _passage("2024年甲市政府工作报告", "一、2023年工作回顾", "粮食产量再创新高。"),
                _passage("乙镇工作报告", "", "粮食产量再创新高。")]
    contexts, rows_with = ContextIndex(passages), _rows_with(passages)
    # 2024年政府工作报告 names the third passage's document; 2023年 alone is also the second document's year.
    assert int(np.argmax(contexts.scores(["2024", "年", "政府", "工作", "报告", "2023", "粮食"], rows_with))) == 2
    # 过去一年 in a 2023 report is 2022: a question about 2022 in the 2023 report finds that section.
    assert int(np.argmax(contexts.scores(["2023", "年", "政府", "工作", "报告", "2022", "粮食"], rows_with))) == 0
    town = contexts.scores(["乙镇"], rows_with)
    assert town[3] > 0 and town[:3].tolist() == [0.0, 0.0, 0.0]
    assert contexts.scores([], rows_with).tolist() == [0.0] * 4
    assert contexts.scores(["粮食"], rows_with).tolist() == [0.0] * 4  # a body word names no context


def test_a_year_in_the_text_counts_like_a_year_in_the_heading():
    passages = [_passage("乙镇工作报告", "", "2020年，乙镇地区生产总值100亿元。"),
                _passage("乙镇工作报告", "2020年工作回顾", "农业稳定发展。"),
                _passage("乙镇工作报告", "2021年工作思路", "继续推进农业发展。")]
    scores = ContextIndex(passages).scores(["2020", "年", "地区", "生产总值"], _rows_with(passages))
    assert scores[0] == scores[1] > scores[2]


def test_a_word_of_a_long_title_names_it_less_than_the_whole_title():
    passages = [_passage("2008年夏季奥林匹克运动会田径比赛", "", "正文。"), _passage("象棋比赛", "", "正文。"),
                _passage("围棋", "", "正文。")]
    scores = ContextIndex(passages).scores(["象棋", "比赛"], _rows_with(passages))
    assert scores[1] > scores[0] > scores[2] == 0.0


def test_passage_embedding_text_prefixes_title_and_section():
    assert passage_embedding_text(_passage("报告", "一、回顾", "正文。")) == "报告\n一、回顾\n正文。"
    assert passage_embedding_text(_passage("报告", "", "正文。")) == "报告\n正文。"


def test_normalize_text_folds_traditional():
    assert normalize_text("國內生產總值１２３") == "国内生产总值123"


def test_builtin_synonyms_expand_gdp():
    groups = read_synonyms(SYNONYMS_FILE)
    found = dict(expand("金城镇的gdp是多少", groups))
    assert "地区生产总值" in found["gdp"]


def test_a_one_way_group_brings_official_words_into_everyday_questions_only(tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text("厂子\t厂家\t|\t企业\t工业企业\n河流巡查\t巡河\n", encoding="utf-8")
    groups = read_synonyms(path)
    assert dict(expand("镇上有几家厂子？", groups)) == {"厂子": ["企业", "工业企业"]}
    assert expand("镇上有几家企业？", groups) == []
    assert dict(expand("巡河几次", groups)) == {"巡河": ["河流巡查"]}  # a plain group works both ways


@pytest.mark.parametrize("line", ["厂子\t厂家\t|\n", "\t|\t企业\n", "厂子\t|\t企业\t|\t公司\n", "单独一个词\n"])
def test_a_line_that_is_no_group_is_refused_with_its_number(tmp_path, line):
    path = tmp_path / "mine.tsv"
    path.write_text("# mine\nGDP\t生产总值\n" + line, encoding="utf-8")
    with pytest.raises(QAError, match="line 3"):
        read_synonyms(path)


def test_an_unreadable_synonyms_file_says_what_to_fix(tmp_path):
    with pytest.raises(QAError, match="QA_SYNONYMS_FILE"):
        read_synonyms(tmp_path / "missing.tsv")
    (tmp_path / "latin1.tsv").write_bytes("caf\xe9\tcoffee\n".encode("latin-1"))
    with pytest.raises(QAError, match="latin1.tsv"):
        read_synonyms(tmp_path / "latin1.tsv")


def test_builtin_everyday_wording_and_framing_words():
    everyday = dict(expand("镇上的厂子效益怎么样", read_synonyms(COLLOQUIAL_FILE)))
    assert "企业" in everyday["厂子"]
    frames = read_words(FRAMES_FILE)
    assert {"有没有", "平时"} <= frames
    assert framing_terms("河道平时有没有人管", ["河道", "平时", "没有", "有没有", "人管"], frames) == {
        "平时", "没有", "有没有"}
    # 家 is inside the framing word 大家 once but also in 家庭: it still counts
    assert framing_terms("大家的家庭收入", ["大家", "家", "家庭", "收入"], frames) == {"大家"}


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
def test_out_of_scope_question_is_declined(searcher, question):
    answer = searcher.search(question)
    assert not answer.answerable
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
    assert searcher.search("2020年金城镇地区生产总值预计是多少？").answerable
    passages = searcher.index.passages
    without_2020 = np.array([row for row, p in enumerate(passages) if "2020" not in f"{p.context}{p.text}"])
    assert len(without_2020) and uncovered_years(["2020"], searcher.stats, without_2020) == ["2020"]
    assert uncovered_years(["2020"], searcher.stats, np.arange(len(passages))) == []


def test_a_value_the_report_does_not_give_is_declined(searcher):
    area = searcher.search("金城镇的总面积有多大？")  # the report gives areas demolished, never the town's
    assert not area.answerable and area.confidence == 0.0
    assert area.trace.verdict("asked_value").declines and not area.trace.verdict("years").declines
    assert any("所问的数值" in notice for notice in area.notices)
    households = searcher.search("走访了多少户残疾人家庭？")  # the answer sentence holds a number of households
    assert households.answerable and not households.notices
    assert "户" in households.hits[0].answer
