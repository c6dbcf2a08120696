"""A real `qa serve` subprocess for tests and the load benchmark: a copy of the report (plus a document with HTML
and Markdown syntax) as its corpus, its own index folder, a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
INJECTION_FILE = "网页显示测试.txt"
INJECTION_QUESTION = "测试暗号是什么？"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
MARKDOWN = "**不是粗体**与[不是链接](http://example.com)"
INJECTION_TEXT = (f"网页显示测试\n\n这段文字检查网页是否把资料当作纯文本显示。测试暗号是紫色长颈鹿。"
                  f"脚本标签{SCRIPT}和图片{IMG}以及{MARKDOWN}都应原样出现。\n")


class ServerError(RuntimeError):
    """The server did not start or stopped."""


def make_corpus(base: Path) -> Path:
    """Copy the town report into a folder and add a document whose text holds HTML and Markdown syntax.

    Args:
        base: A temporary folder.

    Returns:
        The corpus folder.
    """
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / INJECTION_FILE).write_text(INJECTION_TEXT, encoding="utf-8")
    return corpus


def free_port() -> int:
    """Return a TCP port that is free on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class QAServer:
    """A real ``qa serve`` subprocess on a free port, with its own corpus, index folder and feedback file."""

    def __init__(self, base: Path, *args: str):
        """Start the server (it builds its index on first use) and wait until the page answers.

        Args:
            base: A temporary folder for the corpus, the index and the log.
            args: Extra ``qa serve`` options.
        """
        self.corpus = make_corpus(base)
        self.index = base / "index"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = base / "serve.log"
        self.feedback_file = base / "feedback" / "feedback.jsonl"
        self.env = {**os.environ, "QA_CORPUS_DIR": str(self.corpus), "QA_INDEX_DIR": str(self.index),
                    "QA_FEEDBACK_FILE": str(self.feedback_file), "GRADIO_ANALYTICS_ENABLED": "False"}
        with self.log.open("w") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--port", str(self.port), *args],
                                            stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                            start_new_session=True)
        self._wait_ready(timeout=600)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"qa serve exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stop()
        raise ServerError(f"qa serve did not answer within {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Stop the server (its own process only)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
