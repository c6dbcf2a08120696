"""Running a question set through a searcher: choosing the index, the retrievers, timing each question."""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa import index as index_store
from qa.config import QAError, Settings
from qa.documents import BEIR_CORPUS, fingerprint
from qa.embedding import Encoder
from qa.evaluate.metrics import Record, score_retriever
from qa.evaluate.questions import QuestionSet
from qa.api import QA
from qa.search import Searcher

log = logging.getLogger(__name__)

EVAL_CACHE = "eval-index"
DEFAULT_RETRIEVER = "default"
Progress = Callable[[int, int], None]


@dataclass
class Evaluation:
    """A finished run: the records of every retriever and the summary."""

    question_set: QuestionSet
    records: dict[str, list[Record]]
    summary: dict


def _link_corpus(source: Path, folder: Path) -> Path:
    """Make a folder holding only the BEIR ``corpus.jsonl`` (other files next to it are not documents)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / BEIR_CORPUS
    if target.is_symlink() or target.exists():
        target.unlink()
    try:
        target.symlink_to(source.resolve())
    except OSError:
        shutil.copyfile(source, target)
    return folder


def cached_index(settings: Settings, corpus_dir: Path, encoder: Encoder, progress: Progress | None = None
                 ) -> index_store.Index:
    """Load, or build once, the evaluation index of a corpus for a model, cached by corpus fingerprint and model.

    Args:
        settings: The settings (cache folder, passage length).
        corpus_dir: The corpus folder.
        encoder: The model to index with.
        progress: Progress callback while embedding.

    Returns:
        The index, under ``<cache_dir>/eval-index/<key>``.
    """
    key_text = f"{fingerprint(corpus_dir)}|{encoder.spec}|{settings.max_passage_chars}"
    index_dir = settings.cache_dir / EVAL_CACHE / hashlib.sha256(key_text.encode()).hexdigest()[:16]
    if index_store.exists(index_dir):
        try:
            loaded = index_store.load(index_dir)
            recipe = index_store.embedding_recipe(encoder, settings.max_passage_chars)
            fresh = loaded.manifest.get("embedding_recipe") == recipe
            if fresh and not loaded.staleness(corpus_dir, encoder.spec, settings.max_passage_chars):
                log.info("reusing the evaluation index in %s", index_dir)
                return loaded
        except QAError as error:
            log.warning("rebuilding the evaluation index: %s", error)
    return index_store.build(corpus_dir, index_dir, encoder, settings.max_passage_chars, progress)


def open_for_set(question_set: QuestionSet, settings: Settings, index_dir: Path | None = None,
                 model: str | None = None, progress: Progress | None = None) -> tuple[Searcher, list[str]]:
    """Open the searcher a question set is asked against.

    A BEIR set brings its corpus, indexed into the evaluation cache. A question file uses the given (or configured)
    index, unless ``model`` names another model than that index's: then the index's corpus is indexed with that
    model into the cache.

    Args:
        question_set: The loaded set.
        settings: The settings.
        index_dir: The index for a question file (default: the configured one).
        model: A model spec to evaluate (default: the index's, or the configured one for BEIR).
        progress: Progress callback while embedding.

    Returns:
        The searcher and warnings for the user.

    Raises:
        QAError: If the index or model cannot be used.
    """
    warnings = []
    if question_set.corpus is not None:
        if index_dir:
            warnings.append(f"--index is ignored: the BEIR folder {question_set.path} brings its own corpus.")
        corpus_dir = _link_corpus(question_set.corpus,
                                  settings.cache_dir / EVAL_CACHE / "corpora" / _path_key(question_set.corpus))
    else:
        index_dir = index_dir or settings.index_dir
        existing = index_store.load(index_dir) if index_store.exists(index_dir) else None
        if not model or (existing and model == existing.model):
            opened = QA.open(index_dir, progress=progress, config=settings)
            return opened.searcher, warnings + opened.warnings
        corpus_dir = Path(existing.manifest["corpus_dir"]) if existing else settings.corpus_dir
    encoder = Encoder(settings, model or settings.model)
    return QA.from_index(cached_index(settings, corpus_dir, encoder, progress), settings, encoder).searcher, warnings


def _path_key(path: Path) -> str:
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


def choose_retrievers(searcher: Searcher, spec: str | None) -> list[str]:
    """Turn ``--retriever`` into the list of retrievers to run.

    Args:
        searcher: The searcher (its ``retrievers`` are the choices).
        spec: None (the configured retriever), ``all``, one name or a comma list.

    Returns:
        Retriever names; ``default`` stands for the searcher's default when the settings name none.

    Raises:
        QAError: If a name is not one the searcher offers.
    """
    offered = list(searcher.retrievers)
    if not spec:
        configured = getattr(searcher.settings, "retriever", None)
        return [configured if configured in offered else DEFAULT_RETRIEVER]
    if spec.strip().lower() == "all":
        return offered
    names = list(dict.fromkeys(name.strip() for name in spec.split(",") if name.strip()))
    unknown = [name for name in names if name not in offered]
    if unknown or not names:
        raise QAError(f"Unknown retriever {', '.join(unknown) or spec!r}; choose all or one or more of: "
                      f"{', '.join(offered)}.")
    return names


def ask_all(searcher: Searcher, question_set: QuestionSet, retriever: str, top_k: int,
            progress: Callable[[], None] | None = None) -> list[Record]:
    """Ask every question of a set with one retriever, timing each.

    Args:
        searcher: The searcher.
        question_set: The questions.
        retriever: A retriever name, or ``default``.
        top_k: Results per question.
        progress: Called after each question.

    Returns:
        One record per question.
    """
    records = []
    for question in question_set.questions:
        start = time.perf_counter()
        answer = searcher.search(question.question, top_k, None if retriever == DEFAULT_RETRIEVER else retriever)
        latency = round((time.perf_counter() - start) * 1000, 2)
        reply = answer.to_dict()
        records.append(Record(question, retriever, reply["answerable"], reply["results"], latency))
        if progress:
            progress()
    return records


def evaluate(searcher: Searcher, question_set: QuestionSet, retrievers: list[str], top_k: int = 10,
             progress: Progress | None = None) -> Evaluation:
    """Run a question set with each retriever and summarize.

    Args:
        searcher: The searcher.
        question_set: The questions.
        retrievers: Names from :func:`choose_retrievers`.
        top_k: Results per question (hit@10, mrr@10 and ndcg@10 need 10).
        progress: Called with (questions done, total) over all retrievers.

    Returns:
        The records and the summary: ``set``, ``model``, ``top_k``, ``questions``, ``skipped_lines``, the first
        retriever's figures at the top level (``retriever`` names it) and every retriever's under ``retrievers``.
    """
    total, done = len(question_set.questions) * len(retrievers), 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    records = {name: ask_all(searcher, question_set, name, top_k, tick) for name in retrievers}
    figures = {name: score_retriever(found) for name, found in records.items()}
    first = retrievers[0]
    summary = {"set": str(question_set.path), "model": searcher.encoder.spec, "top_k": top_k,
               "questions": len(question_set.questions), "skipped_lines": len(question_set.problems),
               "retriever": first, **figures[first], "retrievers": figures}
    return Evaluation(question_set, records, summary)
