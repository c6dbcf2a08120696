"""qa eval end to end: the real command and the real model, every figure recounted from results.jsonl alone.
(Metrics on hand-computed cases and reading question sets: tests/unit/test_evaluate.py.)"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from qa.evaluate import evaluate, load_question_set, write_outputs
from qa.evaluate.report import cell
from tests.unit.test_evaluate import CORPUS, QRELS, QUERIES, make_beir, write

pytestmark = pytest.mark.slow

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
