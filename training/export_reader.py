"""Export a trained reader to int8 ONNX as package data (src/qa/data/reader/).

    python training/export_reader.py training/runs/all

Writes ``reader.onnx`` (fused, weights and word embeddings quantized to int8), the tokenizer and ``reader.json``
(file checksums, windowing, training facts, license). Calibration (``benchmarks/calibrate_reader.py``) adds its
parameters to ``reader.json`` afterwards; exporting again keeps them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from reader_model import MAX_QUESTION_TOKENS, MAX_TOKENS, STRIDE, load_base  # noqa: E402
from train_reader import DEFAULT_BASE, load_weights  # noqa: E402

from qa.embedding.onnx_int8 import OPSET, QUANTIZED_OPS, UNFUSED, fuse_bert, quantize_int8  # noqa: E402

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "qa" / "data" / "reader"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUTS = ("start_logits", "end_logits", "answer_logit")
LICENSE = ("Derived from m3e-small (moka-ai; weights for research / non-commercial use only) and trained on DRCD "
           "(CC BY-SA 3.0, Delta Electronics) and on questions written for qa over the State Council work reports "
           "(public domain), DRCD paragraphs (CC BY-SA 3.0) and fictional local reports written for qa: use under "
           "both terms, share alike.")


def sha256(path: Path) -> str:
    """The hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(run: Path, out: Path, base: Path) -> dict:
    """Export the reader of a training run into ``out``; return the written ``reader.json``."""
    model, _ = load_base(str(base))
    load_weights(model, run)
    model.encoder.set_attn_implementation("eager")
    model.eval()
    sample = torch.ones((1, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "start_logits", "end_logits")}
    axes["answer_logit"] = {0: "batch"}
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain, fused = Path(work) / "float32.onnx", Path(work) / "fused.onnx"
        torch.onnx.export(model, (sample, sample, torch.zeros_like(sample)), str(plain), input_names=list(INPUTS),
                          output_names=list(OUTPUTS), dynamic_axes=axes, opset_version=OPSET, dynamo=False)
        fuse_bert(plain, fused, model.encoder.config, {**UNFUSED, "enable_embed_layer_norm": False})
        quantize_int8(fused, out / "reader.onnx", [*QUANTIZED_OPS, "Gather"])
    shutil.copy(base / "tokenizer.json", out / "tokenizer.json")
    old = json.loads((out / "reader.json").read_text()) if (out / "reader.json").exists() else {}
    state = json.loads((run / "state.json").read_text())
    meta = {
        "format": 1,
        "files": {name: sha256(out / name) for name in ("reader.onnx", "tokenizer.json")},
        "max_tokens": MAX_TOKENS, "stride": STRIDE, "max_question_tokens": MAX_QUESTION_TOKENS,
        "max_answer_tokens": 40,
        "training": {key: state.get(key) for key in ("stage", "step", "total", "examples", "windows", "seed", "lr",
                                                     "batch")},
        "license": LICENSE,
        "calibration": old.get("calibration", {}),
    }
    (out / "reader.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


def main() -> None:
    """Parse the arguments and export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a training run folder (reader.safetensors, state.json)")
    parser.add_argument("--out", type=Path, default=PACKAGE)
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE)
    args = parser.parse_args()
    meta = export(args.run, args.out, args.base)
    size = (args.out / "reader.onnx").stat().st_size / 1e6
    print(f"exported {args.run} → {args.out} ({size:.1f} MB): {json.dumps(meta['training'])}")


if __name__ == "__main__":
    main()
