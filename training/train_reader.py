"""Train the reader (span + answerability) on DRCD and the people-worded written questions.

    python training/train_reader.py --stage drcd --epochs 1 --out training/runs/drcd
    python training/train_reader.py --stage all --epochs 2 --init training/runs/drcd --out training/runs/all

Fixed seed, bfloat16 autocast on the CPU, a progress bar, a checkpoint every ``--save-every`` steps; running the same
command again resumes from the last checkpoint of ``--out``. ``--limit N`` trains on N examples (the smoke test).
See training/DATA_CARD.md for the data.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).parent))
from reader_data import drcd_examples, pair_keys, written_examples  # noqa: E402
from reader_model import Reader, collate, load_base, windows  # noqa: E402

DRCD = Path(__file__).resolve().parents[2] / "shared" / "bench" / "drcd"
DEFAULT_BASE = Path.home() / ".cache" / "qa" / "models" / "m3e-small"


def examples_for(stage: str, split: str, drcd_dir: Path, written: str = "*.jsonl", drop: frozenset = frozenset()
                 ) -> list:
    """The examples of a stage (``drcd``, ``all``, or ``written``: the repository's written data alone) and split
    (``train`` or ``heldout``); ``written`` picks the files of training/data/written (a glob); ``drop`` names sibling
    negatives to leave out (:func:`reader_data.written_examples`)."""
    if stage != "written" and not list(drcd_dir.glob("DRCD_*.json")):
        raise SystemExit(f"No DRCD_*.json in {drcd_dir}: give --drcd, or --stage written.")
    drcd = [] if stage == "written" else drcd_examples(sorted(drcd_dir.glob("DRCD_*.json")), split)
    if stage == "drcd":
        return drcd
    people = written_examples(split, written, drop)
    # People-worded data is small next to DRCD: show it twice an epoch when training.
    return drcd + people * (2 if split == "train" and drcd else 1)


def batches(items: list, size: int, rng: random.Random) -> list[list]:
    """Shuffled batches of windows of similar length (less padding)."""
    order = items[:]
    rng.shuffle(order)
    chunk = size * 50
    result = []
    for begin in range(0, len(order), chunk):
        group = sorted(order[begin:begin + chunk], key=lambda w: len(w.input_ids))
        result.extend(group[i:i + size] for i in range(0, len(group), size))
    rng.shuffle(result)
    return result


def thin(items: list, rng: random.Random, keep: int = 1) -> list:
    """Every window that holds an answer plus at most ``keep`` random windows without one per example
    (long paragraphs make many empty windows; they would cost most of the training time)."""
    empty: dict[int, list] = {}
    for window in items:
        if not window.answers:
            empty.setdefault(window.example, []).append(window)
    kept = {id(w) for group in empty.values() for w in rng.sample(group, min(keep, len(group)))}
    return [w for w in items if w.answers or id(w) in kept]


def loss_of(model: Reader, batch: dict) -> torch.Tensor:
    """Span cross-entropy (start + end) / 2 plus answerability binary cross-entropy."""
    start, end, verdict = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    mask = batch["attention_mask"] == 0
    start, end = start.float().masked_fill(mask, -1e4), end.float().masked_fill(mask, -1e4)
    span = (torch.nn.functional.cross_entropy(start, batch["start"]) + torch.nn.functional.cross_entropy(end, batch["end"])) / 2
    answer = torch.nn.functional.binary_cross_entropy_with_logits(verdict.float(), batch["answers"])
    return span + answer


def save_weights(out: Path, model: Reader) -> None:
    """Write the reader's weights as safetensors into ``out`` (what :func:`load_weights` reads)."""
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out / "reader.safetensors")


def save(out: Path, model: Reader, optimizer, scheduler, state: dict) -> None:
    """Write a checkpoint: weights as safetensors, optimizer and progress beside them."""
    save_weights(out, model)
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, out / "optimizer.pt")
    (out / "state.json").write_text(json.dumps(state, indent=1))


def load_weights(model: Reader, directory: Path) -> None:
    """Load reader weights saved by :func:`save`."""
    model.load_state_dict(load_file(directory / "reader.safetensors"))


def main(argv: list[str] | None = None) -> dict:
    """Train; return the final state (steps, losses, held-out figures)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=["drcd", "all", "written"], default="all")
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--out", type=Path, default=Path("training/runs/all"))
    parser.add_argument("--init", type=Path, help="start from this run's weights instead of m3e-small")
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE, help="the m3e-small folder (qa model pull)")
    parser.add_argument("--drcd", type=Path, default=DRCD)
    parser.add_argument("--written", default="*.jsonl", help="which files of training/data/written (a glob)")
    parser.add_argument("--drop-siblings", type=Path,
                        help="a JSONL of sibling negatives to leave out ({question, context_sha1} lines)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--save-every", type=int, default=100)
    parser.add_argument("--limit", type=int, help="train on this many examples only (smoke test)")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    model, tokenizer = load_base(str(args.base))
    if args.init:
        load_weights(model, args.init)
    examples = examples_for(args.stage, "train", args.drcd, args.written, pair_keys(args.drop_siblings))
    if args.limit:
        examples = random.Random(args.seed).sample(examples, min(args.limit, len(examples)))
    items = thin(windows(tokenizer, examples), random.Random(args.seed))
    steps_per_epoch = math.ceil(len(items) / args.batch)
    total = max(1, int(steps_per_epoch * args.epochs))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, total // 16)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    state = {"step": 0, "total": total, "examples": len(examples), "windows": len(items), "losses": [],
             "stage": args.stage, "seed": args.seed, "lr": args.lr, "batch": args.batch}
    if (args.out / "state.json").exists():
        state = json.loads((args.out / "state.json").read_text())
        load_weights(model, args.out)
        saved = torch.load(args.out / "optimizer.pt", weights_only=True)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state["total"] = total  # resuming with another --epochs continues on the new schedule
        print(f"resuming at step {state['step']} of {total}", file=sys.stderr)

    model.train()
    bar = tqdm(total=total, initial=state["step"], desc=f"reader {args.stage}", unit="step")
    epoch = state["step"] // steps_per_epoch
    started = time.time()
    while state["step"] < total:
        plan = batches(items, args.batch, random.Random(args.seed + epoch))
        for index in range(state["step"] - epoch * steps_per_epoch, len(plan)):
            if state["step"] >= total:
                break
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = loss_of(model, collate(plan[index]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            state["step"] += 1
            state["losses"].append(round(loss.item(), 4))
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(state['losses'][-50:]):.3f}")
            if state["step"] % args.save_every == 0:
                save(args.out, model, optimizer, scheduler, state)
        epoch += 1
    bar.close()
    state["seconds_this_run"] = round(time.time() - started, 1)
    save(args.out, model, optimizer, scheduler, state)
    return state


if __name__ == "__main__":
    main()
