"""Bad input with the real model, index and server: questions, indexes, the CLI and the web API — a clear message,
never a traceback. (Corpus files and upload names: tests/unit/test_bad_input.py.)

Each parametrized case is one bad input; the fuzz test feeds the question path whatever hypothesis makes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import faiss
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from qa import index as index_store
from qa.config import QAError
from qa.api import QA
from qa.search import Answer
from tests.e2e.test_cli import CONTRACT_KEYS, RESULT_KEYS
from tests.serving import QAServer
from tests.unit.test_bad_input import GOOD_TEXT

pytestmark = pytest.mark.slow

CONTROL = [chr(c) for c in range(32) if chr(c) not in "\t\n\r"] + ["\x7f"]


def well_formed(answer: Answer, max_chars: int) -> None:
    """An answer has the docs/contracts.md shape, a clean question and at least one passage."""
    reply = answer.to_dict()
    assert list(reply) == CONTRACT_KEYS and isinstance(reply["answerable"], bool)
    assert reply["results"] and all(list(item) == RESULT_KEYS for item in reply["results"])
    assert 0 < len(reply["question"]) <= max_chars
    assert not any(c in reply["question"] for c in CONTROL)


def no_traceback(result: subprocess.CompletedProcess) -> None:
    """A CLI run that failed cleanly: exit 1 and one 'Error:' message."""
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "Error:" in result.stderr and "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]


def run_qa(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run the real ``qa`` command with extra environment variables."""
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})


# --- questions ------------------------------------------------------------------------------------------------------

EMPTY_QUESTIONS = ["", " ", "   \t  ", "\n\n", "\r\n\t", "\u3000\u3000", "\x00", "\x00\x01\x02\x1f\x7f",
                   "\u200b\u200c\ufeff", " \x0b\x0c "]
ODD_QUESTIONS = ["？", "？？？！！！", "。", "a", "1", "签" * 20_000, "x" * 20_000, "2020年\x00全年\x07签约\x1b[31m了多少个项目？",
                 "😀🎉🙏", "مرحبا بالعالم", "'; DROP TABLE passages; --", "<script>alert(1)</script>签约项目",
                 "{{7*7}} ${jndi:ldap://x}", "%s%n%x", "\\x00\\n", "２０２０年全年簽約了多少個項目？",
                 "ⅠⅡⅢ ① ㈠ ㊀", "\u202e反转文字", "A" * 499 + "签", "項" * 501, " ".join(["签约"] * 3000)]


@pytest.mark.parametrize("question", EMPTY_QUESTIONS, ids=[f"empty{i}" for i in range(len(EMPTY_QUESTIONS))])
def test_empty_questions_are_refused_clearly(searcher, question):
    with pytest.raises(QAError, match="question is empty"):
        searcher.search(question)


@pytest.mark.parametrize("question", [None, 123, b"bytes", ["签约"]], ids=["none", "int", "bytes", "list"])
def test_questions_that_are_not_text_are_refused(searcher, question):
    with pytest.raises(QAError, match="must be text"):
        searcher.search(question)


@pytest.mark.parametrize("question", ODD_QUESTIONS, ids=[f"odd{i}" for i in range(len(ODD_QUESTIONS))])
def test_odd_questions_get_a_well_formed_answer(searcher, settings, question):
    answer = searcher.search(question)
    well_formed(answer, settings.max_question_chars)
    assert bool(answer.notices) == (len(question.strip()) > settings.max_question_chars)


def test_lone_surrogates_in_a_question(searcher, settings):
    answer = searcher.search("签约\ud800项目\udcff")
    well_formed(answer, settings.max_question_chars)
    assert answer.question == "签约项目"


def test_control_characters_are_stripped_and_the_answer_found(searcher):
    answer = searcher.search("2020年\x00全年\x07签约\x1b了多少个项目？\x7f")
    assert answer.question == "2020年全年签约了多少个项目？"
    assert "签约项目17个" in answer.hits[0].passage.text


@given(st.one_of(st.text(max_size=300), st.text(alphabet="签约项目年全多少？ \x00\n\u3000😀", max_size=1200)))
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzzed_questions_never_raise_anything_but_qaerror(searcher, question):
    try:
        answer = searcher.search(question, 3)
    except QAError as error:
        assert "question is empty" in str(error)
        return
    well_formed(answer, searcher.settings.max_question_chars)


def test_cli_truncates_a_20000_character_question_with_a_notice(searcher, settings):
    result = run_qa("ask", "签约项目" * 5000, "--json", QA_CORPUS_DIR=str(settings.corpus_dir),
                    QA_INDEX_DIR=str(settings.index_dir))
    assert result.returncode == 0, result.stderr
    assert "问题过长" in result.stderr and f"first {settings.max_question_chars} characters" in result.stderr
    assert len(json.loads(result.stdout)["question"]) == settings.max_question_chars


