"""Calibrate the reader and choose how search uses it.

    .venv/bin/python benchmarks/calibrate_reader.py [--write] [--check eval/people-dev.jsonl ...]

1. **Calibration** (``reader.json``'s ``calibration``): a logistic regression of "this passage answers" on the
   reader's two raw scores (the answer head's logit, the best span's margin over no-answer), fitted on the held-out
   training examples (training/reader_data.py: DRCD articles and written passages never trained on), so that
   ``confidence`` is a probability.
2. **Threshold** (``QA_DECLINE_THRESHOLD``) and **which checks decide**: for the reader alone and with each rule
   (years, asked_value, no_overlap, evidence), on a grid over the ``--fit`` question files (default eval/dev.jsonl
   and eval/dev2.jsonl): among the choices that meet the targets on every one of them (``TARGETS``: at most 8 % of
   the answerable questions declined, at least 80 % of the unanswerable), else among all, the best mean Youden's J;
   every variant's figures are printed for the ``--fit`` and
   ``--check`` files, so each rule's contribution is measured before and after. Search reads the best fused passages
   in order until one clears the threshold, puts that one first, and declines when none does.
3. **Passages read** (``QA_READER_PASSAGES``, 1–3, at most ``--max-passages``): chosen the same way, each at its own
   threshold (a tie reads fewer).
The last line printed is the choice; the defaults in ``qa/config.py`` are set from it.
``--write`` stores the calibration in src/qa/data/reader/reader.json (its checksums are unchanged: only the model
files are checked).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "training"))

from qa.api import QA  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate.metrics import contains_answer  # noqa: E402
from qa.evaluate.questions import load_question_set  # noqa: E402
from qa.evaluate.spans import f1  # noqa: E402
from qa.reader import READER_DIR, load_reader  # noqa: E402

FIT = [ROOT / "eval" / "dev.jsonl", ROOT / "eval" / "dev2.jsonl"]
THRESHOLDS = np.round(np.r_[0.01:0.05:0.01, 0.05:0.96:0.05], 2)
RULES = ("years", "asked_value", "no_overlap", "evidence")
# The targets on dev and dev2: at most 8 % of the answerable declined, at least 80 % of the unanswerable.
TARGETS = (0.08, 0.80)
# Search stops reading at a passage of probability 1.0 (it clears every threshold): those after it count as unread.
UNREAD = (-30.0, -30.0)


def raw_scores(examples) -> tuple[np.ndarray, np.ndarray]:
    """The reader's (answer logit, span margin) on examples and whether each passage answers."""
    reader = load_reader()
    features, labels = [], []
    for example in examples:
        reading = reader.read(example.question, example.context)
        features.append((reading.answer_logit, max(min(reading.span_margin, 30.0), -30.0)))
        labels.append(int(example.start >= 0))
    return np.array(features), np.array(labels)


def fit_calibration(limit: int) -> dict:
    """Fit the logistic calibration on held-out training examples (balanced per source)."""
    from reader_data import drcd_examples, written_examples
    from train_reader import DRCD

    rng = np.random.default_rng(0)
    examples = drcd_examples(sorted(DRCD.glob("DRCD_*.json")), "heldout") + written_examples("heldout")
    chosen = [examples[i] for i in rng.permutation(len(examples))[:limit]]
    features, labels = raw_scores(chosen)
    model = LogisticRegression(class_weight="balanced").fit(features, labels)
    return {"weights": [round(float(w), 4) for w in model.coef_[0]], "bias": round(float(model.intercept_[0]), 4),
            "fitted_on": f"{len(chosen)} held-out reader examples ({int(labels.sum())} answering)"}


@dataclass
class Asked:
    """One question's search with every passage of the top 3 read: the readings and every check's verdict."""

    answerable: bool
    answers: tuple[str, ...]
    fused: np.ndarray
    raw: np.ndarray
    relevant: np.ndarray
    spans: list[str]
    rules: dict[str, bool] = field(default_factory=dict)


def ask_all(qa: QA, path: Path, passages: int) -> list[Asked]:
    """Ask every question of a file and keep what calibration needs from the trace."""
    asked = []
    for question in load_question_set(path).questions:
        answer = qa.ask(question.question, top_k=passages)
        trace = answer.trace
        readings = [p.reading for p in trace.passages]
        asked.append(Asked(
            question.answerable, question.answers, np.array([p.fused for p in trace.passages]),
            np.array([(r.answer_logit, max(min(r.span_margin, 30.0), -30.0)) if r else UNREAD for r in readings]),
            np.array([contains_answer(h.passage.text, question.answers) for h in answer.hits]),
            [r.short_answer if r else "" for r in readings],
            {v.name: v.declines for v in trace.checks if v.name in RULES}))
    return asked


def probabilities(raw: np.ndarray, calibration: dict) -> np.ndarray:
    """Calibrated probabilities of raw reader scores."""
    z = calibration["bias"] + raw @ np.array(calibration["weights"])
    return 1 / (1 + np.exp(-z))


