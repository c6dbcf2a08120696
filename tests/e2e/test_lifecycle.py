"""The index lifecycle: incremental builds, kill -9 during builds, leftovers, the build lock, failed builds."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa import index as index_store
from qa.config import QAError
from qa.api import QA
from tests.conftest import CORPUS, ROOT
from tests.e2e.test_cli import QUESTIONS

pytestmark = pytest.mark.slow

REPORT = "jincheng-2020-work-report.txt"
SMALL_LINES = 26  # the report's head, through the paragraph with 签约项目17个
KILLS = 10
KILL_SEED = int(os.environ.get("QA_KILL_SEED", "6"))
FIGURES = ROOT / "out" / "lifecycle"


class CountingEncoder:
    """The real encoder, recording every text it embeds."""

    def __init__(self, inner, passage_prefix: str | None = None):
        self.inner = inner
        self.spec, self.dimension, self.backend_name = inner.spec, inner.dimension, inner.backend_name
        self.passage_prefix = inner.passage_prefix if passage_prefix is None else passage_prefix
        self.embedded: list[str] = []

    def encode_passages_with_sentences(self, texts, sentences, progress=None):
        self.embedded += list(texts)
        return self.inner.encode_passages_with_sentences(texts, sentences, progress)


@pytest.fixture()
def corpus(tmp_path):
    """The first part of the report (up to the signing figures): builds stay short."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    lines = (CORPUS / REPORT).read_text(encoding="utf-8").splitlines()
    (folder / REPORT).write_text("\n".join(lines[:SMALL_LINES]) + "\n", encoding="utf-8")
    return folder


