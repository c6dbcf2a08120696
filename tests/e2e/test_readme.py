"""Every command of the README runs as written in a fresh copy of the repository (what `git clone` gives): the
shell commands, the Python example and the HTTP API example (against a real `qa serve` of that copy)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.serving import free_port

pytestmark = pytest.mark.slow

BLOCK = re.compile(r"```(bash|python)\n(.*?)```", re.S)
NOT_RUN = ("make ", ".venv/bin/qa serve")  # make: what CI runs around this test; serve: started by the test itself


def readme_blocks() -> list[tuple[str, str]]:
    """The README's code blocks as (language, text)."""
    return BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))


def fresh_copy(base: Path) -> Path:
    """The tracked files of the repository (nothing built, no index), with the project's venv linked in."""
    copy = base / "qa"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = ROOT / name
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        elif source.exists():
            shutil.copy2(source, target)
    (copy / ".venv").symlink_to(Path(sys.prefix))
    return copy


def test_every_readme_command_runs_from_a_fresh_copy(tmp_path):
    copy = fresh_copy(tmp_path)
    port = free_port()
    env = {**os.environ, "QA_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("QA_INDEX_DIR", None), env.pop("QA_CORPUS_DIR", None)
    server = None
    try:
        for language, text in readme_blocks():
            if language == "python":
                if "Client(" in text and server is None:
                    server = subprocess.Popen([str(copy / ".venv/bin/qa"), "serve", "--port", str(port)], cwd=copy,
                                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    wait_for(port)
                code = text.replace("http://127.0.0.1:7860/", f"http://127.0.0.1:{port}/")
                done = subprocess.run([str(copy / ".venv/bin/python"), "-c", code], cwd=copy, env=env,
                                      capture_output=True, text=True, timeout=900)
                assert done.returncode == 0, f"{text}\n{done.stderr[-2000:]}"
                continue
            for line in text.splitlines():
                command = line.split("  #")[0].strip()
                if not command or command.startswith(NOT_RUN):
                    continue
                done = subprocess.run(command, shell=True, cwd=copy, env=env, capture_output=True, text=True,
                                      timeout=1200)
                assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)


def wait_for(port: int, timeout: float = 600) -> None:
    """Wait until the chat answers on the port."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"qa serve did not answer on port {port}")
