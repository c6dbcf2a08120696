"""Find the sibling negatives that likely answer after all, to leave them out of training (``--drop-siblings``).

    python training/noisy_siblings.py training/runs/shipped --out training/runs/dropped_siblings.jsonl

A sibling negative pairs an answerable written question with the passage of its report that shares most characters
with it but lacks the answer string (training/reader_data.py). In a work report that passage is often the other
year's or the plan's sentence about the same thing (老旧小区改造个数 → 完成老旧小区改造23个), which answers an
under-specified question as well as the labelled one. A trained reader scores every training sibling; those it reads
as answering (answer logit above ``--above``) are written out, one ``{question, context_sha1, logit, span}`` a line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from eval_reader import predict  # noqa: E402
from reader_data import pair_key, written_examples  # noqa: E402
from reader_model import load_base  # noqa: E402
from train_reader import DEFAULT_BASE, load_weights  # noqa: E402


def main() -> None:
    """Score the training siblings with a run and write those above the threshold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a training run folder (reader.safetensors)")
    parser.add_argument("--out", type=Path, default=Path("training/runs/dropped_siblings.jsonl"))
    parser.add_argument("--above", type=float, default=0.0, help="answer logit above which a sibling is dropped")
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE)
    args = parser.parse_args()
    torch.set_num_threads(2)
    model, tokenizer = load_base(str(args.base))
    load_weights(model, args.run)
    siblings = [e for e in written_examples("train") if e.kind == "sibling"]
    dropped = []
    for begin in range(0, len(siblings), 500):
        chunk = siblings[begin:begin + 500]
        for example, (span, logit) in zip(chunk, predict(model, tokenizer, chunk)):
            if logit > args.above:
                question, digest = pair_key(example.question, example.context)
                dropped.append({"question": question, "context_sha1": digest, "logit": round(logit, 3), "span": span})
        print(f"{begin + len(chunk)}/{len(siblings)} scored, {len(dropped)} to drop", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in dropped), encoding="utf-8")


if __name__ == "__main__":
    main()