def run_qa(corpus: Path, index_dir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real ``qa`` command on a corpus and index folder."""
    env = {**os.environ, "QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(index_dir)}
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def top_texts(built, encoder, settings) -> list[tuple[str, float]]:
    """Top passage id and score for each test question."""
    searcher = QA.from_index(built, settings, encoder).searcher
    return [(hit.passage.passage_id, hit.score) for question, _ in QUESTIONS
            for hit in searcher.search(question, 3).hits]


def stored_vectors(index_dir: Path) -> dict[str, np.ndarray]:
    """passage id → stored vector of the current build."""
    loaded = index_store.load(index_dir)
    vectors = np.load(loaded.path / index_store.VECTORS)
    return {p.passage_id: vectors[i] for i, p in enumerate(loaded.passages)}


def test_incremental_build_embeds_only_new_and_changed_passages(corpus, tmp_path, encoder, settings):
    index_dir = tmp_path / "index"
    first = index_store.build(corpus, index_dir, CountingEncoder(encoder))
    before = stored_vectors(index_dir)
    report = (corpus / REPORT).read_text(encoding="utf-8")
    (corpus / REPORT).write_text(report.replace("签约项目17个", "签约项目18个"), encoding="utf-8")
    (corpus / "new.txt").write_text("补充说明\n\n金城镇2020年新建口袋公园共7座，由镇城建办负责管护。\n", encoding="utf-8")
    counting = CountingEncoder(encoder)
    second = index_store.build(corpus, index_dir, counting)
    changes = second.manifest["changes"]
    assert (changes["added"], changes["changed"], changes["removed"]) == (1, 1, 0), changes
    assert changes["reused"] == changes["unchanged"] == first.manifest["passages"] - 1
    assert changes["embedded"] == 2 and not second.manifest["full"]
    new_passages = [p for p in second.passages if p.passage_id not in before]
    assert sorted(counting.embedded) == sorted(index_store.embedding_texts(new_passages))
    after = stored_vectors(index_dir)
    assert all(np.array_equal(after[pid], before[pid]) for pid in after if pid in before)
    (corpus / "new.txt").unlink()
    third = index_store.build(corpus, index_dir, CountingEncoder(encoder))
    assert (third.manifest["changes"]["removed"], third.manifest["changes"]["embedded"]) == (1, 0)


def test_reused_vectors_give_the_same_results_as_a_full_build(corpus, tmp_path, encoder, settings):
    index_dir = tmp_path / "index"
    index_store.build(corpus, index_dir, encoder)
    (corpus / "new.txt").write_text("补充说明\n\n金城镇2020年新建口袋公园共7座。\n", encoding="utf-8")
    incremental = index_store.build(corpus, index_dir, encoder)
    assert incremental.manifest["changes"]["reused"] > 0
    full = index_store.build(corpus, index_dir, encoder, full=True)
    assert full.manifest["full"] and full.manifest["changes"]["reused"] == 0
    reused, fresh = top_texts(incremental, encoder, settings), top_texts(full, encoder, settings)
    assert [pid for pid, _ in reused] == [pid for pid, _ in fresh]
    # each text is embedded alone (int8 activations are quantized per run), so a reused vector equals a fresh one
    assert np.allclose([s for _, s in reused], [s for _, s in fresh], atol=1e-4)


def test_a_changed_embedding_recipe_reuses_nothing(corpus, tmp_path, encoder, monkeypatch):
    index_dir = tmp_path / "index"
    index_store.build(corpus, index_dir, encoder)
    other_prefix = CountingEncoder(encoder, passage_prefix="passage: ")
    assert index_store.build(corpus, index_dir, other_prefix).manifest["changes"]["reused"] == 0
    monkeypatch.setattr(index_store.texts, "passage_embedding_text", lambda p: f"{p.title}\n{p.text}")
    counting = CountingEncoder(encoder)
    built = index_store.build(corpus, index_dir, counting)
    assert built.manifest["changes"]["reused"] == 0
    assert counting.embedded[0].startswith(built.passages[0].title)
    again = index_store.build(corpus, index_dir, CountingEncoder(encoder))
    assert again.manifest["changes"]["reused"] == len(again.passages)
    assert index_store.build(corpus, index_dir, encoder, max_chars=200).manifest["changes"]["reused"] == 0


def leftovers(index_dir: Path) -> list[str]:
    """Names of unfinished builds in an index folder."""
    return [p.name for p in (index_dir / index_store.BUILDS).iterdir() if p.name.startswith(index_store.TEMPORARY)]


def check_answers(index_dir: Path, encoder, settings) -> None:
    """The index loads and answers the signing question from the right passage."""
    answer = QA.from_index(index_store.load(index_dir), settings, encoder).searcher.search(QUESTIONS[0][0], 3)
    assert QUESTIONS[0][1] in answer.hits[0].passage.text


def start_build(corpus: Path, index_dir: Path) -> subprocess.Popen:
    """Start ``qa index build --full`` (every run embeds everything: a real build) in its own process group."""
    env = {**os.environ, "QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(index_dir)}
    return subprocess.Popen([sys.executable, "-m", "qa", "index", "build", "--full"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait_for_writing(process: subprocess.Popen, index_dir: Path) -> None:
    """Wait until the build starts writing its temporary folder (or ends)."""
    while process.poll() is None and not leftovers(index_dir):
        time.sleep(0.002)


def kill_build(corpus: Path, index_dir: Path, delay: float, in_writing: bool) -> dict:
    """Start a build, kill -9 it after ``delay`` seconds (counted from when it starts writing, if asked).

    Returns:
        The delay, whether the build was still running when killed, and whether it left a temporary folder.
    """
    process, started = start_build(corpus, index_dir), time.monotonic()
    if in_writing:
        wait_for_writing(process, index_dir)
    time.sleep(delay)
    killed = process.poll() is None
    if killed:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    return {"phase": "writing" if in_writing else "any", "delay_s": round(delay, 3), "killed": killed,
            "leftover": bool(leftovers(index_dir)), "elapsed_s": round(time.monotonic() - started, 2)}


def test_kill_9_during_builds_leaves_a_working_index(corpus, tmp_path, encoder, settings):
    index_dir = tmp_path / "index"
    started = time.monotonic()
    first = run_qa(corpus, index_dir, "index", "build")
    duration = time.monotonic() - started
    assert first.returncode == 0, first.stderr
    rng, outcomes = random.Random(KILL_SEED), []
    while sum(o["killed"] for o in outcomes) < KILLS and len(outcomes) < 2 * KILLS:
        in_writing = len(outcomes) % 2 == 1  # half at any moment of the build, half once it writes its files
        delay = rng.uniform(0, 0.01) if in_writing else rng.uniform(0.05, 0.95) * duration
        outcomes.append(kill_build(corpus, index_dir, delay, in_writing))
        if not outcomes[-1]["killed"]:  # the machine got faster: aim within the shorter build next time
            duration = min(duration, outcomes[-1]["elapsed_s"])
        check_answers(index_dir, encoder, settings)
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / "kill9.json").write_text(json.dumps({"build_s": round(duration, 1), "kills": outcomes}, indent=1))
    assert sum(o["killed"] for o in outcomes) == KILLS, outcomes
    assert sum(o["leftover"] for o in outcomes) >= 2, outcomes  # some kills did land while files were written
    (index_dir / index_store.BUILDS / ".tmp-planted").mkdir()
    final = run_qa(corpus, index_dir, "index", "build")
    assert final.returncode == 0 and "Traceback" not in final.stderr, final.stderr
    assert leftovers(index_dir) == []
    assert len([p for p in (index_dir / index_store.BUILDS).iterdir()]) <= 2
    asked = run_qa(corpus, index_dir, "ask", QUESTIONS[0][0], "--json")
    assert asked.returncode == 0, asked.stderr
    assert QUESTIONS[0][1] in json.loads(asked.stdout)["results"][0]["text"]


def test_second_build_is_refused_naming_the_lock_holder(corpus, tmp_path, encoder):
    index_dir = tmp_path / "index"
    index_store.build(corpus, index_dir, encoder)
    before = index_store.current_build(index_dir)
    with index_store.build_lock(index_dir):
        result = run_qa(corpus, index_dir, "index", "build")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Another build is running" in result.stderr and f"pid {os.getpid()}" in result.stderr, result.stderr
    assert index_store.current_build(index_dir) == before


def make_failing_corpus(corpus: Path, case: str) -> None:
    """Turn a corpus into one a build must refuse."""
    shutil.rmtree(corpus)
    if case == "missing":
        return
    corpus.mkdir()
    if case == "unreadable":
        (corpus / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
        (corpus / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
        (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    elif case == "whitespace":
        (corpus / "blank.txt").write_text(" \n\u3000\n\t\n", encoding="utf-8")


@pytest.mark.parametrize("case, message", [("empty", "No readable text"), ("missing", "does not exist"),
                                           ("unreadable", "binary.txt"), ("whitespace", "No readable text")])
def test_failed_build_leaves_the_old_index_untouched(corpus, tmp_path, encoder, settings, case, message):
    index_dir = tmp_path / "index"
    index_store.build(corpus, index_dir, encoder)
    before = index_store.current_build(index_dir)
    make_failing_corpus(corpus, case)
    if case == "unreadable":  # through the CLI: non-zero exit, the skipped files listed
        result = run_qa(corpus, index_dir, "index", "build")
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert all(name in result.stderr for name in ("binary.txt", "broken.docx", "broken.pdf")), result.stderr
    else:
        with pytest.raises(QAError, match=message):
            index_store.build(corpus, index_dir, encoder)
    assert index_store.current_build(index_dir) == before
    check_answers(index_dir, encoder, settings)
    assert leftovers(index_dir) == []


def test_replacing_a_current_folder_is_refused_clearly(corpus, tmp_path, encoder):
    index_dir = tmp_path / "index"
    (index_dir / "current").mkdir(parents=True)
    (index_dir / "current" / "notes.txt").write_text("not an index", encoding="utf-8")
    with pytest.raises(QAError, match="not a link made by qa"):
        index_store.build(corpus, index_dir, encoder)
    assert (index_dir / "current" / "notes.txt").exists()
