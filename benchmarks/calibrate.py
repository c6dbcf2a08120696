"""Fit the weights of the evidence score that decides declining, choose its threshold, and report how often each
set is declined.

Usage::

    .venv/bin/python benchmarks/calibrate.py                          # default model, CMRC + eval/dev.jsonl, dev2.jsonl
    .venv/bin/python benchmarks/calibrate.py --check eval/town.jsonl          # also report a set it is not fitted on
    QA_BACKEND=torch .venv/bin/python benchmarks/calibrate.py --model BAAI/bge-small-zh-v1.5

Examples with and without an answer: every CMRC trial question asked of the whole trial corpus (answerable) and of
the corpus without its gold article (unanswerable), and every question of each ``--fit`` file (its ``answerable``
flag) asked of an index of ``--corpus``. Questions declined by rule (a year no document mentions, a kind of value the
answer lacks: the years and asked_value checks of the trace) are left out of the fit. Each source weighs as much as the others, with its two
classes balanced. The script prints the fitted weights for ``qa.search.checks`` (``EVIDENCE_INTERCEPT``,
``EVIDENCE_WEIGHTS``) and, for the weights in use and the fitted ones, the share of answerable and unanswerable
questions of every set that is declined. The threshold is chosen on the ``--fit`` files alone (questions like users
ask of this kind of corpus; CMRC with its gold article removed is same-encyclopedia unanswerable questions, a different
mix): the one with the best mean Youden's J (:func:`best_threshold`).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from qa.config import Settings
from qa.embedding import Encoder
from qa.evaluate.questions import load_question_set
from qa.evaluate.runner import cached_index, open_for_set
from qa.api import QA
from qa.search import Searcher
from qa.search.checks import EVIDENCE_INTERCEPT, EVIDENCE_WEIGHTS

ROOT = Path(__file__).resolve().parent.parent
CMRC = ROOT / "eval" / "cmrc2018-trial"


@dataclass
class Examples:
    """The evidence features of one set's questions and whether each has an answer."""

    name: str
    features: list[tuple[float, float, float]] = field(default_factory=list)
    answerable: list[bool] = field(default_factory=list)
    by_rule: list[bool] = field(default_factory=list)  # declined by a check other than the evidence (its trace)

    def add(self, searcher: Searcher, question: str, rows: np.ndarray, answerable: bool) -> None:
        """Ask a question of some passages and keep its evidence features.

        Args:
            searcher: The searcher.
            question: The question.
            rows: The passages searched.
            answerable: Whether those passages answer it.
        """
        trace = searcher.search_rows(question, rows, 1).trace
        features = trace.features
        self.features.append((features["coverage"], features["standout"], float(features["agree"])))
        self.answerable.append(answerable)
        self.by_rule.append(any(check.declines for check in trace.checks if check.name != "evidence"))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the features, the labels and the by-rule flags as arrays."""
        return np.array(self.features), np.array(self.answerable), np.array(self.by_rule)


def beir_examples(folder: Path, settings: Settings, model: str) -> Examples:
    """Ask each question of a BEIR set of the whole corpus and of the corpus without its gold documents.

    Args:
        folder: The BEIR folder.
        settings: The settings.
        model: The model spec.

    Returns:
        Two examples per question.
    """
    question_set = load_question_set(folder)
    searcher, _ = open_for_set(question_set, settings, model=model)
    documents = np.array([passage.doc_id for passage in searcher.index.passages])
    everything = np.arange(len(documents))
    examples = Examples(folder.name)
    for question in question_set.questions:
        examples.add(searcher, question.question, everything, True)
        without_gold = np.flatnonzero(~np.isin(documents, list(question.relevant_docs)))
        examples.add(searcher, question.question, without_gold, False)
    return examples


def file_examples(path: Path, searcher: Searcher) -> Examples:
    """Ask each question of a question file of the whole index.

    Args:
        path: A JSONL or CSV question file with ``answerable`` flags.
        searcher: A searcher over the corpus the file is about.

    Returns:
        One example per question.
    """
    examples = Examples(path.name)
    everything = np.arange(len(searcher.index.passages))
    for question in load_question_set(path).questions:
        examples.add(searcher, question.question, everything, question.answerable)
    return examples


def fit(sets: list[Examples]) -> tuple[float, np.ndarray]:
    """Fit a logistic regression of answerability on the evidence features.

    Args:
        sets: The sets to fit on; each weighs the same, its answerable and unanswerable questions balanced.

    Returns:
        The intercept and the weights.
    """
    features, labels, weights = [], [], []
    for examples in sets:
        x, y, by_rule = examples.arrays()
        x, y = x[~by_rule], y[~by_rule]
        counts = {True: max(1, int(y.sum())), False: max(1, int((~y).sum()))}
        features.append(x)
        labels.append(y)
        weights.append(np.array([0.5 / counts[bool(label)] for label in y]))
    weight = np.concatenate(weights)
    model = LogisticRegression(C=10.0).fit(np.vstack(features), np.concatenate(labels),
                                           sample_weight=weight * len(weight) / weight.sum())
    return float(model.intercept_[0]), model.coef_[0]


def declined(examples: Examples, intercept: float, weights: np.ndarray, threshold: float) -> tuple[float, float]:
    """Return the shares of answerable and of unanswerable questions declined under some weights.

    Args:
        examples: A set.
        intercept: The evidence intercept.
        weights: The evidence weights.
        threshold: The decline threshold.

    Returns:
        (answerable declined, unanswerable declined); NaN for a class the set does not have.
    """
    x, y, by_rule = examples.arrays()
    evidence = 1 / (1 + np.exp(-(intercept + x @ weights)))
    refused = (evidence < threshold) | by_rule
    return (float(refused[y].mean()) if y.any() else math.nan, float(refused[~y].mean()) if (~y).any() else math.nan)


def best_threshold(sets: list[Examples], intercept: float, weights: np.ndarray) -> tuple[float, float]:
    """Choose the decline threshold with the highest mean Youden's J (share of answerable questions answered plus
    share of unanswerable ones declined, minus 1) over some sets, on a grid of 0.05 (a finer grid would fit the
    particular questions of a few dozen: with 0.01 the best threshold lies just above one unanswerable question).

    Args:
        sets: The sets to choose on (question files whose questions are like users' questions).
        intercept: The evidence intercept.
        weights: The evidence weights.

    Returns:
        The threshold (the lowest of equally good ones) and its mean J.
    """
    grid = np.round(np.arange(0.05, 1.0, 0.05), 2)
    scores = [np.mean([u - a for a, u in (declined(e, intercept, weights, t) for e in sets)]) for t in grid]
    best = int(np.argmax(scores))
    return float(grid[best]), float(scores[best])


def main() -> None:
    """Fit the evidence weights and print them with the decline rates of every set."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model spec (default: the configured model)")
    parser.add_argument("--beir", type=Path, action="append", help=f"BEIR sets to fit on (default: {CMRC})")
    parser.add_argument("--fit", type=Path, action="append",
                        help="question files to fit on and choose the threshold on (default: eval/dev.jsonl, "
                        "eval/dev2.jsonl)")
    parser.add_argument("--check", type=Path, action="append", default=[], help="question files to report only")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="the corpus the question files ask")
    parser.add_argument("--thresholds", default="", help="also show every set at these thresholds (weights in use), "
                        "e.g. 0.5,0.3,0.2")
    args = parser.parse_args()
    settings = Settings()
    model = args.model or settings.model
    encoder = Encoder(settings, model)
    searcher = QA.from_index(cached_index(settings, args.corpus, encoder), settings, encoder).searcher
    fitted_on = [beir_examples(folder, settings, model) for folder in args.beir or [CMRC]]
    question_files = args.fit or [ROOT / "eval" / "dev.jsonl", ROOT / "eval" / "dev2.jsonl"]
    files = [file_examples(path, searcher) for path in question_files]
    fitted_on += files
    checked = [file_examples(path, searcher) for path in args.check]
    intercept, weights = fit(fitted_on)
    print(f"model {model} ({encoder.backend_name}); features: coverage, standout, agree")
    print(f"fitted:  EVIDENCE_INTERCEPT = {intercept:.2f}, EVIDENCE_WEIGHTS = {np.round(weights, 2).tolist()}")
    print(f"in use:  EVIDENCE_INTERCEPT = {EVIDENCE_INTERCEPT:.2f}, EVIDENCE_WEIGHTS = {EVIDENCE_WEIGHTS.tolist()}")
    threshold = settings.evidence_threshold
    chosen, youden = best_threshold(files, EVIDENCE_INTERCEPT, EVIDENCE_WEIGHTS)
    refit_chosen, refit_youden = best_threshold(files, intercept, weights)
    print(f"threshold with the best mean Youden's J on {', '.join(e.name for e in files)}: weights in use "
          f"{chosen:.2f} (J {youden:.3f}; configured: {threshold}), fitted {refit_chosen:.2f} (J {refit_youden:.3f})")
    print_shares(fitted_on, checked, (intercept, weights), threshold, refit_chosen)
    thresholds = [float(value) for value in args.thresholds.split(",") if value.strip()]
    print_at_thresholds(fitted_on + checked, thresholds)


