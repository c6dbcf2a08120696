"""Bad input that needs no model: unreadable and oddly encoded corpus files, upload names, uploads — a clear message
or a skip, never a traceback. (Bad questions, indexes and the web API: tests/e2e/test_bad_input.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from qa.config import QAError
from qa.documents import load_corpus
from qa.web.app import ChatApp
from qa.web.uploads import safe_upload_name, save_uploads

GOOD_TEXT = "金城镇工作报告\n\n2020年，金城镇全年签约项目17个，总投资52亿元。\n"


# --- corpus files ---------------------------------------------------------------------------------------------------

SKIPPED_FILES = {
    "binary.txt": b"\x00\x01\x02\x03" * 200,
    "nul-in-text.md": "前言".encode() + b"\x00" * 50 + "正文".encode(),
    "random.pdf": bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8)),
    "not-a-pdf.pdf": "这不是PDF".encode(),
    "garbage.docx": b"PK\x03\x04garbage",
    "text.docx": GOOD_TEXT.encode(),
    "elf.html": b"\x7fELF\x02\x01\x01" + b"\x00" * 64,
    "png.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40,
}


@pytest.mark.parametrize("name", list(SKIPPED_FILES))
def test_unreadable_corpus_files_are_skipped_and_listed(tmp_path, name):
    (tmp_path / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / name).write_bytes(SKIPPED_FILES[name])
    corpus = load_corpus(tmp_path)
    assert [skipped for skipped, _ in corpus.skipped] == [name]
    assert {p.doc_id for p in corpus.passages} == {"good.txt"}


DECODED_FILES = [("gbk.txt", "gbk", GOOD_TEXT), ("gb18030.txt", "gb18030", GOOD_TEXT + "生僻字㐀䶵𠀀€在此。\n"),
                 ("gb2312.md", "gb2312", GOOD_TEXT), ("utf8-bom.txt", "utf-8-sig", GOOD_TEXT),
                 ("utf16.txt", "utf-16", GOOD_TEXT), ("gbk.html", "gbk", f"<html><body><p>{GOOD_TEXT}</p></body></html>"),
                 ("controls.txt", "utf-8", GOOD_TEXT.replace("签约", "签\x07\x1b约"))]


@pytest.mark.parametrize("name, encoding, text", DECODED_FILES, ids=[name for name, _, _ in DECODED_FILES])
def test_chinese_encodings_are_decoded_right(tmp_path, name, encoding, text):
    (tmp_path / name).write_bytes(text.encode(encoding))
    corpus = load_corpus(tmp_path)
    assert corpus.skipped == []
    body = "\n".join(p.text for p in corpus.passages)
    assert "全年签约项目17个" in body
    if "𠀀" in text:
        assert "㐀䶵𠀀€" in body


# --- upload names --------------------------------------------------------------------------------------------------

SAFE_NAMES = [("报告 2020.docx", "报告 2020.docx"), ("../../etc/passwd.txt", "passwd.txt"),
              ("..\\..\\windows\\win.md", "win.md"), (".hidden.txt", "hidden.txt"), ("/abs/path/a.PDF", "a.pdf"),
              ("a\x00b\x1f.txt", "a_b.txt"), ("名字<>|:*?.md", "名字.md"), ("a..b..txt", "a.b.txt"),
              ("..  ..report.html", "report.html"), ("工作报告（2020）.md", "工作报告（2020）.md"),
              ("x" * 300 + ".txt", "x" * 116 + ".txt")]
REFUSED_NAMES = ["evil.exe", "..", ".", "", "noext", "...txt", "archive.tar.gz", "/etc/", "shell.sh", "a.txt.exe"]


@pytest.mark.parametrize("raw, safe", SAFE_NAMES, ids=[f"name{i}" for i in range(len(SAFE_NAMES))])
def test_upload_names_are_sanitized(raw, safe):
    assert safe_upload_name(raw) == safe


@pytest.mark.parametrize("raw", REFUSED_NAMES, ids=[f"refused{i}" for i in range(len(REFUSED_NAMES))])
def test_unusable_upload_names_are_refused(raw):
    with pytest.raises(QAError):
        safe_upload_name(raw)


def test_save_uploads_writes_only_readable_files_inside_the_corpus(tmp_path):
    incoming, corpus = tmp_path / "incoming", tmp_path / "corpus"
    incoming.mkdir()
    (incoming / "说明.md").write_text(GOOD_TEXT, encoding="utf-8")
    (incoming / "binary.txt").write_bytes(b"\x00" * 100)
    (incoming / "big.txt").write_text("签" * 400_000, encoding="utf-8")
    (incoming / "run.exe").write_bytes(b"MZ")
    outcome = save_uploads(sorted(incoming.iterdir()), corpus, max_mb=1)
    assert outcome.saved == ["说明.md"]
    assert sorted(name for name, _ in outcome.rejected) == ["big.txt", "binary.txt", "run.exe"]
    assert sorted(p.name for p in corpus.iterdir()) == ["说明.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "incoming"]


class RemoteRequest:
    """A Gradio request from another machine, not signed in."""

    username = None

    class client:  # noqa: N801
        host = "203.0.113.9"


def test_uploads_from_another_machine_are_refused(tmp_path):
    class Holder:
        corpus_dir = tmp_path / "corpus"

        def info(self):
            from qa.web.holder import IndexInfo

            return IndexInfo("index", 1, 1, "m3e-small", "now", [])

    upload = tmp_path / "a.txt"
    upload.write_text(GOOD_TEXT, encoding="utf-8")
    panel = ChatApp(Holder()).upload([str(upload)], RemoteRequest())
    assert "只能在本机或登录后" in panel and not Holder.corpus_dir.exists()
