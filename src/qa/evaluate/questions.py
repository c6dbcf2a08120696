"""Reading question sets: JSONL, CSV and BEIR folders (docs/contracts.md, "Question sets for qa eval").

A malformed line is reported with its line number and skipped; a set with nothing valid left, a missing file and
qrels that name unknown ids raise :class:`~qa.config.QAError`.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

from qa.config import QAError
from qa.documents import BEIR_CORPUS, json_lines

log = logging.getLogger(__name__)

BEIR_QUERIES = "queries.jsonl"
BEIR_QRELS = ("qrels.tsv", "qrels/test.tsv")
CSV_COLUMNS = ("id", "question", "answers")
TRUE_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": True}
SHOWN_PROBLEMS = 5


class BadLine(ValueError):
    """A line of a question file that cannot be used; the message says why."""


@dataclass(frozen=True)
class Question:
    """One question of a set, with what counts as a correct passage."""

    id: str
    question: str
    answers: tuple[str, ...] = ()
    answerable: bool = True
    kind: str | None = None
    relevant_docs: frozenset[str] = frozenset()


@dataclass
class QuestionSet:
    """A loaded question set.

    ``corpus`` is the BEIR ``corpus.jsonl`` that comes with the set (None for question files, which are asked
    against an existing index); ``problems`` lists the skipped lines, one message each.
    """

    path: Path
    questions: list[Question]
    corpus: Path | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The set's file or folder name."""
        return self.path.name


