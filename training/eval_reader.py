"""Measure a trained reader on the held-out examples (never trained on): span em/f1 with the passage given, and how
well its answer score separates passages that answer from those that do not (ROC AUC), per source.

    python training/eval_reader.py training/runs/all [--limit 600]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))
from reader_data import drcd_examples, written_examples  # noqa: E402
from reader_model import collate, load_base, windows  # noqa: E402
from train_reader import DEFAULT_BASE, DRCD, load_weights  # noqa: E402

from qa.evaluate.spans import exact_match, f1  # noqa: E402
from qa.reader import best_span  # noqa: E402


def predict(model, tokenizer, examples, batch: int = 32) -> list[tuple[str, float]]:
    """The best span and the highest answer logit of each example, over its windows."""
    items = windows(tokenizer, examples)
    encoded = tokenizer([e.question for e in examples], [e.context for e in examples], truncation="only_second",
                        max_length=192, stride=64, return_overflowing_tokens=True, return_offsets_mapping=True)
    best: dict[int, tuple[float, str, float]] = {}
    model.eval()
    with torch.no_grad():
        for begin in range(0, len(items), batch):
            chunk = items[begin:begin + batch]
            inputs = collate(chunk)
            start, end, answer = model(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
            for row, window in enumerate(chunk):
                index = begin + row
                margin, first, last = best_span(start[row].float().numpy(), end[row].float().numpy(),
                                                encoded.sequence_ids(index), 40)
                offsets = encoded["offset_mapping"][index]
                text = examples[window.example].context[offsets[first][0]:offsets[last][1]]
                old_margin, old_text, old_answer = best.get(window.example, (-np.inf, "", -np.inf))
                kept = (margin, text) if margin > old_margin else (old_margin, old_text)
                best[window.example] = (*kept, max(old_answer, float(answer[row])))
    return [(best[i][1], best[i][2]) for i in range(len(examples))]


def report(examples, predictions) -> dict:
    """em/f1 over answerable examples and AUC of the answer logit, per source and kind group."""
    groups = defaultdict(list)
    for example, prediction in zip(examples, predictions):
        groups[example.source].append((example, prediction))
    figures = {}
    for source, pairs in sorted(groups.items()):
        answerable = [(e, p) for e, p in pairs if e.start >= 0]
        labels = [int(e.start >= 0) for e, _ in pairs]
        figures[source] = {
            "n": len(pairs), "answerable": len(answerable),
            "em": round(float(np.mean([exact_match(p[0], [e.answer]) for e, p in answerable])), 3) if answerable else None,
            "f1": round(float(np.mean([f1(p[0], [e.answer]) for e, p in answerable])), 3) if answerable else None,
            "auc": round(float(roc_auc_score(labels, [p[1] for _, p in pairs])), 3) if 0 < sum(labels) < len(labels) else None,
        }
    return figures


def main() -> None:
    """Evaluate a run on the held-out split."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--limit", type=int, default=800, help="examples per source group (random, fixed seed)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model, tokenizer = load_base(str(DEFAULT_BASE))
    load_weights(model, args.run)
    examples = drcd_examples(sorted(DRCD.glob("DRCD_*.json")), "heldout") + written_examples("heldout")
    rng = random.Random(0)
    by_source = defaultdict(list)
    for example in examples:
        by_source[example.source.split("-")[0]].append(example)
    chosen = [e for group in by_source.values() for e in rng.sample(group, min(args.limit, len(group)))]
    print(json.dumps(report(chosen, predict(model, tokenizer, chosen)), indent=1))


if __name__ == "__main__":
    main()
