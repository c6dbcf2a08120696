"""Benchmarks of ``qa``: query latency, encode and build throughput, int8 accuracy and (full mode) a million passages.

Usage::

    .venv/bin/python benchmarks/run.py --quick          # one round of the throughput test, no scale test
    .venv/bin/python benchmarks/run.py --json           # full: three rounds and the 1M scale test
    .venv/bin/python benchmarks/run.py --rounds 5 --skip-scale

Prints a table for people (on stderr when ``--json`` is given) and, with ``--json``, one JSON object as the last
line of stdout. Throughput pairs are measured in the same run, interleaved round by round (the order rotates), and
each figure is the best round: on a shared machine the fastest round is the one least disturbed by other work.
Model loading and the int8 export are done before any timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import (  # noqa: E402
    TOWN_CORPUS,
    Trial,
    benchmark_questions,
    best_and_median,
    build_seconds,
    corpus_folder,
    dense_hit_at_1,
    latencies_ms,
    load_trial,
    percentiles,
    raw_encode_seconds,
    settings_for,
)

from qa import index as index_store  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.documents import tokenize  # noqa: E402
from qa.embedding import Encoder, load_sentence_transformer, resolve  # noqa: E402
from qa.api import QA  # noqa: E402

BACKENDS = ("torch", "onnx-int8")
SCALE_COUNT = 1_000_000


def machine() -> dict:
    """Describe the machine and how busy it is.

    Returns:
        CPU model, logical cores, memory, load average, library versions.
    """
    import faiss
    import onnxruntime
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    flags = Path("/proc/cpuinfo").read_text()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "avx512_vnni": "avx512_vnni" in flags,
            "memory_gb": round(memory, 1), "load_average": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(), "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__, "faiss": faiss.__version__}


def throughput(trial: Trial, encoders: dict[str, Encoder], plain, work: Path, rounds: int) -> dict:
    """Time plain encode, ``qa``'s float32 build and its int8 build of the trial corpus, interleaved.

    Args:
        trial: The trial set (256 documents).
        encoders: Loaded encoders by backend.
        plain: A loaded plain ``SentenceTransformer`` of the same model.
        work: Scratch folder.
        rounds: How many rounds.

    Returns:
        Documents per second (best round) of each, the median-round figures, and the last builds' indexes.
    """
    corpus = corpus_folder(trial, work)
    max_chars = Settings().max_passage_chars
    steps = {
        "encode_raw": lambda: (raw_encode_seconds(plain, trial.documents), None),
        "build": lambda: build_seconds(corpus, work / "trial-torch", encoders["torch"], max_chars),
        "build_int8": lambda: build_seconds(corpus, work / "trial-int8", encoders["onnx-int8"], max_chars),
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    built = {}
    for number in range(rounds):
        names = list(steps)[number % 3:] + list(steps)[: number % 3]
        for name in names:
            elapsed, index = steps[name]()
            times[name].append(elapsed)
            built[name] = index
            print(f"  round {number + 1}: {name:<10} {elapsed:6.1f} s", file=sys.stderr)
    result: dict = {"documents": len(trial.documents), "passages": len(built["build"].passages), "rounds": rounds}
    for name, values in times.items():
        best, median = best_and_median(values)
        result[f"{name}_pps"] = round(len(trial.documents) / best, 2)
        result[f"{name}_pps_median"] = round(len(trial.documents) / median, 2)
    result["indexes"] = built
    return result


def int8_accuracy(trial: Trial, encoders: dict[str, Encoder], built: dict) -> dict:
    """Compare dense hit@1 of the int8 index with the float32 one on the trial questions.

    Args:
        trial: The trial set.
        encoders: Loaded encoders by backend.
        built: The indexes of :func:`throughput` (``build``: float32, ``build_int8``: int8).

    Returns:
        Both hit@1 figures and their difference.
    """
    float32 = dense_hit_at_1(built["build"], encoders["torch"], trial)
    int8 = dense_hit_at_1(built["build_int8"], encoders["onnx-int8"], trial)
    return {"hit1_float32": round(float32, 4), "hit1_int8": round(int8, 4), "int8_hit1_delta": round(int8 - float32, 4)}


def query_latency(encoder: Encoder, settings: Settings, questions: list[str]) -> dict:
    """Time ``Searcher.search`` (default retriever) on an index of the town report, and the question encoding alone.

    Args:
        encoder: A loaded encoder.
        settings: Settings with a scratch index folder.
        questions: The questions.

    Returns:
        p50/p95 of whole searches and of encoding the question alone, in milliseconds.
    """
    built = index_store.build(TOWN_CORPUS, settings.index_dir, encoder, settings.max_passage_chars)
    searcher = QA.from_index(built, settings, encoder).searcher
    search = percentiles(latencies_ms(searcher.search, questions))
    encode = percentiles(latencies_ms(lambda q: encoder.encode_queries([q]), questions))
    return {"search": search, "encode": encode, "passages": len(built.passages)}


def scale(count: int) -> dict:
    """Run the scale benchmark in a child process (its peak memory is its own).

    Args:
        count: How many synthetic passages.

    Returns:
        Its figures.
    """
    script = Path(__file__).resolve().parent / "scale.py"
    done = subprocess.run([sys.executable, str(script), "--count", str(count)], stdout=subprocess.PIPE, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(results: dict) -> dict:
    """Pick the figures the issue asks for (and a few that explain them) into one flat object.

    Args:
        results: Everything measured.

    Returns:
        The JSON object printed as the last line.
    """
    speed, queries, accuracy = results["throughput"], results["queries"], results["accuracy"]
    default = queries[results["default_backend"]]
    flat = {
        "query_ms_p50": default["search"]["p50"],
        "query_ms_p95": default["search"]["p95"],
        "encode_raw_pps": speed["encode_raw_pps"],
        "build_pps": speed["build_pps"],
        "build_int8_pps": speed["build_int8_pps"],
        "int8_hit1_delta": accuracy["int8_hit1_delta"],
        "default_backend": results["default_backend"],
        "build_ratio": round(speed["build_pps"] / speed["encode_raw_pps"], 2),
        "build_int8_ratio": round(speed["build_int8_pps"] / speed["encode_raw_pps"], 2),
        "build_ratio_median": round(speed["build_pps_median"] / speed["encode_raw_pps_median"], 2),
        "build_int8_ratio_median": round(speed["build_int8_pps_median"] / speed["encode_raw_pps_median"], 2),
        "hit1_float32": accuracy["hit1_float32"],
        "hit1_int8": accuracy["hit1_int8"],
    }
    for backend, figures in queries.items():
        suffix = "" if backend == "torch" else "_int8"
        flat[f"query_search_ms_p50_{backend}"] = figures["search"]["p50"]
        flat[f"query_encode_ms_p50{suffix}"] = figures["encode"]["p50"]
    if "scale" in results:
        big = results["scale"]
        flat.update({"scale_1m_build_s": big["build_s"], "scale_1m_p95_ms": big["p95_ms"],
                     "scale_1m_recall10": big["recall10"], "scale_1m_rss_gb": big["rss_gb"],
                     "scale_1m_sparse_p95_ms": big["sparse_p95_ms"], "scale_1m_hybrid_p95_ms": big["hybrid_p95_ms"]})
    return flat


def print_table(results: dict, flat: dict, stream) -> None:
    """Print the figures for people.

    Args:
        results: Everything measured.
        flat: The summary.
        stream: Where to print.
    """
    info = results["machine"]
    print(f"\nqa benchmarks — {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB, "
          f"load {info['load_average']} at start, {results['load_after']} at end", file=stream)
    for key, value in flat.items():
        print(f"  {key:<28} {value}", file=stream)
    if "scale" in results:
        print("  scale details:", json.dumps(results["scale"], ensure_ascii=False), file=stream)


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="qa benchmarks")
    parser.add_argument("--quick", action="store_true", help="one throughput round, no scale test (a few minutes)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--rounds", type=int, help="throughput rounds (default: 1 quick, 3 full)")
    parser.add_argument("--skip-scale", action="store_true", help="leave out the 1M scale test in full mode")
    parser.add_argument("--scale-count", type=int, default=SCALE_COUNT, help="synthetic passages of the scale test")
    args = parser.parse_args()
    start = time.perf_counter()
    rounds = args.rounds or (1 if args.quick else 3)
    # the backend a default install runs (QA_BACKEND=auto: onnx-int8 for m3e-small)
    results: dict = {"machine": machine(), "default_backend": Encoder(Settings()).backend_name}
    trial = load_trial()
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as scratch:
        work = Path(scratch)
        settings = {backend: settings_for(backend, work) for backend in BACKENDS}
        encoders = {backend: Encoder(settings[backend]) for backend in BACKENDS}
        plain = load_sentence_transformer(resolve(Settings().model, Settings().cache_dir))
        for encoder in encoders.values():
            encoder.encode_passages(trial.documents[:8])
        plain.encode(trial.documents[:8])
        tokenize("加载分词词典")  # the segmenter loads its dictionary on first use: part of loading, not of a build
        speed = throughput(trial, encoders, plain, work, rounds)
        results["accuracy"] = int8_accuracy(trial, encoders, speed.pop("indexes"))
        results["throughput"] = speed
        questions = benchmark_questions(trial)
        results["queries"] = {b: query_latency(encoders[b], settings[b], questions) for b in BACKENDS}
    if not args.quick and not args.skip_scale:
        del encoders, plain
        results["scale"] = scale(args.scale_count)
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    results["took_s"] = round(time.perf_counter() - start)
    flat = summary(results)
    print_table(results, flat, sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps({**flat, "details": results}, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
