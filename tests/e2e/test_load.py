"""A short load test (10 users × 10 s) against a real `qa serve`, with and without a rebuild in another process.

The full run (50 users × 60 s) is the benchmark `benchmarks/load.py`; its figures are in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import time

import pytest

from benchmarks.load import NEW_FACT, NEW_QUESTION, rebuild_in_another_process, run_load

pytestmark = pytest.mark.slow


def test_ten_users_get_answers_without_errors(server):
    figures = run_load(server.url, users=10, seconds=10)
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["requests"] >= 10


def test_rebuild_in_another_terminal_is_picked_up_without_failed_requests(server):
    from gradio_client import Client

    figures = run_load(server.url, users=10, seconds=10, during=lambda: rebuild_in_another_process(server))
    assert figures["errors"] == 0, figures["error_samples"]
    client = Client(server.url, verbose=False)
    deadline = time.monotonic() + 60
    while NEW_FACT not in client.predict(NEW_QUESTION, api_name="/ask")["results"][0]["text"]:
        assert time.monotonic() < deadline, "the server never answered from the rebuilt index"
        time.sleep(1)
