"""End to end: the real `qa` command, the real model, a real index of the report."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

# Ten questions a resident might ask, each with a fact only the answering passage holds.
QUESTIONS = [
    ("2020年全年签约了多少个项目？", "签约项目17个"),
    ("2020年金城镇的地区生产总值是多少？", "地区生产总值100亿元"),
    ("四大支柱产业占比达到多少？", "四大支柱产业占比达到84.1%"),
    ("全年累计巡河多少轮次？", "巡河826轮次"),
    ("违法建设拆除了多少户？", "违法建设34户"),
    ("全年发放民政经费多少？", "民政经费1891万元"),
    ("11个行政村总收入是多少？", "总收入超4000万元"),
    ("2021年要启动哪些乡村建设项目？", "白龙荡萝卜小镇"),
    ("常州市委书记到金城镇做了什么？", "齐家滨在金城镇(金科园)调研"),
    ("金城镇依托哪所高校推进生物医药研发？", "南京工业大学"),
]
CONTRACT_KEYS = ["question", "answerable", "confidence", "results"]
RESULT_KEYS = ["rank", "score", "doc_id", "passage_id", "title", "section", "text", "answer", "short_answer"]


@pytest.mark.parametrize("question, fact", QUESTIONS)
def test_answering_passage_is_first(searcher, question, fact):
    answer = searcher.search(question, 3)
    assert fact in answer.hits[0].passage.text, [h.passage.text[:40] for h in answer.hits]


def run_qa(settings, *args):
    env = {**os.environ, "QA_CORPUS_DIR": str(settings.corpus_dir), "QA_INDEX_DIR": str(settings.index_dir)}
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, env=env, timeout=600)


def test_ask_json_matches_the_contract(searcher, settings):
    result = run_qa(settings, "ask", "2020年全年签约了多少个项目？", "--json", "--top-k", "4")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert list(reply) == CONTRACT_KEYS
    assert reply["question"] == "2020年全年签约了多少个项目？" and isinstance(reply["answerable"], bool)
    assert [r["rank"] for r in reply["results"]] == [1, 2, 3, 4]
    for item in reply["results"]:
        assert list(item) == RESULT_KEYS
        assert isinstance(item["score"], float) and item["doc_id"] == "jincheng-2020-work-report.txt"
        assert item["answer"] and item["answer"] in item["text"]
    assert "签约项目17个" in reply["results"][0]["text"]
    assert reply["results"][0]["section"] == "2020年工作回顾"


def test_ask_for_people_shows_answer_and_source(searcher, settings):
    result = run_qa(settings, "ask", "全年累计巡河多少轮次？")
    assert result.returncode == 0, result.stderr
    assert "826轮次" in result.stdout and "2020年工作回顾" in result.stdout


def test_empty_question_is_refused_clearly(searcher, settings):
    result = run_qa(settings, "ask", "   ")
    assert result.returncode == 1
    assert "question is empty" in result.stderr and "Traceback" not in result.stderr + result.stdout


def test_index_info_reports_stale_index(searcher, settings, tmp_path):
    info = run_qa(settings, "index", "info")
    assert info.returncode == 0 and "passages" in info.stdout and "stale" in info.stdout
    changed = tmp_path / "corpus"
    changed.mkdir()
    (changed / "other.txt").write_text("另一份文件。", encoding="utf-8")
    stale = run_qa(settings, "index", "info", "--corpus", str(changed))
    assert stale.returncode == 0 and "changed since the index was built" in stale.stdout


def test_an_index_built_elsewhere_is_checked_against_its_own_corpus(settings, tmp_path):
    docs, index_dir = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "note.txt").write_text("金城镇新建了一座图书馆，年底开放。", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "QA_CORPUS_DIR"}

    def qa(*args, **extra):
        return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                              env={**env, **extra}, cwd=tmp_path, timeout=600)

    assert qa("index", "build", "--corpus", str(docs), "--index", str(index_dir)).returncode == 0
    own = qa("index", "info", "--index", str(index_dir))
    assert own.returncode == 0 and re.search(r"stale\s+no", own.stdout), own.stdout
    configured = qa("index", "info", "--index", str(index_dir), QA_CORPUS_DIR=str(settings.corpus_dir))
    assert "changed since the index was built" in configured.stdout


def test_missing_index_is_a_clear_message(settings, tmp_path):
    result = run_qa(settings, "index", "info", "--index", str(tmp_path / "none"))
    assert result.returncode == 1 and "qa index build" in result.stderr and "Traceback" not in result.stderr


def test_doc_filter_on_a_mixed_corpus(settings, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "jincheng.txt").write_text((settings.corpus_dir / "jincheng-2020-work-report.txt").read_text("utf-8"),
                                         encoding="utf-8")
    (corpus / "other-town.txt").write_text("白塔镇2020年工作总结\n\n2020年，白塔镇全年签约项目9个，总投资8.1亿元。\n",
                                           encoding="utf-8")
    env_args = ("--index", str(tmp_path / "index"), "--corpus", str(corpus))
    both = json.loads(run_qa(settings, "ask", "全年签约了多少个项目？", "--json", *env_args).stdout)
    assert {r["doc_id"] for r in both["results"]} == {"jincheng.txt", "other-town.txt"}
    only = run_qa(settings, "ask", "全年签约了多少个项目？", "--json", "--doc", "other-town", *env_args)
    reply = json.loads(only.stdout)
    assert {r["doc_id"] for r in reply["results"]} == {"other-town.txt"}
    assert "签约项目9个" in reply["results"][0]["answer"]
    missing = run_qa(settings, "ask", "全年签约了多少个项目？", "--doc", "nowhere", *env_args)
    assert missing.returncode == 1 and "No document matches nowhere" in missing.stderr
