"""Load test of a real `qa serve`: N concurrent users asking through `/ask` for S seconds, optionally while the
index is rebuilt in another process (the server must pick the new build up without a failed request).

    python benchmarks/load.py --users 50 --seconds 60              # against a server it starts itself
    python benchmarks/load.py --users 50 --seconds 60 --rebuild    # … with `qa index build` running mid-way
    python benchmarks/load.py --url http://127.0.0.1:7860/ --json  # against a running server

Traffic goes to loopback only; every user stops at the deadline. With --json the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.serving import QAServer  # noqa: E402

QUESTIONS = ["2020年全年签约了多少个项目？", "全年累计巡河多少轮次？", "全年发放民政经费多少？", "四大支柱产业占比达到多少？",
             "2021年要启动哪些乡村建设项目？", "2020年全年簽約了多少個項目？", "今天天气怎么样？", "违法建设拆除了多少户？"]
NEW_DOCUMENT = ("load-test-addendum.txt", "补充说明\n\n金城镇2020年新建口袋公园共7座，由镇城建办负责管护。\n")
NEW_QUESTION, NEW_FACT = "金城镇新建了几座口袋公园？", "口袋公园共7座"


@dataclass
class Tally:
    """Latencies and errors of all users (thread-safe)."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seconds: float | None, error: str | None = None) -> None:
        """Add one request's outcome."""
        with self.lock:
            if error is None:
                self.latencies.append(seconds)
            else:
                self.errors.append(error)


def user(url: str, deadline: float, offset: int, tally: Tally) -> None:
    """One simulated user: ask questions one after the other until the deadline."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    i = offset
    while time.monotonic() < deadline:
        question = QUESTIONS[i % len(QUESTIONS)]
        start = time.perf_counter()
        try:
            reply = client.predict(question, api_name="/ask")
            if not reply.get("results"):
                raise ValueError(f"no results for {question}")
            tally.record(time.perf_counter() - start)
        except Exception as error:  # every failure counts, whatever its kind
            tally.record(None, f"{type(error).__name__}: {error}"[:300])
        i += 1


def rebuild_in_another_process(server: QAServer) -> float:
    """Add a document to the server's corpus and run `qa index build` as a separate process.

    Returns:
        Seconds the build took.
    """
    name, text = NEW_DOCUMENT
    (server.corpus / name).write_text(text, encoding="utf-8")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qa", "index", "build"], env=server.env, check=True,
                   capture_output=True, timeout=600)
    return time.perf_counter() - start


def seconds_until_reloaded(url: str, timeout: float = 120) -> float | None:
    """Ask the rebuild's question until the answer comes from the new build (the server reloads in the background).

    Args:
        url: The server's address.
        timeout: How long to keep asking.

    Returns:
        Seconds until the new fact was answered, or None if it never was.
    """
    from gradio_client import Client

    client, start = Client(url, verbose=False), time.monotonic()
    while time.monotonic() - start < timeout:
        if NEW_FACT in client.predict(NEW_QUESTION, api_name="/ask")["results"][0]["text"]:
            return round(time.monotonic() - start, 1)
        time.sleep(1)
    return None


def run_load(url: str, users: int, seconds: float, during=None) -> dict:
    """Run the users against a server, calling ``during()`` (if given) a third of the way in.

    Args:
        url: The server's address (loopback).
        users: Concurrent users.
        seconds: How long they ask.
        during: A function run in the middle of the load (e.g. a rebuild); its result is reported.

    Returns:
        requests, errors, error samples, throughput (requests/s), p50/p95/max latency (ms), during's result.
    """
    tally = Tally()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=user, args=(url, deadline, i, tally), daemon=True) for i in range(users)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    outcome = None
    if during:
        time.sleep(seconds / 3)
        outcome = during()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    elapsed = time.monotonic() - started
    latencies = sorted(tally.latencies)
    percentile = lambda q: round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)  # noqa: E731
    return {"users": users, "seconds": seconds, "requests": len(latencies) + len(tally.errors),
            "errors": len(tally.errors), "error_samples": tally.errors[:5],
            "throughput_rps": round(len(latencies) / elapsed, 2),
            "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
            "p95_ms": percentile(0.95) if latencies else None, "max_ms": percentile(1.0) if latencies else None,
            "during": outcome}


def main() -> None:
    """Parse options, start a server unless --url is given, run the load, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--url", help="a running server on this machine (default: start one)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the index in another process mid-way")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    options = parser.parse_args()
    if options.url and options.rebuild:
        parser.error("--rebuild needs the server this script starts (it changes that server's corpus)")
    with tempfile.TemporaryDirectory() as base:
        server = None if options.url else QAServer(Path(base))
        try:
            url = options.url or server.url
            during = (lambda: {"rebuild_s": round(rebuild_in_another_process(server), 1)}) if options.rebuild else None
            figures = run_load(url, options.users, options.seconds, during)
            if options.rebuild:
                waited = seconds_until_reloaded(url)
                figures["reloaded"], figures["reload_wait_s"] = waited is not None, waited
        finally:
            if server:
                server.stop()
    for key, value in figures.items():
        print(f"{key:>16}: {value}")
    if options.json:
        print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
