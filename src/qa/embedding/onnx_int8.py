"""The ``onnx-int8`` backend: the model exported with ``torch.onnx``, fused and quantized to int8 by ONNX Runtime.

The export is made once per model and kept in the cache folder next to the model (``models/<name>.onnx-int8/``:
``model.onnx``, ``tokenizer.json``, ``export.json``); it is made again when the model's files change. Running it
needs only ``onnxruntime``, ``tokenizers`` and numpy; exporting needs torch, ``onnx`` and sentence-transformers.

Same tokenizer (the model's own ``tokenizer.json``, same truncation), same mean pooling over the attention mask,
normalized: the vectors equal the float32 ones up to int8 rounding (``tests/e2e/test_int8.py`` measures how close).
Dynamic quantization: weights of every matrix product (and fused attention) in int8 per output channel,
activations quantized on the fly (each text runs alone, so its vector does not depend on the texts around it); the
word embeddings stay float32. On CPUs with AVX-512 VNNI or AVX-VNNI the int8 products run on the dot-product
instructions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from qa.embedding.models import DEFAULT_MODEL, ModelSource
from qa.embedding.pooling import mean_pool
from qa.errors import ModelUnavailable

log = logging.getLogger(__name__)

EXPORT_FORMAT = 2  # 2: layer norms and GELU left unfused with their Add (see UNFUSED)
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META = "export.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17
QUANTIZED_OPS = ["MatMul", "Attention"]
# ONNX Runtime's CPU kernels of SkipLayerNormalization and BiasGelu are slower than the plain ops they replace
# (Add + LayerNormalization: 1.1 ns an element against 6.3; Add + Gelu 1.8 against 2.3; measured with ORT 1.32 on
# this machine): an m3e-small build runs 21 % faster without these two fusions, so neither the export nor the session
# makes them.
UNFUSED = {"enable_skip_layer_norm": False, "enable_bias_skip_layer_norm": False, "enable_bias_gelu": False}
SESSION_UNFUSED = ["SkipLayerNormFusion", "BiasGeluFusion"]
FINGERPRINTED = {".json", ".safetensors", ".bin", ".txt", ".model"}


def export_dir(source: ModelSource, cache_dir: Path) -> Path:
    """Return the cache folder of a model's int8 export.

    Args:
        source: The model.
        cache_dir: The configured cache folder.

    Returns:
        ``<cache>/models/<name>.onnx-int8`` (the default model's name, or the folder's/id's name and a hash).
    """
    if source.spec == DEFAULT_MODEL:
        name = DEFAULT_MODEL
    else:
        stem = re.sub(r"[^\w.-]+", "_", Path(source.location).name or source.location)
        name = f"{stem}-{hashlib.sha256(source.location.encode()).hexdigest()[:8]}"
    return cache_dir / "models" / f"{name}.onnx-int8"


def source_fingerprint(source: ModelSource) -> str:
    """Fingerprint a model's files (names, sizes, modification times), so that a changed model is exported again.

    Args:
        source: The model.

    Returns:
        A hex digest (for a hub id: the id itself, as the hub's files are not on disk).
    """
    if not source.is_local:
        return source.location
    folder = Path(source.location)
    entries = sorted(
        f"{path.relative_to(folder)}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
        for path in folder.rglob("*") if path.is_file() and path.suffix in FINGERPRINTED
    )
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


def _read_meta(folder: Path) -> dict:
    try:
        return json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def supported_transformer(model, spec: str):
    """Return the Transformer module of a Transformer + mean Pooling (+ Normalize) model, or refuse the model.

    Args:
        model: The loaded sentence-transformers model (or any sequence of its modules).
        spec: The model spec, for the error message.

    Returns:
        The model's first module, the Transformer.

    Raises:
        QAError: If the model is not a Transformer followed by mean pooling (and optionally normalisation).
    """
    modules = list(model)
    names = [type(module).__name__ for module in modules]
    supported = (len(modules) >= 2 and names[0] == "Transformer" and names[1] == "Pooling"
                 and getattr(modules[1], "pooling_mode", None) == "mean" and set(names[2:]) <= {"Normalize"})
    if not supported:
        raise ModelUnavailable(f"The onnx-int8 backend runs models made of a Transformer and mean pooling; {spec!r} is "
                      f"{' + '.join(names)}. Use QA_BACKEND=torch for this model.")
    return modules[0]


def _export_graph(transformer, path: Path) -> None:
    """Export the transformer's last hidden states to ONNX (TorchScript exporter, dynamic batch and length)."""
    import torch

    network = transformer.auto_model
    network.set_attn_implementation("eager")  # the attention pattern ONNX Runtime's BERT fusion recognizes
    network.eval()

    class HiddenStates(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    sample = torch.ones((2, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(HiddenStates(network), (sample, sample, torch.zeros_like(sample)), str(path),
                          input_names=list(INPUTS), output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the warnings ONNX Runtime's tools log on the root logger while they run."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def fuse_bert(path: Path, out: Path, config, unfused: dict[str, bool] = UNFUSED) -> dict:
    """Fuse attention, embeddings, layer norms and GELU (ONNX Runtime's transformer optimizer), but leave the adds
    before layer norms and GELU apart (:data:`UNFUSED`).

    Args:
        path: The exported float32 ONNX model.
        out: Where to write the fused model.
        config: The transformer's config (heads, hidden size).
        unfused: Fusion options to turn off (``enable_embed_layer_norm`` too keeps the word embeddings a Gather that
            :func:`quantize_int8` can quantize).

    Returns:
        The fused-op counts.
    """
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    for name, value in unfused.items():
        setattr(options, name, value)
    try:
        with _quiet():
            optimized = optimize_model(str(path), model_type="bert", num_heads=int(config.num_attention_heads),
                                       hidden_size=int(config.hidden_size), opt_level=0,
                                       optimization_options=options)
            optimized.save_model_to_file(str(out))
        return {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
    except Exception as error:  # an architecture the BERT fusions do not know: quantize the plain graph
        log.warning("Could not fuse the ONNX graph (%s: %s); quantizing it unfused.", type(error).__name__, error)
        shutil.copy(path, out)
        return {}


def quantize_int8(path: Path, out: Path, op_types: list[str] = QUANTIZED_OPS) -> None:
    """Quantize weights to int8 per channel, activations dynamically (onnxruntime.quantization.quantize_dynamic).

    Args:
        path: The float32 (fused) ONNX model.
        out: Where to write the int8 model.
        op_types: The operators whose weights are quantized (add ``Gather`` to quantize the word embeddings too).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        quantize_dynamic(str(path), str(out), op_types_to_quantize=op_types, per_channel=True,
                         weight_type=QuantType.QInt8, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _export(model, spec: str, work: Path, staged: Path) -> dict:
    """Export, fuse and quantize a loaded model into ``staged``; return what the backend needs to run it."""
    transformer = supported_transformer(model, spec)
    _export_graph(transformer, work / "float32.onnx")
    fused = fuse_bert(work / "float32.onnx", work / "fused.onnx", transformer.auto_model.config)
    quantize_int8(work / "fused.onnx", staged / MODEL_FILE)
    tokenizer = model.tokenizer
    tokenizer.backend_tokenizer.save(str(staged / TOKENIZER_FILE))
    return {
        "dimension": int(model.get_embedding_dimension()),
        "max_seq_length": int(model.max_seq_length),
        "lowercase": bool(getattr(transformer, "do_lower_case", False)),
        "pad_token": tokenizer.pad_token,
        "pad_id": int(tokenizer.pad_token_id),
        "fused_ops": fused,
    }


def _swap_in(staged: Path, folder: Path) -> None:
    """Put a finished export in place of the old one (a concurrent exporter that finished first wins)."""
    old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
    if folder.exists():
        folder.rename(old)
    try:
        staged.rename(folder)
    except OSError:
        if not (folder / META).exists():
            raise
    shutil.rmtree(old, ignore_errors=True)


def export_int8(source: ModelSource, cache_dir: Path, load: Callable[[ModelSource], object]) -> Path:
    """Return the folder of a model's int8 export, making it first if it is missing or the model changed.

    Args:
        source: The model.
        cache_dir: The configured cache folder.
        load: Loads the float32 sentence-transformers model (only called when an export is needed).

    Returns:
        The export folder (``model.onnx``, ``tokenizer.json``, ``export.json``).

    Raises:
        QAError: If the model's architecture is not supported or the export fails.
    """
    folder = export_dir(source, cache_dir)
    expected = {"format": EXPORT_FORMAT, "source": source.location, "fingerprint": source_fingerprint(source)}
    meta = _read_meta(folder)
    if (folder / MODEL_FILE).exists() and all(meta.get(key) == value for key, value in expected.items()):
        return folder
    log.warning("Exporting %s to ONNX int8 into %s (once; about a minute)…", source.spec, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".onnx-int8-") as work:
        staged = Path(work) / "export"
        staged.mkdir()
        try:
            details = _export(load(source), source.spec, Path(work), staged)
        except ModelUnavailable:
            raise
        except Exception as error:  # exporter and quantizer errors: say which model and what to do
            raise ModelUnavailable(f"Could not export {source.spec!r} to ONNX int8 ({type(error).__name__}: {error}). "
                          "Use QA_BACKEND=torch.") from error
        (staged / META).write_text(json.dumps({**expected, **details}, indent=2), encoding="utf-8")
        _swap_in(staged, folder)
    return folder


class OnnxInt8Backend:
    """The int8 export of a model run by ONNX Runtime, with the model's own tokenizer and mean pooling."""

    def __init__(self, source: ModelSource, cache_dir: Path, load: Callable[[ModelSource], object]):
        """Load the int8 export of a model, exporting it first if the cache has none.

        Args:
            source: The model.
            cache_dir: The configured cache folder.
            load: Loads the float32 sentence-transformers model (for a first export).

        Raises:
            QAError: If the model cannot be exported.
        """
        import onnxruntime
        from tokenizers import Tokenizer

        folder = export_int8(source, cache_dir, load)
        meta = _read_meta(folder)
        self.dimension = int(meta["dimension"])
        self.lowercase = bool(meta["lowercase"])
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(int(meta["max_seq_length"]))
        self.tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=meta["pad_token"])
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting between runs
        self.session = onnxruntime.InferenceSession(str(folder / MODEL_FILE), options,
                                                    providers=["CPUExecutionProvider"],
                                                    disabled_optimizers=SESSION_UNFUSED)
        self.inputs = [i.name for i in self.session.get_inputs()]

    def _encode(self, texts: list[str]) -> list:
        """Tokenize texts as the float32 model does (same vocabulary, lower-casing and truncation)."""
        return self.tokenizer.encode_batch([t.lower() for t in texts] if self.lowercase else texts)

    @staticmethod
    def _feed(encodings: list) -> dict[str, np.ndarray]:
        """The model's inputs for some encodings (padded to the longest)."""
        return {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}

    def tokenize(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Tokenize a batch as the float32 model does (same vocabulary, truncation; padded to the longest).

        Args:
            texts: The texts.

        Returns:
            ``input_ids``, ``attention_mask`` and ``token_type_ids`` (batch × tokens, int64).
        """
        return self._feed(self._encode(texts))

    def _hidden(self, text: str):
        """Run the model on one text alone: no padding, and a result that does not depend on other texts (dynamic
        quantization takes one activation scale per run; batching saves nothing measurable on CPU)."""
        encoding = self._encode([text])[0]
        feed = self._feed([encoding])
        return self.session.run(None, {name: feed[name] for name in self.inputs})[0][0], encoding

    def embed_tokens(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Embed texts, one run each, and keep each text's token vectors with their character offsets.

        Args:
            texts: The texts (with their prefixes).

        Returns:
            Per text: its unit vector (mean pooling), its token vectors (tokens × dimension) and their (start, end)
            offsets.
        """
        embedded = []
        for text in texts:
            hidden, encoding = self._hidden(text)
            vector = mean_pool(hidden[None], np.ones((1, len(hidden)), dtype=np.int64))[0]
            embedded.append((vector, hidden, np.array(encoding.offsets)))
        return embedded

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts: tokenize, run the int8 model, mean-pool, normalize.

        Args:
            texts: The texts (with their prefixes).

        Returns:
            Unit vectors, one row per text.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([vector for vector, _, _ in self.embed_tokens(texts)])
