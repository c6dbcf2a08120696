"""Recover a training run from the shipped int8 reader (when the run's float checkpoint is gone).

    python training/recover_reader.py --out training/runs/shipped

Dequantizes every weight of ``src/qa/data/reader/reader.onnx`` (int8 → (q − zero point) × scale, per channel for the
layers, per tensor for the embeddings), maps the fused graph back onto the reader network of reader_model.py (the fused
attention's query/key/value matrix is split in three) and writes ``reader.safetensors`` and ``state.json`` (the
shipped run's training facts; no optimizer state, so not a run to resume) into ``--out``, for ``train_reader.py
--init`` and ``export_reader.py``. It prints how far the recovered network's answer logits lie from the int8 model's
on a few pairs (the int8 model also rounds its activations: a few tenths at most). Exporting the recovered run again
gives the same ``reader.onnx``, byte for byte.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, str(Path(__file__).parent))
from export_reader import PACKAGE  # noqa: E402
from reader_model import load_base  # noqa: E402
from train_reader import DEFAULT_BASE, save_weights  # noqa: E402


def dequantized(graph) -> dict[str, np.ndarray]:
    """Every initializer of the graph as float32, quantized ones (``X_quantized``) under their name ``X``."""
    raw = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    weights = {}
    for name, value in raw.items():
        if name.endswith("_quantized"):
            stem = name[: -len("_quantized")]
            scale, zero = raw[stem + "_scale"], raw[stem + "_zero_point"].astype(np.float32)
            weights[stem] = (value.astype(np.float32) - zero) * scale
        elif not name.endswith(("_scale", "_zero_point")):
            weights[name] = value.astype(np.float32) if value.dtype.kind == "f" else value
    return weights


def matmul_weights(graph) -> list[str]:
    """The quantized weight of each MatMulInteger node in graph order (three per layer, then the span head)."""
    return [node.input[1][: -len("_quantized")] for node in graph.node
            if node.op_type == "MatMulInteger" and not node.input[1].startswith("verdict.")]


def state_dict(model_path: Path, layers: int) -> dict[str, torch.Tensor]:
    """The reader network's weights recovered from the int8 ONNX model."""
    graph = onnx.load(str(model_path)).graph
    found = dequantized(graph)
    state = {name: value for name, value in found.items()
             if name.startswith(("encoder.", "span.", "verdict.")) and not name.endswith("_Transposed")}
    plain = iter(matmul_weights(graph))
    for layer in range(layers):
        prefix = f"encoder.encoder.layer.{layer}."
        qkv, bias = found[f"Attention_{layer}_qkv_weight"], found[f"Attention_{layer}_qkv_bias"]
        for part, name in enumerate(("query", "key", "value")):
            columns = slice(part * qkv.shape[1] // 3, (part + 1) * qkv.shape[1] // 3)
            state[f"{prefix}attention.self.{name}.weight"] = qkv[:, columns].T
            state[f"{prefix}attention.self.{name}.bias"] = bias[columns]
        for name in ("attention.output.dense", "intermediate.dense", "output.dense"):
            state[f"{prefix}{name}.weight"] = found[next(plain)].T
    state["span.weight"] = found[next(plain)].T
    for name in ("verdict.0.weight", "verdict.2.weight"):
        state[name] = found[name + "_Transposed"].T
    return {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in state.items()}


def largest_difference(model, folder: Path) -> float:
    """The largest absolute difference between the recovered network's and the int8 model's answer logits on a few
    question/passage pairs."""
    from qa.reader import Reader

    shipped = Reader(folder)
    pairs = [("2020年全年签约了多少个项目？", "全年共签约项目17个，总投资超100亿元。"),
             ("今天天气怎么样？", "加快推进农村人居环境整治，完成改厕任务。"),
             ("谁是镇长？", "会议由镇长主持，各村书记参加。")]
    worst = 0.0
    for question, text in pairs:
        window = shipped.windows(question, text)[0]  # each pair fits one window
        expected = shipped.read(question, text).answer_logit
        with torch.no_grad():
            tensors = [torch.tensor([values]) for values in (window.ids, window.attention_mask, window.type_ids)]
            _, _, answer = model(*tensors)
        worst = max(worst, abs(float(answer[0]) - expected))
    return worst


def recover(reader: Path, base: Path):
    """The reader network (reader_model.Reader, in eval mode) with the weights of the shipped int8 reader in
    ``reader``, on the architecture of the m3e-small folder ``base``.

    Raises:
        SystemExit: If the ONNX weights do not map onto the network one to one.
    """
    model, _ = load_base(str(base))
    recovered = state_dict(reader / "reader.onnx", model.encoder.config.num_hidden_layers)
    missing, unexpected = model.load_state_dict(recovered, strict=False)
    missing = [name for name in missing if not name.endswith("position_ids")]
    if missing or unexpected:
        raise SystemExit(f"cannot map the ONNX weights: missing {missing}, unexpected {unexpected}")
    return model.eval()


def main() -> None:
    """Recover, check against the int8 model, save as a run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reader", type=Path, default=PACKAGE, help="the shipped reader's folder")
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE, help="the m3e-small folder (qa model pull)")
    parser.add_argument("--out", type=Path, default=Path("training/runs/shipped"))
    args = parser.parse_args()
    model = recover(args.reader, args.base)
    print(f"largest answer-logit difference from the int8 model: {largest_difference(model, args.reader):.3f}")
    meta = json.loads((args.reader / "reader.json").read_text(encoding="utf-8"))
    state = {**meta["training"], "losses": [], "recovered_from": str(args.reader)}
    save_weights(args.out, model)
    (args.out / "state.json").write_text(json.dumps(state, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
