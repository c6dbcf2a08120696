"""qa eval: metrics on hand-computed cases, reading (and rejecting) question sets, and the real command end to end."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from qa.config import QAError
from qa.evaluate import Record, choose_retrievers, evaluate, load_question_set, score_retriever, write_outputs
from qa.evaluate.questions import Question
from qa.evaluate.report import cell

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


# ---------------------------------------------------------------- recount from results.jsonl alone

def squeeze(text: str) -> str:
    return "".join(text.split())


def recount(results_path: Path, gold: dict[str, tuple[list[str], set[str], bool]]) -> dict[str, dict]:
    """Recompute every retriever's figures from results.jsonl and the gold answers, without qa.evaluate."""
    lines = [json.loads(line) for line in results_path.read_text(encoding="utf-8").splitlines()]
    figures = {}
    for name in dict.fromkeys(line["retriever"] for line in lines):
        mine = [line for line in lines if line["retriever"] == name]
        hits, rr, ndcg, answer1 = {k: [] for k in (1, 3, 5, 10)}, [], [], []
        declined = {True: [], False: []}
        for line in mine:
            answers, docs, answerable = gold[line["id"]]
            declined[answerable].append(float(not line["answerable"]))
            if not answerable:
                continue
            flags = [r["doc_id"] in docs or any(squeeze(a) in squeeze(r["text"]) for a in answers)
                     for r in line["results"]]
            for k in hits:
                hits[k].append(float(any(flags[:k])))
            first = next((i for i, f in enumerate(flags[:10], 1) if f), None)
            rr.append(1 / first if first else 0.0)
            ideal = sum(1 / math.log2(i + 2) for i in range(min(sum(flags), 10)))
            dcg = sum(1 / math.log2(i + 2) for i, f in enumerate(flags[:10]) if f)
            ndcg.append(dcg / ideal if ideal else 0.0)
            if answers:
                top = line["results"][0]["answer"]
                answer1.append(float(any(squeeze(a) in squeeze(top) for a in answers)))
        latencies = [line["latency_ms"] for line in mine]
        counted = {"n": len(rr), **{f"hit@{k}": np.mean(v) for k, v in hits.items()}, "mrr@10": np.mean(rr),
                   "ndcg@10": np.mean(ndcg), "answer@1": np.mean(answer1) if answer1 else None,
                   "latency_p50_ms": np.percentile(latencies, 50), "latency_p95_ms": np.percentile(latencies, 95)}
        if declined[False]:
            counted["declined_unanswerable"] = np.mean(declined[False])
            counted["declined_answerable"] = np.mean(declined[True])
        figures[name] = counted
    return figures


def assert_summary_matches(summary: dict, counted: dict[str, dict]) -> None:
    assert list(summary["retrievers"]) == list(counted)
    for name, figures in counted.items():
        for metric, value in figures.items():
            reported = summary["retrievers"][name][metric]
            assert (reported is None) == (value is None), (name, metric)
            if value is not None:
                decimals = 2 if metric.startswith("latency") else 4  # summary.json keeps 2 / 4 decimals
                assert reported == pytest.approx(round(float(value), decimals), abs=1e-9), (name, metric)


