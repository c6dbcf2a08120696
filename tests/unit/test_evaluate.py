"""qa eval: metrics on hand-computed cases, reading (and rejecting) question sets. (The real command end to end:
tests/e2e/test_evaluate.py.)"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from qa.config import QAError
from qa.evaluate import Record, choose_retrievers, load_question_set, score_retriever, spans
from qa.evaluate.questions import Question

FILLER = "无关的段落。"


# ---------------------------------------------------------------- metrics on tiny hand-computed cases

def result(text: str, answer: str | None = None, doc_id: str = "doc") -> dict:
    return {"rank": 0, "score": 0.0, "doc_id": doc_id, "passage_id": text[:8], "title": "", "section": "",
            "text": text, "answer": answer or text}


def record(gold, texts, kind=None, answerable=True, judged=True, latency=1.0, relevant_docs=(), doc_ids=None):
    question = Question(id=f"q{id(texts)}", question="问？", answers=tuple(gold), answerable=answerable, kind=kind,
                        relevant_docs=frozenset(relevant_docs))
    doc_ids = doc_ids or ["doc"] * len(texts)
    return Record(question, "dense", judged, [result(t, doc_id=d) for t, d in zip(texts, doc_ids)], latency)


def test_hit_mrr_ndcg_of_single_questions():
    first = score_retriever([record(["17个"], ["签约项目17个。", FILLER, FILLER])])
    assert (first["hit@1"], first["mrr@10"], first["ndcg@10"]) == (1.0, 1.0, 1.0)
    second = score_retriever([record(["17个"], [FILLER, "签约项目17个。", FILLER])])
    assert (second["hit@1"], second["hit@3"], second["mrr@10"]) == (0.0, 1.0, 0.5)
    assert second["ndcg@10"] == pytest.approx(1 / math.log2(3), abs=1e-4)
    missed = score_retriever([record(["17个"], [FILLER] * 10)])
    assert [missed[m] for m in ("hit@10", "mrr@10", "ndcg@10", "answer@1")] == [0.0, 0.0, 0.0, 0.0]


def test_ndcg_with_two_relevant_passages():
    # relevant at ranks 2 and 3: DCG = 1/log2(3) + 1/log2(4); ideal = 1 + 1/log2(3)
    figures = score_retriever([record(["100亿元"], [FILLER, "100亿元", "约100 亿元", FILLER])])
    expected = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert figures["ndcg@10"] == pytest.approx(expected, abs=1e-4)


def test_means_over_questions_and_hits_at_each_depth():
    texts = [[FILLER] * 4 + ["52.7亿元"], ["52.7亿元"], [FILLER] * 10, [FILLER, FILLER, "52.7亿元"]]
    figures = score_retriever([record(["52.7亿元"], t) for t in texts])
    assert figures["n"] == 4
    assert [figures[f"hit@{k}"] for k in (1, 3, 5, 10)] == [0.25, 0.5, 0.75, 0.75]
    assert figures["mrr@10"] == pytest.approx((1 / 5 + 1 + 0 + 1 / 3) / 4, abs=1e-4)


def test_whitespace_is_ignored_and_doc_ids_count_as_relevant():
    spaced = score_retriever([record(["52.7 亿元"], ["总投资52.7\n亿元。"])])
    assert spaced["hit@1"] == 1.0
    by_doc = score_retriever([record([], [FILLER, FILLER], relevant_docs={"d2"}, doc_ids=["d1", "d2"])])
    assert (by_doc["hit@1"], by_doc["hit@3"], by_doc["answer@1"]) == (0.0, 1.0, None)


def test_answer_at_1_reads_the_answer_sentence_of_the_top_result():
    one = record(["17个"], ["第一句。签约项目17个。"])
    one.results[0]["answer"] = "第一句。"
    figures = score_retriever([one, record(["17个"], ["签约项目17个。"])])
    assert (figures["hit@1"], figures["answer@1"]) == (1.0, 0.5)


def test_declining_latency_and_kinds():
    records = [record(["a"], ["a"], kind="number", latency=10.0),
               record(["a"], ["a"], kind="number", judged=False, latency=20.0),
               record([], [FILLER], kind="unanswerable", answerable=False, judged=False, latency=30.0),
               record([], [FILLER], kind="unanswerable", answerable=False, judged=True, latency=40.0)]
    figures = score_retriever(records)
    assert (figures["n"], figures["n_unanswerable"]) == (2, 2)
    assert (figures["declined_unanswerable"], figures["declined_answerable"]) == (0.5, 0.5)
    assert (figures["latency_p50_ms"], figures["latency_p95_ms"]) == (25.0, 38.5)
    assert set(figures["by_kind"]) == {"number", "unanswerable"}
    assert figures["by_kind"]["number"]["hit@1"] == 1.0 and figures["by_kind"]["unanswerable"]["hit@1"] is None
    assert "declined_unanswerable" not in score_retriever(records[:2])


# ---------------------------------------------------------------- reading question sets, bad input

def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_malformed_lines_are_reported_with_their_numbers_and_skipped(tmp_path):
    lines = ['{"id": "q1", "question": "签约了多少个项目？", "answers": ["17个"], "kind": "number"}',
             '{"id": "q2", "question": "缺少括号"',
             '',
             '{"id": "q3", "question": "", "answers": ["x"]}',
             '{"id": "q4", "question": "有答案吗？", "answers": []}',
             '{"id": "q1", "question": "重复的编号？", "answers": ["x"]}',
             '{"id": "q6", "question": "答案不是列表？", "answers": 17}',
             '["not", "an", "object"]',
             '{"id": "q8", "question": "明天天气怎么样？", "answers": [], "answerable": false}']
    loaded = load_question_set(write(tmp_path / "set.jsonl", "\n".join(lines)))
    assert [q.id for q in loaded.questions] == ["q1", "q8"]
    assert loaded.questions[0].kind == "number" and not loaded.questions[1].answerable
    assert [p.split(":")[0] for p in loaded.problems] == [f"set.jsonl line {n}" for n in (2, 4, 5, 6, 7, 8)]


def test_csv_set(tmp_path):
    text = "id,question,answers,answerable\nc1,总投资多少？,52.7亿元|52.7 亿元,\nc2,天气？,,false\nc3,只有两列\n"
    loaded = load_question_set(write(tmp_path / "set.csv", text))
    assert [(q.id, q.answers, q.answerable) for q in loaded.questions] == [
        ("c1", ("52.7亿元", "52.7 亿元"), True), ("c2", (), False)]
    assert loaded.problems and loaded.problems[0].startswith("set.csv line 4")


@pytest.mark.parametrize("name, text, message", [
    ("missing.jsonl", None, "does not exist"),
    ("empty.jsonl", "\n\n", "no usable question"),
    ("bad.jsonl", "{oops\n{\"id\": 1}\n", "line 1"),
    ("set.txt", "问题", "unknown question set type"),
    ("set.csv", "question,answer\n问？,x\n", "missing: id, answers"),
])
def test_unusable_sets_raise_clear_errors(tmp_path, name, text, message):
    path = tmp_path / name
    if text is not None:
        write(path, text)
    with pytest.raises(QAError, match=message):
        load_question_set(path)


CORPUS = {
    "d1": ("大熊猫", "大熊猫主要生活在四川、陕西和甘肃的山区，以竹子为主要食物。"),
    "d2": ("长江", "长江全长约6300公里，是中国第一长河，流经青海、西藏、四川等11个省级行政区。"),
    "d3": ("龙井茶", "龙井茶产于浙江杭州西湖一带，属于绿茶，以色绿、香郁、味甘、形美著称。"),
    "d4": ("重庆火锅", "重庆火锅以麻辣为主要特色，常用牛油作为锅底。"),
    "d5": ("京沪高铁", "京沪高速铁路全长1318公里，于2011年6月30日正式开通运营。"),
    "d6": ("围棋", "围棋起源于中国，棋盘由纵横各19条线组成，共有361个交叉点。"),
}
QUERIES = [("q1", "大熊猫吃什么？", ["竹子"]), ("q2", "长江有多长？", ["6300公里"]),
           ("q3", "龙井茶产自哪里？", ["杭州西湖"]), ("q4", "京沪高铁是哪天开通的？", ["2011年6月30日"]),
           ("q5", "围棋棋盘上有多少个交叉点？", ["361个"]), ("q6", "明天上海下雨吗？", []),
           ("q7", "没有评判的问题？", [])]
QRELS = [("q1", "d1", 1), ("q2", "d2", 1), ("q3", "d3", 1), ("q4", "d5", 1), ("q5", "d6", 1), ("q6", "d4", 0)]


def make_beir(folder: Path, qrels=QRELS, qrels_name="qrels.tsv", extra_query_line: str = "") -> Path:
    write(folder / "corpus.jsonl", "".join(json.dumps({"_id": k, "title": t, "text": x}, ensure_ascii=False) + "\n"
                                           for k, (t, x) in CORPUS.items()))
    write(folder / "queries.jsonl", "".join(json.dumps({"_id": q, "text": t, "answers": a}, ensure_ascii=False) + "\n"
                                            for q, t, a in QUERIES) + extra_query_line)
    write(folder / qrels_name, "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels))
    write(folder / "README.md", "# 说明\n\n这个文件夹不是语料的一部分，它的文字不应被检索到。\n")
    return folder


def test_beir_folder_takes_the_judged_queries(tmp_path):
    loaded = load_question_set(make_beir(tmp_path / "beir", qrels_name="qrels/test.tsv",
                                         extra_query_line='{"_id": "q9", "text": ""}\nnot json\n'))
    assert [q.id for q in loaded.questions] == ["q1", "q2", "q3", "q4", "q5", "q6"]
    assert loaded.questions[3].relevant_docs == {"d5"} and not loaded.questions[5].answerable
    assert loaded.corpus == tmp_path / "beir" / "corpus.jsonl"
    assert [p.split(":")[0] for p in loaded.problems] == ["queries.jsonl line 8", "queries.jsonl line 9"]


@pytest.mark.parametrize("qrels, message", [
    (QRELS + [("q404", "d1", 1)], "1 query id.*q404"),
    (QRELS + [("q1", "d404", 1)], "1 corpus id.*d404"),
])
def test_qrels_naming_unknown_ids_are_refused(tmp_path, qrels, message):
    with pytest.raises(QAError, match=message):
        load_question_set(make_beir(tmp_path / "beir", qrels=qrels))


def test_beir_folder_without_qrels_is_refused(tmp_path):
    folder = make_beir(tmp_path / "beir")
    (folder / "qrels.tsv").unlink()
    with pytest.raises(QAError, match="no qrels.tsv or qrels/test.tsv"):
        load_question_set(folder)


def test_retriever_choice():
    class Offer:
        retrievers = ("dense", "sparse", "hybrid")
        settings = None

    assert choose_retrievers(Offer(), "all") == ["dense", "sparse", "hybrid"]
    assert choose_retrievers(Offer(), "hybrid, dense,hybrid") == ["hybrid", "dense"]
    with pytest.raises(QAError, match="bm25"):
        choose_retrievers(Offer(), "dense,bm25")


# ---------------------------------------------------------------- em / f1 of the short answer, CMRC 2018 style

@pytest.mark.parametrize("text, expected", [
    ("签约项目17个", ["签", "约", "项", "目", "17", "个"]),  # each Chinese character a token, a number one token
    ("总投资52.7亿元。", ["总", "投", "资", "52.7", "亿", "元"]),  # punctuation dropped, a decimal kept whole
    ("ＧＤＰ 达到 100亿", ["gdp", "达", "到", "100", "亿"]),  # full width folded, letters lower-cased, spaces dropped
    ("，。！“”", []),
])
def test_span_tokens(text, expected):
    assert spans.tokens(text) == expected


@pytest.mark.parametrize("prediction, gold, em, f1", [
    ("17个", ["17个"], 1.0, 1.0),
    ("17 个。", ["17个"], 1.0, 1.0),  # whitespace and punctuation do not count
    ("１７个", ["17个"], 1.0, 1.0),
    ("签约项目17个", ["17个"], 0.0, 0.5),  # precision 2/6, recall 1
    ("甲乙丙", ["甲丙"], 0.0, 0.4),  # the longest common run (1 token), not the common tokens: P 1/3, R 1/2
    ("17个", ["52.7亿元", "17个项目"], 0.0, 2 * (1 * 0.5) / 1.5),  # the best over the gold answers
    ("12个", ["17个"], 0.0, 0.5),  # 12 and 17 are different tokens
    ("", ["17个"], 0.0, 0.0),
    ("。", ["。"], 0.0, 0.0),  # nothing left to match
])
def test_exact_match_and_f1(prediction, gold, em, f1):
    assert spans.exact_match(prediction, gold) == em
    assert spans.f1(prediction, gold) == pytest.approx(f1)


def test_em_and_f1_are_means_over_the_answerable_questions_with_a_short_answer():
    def answered(gold, short):
        found = record(gold, [f"全年签约项目{short}。"])
        found.results[0]["short_answer"] = short
        return found

    figures = score_retriever([answered(["17个"], "17个"), answered(["17个"], "签约项目17个"),
                               record(["17个"], ["签约项目17个。"])])  # no short_answer: not counted
    assert (figures["em"], figures["f1"]) == (pytest.approx(0.5), pytest.approx(0.75))
    assert "em" not in score_retriever([record(["17个"], ["签约项目17个。"])])
