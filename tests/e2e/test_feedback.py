"""Feedback through a real `qa serve`: 50 concurrent /feedback calls, bad input, and export → `qa eval`. (The file,
corrections, export, stats and the document view: tests/unit/test_feedback.py.)"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from qa.feedback import UP, read
from tests.unit.test_feedback import LINE_KEYS, SHOWN_KEYS, run_qa

pytestmark = pytest.mark.slow


def test_fifty_concurrent_feedback_calls_leave_fifty_well_formed_lines(server):
    from gradio_client import Client

    questions = ["2020年全年签约了多少个项目？", "全年累计巡河多少轮次？", "全年发放民政经费多少？"]
    start = threading.Barrier(50)

    def give(number: int) -> dict:
        client = Client(server.url, verbose=False)
        start.wait()
        return client.predict(f"{questions[number % 3]}（{number}）", number % 2 == 0, api_name="/feedback")

    with ThreadPoolExecutor(50) as pool:
        returned = list(pool.map(give, range(50)))
    loaded = read(server.feedback_file)
    assert loaded.problems == [] and len(loaded.records) == 50
    assert len(server.feedback_file.read_bytes().splitlines()) == 50
    assert sorted(record["question"] for _, record in loaded.records) == sorted(r["question"] for r in returned)
    assert len({record["reply"] for _, record in loaded.records}) == 50
    for _, record in loaded.records:
        assert list(record) == LINE_KEYS and record["source"] == "api" and record["correction"] is None
        assert list(record["shown"]) == SHOWN_KEYS and len(record["shown"]["passages"]) == 3
        assert record["shown"]["index_built_at"] and 0 <= record["shown"]["confidence"] <= 1
    assert sum(record["verdict"] == UP for _, record in loaded.records) == 25


def test_feedback_endpoint_refuses_bad_input_with_a_message(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="question is empty"):
        client.predict("  ", True, api_name="/feedback")
    with pytest.raises(AppError, match="no card #7"):
        client.predict("全年累计巡河多少轮次？", False, "#7", api_name="/feedback")
    with pytest.raises(AppError, match="goes with a 👎"):
        client.predict("全年累计巡河多少轮次？", True, "826轮次", api_name="/feedback")


def test_feedback_then_export_then_qa_eval(server, client, tmp_path):
    path = tmp_path / "feedback.jsonl"
    env = {**server.env, "QA_FEEDBACK_FILE": str(path)}
    ask = client.predict("全年发放民政经费多少？", api_name="/ask")
    # the server writes to its own file; give these verdicts through it and copy its new lines
    before = len(server.feedback_file.read_bytes().splitlines()) if server.feedback_file.exists() else 0
    client.predict("全年发放民政经费多少？", True, api_name="/feedback")
    client.predict("2020年全年签约了多少个项目？", False, "签约项目17个", api_name="/feedback")
    client.predict("金城镇的总面积是多少平方公里？", False, "不在资料中", api_name="/feedback")
    client.predict("全年累计巡河多少轮次？", False, "#1", api_name="/feedback")
    client.predict("金城镇有多少人口？", False, "九万二千人", api_name="/feedback")
    path.write_bytes(b"\n".join(server.feedback_file.read_bytes().splitlines()[before:]) + b"\n")
    out = tmp_path / "from-feedback.jsonl"
    exported = run_qa(env, "feedback", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "Wrote 4 questions" in exported.stdout and "3 answerable, 1 unanswerable" in exported.stdout
    assert "金城镇有多少人口？ — 👎 with a correction that occurs in no indexed passage" in exported.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    first = ask["results"][0]
    assert first["short_answer"] == "1891万元"  # 👍 exports the short answer that was shown
    assert {line["question"]: line["answers"] for line in lines}["全年发放民政经费多少？"] == [first["short_answer"]]
    evaluated = run_qa(env, "eval", str(out), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    summary = json.loads(evaluated.stdout)
    assert summary["questions"] == 4 and summary["skipped_lines"] == 0 and summary["n_unanswerable"] == 1
    assert summary["hit@3"] == 1.0 and "declined_unanswerable" in summary
    assert set(summary["by_kind"]) == {"confirmed", "corrected", "not-in-documents"}
    stats = run_qa(env, "feedback", "stats", "--json")
    week = json.loads(stats.stdout.splitlines()[-1])
    assert stats.returncode == 0 and (week["verdicts"], week["up"], week["down"], week["corrections"]) == (5, 1, 4, 4)