def assert_report_matches(folder: Path, summary: dict) -> None:
    report = (folder / "report.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in report.splitlines() if re.match(r"^\| [a-z_@0-9]+ \|", line)}
    names = list(summary["retrievers"])
    for metric in ("n", "hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10", "answer@1", "latency_p50_ms"):
        assert rows[metric] == [cell(summary["retrievers"][name][metric]) for name in names], metric
    png = (folder / "hit_at_k.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


# ---------------------------------------------------------------- end to end: the real command, the real model

@pytest.fixture
def eval_cli(tmp_path, monkeypatch, settings):
    """Run the real `qa eval` in-process with a private cache (the model is linked from the user cache)."""
    from typer.testing import CliRunner

    from qa.cli import app
    from qa.config import get_settings

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "models").symlink_to(settings.cache_dir / "models", target_is_directory=True)
    monkeypatch.setenv("QA_CACHE_DIR", str(cache))
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(app, ["eval", *map(str, args)])
    get_settings.cache_clear()


def test_qa_eval_on_a_beir_folder_end_to_end(tmp_path, eval_cli):
    beir = make_beir(tmp_path / "beir")
    first = eval_cli(beir, "--retriever", "all", "--out", tmp_path / "out", "--json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["questions"] == 6 and summary["n"] == 5 and summary["top_k"] == 10
    assert summary["retriever"] == next(iter(summary["retrievers"]))
    for name, figures in summary["retrievers"].items():
        assert figures["hit@10"] == 1.0 and figures["n_unanswerable"] == 1, name  # 6 passages, 10 results
        assert figures["hit@1"] >= 0.8, (name, figures)
    results = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert len(results) == 6 * len(summary["retrievers"])
    assert {r["doc_id"] for line in results for r in line["results"]} <= set(CORPUS)  # README.md is not indexed
    assert list(results[0])[:4] == ["id", "question", "answerable", "results"]
    gold = {q: (a, {d for qq, d, s in QRELS if qq == q and s > 0}, any(qq == q and s > 0 for qq, d, s in QRELS))
            for q, _, a in QUERIES}
    assert_summary_matches(summary, recount(tmp_path / "out" / "results.jsonl", gold))
    assert_report_matches(tmp_path / "out", summary)
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == summary

    built = sorted((tmp_path / "cache" / "eval-index").glob("*/current/manifest.json"))
    again = eval_cli(beir, "--json", "--retriever", "dense")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["retrievers"]["dense"]["hit@1"] == summary["retrievers"]["dense"]["hit@1"]
    rebuilt = sorted((tmp_path / "cache" / "eval-index").glob("*/current/manifest.json"))
    assert built and [p.read_text() for p in rebuilt] == [p.read_text() for p in built]  # reused, not rebuilt


def test_qa_eval_errors_are_messages_not_tracebacks(tmp_path, eval_cli):
    missing = eval_cli(tmp_path / "nope.jsonl")
    assert missing.exit_code == 1 and "does not exist" in missing.output and "Traceback" not in missing.output
    beir = make_beir(tmp_path / "beir", qrels=QRELS + [("q404", "d1", 1)])
    unknown = eval_cli(beir)
    assert unknown.exit_code == 1 and "q404" in unknown.output


def test_question_file_against_the_town_index_recounts_exactly(tmp_path, searcher):
    lines = [{"id": "t1", "question": "2020年全年签约了多少个项目？", "answers": ["17个"], "kind": "number"},
             {"id": "t2", "question": "全年累计巡河多少轮次？", "answers": ["826轮次"], "kind": "number"},
             {"id": "t3", "question": "镇上的河道平时有没有人管？", "answers": ["河长制"], "kind": "paraphrase"},
             {"id": "t4", "question": "红烧肉怎么做？", "answers": [], "answerable": False, "kind": "unanswerable"},
             {"id": "t5", "question": "金城镇常住人口有多少？", "answers": [], "answerable": False, "kind": "unanswerable"}]
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n{broken\n"
    loaded = load_question_set(write(tmp_path / "town.jsonl", text))
    assert loaded.problems == ["town.jsonl line 6: not valid JSON (Expecting property name enclosed in double quotes)"]
    evaluation = evaluate(searcher, loaded, list(searcher.retrievers), top_k=10)
    write_outputs(evaluation, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["n"] == 3 and summary["questions"] == 5 and summary["skipped_lines"] == 1
    assert {"declined_unanswerable", "declined_answerable", "by_kind"} <= set(summary)
    gold = {line["id"]: (line["answers"], set(), line.get("answerable", True)) for line in lines}
    assert_summary_matches(summary, recount(tmp_path / "out" / "results.jsonl", gold))
    assert_report_matches(tmp_path / "out", summary)
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "## Missed questions" in report and "## By kind" in report