@pytest.mark.parametrize("question", ["\t \u3000 ", "\x01\x02\x1b"], ids=["blank", "controls"])
def test_cli_refuses_an_empty_question(searcher, settings, question):
    result = run_qa("ask", question, QA_CORPUS_DIR=str(settings.corpus_dir), QA_INDEX_DIR=str(settings.index_dir))
    no_traceback(result)
    assert "question is empty" in result.stderr


# --- indexes --------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_index(tmp_path_factory, encoder):
    """A built index of a one-file corpus, copied for each damage."""
    base = tmp_path_factory.mktemp("small")
    (base / "corpus").mkdir()
    (base / "corpus" / "a.txt").write_text(GOOD_TEXT, encoding="utf-8")
    index_store.build(base / "corpus", base / "index", encoder)
    return base


def foreign_dimension(folder: Path) -> None:
    """Make a build whose vectors are 384-dim (as if built with another model)."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    dense = faiss.IndexFlatIP(384)
    dense.add(np.random.default_rng(0).standard_normal((manifest["passages"], 384)).astype(np.float32))
    faiss.write_index(dense, str(folder / "dense.faiss"))
    with np.load(folder / "sentences.npz") as saved:
        starts = saved["starts"]
    np.savez(folder / "sentences.npz", vectors=np.zeros((starts[-1], 384), np.float32), starts=starts)
    (folder / "manifest.json").write_text(json.dumps({**manifest, "dimension": 384}), encoding="utf-8")


def damage(index_dir: Path, case: str) -> None:
    """Break an index in one way."""
    folder = (index_dir / "current").resolve()
    write = lambda name, text: (folder / name).write_text(text, encoding="utf-8")  # noqa: E731
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if case == "random-files":
        shutil.rmtree(index_dir)
        index_dir.mkdir()
        (index_dir / "notes.txt").write_text("hello", encoding="utf-8")
        (index_dir / "data.bin").write_bytes(os.urandom(256))
    elif case == "dangling-link":
        (index_dir / "current").unlink()
        (index_dir / "current").symlink_to("builds/gone")
    elif case == "link-to-file":
        (index_dir / "current").unlink()
        (index_dir / "file").write_text("x", encoding="utf-8")
        (index_dir / "current").symlink_to("file")
    elif case == "manifest-not-json":
        write("manifest.json", "\x00\x01 not json")
    elif case == "manifest-list":
        write("manifest.json", "[1, 2, 3]")
    elif case == "manifest-foreign":
        write("manifest.json", json.dumps({"name": "some-other-tool", "version": "3.1"}))
    elif case == "format-version-1":
        write("manifest.json", json.dumps({**manifest, "format_version": 1}))
    elif case == "passages-garbage":
        write("passages.jsonl", "{not json}\n")
    elif case == "passages-foreign":
        write("passages.jsonl", json.dumps({"id": 1, "body": "x"}) + "\n")
    elif case == "dense-garbage":
        (folder / "dense.faiss").write_bytes(os.urandom(512))
    elif case == "sentences-garbage":
        (folder / "sentences.npz").write_bytes(b"PK\x03\x04" + os.urandom(200))
    elif case == "sparse-missing":
        shutil.rmtree(folder / "sparse")
    elif case == "sentences-mismatch":
        np.savez(folder / "sentences.npz", vectors=np.zeros((1, 512), np.float32), starts=np.array([0, 5]))
    elif case == "dimension-mismatch":
        foreign_dimension(folder)


INDEX_DAMAGE = {"random-files": "No index in", "dangling-link": "broken", "link-to-file": "broken",
                "manifest-not-json": "broken", "manifest-list": "broken", "manifest-foreign": "format version None",
                "format-version-1": "format version 1", "passages-garbage": "broken", "passages-foreign": "broken",
                "dense-garbage": "broken", "sentences-garbage": "broken", "sparse-missing": "broken",
                "sentences-mismatch": "sentence vectors do not match", "dimension-mismatch": "512-dim vectors"}


@pytest.fixture()
def damaged(small_index, tmp_path, request):
    """A copy of the small index, damaged as the test's ``case`` says."""
    index_dir = tmp_path / "index"
    shutil.copytree(small_index / "index", index_dir, symlinks=True)
    damage(index_dir, request.param)
    return index_dir