def print_shares(fitted_on: list[Examples], checked: list[Examples], refit: tuple[float, np.ndarray],
                 threshold: float, refit_threshold: float) -> None:
    """Print the shares of each set declined under the weights in use and under the fitted ones.

    Args:
        fitted_on: The sets the weights were fitted on.
        checked: The sets only reported.
        refit: The fitted intercept and weights.
        threshold: The configured threshold (for the weights in use).
        refit_threshold: The threshold chosen for the fitted weights.
    """
    print(f"share declined (answerable / unanswerable), weights in use at {threshold}, fitted at {refit_threshold}:")
    for examples, role in [(e, "fit") for e in fitted_on] + [(e, "check") for e in checked]:
        current = declined(examples, EVIDENCE_INTERCEPT, EVIDENCE_WEIGHTS, threshold)
        fitted = declined(examples, *refit, refit_threshold)
        print(f"  {examples.name:<20} {role:<5} in use {current[0]:.3f} / {current[1]:.3f}"
              f"   fitted {fitted[0]:.3f} / {fitted[1]:.3f}")


def print_at_thresholds(sets: list[Examples], thresholds: list[float]) -> None:
    """Print the shares of each set declined under the weights in use at other thresholds.

    Args:
        sets: The sets.
        thresholds: The thresholds.
    """
    for threshold in thresholds:
        shares = [declined(examples, EVIDENCE_INTERCEPT, EVIDENCE_WEIGHTS, threshold) for examples in sets]
        print(f"  at {threshold:<5} " + "   ".join(f"{examples.name} {a:.3f} / {u:.3f}"
                                               for examples, (a, u) in zip(sets, shares)))


if __name__ == "__main__":
    main()