def decide(item: Asked, calibration: dict, threshold: float, read: int) -> tuple[int, float]:
    """What search does reading at most ``read`` passages until one clears the threshold: the passage it puts first
    and the highest probability it saw (what it declines on)."""
    chance = probabilities(item.raw[:read], calibration)
    answering = np.flatnonzero(chance >= threshold)
    if answering.size:
        return int(answering[0]), float(chance[answering[0]])
    return 0, float(chance.max())


def figures(items: list[Asked], calibration: dict, threshold: float, rules: tuple[str, ...], read: int = 99) -> dict:
    """hit@1, f1 of the short answer, and declining of one set under one choice (reading the first ``read``)."""
    hit, spans, declined = [], [], {True: [], False: []}
    for item in items:
        first, chance = decide(item, calibration, threshold, read)
        no = chance < threshold or any(item.rules.get(rule) for rule in rules)
        declined[item.answerable].append(no)
        if item.answerable:
            hit.append(bool(item.relevant[first]))
            spans.append(f1(item.spans[first], item.answers))
    found = {"hit@1": np.mean(hit), "f1": np.mean(spans), "declined_answerable": np.mean(declined[True])}
    if declined[False]:
        found["declined_unanswerable"] = np.mean(declined[False])
    return {name: round(float(value), 3) for name, value in found.items()}


def youden(found: dict) -> float:
    """Share answered of the answerable + share declined of the unanswerable − 1."""
    return found.get("declined_unanswerable", 0.0) - found["declined_answerable"]


def meets_targets(found: dict) -> bool:
    """Whether a set's declining meets the targets (:data:`TARGETS`: at most that share of the answerable declined,
    at least that share of the unanswerable)."""
    most_answerable, least_unanswerable = TARGETS
    return (found["declined_answerable"] <= most_answerable
            and found.get("declined_unanswerable", 1.0) >= least_unanswerable)


def best_threshold(fitting: list[list[Asked]], calibration: dict, rules: tuple[str, ...], read: int = 99
                   ) -> tuple[float, tuple[bool, float]]:
    """The threshold that meets the targets on every fitting set, if any does, with the best mean Youden's J (the
    lowest of equals), and its score (meets the targets, mean J)."""
    scored = []
    for t in THRESHOLDS:
        found = [figures(s, calibration, t, rules, read) for s in fitting]
        score = (all(meets_targets(f) for f in found), round(float(np.mean([youden(f) for f in found])), 6))
        scored.append((score, float(t)))
    score, threshold = max(scored, key=lambda pair: pair[0])
    return threshold, score


def main() -> None:
    """Calibrate, choose the threshold, deciding checks and passages read, print every set's figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", type=Path, nargs="+", default=FIT)
    parser.add_argument("--check", type=Path, nargs="*", default=[])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--index", type=Path, default=Path("/tmp/qa-calibrate-index"))
    parser.add_argument("--examples", type=int, default=3000, help="held-out examples for the calibration")
    parser.add_argument("--write", action="store_true", help="store the calibration in reader.json")
    parser.add_argument("--max-passages", type=int, default=2, choices=(1, 2, 3),
                        help="the most passages search may read (each costs about 11 ms; most questions stop at the "
                             "first, see benchmarks/run.py); more are printed, not chosen")
    args = parser.parse_args()

    calibration = fit_calibration(args.examples)
    print("calibration", json.dumps(calibration, ensure_ascii=False))
    settings = Settings(reader=True, reader_passages=3, decline_threshold=1.0)  # every one of the top 3 read
    qa = QA.open(args.index, args.corpus, config=settings)
    sets = {path.name: ask_all(qa, path, settings.reader_passages) for path in [*args.fit, *args.check]}
    fitting = [sets[path.name] for path in args.fit]
    variants = [tuple(r for r, on in zip(RULES, flags) if on) for flags in product((False, True), repeat=len(RULES))]
    most = args.max_passages  # each rule's contribution is measured at the reading search may use
    by_rules = {rules: best_threshold(fitting, calibration, rules, most) for rules in variants}
    for rules, (best, _) in by_rules.items():
        print(f"reader + {'+'.join(rules) or 'no rule'}: threshold {best}")
        for name, items in sets.items():
            print(f"   {name}: {figures(items, calibration, best, rules, most)}")
    chosen = max(variants, key=lambda rules: by_rules[rules][1])
    by_read = {read: best_threshold(fitting, calibration, chosen, read)
               for read in range(1, settings.reader_passages + 1)}
    for read, (at, _) in by_read.items():
        print(f"reading {read} passage(s), reader + {'+'.join(chosen) or 'no rule'} at {at}:",
              {name: figures(items, calibration, at, chosen, read) for name, items in sets.items()})
    allowed = [n for n in by_read if n <= args.max_passages]
    read = max(allowed, key=lambda n: (by_read[n][1], -n))  # a tie reads fewer passages
    print(f"chosen: QA_READER_PASSAGES={read} QA_DECLINE_THRESHOLD={by_read[read][0]}, "
          f"deciding checks: reader + {'+'.join(chosen) or 'no rule'}")
    if args.write:
        path = READER_DIR / "reader.json"
        meta = json.loads(path.read_text(encoding="utf-8"))
        meta["calibration"] = calibration
        path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote the calibration into {path}")


if __name__ == "__main__":
    main()