@pytest.mark.parametrize("damaged, message", INDEX_DAMAGE.items(), indirect=["damaged"], ids=list(INDEX_DAMAGE))
def test_broken_or_foreign_index_is_one_clear_message(damaged, message, encoder, settings, tmp_path):
    with pytest.raises(QAError, match=message) as caught:
        QA.from_index(index_store.load(damaged), settings, encoder)
    assert "qa index build" in str(caught.value) or "index build" in str(caught.value)


def test_missing_index_and_missing_corpus_is_one_clear_message(settings, tmp_path):
    with pytest.raises(QAError, match="does not exist"):
        QA.open(tmp_path / "no-index", tmp_path / "no-corpus", config=settings)


@pytest.mark.parametrize("damaged, command", [("random-files", "index info"), ("manifest-foreign", "ask"),
                                              ("dimension-mismatch", "ask")],
                         indirect=["damaged"], ids=["random-files", "manifest-foreign", "dimension-mismatch"])
def test_cli_on_a_broken_index_exits_with_one_message(damaged, command, small_index):
    args = command.split() + (["签约了多少个项目？"] if command == "ask" else [])
    result = run_qa(*args, "--index", str(damaged), "--corpus", str(small_index / "corpus"))
    no_traceback(result)
    assert "qa index build" in result.stderr


# --- the web chat, through a real server ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QA_MAX_UPLOAD_MB", "1")
        running = QAServer(tmp_path_factory.mktemp("bad-web"))
    yield running
    running.stop()


@pytest.mark.parametrize("question, top_k, message", [("", 3, "question is empty"), ("  \u3000\t", 3, "question is empty"),
                                                      ("\x00\x01", 3, "question is empty"),
                                                      ("签约了多少个项目？", 0, "top_k must be between"),
                                                      ("签约了多少个项目？", 1000, "top_k must be between")],
                         ids=["empty", "blank", "controls", "top-k-0", "top-k-1000"])
def test_web_api_reports_bad_questions_as_errors(client, question, top_k, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(question, top_k, api_name="/ask")


def test_web_api_truncates_a_long_question(client):
    reply = client.predict("签约项目" * 5000, 3, api_name="/ask")
    assert len(reply["question"]) == 500 and reply["results"]


def corpus_listing(server) -> list[str]:
    """Files in the server's base folder outside the index (the corpus and the log)."""
    base = server.corpus.parent
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*")
                  if p.is_file() and not p.relative_to(base).as_posix().startswith("index/"))


def test_uploading_documents_adds_them_and_rebuilds(server, client, tmp_path):
    import docx
    from gradio_client import handle_file

    before = corpus_listing(server)
    word = docx.Document()
    word.add_paragraph("金城镇2020年新建口袋公园共7座，由镇城建办负责管护。")
    word.save(tmp_path / "口袋公园说明.docx")
    (tmp_path / "河长制.html").write_text("<html><body><h1>河长制</h1><p>全年共清理河道垃圾1200吨，设立民间河长9名。</p>"
                                         "</body></html>", encoding="utf-8")
    panel = client.predict([handle_file(str(tmp_path / "口袋公园说明.docx")), handle_file(str(tmp_path / "河长制.html"))],
                           api_name="/upload")
    assert "索引已重建" in panel and "口袋公园说明.docx" in panel, panel
    added = sorted(set(corpus_listing(server)) - set(before))
    assert added == ["corpus/口袋公园说明.docx", "corpus/河长制.html"]
    assert "口袋公园共7座" in client.predict("金城镇新建了几座口袋公园？", 3, api_name="/ask")["results"][0]["text"]
    assert "民间河长9名" in client.predict("设立了多少名民间河长？", 3, api_name="/ask")["results"][0]["text"]


@pytest.mark.parametrize("name, content, reason", [
    ("binary.txt", b"\x00\x01\x02" * 100, "binary"), ("broken.pdf", b"%PDF-1.4 garbage", "cannot be read"),
    ("big.txt", "签".encode() * 400_000, "limit"), ("empty.md", b"  \n\n", "no text")],
    ids=["binary", "broken-pdf", "too-big", "empty"])
def test_bad_uploads_are_refused_and_nothing_is_written(server, client, tmp_path, name, content, reason):
    from gradio_client import handle_file

    before = corpus_listing(server)
    (tmp_path / name).write_bytes(content)
    try:
        panel = client.predict([handle_file(str(tmp_path / name))], api_name="/upload")
    except Exception as error:  # Gradio itself refuses files over max_file_size before the handler runs
        assert reason == "limit" and ("413" in str(error) or "size" in str(error).lower()), error
    else:
        assert "未添加" in panel and name in panel and reason in panel, panel
    assert corpus_listing(server) == before