def _answers(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadLine("'answers' must be a list of strings")
    return tuple(item.strip() for item in value if item.strip())


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS:
        return TRUE_WORDS[value.strip().lower()]
    raise BadLine(f"'answerable' must be true or false, not {value!r}")


def make_question(qid, text, answers=None, answerable=True, kind=None, relevant_docs=frozenset()) -> Question:
    """Validate the fields of one question.

    Args:
        qid: The question id.
        text: The question.
        answers: A list of gold answer strings (or one string, or None).
        answerable: Whether the corpus answers it (bool or true/false text).
        kind: An optional label for the breakdown (number, paraphrase, …).
        relevant_docs: The ``doc_id``s judged relevant (BEIR qrels).

    Returns:
        The question.

    Raises:
        BadLine: If a field is missing or of the wrong type.
    """
    if not isinstance(qid, (str, int)) or not str(qid).strip():
        raise BadLine("missing 'id'")
    if not isinstance(text, str) or not text.strip():
        raise BadLine("the question text is missing or empty")
    if kind is not None and not isinstance(kind, str):
        raise BadLine("'kind' must be text")
    gold, judged = _answers(answers), _flag(answerable)
    if judged and not gold and not relevant_docs:
        raise BadLine("an answerable question needs at least one answer (or set \"answerable\": false)")
    return Question(str(qid).strip(), text.strip(), gold, judged, kind or None, frozenset(relevant_docs))


def _json_lines(path: Path, problems: list[str]):
    """Yield (line number, object) for each JSON object line; report the others."""
    for number, record in json_lines(path):
        if isinstance(record, ValueError):
            problems.append(f"{path.name} line {number}: not valid JSON ({getattr(record, 'msg', record)})")
        elif not isinstance(record, dict):
            problems.append(f"{path.name} line {number}: not a JSON object")
        else:
            yield number, record


def _keep(questions: dict[str, Question], question: Question, where: str, problems: list[str]) -> None:
    if question.id in questions:
        problems.append(f"{where}: duplicate id {question.id!r}")
    else:
        questions[question.id] = question


def read_jsonl(path: Path, problems: list[str]) -> list[Question]:
    """Read a JSONL question file.

    Args:
        path: The file.
        problems: Skipped lines are appended here.

    Returns:
        The valid questions in file order.
    """
    questions: dict[str, Question] = {}
    for number, record in _json_lines(path, problems):
        try:
            question = make_question(record.get("id"), record.get("question"), record.get("answers"),
                                     record.get("answerable", True), record.get("kind"))
        except BadLine as error:
            problems.append(f"{path.name} line {number}: {error}")
            continue
        _keep(questions, question, f"{path.name} line {number}", problems)
    return list(questions.values())


def read_csv(path: Path, problems: list[str]) -> list[Question]:
    """Read a CSV question file (columns ``id,question,answers``, answers joined by ``|``; optional
    ``answerable`` and ``kind``).

    Args:
        path: The file.
        problems: Skipped lines are appended here.

    Returns:
        The valid questions in file order.

    Raises:
        QAError: If the header lacks a required column.
    """
    questions: dict[str, Question] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise QAError(f"{path} needs a header line with the columns {','.join(CSV_COLUMNS)}; "
                          f"missing: {', '.join(missing)}.")
        for row in reader:
            where = f"{path.name} line {reader.line_num}"
            try:
                if None in row or any(row.get(c) is None for c in CSV_COLUMNS):
                    raise BadLine("wrong number of columns")
                question = make_question(row["id"], row["question"], (row["answers"] or "").split("|"),
                                         row.get("answerable") or "", row.get("kind"))
            except BadLine as error:
                problems.append(f"{where}: {error}")
                continue
            _keep(questions, question, where, problems)
    return list(questions.values())


def _beir_file(folder: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise QAError(f"{folder} is not a complete BEIR folder: it has no {' or '.join(names)}. A BEIR folder holds "
                  f"{BEIR_CORPUS}, {BEIR_QUERIES} and qrels.tsv (or qrels/test.tsv).")


def read_qrels(path: Path, problems: list[str]) -> dict[str, dict[str, int]]:
    """Read a BEIR qrels file (``query-id corpus-id score``, tab separated, one header line).

    Args:
        path: The qrels file.
        problems: Skipped lines are appended here.

    Returns:
        ``{query id: {corpus id: score}}``.
    """
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, 1):
            parts = line.split("\t") if "\t" in line else line.split()
            parts = [part.strip() for part in parts]
            if not line.strip() or (number == 1 and not parts[-1].lstrip("-").isdigit()):
                continue
            if len(parts) != 3 or not parts[2].lstrip("-").isdigit() or not parts[0] or not parts[1]:
                problems.append(f"{path.name} line {number}: expected 'query-id<TAB>corpus-id<TAB>score'")
                continue
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def _corpus_ids(path: Path) -> set[str]:
    ids = set()
    for _, record in _json_lines(path, []):
        if "_id" in record:
            ids.add(str(record["_id"]))
    return ids


def _unknown(kind: str, ids: set[str], path: Path) -> QAError:
    shown = ", ".join(sorted(ids)[:SHOWN_PROBLEMS]) + (" …" if len(ids) > SHOWN_PROBLEMS else "")
    return QAError(f"{path} names {len(ids)} {kind} id(s) that do not exist: {shown}. Fix the qrels or add them.")


def read_beir(folder: Path, problems: list[str]) -> tuple[list[Question], Path]:
    """Read a BEIR folder: the queries judged in its qrels become the questions.

    Args:
        folder: The BEIR folder.
        problems: Skipped lines are appended here.

    Returns:
        The questions (in ``queries.jsonl`` order) and the folder's ``corpus.jsonl``.

    Raises:
        QAError: If a file is missing or the qrels name unknown query or corpus ids.
    """
    corpus, queries_path = _beir_file(folder, (BEIR_CORPUS,)), _beir_file(folder, (BEIR_QUERIES,))
    qrels_path = _beir_file(folder, BEIR_QRELS)
    qrels = read_qrels(qrels_path, problems)
    queries: dict[str, Question] = {}
    rejected: set[str] = set()  # ids of malformed query lines: already reported, their qrels are dropped
    for number, record in _json_lines(queries_path, problems):
        qid = str(record.get("_id", ""))
        relevant = frozenset(doc for doc, score in qrels.get(qid, {}).items() if score > 0)
        try:
            question = make_question(record.get("_id"), record.get("text"), record.get("answers"),
                                     bool(relevant), record.get("kind"), relevant)
        except BadLine as error:
            problems.append(f"{queries_path.name} line {number}: {error}")
            rejected.add(qid)
            continue
        _keep(queries, question, f"{queries_path.name} line {number}", problems)
    unknown_queries = set(qrels) - set(queries) - rejected
    if unknown_queries:
        raise _unknown("query", unknown_queries, qrels_path)
    unknown_docs = {doc for judged in qrels.values() for doc in judged} - _corpus_ids(corpus)
    if unknown_docs:
        raise _unknown("corpus", unknown_docs, qrels_path)
    unjudged = len(set(queries) - set(qrels))
    if unjudged:
        log.info("%d queries of %s have no qrels and are left out", unjudged, queries_path)
    return [q for qid, q in queries.items() if qid in qrels], corpus


def load_question_set(path: Path) -> QuestionSet:
    """Load a question set: a ``.jsonl``/``.json`` or ``.csv`` question file, or a BEIR folder.

    Args:
        path: The file or folder.

    Returns:
        The questions, the BEIR corpus (if any) and the skipped lines.

    Raises:
        QAError: If the path is missing or of an unknown kind, or no valid question is left.
    """
    problems: list[str] = []
    corpus = None
    if path.is_dir():
        questions, corpus = read_beir(path, problems)
    elif not path.is_file():
        raise QAError(f"Question set {path} does not exist. Give a .jsonl or .csv question file or a BEIR folder.")
    elif path.suffix.lower() in (".jsonl", ".json"):
        questions = read_jsonl(path, problems)
    elif path.suffix.lower() == ".csv":
        questions = read_csv(path, problems)
    else:
        raise QAError(f"{path}: unknown question set type {path.suffix!r}; use .jsonl, .csv or a BEIR folder.")
    if not questions:
        shown = "".join(f"\n  {problem}" for problem in problems[:SHOWN_PROBLEMS])
        raise QAError(f"{path} holds no usable question.{shown}")
    return QuestionSet(path=path, questions=questions, corpus=corpus, problems=problems)
