"""The web chat through a real `qa serve` answering over gradio_client. (Rendering and follow-up rules:
tests/unit/test_web.py.)"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.e2e.test_cli import CONTRACT_KEYS, RESULT_KEYS
from tests.serving import INJECTION_FILE, INJECTION_QUESTION, MARKDOWN, SCRIPT

pytestmark = pytest.mark.slow

OUT = ROOT / "out"


def write_figure(name: str, value) -> None:
    """Record a measured figure in out/web-figures.json (and print it, seen with ``pytest -s``)."""
    OUT.mkdir(exist_ok=True)
    path = OUT / "web-figures.json"
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[name] = value
    path.write_text(json.dumps(figures, ensure_ascii=False, indent=2))
    print(f"{name}: {value}")


def test_ask_endpoint_returns_the_contract(client):
    reply = client.predict("2020年全年签约了多少个项目？", api_name="/ask")
    assert list(reply) == CONTRACT_KEYS and reply["answerable"] is True
    assert [r["rank"] for r in reply["results"]] == [1, 2, 3]
    for item in reply["results"]:
        assert list(item) == RESULT_KEYS and isinstance(item["score"], float)
        assert item["answer"] and item["answer"] in item["text"]
    assert "签约项目17个" in reply["results"][0]["text"]
    assert len(client.predict("全年累计巡河多少轮次？", 5, api_name="/ask")["results"]) == 5


def test_ask_endpoint_equals_qa_ask_json(client, server):
    question = "全年发放民政经费多少？"
    cli = subprocess.run([sys.executable, "-m", "qa", "ask", question, "--json", "--top-k", "4"],
                         capture_output=True, text=True, env=server.env, timeout=600)
    assert cli.returncode == 0, cli.stderr
    expected, reply = json.loads(cli.stdout), client.predict(question, 4, api_name="/ask")
    scores = [r.pop("score") for r in reply["results"]], [r.pop("score") for r in expected["results"]]
    assert reply == expected
    assert scores[0] == pytest.approx(scores[1], abs=1e-3)


def test_unanswerable_question_is_flagged(client):
    reply = client.predict("火星上有多少颗卫星？", api_name="/ask")
    assert reply["answerable"] is False and reply["results"], reply


def test_traditional_chinese_question_finds_the_passage(client):
    reply = client.predict("2020年全年簽約了多少個項目？", api_name="/ask")
    assert "签约项目17个" in reply["results"][0]["text"]


def test_empty_question_is_a_clear_error(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="请输入问题"):
        client.predict("   ", api_name="/ask")


def test_corpus_html_comes_back_as_plain_text(client):
    reply = client.predict(INJECTION_QUESTION, api_name="/ask")
    top = reply["results"][0]
    assert top["doc_id"] == INJECTION_FILE and SCRIPT in top["text"] and MARKDOWN in top["text"]


def test_median_latency_of_twenty_asks(client):
    questions = ["2020年全年签约了多少个项目？", "全年累计巡河多少轮次？", "全年发放民政经费多少？",
                 "2021年要启动哪些乡村建设项目？", "四大支柱产业占比达到多少？"]
    timings = []
    for i in range(20):
        start = time.perf_counter()
        reply = client.predict(questions[i % len(questions)], api_name="/ask")
        timings.append(time.perf_counter() - start)
        assert len(reply["results"]) == 3
    median = statistics.median(timings)
    write_figure("ask_median_seconds_20_calls", round(median, 3))
    write_figure("ask_max_seconds_20_calls", round(max(timings), 3))
    assert median < 30, timings
